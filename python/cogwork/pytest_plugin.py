"""The pytest plugin (entry point ``pytest11``): an engine per test, and assertions on jobs.

``cogwork_engine`` is a :class:`~cogwork.testing.TestEngine` on an in-memory SQLite
database, closed after the test, whose failed attempts are retried at once (so a drain runs
retries too). It loads the task directories of the ``cogwork_tasks`` ini option (paths
relative to the rootdir), else those of ``cogwork.yml``, whose other settings apply too
(but for the database). It is the real engine, not a stand-in: in manual mode (the
default) jobs run when the test drains them; in eager mode (``cogwork_eager = true`` in the
ini file, or the marker) they run when enqueued, and a failure is raised.

Its clock is manual: it stands still at the time the test began until the test moves it
with ``cogwork_engine.advance(seconds or timedelta)``; a drain then runs the retries,
delayed jobs and cron ticks that came due, without sleeping. ``cogwork_engine.now()`` tells
the time. ``cogwork_engine.mock_http(mocks)`` answers the fetches of JavaScript tasks.

The ``cogwork`` marker adjusts one test's engine: ``eager``, ``http_mocks`` (as
``mock_http`` takes them), and any keyword of :class:`~cogwork.Engine` (``backoff=(5, 60)``,
``tasks=[...]``, ``clock="system"``)::

    @pytest.mark.cogwork(eager=True, backoff=(5, 60))
    def test_signup_sends_mail(cogwork_engine): ...
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from cogwork.testing import TestEngine, assert_enqueued, assert_not_enqueued

__all__ = ["assert_enqueued", "assert_not_enqueued", "cogwork_engine"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("cogwork_tasks", "task directories the cogwork_engine fixture loads", type="paths", default=[])
    parser.addini("cogwork_eager", "whether cogwork_engine runs jobs when they are enqueued", type="bool", default=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cogwork(eager=..., http_mocks=..., **engine_options): how the cogwork_engine fixture of this test is made"
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The fixture's engine options: the defaults, the ini file's, then the marker's."""
    options = {
        # None leaves them to cogwork.yml, when the working directory has one.
        "tasks": request.config.getini("cogwork_tasks") or None,
        "eager": request.config.getini("cogwork_eager"),
        "database": "sqlite::memory:",
        "workers": 1,
        "backoff": (0, 0),
        "clock": "manual",
        # The test's database is its own: cogwork.yml's schedules and rate limits stay out
        # of it unless the test asks (the marker's apply_config=True).
        "apply_config": False,
    }
    for marker in reversed(list(request.node.iter_markers("cogwork"))):
        if marker.args:
            raise pytest.UsageError(f"the cogwork marker takes keywords only, not {marker.args!r}")
        options.update(marker.kwargs)
    return options


@pytest.fixture
def cogwork_engine(request: pytest.FixtureRequest) -> Iterator[TestEngine]:
    """A :class:`~cogwork.testing.TestEngine` on an in-memory SQLite database, closed after
    the test."""
    options = _options(request)
    mocks = options.pop("http_mocks", None)
    engine = TestEngine(**options)
    try:
        if mocks is not None:
            engine.mock_http(mocks)
        yield engine
    finally:
        engine.close()
