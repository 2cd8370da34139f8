"""The test hooks of the engine's clock: Engine(clock="manual"), now() and advance()."""

import datetime
import time

import pytest

import cogwork

UTC = datetime.timezone.utc


def test_a_manual_clock_starts_now_and_moves_only_when_advanced(task_sources, database):
    before = datetime.datetime.now(UTC)
    with cogwork.Engine(tasks=task_sources, database=database, workers=1, clock="manual") as engine:
        start = engine.now()
        assert start.tzinfo is UTC and before <= start <= datetime.datetime.now(UTC)
        time.sleep(0.02)
        assert engine.now() == start
        engine.advance(90)
        engine.advance(datetime.timedelta(hours=1, microseconds=1))
        engine.advance(0.5)
        assert engine.now() - start == datetime.timedelta(hours=1, seconds=90.5, microseconds=1)
        job = engine.enqueue("addition", {"num1": 1, "num2": 2}, delay=30)
        assert (job.created_at, job.run_at) == (engine.now(), engine.now() + datetime.timedelta(seconds=30))
        with pytest.raises(ValueError, match="advance"):
            engine.advance(-1)


def test_a_system_clock_engine_refuses_advance_and_reports_the_real_time(jobs_engine):
    assert abs(jobs_engine.now() - datetime.datetime.now(UTC)) < datetime.timedelta(seconds=5)
    with pytest.raises(cogwork.ConfigurationError, match=r'this engine runs on the system clock; open it with Engine\(clock="manual"\)'):
        jobs_engine.advance(1)
    with pytest.raises(ValueError, match="clock must be 'system' or 'manual', not 'fake'"):
        cogwork.Engine(clock="fake")


def test_a_retry_runs_once_the_manual_clock_passes_its_backoff(task_sources, database):
    with cogwork.Engine(tasks=task_sources, database=database, workers=1, clock="manual", backoff=(60, 60)) as engine:
        calls = []

        @engine.handler("flaky")
        def flaky(job: cogwork.HandlerJob) -> str:
            calls.append(job.attempt)
            if job.attempt == 1:
                raise ConnectionError("try again")
            return "recovered"

        id = engine.enqueue("flaky", {}).id
        assert engine.drain()["failed"] == 1
        job = engine.job(id)
        assert job.state == "retrying" and job.run_at > engine.now()
        assert engine.drain()["completed"] == 0  # not due yet: the clock has not moved
        engine.advance(job.run_at - engine.now())
        assert engine.drain()["completed"] == 1
        assert (engine.job(id).state, engine.job(id).output, calls) == ("completed", "recovered", [1, 2])


PARIS = {"url": "weather.example.com/v1/current?city=Paris", "method": "GET", "response": {"temperature_c": 20}}
OSLO = {"url": "weather.example.com/v1/current?city=Oslo", "method": "GET", "response": {"temperature_c": -5}}


def test_engine_http_mocks_answer_runs_jobs_and_workflow_steps_until_cleared(jobs_engine):
    jobs_engine.mock_http([PARIS, OSLO])
    assert jobs_engine.run("weather", {"city": "Oslo"}) == {"city": "Oslo", "celsius": -5, "fahrenheit": 23}
    # A run's own mocks come first.
    assert jobs_engine.run("weather", {"city": "Paris"}, mocks={**PARIS, "response": {"temperature_c": 30}})["celsius"] == 30
    job = jobs_engine.enqueue("weather", {"city": "Paris"})
    jobs_engine.add_handler("describe", lambda step: f"{step.results['weather']['celsius']} degrees")
    steps = [{"name": "weather", "task": "weather", "input": {"city": "Oslo"}}, {"name": "describe", "handler": "describe", "depends_on": ["weather"]}]
    jobs_engine.define_workflow({"namespace": "mock", "name": "forecast", "version": "1.0.0", "steps": steps})
    run = jobs_engine.start_workflow("mock/forecast", {})
    jobs_engine.drain()
    assert jobs_engine.job(job.id).output == {"city": "Paris", "celsius": 20, "fahrenheit": 68}
    assert jobs_engine.workflow(run.id).step("describe").result == "-5 degrees"
    jobs_engine.mock_http(PARIS)  # replaces the list
    with pytest.raises(cogwork.TaskFailedError, match="Oslo"):
        jobs_engine.run("weather", {"city": "Oslo"})
    jobs_engine.clear_http_mocks()
    with pytest.raises(cogwork.TaskFailedError):
        jobs_engine.run("weather", {"city": "Paris"})  # no mock, and fetch_allow lets nothing out
    with pytest.raises(ValueError, match="url"):
        jobs_engine.mock_http([{"method": "GET"}])
