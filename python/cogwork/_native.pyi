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

def cli(argv: Sequence[str], worker_command: Sequence[str]) -> int:
    """Runs the ``cogwork`` command line on ``argv`` (the program name first), with the GIL
    released; returns its exit status."""

Later = Optional["Completions"]
"""Given, a method starts its call on the core runtime and returns its ``Pending`` at once;
the outcome comes out of ``completions.drain()``."""

class Engine:
    def __init__(
        self,
        tasks: Optional[Sequence[Union[str, os.PathLike[str]]]],
        *,
        config: Optional[str],
        manual_clock: bool,
        worker_command: Optional[Sequence[str]],
        workers: Optional[int],
        timeout: Optional[float],
        memory_limit: Optional[int],
        recycle_after: Optional[int],
        fetch_allow: Optional[Sequence[str]],
        watch: bool,
        fetch_max_response_bytes: Optional[int],
        console_max_bytes: Optional[int],
        database: Optional[str],
        lease: Optional[float],
        node: Optional[str],
        backoff: Optional[tuple[Optional[float], Optional[float]]],
        apply_config: bool,
    ) -> None: ...
    # Each method taking ``completions`` returns a Pending when given one (see ``Later``);
    # the annotations show what it returns without.
    def execute(self, task: str, input: Any, *, timeout: Optional[float], mocks: Any, completions: Later = None) -> Record: ...
    def enqueue_all(self, jobs: Sequence[tuple[str, Any, dict[str, Any]]], completions: Later = None) -> list[dict[str, Any]]:
        """Each job's options hold every job option, times in seconds (``run_at`` since the epoch)."""
    def job(self, id: int, completions: Later = None) -> dict[str, Any]: ...
    def jobs(
        self, *, states: Sequence[str], queue: Optional[str], target: Optional[str], limit: int, completions: Later = None
    ) -> list[dict[str, Any]]: ...
    def cancel(self, id: int, completions: Later = None) -> None: ...
    def retry(self, id: int, completions: Later = None) -> None: ...
    def stats(self, window: float, completions: Later = None) -> dict[str, Any]: ...
    def register_handler(self, name: str) -> None: ...
    def next_host_jobs(self, max: int, wait: float) -> list[HostJob]:
        """Waits with the GIL released; returns early (perhaps empty) on ``wake_host_threads``."""
    def report_host_results(self, results: Sequence[HostOutcome]) -> None: ...
    def wake_host_threads(self) -> None: ...
    def drain(self, queues: Optional[Sequence[str]], stop_timeout: float, completions: Later = None) -> dict[str, int]: ...
    def start(self, queues: Optional[Sequence[str]], stop_timeout: float) -> Worker: ...
    def subscribe(self, names: Sequence[str]) -> Subscription: ...
    def define_workflow(self, source: Union[str, Mapping[str, Any]], completions: Later = None) -> list[str]: ...
    def start_workflow(
        self, reference: str, context: Any, *, idempotency_key: Optional[str], completions: Later = None
    ) -> dict[str, Any]: ...
    def workflow(self, id: int, completions: Later = None) -> dict[str, Any]: ...
    def workflows(
        self, *, workflow: Optional[str], state: Optional[str], limit: int, completions: Later = None
    ) -> list[dict[str, Any]]: ...
    def wait_workflow(self, id: int, timeout: Optional[float], completions: Later = None) -> dict[str, Any]: ...
    def cancel_workflow(self, id: int, completions: Later = None) -> None: ...
    def retry_step(self, id: int, step: str, completions: Later = None) -> None: ...
    def resolve_step(self, id: int, step: str, result: Any, completions: Later = None) -> None: ...
    def replay(self, id: int, step: str, completions: Later = None) -> None: ...
    def add_schedule(
        self, name: str, cron: str, target: str, input: Any, options: dict[str, Any], completions: Later = None
    ) -> None: ...
    def schedules(self, completions: Later = None) -> list[dict[str, Any]]: ...
    def remove_schedule(self, name: str, completions: Later = None) -> bool: ...
    def set_schedule_enabled(self, name: str, enabled: bool, completions: Later = None) -> bool: ...
    def check_open(self) -> None:
        """Raises EngineClosedError after ``close``, or in a forked child."""
    def now(self) -> int:
        """Microseconds since the epoch, by the engine's clock."""
    def advance(self, seconds_on: float) -> None:
        """Moves a manual clock on; ConfigurationError on the system clock."""
    def set_http_mocks(self, mocks: Any) -> None:
        """Mocks for every execution bringing none; None or [] clears them."""
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
