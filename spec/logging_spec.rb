# frozen_string_literal: true

require "spec_helper"
require "logger"
require "stringio"

# What an engine logs from its own events: failures and retries at WARN, completions at
# DEBUG, each line the event's name and its fields.
RSpec.describe "Cogwork::Engine logging" do
  include_context "a SQLite database file"

  let(:log) { StringIO.new }

  def logger(level)
    Logger.new(log, level: level, formatter: ->(severity, _, _, message) { "#{severity} #{message}\n" })
  end

  # A job whose handler fails its first attempt and completes its second, run with a manual
  # clock so the retry needs no sleep; the engine is closed so every event is delivered.
  def fail_then_complete(level)
    engine = Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: 1, database: @database, clock: :manual, logger: logger(level))
    calls = 0
    engine.handler("fails_once") { |_job| (calls += 1) == 1 ? raise(ArgumentError, "not yet") : {} }
    id = engine.enqueue("fails_once", {}, max_attempts: 2).id
    engine.drain
    engine.advance(engine.job(id).run_at - engine.now)
    engine.drain
    engine.close
    id
  end

  it "logs failures and retries at WARN and completions at DEBUG, with structured fields" do
    id = fail_then_complete(Logger::DEBUG)
    fields = %(job_id=#{id} target="fails_once" queue="default")
    expect(log.string.lines.map(&:chomp)).to match([
      /\AWARN cogwork job\.failed #{fields} attempt=1 duration_ms=\d+\.\d error="ArgumentError: not yet"\z/,
      /\AWARN cogwork job\.retrying #{fields} attempt=1 duration_ms=\d+\.\d error="ArgumentError: not yet"\z/,
      /\ADEBUG cogwork job\.completed #{fields} attempt=2 duration_ms=\d+\.\d\z/
    ])
  end

  it "hears only failures when the logger is at WARN" do
    id = fail_then_complete(Logger::WARN)
    expect(log.string.lines.map(&:chomp)).to eq([
      %(WARN cogwork job.failed job_id=#{id} target="fails_once" queue="default" attempt=1 error="ArgumentError: not yet"),
      %(WARN cogwork job.retrying job_id=#{id} target="fails_once" queue="default" attempt=1 error="ArgumentError: not yet")
    ])
  end

  it "logs a workflow's failed step and run with their run_id, workflow and step" do
    engine = Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: 1, database: @database, logger: logger(Logger::WARN))
    engine.handler("broken") { |_step| raise "broken step" }
    engine.define_workflow({namespace: "spec", name: "broken", version: "1.0.0", steps: [{name: "only", handler: "broken", retry: {max_attempts: 1}}]})
    run = engine.start_workflow("spec/broken")
    engine.drain
    engine.close
    step = %(run_id=#{run.id} workflow="spec/broken@1.0.0")
    job = %(job_id=1 target="broken" queue="default" attempt=1)
    error = %(error="RuntimeError: broken step")
    expect(log.string.lines.map(&:chomp)).to contain_exactly(
      %(WARN cogwork step.failed job_id=1 attempt=1 #{step} step="only" #{error}),
      %(WARN cogwork workflow.failed #{step}),
      %(WARN cogwork job.failed #{job} #{error}),
      %(WARN cogwork job.dead #{job} #{error})
    )
  end

  it "logs a JavaScript task's error and timeout with the error's name and message" do
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database, logger: logger(Logger::WARN)) do |engine|
      flaky = engine.enqueue("flaky", {amount: 1}, max_attempts: 1)
      spin = engine.enqueue("spin", {}, max_attempts: 1, timeout: 0.2)
      expect(engine.drain).to include(dead: 2)
      [flaky, spin].each { |job| expect(engine.job(job.id).state).to eq("dead") }
    end
    lines = log.string.lines.map(&:chomp)
    expect(lines).to include(%(WARN cogwork job.dead job_id=1 target="flaky" queue="default" attempt=1 error="RateLimitError: slow down"))
    expect(lines.grep(/job\.dead job_id=2 target="spin"/).first).to include('error="Timeout: task `spin@1.0.0` timed out after 0.200s')
  end

  it "listens to no event when the logger is above WARN" do
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database, logger: logger(Logger::ERROR)) do |engine|
      expect(engine.instance_variable_get(:@subscribers)).to eq([])
      engine.handler("broken") { |_job| raise "broken" }
      engine.enqueue("broken", {}, max_attempts: 1)
      expect(engine.drain).to include(dead: 1)
    end
    expect(log.string).to eq("")
  end

  it "logs nothing, and listens to no event, with logger: false" do
    Cogwork.logger = logger(Logger::DEBUG)
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database, logger: false) do |engine|
      expect(engine.logger).to be_nil
      expect(engine.instance_variable_get(:@subscribers)).to eq([])
      engine.handler("broken") { |_job| raise "broken" }
      engine.enqueue("broken", {}, max_attempts: 1)
      expect(engine.drain).to include(dead: 1)
      expect { engine.run("flaky", {amount: 1}) }.to raise_error(Cogwork::TaskFailedError)
    end
    expect(log.string).to eq("")
  ensure
    Cogwork.logger = nil
  end

  it "defaults to Cogwork.logger, which is Rails.logger when Rails is loaded" do
    rails_logger = logger(Logger::WARN)
    stub_const("Rails", Module.new { define_singleton_method(:logger) { rails_logger } })
    expect(Cogwork.logger).to be(rails_logger)
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database) do |engine|
      expect(engine.logger).to be(rails_logger)
      engine.run("flaky", {amount: 1}) rescue nil # rubocop:disable Style/RescueModifier
    end
    expect(log.string).to eq("WARN flaky: the payment API is slow\n")
  end
end
