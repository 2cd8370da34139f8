# The two commands of the README: `make demo` and `make test`. Everything else here is a
# step they take. One cargo target dir serves the CLI, the Rust tests, the gem and the wheel.

export CARGO_TARGET_DIR ?= $(CURDIR)/target
# Tests and the demo build unoptimised crates (dependencies are still optimised, see
# Cargo.toml); benchmarks build release.
export COGWORK_PROFILE ?= dev

CLI = $(CARGO_TARGET_DIR)/debug/cogwork

include gem/gem.mk
include python/python.mk

.PHONY: setup cli cli-demo demo test rust-test bench bench-jobs bench-workflows

setup:
	scripts/setup.sh

cli:
	cargo build -p cogwork-core --bin cogwork

rust-test:
	cargo test -p cogwork-core

test: setup
	$(MAKE) rust-test
	$(MAKE) ruby-test
	$(MAKE) python-test

demo: setup
	$(MAKE) --no-print-directory cli-demo ruby-demo python-demo

cli-demo: cli
	@echo "== CLI: cogwork run / cogwork test"
	$(CLI) run addition --tasks examples/tasks --input '{"num1": 2, "num2": 3}'
	$(CLI) run greeting --tasks examples/tasks --input '{"name": "Ada", "language": "fr"}'
	$(CLI) test examples/tasks

# Release builds throughout; the gem and the package are reinstalled in release.
bench: setup
	cargo bench -p cogwork-core --bench pool
	$(MAKE) --no-print-directory bench-jobs bench-workflows
	COGWORK_PROFILE=release $(MAKE) --no-print-directory ruby-install python-install
	GEM_HOME=$(RUBY_GEM_HOME) ruby bench/run_bench.rb
	$(VENV_PYTHON) bench/run_bench.py

# The job queue on SQLite and a throwaway PostgreSQL, each figure beside its bare-sqlx floor;
# 3 rounds (COGWORK_BENCH_ROUNDS), about 6 minutes. Figures: bench/README.md, "Jobs".
bench-jobs: setup
	cargo bench -p cogwork-core --bench jobs

# Workflow runs (4-step and 40-step chains, a 100-wide fan-out + fan-in, a burst of 200 runs)
# on SQLite and a throwaway PostgreSQL, each beside its bare-sqlx floor; 3 rounds
# (COGWORK_BENCH_ROUNDS), under a minute. Figures: bench/README.md, "Workflows".
bench-workflows: setup
	cargo bench -p cogwork-core --bench workflows
