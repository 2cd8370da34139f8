"""The pytest plugin: the cogwork_engine fixture, its eager and manual modes, and the
assertions. Most tests run real test files through pytest (pytester) with the installed
plugin, as a user's suite would."""

import pathlib
import textwrap

import pytest

from cogwork.pytest_plugin import assert_enqueued, assert_not_enqueued

pytest_plugins = ["pytester"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The ini line of a user's suite that loads the project's tasks.
TASKS = f"cogwork_tasks = {ROOT / 'examples' / 'tasks'} {ROOT / 'tests' / 'fixtures' / 'tasks'}"


@pytest.fixture
def suite(pytester):
    """Writes a user's test file and ini file (loading the project's tasks unless told),
    runs it through pytest, and returns the outcome."""

    def run(source, *, ini=TASKS):
        pytester.makeini(f"[pytest]\n{ini}")
        pytester.makepyfile(test_user=textwrap.dedent(source))
        return pytester.runpytest("-p", "no:cacheprovider")

    return run


def test_the_fixture_is_an_in_memory_engine_that_runs_jobs(cogwork_engine):
    cogwork_engine.add_handler("double", lambda job: job.input * 2)
    job = cogwork_engine.enqueue("double", 2**70)
    assert cogwork_engine.drain()["completed"] == 1
    assert cogwork_engine.job(job.id).output == 2**71


def test_each_test_gets_a_fresh_database(cogwork_engine):
    assert cogwork_engine.jobs() == []


def test_assert_enqueued_finds_the_one_matching_job_or_fails_listing_them(cogwork_engine):
    cogwork_engine.add_handler("mail", lambda job: None)
    first = cogwork_engine.enqueue("mail", {"to": "ada@example.com"}, queue="mail").id
    cogwork_engine.enqueue("mail", {"to": "bob@example.com"}, queue="mail", priority=2)
    assert assert_enqueued(cogwork_engine, "mail", {"to": "ada@example.com"}, queue="mail").id == first
    assert assert_enqueued(cogwork_engine, "mail", priority=2).input == {"to": "bob@example.com"}
    with pytest.raises(AssertionError, match=r"found 2; jobs of 'mail':\n  job \d+: queue='mail'"):
        assert_enqueued(cogwork_engine, "mail", queue="mail")
    with pytest.raises(AssertionError, match="found 0"):
        assert_enqueued(cogwork_engine, "mail", {"to": "eve@example.com"})


def test_assert_enqueued_counts_and_assert_not_enqueued_fails_naming_the_jobs(cogwork_engine):
    cogwork_engine.add_handler("mail", lambda job: None)
    cogwork_engine.enqueue_all([("mail", {"to": "ada"}), ("mail", {"to": "bob"}), ("mail", {"to": "ada"})])
    assert [job.input for job in assert_enqueued(cogwork_engine, "mail", {"to": "ada"}, count=2)] == [{"to": "ada"}] * 2
    assert len(assert_enqueued(cogwork_engine, "mail", count=3, state="ready")) == 3
    assert_not_enqueued(cogwork_engine, "mail", {"to": "eve"})
    assert_not_enqueued(cogwork_engine, "sms")
    with pytest.raises(AssertionError, match=r"expected 0 'mail' job\(s\) with \{'input': \{'to': 'bob'\}\}, found 1"):
        assert_not_enqueued(cogwork_engine, "mail", {"to": "bob"})


def test_without_cogwork_tasks_the_fixture_takes_the_tasks_of_cogwork_yml_but_not_its_database(suite, pytester):
    pytester.makefile(".yml", cogwork=f"tasks: [{ROOT / 'examples' / 'tasks'}]\ndatabase: sqlite://{pytester.path / 'app.db'}\n")
    result = suite(
        """
        def test_yml(cogwork_engine):
            assert cogwork_engine.enqueue("addition", {"num1": 2, "num2": 3}).state == "ready"
            cogwork_engine.drain()
            assert cogwork_engine.jobs("completed")[0].output == {"sum": 5}
        """,
        ini="",
    )
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "app.db").exists()


def test_manual_mode_leaves_jobs_until_the_test_drains_them(suite):
    result = suite(
        """
        def test_manual(cogwork_engine):
            cogwork_engine.add_handler("double", lambda job: job.input * 2)
            job = cogwork_engine.enqueue("double", 21)
            assert job.state == "ready"
            assert cogwork_engine.drain() == {"completed": 1, "failed": 0, "dead": 0, "released": 0, "errors": 0}
            assert cogwork_engine.job(job.id).output == 42
        """
    )
    result.assert_outcomes(passed=1)


def test_eager_mode_runs_jobs_when_enqueued_through_the_engine(suite):
    result = suite(
        """
        import pytest
        from cogwork.pytest_plugin import assert_enqueued

        @pytest.mark.cogwork(eager=True)
        def test_eager(cogwork_engine):
            @cogwork_engine.handler("signup")
            def signup(job):
                cogwork_engine.enqueue("welcome", {"to": job.input["email"]}, queue="mail")
                return "signed up"

            @cogwork_engine.handler("welcome")
            async def welcome(job):
                return f"sent to {job.input['to']}"

            job = cogwork_engine.enqueue("signup", {"email": "ada@example.com"})
            assert (job.state, job.output) == ("completed", "signed up")
            assert assert_enqueued(cogwork_engine, "welcome", queue="mail").output == "sent to ada@example.com"
            assert cogwork_engine.enqueue("addition", {"num1": 2**40, "num2": 1}).output == {"sum": 2**40 + 1}
            [first, second] = cogwork_engine.enqueue_all([("welcome", {"to": "bob"}), ("welcome", {"to": "eve"})])
            assert (first.output, second.output) == ("sent to bob", "sent to eve")
        """
    )
    result.assert_outcomes(passed=1)


def test_eager_mode_reraises_the_handlers_exception_after_its_retries(suite):
    result = suite(
        """
        import pytest

        class PaymentDeclined(Exception):
            pass

        def test_reraised(cogwork_engine):
            calls = []

            @cogwork_engine.handler("charge_card")
            async def charge(job):
                calls.append(job.attempt)
                raise PaymentDeclined(f"card {job.input['card']} declined")

            with pytest.raises(PaymentDeclined, match="card 4242 declined"):
                cogwork_engine.enqueue("charge_card", {"card": 4242}, max_attempts=2)
            assert calls == [1, 2]
            [job] = cogwork_engine.jobs()
            assert (job.state, job.error["class"]) == ("dead", "test_user.PaymentDeclined")

        def test_a_retry_that_succeeds_raises_nothing(cogwork_engine):
            @cogwork_engine.handler("unsteady")
            def flaky(job):
                if job.attempt == 1:
                    raise ConnectionError("try again")
                return job.attempt

            assert cogwork_engine.enqueue("unsteady").output == 2

        def test_a_failure_of_a_drain_the_test_called_is_not_raised_later(cogwork_engine):
            cogwork_engine.eager = False
            cogwork_engine.add_handler("refuse", lambda job: 1 / 0)
            cogwork_engine.add_handler("accept", lambda job: "ok")
            cogwork_engine.enqueue("refuse", max_attempts=1)
            assert cogwork_engine.drain()["dead"] == 1
            cogwork_engine.eager = True
            assert cogwork_engine.enqueue("accept").output == "ok"

        def test_a_failed_javascript_task_raises_job_failed_error(cogwork_engine):
            from cogwork.testing import JobFailedError

            with pytest.raises(JobFailedError, match=r"job \\d+ \\(flaky\\) ended dead after 1 attempt") as failure:
                cogwork_engine.enqueue("flaky", {"amount": 5}, max_attempts=1)
            assert failure.value.job.error["message"] == "slow down"
        """,
        ini=f"{TASKS}\ncogwork_eager = true",
    )
    result.assert_outcomes(passed=4)


def test_eager_mode_runs_a_workflow_and_reraises_its_failed_steps_exception(suite):
    result = suite(
        """
        import pytest

        WORKFLOW = {"namespace": "shop", "name": "order", "version": "1.0.0", "steps": [
            {"name": "reserve", "handler": "reserve"},
            {"name": "charge", "task": "addition", "depends_on": ["reserve"],
             "input": {"num1": "$.results.reserve.price", "num2": 1}},
        ]}

        @pytest.mark.cogwork(eager=True)
        def test_workflow(cogwork_engine):
            cogwork_engine.add_handler("reserve", lambda step: {"price": step.context["price"]})
            cogwork_engine.define_workflow(WORKFLOW)
            run = cogwork_engine.start_workflow("shop/order", {"price": 2**40})
            assert (run.state, run.step("charge").result) == ("completed", {"sum": 2**40 + 1})

        @pytest.mark.cogwork(eager=True)
        def test_failed_step(cogwork_engine):
            def out_of_stock(step):
                raise LookupError("sku 17 is out of stock")

            cogwork_engine.add_handler("reserve", out_of_stock)
            cogwork_engine.define_workflow(WORKFLOW)
            with pytest.raises(LookupError, match="sku 17 is out of stock"):
                cogwork_engine.start_workflow("shop/order", {"price": 5})
            [run] = cogwork_engine.workflows()
            assert (run.state, run.step("reserve").state) == ("failed", "failed")
        """
    )
    result.assert_outcomes(passed=2)


def test_eager_mode_covers_the_awaitable_calls(suite):
    result = suite(
        """
        import asyncio
        import pytest

        @pytest.mark.cogwork(eager=True)
        def test_async(cogwork_engine):
            @cogwork_engine.handler("square")
            async def square(call):
                if call.input == 13:
                    raise ArithmeticError("unlucky")
                return call.input**2

            cogwork_engine.add_handler("step", lambda step: step.context["n"] * 2)
            cogwork_engine.define_workflow({"namespace": "t", "name": "w", "version": "1.0.0",
                                            "steps": [{"name": "double", "handler": "step"}]})

            async def main():
                job = await cogwork_engine.enqueue_async("square", 2**40)
                [a, b] = await cogwork_engine.enqueue_all_async([("square", 3), ("square", 4)])
                run = await cogwork_engine.start_workflow_async("t/w", {"n": 2**63})
                with pytest.raises(ArithmeticError, match="unlucky"):
                    await cogwork_engine.enqueue_async("square", 13, max_attempts=1)
                return job.output, a.output, b.output, run.step("double").result

            assert asyncio.run(main()) == (2**80, 9, 16, 2**64)
        """
    )
    result.assert_outcomes(passed=1)


def test_a_retry_runs_when_the_test_advances_the_clock_without_sleeping(suite):
    result = suite(
        """
        import datetime
        import pytest

        @pytest.mark.cogwork(backoff=(30, 30))
        def test_retry(cogwork_engine):
            @cogwork_engine.handler("flaky_api")
            def call(job):
                if job.attempt == 1:
                    raise ConnectionError("the API is down")
                return "up"

            job = cogwork_engine.enqueue("flaky_api")
            assert cogwork_engine.drain()["failed"] == 1
            retrying = cogwork_engine.job(job.id)
            assert retrying.state == "retrying" and retrying.run_at > cogwork_engine.now()
            cogwork_engine.advance(retrying.run_at - cogwork_engine.now() - datetime.timedelta(microseconds=1))
            assert cogwork_engine.drain()["completed"] == 0
            cogwork_engine.advance(datetime.timedelta(microseconds=1))
            assert cogwork_engine.drain()["completed"] == 1
            assert (cogwork_engine.job(job.id).output, cogwork_engine.job(job.id).attempt) == ("up", 2)
        """
    )
    result.assert_outcomes(passed=1)


def test_a_cron_tick_runs_when_the_test_advances_the_clock(suite):
    result = suite(
        """
        from cogwork.pytest_plugin import assert_enqueued, assert_not_enqueued

        def test_cron(cogwork_engine):
            cogwork_engine.add_handler("report", lambda job: job.input["kind"])
            cogwork_engine.schedule("nightly", "0 3 * * *", "report", {"kind": "sales"})
            [schedule] = cogwork_engine.schedules()
            cogwork_engine.drain()
            assert_not_enqueued(cogwork_engine, "report")
            cogwork_engine.advance(schedule.next_tick - cogwork_engine.now())
            cogwork_engine.drain()
            assert assert_enqueued(cogwork_engine, "report", {"kind": "sales"}).output == "sales"
            cogwork_engine.advance(86_400)
            cogwork_engine.drain()
            assert len(assert_enqueued(cogwork_engine, "report", count=2, state="completed")) == 2
        """
    )
    result.assert_outcomes(passed=1)


def test_http_mocks_answer_the_fetches_of_javascript_jobs(suite):
    result = suite(
        """
        import pytest
        from cogwork.testing import JobFailedError

        PARIS = {"url": "weather.example.com/v1/current", "method": "GET", "response": {"temperature_c": 20}}

        @pytest.mark.cogwork(eager=True, http_mocks=PARIS)
        def test_mocked(cogwork_engine):
            job = cogwork_engine.enqueue("weather", {"city": "Paris"})
            assert job.output == {"city": "Paris", "celsius": 20, "fahrenheit": 68}
            cogwork_engine.mock_http([{**PARIS, "response": {"temperature_c": -40}}])
            assert cogwork_engine.enqueue("weather", {"city": "Oymyakon"}).output["fahrenheit"] == -40
            cogwork_engine.clear_http_mocks()
            with pytest.raises(JobFailedError, match="NetworkError"):
                cogwork_engine.enqueue("weather", {"city": "Paris"}, max_attempts=1)
        """
    )
    result.assert_outcomes(passed=1)
