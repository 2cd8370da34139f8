"""The public API as a typed application uses it. `mypy --strict` checks this file
(test_packaging.py), so a stub or annotation that drifts from the package fails the suite;
running it (`python tests/typed_usage.py`, as the same test does) shows the types tell the
truth: every annotated value is what the call returned."""

from __future__ import annotations

import asyncio
import datetime
import pathlib
import tempfile
from typing import Any, Optional

import cogwork
from cogwork.testing import TestEngine, assert_enqueued, assert_not_enqueued

ROOT = pathlib.Path(__file__).resolve().parent.parent


def tasks_and_errors(engine: cogwork.Engine) -> None:
    output: Any = engine.run("addition", {"num1": 2, "num2": 3}, timeout=5)
    execution: cogwork.Execution = engine.execute("greeting", {"name": "Ada"})
    console: list[dict[str, str]] = execution.console
    tasks: list[dict[str, str]] = engine.tasks
    try:
        engine.run("addition", {"num1": "two", "num2": 3})
    except cogwork.InvalidInputError as error:
        violations: list[dict[str, str]] = error.violations
        assert violations[0]["path"] == "input.num1"
    print(output, execution.worker, len(console), len(tasks))


def jobs(engine: cogwork.Engine) -> None:
    @engine.handler("double")
    def double(job: cogwork.HandlerJob) -> int:
        value: int = job.input
        return value * 2

    @engine.handler("slow_double")
    async def slow_double(job: cogwork.HandlerJob) -> int:
        await asyncio.sleep(0)
        value: int = job.input
        return value * 2

    enqueued: cogwork.Job = engine.enqueue("double", 2**70, queue="default", priority=1, delay=datetime.timedelta(0))
    more: list[cogwork.Job] = engine.enqueue_all([("slow_double", 1), ("double", 2, {"priority": 3})], max_attempts=2)
    progress: dict[str, int] = engine.drain()
    job: cogwork.Job = engine.job(enqueued.id)
    attempts: tuple[cogwork.Attempt, ...] = job.attempts
    finished: datetime.datetime | None = attempts[0].finished_at
    listed: list[cogwork.Job] = engine.jobs("completed", queue="default", limit=10)
    stats: dict[str, Any] = engine.stats(window=datetime.timedelta(minutes=1))
    assert job.output == 2**71 and progress["completed"] == 3 and len(listed) == 3 and finished is not None
    print([job.id for job in more], stats["by_state"]["completed"])


def workflows(engine: cogwork.Engine) -> None:
    @engine.handler("square")
    def square(step: cogwork.Step) -> int:
        parent: int = next(iter(step.results.values()), step.context["n"])
        return parent**2

    events: list[cogwork.Event] = []
    engine.on("workflow.completed")(events.append)
    references: list[str] = engine.define_workflow(
        {"namespace": "typed", "name": "squares", "version": "1.0.0", "steps": [{"name": "square", "handler": "square"}]}
    )
    started: cogwork.WorkflowRun = engine.start_workflow(references[0], {"n": 2**32}, idempotency_key="typed-1")
    engine.drain()
    run: cogwork.WorkflowRun = engine.wait_workflow(started.id, timeout=datetime.timedelta(seconds=30))
    step: cogwork.StepRun = run.step("square")
    runs: list[cogwork.WorkflowRun] = engine.workflows("typed/squares", state="completed")
    assert step.result == 2**64 and run.state == "completed" and [r.id for r in runs] == [run.id]


def operations(directory: str) -> None:
    """The calls that change jobs, runs and schedules, on an engine that retries at once."""
    with cogwork.Engine(database=f"sqlite://{directory}/operations.db", workers=1, backoff=(0, 0)) as engine:

        @engine.handler("refuse")
        def refuse(call: cogwork.HandlerJob | cogwork.Step) -> None:
            raise PermissionError(f"attempt {call.attempt} refused")

        job = engine.enqueue("refuse", None, max_attempts=1)
        engine.drain()
        engine.retry(job.id)
        engine.cancel(job.id)
        attempts: tuple[cogwork.Attempt, ...] = engine.job(job.id).attempts
        error: dict[str, Any] = attempts[0].error
        assert engine.job(job.id).state == "cancelled" and error["message"] == "attempt 1 refused"

        engine.define_workflow({"namespace": "typed", "name": "ops", "version": "1.0.0", "steps": [{"name": "a", "handler": "refuse"}]})
        run = engine.start_workflow("typed/ops", {})
        engine.drain()
        assert engine.workflow(run.id).state == "failed"
        engine.resolve_step(run.id, "a", {"by": "hand"})
        assert engine.workflow(run.id).step("a").result == {"by": "hand"}
        engine.replay(run.id, "a")
        engine.drain()
        engine.retry_step(run.id, "a")
        engine.cancel_workflow(run.id)
        assert engine.workflow(run.id).state == "cancelled"

        engine.schedule("hourly", "0 * * * *", "refuse")
        paused: bool = engine.set_schedule_enabled("hourly", False)
        removed: bool = engine.remove_schedule("hourly")
        engine.start(["default"], threads=1)
        stopped: Optional[dict[str, int]] = engine.stop()
        warnings: list[str] = engine.warnings
        assert paused and removed and stopped is not None and warnings == []


def serve(engine: cogwork.Engine) -> None:
    """Type-checked only: it works the queues until Ctrl-C or SIGTERM."""
    progress: dict[str, int] = engine.work(["default", "mail"], threads=4, stop_timeout=datetime.timedelta(seconds=10))
    print(progress)


async def awaiting(engine: cogwork.Engine) -> None:
    output: Any = await engine.run_async("addition", {"num1": 1, "num2": 1})
    enqueued: cogwork.Job = await engine.enqueue_async("addition", {"num1": 1, "num2": 2})
    progress: dict[str, int] = await engine.drain_async()
    job: cogwork.Job = await engine.job_async(enqueued.id)
    assert output == {"sum": 2} and progress["completed"] == 1 and job.output == {"sum": 3}


def testing(database: str) -> None:
    engine = TestEngine(tasks=[ROOT / "examples" / "tasks"], database=database, workers=1, clock="manual", eager=True)
    try:
        engine.add_handler("noop", lambda job: None)
        ran: cogwork.Job = engine.enqueue("noop", {"n": 1})
        one: cogwork.Job = assert_enqueued(engine, "noop", {"n": 1}, state="completed")
        many: list[cogwork.Job] = assert_enqueued(engine, "noop", count=1)
        assert_not_enqueued(engine, "noop", {"n": 2})
        engine.mock_http({"url": "weather.example.com", "method": "GET", "response": {"temperature_c": 20}})
        weather: cogwork.Job = engine.enqueue("weather", {"city": "Paris"})
        engine.clear_http_mocks()
        engine.schedule("hourly", "0 * * * *", "noop", {"n": 2})
        schedule: cogwork.Schedule = engine.schedules()[0]
        start: datetime.datetime = engine.now()
        engine.advance(schedule.next_tick - start)
        engine.advance(1.5)
        engine.drain()
        assert many == [one] and ran.state == "completed" and weather.output["celsius"] == 20
        assert assert_enqueued(engine, "noop", {"n": 2}).state == "completed"
    finally:
        engine.close()


def main(directory: str) -> None:
    with cogwork.Engine(tasks=[ROOT / "examples" / "tasks"], database=f"sqlite://{directory}/typed.db", workers=1) as engine:
        tasks_and_errors(engine)
        jobs(engine)
        workflows(engine)
        asyncio.run(awaiting(engine))
    operations(directory)
    testing(f"sqlite://{directory}/testing.db")
    print("typed usage: ok")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        main(directory)
