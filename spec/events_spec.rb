# frozen_string_literal: true

require "spec_helper"
require "logger"
require "stringio"

# Engine#on: subscribers run on a Ruby thread the binding owns, fed by the core's event bus.
RSpec.describe "Cogwork::Engine#on" do
  include_context "an engine on a SQLite file"

  # Pops +count+ items, failing rather than waiting forever.
  def take(queue, count)
    Timeout.timeout(10) { Array.new(count) { queue.pop } }
  end

  it "delivers job events in order, with the output as detail" do
    engine.handler("twice") { |job| {"n" => job.input["n"] * 2} }
    completed = Queue.new
    engine.on("job.completed") { |event| completed << event }
    ids = [engine.enqueue("twice", {n: 2**64}).id, engine.enqueue("twice", {n: 3}).id]
    engine.drain(concurrency: 1)

    events = take(completed, 2)
    expect(events.map(&:name)).to eq(%w[job.completed job.completed])
    expect(events.map(&:job_id)).to match_array(ids)
    expect(events.map(&:detail)).to match_array([{"n" => 2**65}, {"n" => 6}])
    expect(events.map(&:target)).to eq(%w[twice twice])
    expect(events.first.at).to be_a(Time)
  end

  it "delivers a run's step and workflow events, and logs a subscriber that raises" do
    log = StringIO.new
    Cogwork.logger = Logger.new(log)
    engine.handler("one") { |_step| {"n" => 1} }
    engine.define_workflow({namespace: "spec", name: "events", version: "1.0.0", steps: [{name: "only", handler: "one"}]})
    seen = Queue.new
    engine.on("step.completed", "workflow.*") { |event| seen << [event.name, event.step, event.workflow] }
    engine.on("workflow.completed") { |_event| raise "subscriber broke" }
    run = engine.start_workflow("spec/events")
    engine.drain

    expect(take(seen, 3)).to eq([
      ["workflow.started", nil, "spec/events@1.0.0"],
      ["step.completed", "only", "spec/events@1.0.0"],
      ["workflow.completed", nil, "spec/events@1.0.0"]
    ])
    expect(engine.workflow(run.id).state).to eq("completed")
    engine.close
    expect(log.string).to include("a subscriber to workflow.completed raised RuntimeError: subscriber broke")
  ensure
    Cogwork.logger = nil
  end

  it "refuses unknown event names and a subscriber without a block" do
    expect { engine.on("job.exploded") {} }.to raise_error(Cogwork::ConfigurationError, /unknown event `job.exploded`/)
    expect { engine.on("job.completed") }.to raise_error(ArgumentError, /needs a block/)
  end
end
