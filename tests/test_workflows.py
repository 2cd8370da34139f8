"""Workflows whose steps are Python handlers and JavaScript tasks: linear, diamond, tree and
mixed runs with exact results, failures and the operator's retry, resolve, replay, cancel."""

import asyncio
import threading

import pytest

import cogwork

from conftest import ROOT


def template(name, steps):
    return {"namespace": "py", "name": name, "version": "1.0.0", "steps": steps}


def step(name, handler="square", depends_on=(), **more):
    return {"name": name, "handler": handler, "depends_on": list(depends_on), **more}


def only_parent(step):
    """The one parent's result, or the context's number for a root step."""
    return next(iter(step.results.values())) if step.results else step.context["number"]


@pytest.fixture
def engine(jobs_engine):
    """An engine whose `square` handler squares its parent's result (or the context's number)
    and whose `add` handler sums its parents' results."""
    jobs_engine.add_handler("square", lambda step: only_parent(step) ** 2)
    jobs_engine.add_handler("add", lambda step: sum(step.results.values()))
    return jobs_engine


def test_a_linear_run_of_python_steps_keeps_2_to_the_64_exact(engine):
    reference = engine.define_workflow(template("linear", [step("a"), step("b", depends_on=["a"]), step("c", depends_on=["b"])]))
    assert reference == ["py/linear@1.0.0"]
    id = engine.start_workflow("py/linear", {"number": 2**8}).id
    engine.drain()
    run = engine.wait_workflow(id, timeout=30)
    assert isinstance(run, cogwork.WorkflowRun)
    assert (run.state, run.workflow, run.version, run.context) == ("completed", "py/linear", "1.0.0", {"number": 256})
    assert [(s.name, s.state, s.result) for s in run.steps] == [("a", "completed", 2**16), ("b", "completed", 2**32), ("c", "completed", 2**64)]
    assert type(run.step("c").result) is int
    assert (run.step("c").attempts, run.step("c").kind, run.step("c").target, run.step("c").depends_on) == (1, "handler", "square", ["b"])
    assert run.transitions[0].step is None and run.transitions[0].to_state == "running"
    assert run.finished_at >= run.created_at
    with pytest.raises(KeyError, match="no step 'd'; its steps are a, b, c"):
        run.step("d")


def test_a_diamond_run_joins_both_branches(engine):
    engine.add_handler("double", lambda step: only_parent(step) * 2)
    engine.add_handler("triple", lambda step: only_parent(step) * 3)
    steps = [
        step("square"),
        step("double", "double", ["square"]),
        step("triple", "triple", ["square"]),
        step("combine", "add", ["double", "triple"]),
    ]
    engine.define_workflow(template("diamond", steps))
    id = engine.start_workflow("py/diamond", {"number": 2**32}).id
    engine.drain(threads=2)
    run = engine.workflow(id)
    assert run.state == "completed"
    assert {s.name: s.result for s in run.steps} == {"square": 2**64, "double": 2**65, "triple": 3 * 2**64, "combine": 5 * 2**64}


def test_a_tree_run_gives_each_leaf_its_branchs_result(engine):
    leaves = []

    @engine.handler("leaf")
    def leaf(step):
        leaves.append((step.name, step.results))
        return only_parent(step) + 1

    steps = [step("root"), step("left", depends_on=["root"]), step("right", depends_on=["root"])]
    steps += [step(f"{side}_leaf", "leaf", [side]) for side in ("left", "right")]
    engine.define_workflow(template("tree", steps))
    id = engine.start_workflow("py/tree", {"number": 2**16}).id
    engine.drain()
    run = engine.workflow(id)
    assert {s.name: s.result for s in run.steps} == {"root": 2**32, "left": 2**64, "right": 2**64, "left_leaf": 2**64 + 1, "right_leaf": 2**64 + 1}
    assert type(run.step("left_leaf").result) is int
    assert sorted(leaves) == [("left_leaf", {"left": 2**64}), ("right_leaf", {"right": 2**64})]


def test_a_run_mixes_a_javascript_step_and_a_python_step(engine):
    seen = []

    @engine.handler("describe")
    def describe(step):
        seen.append(step)
        return f"{step.context['name']}: {step.input['product']}"

    steps = [
        {"name": "multiply", "task": "multiply", "input": {"num1": "$.context.number", "num2": 7}},
        {"name": "describe", "handler": "describe", "depends_on": ["multiply"], "input": {"product": "$.results.multiply.product"}},
    ]
    engine.define_workflow(template("mixed", steps))
    id = engine.start_workflow("py/mixed", {"number": 6, "name": "Ada"}).id
    engine.drain()
    run = engine.workflow(id)
    assert run.state == "completed"
    assert (run.step("multiply").kind, run.step("multiply").result) == ("task", {"product": 42})
    assert run.step("describe").result == "Ada: 42"
    [call] = seen
    assert isinstance(call, cogwork.Step)
    assert (call.run_id, call.name, call.attempt, call.context) == (id, "describe", 1, {"number": 6, "name": "Ada"})
    assert (call.results, call.input) == ({"multiply": {"product": 42}}, {"product": 42})


def test_a_template_file_of_javascript_steps_runs(engine):
    assert engine.define_workflow(ROOT / "examples" / "workflows" / "diamond.yaml") == ["diamond_workflow/parallel_computation@1.0.0"]
    id = engine.start_workflow("diamond_workflow/parallel_computation", {"number": 3}).id
    engine.drain()
    run = engine.workflow(id)
    assert {s.name: s.result for s in run.steps} == {
        "square": {"product": 9},
        "double": {"product": 18},
        "triple": {"product": 27},
        "combine": {"sum": 45},
    }


def failing_engine(engine, failures):
    """Defines `py/fails` (a → b → c, `b` raising while `failures` is not empty)."""

    @engine.handler("fragile")
    def fragile(step):
        if failures:
            raise RuntimeError(failures.pop())
        return only_parent(step) + 1

    steps = [step("a"), step("b", "fragile", ["a"], retry={"max_attempts": 1}), step("c", depends_on=["b"])]
    engine.define_workflow(template("fails", steps))
    return engine


def test_a_failed_step_fails_the_run_and_retry_step_continues_it(engine):
    failing_engine(engine, ["boom"])
    id = engine.start_workflow("py/fails", {"number": 3}).id
    engine.drain()
    run = engine.workflow(id)
    assert (run.state, run.step("a").result, run.step("b").state, run.step("c").state) == ("failed", 9, "failed", "blocked")
    assert (run.step("b").error["class"], run.step("b").error["message"]) == ("RuntimeError", "boom")
    engine.retry_step(id, "b")
    engine.drain()
    run = engine.workflow(id)
    assert (run.state, run.step("b").result, run.step("c").result) == ("completed", 10, 100)


def test_resolve_step_completes_a_failed_step_by_hand(engine):
    failing_engine(engine, ["boom"])
    id = engine.start_workflow("py/fails", {"number": 3}).id
    engine.drain()
    engine.resolve_step(id, "b", 2**64)
    engine.drain()
    run = engine.workflow(id)
    assert (run.state, run.step("b").result, run.step("c").result) == ("completed", 2**64, 2**128)
    with pytest.raises(cogwork.InvalidWorkflowStateError):
        engine.resolve_step(id, "b", 1)


def test_replay_runs_a_step_and_its_descendants_again(engine):
    calls = []
    engine.add_handler("count", lambda step: calls.append(step.name) or len(calls))
    engine.define_workflow(template("replay", [step("a", "count"), step("b", "count", ["a"])]))
    id = engine.start_workflow("py/replay", {}).id
    engine.drain()
    engine.replay(id, "b")
    engine.drain()
    run = engine.workflow(id)
    assert (calls, run.state, run.step("a").result, run.step("b").result) == (["a", "b", "b"], "completed", 1, 3)


def test_cancel_workflow_cancels_the_steps_not_yet_run(engine):
    engine.define_workflow(template("cancel", [step("a"), step("b", depends_on=["a"])]))
    id = engine.start_workflow("py/cancel", {"number": 2}).id
    engine.cancel_workflow(id)
    run = engine.workflow(id)
    assert (run.state, run.step("a").state, run.step("b").state) == ("cancelled", "cancelled", "cancelled")
    assert engine.drain()["completed"] == 0


def test_an_idempotency_key_starts_one_run(engine):
    engine.define_workflow(template("once", [step("a")]))
    first = engine.start_workflow("py/once", {"number": 1}, idempotency_key="order-7").id
    assert engine.start_workflow("py/once", {"number": 1}, idempotency_key="order-7").id == first
    assert engine.start_workflow("py/once", {"number": 1}).id != first


def test_wait_workflow_waits_with_the_gil_released_while_the_background_worker_runs_it(engine):
    go = threading.Event()
    engine.add_handler("gate", lambda step: go.wait(timeout=30))
    engine.define_workflow(template("gated", [step("gate", "gate")]))
    id = engine.start_workflow("py/gated", {}).id
    engine.start()
    try:
        with pytest.raises(cogwork.TaskTimeoutError, match=f"workflow run {id}"):
            engine.wait_workflow(id, timeout=0.2)
        threading.Timer(0.2, go.set).start()  # a Python thread that runs while the main one waits
        assert engine.wait_workflow(id, timeout=30).step("gate").result is True
    finally:
        engine.stop()


def test_unknown_templates_runs_and_bad_templates_raise(engine):
    with pytest.raises(cogwork.WorkflowNotFoundError):
        engine.start_workflow("py/nonesuch", {})
    with pytest.raises(cogwork.WorkflowNotFoundError):
        engine.workflow(987654)
    with pytest.raises(cogwork.CogworkError, match="cycle|depends"):
        engine.define_workflow(template("loop", [step("a", depends_on=["b"]), step("b", depends_on=["a"])]))
    with pytest.raises(TypeError, match=r"template\.steps\[0\]\.extra"):
        engine.define_workflow(template("bad", [{"name": "a", "handler": "square", "extra": object()}]))


def test_start_workflow_returns_the_run_and_workflows_lists_runs_newest_first(engine):
    engine.define_workflow(template("listed", [step("a")]))
    engine.define_workflow(template("other", [step("a")]))
    run = engine.start_workflow("py/listed", {"number": 3})
    assert isinstance(run, cogwork.WorkflowRun)
    assert (run.workflow, run.version, run.state, run.context) == ("py/listed", "1.0.0", "running", {"number": 3})
    assert run.step("a").state in ("ready", "waiting")
    second = engine.start_workflow("py/listed", {"number": 4})
    other = engine.start_workflow("py/other", {"number": 5})
    assert [r.id for r in engine.workflows()] == [other.id, second.id, run.id]
    assert [r.id for r in engine.workflows("py/listed")] == [second.id, run.id]
    assert [r.id for r in engine.workflows(limit=1)] == [other.id]
    engine.drain()
    assert [r.id for r in engine.workflows(state="completed")] == [other.id, second.id, run.id]
    assert engine.workflows(state="running") == []
    with pytest.raises(ValueError, match="^unknown workflow run state `finished`; states are running, completed, failed, cancelled$"):
        engine.workflows(state="finished")


def test_a_run_of_coroutine_steps_worked_in_the_background_is_waited_for(engine):
    @engine.handler("async_square")
    async def async_square(step):
        await asyncio.sleep(0)
        return only_parent(step) ** 2

    engine.define_workflow(template("async", [step("a", "async_square"), step("b", "async_square", ["a"])]))
    engine.start(threads=2)
    try:
        run = engine.wait_workflow(engine.start_workflow("py/async", {"number": 2**16}).id, timeout=30)
    finally:
        engine.stop()
    assert (run.state, run.step("b").result) == ("completed", 2**64)
