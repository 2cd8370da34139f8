"""The exceptions cogwork raises, all subclasses of :class:`CogworkError`.

The native module raises the class of each kind of failure the core reports
(``cogwork._native.ERROR_CLASSES`` names them, and the Ruby gem has the same classes), with
the core's message, which says what went wrong, where, and what to do. The details a caller
may act on are attributes.

None of these names is a Python built-in, so ``from cogwork import *`` hides nothing. The
timeout class is :class:`TaskTimeoutError`, which is also a built-in :class:`TimeoutError`;
``cogwork.TimeoutError`` names it too, but is left out of ``*``.
"""

from __future__ import annotations

import builtins
from typing import Any, Optional


class CogworkError(Exception):
    """Base class of every error cogwork raises."""


class InvalidTaskError(CogworkError):
    """A task directory or archive could not be loaded; ``path`` is where it is."""

    path: str


class TaskNotFoundError(CogworkError):
    """No loaded task has this label, uuid or label@version."""

    task: str


class InvalidInputError(CogworkError):
    """The input does not match the task's input schema.

    ``violations`` lists every problem as a dict with ``path`` (``input.items[3].at``),
    ``keyword`` (``minimum``) and ``message``.
    """

    task: str
    violations: list[dict[str, str]]


class InvalidOutputError(CogworkError):
    """The task returned output that does not match its output schema (``violations`` as above)."""

    task: str
    violations: list[dict[str, str]]


class TaskFailedError(CogworkError):
    """The task threw (or returned no JSON value).

    ``js_name``, ``js_message`` and ``js_stack`` describe the JavaScript error; ``status``,
    ``retryable`` and ``data`` are the fields a typed error carries (None when unset);
    ``console``, ``worker`` and ``duration`` (seconds) describe the failed execution.
    """

    task: str
    js_name: str
    js_message: str
    js_stack: Optional[str]
    status: Optional[int]
    retryable: Optional[bool]
    data: Any
    console: list[dict[str, str]]
    worker: int
    duration: float


class TaskTimeoutError(CogworkError, builtins.TimeoutError):
    """The task ran past its timeout (``after`` seconds); its worker was stopped and replaced."""

    task: str
    after: float


class WorkerCrashedError(CogworkError):
    """The worker process (``worker`` is its id) died during the run; it has been replaced."""

    task: str
    worker: int


class TaskInterruptedError(CogworkError):
    """The core gave up on the run before it finished."""

    task: str


class ConfigurationError(CogworkError):
    """An engine option is invalid."""


class EngineClosedError(CogworkError):
    """The engine was closed, or was opened in another process (before a fork)."""


class OperatingSystemError(CogworkError):
    """Reading tasks or talking to a worker process failed at the operating-system level."""


class ProtocolError(CogworkError):
    """A worker process answered something the host did not understand."""


class DatabaseError(CogworkError):
    """The job store failed to open, migrate, read or write its database; the message names
    the database (without its password) and what to do."""


class JobNotFoundError(CogworkError):
    """No job has the id asked for: it never existed, or finished jobs were purged."""


class InvalidJobStateError(CogworkError):
    """The job's state does not allow what was asked, such as retrying a completed job."""


class WorkflowNotFoundError(CogworkError):
    """No workflow template has that namespace/name (and version), or no run that id."""


class InvalidWorkflowStateError(CogworkError):
    """The run's or step's state does not allow what was asked, such as resolving a step
    that did not fail; the message names both states."""


class LimitExceededError(CogworkError):
    """An input or output went past one of the engine's limits: nested deeper than ``limit``
    levels (``path`` says where), or larger than ``limit`` bytes of JSON. Nothing ran with it.
    """

    task: str
    path: Optional[str] = None
    limit: int


class CogworkWarning(UserWarning):
    """Something loading the tasks noticed but did not refuse, such as a duplicate task."""


#: The name the documentation uses; not exported by ``*``, where it would hide the built-in.
TimeoutError = TaskTimeoutError

__all__ = [
    "CogworkError",
    "CogworkWarning",
    "ConfigurationError",
    "DatabaseError",
    "EngineClosedError",
    "InvalidInputError",
    "InvalidJobStateError",
    "InvalidOutputError",
    "InvalidTaskError",
    "InvalidWorkflowStateError",
    "JobNotFoundError",
    "LimitExceededError",
    "OperatingSystemError",
    "ProtocolError",
    "TaskFailedError",
    "TaskInterruptedError",
    "TaskNotFoundError",
    "TaskTimeoutError",
    "WorkerCrashedError",
    "WorkflowNotFoundError",
]
