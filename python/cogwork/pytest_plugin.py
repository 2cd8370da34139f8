"""The pytest plugin (entry point ``pytest11``): an engine per test, and assertions on jobs.

``cogwork_engine`` is an :class:`Engine` on an in-memory SQLite database, closed after the
test, whose failed attempts are retried at once (so a drain runs retries too). It loads
the task directories of the ``cogwork_tasks`` ini option (paths relative to the rootdir).
It is the real engine, not a stand-in: jobs run when the test drains them.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from cogwork.engine import Engine
from cogwork.records import Job

_UNSET: Any = object()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("cogwork_tasks", "task directories the cogwork_engine fixture loads", type="paths", default=[])


@pytest.fixture
def cogwork_engine(pytestconfig: pytest.Config) -> Iterator[Engine]:
    """An engine on an in-memory SQLite database, closed after the test."""
    tasks = pytestconfig.getini("cogwork_tasks")
    with Engine(tasks=tasks, database="sqlite::memory:", workers=1, backoff=(0, 0)) as engine:
        yield engine


def assert_enqueued(engine: Engine, target: str, input: Any = _UNSET, **fields: Any) -> Job:
    """Returns the one job of ``target`` whose input (when given) and other fields (``queue``,
    ``state``, ``priority``...) are equal to those given; fails listing the jobs of
    ``target`` otherwise."""
    jobs = engine.jobs(target=target, limit=1000)
    wanted = {**fields, **({} if input is _UNSET else {"input": input})}
    matching = [job for job in jobs if all(getattr(job, name) == value for name, value in wanted.items())]
    if len(matching) != 1:
        seen = "\n".join(f"  job {job.id}: {', '.join(f'{n}={getattr(job, n)!r}' for n in wanted)}" for job in jobs) or "  none"
        raise AssertionError(f"expected one {target!r} job with {wanted!r}, found {len(matching)}; jobs of {target!r}:\n{seen}")
    return matching[0]
