"""The :class:`Engine`: runs JavaScript tasks in worker processes, keeps durable jobs and
workflow runs in a database, and runs Python handlers on threads it owns."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import functools
import logging
import os
import signal
import sys
import threading
import warnings
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union, overload

from cogwork import _completions, _logging, _native
from cogwork._events import Subscribers
from cogwork._handlers import Handler, HandlerThreads
from cogwork._twins import Call, awaitable, blocking
from cogwork.errors import CogworkWarning, TaskFailedError
from cogwork.records import Event, Job, Schedule, WorkflowRun, _time

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
When = Union[datetime.datetime, int, float]
Span = Union[datetime.timedelta, int, float]
H = TypeVar("H", bound=Handler)
S = TypeVar("S", bound=Callable[[Event], object])


@overload
def _seconds(value: Span, name: str) -> float: ...
@overload
def _seconds(value: None, name: str) -> None: ...
@overload
def _seconds(value: Optional[Span], name: str) -> Optional[float]: ...
def _seconds(value: Optional[Span], name: str) -> Optional[float]:
    """A span of time in seconds: a timedelta or a number."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must be a timedelta or a number of seconds, not {type(value).__name__}")


def _epoch_seconds(value: Optional[When]) -> Optional[float]:
    """A time as seconds since the epoch: a datetime (naive means local time, as
    ``datetime.timestamp()`` takes it; the same rule as datetimes in inputs) or a number."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return _seconds(value, "run_at")


_JOB_OPTIONS = (
    "queue", "priority", "run_at", "delay", "max_attempts", "timeout", "unique_key", "concurrency_key", "concurrency_limit"
)


def _checked_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The options of one job as the native module takes them; TypeError naming an unknown one."""
    unknown = [name for name in options if name not in _JOB_OPTIONS]
    if unknown:
        raise TypeError(f"unknown job option {unknown[0]!r}; the options are {', '.join(_JOB_OPTIONS)}")
    return _job_options(**options)


def _job_options(
    queue: Optional[str] = None,
    priority: int = 0,
    run_at: Optional[When] = None,
    delay: Optional[Span] = None,
    max_attempts: Optional[int] = None,
    timeout: Optional[Span] = None,
    unique_key: Optional[str] = None,
    concurrency_key: Optional[str] = None,
    concurrency_limit: Optional[int] = None,
) -> dict[str, Any]:
    """The options of one job as the native module takes them (every key, times in seconds)."""
    return {
        "queue": queue,
        "priority": priority,
        "run_at": _epoch_seconds(run_at),
        "delay": _seconds(delay, "delay"),
        "max_attempts": max_attempts,
        "timeout": _seconds(timeout, "timeout"),
        "unique_key": unique_key,
        "concurrency_key": concurrency_key,
        "concurrency_limit": concurrency_limit,
    }


def _check_types(*options: tuple[object, type, str]) -> None:
    """TypeError naming the first option (value, type, name) set to a value of another type
    (a bool is not an int here)."""
    for value, kind, name in options:
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise TypeError(f"{name} must be {'an' if kind is int else 'a'} {kind.__name__} or None, not {type(value).__name__}")


def _running_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _queues(queues: Union[str, Iterable[str], None]) -> Optional[list[str]]:
    """The queues to work; None for the configured ones (``default`` and cogwork.yml's)."""
    return None if queues is None else _queue_list(queues)


def _queue_list(queues: Union[str, Iterable[str]]) -> list[str]:
    return [queues] if isinstance(queues, str) else list(queues)


@contextlib.contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    """While inside, SIGTERM sets ``stop`` (when called on the main thread, where signal
    handlers live)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


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
    """A handle on loaded tasks, a pool of JavaScript workers, and the job database.

    Settings come from ``cogwork.yml`` in the working directory (or the file ``config``
    names) and the ``COGWORK_*`` environment variables, as the ``cogwork`` command reads
    them; an argument given here wins over both.

    :param tasks: task directories, .zip archives, or directories holding either (the
        configuration's ``tasks`` unless given).
    :param config: the configuration file; ``./cogwork.yml`` when it exists, unless given.
    :param database: ``sqlite://path`` (``sqlite://cogwork.db`` unless given or
        configured), ``sqlite::memory:``, or ``postgres://user:password@host/database``;
        opened on the first job or workflow call.
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
    :param lease: seconds (or a timedelta) a claimed job stays this process's without a
        heartbeat (30 unless given); a crashed process's jobs run again after it.
    :param node: the name attempts record as where they ran; the host name unless given.
    :param backoff: ``(base, cap)``, the delays before retrying a failed attempt: ``base``
        after the first failure, doubling (with jitter) up to ``cap``; seconds or timedeltas,
        ``(1, 3600)`` unless given.
    :param clock: ``"system"``, or ``"manual"`` for tests: the job store's clock then starts
        at the present and stands still until :meth:`advance` moves it, so a test can make a
        retry or a cron tick due without sleeping.
    :param apply_config: whether the first :meth:`drain`, :meth:`start` or :meth:`work`
        records the configuration file's queue rate limits and adds its schedules in the
        database, as ``cogwork work`` does (True unless given); False for an engine on a
        database of its own, such as a test's.

    What it does is logged through ``logging.getLogger("cogwork")`` (failures and retries
    at WARNING, completions at DEBUG, with ``extra`` fields ``job_id``, ``target``,
    ``queue``, ``attempt``, ``run_id``, ``step``, ``duration_ms``), at the levels that
    logger has enabled as the engine opens (set it above WARNING for no events at all);
    tasks' console output through ``cogwork.console``.

    Use it as a context manager, or call :meth:`close` when done. Every method that waits
    has an awaitable variant named ``..._async``, run on the core's runtime (no thread per
    call): cancelling the awaiting task cancels the work.
    """

    def __init__(
        self,
        tasks: Union[PathLike, Sequence[PathLike], None] = None,
        *,
        config: Optional[PathLike] = None,
        database: Optional[str] = None,
        workers: Optional[int] = None,
        timeout: Optional[Span] = None,
        in_process: bool = False,
        fetch_allow: Optional[Iterable[str]] = None,
        fetch_max_response_bytes: Optional[int] = None,
        console_max_bytes: Optional[int] = None,
        memory_limit: Optional[int] = _native.DEFAULT_MEMORY_LIMIT,
        recycle_after: Optional[int] = None,
        watch: bool = False,
        lease: Optional[Span] = None,
        node: Optional[str] = None,
        backoff: Optional[tuple[Span, Span]] = None,
        clock: str = "system",
        apply_config: bool = True,
    ) -> None:
        if clock not in ("system", "manual"):
            raise ValueError(f"clock must be 'system' or 'manual', not {clock!r}")
        if isinstance(tasks, (str, os.PathLike)):
            tasks = [tasks]
        _check_types(
            (workers, int, "workers"),
            (fetch_max_response_bytes, int, "fetch_max_response_bytes"),
            (console_max_bytes, int, "console_max_bytes"),
            (memory_limit, int, "memory_limit"),
            (recycle_after, int, "recycle_after"),
            (database, str, "database"),
            (node, str, "node"),
        )
        self._native = _native.Engine(
            None if tasks is None else list(tasks),
            config=None if config is None else os.fspath(config),
            manual_clock=clock == "manual",
            worker_command=None if in_process else _WORKER_COMMAND,
            workers=workers,
            timeout=_seconds(timeout, "timeout"),
            memory_limit=memory_limit,
            recycle_after=recycle_after,
            fetch_allow=None if fetch_allow is None else _queue_list(fetch_allow),
            watch=watch,
            fetch_max_response_bytes=fetch_max_response_bytes,
            console_max_bytes=console_max_bytes,
            database=database,
            lease=_seconds(lease, "lease"),
            node=node,
            backoff=None if backoff is None else (_seconds(backoff[0], "backoff"), _seconds(backoff[1], "backoff")),
            apply_config=apply_config,
        )
        self._handlers: dict[str, Handler] = {}
        self._subscribers = Subscribers()
        self._worker: Optional[tuple[_native.Worker, HandlerThreads]] = None
        logged = _logging.event_names()
        if logged:
            self._subscribers.add(self._native.subscribe(logged), _logging.EventLog())
        for warning in self._native.warnings:
            warnings.warn(warning, CogworkWarning, stacklevel=2)

    # Runs.

    def run(self, task: str, input: Any, *, timeout: Optional[Span] = None, mocks: Mocks = None) -> Any:
        """Runs ``task`` (a label, uuid or ``label@version``) on ``input`` and returns its output.

        ``input`` may hold dicts, lists, tuples, str, int (any size), float, bool, None and
        datetimes (which become RFC 3339 strings in UTC, to the microsecond; a naive one is
        local time). ``timeout`` overrides the engine's, in seconds. ``mocks`` answer the
        task's fetches: ``{"url": ..., "method": "GET", "response": {...}}`` (plus optional
        ``status`` and ``headers``), one or a list. Console output of the task goes to the
        ``cogwork.console`` logger, at the level the task used.

        Raises a :class:`CogworkError` subclass when the run fails, :class:`TypeError` naming
        the path (``input.items[3].at``) of a value JSON cannot carry, and :class:`ValueError`
        for a negative or absurd timeout. Ctrl-C stops the run (its worker is replaced).
        """
        return self.execute(task, input, timeout=timeout, mocks=mocks).output

    def execute(self, task: str, input: Any, *, timeout: Optional[Span] = None, mocks: Mocks = None) -> Execution:
        """:meth:`run`, returning the whole :class:`Execution` record: output, console lines,
        worker id and duration. A :class:`TaskFailedError` carries the same console, worker
        and duration."""
        with _logging_console(task):
            record = self._native.execute(task, input, timeout=_seconds(timeout, "timeout"), mocks=mocks)
        return _execution(task, record)

    async def run_async(self, task: str, input: Any, *, timeout: Optional[Span] = None, mocks: Mocks = None) -> Any:
        """:meth:`run` for asyncio: the event loop keeps running while the task does."""
        return (await self.execute_async(task, input, timeout=timeout, mocks=mocks)).output

    async def execute_async(
        self, task: str, input: Any, *, timeout: Optional[Span] = None, mocks: Mocks = None
    ) -> Execution:
        """:meth:`execute` for asyncio. Cancelling the awaiting task stops the execution (its
        worker is killed and replaced), as Ctrl-C does for :meth:`run`."""
        with _logging_console(task):
            start = functools.partial(self._native.execute, task, input, timeout=_seconds(timeout, "timeout"), mocks=mocks)
            record = await _completions.wait(start)
        return _execution(task, record)

    # Jobs.

    def enqueue(self, target: str, input: Any = None, **options: Any) -> Job:
        """Enqueues a job for a task or a registered handler and returns it as a :class:`Job`.

        Options (keywords): ``queue`` (``"default"``), ``priority`` (higher runs first),
        ``run_at`` (a datetime, naive meaning local time, or seconds since the epoch),
        ``delay`` (a timedelta or seconds; ignored when ``run_at`` is given), ``max_attempts``
        (3), ``timeout`` (of one attempt), ``unique_key`` (while a job with this key is
        unfinished, enqueueing another returns that job), ``concurrency_key`` and
        ``concurrency_limit`` (at most that many such jobs run at once, across every
        process). A task's input is checked against its schema now. An unknown option
        raises TypeError naming it.
        """
        return self.enqueue_all([(target, input, options)])[0]

    async def enqueue_async(self, target: str, input: Any = None, **options: Any) -> Job:
        """:meth:`enqueue` for asyncio: the write runs on the core's runtime."""
        return (await self.enqueue_all_async([(target, input, options)]))[0]

    def _enqueue_all(self, jobs: Iterable[Sequence[Any]], **options: Any) -> Call[list[Job]]:
        """Enqueues many jobs in one transaction (all, or on any error none) and returns
        them, in order. Each job is ``(target, input)`` or ``(target, input, {options})``;
        the keyword options (as :meth:`enqueue` takes) apply to every job, its own on top."""
        return Call(functools.partial(self._native.enqueue_all, _job_specs(jobs, options)), _job_list)

    enqueue_all = blocking(_enqueue_all)
    enqueue_all_async = awaitable(_enqueue_all)

    def _job(self, id: int) -> Call[Job]:
        """The job ``id`` with its attempts; :class:`JobNotFoundError` if there is none."""
        return Call(functools.partial(self._native.job, id), Job._from_native)

    job = blocking(_job)
    job_async = awaitable(_job)

    def _jobs(
        self,
        state: Union[str, Iterable[str], None] = None,
        *,
        queue: Optional[str] = None,
        target: Optional[str] = None,
        limit: int = 100,
    ) -> Call[list[Job]]:
        """Jobs, newest first: in ``state`` (one name or several; all when None), of
        ``queue`` and ``target`` when given, at most ``limit``. An unknown state raises
        ValueError naming the states there are."""
        return Call(functools.partial(self._native.jobs, **_job_filter(state, queue, target, limit)), _job_list)

    jobs = blocking(_jobs)
    jobs_async = awaitable(_jobs)

    def _cancel(self, id: int) -> Call[None]:
        """Cancels a job that has not finished (a running one is stopped);
        :class:`InvalidJobStateError` for a finished one."""
        return Call(functools.partial(self._native.cancel, id), _as_it_is)

    cancel = blocking(_cancel)
    cancel_async = awaitable(_cancel)

    def _retry(self, id: int) -> Call[None]:
        """Runs a dead or cancelled job again, with its attempts reset."""
        return Call(functools.partial(self._native.retry, id), _as_it_is)

    retry = blocking(_retry)
    retry_async = awaitable(_retry)

    def _stats(self, window: Span = 60.0) -> Call[dict[str, Any]]:
        """Counts of jobs: ``by_state`` (every state, zeros included) and ``by_queue``
        (queue → counts by state); and ``completed`` / ``failed``: attempts started in the
        last ``window`` seconds that completed or failed."""
        return Call(functools.partial(self._native.stats, _seconds(window, "window")), _as_it_is)

    stats = blocking(_stats)
    stats_async = awaitable(_stats)

    # Handlers and workers.

    def handler(self, name: str) -> Callable[[H], H]:
        """Registers the decorated function (or any callable; a coroutine function too) as
        the handler of jobs and workflow steps that target ``name``.

        It is called with a :class:`HandlerJob` (``id``, ``input``, ``attempt``, ``queue``)
        or, for a workflow step, a :class:`Step` (``context``, ``results`` by parent step,
        ``input``, ``attempt``, ``run_id``). What it returns (dicts, lists, str, int, float,
        bool, None, datetimes) is the output; an exception fails the attempt, which is
        retried per the job's policy (an exception whose ``retryable`` attribute is False
        is not). A coroutine function's coroutines run on the event loop of its handler
        thread, those of one batch together.
        """

        def register(function: H) -> H:
            self.add_handler(name, function)
            return function

        return register

    def add_handler(self, name: str, handler: Handler) -> None:
        """:meth:`handler` without the decorator."""
        if not callable(handler):
            raise TypeError(f"the handler of {name!r} must be callable, not {type(handler).__name__}")
        self._native.register_handler(name)
        self._handlers[name] = handler

    def drain(
        self, queues: Union[str, Iterable[str], None] = None, *, threads: int = 1, stop_timeout: Span = 25.0
    ) -> dict[str, int]:
        """Runs the due jobs of ``queues`` (unless given, ``default`` and the queues
        cogwork.yml configures, with their concurrency), the workflow steps they lead to and
        the schedules' due ticks, until none is due or running, Python handlers on
        ``threads`` threads; returns the counts (``completed``, ``failed``, ``dead``, ``released``,
        ``errors``). For tests and scripts: jobs scheduled for later are left for later.
        Ctrl-C stops it as :meth:`stop` stops a worker: the jobs under way get
        ``stop_timeout`` seconds to finish, then are handed back to the queue.

        The engine's first drain, :meth:`start` or :meth:`work` applies what cogwork.yml sets
        in the database, its queues' rate limits and its schedules, as ``cogwork work``
        does: register the handlers its schedules target before."""
        handlers = HandlerThreads(self._native, self._handlers, threads)
        try:
            progress: dict[str, int] = self._native.drain(_queues(queues), _seconds(stop_timeout, "stop_timeout"))
            return progress
        finally:
            handlers.stop()

    async def drain_async(
        self, queues: Union[str, Iterable[str], None] = None, *, threads: int = 1, stop_timeout: Span = 25.0
    ) -> dict[str, int]:
        """:meth:`drain` for asyncio: the event loop keeps running (plain handlers run on
        the engine's threads, coroutine handlers on this loop). Cancelling it stops the
        drain as Ctrl-C stops :meth:`drain`."""
        handlers = HandlerThreads(self._native, self._handlers, threads, asyncio.get_running_loop())
        try:
            drain = functools.partial(self._native.drain, _queues(queues), _seconds(stop_timeout, "stop_timeout"))
            progress: dict[str, int] = await _completions.wait(drain)
            return progress
        finally:
            handlers.stop()

    def start(
        self, queues: Union[str, Iterable[str], None] = None, *, threads: int = 2, stop_timeout: Span = 25.0
    ) -> None:
        """Starts working ``queues`` (as :meth:`drain` takes them) in the background, for a
        web process, say: JavaScript on the worker processes, Python handlers on ``threads``
        threads. Called from a running event loop, coroutine handlers run on that loop while
        it runs. :meth:`stop` ends it."""
        self._start(queues, threads, stop_timeout, _running_loop())

    def _start(
        self,
        queues: Union[str, Iterable[str], None],
        threads: int,
        stop_timeout: Span,
        caller_loop: Optional[asyncio.AbstractEventLoop],
    ) -> None:
        if self._worker is not None:
            raise RuntimeError("this engine is working already; call stop() first")
        handlers = HandlerThreads(self._native, self._handlers, threads, caller_loop)
        try:
            worker = self._native.start(_queues(queues), _seconds(stop_timeout, "stop_timeout"))
        except BaseException:
            handlers.stop()
            raise
        self._worker = (worker, handlers)

    def stop(self) -> Optional[dict[str, int]]:
        """Stops what :meth:`start` started: no more claims, the jobs under way finish (up to
        the stop timeout; the rest are handed back), then the handler threads end. Returns
        the counts, or None if the engine was not working. Called on the event loop that
        :meth:`start` ran coroutine handlers on, it blocks that loop: the coroutines still
        running there fail (and are retried per their jobs' policy) instead of finishing."""
        if self._worker is None:
            return None
        # In a forked child, the worker's threads are gone: waiting for them would hang.
        self._native.check_open()
        worker, handlers = self._worker
        self._worker = None
        handlers.before_stop()
        try:
            return worker.stop()
        finally:
            handlers.stop()

    def work(
        self, queues: Union[str, Iterable[str], None] = None, *, threads: int = 2, stop_timeout: Span = 25.0
    ) -> dict[str, int]:
        """Works ``queues`` until Ctrl-C (KeyboardInterrupt) or SIGTERM, then stops
        gracefully as :meth:`stop` does and returns the counts."""
        stop = threading.Event()
        with _stop_on_sigterm(stop):
            # Never on a caller's loop: this thread, which would run it, waits here.
            self._start(queues, threads, stop_timeout, None)
            try:
                while not stop.wait(1.0):
                    pass
            except KeyboardInterrupt:
                pass
            finally:
                progress = self.stop()
        assert progress is not None
        return progress

    def on(self, *names: str) -> Callable[[S], S]:
        """Calls the decorated function with each :class:`Event` named ``names`` (such as
        ``"job.completed"``, ``"step.*"`` or ``"*"``) that happens from now on, in order, on a
        thread of its own. An exception it raises is logged and the next event delivered.
        Closing the engine delivers the events so far first."""
        subscription = self._native.subscribe(list(names))

        def register(subscriber: S) -> S:
            self._subscribers.add(subscription, subscriber)
            return subscriber

        return register

    # Workflows.

    def _define_workflow(self, source: Union[PathLike, Mapping[str, Any]]) -> Call[list[str]]:
        """Defines workflow templates from a ``.yaml``/``.yml``/``.json`` file, a directory of
        them, or a dict, and returns their references (``namespace/name@version``). They are
        kept in the database, so any process sharing it can start them."""
        return Call(functools.partial(self._native.define_workflow, _template_source(source)), _as_it_is)

    define_workflow = blocking(_define_workflow)
    define_workflow_async = awaitable(_define_workflow)

    def _start_workflow(self, reference: str, context: Any = None, *, idempotency_key: Optional[str] = None) -> Call[WorkflowRun]:
        """Starts a run of the template ``reference`` (``namespace/name``, or with
        ``@version``) with ``context`` and returns it (``.id`` names it from then on).
        Starting twice with one ``idempotency_key`` starts one run and returns it twice."""
        context = {} if context is None else context
        return Call(functools.partial(self._native.start_workflow, reference, context, idempotency_key=idempotency_key), WorkflowRun._from_native)

    start_workflow = blocking(_start_workflow)
    start_workflow_async = awaitable(_start_workflow)

    def _workflow(self, id: int) -> Call[WorkflowRun]:
        """The run ``id`` as it is now; :class:`WorkflowNotFoundError` if there is none."""
        return Call(functools.partial(self._native.workflow, id), WorkflowRun._from_native)

    workflow = blocking(_workflow)
    workflow_async = awaitable(_workflow)

    def _workflows(self, workflow: Optional[str] = None, *, state: Optional[str] = None, limit: int = 100) -> Call[list[WorkflowRun]]:
        """Runs, newest first: of the template ``workflow`` (``namespace/name``) and in
        ``state`` when given, at most ``limit``."""
        return Call(functools.partial(self._native.workflows, workflow=workflow, state=state, limit=limit), _run_list)

    workflows = blocking(_workflows)
    workflows_async = awaitable(_workflows)

    def _wait_workflow(self, id: int, *, timeout: Optional[Span] = None) -> Call[WorkflowRun]:
        """Waits (the GIL released, Ctrl-C honoured) until the run ``id`` is completed,
        failed or cancelled, and returns it; after ``timeout`` raises
        :class:`TaskTimeoutError`, leaving the run alone. Something must work its steps:
        :meth:`start`, or another process. Cancelling ``wait_workflow_async`` stops the wait
        and leaves the run alone too."""
        return Call(functools.partial(self._native.wait_workflow, id, _seconds(timeout, "timeout")), WorkflowRun._from_native)

    wait_workflow = blocking(_wait_workflow)
    wait_workflow_async = awaitable(_wait_workflow)

    def _cancel_workflow(self, id: int) -> Call[None]:
        """Cancels a run: its unfinished steps and their jobs are cancelled."""
        return Call(functools.partial(self._native.cancel_workflow, id), _as_it_is)

    cancel_workflow = blocking(_cancel_workflow)
    cancel_workflow_async = awaitable(_cancel_workflow)

    def _retry_step(self, id: int, step: str) -> Call[None]:
        """Runs a failed step again; the run continues from it."""
        return Call(functools.partial(self._native.retry_step, id, step), _as_it_is)

    retry_step = blocking(_retry_step)
    retry_step_async = awaitable(_retry_step)

    def _resolve_step(self, id: int, step: str, result: Any) -> Call[None]:
        """Completes a failed step by hand with ``result``; its dependents run."""
        return Call(functools.partial(self._native.resolve_step, id, step, result), _as_it_is)

    resolve_step = blocking(_resolve_step)
    resolve_step_async = awaitable(_resolve_step)

    def _replay(self, id: int, step: str) -> Call[None]:
        """Runs ``step`` and every step after it again, keeping the results upstream."""
        return Call(functools.partial(self._native.replay, id, step), _as_it_is)

    replay = blocking(_replay)
    replay_async = awaitable(_replay)

    # Schedules.

    def _schedule(
        self,
        name: str,
        cron: str,
        target: str,
        input: Any = None,
        *,
        timezone: Optional[str] = None,
        queue: Optional[str] = None,
        priority: Optional[int] = None,
        max_attempts: Optional[int] = None,
        missed: Optional[str] = None,
        enabled: Optional[bool] = None,
    ) -> Call[None]:
        """Adds the cron schedule ``name`` (or replaces the one of that name): every tick of
        ``cron`` (5 fields, or 6 with a leading second) enqueues a job for ``target`` with
        ``input``, while the engine works (:meth:`start`, :meth:`work`; :meth:`drain`
        enqueues the ticks due). ``timezone`` is the IANA zone ``cron`` is read in (UTC
        unless given); ``queue``, ``priority`` and ``max_attempts`` are the jobs'; ``missed``
        says what happens to ticks that fell while nothing worked: ``"skip"`` (the default),
        ``"run_once"`` or ``"run_all"``; ``enabled=False`` adds it paused. A bad expression,
        time zone, target or input raises now, naming it."""
        options = {"timezone": timezone, "queue": queue, "priority": priority, "max_attempts": max_attempts, "missed": missed, "enabled": enabled}
        return Call(functools.partial(self._native.add_schedule, name, cron, target, input, options), _as_it_is)

    schedule = blocking(_schedule)
    schedule_async = awaitable(_schedule)

    def _schedules(self) -> Call[list[Schedule]]:
        """Every schedule, by name, with its next and last ticks."""
        return Call(self._native.schedules, _schedule_list)

    schedules = blocking(_schedules)
    schedules_async = awaitable(_schedules)

    def _remove_schedule(self, name: str) -> Call[bool]:
        """Removes a schedule (the jobs it enqueued stay); whether it existed."""
        return Call(functools.partial(self._native.remove_schedule, name), bool)

    remove_schedule = blocking(_remove_schedule)
    remove_schedule_async = awaitable(_remove_schedule)

    def _set_schedule_enabled(self, name: str, enabled: bool) -> Call[bool]:
        """Pauses (False) or resumes (True, from its next tick) a schedule; whether it exists."""
        return Call(functools.partial(self._native.set_schedule_enabled, name, enabled), bool)

    set_schedule_enabled = blocking(_set_schedule_enabled)
    set_schedule_enabled_async = awaitable(_set_schedule_enabled)

    # Test hooks: time and HTTP.

    def now(self) -> datetime.datetime:
        """The engine's time, as an aware UTC datetime: its manual clock's (see ``clock``),
        else the system's."""
        self._check_open()
        return _time(self._native.now())

    def advance(self, by: Span) -> None:
        """Moves a manual clock ``by`` seconds (or a timedelta) on: jobs, retries and cron
        ticks that fall due meanwhile are due now (:meth:`drain` runs them). Raises
        :class:`ConfigurationError` on the system clock, ValueError for a negative span."""
        self._native.advance(_seconds(by, "advance"))

    def mock_http(self, mocks: Mocks) -> None:
        """Answers the ``fetch`` calls of every JavaScript run, job and workflow step that
        brings no mocks of its own with ``mocks`` (as :meth:`run` takes them: dicts with
        ``url``, ``method``, ``status``, ``headers``, ``response``; one or a list), replacing
        the mocks set before. A fetch no mock matches fails the execution."""
        self._native.set_http_mocks(mocks)

    def clear_http_mocks(self) -> None:
        """Lets fetches reach the network again (within ``fetch_allow``)."""
        self._native.set_http_mocks(None)

    # The engine itself.

    def close(self) -> None:
        """Stops working (if :meth:`start` was called), delivers the events so far, and stops
        the workers once runs under way have finished; later calls raise
        :class:`EngineClosedError`. Closing twice is harmless."""
        try:
            self.stop()
        finally:
            self._subscribers.close()
            self._native.close()

    @property
    def warnings(self) -> list[str]:
        """What loading the tasks noticed but did not refuse, such as duplicates."""
        return self._native.warnings

    @property
    def tasks(self) -> list[dict[str, str]]:
        """The loaded tasks: dicts with ``label``, ``version``, ``uuid`` and ``description``."""
        return self._native.tasks

    def _check_open(self) -> None:
        """Raises EngineClosedError after close (or in a forked child), as the native calls do."""
        self._native.check_open()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _job_specs(jobs: Iterable[Sequence[Any]], shared: Mapping[str, Any]) -> list[tuple[str, Any, dict[str, Any]]]:
    """``(target, input[, options])`` jobs as the native module takes them, ``shared``
    options under each job's own."""
    specs = []
    for job in jobs:
        target, input, *own = job
        specs.append((target, input, _checked_options({**shared, **(own[0] if own else {})})))
    return specs


def _job_filter(state: Union[str, Iterable[str], None], queue: Optional[str], target: Optional[str], limit: int) -> dict[str, Any]:
    return {"states": [] if state is None else _queue_list(state), "queue": queue, "target": target, "limit": limit}


def _job_list(records: list[dict[str, Any]]) -> list[Job]:
    return [Job._from_native(record) for record in records]


def _run_list(records: list[dict[str, Any]]) -> list[WorkflowRun]:
    return [WorkflowRun._from_native(record) for record in records]


def _schedule_list(records: list[dict[str, Any]]) -> list[Schedule]:
    return [Schedule._from_native(record) for record in records]


def _as_it_is(result: Any) -> Any:
    """For results the native module gives as they are returned."""
    return result


def _template_source(source: Union[PathLike, Mapping[str, Any]]) -> Union[str, Mapping[str, Any]]:
    """A path as str (what the native module reads as a path), a dict as it is."""
    return os.fspath(source) if isinstance(source, os.PathLike) else source
