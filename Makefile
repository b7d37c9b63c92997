# Two commands on a fresh machine:
#   make demo   -> creates .venv, installs the package, runs the demo (liftpose-dlc demo)
#   make test   -> creates .venv, installs the package with its test extras, runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_OUT ?= liftpose_demo

.PHONY: demo test lint format install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# the CPU build first: a bare "torch" requirement may pull a multi-GB CUDA build
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[all,test]"
	touch $@

demo: install
	$(BIN)/liftpose-dlc demo --out $(DEMO_OUT)

test: install
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	$(BIN)/python -m pytest

lint:
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

format:
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .ruff_cache $(DEMO_OUT)
