"""Fixtures for the pytest suite, which runs against the installed package (make python-test)."""

import os
import pathlib
import signal
import time

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


def in_child(body):
    """Runs `body` in a forked child; returns what it wrote, or fails if it hangs."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report and leave without running any cleanup of the parent's
        os.close(read_end)
        try:
            report = body()
        except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
            report = f"{type(e).__name__}: {e}"
        os.write(write_end, report.encode())
        os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 30
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.05)
    with os.fdopen(read_end) as pipe:
        return pipe.read()
