"""Faults, with real threads, signals and processes: handlers that hang, Ctrl-C during
blocking calls (and, in test_handlers.py, SIGINT and SIGTERM stopping work), an engine used after close, fork through multiprocessing, and the GIL
released while the engine blocks."""

import inspect
import logging
import multiprocessing
import os
import signal
import threading
import time

import pytest

import cogwork
from conftest import in_child


def wait_until(predicate, seconds=30):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "the engine never got there"
        time.sleep(0.02)


def sigint_in(seconds):
    """SIGINT to this very process after ``seconds``, as Ctrl-C would send it."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_a_handler_that_hangs_past_its_timeout_is_recorded_while_other_threads_serve(jobs_engine):
    release, threads = threading.Event(), {}

    def hang(job):
        threads["hang"] = threading.current_thread().name
        release.wait(30)
        return "too late"

    jobs_engine.add_handler("hang", hang)
    jobs_engine.add_handler("noop", lambda job: threads.setdefault("noop", set()).add(threading.current_thread().name) or job.input)
    jobs_engine.start(threads=2)
    try:
        hung = jobs_engine.enqueue("hang", {}, timeout=0.5, max_attempts=1)
        wait_until(lambda: "hang" in threads)
        served = jobs_engine.enqueue_all([("noop", n) for n in range(5)])
        wait_until(lambda: jobs_engine.job(hung.id).state == "dead")
        wait_until(lambda: all(jobs_engine.job(job.id).state == "completed" for job in served))
        assert not release.is_set()  # all this while the handler still hangs
        assert threads["noop"] == {name for name in threads["noop"] if name != threads["hang"]}  # never its thread
        assert jobs_engine.job(hung.id).error == {"kind": "engine", "name": "Timeout", "message": "handler `hang` did not return within 0.500s"}
        release.set()
        after = jobs_engine.enqueue("noop", "after")
        wait_until(lambda: jobs_engine.job(after.id).state == "completed")
    finally:
        release.set()
        jobs_engine.stop()
    assert (jobs_engine.job(hung.id).state, jobs_engine.job(hung.id).output) == ("dead", None)  # its late result is ignored


def test_a_burst_behind_a_hanging_handler_is_shared_and_its_no_ops_complete(jobs_engine):
    # Two idle threads share the burst (3 jobs each): the no-ops of the other share complete
    # at once; the two handed with the hanging one time out behind it and run again there.
    release = threading.Event()
    jobs_engine.add_handler("hang", lambda job: release.wait(30))
    jobs_engine.add_handler("noop", lambda job: job.input)
    jobs_engine.start(threads=2)
    try:
        hung, *noops = jobs_engine.enqueue_all([("hang", {}, {"timeout": 0.5, "max_attempts": 1})] + [("noop", n, {"timeout": 2}) for n in range(5)])
        wait_until(lambda: all(jobs_engine.job(job.id).state == "completed" for job in noops))
        assert not release.is_set()  # all this while the handler still hangs
        assert [jobs_engine.job(job.id).output for job in noops] == [0, 1, 2, 3, 4]
        assert sorted(len(jobs_engine.job(job.id).attempts) for job in noops) == [1, 1, 1, 2, 2]
        assert jobs_engine.job(hung.id).state == "dead"
    finally:
        release.set()
        jobs_engine.stop()


def test_stop_and_close_return_while_a_handler_hangs_leaving_its_thread_to_finish(task_sources, database, caplog):
    release, finished = threading.Event(), threading.Event()

    def hang(job):
        release.wait(60)
        finished.set()

    engine = cogwork.Engine(tasks=task_sources, database=database, workers=1)
    try:
        engine.add_handler("hang", hang)
        engine.start(threads=1, stop_timeout=0.2)
        job = engine.enqueue("hang", {}, timeout=0.5, max_attempts=1)
        wait_until(lambda: engine.job(job.id).state == "dead")
        with caplog.at_level(logging.WARNING, logger="cogwork"):
            assert engine.stop()["dead"] == 1
        assert not release.is_set() and not finished.is_set()  # stop returned; the handler still runs
        assert "cogwork-handler-0 is still running a handler; left to finish on its own" in caplog.messages
    finally:
        engine.close()
        release.set()
    assert finished.wait(30)


def test_ctrl_c_interrupts_wait_workflow_and_leaves_the_run_alone(jobs_engine):
    jobs_engine.add_handler("never", lambda step: None)
    jobs_engine.define_workflow({"namespace": "f", "name": "w", "version": "1.0.0", "steps": [{"name": "s", "handler": "never"}]})
    run = jobs_engine.start_workflow("f/w", {})  # nothing works its steps
    timer = sigint_in(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            jobs_engine.wait_workflow(run.id, timeout=60)
    finally:
        timer.cancel()
    assert jobs_engine.workflow(run.id).state == "running"
    jobs_engine.drain()
    assert jobs_engine.wait_workflow(run.id, timeout=30).state == "completed"


def test_ctrl_c_stops_a_drain_and_hands_the_running_job_back(task_sources, database):
    with cogwork.Engine(tasks=task_sources, database=database, workers=1) as engine:
        job = engine.enqueue("forever", {}, timeout=300)
        timer = sigint_in(0.5)
        try:
            with pytest.raises(KeyboardInterrupt):
                engine.drain(stop_timeout=0.2)
        finally:
            timer.cancel()
        wait_until(lambda: engine.job(job.id).state == "ready")
        assert [attempt.state for attempt in engine.job(job.id).attempts] == ["released"]
        # Its worker was stopped and replaced: the only worker serves again.
        assert engine.run("echo", {"after": "ctrl-c"}, timeout=30) == {"after": "ctrl-c"}


# One call per public name that reaches the engine, with arguments it would accept.
CALLS = {
    "run": lambda e: e.run("echo", {}),
    "execute": lambda e: e.execute("echo", {}),
    "enqueue": lambda e: e.enqueue("echo", {}),
    "enqueue_all": lambda e: e.enqueue_all([("echo", {})]),
    "job": lambda e: e.job(1),
    "jobs": lambda e: e.jobs(),
    "cancel": lambda e: e.cancel(1),
    "retry": lambda e: e.retry(1),
    "stats": lambda e: e.stats(),
    "handler": lambda e: e.handler("h")(lambda job: None),
    "add_handler": lambda e: e.add_handler("h", lambda job: None),
    "drain": lambda e: e.drain(),
    "start": lambda e: e.start(),
    "work": lambda e: e.work(),
    "on": lambda e: e.on("*"),
    "define_workflow": lambda e: e.define_workflow({"namespace": "a", "name": "b", "version": "1.0.0", "steps": [{"name": "s", "handler": "h"}]}),
    "start_workflow": lambda e: e.start_workflow("a/b"),
    "workflow": lambda e: e.workflow(1),
    "workflows": lambda e: e.workflows(),
    "wait_workflow": lambda e: e.wait_workflow(1, timeout=1),
    "cancel_workflow": lambda e: e.cancel_workflow(1),
    "retry_step": lambda e: e.retry_step(1, "s"),
    "resolve_step": lambda e: e.resolve_step(1, "s", None),
    "replay": lambda e: e.replay(1, "s"),
    "schedule": lambda e: e.schedule("n", "* * * * *", "echo", {}),
    "schedules": lambda e: e.schedules(),
    "remove_schedule": lambda e: e.remove_schedule("n"),
    "set_schedule_enabled": lambda e: e.set_schedule_enabled("n", True),
    "now": lambda e: e.now(),
    "advance": lambda e: e.advance(1),
    "mock_http": lambda e: e.mock_http([]),
    "clear_http_mocks": lambda e: e.clear_http_mocks(),
    "tasks": lambda e: e.tasks,
}


def test_every_public_name_raises_engine_closed_after_close(task_sources, database):
    import asyncio

    public = {name for name, _ in inspect.getmembers(cogwork.Engine) if not name.startswith("_")}
    blocking = {name for name in public if not name.endswith("_async")} - {"close", "stop", "warnings"}
    assert blocking == set(CALLS), "a public name has no call here"
    engine = cogwork.Engine(tasks=task_sources, database=database, workers=1, clock="manual")
    engine.close()
    for name, call in CALLS.items():
        with pytest.raises(cogwork.EngineClosedError, match="closed"):
            call(engine)
            pytest.fail(f"{name} ran on a closed engine")
    for name in sorted(public - blocking - {"close", "stop", "warnings"}):
        method = getattr(engine, name)
        blocking_twin = CALLS[name.removesuffix("_async")]
        with pytest.raises(cogwork.EngineClosedError, match="closed"):
            asyncio.run(blocking_twin(_Awaiting(method)))
    assert engine.stop() is None
    engine.close()  # harmless


class _Awaiting:
    """Stands in for the engine in CALLS so that ``e.name(...)`` awaits ``name_async``."""

    def __init__(self, method):
        self._method = method

    def __getattr__(self, name):
        return self._method


def _use_parents_engine(engine, results):
    try:
        engine.jobs()
        results.put("ran")
    except cogwork.EngineClosedError as error:
        results.put(str(error))


def test_a_multiprocessing_fork_child_gets_a_clear_error_from_the_parents_engine(jobs_engine):
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_use_parents_engine, args=(jobs_engine, results))
    child.start()
    child.join(30)
    assert child.exitcode == 0, "the forked child hung or crashed"
    assert "fork" in results.get(timeout=5)
    assert jobs_engine.jobs() == []  # the parent's engine is untouched


def test_a_forked_child_of_a_working_engine_gets_a_clear_error_from_stop_and_close(jobs_engine):
    jobs_engine.add_handler("noop", lambda job: None)
    jobs_engine.start()

    def body():
        reports = []
        for call in (jobs_engine.stop, jobs_engine.close):
            try:
                call()
                reports.append("returned")
            except cogwork.EngineClosedError as error:
                reports.append("fork" in str(error))
        return repr(reports)

    assert in_child(body) == "[True, True]"
    job = jobs_engine.enqueue("noop", {})  # the parent still works
    wait_until(lambda: jobs_engine.job(job.id).state == "completed")
    assert jobs_engine.stop()["completed"] == 1


def count_while(call):
    """How far another Python thread counts while ``call`` blocks the main thread."""
    done, counts = threading.Event(), [0]

    def count():
        while not done.is_set():
            counts[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = counts[0]
        call()
        return counts[0] - before
    finally:
        done.set()
        counter.join()


def test_another_thread_keeps_running_while_wait_workflow_and_work_block(jobs_engine):
    jobs_engine.add_handler("never", lambda step: None)
    jobs_engine.define_workflow({"namespace": "f", "name": "gil", "version": "1.0.0", "steps": [{"name": "s", "handler": "never"}]})
    run = jobs_engine.start_workflow("f/gil", {})

    def wait():
        with pytest.raises(cogwork.TaskTimeoutError):
            jobs_engine.wait_workflow(run.id, timeout=0.5)

    def work():
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        jobs_engine.work(threads=1)

    # Held for the whole call, the GIL would leave the counter a few switch intervals at most.
    assert count_while(wait) > 100_000
    assert count_while(work) > 100_000
