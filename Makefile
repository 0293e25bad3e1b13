# Two entry points, each doing all set-up itself on a fresh Debian machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: demo test bench docs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,embedded,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	@tools/install-prometheus
	$(BIN)/earlywarn demo $(ARGS)

test: $(STAMP)
	@tools/install-prometheus
	$(BIN)/python -m pytest $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run_all

docs: $(STAMP)
	$(BIN)/earlywarn docs

clean:
	rm -rf var .pytest_cache
