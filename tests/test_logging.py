"""What the engine does, logged through logging.getLogger("cogwork") from its events."""

import logging

import pytest

import cogwork

FIELDS = ("job_id", "target", "queue", "attempt", "run_id", "step", "duration_ms")


def fields(record):
    return {name: getattr(record, name) for name in FIELDS}


def cogwork_records(caplog, level):
    return [r for r in caplog.records if r.name == "cogwork" and r.levelno == level]


def test_failures_and_retries_are_warnings_and_completions_debug_with_extra_fields(task_sources, database, caplog):
    with caplog.at_level(logging.DEBUG, logger="cogwork"):
        with cogwork.Engine(tasks=task_sources, database=database, workers=1, backoff=(0, 0)) as engine:

            @engine.handler("flaky")
            def flaky(job):
                if job.attempt == 1:
                    raise KeyError("missing")
                return "ok"

            job = engine.enqueue("flaky", {}, queue="mail", max_attempts=2)
            engine.drain("mail")
    warnings = cogwork_records(caplog, logging.WARNING)
    assert [r.getMessage() for r in warnings] == [
        f"flaky: job {job.id}: attempt 1 failed: KeyError: 'missing'",
        f"flaky: job {job.id} will be retried after attempt 1",
    ]
    [completed] = cogwork_records(caplog, logging.DEBUG)
    assert completed.getMessage() == f"flaky: job {job.id} completed on attempt 2"
    assert {**fields(completed), "duration_ms": None} == {"job_id": job.id, "target": "flaky", "queue": "mail", "attempt": 2, "run_id": None, "step": None, "duration_ms": None}
    assert 0 <= completed.duration_ms < 60_000 and 0 <= warnings[0].duration_ms < 60_000
    assert warnings[1].duration_ms is None  # a retry is not an attempt of its own


def test_a_javascript_job_that_dies_and_a_failed_run_are_warnings(task_sources, database, caplog):
    with caplog.at_level(logging.WARNING, logger="cogwork"):
        with cogwork.Engine(tasks=task_sources, database=database, workers=1) as engine:
            job = engine.enqueue("flaky", {"amount": 5}, max_attempts=1)
            engine.add_handler("boom", lambda step: 1 / 0)
            template = {"namespace": "log", "name": "w", "version": "1.0.0", "steps": [{"name": "s", "handler": "boom", "retry": {"max_attempts": 1}}]}
            engine.define_workflow(template)
            run = engine.start_workflow("log/w", {})
            engine.drain()
    messages = {r.getMessage(): fields(r) for r in cogwork_records(caplog, logging.WARNING)}
    assert messages[f"flaky: job {job.id}: attempt 1 failed: RateLimitError: slow down"]["queue"] == "default"
    assert messages[f"flaky: job {job.id} is dead after attempt 1"]["duration_ms"] is None  # DEBUG was off
    step = messages[f"step s of run {run.id} (log/w@1.0.0) failed: ZeroDivisionError: division by zero"]
    assert (step["run_id"], step["step"], step["attempt"]) == (run.id, "s", 1)
    assert f"run {run.id} (log/w@1.0.0) failed" in messages
    assert not cogwork_records(caplog, logging.DEBUG)


def test_an_engine_opened_with_the_logger_off_subscribes_to_nothing(task_sources, database, caplog):
    logger = logging.getLogger("cogwork")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with cogwork.Engine(tasks=task_sources, database=database, workers=1) as engine:
            engine.enqueue("charge", {"amount": 5}, max_attempts=1)
            logger.setLevel(logging.DEBUG)  # too late: levels are looked at when it opens
            engine.drain()
    finally:
        logger.setLevel(previous)
    assert not [r for r in caplog.records if r.name == "cogwork"]


def test_at_warning_the_engine_subscribes_to_the_failures_alone_handler_or_not(task_sources, database, monkeypatch):
    # As in a script that never configured logging: no handler on "cogwork" or its ancestors,
    # the level WARNING (the root's default), so failures reach logging's last resort.
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    logger = logging.getLogger("cogwork")
    received = []
    late = logging.Handler()
    late.emit = received.append
    with cogwork.Engine(tasks=task_sources, database=database, workers=1) as engine:
        engine.add_handler("fine", lambda job: "ok")
        engine.add_handler("boom", lambda job: 1 / 0)
        previous = logger.level
        logger.addHandler(late)
        logger.setLevel(logging.DEBUG)  # too late for completions: looked at when it opened
        try:
            _, boom = engine.enqueue_all([("fine", {}), ("boom", {}, {"max_attempts": 1})])
            assert engine.drain()["completed"] == 1
        finally:
            logger.removeHandler(late)
            logger.setLevel(previous)
    assert [(r.levelno, r.getMessage()) for r in received] == [
        (logging.WARNING, f"boom: job {boom.id}: attempt 1 failed: ZeroDivisionError: division by zero"),
        (logging.WARNING, f"boom: job {boom.id} is dead after attempt 1"),
    ]
