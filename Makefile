# Two commands matter: `make run` opens the app, `make test` runs every check.
# Both build .venv on first use and reinstall only when pyproject.toml changes.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean gpu-wheels mutants bundle

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Qt's X11 libraries first (desktop/syslibs.py): installed with apt-get where the user may (root, or
# sudo without a password), else the one command to run is printed and make stops
run: $(STAMP)
	$(PY) -m desktop.syslibs --install
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
	$(PY) benchmarks/duplicates.py
	$(PY) benchmarks/curation.py
	$(PY) benchmarks/mockups.py
	$(PY) benchmarks/publishing.py
	$(PY) benchmarks/render_process.py
	$(PY) benchmarks/training.py

clean:
	rm -rf $(VENV) build *.egg-info mutants

# Mutation testing (not part of `make test`: about 15 minutes on 2 cores). mutmut copies the project
# into ./mutants and runs the tests from there; tests/conftest.py finds ../shared from that copy.
mutants: $(STAMP)
	$(PY) -m pip install --quiet 'mutmut>=3.8,<4'
	rm -rf mutants
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/mutmut run --max-children 2 > /dev/null
	$(PY) benchmarks/mutants.py

# The wheels benchmarks/gpu.sh installs on a lent GPU machine (Python 3.12 there): what the
# diffusion and training benchmarks import that its image lacks (diffusers, peft with accelerate and psutil,
# and Tessera's platformdirs and psygnal)
gpu-wheels:
	python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .whl \
	  diffusers==0.42.1 platformdirs==4.14.9 psygnal==0.16.1 peft==0.21.2 accelerate==1.15.0 psutil==7.2.2

# The PyInstaller bundle, built and run on a fresh HOME (not part of `make test`: about 2–3 minutes and 1.5 GB).
bundle: $(STAMP)
	$(PY) -m pip install --quiet 'pyinstaller>=6'
	TESSERA_BUNDLE_TEST=1 QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s -p no:xdist tests/test_bundle.py
