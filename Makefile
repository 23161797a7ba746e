# The two commands of the README: `make run` and `make test`. Both set up
# everything from a fresh clone that has only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-gateway venv clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python scripts/devenv.py run

# PYTEST_ARGS narrows a run, e.g. make test PYTEST_ARGS="tests/core -x"
test: $(STAMP)
	$(VENV)/bin/python scripts/devenv.py test $(PYTEST_ARGS)

# make bench BENCH=api_list ARGS="--n 100000"
BENCH ?= api_list
bench: $(STAMP)
	$(VENV)/bin/python scripts/devenv.py bench $(BENCH) $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var
