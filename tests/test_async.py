"""Awaitable variants of the job and workflow calls, driven by the core runtime."""

import asyncio
import inspect
import threading
import time

import pytest

import cogwork


def test_enqueue_job_and_drain_async_run_on_the_event_loop(jobs_engine):
    jobs_engine.add_handler("cube", lambda job: job.input**3)

    async def main():
        ids = [(await jobs_engine.enqueue_async("cube", 2**30, queue="math")).id for _ in range(2)]
        ticks = 0

        async def tick():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        ticker = asyncio.ensure_future(tick())
        progress = await jobs_engine.drain_async("math")
        ticker.cancel()
        jobs = [await jobs_engine.job_async(id) for id in ids]
        return progress, jobs, ticks

    progress, jobs, ticks = asyncio.run(main())
    assert progress["completed"] == 2
    assert [job.output for job in jobs] == [2**90, 2**90]
    assert ticks > 0  # the loop ran while the drain did
    with pytest.raises(cogwork.JobNotFoundError):
        asyncio.run(jobs_engine.job_async(999999))


def test_wait_workflow_async_returns_the_finished_run_and_can_be_cancelled(jobs_engine):
    go = threading.Event()
    jobs_engine.add_handler("gate", lambda step: go.wait(timeout=30) and 2**64)
    jobs_engine.define_workflow({"namespace": "aio", "name": "gated", "version": "1.0.0", "steps": [{"name": "gate", "handler": "gate"}]})

    async def main():
        id = jobs_engine.start_workflow("aio/gated", {}).id
        waiting = asyncio.ensure_future(jobs_engine.wait_workflow_async(id))
        await asyncio.sleep(0.1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        with pytest.raises(cogwork.TaskTimeoutError):
            await jobs_engine.wait_workflow_async(id, timeout=0.1)
        go.set()
        return await jobs_engine.wait_workflow_async(id, timeout=30)

    jobs_engine.start()
    try:
        run = asyncio.run(main())
    finally:
        jobs_engine.stop()
    assert (run.state, run.step("gate").result) == ("completed", 2**64)


def test_every_job_and_workflow_call_has_an_awaitable_variant(jobs_engine):
    jobs_engine.add_handler("square", lambda call: (call.input if hasattr(call, "input") and call.input is not None else call.context["n"]) ** 2)
    template = {"namespace": "aio", "name": "one", "version": "1.0.0", "steps": [{"name": "s", "handler": "square"}]}

    async def main():
        assert await jobs_engine.define_workflow_async(template) == ["aio/one@1.0.0"]
        first, later = await jobs_engine.enqueue_all_async([("square", 3), ("square", 4, {"delay": 3600})], queue="q")
        assert [(first.state, first.queue), (later.state, later.queue)] == [("ready", "q"), ("scheduled", "q")]
        assert [job.id for job in await jobs_engine.jobs_async("scheduled")] == [later.id]
        await jobs_engine.cancel_async(later.id)
        assert (await jobs_engine.job_async(later.id)).state == "cancelled"
        await jobs_engine.retry_async(later.id)
        assert (await jobs_engine.job_async(later.id)).state == "ready"
        run = await jobs_engine.start_workflow_async("aio/one", {"n": 2**32})
        doomed = await jobs_engine.start_workflow_async("aio/one", {"n": 5})
        await jobs_engine.cancel_workflow_async(doomed.id)
        assert (await jobs_engine.drain_async(["q", "default"]))["completed"] == 3
        assert [job.output for job in await jobs_engine.jobs_async(queue="q")] == [16, 9]
        assert (await jobs_engine.workflow_async(run.id)).step("s").result == 2**64
        assert [r.state for r in await jobs_engine.workflows_async("aio/one")] == ["cancelled", "completed"]
        await jobs_engine.replay_async(run.id, "s")
        await jobs_engine.drain_async()
        assert (await jobs_engine.wait_workflow_async(run.id, timeout=30)).step("s").result == 2**64
        stats = await jobs_engine.stats_async()
        assert stats["by_state"]["completed"] == 4
        with pytest.raises(cogwork.WorkflowNotFoundError):
            await jobs_engine.workflow_async(424242)

    asyncio.run(main())


def test_retry_step_and_resolve_step_async(jobs_engine):
    attempts = []

    def fragile(step):
        attempts.append(step.attempt)
        if len(attempts) == 1:
            raise ValueError("first time")
        return "fine"

    jobs_engine.add_handler("fragile", fragile)
    jobs_engine.add_handler("after", lambda step: step.results["f"])
    steps = [{"name": "f", "handler": "fragile", "retry": {"max_attempts": 1}}, {"name": "g", "handler": "after", "depends_on": ["f"]}]
    template = {"namespace": "aio", "name": "fragile", "version": "1.0.0", "steps": steps}
    jobs_engine.define_workflow(template)

    async def main():
        run = await jobs_engine.start_workflow_async("aio/fragile", {})
        await jobs_engine.drain_async()
        assert (await jobs_engine.workflow_async(run.id)).state == "failed"
        await jobs_engine.retry_step_async(run.id, "f")
        await jobs_engine.drain_async()
        assert (await jobs_engine.workflow_async(run.id)).step("g").result == "fine"
        other = await jobs_engine.start_workflow_async("aio/fragile", {})
        attempts.clear()
        await jobs_engine.drain_async()
        await jobs_engine.resolve_step_async(other.id, "f", {"by": "hand"})
        await jobs_engine.drain_async()
        return await jobs_engine.workflow_async(other.id)

    resolved = asyncio.run(main())
    assert (resolved.state, resolved.step("g").result) == ("completed", {"by": "hand"})


def test_coroutine_handlers_run_on_the_loop_the_engine_was_started_from(jobs_engine):
    seen = []

    @jobs_engine.handler("where")
    async def where(job):
        seen.append((asyncio.get_running_loop(), threading.current_thread().name))
        return job.input

    async def main():
        jobs_engine.enqueue("where", 1)
        await jobs_engine.drain_async()
        jobs_engine.start()
        job = await jobs_engine.enqueue_async("where", 2)
        while (await jobs_engine.job_async(job.id)).state != "completed":
            await asyncio.sleep(0.01)
        jobs_engine.stop()
        return asyncio.get_running_loop()

    loop = asyncio.run(main())
    assert [seen_loop is loop for seen_loop, _ in seen] == [True, True]
    assert all(thread == "MainThread" for _, thread in seen)
    # Without a running loop, the handler threads own theirs.
    jobs_engine.enqueue("where", 3)
    jobs_engine.drain()
    own_loop, thread = seen[2]
    assert own_loop is not loop and thread.startswith("cogwork-handler-")


def test_a_caller_loop_that_stops_first_fails_the_coroutines_instead_of_hanging(jobs_engine):
    started = threading.Event()

    @jobs_engine.handler("stuck")
    async def stuck(job):
        started.set()
        await asyncio.sleep(3600)

    async def main():
        jobs_engine.start()
        id = (await jobs_engine.enqueue_async("stuck", {}, max_attempts=1)).id
        while not started.is_set():
            await asyncio.sleep(0.01)
        return id  # asyncio.run cancels the handler's coroutine and closes the loop

    id = asyncio.run(main())
    while jobs_engine.job(id).state == "running":
        time.sleep(0.01)
    jobs_engine.stop()
    job = jobs_engine.job(id)
    assert (job.state, job.error["class"]) == ("dead", "RuntimeError")
    assert "the event loop the engine was started from stopped before this coroutine finished" in job.error["message"]


def test_cancelling_drain_async_hands_the_running_job_back_and_frees_its_worker(task_sources, database):
    with cogwork.Engine(tasks=task_sources, database=database, workers=1) as engine:
        job = engine.enqueue("forever", {}, timeout=300)

        async def main():
            drain = asyncio.ensure_future(engine.drain_async(stop_timeout=0.2))
            while (await engine.job_async(job.id)).state != "running":
                await asyncio.sleep(0.01)
            drain.cancel()
            with pytest.raises(asyncio.CancelledError):
                await drain
            while (await engine.job_async(job.id)).state != "ready":
                await asyncio.sleep(0.05)

        asyncio.run(main())
        assert [attempt.state for attempt in engine.job(job.id).attempts] == ["released"]
        assert engine.run("echo", {"after": "cancel"}, timeout=30) == {"after": "cancel"}


def test_stop_called_on_the_handlers_loop_fails_its_running_coroutines_instead_of_deadlocking(jobs_engine):
    started = threading.Event()

    @jobs_engine.handler("slow")
    async def slow(job):
        started.set()
        await asyncio.sleep(3600)

    async def main():
        jobs_engine.start(stop_timeout=60)
        job = await jobs_engine.enqueue_async("slow", {}, max_attempts=2)
        while not started.is_set():
            await asyncio.sleep(0.01)
        return job.id, jobs_engine.stop()  # blocks this loop, which runs `slow`

    id, progress = asyncio.run(main())
    assert (progress["failed"], progress["released"]) == (1, 0)
    job = jobs_engine.job(id)
    assert (job.state, job.attempts[0].error["class"]) == ("retrying", "RuntimeError")
    assert "the event loop the engine was started from was blocked stopping the engine" in job.attempts[0].error["message"]


def test_every_awaitable_variant_takes_what_its_method_takes_and_names_it():
    twins = [name for name in dir(cogwork.Engine) if name.endswith("_async") and not name.startswith("_")]
    assert len(twins) == 23
    for twin in twins:
        method, variant = getattr(cogwork.Engine, twin.removesuffix("_async")), getattr(cogwork.Engine, twin)
        assert inspect.iscoroutinefunction(variant) and not inspect.iscoroutinefunction(method), twin
        assert inspect.signature(variant) == inspect.signature(method), twin
        assert (method.__qualname__, variant.__qualname__) == (f"Engine.{method.__name__}", f"Engine.{twin}")
        assert method.__doc__ and variant.__doc__.startswith(f":meth:`{method.__name__}` for asyncio"), twin
    assert str(inspect.signature(cogwork.Engine.jobs_async).return_annotation) == "list[Job]"
