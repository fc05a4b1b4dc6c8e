# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck system-deps bench clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/aims demo

# System packages some tests need (Graphviz, Virtuoso, Chromium); installed here, never assumed.
system-deps:
	./.ci/system-deps

test: $(STAMP) system-deps
	$(BIN)/ruff check mapper api tests bench
	$(BIN)/mypy mapper api
	$(BIN)/python -m pytest

bench: $(STAMP)
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .aims build dist *.egg-info
