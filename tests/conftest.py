"""Fixtures for the pytest suite, which runs against the installed package (make python-test)."""

import pathlib

import pytest

import cogwork

# The suite exercises the installed wheel, never python/cogwork (where `maturin develop`
# may have left a stale _native).
if "site-packages" not in pathlib.Path(cogwork.__file__).parts:
    pytest.exit(f"cogwork was imported from {cogwork.__file__}, not an installed package; run `make python-test`", 2)

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture
def task_sources():
    """The example tasks, and a few that exist to misbehave (tests/fixtures/tasks)."""
    return [ROOT / "examples" / "tasks", ROOT / "tests" / "fixtures" / "tasks"]


@pytest.fixture
def engine(task_sources):
    """An engine of its own for each test, which may stop or interrupt its workers."""
    with cogwork.Engine(tasks=task_sources, workers=2) as engine:
        yield engine


@pytest.fixture
def database(tmp_path):
    """A real SQLite file of its own for each test."""
    return f"sqlite://{tmp_path / 'cogwork.db'}"


@pytest.fixture
def jobs_engine(task_sources, database):
    """An engine with a job database, whose failed attempts are retried at once."""
    with cogwork.Engine(tasks=task_sources, database=database, workers=1, backoff=(0, 0)) as engine:
        yield engine
