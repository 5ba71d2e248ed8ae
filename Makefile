# Quick start: `make demo` (main job on scikit-learn's bundled digits), `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

# skhpo tune with its defaults on scikit-learn's bundled digits, two minutes for the whole run;
# the console shows LogisticRegression and SVC on the same split beside the tuned CNN
demo: $(VENV)/.installed
	$(BIN)/skhpo tune --data digits --time-limit 120 --n-jobs 2 --random-state 0 --output runs/demo

# two pytest workers, one test file each: 12-14 min on 2 cores against 17.5 for one
# (subprocesses, kernels and TensorFlow start-up leave the second core idle)
PYTEST_WORKERS ?= 2
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# the one style: ruff's formatter and linter (rules in pyproject.toml), over everything
lint: $(VENV)/.installed-test
	$(BIN)/ruff format --check sklearn_keras_hpo tests benchmarks examples docs
	$(BIN)/ruff check sklearn_keras_hpo tests benchmarks examples docs

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_fit_overhead.py
	$(BIN)/python benchmarks/bench_search.py

docs: $(VENV)/.installed-test
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
