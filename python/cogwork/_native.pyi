"""Types of the native module (bindings-python). Internal: use the ``cogwork`` package."""

import os
from typing import Any, Mapping, NoReturn, Optional, Sequence, Union

DEFAULT_MEMORY_LIMIT: Optional[int]
MAX_DEPTH: int
ERROR_CLASSES: tuple[str, ...]
"""The exception classes ``cogwork.errors`` defines, one per kind of core error."""

Record = tuple[Any, list[dict[str, str]], int, float]
"""An execution: output, console lines (``level``, ``message``), worker id, seconds."""

HostJob = tuple[int, int, str, Any, str, int, Optional[int], Optional[str]]
"""A claimed handler job: id, attempt, target, input, queue, max_attempts, run_id, step."""

HostOutcome = tuple[int, int, Any, Optional[tuple[str, str, list[str], Optional[bool]]]]
"""A handler's result: id, attempt, output, and None or (class, message, backtrace, retryable)."""

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
        fetch_max_response_bytes: Optional[int],
        console_max_bytes: Optional[int],
        database: Optional[str],
        lease: Optional[float],
        node: Optional[str],
        backoff: Optional[tuple[Optional[float], Optional[float]]],
    ) -> None: ...
    def execute(self, task: str, input: Any, *, timeout: Optional[float], mocks: Any) -> Record: ...
    def execute_later(
        self, completions: Completions, task: str, input: Any, *, timeout: Optional[float], mocks: Any
    ) -> Pending:
        """Starts ``execute`` on the core runtime; its outcome comes out of ``completions.drain()``."""
    def enqueue(self, target: str, input: Any, options: dict[str, Any]) -> int:
        """``options`` holds every job option, times in seconds (``run_at`` since the epoch)."""
    def enqueue_all(self, jobs: Sequence[tuple[str, Any, dict[str, Any]]]) -> list[int]: ...
    def job(self, id: int) -> dict[str, Any]: ...
    def jobs(
        self, *, states: Sequence[str], queue: Optional[str], target: Optional[str], limit: int
    ) -> list[dict[str, Any]]: ...
    def cancel(self, id: int) -> None: ...
    def retry(self, id: int) -> None: ...
    def stats(self, window: float) -> dict[str, Any]: ...
    def register_handler(self, name: str) -> None: ...
    def next_host_jobs(self, max: int, wait: float) -> list[HostJob]:
        """Waits with the GIL released; returns early (perhaps empty) on ``wake_host_threads``."""
    def report_host_results(self, results: Sequence[HostOutcome]) -> None: ...
    def wake_host_threads(self) -> None: ...
    def drain(self, queues: Sequence[str]) -> dict[str, int]: ...
    def start(self, queues: Sequence[str], stop_timeout: float) -> Worker: ...
    def subscribe(self, names: Sequence[str]) -> Subscription: ...
    def define_workflow(self, source: Union[str, Mapping[str, Any]]) -> list[str]: ...
    def start_workflow(self, reference: str, context: Any, *, idempotency_key: Optional[str]) -> int: ...
    def workflow(self, id: int) -> dict[str, Any]: ...
    def wait_workflow(self, id: int, timeout: Optional[float]) -> dict[str, Any]: ...
    def cancel_workflow(self, id: int) -> None: ...
    def retry_step(self, id: int, step: str) -> None: ...
    def resolve_step(self, id: int, step: str, result: Any) -> None: ...
    def replay(self, id: int, step: str) -> None: ...
    def enqueue_later(
        self, completions: Completions, target: str, input: Any, options: dict[str, Any]
    ) -> Pending: ...
    def job_later(self, completions: Completions, id: int) -> Pending: ...
    def drain_later(self, completions: Completions, queues: Sequence[str]) -> Pending: ...
    def wait_workflow_later(self, completions: Completions, id: int, timeout: Optional[float]) -> Pending: ...
    def close(self) -> None: ...
    @property
    def warnings(self) -> list[str]: ...
    @property
    def tasks(self) -> list[dict[str, str]]: ...

class Completions:
    """Finished calls of one event loop; a byte on ``fileno()`` means ``drain()`` has some."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def drain(self) -> list[tuple[int, bool, Any]]:
        """``(id, ok, value)`` per finished call: the record when ``ok``, else the exception."""

class Pending:
    """A call under way."""

    @property
    def id(self) -> int: ...
    def cancel(self) -> None:
        """Stops the call (the core future is dropped), unless it has finished."""

class Worker:
    """A dispatcher working in the background."""

    def stop(self) -> Optional[dict[str, int]]:
        """Stops it gracefully and returns its counts; None if stopped already."""

class Subscription:
    """Events as they happen, filtered by name."""

    def next_batch(self, max: int, wait_seconds: float) -> list[dict[str, Any]]:
        """Waits with the GIL released up to ``wait_seconds`` for the first event."""
