"""Event subscribers on threads the engine owns (`@engine.on`)."""

import logging
import threading

import pytest

import cogwork


def test_a_subscriber_hears_the_events_it_names_in_order(task_sources, database):
    heard = []
    with cogwork.Engine(tasks=task_sources, database=database, workers=1, backoff=(0, 0)) as engine:
        engine.add_handler("flaky", lambda job: job.attempt if job.attempt > 1 else 1 / 0)

        @engine.on("job.*")
        def hear(event):
            heard.append((event.name, event.job_id, event.attempt, event.target, event.detail, threading.current_thread().name))

        id = engine.enqueue("flaky", {}).id
        engine.drain()
    names = [name for name, *_ in heard]
    assert names == ["job.enqueued", "job.started", "job.failed", "job.retrying", "job.started", "job.completed"]
    assert {job_id for _, job_id, *_ in heard} == {id}
    assert heard[-1][2:5] == (2, "flaky", 2)
    assert heard[2][4]["class"] == "ZeroDivisionError"
    assert all(thread.startswith("cogwork-events-") for *_, thread in heard)


def test_subscribers_hear_a_workflow_and_its_steps(jobs_engine):
    runs, steps = [], []
    jobs_engine.add_handler("one", lambda step: 1)
    jobs_engine.define_workflow({"namespace": "ev", "name": "w", "version": "2.0.0", "steps": [{"name": "s", "handler": "one"}]})
    jobs_engine.on("workflow.*")(lambda event: runs.append((event.name, event.workflow, event.run_id)))
    jobs_engine.on("step.completed")(lambda event: steps.append((event.name, event.step, event.detail)))
    id = jobs_engine.start_workflow("ev/w", {}).id
    jobs_engine.drain()
    jobs_engine.close()
    assert runs == [("workflow.started", "ev/w@2.0.0", id), ("workflow.completed", "ev/w@2.0.0", id)]
    assert steps == [("step.completed", "s", 1)]


def test_a_failing_subscriber_is_logged_and_hears_the_next_event(jobs_engine, caplog):
    heard = []
    jobs_engine.add_handler("noop", lambda job: None)

    @jobs_engine.on("job.completed")
    def fussy(event):
        heard.append(event.job_id)
        raise RuntimeError("subscriber bug")

    ids = [jobs_engine.enqueue("noop", {}).id, jobs_engine.enqueue("noop", {}).id]
    with caplog.at_level(logging.ERROR, logger="cogwork"):
        jobs_engine.drain()
        jobs_engine.close()
    assert sorted(heard) == sorted(ids)
    failures = [r for r in caplog.records if r.getMessage().endswith("failed on job.completed")]
    assert len(failures) == 2 and str(failures[0].exc_info[1]) == "subscriber bug"


def test_unknown_event_names_raise(jobs_engine):
    with pytest.raises(cogwork.ConfigurationError, match="unknown event `job.finished`"):
        jobs_engine.on("job.finished")
    assert isinstance(cogwork.Event, type)
