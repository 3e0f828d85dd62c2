# Every target sets itself up: a virtual environment in .venv with the project and its extras,
# the Graphviz `dot` program (installed with apt-get when run as root on Debian/Ubuntu), and for
# the docs MathJax from npm (package.json), copied into the site so formulas render offline.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# MathJax's combined TeX component, the extensions it loads on demand, its menu and its fonts;
# git-ignored, rebuilt from node_modules/mathjax by `make mathjax`.
MATHJAX := docs/javascripts/mathjax
MATHJAX_PARTS := tex-mml-chtml.js input/tex/extensions output/chtml/fonts/woff-v2 ui a11y sre

.PHONY: demo test lint docs docs-serve mathjax bench dot npm chromium clean

demo: $(STAMP) dot
	$(VENV)/bin/minigrad train --model models/seed_cnn.toml --dataset digits --out runs/demo
	$(VENV)/bin/minigrad graph runs/demo/checkpoint.npz -o runs/demo/graph.svg --grads

test: $(STAMP) dot chromium mathjax
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .

docs: $(STAMP) dot mathjax
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(STAMP) dot mathjax
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve

mathjax: $(MATHJAX)/.installed

$(MATHJAX)/.installed: package.json package-lock.json
	@$(MAKE) --no-print-directory npm
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(MATHJAX)
	cd node_modules/mathjax/es5 && for part in $(MATHJAX_PARTS); do \
	  mkdir -p "$(CURDIR)/$(MATHJAX)/$$(dirname $$part)" && \
	  cp -R "$$part" "$(CURDIR)/$(MATHJAX)/$$part"; done
	touch $@

bench: $(STAMP)
	$(PY) -m bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
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

npm:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing npm (for MathJax in the docs) with apt-get..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; \
	  else \
	    echo "The docs need npm to install MathJax: 'sudo apt-get install npm' (Debian/Ubuntu),"; \
	    echo "'brew install node' (macOS), or Node.js from your package manager; then run this"; \
	    echo "command again."; \
	    exit 1; \
	  fi; }

# The browser tests drive Debian's Chromium with Playwright (no browser download); without it
# they are skipped, saying so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Chromium (for the browser tests) with apt-get..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Chromium at /usr/bin/chromium and will be skipped; install"; \
	    echo "it with 'sudo apt-get install chromium' (Debian/Ubuntu)."; \
	  fi; }

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis site \
	  node_modules $(MATHJAX)
