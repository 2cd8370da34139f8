# frozen_string_literal: true

require "spec_helper"

# Workflow runs on a real SQLite file whose steps are Ruby handlers (run by the binding's
# threads) and JavaScript tasks (run by real worker processes).
RSpec.describe "Cogwork::Engine workflows" do
  include_context "an engine on a SQLite file"

  def template(name, steps)
    {namespace: "spec", name: name, version: "1.0.0", steps: steps}
  end

  # The one parent's "n", whichever parent it is.
  def parent_n(step)
    step.results.values.first.fetch("n")
  end

  it "runs a linear workflow of Ruby handlers, passing each result on exactly (2**64 stays an Integer)" do
    calls = Queue.new
    engine.handler("square") do |step|
      calls << [step.name, step.attempt, step.run_id]
      n = step.results.empty? ? step.context.fetch("n") : parent_n(step)
      {"n" => n * n}
    end
    ids = engine.define_workflow(template("linear", [
      {name: "a", handler: "square"},
      {name: "b", handler: "square", depends_on: ["a"]},
      {name: "c", handler: "square", depends_on: ["b"]}
    ]))
    expect(ids).to eq(["spec/linear@1.0.0"])

    run = engine.start_workflow("spec/linear", context: {n: 2**16})
    expect(run).to have_attributes(state: "running", workflow: "spec/linear", version: "1.0.0", context: {"n" => 65_536})
    expect(run.steps.map { |step| [step.name, step.state, step.handler] }).to eq([%w[a ready square], %w[b waiting square], %w[c waiting square]])

    engine.drain
    done = engine.workflow(run.id)
    expect(done.state).to eq("completed")
    expect(done.step(:b).result).to eq("n" => 2**64)
    expect(done.step("c").result).to eq("n" => 2**128)
    expect(done.step("c").result["n"]).to be_an(Integer)
    expect(done.steps.map(&:attempts)).to eq([1, 1, 1])
    expect(Array.new(3) { calls.pop }).to eq([["a", 1, run.id], ["b", 1, run.id], ["c", 1, run.id]])
    expect(done.transitions.select { |t| t.step == "b" }.map { |t| [t.from, t.to] })
      .to eq([[nil, "waiting"], %w[waiting ready], %w[ready running], %w[running completed]])
    expect { done.step("z") }.to raise_error(KeyError, /no step `z`; its steps are a, b, c/)
  end

  it "joins a diamond once, with the results keyed by parent and the step's mapped input" do
    engine.handler("seed") { |step| {"n" => step.context.fetch("n")} }
    engine.handler("add") { |step| {"n" => step.input.fetch("n") + 1} }
    engine.handler("times") { |step| {"n" => parent_n(step) * 10} }
    engine.handler("join") { |step| {"seen" => step.results, "input" => step.input} }
    engine.define_workflow(template("diamond", [
      {name: "top", handler: "seed"},
      {name: "left", handler: "add", depends_on: ["top"], input: {n: "$.results.top.n"}},
      {name: "right", handler: "times", depends_on: ["top"]},
      {name: "bottom", handler: "join", depends_on: %w[left right]}
    ]))
    run = engine.start_workflow("spec/diamond", context: {n: 2**64})
    engine.drain(concurrency: 4)

    done = engine.workflow(run.id)
    expect(done.state).to eq("completed")
    expect(done.step("bottom").result).to eq("seen" => {"left" => {"n" => 2**64 + 1}, "right" => {"n" => 2**64 * 10}}, "input" => nil)
  end

  it "runs a tree: each leaf gets its own branch's result, and 2**64 stays an exact Integer" do
    engine.handler("root") { |step| {"n" => step.context.fetch("n")} }
    engine.handler("branch") { |step| {"n" => parent_n(step) * (step.name == "left" ? 2 : 3)} }
    engine.handler("leaf") { |step| {"n" => parent_n(step) + (step.name.end_with?("1") ? 1 : -1)} }
    engine.define_workflow(template("tree", [
      {name: "root", handler: "root"},
      {name: "left", handler: "branch", depends_on: ["root"]},
      {name: "right", handler: "branch", depends_on: ["root"]},
      {name: "left1", handler: "leaf", depends_on: ["left"]},
      {name: "left2", handler: "leaf", depends_on: ["left"]},
      {name: "right1", handler: "leaf", depends_on: ["right"]},
      {name: "right2", handler: "leaf", depends_on: ["right"]}
    ]))
    run = engine.start_workflow("spec/tree", context: {n: 2**64})
    engine.drain(concurrency: 3)

    done = engine.workflow(run.id)
    expect(done.state).to eq("completed")
    leaves = %w[left1 left2 right1 right2].to_h { |name| [name, done.step(name).result["n"]] }
    expect(leaves).to eq("left1" => 2**65 + 1, "left2" => 2**65 - 1, "right1" => 3 * 2**64 + 1, "right2" => 3 * 2**64 - 1)
    expect(leaves.values).to all(be_an(Integer))
    expect(done.step("root").result).to eq("n" => 18_446_744_073_709_551_616)
  end

  it "mixes a JavaScript step and a Ruby step" do
    engine.handler("describe") { |step| {"text" => "#{step.context["name"]}: #{step.results["product"]["product"]}"} }
    engine.define_workflow(template("mixed", [
      {name: "product", task: "multiply", input: {num1: "$.context.a", num2: "$.context.b"}},
      {name: "describe", handler: "describe", depends_on: ["product"]}
    ]))
    run = engine.start_workflow("spec/mixed", context: {name: "area", a: 6, b: 7})
    expect(run.step("product").task).to eq("multiply")
    engine.drain

    done = engine.workflow(run.id)
    expect(done.state).to eq("completed")
    expect(done.step("product").result).to eq("product" => 42)
    expect(done.step("describe").result).to eq("text" => "area: 42")
  end

  it "defines templates from a file and runs the example linear workflow on JavaScript tasks" do
    expect(engine.define_workflow(File.join(CogworkSpec::EXAMPLES, "workflows/linear.yaml")))
      .to eq(["linear_workflow/mathematical_sequence@1.0.0"])
    run = engine.start_workflow("linear_workflow/mathematical_sequence", context: {even_number: 6}, idempotency_key: "once")
    again = engine.start_workflow("linear_workflow/mathematical_sequence", context: {even_number: 6}, idempotency_key: "once")
    expect(again.id).to eq(run.id)
    engine.drain
    expect(engine.workflow(run.id).step("square_again").result).to eq("product" => 1296)
    expect(engine.workflow(run.id).step("halve").result).to eq("product" => 651)
    expect(engine.workflows(workflow: "linear_workflow/mathematical_sequence", state: :completed).map(&:id)).to eq([run.id])
  end

  it "waits for a run without holding the GVL while a started worker runs its steps" do
    engine.handler("slow") { |step| sleep 0.1; {"n" => step.context["n"]} }
    engine.define_workflow(template("waiting", [{name: "only", handler: "slow"}]))
    engine.start
    ticks = 0
    ticker = Thread.new { loop { ticks += 1; sleep 0.005 } }
    run = engine.start_workflow("spec/waiting", context: {n: 5})
    done = engine.wait_workflow(run.id, timeout: 30)
    ticker.kill
    expect(done.step("only").result).to eq("n" => 5)
    expect(ticks).to be > 5
  end

  it "lets Timeout.timeout interrupt wait_workflow, after which the engine goes on" do
    engine.handler("later") { |_step| {"n" => 1} }
    engine.define_workflow(template("interrupted", [{name: "only", handler: "later"}]))
    run = engine.start_workflow("spec/interrupted")
    expect { Timeout.timeout(0.2) { engine.wait_workflow(run.id) } }.to raise_error(Timeout::Error)
    engine.drain
    expect(engine.wait_workflow(run.id, timeout: 10).step("only").result).to eq("n" => 1)
  end

  it "raises TimeoutError when a run does not finish in time, and WorkflowNotFoundError for no run" do
    engine.handler("never_run") { |_step| {} }
    engine.define_workflow(template("stuck", [{name: "only", handler: "never_run"}]))
    run = engine.start_workflow("spec/stuck")
    expect { engine.wait_workflow(run.id, timeout: 0.2) }.to raise_error(Cogwork::TimeoutError)
    expect { engine.workflow(987_654) }.to raise_error(Cogwork::WorkflowNotFoundError)
    expect { engine.start_workflow("spec/absent") }.to raise_error(Cogwork::WorkflowNotFoundError)
  end

  describe "operator moves" do
    before do
      @breaks = true
      engine.handler("ok") { |_step| {"n" => 1} }
      engine.handler("fragile") { |_step| @breaks ? raise(KeyError, "not yet") : {"n" => 2} }
      engine.define_workflow(template("fragile", [
        {name: "a", handler: "ok"},
        {name: "fragile", handler: "fragile", depends_on: ["a"], retry: {max_attempts: 1}},
        {name: "after", handler: "ok", depends_on: ["fragile"]}
      ]))
      @run = engine.start_workflow("spec/fragile")
      engine.drain
    end

    it "fails the run with the step's error and blocks what follows" do
      failed = engine.workflow(@run.id)
      expect(failed.state).to eq("failed")
      expect(failed.step("fragile")).to have_attributes(state: "failed", error: include("class" => "KeyError", "message" => "not yet"))
      expect(failed.step("after").state).to eq("blocked")
      expect { engine.replay(@run.id, "nowhere") }.to raise_error(Cogwork::Error, /nowhere/)
    end

    it "retries a failed step" do
      @breaks = false
      engine.retry_step(@run.id, "fragile")
      engine.drain
      expect(engine.workflow(@run.id)).to have_attributes(state: "completed")
      expect(engine.workflow(@run.id).step("fragile").result).to eq("n" => 2)
    end

    it "resolves a failed step with a result of the operator's" do
      engine.resolve_step(@run.id, :fragile, {n: 2**70})
      engine.drain
      done = engine.workflow(@run.id)
      expect(done.state).to eq("completed")
      expect(done.step("fragile").result).to eq("n" => 2**70)
      expect { engine.resolve_step(@run.id, "fragile", {}) }.to raise_error(Cogwork::InvalidWorkflowStateError)
    end

    it "replays from a step, and cancels a run" do
      @breaks = false
      engine.retry_step(@run.id, "fragile")
      engine.drain
      engine.replay(@run.id, "after")
      expect(engine.workflow(@run.id).step("after").state).to eq("ready")
      engine.cancel_workflow(@run.id)
      expect(engine.workflow(@run.id).state).to eq("cancelled")
    end
  end
end
