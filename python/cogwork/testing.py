"""Testing with cogwork: an engine whose jobs run when they are enqueued, and assertions on
what was enqueued. The pytest plugin (:mod:`cogwork.pytest_plugin`) builds its fixture on
these; they serve unittest or a script as well.

Eager mode differs from Celery's: the jobs run through the real engine (database, queues,
retries, JavaScript workers), not as a plain function call, so what passes here passes in
production.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any, Iterable, Iterator, Optional, Sequence, Union, overload

from cogwork.engine import Engine
from cogwork._handlers import Handler, HandlerJob, Step
from cogwork.errors import CogworkError
from cogwork.records import Job, WorkflowRun

__all__ = ["JobFailedError", "TestEngine", "assert_enqueued", "assert_not_enqueued"]

_UNSET: Any = object()
# More jobs than a test enqueues; assertions look at all of them.
_LIMIT = 100_000


class JobFailedError(CogworkError):
    """A job an eager :class:`TestEngine` ran did not complete, and no Python exception
    explains why (a JavaScript task failed, say); ``job`` is the job with its attempts."""

    job: Job

    def __init__(self, job: Job) -> None:
        super().__init__(
            f"job {job.id} ({job.target}) ended {job.state} after {job.attempt} attempt(s): {job.error!r}; "
            "its attempts are in the error's `job.attempts`"
        )
        self.job = job


class TestEngine(Engine):
    """An :class:`Engine` for tests. With ``eager=True``, :meth:`enqueue`, :meth:`enqueue_all`
    and :meth:`start_workflow` (and their ``_async`` twins) run what they enqueued before
    returning, through the real engine: they drain every queue until nothing is due, so the
    jobs those jobs enqueue run too, and so do jobs left waiting from before. They re-raise
    the exception of a Python handler whose job did not complete (or raise
    :class:`JobFailedError`). Otherwise jobs wait for :meth:`drain`. Jobs scheduled for later
    wait for the clock either way.

    Every other argument is the :class:`Engine`'s.
    """

    __test__ = False  # a class named Test* that pytest must not collect

    def __init__(self, *args: Any, eager: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.eager = eager
        """Whether enqueued jobs run at once; may be switched during a test."""
        # The last exception each job's Python handler raised during the eager call under way.
        self._raised: dict[int, BaseException] = {}
        self._running_eagerly = False

    def add_handler(self, name: str, handler: Handler) -> None:
        """:meth:`Engine.add_handler`, keeping what the handler raises for eager mode."""
        super().add_handler(name, handler)  # checks and registers it
        self._handlers[name] = self._recording(handler)

    def enqueue(self, target: str, input: Any = None, **options: Any) -> Job:
        """:meth:`Engine.enqueue`; eager, runs the job (and what it enqueues) first and
        returns it as it ended."""
        return self.enqueue_all([(target, input, options)])[0]

    async def enqueue_async(self, target: str, input: Any = None, **options: Any) -> Job:
        """:meth:`Engine.enqueue_async`, eager as :meth:`enqueue` is."""
        return (await self.enqueue_all_async([(target, input, options)]))[0]

    def enqueue_all(self, jobs: Iterable[Sequence[Any]], **options: Any) -> list[Job]:
        """:meth:`Engine.enqueue_all`; eager, runs the jobs (and what they enqueue) first and
        returns them as they ended."""
        enqueued = super().enqueue_all(jobs, **options)
        with self._eagerly([job.id for job in enqueued]) as eager:
            if eager:
                self._drain_every_queue()
        return [self.job(job.id) for job in enqueued] if eager else enqueued

    async def enqueue_all_async(self, jobs: Iterable[Sequence[Any]], **options: Any) -> list[Job]:
        """:meth:`Engine.enqueue_all_async`, eager as :meth:`enqueue_all` is."""
        enqueued = await super().enqueue_all_async(jobs, **options)
        with self._eagerly([job.id for job in enqueued]) as eager:
            if eager:
                await self._drain_every_queue_async()
        return [self.job(job.id) for job in enqueued] if eager else enqueued

    def start_workflow(self, reference: str, context: Any = None, *, idempotency_key: Optional[str] = None) -> WorkflowRun:
        """:meth:`Engine.start_workflow`; eager, runs the steps that are due first and returns
        the run as they left it."""
        run = super().start_workflow(reference, context, idempotency_key=idempotency_key)
        steps: list[int] = []  # filled before _eagerly looks at it, after the run
        with self._eagerly(steps) as eager:
            if eager:
                self._drain_every_queue()
                steps += self._step_jobs(run.id)
        return self.workflow(run.id) if eager else run

    async def start_workflow_async(
        self, reference: str, context: Any = None, *, idempotency_key: Optional[str] = None
    ) -> WorkflowRun:
        """:meth:`Engine.start_workflow_async`, eager as :meth:`start_workflow` is."""
        run = await super().start_workflow_async(reference, context, idempotency_key=idempotency_key)
        steps: list[int] = []  # filled before _eagerly looks at it, after the run
        with self._eagerly(steps) as eager:
            if eager:
                await self._drain_every_queue_async()
                steps += self._step_jobs(run.id)
        return self.workflow(run.id) if eager else run

    def _step_jobs(self, run_id: int) -> list[int]:
        return [step.job_id for step in self.workflow(run_id).steps if step.job_id is not None]

    def _recording(self, handler: Handler) -> Handler:
        """``handler``, noting what it raises (a coroutine handler's too) by job id."""

        def note(call: Union[HandlerJob, Step], error: BaseException) -> None:
            if self._running_eagerly:  # a drain the test calls itself raises nothing
                self._raised[call.job_id if isinstance(call, Step) else call.id] = error

        async def awaiting(call: Union[HandlerJob, Step], awaitable: Any) -> Any:
            try:
                return await awaitable
            except BaseException as error:
                note(call, error)
                raise

        def recording(call: Union[HandlerJob, Step]) -> Any:
            try:
                output = handler(call)
            except BaseException as error:
                note(call, error)
                raise
            return awaiting(call, output) if inspect.isawaitable(output) else output

        return recording

    @contextlib.contextmanager
    def _eagerly(self, ids: list[int]) -> Iterator[bool]:
        """Yields whether to run what was enqueued now: in eager mode, unless an eager call
        is under way already (a handler enqueueing: its jobs join that call's drain). After
        the run, raises for the first job among ``ids`` (as the body left the list) and
        those whose handlers raised that did not complete."""
        if not self.eager or self._running_eagerly:
            yield False
            return
        self._running_eagerly = True
        try:
            yield True
            failed = self._first_unfinished([*ids, *self._raised])
        finally:
            raised, self._raised = self._raised, {}
            self._running_eagerly = False
        if failed is not None:
            raise raised[failed.id] if failed.id in raised else JobFailedError(failed)

    def _drain_every_queue(self) -> None:
        """Drains the queues that hold jobs, again while draining brought new queues."""
        drained: set[str] = set()
        while queues := set(self.stats()["by_queue"]) - drained:
            drained |= queues
            self.drain(sorted(drained))

    async def _drain_every_queue_async(self) -> None:
        """:meth:`_drain_every_queue` on the event loop."""
        drained: set[str] = set()
        while queues := set((await self.stats_async())["by_queue"]) - drained:
            drained |= queues
            await self.drain_async(sorted(drained))

    def _first_unfinished(self, ids: Iterable[int]) -> Optional[Job]:
        """The first job of ``ids`` that failed: dead, or waiting to retry."""
        for id in dict.fromkeys(ids):
            job = self.job(id)
            if job.state in ("dead", "retrying"):
                return job
        return None


def _matching(engine: Engine, target: str, input: Any, fields: dict[str, Any]) -> tuple[list[Job], list[Job], dict[str, Any]]:
    """The jobs of ``target``, those among them whose fields equal those wanted, and the wanted."""
    jobs = engine.jobs(target=target, limit=_LIMIT)
    wanted = {**fields, **({} if input is _UNSET else {"input": input})}
    return jobs, [job for job in jobs if all(getattr(job, name) == value for name, value in wanted.items())], wanted


def _listing(target: str, jobs: list[Job], wanted: dict[str, Any]) -> str:
    shown = wanted or {"input": None}
    lines = [f"  job {job.id}: {', '.join(f'{n}={getattr(job, n)!r}' for n in shown)}" for job in jobs]
    return f"jobs of {target!r}:\n" + ("\n".join(lines) or "  none")


@overload
def assert_enqueued(engine: Engine, target: str, input: Any = ..., *, count: None = None, **fields: Any) -> Job: ...
@overload
def assert_enqueued(engine: Engine, target: str, input: Any = ..., *, count: int, **fields: Any) -> list[Job]: ...
def assert_enqueued(
    engine: Engine, target: str, input: Any = _UNSET, *, count: Optional[int] = None, **fields: Any
) -> Union[Job, list[Job]]:
    """Asserts that one job of ``target`` (or exactly ``count`` of them) has ``input`` (when
    given) and the other fields given (``queue``, ``state``, ``priority``... as :class:`Job`
    names them). Returns that job (or the list, newest first); fails listing the jobs of
    ``target`` otherwise. Jobs count whatever their state: an eager engine has run them."""
    jobs, matching, wanted = _matching(engine, target, input, fields)
    expected = 1 if count is None else count
    if len(matching) != expected:
        raise AssertionError(f"expected {expected} {target!r} job(s) with {wanted!r}, found {len(matching)}; {_listing(target, jobs, wanted)}")
    return matching[0] if count is None else matching


def assert_not_enqueued(engine: Engine, target: str, input: Any = _UNSET, **fields: Any) -> None:
    """Asserts that no job of ``target`` has ``input`` (when given) and the fields given."""
    assert_enqueued(engine, target, input, count=0, **fields)
