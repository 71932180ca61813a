# Two commands matter: `make run` opens the app, `make test` runs every check.
# Both build .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) main.py

lint: $(STAMP)
	$(VENV)/bin/ruff check desktop tests benchmarks main.py
	$(VENV)/bin/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -n 2 -q

bench: $(STAMP)
	$(PY) benchmarks/startup.py
	$(PY) benchmarks/procedural.py
	$(PY) benchmarks/qa.py
	$(PY) benchmarks/preview.py
	$(PY) benchmarks/library.py
	$(PY) benchmarks/search.py

clean:
	rm -rf $(VENV) build *.egg-info
