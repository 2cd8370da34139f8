"""The :class:`Engine`: loads JavaScript tasks and runs them in worker processes."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import os
import sys
import warnings
from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence, Union

from cogwork import _completions, _native
from cogwork.errors import CogworkWarning, TaskFailedError

# Workers are this interpreter running the native worker loop, which never touches Python
# again: nothing to install or put on PATH, and the wheel carries no extra binary. A worker
# loads the very extension file this process loaded (the same build, whatever sys.path it
# would get), isolated and without site: it starts in ~10 ms instead of ~30 through
# `import cogwork`.
_WORKER_COMMAND = [
    sys.executable,
    "-I",
    "-S",
    "-c",
    "import importlib.util as u; "
    f"s = u.spec_from_file_location('cogwork._native', {_native.__file__!r}); "
    "m = u.module_from_spec(s); s.loader.exec_module(m); m.worker_main()",
]

# Console output of tasks goes to logging, at the level the task used.
_console_logger = logging.getLogger("cogwork.console")
_CONSOLE_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}

PathLike = Union[str, "os.PathLike[str]"]
Mocks = Union[Mapping[str, Any], Sequence[Mapping[str, Any]], None]


@dataclasses.dataclass(frozen=True)
class Execution:
    """The record of one execution, as :meth:`Engine.execute` returns it."""

    output: Any
    """What the task returned: dicts, lists, str, int, float, bool and None."""
    console: list[dict[str, str]]
    """What it logged, in order: dicts with ``level`` and ``message``."""
    worker: int
    """The id of the worker that ran it."""
    duration: float
    """How long it ran, in seconds."""


@contextlib.contextmanager
def _logging_console(task: str) -> Iterator[None]:
    """Sends the console lines of a failed execution of ``task`` to logging."""
    try:
        yield
    except TaskFailedError as error:
        _log_console(task, error.console)
        raise


def _log_console(task: str, console: list[dict[str, str]]) -> None:
    for line in console:
        _console_logger.log(_CONSOLE_LEVELS.get(line["level"], logging.INFO), "%s: %s", task, line["message"])


def _execution(task: str, record: tuple[Any, list[dict[str, str]], int, float]) -> Execution:
    execution = Execution(*record)
    _log_console(task, execution.console)
    return execution


class Engine:
    """A handle on loaded tasks and a pool of JavaScript workers.

    :param tasks: task directories, .zip archives, or directories holding either.
    :param workers: number of worker processes; defaults to the number of CPUs.
    :param timeout: default wall-clock limit of one run, in seconds (30 unless given).
    :param in_process: run JavaScript on threads of this process instead of worker
        processes; for tests and development (a runaway task cannot be stopped).
    :param fetch_allow: hosts tasks may ``fetch`` from: ``"api.example.com"``,
        ``"*.example.com"``, ``"127.0.0.1:8080"``, ``"*"``.
    :param fetch_max_response_bytes: largest response body a task's fetch may receive
        (10 MiB unless given).
    :param console_max_bytes: console output kept per execution (1 MiB unless given).
    :param memory_limit: address-space cap of each worker process in bytes; None for none.
    :param recycle_after: replace a worker after this many runs.
    :param watch: reload tasks whose files change.

    Use it as a context manager, or call :meth:`close` when done.
    """

    def __init__(
        self,
        tasks: Union[PathLike, Sequence[PathLike]],
        *,
        workers: Optional[int] = None,
        timeout: Optional[float] = None,
        in_process: bool = False,
        fetch_allow: Iterable[str] = (),
        fetch_max_response_bytes: Optional[int] = None,
        console_max_bytes: Optional[int] = None,
        memory_limit: Optional[int] = _native.DEFAULT_MEMORY_LIMIT,
        recycle_after: Optional[int] = None,
        watch: bool = False,
    ) -> None:
        if isinstance(tasks, (str, os.PathLike)):
            tasks = [tasks]
        self._native = _native.Engine(
            list(tasks),
            worker_command=None if in_process else _WORKER_COMMAND,
            workers=workers,
            timeout=timeout,
            memory_limit=memory_limit,
            recycle_after=recycle_after,
            fetch_allow=list(fetch_allow),
            watch=watch,
            fetch_max_response_bytes=fetch_max_response_bytes,
            console_max_bytes=console_max_bytes,
        )
        for warning in self._native.warnings:
            warnings.warn(warning, CogworkWarning, stacklevel=2)

    def run(self, task: str, input: Any, *, timeout: Optional[float] = None, mocks: Mocks = None) -> Any:
        """Runs ``task`` (a label, uuid or ``label@version``) on ``input`` and returns its output.

        ``input`` may hold dicts, lists, tuples, str, int (any size), float, bool and None.
        ``timeout`` overrides the engine's, in seconds. ``mocks`` answer the task's fetches:
        ``{"url": ..., "method": "GET", "response": {...}}`` (plus optional ``status`` and
        ``headers``), one or a list. Console output of the task goes to the
        ``cogwork.console`` logger, at the level the task used.

        Raises a :class:`CogworkError` subclass when the run fails, :class:`TypeError` naming
        the path (``input.items[3].at``) of a value JSON cannot carry, and :class:`ValueError`
        for a negative or absurd timeout.
        """
        return self.execute(task, input, timeout=timeout, mocks=mocks).output

    def execute(self, task: str, input: Any, *, timeout: Optional[float] = None, mocks: Mocks = None) -> Execution:
        """:meth:`run`, returning the whole :class:`Execution` record: output, console lines,
        worker id and duration. A :class:`TaskFailedError` carries the same console, worker
        and duration."""
        with _logging_console(task):
            record = self._native.execute(task, input, timeout=timeout, mocks=mocks)
        return _execution(task, record)

    async def run_async(self, task: str, input: Any, *, timeout: Optional[float] = None, mocks: Mocks = None) -> Any:
        """:meth:`run` for asyncio: the event loop keeps running while the task does."""
        return (await self.execute_async(task, input, timeout=timeout, mocks=mocks)).output

    async def execute_async(
        self, task: str, input: Any, *, timeout: Optional[float] = None, mocks: Mocks = None
    ) -> Execution:
        """:meth:`execute` for asyncio. The execution runs on the core's runtime, not on a
        thread of this process; cancelling the awaiting task stops it (its worker is killed
        and replaced), as Ctrl-C does for :meth:`run`."""
        start = functools.partial(self._native.execute_later, task=task, input=input, timeout=timeout, mocks=mocks)
        with _logging_console(task):
            record = await _completions.wait(start)
        return _execution(task, record)

    def close(self) -> None:
        """Stops the workers once runs under way have finished; later runs raise
        :class:`EngineClosedError`. Closing twice is harmless."""
        self._native.close()

    @property
    def warnings(self) -> list[str]:
        """What loading the tasks noticed but did not refuse, such as duplicates."""
        return self._native.warnings

    @property
    def tasks(self) -> list[dict[str, str]]:
        """The loaded tasks: dicts with ``label``, ``version``, ``uuid`` and ``description``."""
        return self._native.tasks

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
