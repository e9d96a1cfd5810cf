# Two entry points (see README.md):
#   make book   set up .venv, execute the notebooks (CPU profile) and build the HTML book
#   make test   set up .venv and run the whole test suite (unit, notebooks, book build)
# Optional: make book PROFILE=gpu   |   make lab (JupyterLab on the notebooks)
#           make reference (execute the chapters again into tests/reference/, print what changed)
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= cpu
BIN := $(VENV)/bin

.PHONY: book test lab reference setup clean

setup: $(VENV)/.installed
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "[setup] installing Debian's chromium (tests/test_browser.py opens the book in it)"; \
	  if command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	      || echo "[setup] apt-get could not install chromium (root?): install it by hand"; \
	  else echo "[setup] no apt-get: install Chromium by hand (tests/test_browser.py needs it)"; fi; }

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (nar)" >/dev/null
	touch $@

book: setup
	$(BIN)/python -m nar_utils.reproduce.runner book --profile $(PROFILE)

test: setup
	$(BIN)/python -m pytest

lab: setup
	$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

reference: setup
	$(BIN)/python -m nar_utils.reproduce.runner reference

clean:
	rm -rf _build book/notebooks
