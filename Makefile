# leadstream developer entry points. `make demo` and `make test` work on a fresh machine:
# they install what is missing (system packages, the venv, Kafka's jars) first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup native demo test lint bench bench-replay clean stack-up stack-down

# The native build is optional: when it cannot be made it says why in one line and exits 0.
setup: $(STAMP)
	@bash scripts/install-system-deps.sh
	@$(BIN)/python -m infra.prefetch
	@$(BIN)/python scripts/build_native.py

# processors/ compiled with mypyc into .native/ (git-ignored); skipped when already current.
native: $(STAMP)
	@$(BIN)/python scripts/build_native.py

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: setup
	$(BIN)/leadstream demo

test: setup
	$(BIN)/pytest -q

# ruff (lint and format) over the tree; mypy over every package ([tool.mypy] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: bench-replay

bench-replay: native
	$(BIN)/leadstream bench replay

stack-up: setup
	$(BIN)/leadstream dev up

stack-down:
	$(BIN)/leadstream dev down

clean:
	-$(BIN)/leadstream dev down
	rm -rf .run .native
