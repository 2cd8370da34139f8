"""Logging of what the engine does, through ``logging.getLogger("cogwork")``, made from the
engine's events (the same ones :meth:`Engine.on` delivers).

Failed attempts, retries, dead jobs and failed steps and runs are logged at WARNING;
completions of jobs, steps and runs at DEBUG. Each record carries ``extra`` fields for
filters and structured handlers: ``job_id``, ``target``, ``queue``, ``attempt``, ``run_id``,
``step`` and ``duration_ms`` (None where the event has none).

The logger's level is looked at when the engine opens, and the engine subscribes only to
the events that level would log: at WARNING (the default) the failures, at DEBUG also the
completions. The core builds and sends only events somebody subscribed to, so the default
costs a job that succeeds nothing. ``duration_ms`` of a job needs its ``job.started``
event, so it is known only when DEBUG was enabled then.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from cogwork.records import Event

logger = logging.getLogger("cogwork")

_Describe = Callable[[Event], str]


def _error(event: Event) -> str:
    """The error of a failure event: ``Class: message`` for a handler's exception, the
    JavaScript error's name and message for a task's."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    kind = detail.get("class") or detail.get("name") or "error"
    return f"{kind}: {detail.get('message', event.detail)}"


def _job(event: Event) -> str:
    return f"{event.target}: job {event.job_id}"


def _step(event: Event) -> str:
    return f"step {event.step} of run {event.run_id} ({event.workflow})"


_WARNINGS: dict[str, _Describe] = {
    "job.failed": lambda e: f"{_job(e)}: attempt {e.attempt} failed: {_error(e)}",
    "job.retrying": lambda e: f"{_job(e)} will be retried after attempt {e.attempt}",
    "job.dead": lambda e: f"{_job(e)} is dead after attempt {e.attempt}",
    "step.retrying": lambda e: f"{_step(e)}: attempt {e.attempt} failed, will be retried: {_error(e)}",
    "step.failed": lambda e: f"{_step(e)} failed: {_error(e)}",
    "workflow.failed": lambda e: f"run {e.run_id} ({e.workflow}) failed",
}
_COMPLETIONS: dict[str, _Describe] = {
    "job.completed": lambda e: f"{_job(e)} completed on attempt {e.attempt}",
    "step.completed": lambda e: f"{_step(e)} completed",
    "workflow.completed": lambda e: f"run {e.run_id} ({e.workflow}) completed",
}


def event_names() -> list[str]:
    """The events to subscribe to for the levels the ``cogwork`` logger has enabled now."""
    names = list(_WARNINGS) if logger.isEnabledFor(logging.WARNING) else []
    if logger.isEnabledFor(logging.DEBUG):
        names += [*_COMPLETIONS, "job.started"]
    return names


class EventLog:
    """Logs each event it is called with; one per engine, on its subscriber thread."""

    def __init__(self) -> None:
        # When each attempt under way started, by (job, attempt), for its duration.
        self._started: dict[tuple[Optional[int], int], float] = {}

    def __call__(self, event: Event) -> None:
        key = (event.job_id, event.attempt)
        if event.name == "job.started":
            self._started[key] = event.at.timestamp()
            return
        started = self._started.pop(key, None) if event.name in ("job.completed", "job.failed") else None
        duration_ms = None if started is None else round((event.at.timestamp() - started) * 1000, 3)
        level, describe = (logging.WARNING, _WARNINGS[event.name]) if event.name in _WARNINGS else (logging.DEBUG, _COMPLETIONS[event.name])
        logger.log(level, describe(event), extra=_extra(event, duration_ms))


def _extra(event: Event, duration_ms: Optional[float]) -> dict[str, Any]:
    return {
        "job_id": event.job_id,
        "target": event.target,
        "queue": event.queue,
        "attempt": event.attempt,
        "run_id": event.run_id,
        "step": event.step,
        "duration_ms": duration_ms,
    }
