# People need two targets: `make run` and `make test`. The rest is plumbing.
# Needs only Python 3.11+ with venv/pip, and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.jaga-installed

.PHONY: run test lint bench install

run: $(STAMP) ## Start Jaga (embedded PostgreSQL and Valkey unless DATABASE_URL/REDIS_URL are set)
	$(BIN)/jaga up

test: $(STAMP) ## Lint, then run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP) ## Lint only
	$(BIN)/ruff check .

bench: $(STAMP) ## Event store benchmark (record results in BENCHMARKS.md)
	$(BIN)/jaga bench store

install: $(STAMP)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Jaga needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever pyproject.toml changes (new or bumped dependencies).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[dev]'
	touch $@
