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
