# Targets of the Python package, included by the root Makefile and run from the repository
# root. The build honours CARGO_TARGET_DIR (shared with the other crates) and
# COGWORK_PROFILE (dev | release; release when unset, as pip would build).

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON = $(abspath $(VENV))/bin/python
COGWORK_PROFILE ?= release

.PHONY: python-venv python-install python-test python-demo python-bench

python-venv: $(VENV)/.tools

# A stamp rather than the venv itself, so a failed pip install is retried next time. mypy
# checks the package's types in the suite (tests/test_packaging.py). The stamp depends on this
# file, so a venv made before the list changed gets the new tools.
$(VENV)/.tools: python/python.mk
	$(PYTHON) -m venv $(VENV)
	$(VENV_PYTHON) -m pip install --quiet "maturin>=1.16,<2" pytest "mypy>=1.10"
	touch $@

# --no-build-isolation: build with the venv's maturin (which the backend runs from PATH)
# instead of fetching one per install.
# --force-reinstall: pip would otherwise skip a rebuilt package whose version is unchanged.
python-install: python-venv
	PATH="$(abspath $(VENV))/bin:$$PATH" MATURIN_PEP517_ARGS="--profile $(COGWORK_PROFILE)" \
	  $(VENV_PYTHON) -m pip install --no-build-isolation --force-reinstall --no-deps ./python

# From tests/, so that `import cogwork` finds the installed package, not python/cogwork.
python-test: python-install
	cd tests && $(VENV_PYTHON) -m pytest

python-demo: python-install
	$(VENV_PYTHON) examples/quickstart.py

# bench/python: cogwork beside Celery, RQ, Dramatiq and Huey (bench/python/run.py says how).
# A venv of its own, since the peers come from the registry; the release wheel goes into it,
# with the conversion probe (bench/python/convert).
BENCH_VENV = bench/python/.venv
python-bench: python-venv
	rm -rf bench/python/dist
	cd python && $(VENV_PYTHON) -m maturin build --quiet --release --out ../bench/python/dist
	$(VENV_PYTHON) -m maturin build --quiet --release -m bench/python/convert/Cargo.toml --out bench/python/dist
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/python/peers/requirements.lock
	$(BENCH_VENV)/bin/python -m pip install --quiet --force-reinstall --no-deps bench/python/dist/*.whl
	$(BENCH_VENV)/bin/python bench/python/run.py
