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

.PHONY: demo test lint docs docs-serve mathjax pictures bench dot npm chromium clean

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

# The teaching pictures of the docs (docs/images), drawn by docs/_ext/pictures.py with minigrad,
# matplotlib and Graphviz; the results are committed.
pictures: $(STAMP) dot
	$(PY) docs/_ext/pictures.py

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

# setuptools prints an information-only notice ("Editable installation.") for every editable
# install of a flat layout; it is not a warning about this project, so it is filtered out.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# $(call install,PROGRAM,DEBIAN PACKAGE,WHAT FOR,HINT[,STATUS]): when PROGRAM is missing, install
# the package with apt-get if run as root on Debian/Ubuntu; otherwise print HINT and stop (or
# go on, with STATUS 0, for what is optional).
install = @command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing $(2) ($(3)) with apt-get..."; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    printf '%s\n' $(4); \
	    exit $(or $(5),1); \
	  fi; }

DOT_HINT := "minigrad needs the Graphviz 'dot' program to render graphs. Install it with your" \
  "package manager: 'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install" \
  "graphviz' (macOS), 'sudo dnf install graphviz' (Fedora), 'choco install graphviz'" \
  "(Windows); then run this command again."
NPM_HINT := "The docs need npm to install MathJax: 'sudo apt-get install npm' (Debian/Ubuntu)," \
  "'brew install node' (macOS), or Node.js from your package manager; then run this" \
  "command again."

dot:
	$(call install,dot,graphviz,the dot program,$(DOT_HINT))

npm:
	$(call install,npm,npm,for MathJax in the docs,$(NPM_HINT))

# The browser tests drive Debian's Chromium with Playwright (no browser download); without it
# they are skipped, saying so.
CHROMIUM_HINT := "The browser tests need Chromium at /usr/bin/chromium and will be skipped;" \
  "install it with 'sudo apt-get install chromium' (Debian/Ubuntu)."

chromium:
	$(call install,chromium,chromium,for the browser tests,$(CHROMIUM_HINT),0)

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis site \
	  node_modules $(MATHJAX)
