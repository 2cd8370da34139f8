"""Awaitable variants of the job and workflow calls, driven by the core runtime."""

import asyncio
import threading

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
