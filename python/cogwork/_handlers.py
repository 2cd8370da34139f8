"""Running Python handlers on threads the engine owns, fed by the core's pull interface.

Each thread asks the core for the next batch of claimed handler jobs (the wait happens with
the GIL released, so other Python threads keep running), calls the handlers, and reports the
whole batch's results in one call. Coroutine handlers of a batch run together: on the event
loop the engine was started from (``start`` or ``drain_async`` inside a running loop), so
they share its connections and context, else on an event loop the thread owns. A Tokio
thread never calls Python: this is the only place handler code runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import inspect
import logging
import threading
import time
import traceback
from typing import Any, Callable, Mapping, Optional, Union

from cogwork import _native

# Most jobs a thread takes at once: enough to share one report among many no-op jobs, few
# enough that a slow handler does not hold back many others.
_BATCH = 64
# How long a thread waits for jobs before looking whether it should stop; `stop` wakes it
# at once, so this only bounds a missed wake-up.
_WAIT = 0.5
# How long `stop` waits for the threads to end once the core has stopped: enough to report
# a batch that was just finishing.
_GRACE = 2.0

_logger = logging.getLogger("cogwork")


@dataclasses.dataclass(frozen=True)
class HandlerJob:
    """What a handler of plain jobs is called with."""

    id: int
    attempt: int
    """From 1."""
    max_attempts: int
    target: str
    """The handler's name."""
    queue: str
    input: Any


@dataclasses.dataclass(frozen=True)
class Step:
    """What a handler of a workflow step is called with."""

    run_id: int
    name: str
    """The step's name in its template."""
    job_id: int
    attempt: int
    max_attempts: int
    context: Any
    """The run's context."""
    results: dict[str, Any]
    """The results of the step's parents, by step name."""
    input: Any
    """The step's input, when its template maps one; else None."""


Handler = Callable[[Any], Any]
Call = Union[HandlerJob, Step]
# (id, attempt, output, None) or (id, attempt, None, (class, message, backtrace, retryable))
Outcome = tuple[int, int, Any, Optional[tuple[str, str, list[str], Optional[bool]]]]


def _call_of(job: tuple[int, int, str, Any, str, int, Optional[int], Optional[str]]) -> Call:
    id, attempt, target, input, queue, max_attempts, run_id, step = job
    if run_id is None or step is None:
        return HandlerJob(id, attempt, max_attempts, target, queue, input)
    return Step(run_id, step, id, attempt, max_attempts, input["context"], input["results"], input.get("input"))


def _failure(call: Call, error: BaseException) -> Outcome:
    cls = type(error)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    backtrace = [line.rstrip("\n") for line in traceback.format_tb(error.__traceback__)]
    retryable = getattr(error, "retryable", None)
    return (_job_id(call), call.attempt, None, (name, str(error), backtrace, retryable if isinstance(retryable, bool) else None))


async def _settle(call: Call, awaitable: Any) -> Outcome:
    """The outcome of a coroutine handler. Its exceptions are caught here, inside the
    coroutine: a SystemExit reaching asyncio's task machinery would escape the event loop
    and end the handler thread with its whole batch unreported."""
    try:
        output = await awaitable
    except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure is the attempt's
        return _failure(call, error)
    return (_job_id(call), call.attempt, output, None)


def _job_id(call: Call) -> int:
    return call.job_id if isinstance(call, Step) else call.id


class HandlerThreads:
    """``count`` threads serving the handlers of one native engine until :meth:`stop`."""

    def __init__(
        self,
        native: _native.Engine,
        handlers: Mapping[str, Handler],
        count: int,
        caller_loop: Optional[asyncio.AbstractEventLoop] = None,
    ) -> None:
        """``caller_loop``, when given, runs the coroutine handlers while it runs."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"threads must be an int of at least 1, not {count!r}")
        self._native = native
        self._handlers = handlers
        self._caller_loop = caller_loop
        # Set when the caller's loop is blocked for good: the engine is being stopped from it.
        self._loop_blocked = threading.Event()
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._serve, name=f"cogwork-handler-{n}", daemon=True) for n in range(count)]
        for thread in self._threads:
            thread.start()

    def before_stop(self) -> None:
        """Called on the thread stopping the engine before anything waits: when that thread
        runs the caller's loop, the loop can run no coroutine until the stop returns, so
        the coroutines on it fail now instead of holding the stop up."""
        try:
            stopping_from_the_loop = asyncio.get_running_loop() is self._caller_loop
        except RuntimeError:
            stopping_from_the_loop = False
        if stopping_from_the_loop:
            self._loop_blocked.set()

    def stop(self) -> None:
        """Ends the threads, once the core has stopped handing them jobs (a drain's end, a
        worker's stop). A thread still inside a handler a moment later is stuck in it:
        the core has timed its job out or handed it back, and waiting would hang the
        caller's stop or close, so it is left to end on its own (it is a daemon thread)."""
        self._stopping.set()
        self._native.wake_host_threads()
        deadline = time.monotonic() + _GRACE
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                _logger.warning("%s is still running a handler; left to finish on its own", thread.name)

    def _serve(self) -> None:
        loop: Optional[asyncio.AbstractEventLoop] = None
        try:
            while not self._stopping.is_set():
                batch = self._native.next_host_jobs(_BATCH, _WAIT)
                if batch:
                    outcomes, waiting = self._run(batch)
                    if waiting and self._caller_loop is not None and self._caller_loop.is_running() and not self._loop_blocked.is_set():
                        outcomes += self._on_caller_loop(self._caller_loop, waiting)
                    elif waiting:
                        loop = loop or asyncio.new_event_loop()
                        outcomes += loop.run_until_complete(self._await(waiting))
                    self._native.report_host_results(outcomes)
        finally:
            if loop is not None:
                loop.close()

    def _run(self, batch: list[Any]) -> tuple[list[Outcome], list[tuple[Call, Any]]]:
        """Calls the handlers; returns the finished outcomes and the coroutines to await."""
        outcomes: list[Outcome] = []
        waiting: list[tuple[Call, Any]] = []
        for job in batch:
            call, target = _call_of(job), job[2]
            try:
                output = self._handlers[target](call)
            except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure is the attempt's
                outcomes.append(_failure(call, error))
                continue
            if inspect.isawaitable(output):
                waiting.append((call, output))
            else:
                outcomes.append((_job_id(call), call.attempt, output, None))
        return outcomes, waiting

    def _on_caller_loop(self, loop: asyncio.AbstractEventLoop, waiting: list[tuple[Call, Any]]) -> list[Outcome]:
        """Awaits the coroutines on ``loop``; fails them if the loop stops first (its owner
        returned without stopping the engine) or is blocked stopping the engine, rather
        than waiting for it forever."""
        future = asyncio.run_coroutine_threadsafe(self._await(waiting), loop)
        while True:
            try:
                return future.result(timeout=_WAIT)
            except concurrent.futures.TimeoutError:
                if loop.is_running() and not self._loop_blocked.is_set():
                    continue
                future.cancel()
                why = "was blocked stopping the engine" if self._loop_blocked.is_set() else "stopped"
            except concurrent.futures.CancelledError:
                why = "stopped"  # asyncio.run cancels the tasks left when its coroutine returns
            stopped = RuntimeError(f"the event loop the engine was started from {why} before this coroutine finished")
            return [_failure(call, stopped) for call, _ in waiting]

    @staticmethod
    async def _await(waiting: list[tuple[Call, Any]]) -> list[Outcome]:
        return list(await asyncio.gather(*(_settle(call, awaitable) for call, awaitable in waiting)))
