"""The exceptions cogwork raises, all subclasses of :class:`CogworkError`.

They are defined by the native module (which raises them) and documented in
``_native.pyi``; this module gives them their public home.
"""

from cogwork._native import (
    CogworkError,
    ConfigurationError,
    EngineClosedError,
    InvalidInputError,
    InvalidOutputError,
    InvalidTaskError,
    TaskFailedError,
    TaskNotFoundError,
    TimeoutError,
    WorkerCrashedError,
)


class CogworkWarning(UserWarning):
    """Something loading the tasks noticed but did not refuse, such as a duplicate task."""


__all__ = [
    "CogworkError",
    "CogworkWarning",
    "ConfigurationError",
    "EngineClosedError",
    "InvalidInputError",
    "InvalidOutputError",
    "InvalidTaskError",
    "TaskFailedError",
    "TaskNotFoundError",
    "TimeoutError",
    "WorkerCrashedError",
]
