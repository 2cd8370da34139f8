"""Durable jobs in a real SQLite file: enqueue, inspect, list, cancel, retry, stats, close."""

import dataclasses
import datetime

import pytest

import cogwork
from conftest import in_child

UTC = datetime.timezone.utc


def test_a_task_job_runs_on_drain_and_keeps_its_output_and_attempt(jobs_engine):
    id = jobs_engine.enqueue("addition", {"num1": 2, "num2": 3}).id
    assert jobs_engine.job(id).state == "ready"
    assert jobs_engine.drain() == {"completed": 1, "failed": 0, "dead": 0, "released": 0, "errors": 0}
    job = jobs_engine.job(id)
    assert isinstance(job, cogwork.Job)
    assert (job.state, job.target, job.queue, job.output, job.error) == ("completed", "addition", "default", {"sum": 5}, None)
    assert (job.attempt, job.max_attempts, job.input) == (1, 3, {"num1": 2, "num2": 3})
    [attempt] = job.attempts
    assert (attempt.number, attempt.state, attempt.output, attempt.error) == (1, "completed", {"sum": 5}, None)
    assert attempt.worker and attempt.node
    assert job.created_at.tzinfo is UTC and job.created_at <= attempt.started_at <= attempt.finished_at == job.finished_at
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.state = "ready"


def test_enqueue_returns_the_job_as_stored_and_enqueue_all_every_job_in_order(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    at = datetime.datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=UTC)
    job = jobs_engine.enqueue("noop", {"at": at, "n": 2**70}, queue="mail", priority=4)
    assert isinstance(job, cogwork.Job)
    assert (job.state, job.target, job.queue, job.priority, job.attempt, job.attempts) == ("ready", "noop", "mail", 4, 0, ())
    assert job.input == {"at": "2026-03-04T05:06:07.000890Z", "n": 2**70}
    # Built from what was inserted, not read back: its times are the enqueuer's clock
    # reading, within microseconds of the stored ones.
    stored = jobs_engine.job(job.id)
    assert dataclasses.replace(job, run_at=stored.run_at, created_at=stored.created_at, updated_at=stored.updated_at) == stored
    assert abs(job.created_at - stored.created_at) < datetime.timedelta(seconds=1)
    jobs = jobs_engine.enqueue_all([("noop", 1), ("noop", 2, {"delay": 60})])
    assert [(j.input, j.state) for j in jobs] == [(1, "ready"), (2, "scheduled")]
    assert [j.id for j in jobs] == [job.id + 1, job.id + 2]


def test_a_handler_job_keeps_integers_of_any_size_exact(jobs_engine):
    jobs_engine.add_handler("power", lambda job: {"value": job.input["base"] ** job.input["exponent"]})
    id = jobs_engine.enqueue("power", {"base": 2, "exponent": 100}).id
    jobs_engine.drain()
    assert jobs_engine.job(id).output == {"value": 2**100}
    assert type(jobs_engine.job(id).output["value"]) is int


def test_enqueue_options_set_queue_priority_attempts_and_keys(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    id = jobs_engine.enqueue("noop", {}, queue="mail", priority=7, max_attempts=5, unique_key="k1", timeout=10).id
    job = jobs_engine.job(id)
    assert (job.queue, job.priority, job.max_attempts, job.unique_key, job.state) == ("mail", 7, 5, "k1", "ready")
    assert jobs_engine.enqueue("noop", {}, queue="mail", unique_key="k1").id == id
    assert jobs_engine.drain() == {"completed": 0, "failed": 0, "dead": 0, "released": 0, "errors": 0}
    assert jobs_engine.drain("mail")["completed"] == 1
    assert jobs_engine.enqueue("noop", {}, queue="mail", unique_key="k1").id != id


@pytest.mark.parametrize(
    "when",
    [
        lambda now: {"delay": datetime.timedelta(hours=1)},
        lambda now: {"delay": 3600},
        lambda now: {"delay": 3600.0},
        lambda now: {"run_at": now + datetime.timedelta(hours=1)},
        lambda now: {"run_at": datetime.datetime.fromtimestamp(now.timestamp()) + datetime.timedelta(hours=1)},  # naive: local
        lambda now: {"run_at": now.timestamp() + 3600},
        lambda now: {"run_at": int(now.timestamp()) + 3600},
    ],
)
def test_a_delayed_job_is_scheduled_and_left_by_drain(jobs_engine, when):
    jobs_engine.add_handler("noop", lambda job: None)
    id = jobs_engine.enqueue("noop", {}, **when(datetime.datetime.now(UTC))).id
    job = jobs_engine.job(id)
    assert job.state == "scheduled"
    assert abs((job.run_at - job.created_at) - datetime.timedelta(hours=1)) < datetime.timedelta(seconds=5)
    assert jobs_engine.drain()["completed"] == 0
    assert jobs_engine.job(id).state == "scheduled"


def test_enqueue_all_enqueues_every_job_with_shared_and_own_options(jobs_engine):
    jobs_engine.add_handler("double", lambda job: job.input * 2)
    ids = [job.id for job in jobs_engine.enqueue_all([("double", 1), ("double", 2, {"queue": "other"}), ("addition", {"num1": 1, "num2": 1})], priority=3)]
    assert len(set(ids)) == 3
    assert [jobs_engine.job(id).priority for id in ids] == [3, 3, 3]
    assert [jobs_engine.job(id).queue for id in ids] == ["default", "other", "default"]
    jobs_engine.drain(["default", "other"])
    assert [jobs_engine.job(id).output for id in ids] == [2, 4, {"sum": 2}]


def test_enqueue_all_enqueues_nothing_when_one_job_is_invalid(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    with pytest.raises(cogwork.InvalidInputError):
        jobs_engine.enqueue_all([("noop", {}), ("addition", {"num1": "one"})])
    assert jobs_engine.jobs() == []


def test_jobs_lists_newest_first_filtered_by_state_queue_and_target(jobs_engine):
    jobs_engine.add_handler("a", lambda job: None)
    jobs_engine.add_handler("b", lambda job: None)
    first = jobs_engine.enqueue("a", 1).id
    second = jobs_engine.enqueue("b", 2, queue="q").id
    third = jobs_engine.enqueue("a", 3, delay=3600).id
    assert [job.id for job in jobs_engine.jobs()] == [third, second, first]
    assert [job.id for job in jobs_engine.jobs("ready")] == [second, first]
    assert [job.id for job in jobs_engine.jobs(["ready", "scheduled"], target="a")] == [third, first]
    assert [job.id for job in jobs_engine.jobs(queue="q")] == [second]
    assert [job.id for job in jobs_engine.jobs(limit=1)] == [third]
    with pytest.raises(ValueError, match="unknown job state `finished`"):
        jobs_engine.jobs("finished")


def test_cancel_and_retry(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: "done")
    id = jobs_engine.enqueue("noop", {}, delay=3600).id
    jobs_engine.cancel(id)
    assert jobs_engine.job(id).state == "cancelled"
    with pytest.raises(cogwork.InvalidJobStateError):
        jobs_engine.cancel(id)
    jobs_engine.retry(id)
    assert jobs_engine.job(id).state == "ready"
    jobs_engine.drain()
    assert (jobs_engine.job(id).state, jobs_engine.job(id).output) == ("completed", "done")
    with pytest.raises(cogwork.InvalidJobStateError):
        jobs_engine.retry(id)


def test_unknown_jobs_raise_job_not_found(jobs_engine):
    for call in (jobs_engine.job, jobs_engine.cancel, jobs_engine.retry):
        with pytest.raises(cogwork.JobNotFoundError):
            call(424242)


def test_stats_count_by_state_and_by_queue(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    jobs_engine.enqueue("noop", {})
    jobs_engine.enqueue("noop", {})
    jobs_engine.enqueue("noop", {}, queue="later", delay=3600)
    jobs_engine.drain()
    stats = jobs_engine.stats()
    zero = {state: 0 for state in ("scheduled", "ready", "running", "completed", "retrying", "dead", "cancelled")}
    assert stats["by_state"] == {**zero, "completed": 2, "scheduled": 1}
    assert stats["by_queue"] == {"default": {**zero, "completed": 2}, "later": {**zero, "scheduled": 1}}
    assert (stats["completed"], stats["failed"]) == (2, 0)


def test_bad_enqueue_arguments_raise_naming_them(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    with pytest.raises(TypeError, match="^unknown job option 'priorty'; the options are queue, priority, run_at, delay"):
        jobs_engine.enqueue("noop", {}, priorty=1)
    with pytest.raises(TypeError, match="^unknown job option 'qeue'"):
        jobs_engine.enqueue_all([("noop", {}, {"qeue": "mail"})])
    with pytest.raises(TypeError, match="delay must be a timedelta or a number of seconds, not str"):
        jobs_engine.enqueue("noop", {}, delay="soon")
    with pytest.raises(ValueError, match="delay"):
        jobs_engine.enqueue("noop", {}, delay=-1)
    with pytest.raises(TypeError, match="the job option `priority` cannot be 'high'"):
        jobs_engine.enqueue("noop", {}, priority="high")
    with pytest.raises(TypeError, match="the job option `queue` cannot be 3"):
        jobs_engine.enqueue_all([("noop", {}, {"queue": 3})])
    with pytest.raises(TypeError, match=r"input\.when"):
        jobs_engine.enqueue("noop", {"when": datetime.date.today()})
    with pytest.raises(cogwork.TaskNotFoundError, match="noop"):
        jobs_engine.enqueue("nop", {})
    with pytest.raises(cogwork.InvalidInputError):
        jobs_engine.enqueue("addition", {"num1": "two"})
    assert jobs_engine.jobs() == []


def test_an_engine_used_after_close_raises_engine_closed(task_sources, database):
    engine = cogwork.Engine(tasks=task_sources, database=database, workers=1)
    engine.add_handler("noop", lambda job: None)
    id = engine.enqueue("noop", {}).id
    engine.close()
    engine.close()
    for call in (lambda: engine.enqueue("noop", {}), lambda: engine.job(id), engine.drain, lambda: engine.stats()):
        with pytest.raises(cogwork.EngineClosedError, match="closed"):
            call()


def test_jobs_survive_the_engine_in_the_database_file(task_sources, database):
    with cogwork.Engine(tasks=task_sources, database=database, workers=1) as first:
        first.add_handler("noop", lambda job: "later")
        id = first.enqueue("noop", {"n": 2**64}).id
    with cogwork.Engine(tasks=task_sources, database=database, workers=1) as second:
        second.add_handler("noop", lambda job: job.input["n"] + 1)
        assert second.job(id).state == "ready"
        second.drain()
        assert second.job(id).output == 2**64 + 1


def test_a_forked_child_gets_engine_closed_from_the_parents_engine_and_can_open_its_own(jobs_engine, task_sources, database):
    jobs_engine.add_handler("noop", lambda job: "parent")
    id = jobs_engine.enqueue("noop", {}).id

    def body():
        reports = []
        for call in (lambda: jobs_engine.job(id), jobs_engine.drain, lambda: jobs_engine.enqueue("noop", {})):
            try:
                call()
                reports.append("ran")
            except cogwork.EngineClosedError as error:
                reports.append("fork" in str(error))
        with cogwork.Engine(tasks=task_sources, database=database, workers=1) as own:
            own.add_handler("noop", lambda job: "child")
            own.drain()
            reports.append(own.job(id).output)
        return repr(reports)

    assert in_child(body) == "[True, True, True, 'child']"
    assert jobs_engine.job(id).output == "child"
