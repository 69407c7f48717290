# Micropathways — the two quick-start commands are `make demo` and `make test`.
# Both work on a fresh machine with python3 (3.11+) and make; `make test` also installs Debian's
# Chromium (needs root / apt-get) for the real-browser tests.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
SHARED ?= ../shared/data
DB     ?= embedded:$(HOME)/.local/share/micropathways/graph.lbdb
PORT   ?= 8050
SYNTH_CASES ?= 2000

.PHONY: demo install install-test load-demo demo-user serve test lint bench clean

$(BIN)/micropath: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/micropath

install: $(BIN)/micropath

# Quick start 1: install, load the London data and a synthetic sample, serve the dashboard.
demo: install load-demo demo-user serve

load-demo: install
	$(BIN)/micropath load london-mps $(SHARED)/london_mps_homicide_victims_2003_2024.csv --db $(DB)
	$(BIN)/micropath synth --cases $(SYNTH_CASES) --seed 42 var/synthetic-s42
	$(BIN)/micropath load coded var/synthetic-s42 --db $(DB)

# The dashboard requires login: the demo adds an administrator "admin" with a generated password, printed
# once (nothing happens if "admin" exists). Other users: `micropath users add NAME --role ROLE`.
demo-user: install
	$(BIN)/micropath users add admin --role admin --generate-password --exist-ok

serve: install
	$(BIN)/micropath serve --db $(DB) --port $(PORT)

# Quick start 2: install everything the tests need and run the whole suite (what CI runs).
install-test: install
	$(BIN)/pip install --quiet -e ".[test]"
	bash .ci/install-browser.sh

test: install-test lint
	$(BIN)/pytest

lint:
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf var build *.egg-info .pytest_cache .mypy_cache .ruff_cache
