"""Python handlers on the engine's threads: outputs, failures and retries, coroutines, the GIL
released while waiting, start/stop in the background, and `work` stopped by SIGTERM."""

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import cogwork

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_decorated_handler_gets_the_job_and_its_return_value_is_the_output(jobs_engine):
    seen = []

    @jobs_engine.handler("greet")
    def greet(job):
        seen.append(job)
        return {"greeting": f"hello {job.input['name']}"}

    assert callable(greet)
    id = jobs_engine.enqueue("greet", {"name": "Ada"}, queue="people").id
    jobs_engine.drain("people")
    assert jobs_engine.job(id).output == {"greeting": "hello Ada"}
    assert seen == [cogwork.HandlerJob(id=id, attempt=1, max_attempts=3, target="greet", queue="people", input={"name": "Ada"})]


def test_any_callable_object_is_a_handler(jobs_engine):
    class Doubler:
        def __call__(self, job):
            return job.input * 2

    jobs_engine.add_handler("double", Doubler())
    id = jobs_engine.enqueue("double", 21).id
    jobs_engine.drain()
    assert jobs_engine.job(id).output == 42
    with pytest.raises(TypeError, match="must be callable"):
        jobs_engine.add_handler("nothing", 3)


def test_an_exception_fails_the_attempt_with_its_class_message_and_traceback_and_is_retried(jobs_engine):
    calls = []

    @jobs_engine.handler("flaky")
    def flaky(job):
        calls.append(job.attempt)
        if job.attempt < 3:
            raise KeyError(f"missing on attempt {job.attempt}")
        return "third time"

    id = jobs_engine.enqueue("flaky", {}, max_attempts=3).id
    progress = jobs_engine.drain()
    assert (progress["completed"], progress["failed"], progress["dead"]) == (1, 2, 0)
    job = jobs_engine.job(id)
    assert (job.state, job.output, calls) == ("completed", "third time", [1, 2, 3])
    assert [(a.number, a.state) for a in job.attempts] == [(1, "failed"), (2, "failed"), (3, "completed")]
    error = job.attempts[0].error
    assert (error["class"], error["message"]) == ("KeyError", "'missing on attempt 1'")
    assert any("in flaky" in line and "raise KeyError" in line for line in error["backtrace"])


def test_attempts_run_out_and_the_job_is_dead(jobs_engine):
    class PaymentDeclined(Exception):
        pass

    jobs_engine.add_handler("charge", lambda job: (_ for _ in ()).throw(PaymentDeclined("card declined")))
    id = jobs_engine.enqueue("charge", {}, max_attempts=2).id
    assert jobs_engine.drain()["dead"] == 1
    job = jobs_engine.job(id)
    assert (job.state, job.attempt) == ("dead", 2)
    assert job.error["class"] == f"{__name__}.test_attempts_run_out_and_the_job_is_dead.<locals>.PaymentDeclined"
    assert job.error["message"] == "card declined"


def test_an_exception_that_is_not_retryable_kills_the_job_at_once(jobs_engine):
    class Invalid(ValueError):
        retryable = False

    def reject(job):
        raise Invalid("no such account")

    jobs_engine.add_handler("reject", reject)
    id = jobs_engine.enqueue("reject", {}, max_attempts=5).id
    jobs_engine.drain()
    assert (jobs_engine.job(id).state, jobs_engine.job(id).attempt) == ("dead", 1)


def test_sys_exit_in_a_handler_is_a_failed_attempt_and_the_worker_keeps_serving(jobs_engine):
    jobs_engine.add_handler("quit", lambda job: sys.exit(3))
    jobs_engine.add_handler("noop", lambda job: "still here")
    quit, noop = jobs_engine.enqueue("quit", {}, max_attempts=1).id, jobs_engine.enqueue("noop", {}).id
    jobs_engine.drain()
    assert jobs_engine.job(quit).state == "dead"
    assert (jobs_engine.job(quit).error["class"], jobs_engine.job(quit).error["message"]) == ("SystemExit", "3")
    assert jobs_engine.job(noop).output == "still here"


def test_sys_exit_in_a_coroutine_handler_is_a_failed_attempt_and_its_batch_is_served(jobs_engine):
    async def quit(job):
        await asyncio.sleep(0)
        sys.exit(3)

    jobs_engine.add_handler("quit", quit)
    jobs_engine.add_handler("noop", lambda job: "still here")
    # One batch: the coroutine's SystemExit must not take the thread, and the batch, with it.
    quit_job, noop = jobs_engine.enqueue_all([("quit", {}, {"max_attempts": 1}), ("noop", {})])
    assert jobs_engine.drain() == {"completed": 1, "failed": 0, "dead": 1, "released": 0, "errors": 0}
    error = jobs_engine.job(quit_job.id).error
    assert (error["class"], error["message"]) == ("SystemExit", "3")
    assert any("sys.exit(3)" in line for line in error["backtrace"])
    assert jobs_engine.job(noop.id).output == "still here"


def test_an_output_json_cannot_hold_fails_the_attempt_naming_where(jobs_engine):
    jobs_engine.add_handler("setter", lambda job: {"tags": [1, {2, 3}]})
    id = jobs_engine.enqueue("setter", {}, max_attempts=1).id
    jobs_engine.drain()
    error = jobs_engine.job(id).error
    assert error["class"] == "TypeError"
    assert "output.tags[1]" in error["message"] and "set" in error["message"]


def test_coroutine_handlers_of_a_batch_run_together_on_an_event_loop(jobs_engine):
    started = []

    @jobs_engine.handler("sleepy")
    async def sleepy(job):
        started.append(job.input)
        # Every job of the batch must have started before any finishes: they run together.
        for _ in range(3000):
            if len(started) == 3:
                return job.input + 1
            await asyncio.sleep(0.01)
        raise AssertionError(f"only {started} started")

    ids = [job.id for job in jobs_engine.enqueue_all([("sleepy", n) for n in range(3)])]
    jobs_engine.drain()
    assert [jobs_engine.job(id).output for id in ids] == [1, 2, 3]


def test_another_python_thread_keeps_running_while_drain_waits(jobs_engine):
    released = threading.Event()

    def wait_for_the_other_thread(job):
        # Set by a thread that needs the GIL while the main thread is inside drain.
        return released.wait(timeout=30)

    jobs_engine.add_handler("wait", wait_for_the_other_thread)
    id = jobs_engine.enqueue("wait", {}).id
    threading.Thread(target=lambda: (time.sleep(0.2), released.set())).start()
    jobs_engine.drain()
    assert jobs_engine.job(id).output is True


def test_start_works_in_the_background_until_stop(jobs_engine):
    done = threading.Event()
    jobs_engine.add_handler("note", lambda job: done.set() or job.input)
    jobs_engine.start(threads=2)
    with pytest.raises(RuntimeError, match="working already"):
        jobs_engine.start()
    id = jobs_engine.enqueue("note", "written").id
    assert done.wait(timeout=30)
    progress = jobs_engine.stop()
    assert progress["completed"] == 1
    assert jobs_engine.job(id).output == "written"
    assert jobs_engine.stop() is None


def test_handler_threads_must_be_a_positive_int(jobs_engine):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="threads must be an int of at least 1"):
            jobs_engine.drain(threads=bad)


WORKER = """
import sys, cogwork
engine = cogwork.Engine(database=sys.argv[1], workers=1)
engine.add_handler("shout", lambda job: job.input.upper())
print("working", flush=True)
print(engine.work(threads=1), flush=True)
engine.close()
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT (Ctrl-C)"])
def test_work_runs_jobs_until_sigterm_or_sigint_and_stops_gracefully(database, signum):
    with cogwork.Engine(database=database, workers=1) as engine:
        engine.add_handler("shout", lambda job: None)
        id = engine.enqueue("shout", "quiet please").id
        worker = subprocess.Popen([sys.executable, "-c", WORKER, database], stdout=subprocess.PIPE, text=True, cwd=ROOT)
        try:
            assert worker.stdout.readline() == "working\n"
            deadline = time.monotonic() + 30
            while engine.job(id).state != "completed" and time.monotonic() < deadline:
                time.sleep(0.05)
            worker.send_signal(signum)
            output, _ = worker.communicate(timeout=30)
        finally:
            worker.kill()
        assert worker.returncode == 0
        assert output == "{'completed': 1, 'failed': 0, 'dead': 0, 'released': 0, 'errors': 0}\n"
        assert engine.job(id).output == "QUIET PLEASE"
