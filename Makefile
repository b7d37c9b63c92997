# Two commands on a fresh machine:
#   make demo   -> creates .venv, installs the package, runs the demo (for now examples/read_real_data.py)
#   make test   -> creates .venv, installs the package with its test extras, runs the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_OUT ?= liftpose_demo
# a second interpreter with pandas 2.x: files we write must stay readable by the pandas
# DeepLabCut pins (tests/io/test_dlc.py::test_readable_by_pandas_2 uses it)
PANDAS2_VENV ?= .venv-pandas2

.PHONY: demo test lint format install clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	# the CPU build first: a bare "torch" requirement may pull a multi-GB CUDA build
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[all,test]"
	touch $@

$(PANDAS2_VENV)/.installed:
	$(PYTHON) -m venv $(PANDAS2_VENV)
	$(PANDAS2_VENV)/bin/python -m pip install "pandas>=2.2,<3" tables
	touch $@

# for now: read the real data in ../shared/data and print a summary (the demo command comes later)
demo: install
	$(BIN)/python examples/read_real_data.py

test: install $(PANDAS2_VENV)/.installed
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .
	LIFTPOSE_PANDAS2_PYTHON=$(CURDIR)/$(PANDAS2_VENV)/bin/python $(BIN)/python -m pytest

lint:
	$(BIN)/python -m ruff check .
	$(BIN)/python -m ruff format --check .

format:
	$(BIN)/python -m ruff check --fix .
	$(BIN)/python -m ruff format .

clean:
	rm -rf $(VENV) $(PANDAS2_VENV) build dist *.egg-info .pytest_cache .ruff_cache $(DEMO_OUT)
