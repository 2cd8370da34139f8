"""Defaults from cogwork.yml (and COGWORK_* variables) through the core's Config; arguments win."""

import threading
import time

import pytest

import cogwork
from conftest import ROOT


@pytest.fixture
def configured(tmp_path, monkeypatch):
    """A working directory whose cogwork.yml names a database, the example tasks and one worker."""
    (tmp_path / "cogwork.yml").write_text(
        f"database: sqlite://{tmp_path / 'from-config.db'}\ntasks: [{ROOT / 'examples' / 'tasks'}]\nworkers: 1\n"
    )
    monkeypatch.chdir(tmp_path)
    for name in ("COGWORK_DATABASE", "COGWORK_TASKS", "COGWORK_WORKERS", "COGWORK_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_an_engine_takes_its_defaults_from_cogwork_yml(configured):
    with cogwork.Engine() as engine:
        assert "addition" in {task["label"] for task in engine.tasks}
        engine.enqueue("addition", {"num1": 1, "num2": 2})
    assert (configured / "from-config.db").exists()


def test_arguments_and_the_environment_win_over_the_file(configured, monkeypatch):
    with cogwork.Engine(database=f"sqlite://{configured / 'argument.db'}", tasks=[ROOT / "tests" / "fixtures" / "tasks"]) as engine:
        assert "addition" not in {task["label"] for task in engine.tasks}
        engine.enqueue("echo", {})
    assert (configured / "argument.db").exists() and not (configured / "from-config.db").exists()
    monkeypatch.setenv("COGWORK_DATABASE", f"sqlite://{configured / 'environment.db'}")
    with cogwork.Engine() as engine:
        engine.enqueue("addition", {"num1": 1, "num2": 2})
    assert (configured / "environment.db").exists()


def test_config_names_another_file_and_a_bad_one_is_refused_naming_the_key(tmp_path):
    other = tmp_path / "other.yml"
    other.write_text(f"database: sqlite://{tmp_path / 'other.db'}\ntasks: [{ROOT / 'examples' / 'tasks'}]\n")
    with cogwork.Engine(config=other, in_process=True) as engine:
        assert engine.run("addition", {"num1": 2, "num2": 3}) == {"sum": 5}
        engine.enqueue("addition", {"num1": 1, "num2": 2})
    assert (tmp_path / "other.db").exists()
    other.write_text("databse: sqlite://x.db\n")
    with pytest.raises(cogwork.ConfigurationError, match="databse"):
        cogwork.Engine(config=other)
    with pytest.raises(cogwork.ConfigurationError, match="nonesuch.yml"):
        cogwork.Engine(config=tmp_path / "nonesuch.yml")


def test_drain_works_the_configured_queues_at_their_concurrency(tmp_path, monkeypatch):
    (tmp_path / "cogwork.yml").write_text(f"database: sqlite://{tmp_path / 'q.db'}\nqueues:\n  mail: {{concurrency: 1}}\n  sms: {{}}\n")
    monkeypatch.chdir(tmp_path)
    mailing, most = [0], [0]
    lock = threading.Lock()

    def send(job):
        if job.queue == "mail":
            with lock:
                mailing[0] += 1
                most[0] = max(most[0], mailing[0])
            time.sleep(0.05)
            with lock:
                mailing[0] -= 1
        return job.queue

    with cogwork.Engine(workers=1) as engine:
        engine.add_handler("send", send)
        jobs = engine.enqueue_all([("send", n, {"queue": queue}) for n, queue in enumerate(["mail"] * 4 + ["sms", "default", "elsewhere"])])
        assert engine.drain(threads=4)["completed"] == 6  # not the unconfigured queue's
        assert most[0] == 1
        assert [engine.job(job.id).output for job in jobs] == ["mail"] * 4 + ["sms", "default", None]


def test_the_first_drain_applies_cogwork_yml_schedules_and_rate_limits(tmp_path, monkeypatch):
    (tmp_path / "cogwork.yml").write_text(
        f"database: sqlite://{tmp_path / 'applied.db'}\n"
        "queues:\n  mail: {rate_limit: 1}\n"
        'schedules:\n  - {name: every-minute, cron: "* * * * *", target: tick, input: {n: 1}}\n'
    )
    monkeypatch.chdir(tmp_path)
    with cogwork.Engine(workers=1, clock="manual") as engine:
        engine.add_handler("tick", lambda job: job.input["n"] + 1)
        engine.add_handler("send", lambda job: job.input)
        assert engine.schedules() == []  # the file is applied when the engine first works
        engine.enqueue_all([("send", n, {"queue": "mail"}) for n in range(3)])
        assert engine.drain("mail")["completed"] == 1  # one a second, and the clock stands still
        [schedule] = engine.schedules()
        assert (schedule.name, schedule.target, schedule.input, schedule.last_tick) == ("every-minute", "tick", {"n": 1}, None)
        engine.advance(schedule.next_tick - engine.now())
        assert engine.drain("default") == {"completed": 1, "failed": 0, "dead": 0, "released": 0, "errors": 0}
        [tick] = engine.jobs(target="tick")
        assert (tick.output, tick.run_at) == (2, schedule.next_tick)
        engine.advance(1)
        assert engine.drain("mail")["completed"] == 1  # a second on: one more
        engine.set_schedule_enabled("every-minute", False)
        engine.drain()  # applied once: the program's pause holds
        assert [s.enabled for s in engine.schedules()] == [False]


def test_start_applies_cogwork_yml_and_a_schedule_whose_handler_is_missing_is_refused(tmp_path, monkeypatch):
    (tmp_path / "cogwork.yml").write_text(
        f"database: sqlite://{tmp_path / 'missing.db'}\n"
        'schedules:\n  - {name: nightly, cron: "0 3 * * *", target: report}\n'
    )
    monkeypatch.chdir(tmp_path)
    with cogwork.Engine(workers=1) as engine:
        with pytest.raises(cogwork.TaskNotFoundError, match="report"):
            engine.start()
        engine.add_handler("report", lambda job: None)
        engine.start()
        engine.stop()
        assert [s.name for s in engine.schedules()] == ["nightly"]


def test_an_engine_told_not_to_apply_the_file_leaves_its_database_alone(tmp_path, monkeypatch):
    (tmp_path / "cogwork.yml").write_text(
        "queues:\n  mail: {rate_limit: 1}\n" 'schedules:\n  - {name: nightly, cron: "0 3 * * *", target: report}\n'
    )
    monkeypatch.chdir(tmp_path)
    with cogwork.Engine(database="sqlite::memory:", workers=1, clock="manual", apply_config=False) as engine:
        engine.add_handler("send", lambda job: job.input)
        engine.enqueue_all([("send", n, {"queue": "mail"}) for n in range(3)])
        assert engine.drain("mail")["completed"] == 3  # no rate limit, and no `report` handler needed
        assert engine.schedules() == []
