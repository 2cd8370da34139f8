"""The Engine against real worker processes: running tasks, errors, timeouts, interrupts, fork."""

import asyncio
import builtins
import datetime
import logging
import os
import pathlib
import signal
import threading
import time

import pytest

import cogwork
from conftest import in_child

CHARGES = "https://payments.example.com/charges"


def test_run_returns_the_output_as_a_dict(engine):
    assert engine.run("addition", {"num1": 2, "num2": 3}) == {"sum": 5}


def test_output_nested_too_deep_raises_limit_exceeded_naming_the_path(engine):
    with pytest.raises(cogwork.LimitExceededError) as caught:
        engine.run("nest", {"depth": 150})
    assert caught.value.limit == 100
    assert caught.value.path.startswith("output.a.a.a")
    assert engine.run("nest", {"depth": 2}) == {"a": {"a": 1}}


def test_console_output_is_cut_past_console_max_bytes(task_sources):
    with cogwork.Engine(tasks=task_sources, workers=1, console_max_bytes=1_000) as small:
        console = small.execute("nest", {"depth": 0, "lines": 50}).console
    assert len(console) == 11
    assert "console_max_bytes" in console[-1]["message"]


def test_tasks_lists_the_loaded_tasks(engine):
    labels = {task["label"] for task in engine.tasks}
    assert {"addition", "echo", "forever"} <= labels
    assert engine.warnings == []


def test_unknown_task_raises_task_not_found(engine):
    with pytest.raises(cogwork.TaskNotFoundError, match="nonesuch"):
        engine.run("nonesuch", {})


def test_input_that_breaks_the_schema_raises_with_violations(engine):
    with pytest.raises(cogwork.InvalidInputError) as caught:
        engine.run("addition", {"num1": "two"})
    assert isinstance(caught.value, cogwork.CogworkError)
    assert caught.value.task == "addition@1.0.0"
    by_keyword = {v["keyword"]: v for v in caught.value.violations}
    assert by_keyword["type"]["path"] == "input.num1"
    assert "required" in by_keyword
    assert "input.num1" in str(caught.value)


def test_thrown_js_error_keeps_its_class_message_and_stack(engine):
    # The payment API's 429 (mocked) makes the task throw a RateLimitError.
    with pytest.raises(cogwork.TaskFailedError) as caught:
        engine.run("charge", {"amount": 250}, mocks={"url": CHARGES, "method": "POST", "status": 429})
    error = caught.value
    assert error.js_name == "RateLimitError"
    assert error.js_message == "payment API is rate limiting us"
    assert isinstance(error.js_stack, str) and error.js_stack
    assert "RateLimitError: payment API is rate limiting us" in str(error)


def test_runaway_task_times_out_and_the_engine_keeps_serving(engine):
    started = time.monotonic()
    with pytest.raises(cogwork.TaskTimeoutError) as caught:
        engine.run("forever", {}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert caught.value.after == pytest.approx(0.5)
    for i in range(3):  # more runs than workers: the stopped worker was replaced
        assert engine.run("addition", {"num1": i, "num2": 1}) == {"sum": i + 1}


def test_ctrl_c_interrupts_a_run_and_the_engine_keeps_serving(engine):
    # SIGINT to this very process, as Ctrl-C would send, while the main thread waits on a
    # task that never ends (the engine's timeout is 30 s).
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            engine.run("forever", {})
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3
    for i in range(3):
        assert engine.run("addition", {"num1": i, "num2": 1}) == {"sum": i + 1}


def test_context_manager_closes_the_engine(task_sources):
    with cogwork.Engine(tasks=task_sources, workers=1) as engine:
        assert engine.run("addition", {"num1": 1, "num2": 1}) == {"sum": 2}
    with pytest.raises(cogwork.EngineClosedError):
        engine.run("addition", {"num1": 1, "num2": 1})
    engine.close()  # closing twice is harmless


def test_run_async_runs_concurrently(engine):
    async def main():
        return await asyncio.gather(
            engine.run_async("addition", {"num1": 1, "num2": 2}),
            engine.run_async("addition", {"num1": 3, "num2": 4}),
        )

    assert asyncio.run(main()) == [{"sum": 3}, {"sum": 7}]


def test_run_async_takes_no_thread_and_raises_the_runs_errors(engine, caplog):
    threads = threading.active_count()

    async def main():
        outputs = await asyncio.gather(*(engine.run_async("addition", {"num1": i, "num2": 1}) for i in range(8)))
        assert threading.active_count() == threads
        with pytest.raises(cogwork.TaskFailedError) as caught:
            await engine.execute_async("flaky", {"amount": 1})
        assert caught.value.js_name == "RateLimitError"
        with pytest.raises(cogwork.TaskNotFoundError):
            await engine.run_async("nonesuch", {})
        with pytest.raises(TypeError, match=r"^input\.at is of type object"):
            await engine.run_async("echo", {"at": object()})
        return outputs, await engine.execute_async("greeting", {"name": "Ada"})

    with caplog.at_level(logging.INFO, logger="cogwork.console"):
        outputs, execution = asyncio.run(main())
    assert outputs == [{"sum": i + 1} for i in range(8)]
    assert execution.output == {"message": "Hello, Ada!"}
    assert "greeting: greeting Ada in en" in [r.getMessage() for r in caplog.records if r.name == "cogwork.console"]


def _worker_pids():
    """The pids of this process's children: its engine's worker processes."""
    children = set()
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited meanwhile
        state, ppid = fields[0], int(fields[1])
        if ppid == os.getpid() and state != "Z":
            children.add(int(stat.parent.name))
    return children


def test_cancelling_run_async_stops_the_runs_worker_and_the_engine_keeps_serving(task_sources):
    others = _worker_pids()
    with cogwork.Engine(tasks=task_sources, workers=1) as engine:
        (worker,) = _worker_pids() - others

        async def main():
            run = asyncio.ensure_future(engine.run_async("forever", {}, timeout=120))
            await asyncio.sleep(0.5)  # the worker is now spinning
            run.cancel()
            with pytest.raises(asyncio.CancelledError):
                await run

        asyncio.run(main())
        deadline = time.monotonic() + 10
        while worker in _worker_pids() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert worker not in _worker_pids(), "the cancelled run's worker is still running"
        assert engine.run("addition", {"num1": 2, "num2": 2}) == {"sum": 4}


def test_console_output_goes_to_logging(engine, caplog):
    with caplog.at_level(logging.INFO, logger="cogwork.console"):
        assert engine.run("greeting", {"name": "Ada", "language": "fr"}) == {"message": "Bonjour, Ada!"}
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "cogwork.console"]
    assert records == [(logging.INFO, "greeting: greeting Ada in fr")]


def test_execute_returns_the_execution_record(engine):
    execution = engine.execute("greeting", {"name": "Ada", "language": "fr"})
    assert isinstance(execution, cogwork.Execution)
    assert execution.output == {"message": "Bonjour, Ada!"}
    assert execution.console == [{"level": "log", "message": "greeting Ada in fr"}]
    assert isinstance(execution.worker, int)
    assert isinstance(execution.duration, float) and execution.duration > 0


def test_record_keys_are_interned_once(engine):
    first, second = (engine.execute("greeting", {"name": name}).console[0] for name in ("Ada", "Grace"))
    assert all(a is b for a, b in zip(first, second))


def test_failed_execution_keeps_its_console_worker_timing_and_typed_fields(engine, caplog):
    with caplog.at_level(logging.DEBUG, logger="cogwork.console"), pytest.raises(cogwork.TaskFailedError) as caught:
        engine.execute("flaky", {"amount": 5})
    error = caught.value
    assert error.task == "flaky@1.0.0"
    assert (error.js_name, error.js_message) == ("RateLimitError", "slow down")
    assert error.console == [
        {"level": "info", "message": "charging 5"},
        {"level": "warn", "message": "the payment API is slow"},
    ]
    assert isinstance(error.worker, int)
    assert isinstance(error.duration, float) and error.duration > 0
    # Filled by the worker once it forwards the typed error's fields; None until then.
    assert (error.status, error.retryable, error.data) == (429, True, {"retry_in": 5})
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "cogwork.console"]
    assert records == [(logging.INFO, "flaky: charging 5"), (logging.WARNING, "flaky: the payment API is slow")]


def test_error_classes_are_the_cores_kinds_and_hide_no_builtin():
    classes = [getattr(cogwork, name) for name in cogwork._native.ERROR_CLASSES]
    assert all(issubclass(c, cogwork.CogworkError) for c in classes)
    defined = {c for c in vars(cogwork.errors).values() if isinstance(c, type) and issubclass(c, cogwork.CogworkError)}
    assert defined == {cogwork.CogworkError, *classes}
    assert not set(cogwork.__all__) & set(dir(builtins))
    star = {}
    exec("from cogwork import *", star)
    assert "TimeoutError" not in star


def test_the_timeout_class_is_also_the_builtin_timeout_error():
    assert cogwork.TimeoutError is cogwork.TaskTimeoutError
    assert issubclass(cogwork.TaskTimeoutError, TimeoutError)
    assert issubclass(cogwork.TaskTimeoutError, cogwork.CogworkError)


def test_negative_nan_infinite_and_absurd_timeouts_raise_value_error_naming_the_option(engine, task_sources):
    for timeout in (-1, float("nan"), float("inf"), 1e19, 367 * 86400):
        with pytest.raises(ValueError, match=r"^timeout must be a number of seconds from 0 to 31622400 \(366 days\)"):
            engine.run("addition", {"num1": 1, "num2": 2}, timeout=timeout)
    with pytest.raises(ValueError, match="^timeout"):
        cogwork.Engine(tasks=task_sources, timeout=1e19)
    assert engine.run("addition", {"num1": 1, "num2": 2}, timeout=5) == {"sum": 3}


def test_byte_budgets_of_fetch_responses_and_console_output_are_accepted(task_sources):
    with cogwork.Engine(tasks=task_sources, workers=1, fetch_max_response_bytes=1 << 16, console_max_bytes=4096) as engine:
        assert engine.run("addition", {"num1": 1, "num2": 1}) == {"sum": 2}
    with pytest.raises(TypeError):
        cogwork.Engine(tasks=task_sources, console_max_bytes="lots")


def test_mocks_answer_fetches(engine):
    mock = {"url": "weather.example.com/v1/current?city=Paris", "method": "GET", "response": {"temperature_c": 20}}
    expected = {"city": "Paris", "celsius": 20, "fahrenheit": 68}
    assert engine.run("weather", {"city": "Paris"}, mocks=mock) == expected
    assert engine.run("weather", {"city": "Paris"}, mocks=[{"url": CHARGES, "method": "POST"}, mock]) == expected
    with pytest.raises(ValueError, match="url"):
        engine.run("weather", {"city": "Paris"}, mocks=[{"method": "GET"}])


def test_in_process_engine_runs_tasks(task_sources):
    with cogwork.Engine(tasks=task_sources, in_process=True, workers=1) as engine:
        assert engine.run("addition", {"num1": 2, "num2": 40}) == {"sum": 42}


def test_invalid_options_raise(task_sources):
    with pytest.raises(cogwork.ConfigurationError, match="workers"):
        cogwork.Engine(tasks=task_sources, workers=0)
    with pytest.raises(ValueError, match="timeout"):
        cogwork.Engine(tasks=task_sources, timeout=-1)
    with pytest.raises(cogwork.InvalidTaskError):
        cogwork.Engine(tasks=[task_sources[0] / "addition" / "main.js"])
    with pytest.raises(TypeError, match="^workers must be an int or None, not str$"):
        cogwork.Engine(tasks=task_sources, workers="two")
    with pytest.raises(TypeError, match="^memory_limit must be an int or None, not bool$"):
        cogwork.Engine(tasks=task_sources, memory_limit=True)
    with pytest.raises(TypeError, match="^database must be a str or None, not int$"):
        cogwork.Engine(tasks=task_sources, database=3)
    with pytest.raises(TypeError, match="^timeout must be a timedelta or a number of seconds, not str$"):
        cogwork.Engine(tasks=task_sources, timeout="5")
    with pytest.raises(TypeError, match="unexpected keyword argument 'wrokers'"):
        cogwork.Engine(tasks=task_sources, wrokers=2)


def test_run_takes_a_timedelta_timeout_and_refuses_other_types_naming_it(engine):
    assert engine.run("addition", {"num1": 1, "num2": 1}, timeout=datetime.timedelta(seconds=5)) == {"sum": 2}
    with pytest.raises(TypeError, match="^timeout must be a timedelta or a number of seconds, not str$"):
        engine.run("addition", {"num1": 1, "num2": 1}, timeout="5")


def test_forked_child_gets_a_clear_error_from_the_parents_engine(engine):
    def body():
        try:
            engine.run("addition", {"num1": 1, "num2": 2})
        except cogwork.EngineClosedError as e:
            return f"closed: {e}"
        return "ran"

    report = in_child(body)
    assert report.startswith("closed: ") and "fork" in report, report
    assert engine.run("addition", {"num1": 1, "num2": 2}) == {"sum": 3}  # the parent's still works


def test_forked_child_opens_its_own_engine_while_another_thread_keeps_calling_the_parents(engine, task_sources):
    calls = 0
    stop = threading.Event()

    def busy():
        nonlocal calls
        while not stop.is_set():
            with pytest.raises(cogwork.TaskNotFoundError):
                engine.run("nonesuch", {})
            calls += 1

    thread = threading.Thread(target=busy)
    thread.start()
    try:
        while calls < 10:
            time.sleep(0.01)

        def body():
            with cogwork.Engine(tasks=task_sources, workers=1) as own:
                return repr(own.run("addition", {"num1": 20, "num2": 22}))

        assert [in_child(body) for _ in range(5)] == ["{'sum': 42}"] * 5
    finally:
        stop.set()
        thread.join()


def test_forked_child_can_open_its_own_engine(engine, task_sources):
    engine.run("addition", {"num1": 1, "num2": 2})  # the parent's runtime and workers are up

    def body():
        with cogwork.Engine(tasks=task_sources, workers=1) as own:
            return repr(own.run("addition", {"num1": 20, "num2": 22}))

    assert in_child(body) == "{'sum': 42}"
    assert engine.run("addition", {"num1": 1, "num2": 2}) == {"sum": 3}
