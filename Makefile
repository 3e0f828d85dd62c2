# Every target sets itself up: a virtual environment in .venv with the project and its extras,
# and the Graphviz `dot` program (installed with apt-get when run as root on Debian/Ubuntu).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint docs docs-serve bench dot clean

demo: $(STAMP) dot
	$(VENV)/bin/minigrad train --model models/seed_cnn.toml --dataset digits --out runs/demo
	$(VENV)/bin/minigrad graph runs/demo/checkpoint.npz -o runs/demo/graph.svg --grads

test: $(STAMP) dot
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

docs: $(STAMP) dot
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP) dot
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

bench: $(STAMP)
	$(PY) -m bench

# setuptools prints an information-only notice ("Editable installation.") for every editable
# install of a flat layout; it is not a warning about this project, so it is filtered out.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[dev]'
	touch $@

dot:
	@command -v dot >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Graphviz (the dot program) with apt-get..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
	  else \
	    echo "minigrad needs the Graphviz 'dot' program to render graphs. Install it with your"; \
	    echo "package manager: 'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install"; \
	    echo "graphviz' (macOS), 'sudo dnf install graphviz' (Fedora), 'choco install graphviz'"; \
	    echo "(Windows); then run this command again."; \
	    exit 1; \
	  fi; }

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis site
