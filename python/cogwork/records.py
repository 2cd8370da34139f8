"""What the engine reports: jobs and their attempts, workflow runs and their steps, events.

Each is a frozen dataclass made from the dict the native module returns. Times arrive as
integers (microseconds since the epoch) and become timezone-aware UTC ``datetime`` values,
exactly: no float on the way.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
from typing import Any, Optional

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


# Records made together share their times (jobs enqueued at once, say): a datetime, which is
# immutable, is made once for each.
@functools.lru_cache(maxsize=1024)
def _time(micros: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=micros)


def _with_times(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    """``fields``, a dict fresh from the native module (changed in place, not copied), with
    the times among ``names`` made datetimes (None stays None)."""
    for name in names:
        micros = fields[name]
        if micros is not None:
            fields[name] = _time(micros)
    return fields


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One execution of a job."""

    number: int
    """From 1."""
    state: str
    """``running``, ``completed``, ``failed``, ``lost`` (its lease expired), ``released``
    (handed back by a stopping worker) or ``cancelled``."""
    started_at: datetime.datetime
    finished_at: Optional[datetime.datetime]
    worker: str
    """The worker that ran it (``pid:n``)."""
    node: str
    """The machine it ran on."""
    output: Any
    error: Any
    """What failed: for a Python handler a dict with ``class``, ``message`` and
    ``backtrace``; for a JavaScript task its error's name, message and stack."""


@dataclasses.dataclass(frozen=True)
class Job:
    """A job as the database holds it, with every attempt so far."""

    id: int
    state: str
    """``scheduled``, ``ready``, ``running``, ``completed``, ``retrying``, ``dead`` or ``cancelled``."""
    target: str
    """The task or handler that runs it."""
    queue: str
    priority: int
    input: Any
    output: Any
    """What it returned once completed, else None."""
    error: Any
    """The error of its last failed attempt, else None."""
    attempt: int
    """Attempts made so far."""
    max_attempts: int
    unique_key: Optional[str]
    run_at: datetime.datetime
    """When it is (or was) due."""
    created_at: datetime.datetime
    updated_at: datetime.datetime
    finished_at: Optional[datetime.datetime]
    run_id: Optional[int]
    """The workflow run whose step it runs, if any."""
    step: Optional[str]
    attempts: tuple[Attempt, ...]

    @classmethod
    def _from_native(cls, fields: dict[str, Any]) -> Job:
        fields["attempts"] = tuple(Attempt(**_with_times(a, "started_at", "finished_at")) for a in fields["attempts"])
        return cls(**_with_times(fields, "run_at", "created_at", "updated_at", "finished_at"))


@dataclasses.dataclass(frozen=True)
class StepRun:
    """A step of a workflow run."""

    name: str
    kind: str
    """``handler`` or ``task``."""
    target: str
    """The handler's or the task's name."""
    depends_on: list[str]
    state: str
    """``waiting``, ``ready``, ``running``, ``retrying``, ``completed``, ``failed``,
    ``blocked`` or ``cancelled``."""
    reason: Optional[str]
    job_id: Optional[int]
    attempts: int
    """Attempts made by its current job."""
    result: Any
    error: Any
    """The error of its last failed attempt, while it has not completed."""
    started_at: Optional[datetime.datetime]
    finished_at: Optional[datetime.datetime]


@dataclasses.dataclass(frozen=True)
class Transition:
    """One move of a run (``step`` None) or of one of its steps."""

    step: Optional[str]
    from_state: Optional[str]
    """None when it was created in ``to_state``."""
    to_state: str
    at: datetime.datetime
    reason: Optional[str]
    attempt: Optional[int]


@dataclasses.dataclass(frozen=True)
class WorkflowRun:
    """A run of a workflow template: its state, context and steps."""

    id: int
    workflow: str
    """``namespace/name`` of its template."""
    version: str
    state: str
    """``running``, ``completed``, ``failed`` or ``cancelled``."""
    reason: Optional[str]
    context: Any
    idempotency_key: Optional[str]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    finished_at: Optional[datetime.datetime]
    steps: tuple[StepRun, ...]
    transitions: tuple[Transition, ...]
    """Oldest first."""

    def step(self, name: str) -> StepRun:
        """The step called ``name``; KeyError naming the steps there are otherwise."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"run {self.id} has no step {name!r}; its steps are {', '.join(s.name for s in self.steps)}")

    @classmethod
    def _from_native(cls, fields: dict[str, Any]) -> WorkflowRun:
        fields["steps"] = tuple(StepRun(**_with_times(s, "started_at", "finished_at")) for s in fields["steps"])
        fields["transitions"] = tuple(Transition(**_with_times(t, "at")) for t in fields["transitions"])
        return cls(**_with_times(fields, "created_at", "updated_at", "finished_at"))


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened to a job, a workflow run or a step (see :meth:`Engine.on`)."""

    name: str
    """``job.completed``, ``step.failed``, ``workflow.started``..."""
    at: datetime.datetime
    job_id: Optional[int]
    target: Optional[str]
    """The job's target and queue, for ``job.*`` events."""
    queue: Optional[str]
    attempt: int
    run_id: Optional[int]
    """The run, its template (``namespace/name@version``) and the step, for ``workflow.*``
    and ``step.*`` events."""
    workflow: Optional[str]
    step: Optional[str]
    detail: Any
    """The output of a completed job or step, the error of a failed one."""

    @classmethod
    def _from_native(cls, fields: dict[str, Any]) -> Event:
        return cls(**_with_times(fields, "at"))


@dataclasses.dataclass(frozen=True)
class Schedule:
    """A cron schedule (see :meth:`Engine.schedule`) with its next and last ticks."""

    name: str
    cron: str
    timezone: str
    """The IANA zone ``cron`` is read in."""
    target: str
    input: Any
    queue: str
    priority: int
    max_attempts: int
    missed: str
    """``skip``, ``run_once`` or ``run_all``."""
    enabled: bool
    next_tick: datetime.datetime
    """The earliest tick not yet handled."""
    last_tick: Optional[datetime.datetime]
    """The latest tick that was enqueued; None before the first."""
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @classmethod
    def _from_native(cls, fields: dict[str, Any]) -> Schedule:
        return cls(**_with_times(fields, "next_tick", "last_tick", "created_at", "updated_at"))
