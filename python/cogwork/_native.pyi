"""Types of the native module (bindings-python). Internal: use the ``cogwork`` package."""

import os
from typing import Any, NoReturn, Optional, Sequence, Union

DEFAULT_MEMORY_LIMIT: Optional[int]

def worker_main() -> NoReturn:
    """Serves as a JavaScript worker over fd 3 until the host closes it; never returns."""

class Engine:
    def __init__(
        self,
        tasks: Sequence[Union[str, os.PathLike[str]]],
        *,
        worker_command: Optional[Sequence[str]],
        workers: Optional[int],
        timeout: Optional[float],
        memory_limit: Optional[int],
        recycle_after: Optional[int],
        fetch_allow: Sequence[str],
        watch: bool,
    ) -> None: ...
    def run(
        self, task: str, input: Any, *, timeout: Optional[float], mocks: Any
    ) -> tuple[Any, list[tuple[str, str]]]: ...
    def close(self) -> None: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def tasks(self) -> list[dict[str, str]]: ...

class CogworkError(Exception):
    """Base class of every error cogwork raises."""

class InvalidTaskError(CogworkError):
    """A task directory or archive could not be loaded."""

class TaskNotFoundError(CogworkError):
    """No loaded task has this label, uuid or label@version."""
    task: str

class InvalidInputError(CogworkError):
    """The input does not match the task's input schema."""
    task: str
    violations: list[dict[str, str]]
    """Each with ``path`` (``input.items[3].at``), ``keyword`` (``minimum``) and ``message``."""

class InvalidOutputError(CogworkError):
    """The task returned output that does not match its output schema."""
    task: str
    violations: list[dict[str, str]]

class TaskFailedError(CogworkError):
    """The task threw; the JavaScript error's class, message and stack are kept."""
    task: str
    js_name: str
    js_message: str
    js_stack: Optional[str]

class TimeoutError(CogworkError):
    """The task ran past its timeout; its worker was stopped and replaced."""
    task: str
    after: float

class WorkerCrashedError(CogworkError):
    """The worker process died during the run; it has been replaced."""
    task: str

class ConfigurationError(CogworkError):
    """An engine option is invalid."""

class EngineClosedError(CogworkError):
    """The engine was closed, or was opened in another process (before a fork)."""
