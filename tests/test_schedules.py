"""Cron schedules kept in the database, and ticks made due by a manual clock."""

import asyncio
import datetime

import pytest

import cogwork

UTC = datetime.timezone.utc


@pytest.fixture
def manual_engine(task_sources, database):
    """A jobs engine on a manual clock, failed attempts retried after 1 s of its time."""
    with cogwork.Engine(tasks=task_sources, database=database, workers=1, clock="manual", backoff=(1, 1)) as engine:
        yield engine


def test_schedule_adds_lists_pauses_and_removes_schedules(jobs_engine):
    jobs_engine.add_handler("report", lambda job: None)
    jobs_engine.schedule("nightly", "0 3 * * *", "report", {"day": "today"}, timezone="Europe/Paris", queue="reports", priority=2, max_attempts=5, missed="run_once")
    jobs_engine.schedule("hourly", "0 * * * *", "addition", {"num1": 1, "num2": 2})
    hourly, nightly = jobs_engine.schedules()
    assert isinstance(nightly, cogwork.Schedule)
    assert (nightly.name, nightly.cron, nightly.timezone, nightly.target, nightly.input) == ("nightly", "0 3 * * *", "Europe/Paris", "report", {"day": "today"})
    assert (nightly.queue, nightly.priority, nightly.max_attempts, nightly.missed, nightly.enabled) == ("reports", 2, 5, "run_once", True)
    assert nightly.last_tick is None and nightly.next_tick > nightly.created_at
    assert nightly.next_tick.astimezone(datetime.timezone(datetime.timedelta(hours=1))).hour in (3, 4)  # 03:00 Paris
    assert (hourly.timezone, hourly.queue, hourly.missed, hourly.next_tick.minute, hourly.next_tick.tzinfo) == ("UTC", "default", "skip", 0, UTC)
    assert jobs_engine.set_schedule_enabled("hourly", False) is True
    assert [s.enabled for s in jobs_engine.schedules()] == [False, True]
    assert jobs_engine.set_schedule_enabled("nonesuch", True) is False
    assert jobs_engine.remove_schedule("hourly") is True
    assert jobs_engine.remove_schedule("hourly") is False
    assert [s.name for s in jobs_engine.schedules()] == ["nightly"]


def test_a_bad_schedule_is_refused_naming_what_is_wrong(jobs_engine):
    with pytest.raises(cogwork.ConfigurationError, match="every minute"):
        jobs_engine.schedule("bad", "every minute", "addition", {"num1": 1, "num2": 2})
    with pytest.raises(cogwork.ConfigurationError, match="Mars/Olympus"):
        jobs_engine.schedule("bad", "* * * * *", "addition", {"num1": 1, "num2": 2}, timezone="Mars/Olympus")
    with pytest.raises(cogwork.ConfigurationError, match="unknown missed-tick policy `sometimes`"):
        jobs_engine.schedule("bad", "* * * * *", "addition", {"num1": 1, "num2": 2}, missed="sometimes")
    with pytest.raises(cogwork.TaskNotFoundError):
        jobs_engine.schedule("bad", "* * * * *", "nonesuch")
    with pytest.raises(cogwork.InvalidInputError):
        jobs_engine.schedule("bad", "* * * * *", "addition", {"num1": "one"})
    with pytest.raises(TypeError, match="the job option `priority` cannot be 'high'"):
        jobs_engine.schedule("bad", "* * * * *", "addition", {"num1": 1, "num2": 2}, priority="high")  # type: ignore[arg-type]
    assert jobs_engine.schedules() == []


def test_a_cron_tick_falls_due_when_the_manual_clock_reaches_it(manual_engine):
    ran = []
    manual_engine.add_handler("tick", lambda job: ran.append(job.input) or "ticked")
    manual_engine.schedule("every-minute", "* * * * *", "tick", {"n": 2**64})
    [schedule] = manual_engine.schedules()
    assert manual_engine.drain() == {"completed": 0, "failed": 0, "dead": 0, "released": 0, "errors": 0}
    manual_engine.advance(schedule.next_tick - manual_engine.now())
    assert manual_engine.drain()["completed"] == 1
    [job] = manual_engine.jobs(target="tick")
    assert (job.output, job.run_at, ran) == ("ticked", schedule.next_tick, [{"n": 2**64}])
    assert manual_engine.schedules()[0].last_tick == schedule.next_tick


def test_the_schedule_calls_have_awaitable_variants(jobs_engine):
    async def main():
        await jobs_engine.schedule_async("hourly", "0 * * * *", "addition", {"num1": 1, "num2": 2}, queue="sums")
        [schedule] = await jobs_engine.schedules_async()
        paused = await jobs_engine.set_schedule_enabled_async("hourly", False)
        listed = await jobs_engine.schedules_async()
        return schedule, paused, listed, await jobs_engine.remove_schedule_async("hourly"), await jobs_engine.remove_schedule_async("hourly")

    schedule, paused, listed, removed, again = asyncio.run(main())
    assert (schedule.name, schedule.queue, schedule.enabled) == ("hourly", "sums", True)
    assert (paused, [s.enabled for s in listed], removed, again) == (True, [False], True, False)
    assert jobs_engine.schedules() == []
