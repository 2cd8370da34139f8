# frozen_string_literal: true

require "spec_helper"

# Handlers that misbehave, callers that interrupt, engines used where they must not be: each
# is recorded or refused, and the worker goes on serving. Real threads, a real fork.
RSpec.describe "Cogwork::Engine faults" do
  include_context "an engine on a SQLite file"

  # Waits (without a fixed sleep) until the job is in +state+.
  def await_state(id, state)
    sleep 0.01 until engine.job(id).state == state
  end

  describe "a handler" do
    it "that raises, calls exit or kills its thread fails its attempt, and the jobs after it still run" do
      engine.handler("raises") { |_job| raise KeyError, "no such key" }
      engine.handler("exits") { |_job| exit 3 }
      engine.handler("kills") { |_job| Thread.current.kill }
      engine.handler("works") { |job| {"n" => job.input["n"], "thread" => Thread.current.name} }
      faulty = %w[raises exits kills].map { |target| engine.enqueue(target, {}, max_attempts: 1) }
      fine = Array.new(3) { |n| engine.enqueue("works", {n: n}) }

      # One thread, so the jobs after each fault run on the same pool (a new thread after the kill).
      expect(engine.drain(concurrency: 1)).to eq(completed: 3, failed: 0, dead: 3, released: 0)
      errors = faulty.map { |job| engine.job(job.id).error.slice("class", "message") }
      expect(errors).to eq([
        {"class" => "KeyError", "message" => "no such key"},
        {"class" => "SystemExit", "message" => "exit"},
        {"class" => "Thread#kill", "message" => "the thread running this job's handler was killed"}
      ])
      expect(fine.map { |job| engine.job(job.id).output }).to eq(Array.new(3) { |n| {"n" => n, "thread" => "cogwork-handler-0"} })
      expect(engine.job(faulty[0].id).error["backtrace"].first).to include("faults_spec.rb")
    end

    it "that hangs past its timeout is recorded as timed out, and holds up only its thread's share of the jobs queued beside it" do
      started = Queue.new
      release = Queue.new
      engine.handler("hangs") do |_job|
        started << Thread.current
        release.pop
        {"late" => true}
      end
      engine.handler("quick") { |job| {"n" => job.input["n"], "thread" => Thread.current.name} }
      engine.start(concurrency: 2)
      # Both threads wait idle, so the four jobs claimed together are shared two and two.
      hangs, *quick = engine.enqueue_all([{target: "hangs", input: {}, timeout: 0.3, max_attempts: 1}] +
                                         Array.new(3) { |n| {target: "quick", input: {n: n}} })
      stuck = started.pop
      other = (%w[cogwork-handler-0 cogwork-handler-1] - [stuck.name]).first
      quick.drop(1).each { |job| await_state(job.id, "completed") }
      await_state(hangs.id, "dead")
      expect(stuck).to be_alive # still in the handler, holding the job after it
      expect(engine.job(quick[0].id).state).to eq("running")

      release << :go
      await_state(quick[0].id, "completed")
      expect(quick.map { |job| engine.job(job.id).output["thread"] }).to eq([stuck.name, other, other])
      timed_out = engine.job(hangs.id)
      expect(timed_out.output).to be_nil # the late result was ignored
      expect(timed_out.attempts.map(&:state)).to eq(["failed"])
      expect(timed_out.error).to eq("kind" => "engine", "name" => "Timeout", "message" => "handler `hangs` did not return within 0.300s")
      expect(engine.stop).to include(completed: 3, dead: 1)
    end
  end

  describe "an interrupt" do
    it "by Thread#raise ends a blocked drain, and the engine goes on" do
      engine.handler("slow") { |_job| sleep 0.3; {} }
      engine.enqueue("slow", {})
      drainer = Thread.new { engine.drain }.tap { |thread| thread.report_on_exception = false }
      sleep 0.01 until engine.jobs(state: "running").any?
      drainer.raise(Interrupt, "stop draining")
      expect { drainer.join }.to raise_error(Interrupt, "stop draining")
      sleep 0.01 until engine.jobs(state: "completed").any?
      expect(engine.run("addition", {num1: 1, num2: 1})).to eq("sum" => 2)
    end

    # The sqlite3 shell holds the database's write lock until told to roll back.
    def with_database_locked
      locker = IO.popen(["sqlite3", @database.delete_prefix("sqlite://")], "r+")
      locker.puts("PRAGMA journal_mode=WAL; BEGIN EXCLUSIVE; CREATE TABLE held(x); SELECT 'locked';")
      locker.flush
      expect(locker.gets).to eq("wal\n")
      expect(locker.gets).to eq("locked\n")
      yield
    ensure
      locker&.puts("ROLLBACK;")
      locker&.close
    end

    it "by Timeout.timeout ends a job lookup waiting for a locked database, letting go of what it held" do
      with_database_locked do
        # The first job call opens the store, whose migration waits for the write lock.
        expect { Timeout.timeout(0.3) { engine.job(1) } }.to raise_error(Timeout::Error)
      end
      expect { engine.job(1) }.to raise_error(Cogwork::JobNotFoundError)
    end

    it "by Timeout.timeout ends an enqueue waiting for a locked database, and the engine goes on" do
      first = engine.enqueue("addition", {num1: 1, num2: 1})
      with_database_locked do
        expect { Timeout.timeout(0.3) { engine.enqueue("addition", {num1: 2, num2: 2}) } }.to raise_error(Timeout::Error)
      end
      second = engine.enqueue("addition", {num1: 3, num2: 3})
      engine.drain
      # Whether the interrupted enqueue happened is unknown to its caller (its commit may have
      # been under way), as after a network timeout; nothing is left half done either way.
      expect(engine.jobs.map(&:state).uniq).to eq(["completed"])
      expect([first, second].map { |job| engine.job(job.id).output }).to eq([{"sum" => 2}, {"sum" => 6}])
    end

    it "by Thread#raise ends a blocked wait_workflow" do
      engine.handler("never") { |_job| {} } # no worker runs it
      engine.define_workflow({namespace: "spec", name: "stuck", version: "1.0.0", steps: [{name: "a", handler: "never"}]})
      run = engine.start_workflow("spec/stuck")
      waiter = Thread.new { engine.wait_workflow(run.id) }.tap { |thread| thread.report_on_exception = false }
      sleep 0.01 until waiter.status == "sleep"
      waiter.raise(Interrupt, "stop waiting")
      expect { waiter.join }.to raise_error(Interrupt, "stop waiting")
      expect(engine.workflow(run.id).state).to eq("running")
    end
  end

  describe "the GVL" do
    # Counts on another Ruby thread while the block blocks in the engine: the count only
    # grows if the blocked call released the GVL.
    def count_while
      count = 0
      counter = Thread.new { loop { count += 1; Thread.pass } }
      yield
      counter.kill.join
      count
    end

    it "is released while wait_workflow and work block" do
      engine.handler("slow") { |_job| sleep 0.2; {"ok" => true} }
      engine.define_workflow({namespace: "spec", name: "gvl", version: "1.0.0", steps: [{name: "a", handler: "slow"}]})
      run = engine.start_workflow("spec/gvl")
      engine.start
      expect(count_while { expect(engine.wait_workflow(run.id, timeout: 10).state).to eq("completed") }).to be > 1000
      engine.stop

      worker = nil
      count = count_while do
        worker = Thread.new { engine.work }
        sleep 0.01 until engine.instance_variable_get(:@worker) # working, with its INT trap set
        sleep 0.2
        Process.kill("INT", Process.pid)
        expect(worker.value).to include(completed: 0)
      end
      expect(count).to be > 1000
    end
  end

  it "is refused after close by every public method with EngineClosedError" do
    engine.close
    calls = {
      run: -> { engine.run("addition", {num1: 1, num2: 1}) },
      execute: -> { engine.execute("addition", {num1: 1, num2: 1}) },
      warnings: -> { engine.warnings },
      now: -> { engine.now },
      advance: -> { engine.advance(1) },
      mock_http: -> { engine.mock_http([]) },
      clear_http_mocks: -> { engine.clear_http_mocks },
      enqueue: -> { engine.enqueue("addition", {}) },
      enqueue_all: -> { engine.enqueue_all([{target: "addition"}]) },
      job: -> { engine.job(1) },
      jobs: -> { engine.jobs },
      cancel: -> { engine.cancel(1) },
      retry: -> { engine.retry(1) },
      stats: -> { engine.stats },
      handler: -> { engine.handler("h") { {} } },
      drain: -> { engine.drain },
      start: -> { engine.start },
      stop: -> { engine.stop },
      work: -> { engine.work },
      on: -> { engine.on("job.completed") { nil } },
      define_workflow: -> { engine.define_workflow({namespace: "a", name: "b", version: "1.0.0", steps: [{name: "s", task: "addition"}]}) },
      start_workflow: -> { engine.start_workflow("a/b") },
      workflow: -> { engine.workflow(1) },
      workflows: -> { engine.workflows },
      wait_workflow: -> { engine.wait_workflow(1) },
      cancel_workflow: -> { engine.cancel_workflow(1) },
      retry_step: -> { engine.retry_step(1, "s") },
      resolve_step: -> { engine.resolve_step(1, "s", {}) },
      replay: -> { engine.replay(1, "s") },
      schedule: -> { engine.schedule("n", "* * * * *", "addition") },
      schedules: -> { engine.schedules },
      remove_schedule: -> { engine.remove_schedule("n") },
      set_schedule_enabled: -> { engine.set_schedule_enabled("n", true) }
    }
    untested = Cogwork::Engine.public_instance_methods(false) - calls.keys - %i[close logger]
    expect(untested).to eq([])
    calls.each do |name, call|
      expect(&call).to raise_error(Cogwork::EngineClosedError, /closed/), "#{name} did not raise EngineClosedError"
    end
    expect(engine.close).to be_nil
  end

  it "closes as a no-op in a forked child, leaving the parent's engine working" do
    engine.handler("noop") { |_job| {} }
    engine.start
    _, closed = CogworkSpec.in_fork { engine.close.inspect }
    expect(closed).to eq("nil")
    job = engine.enqueue("noop", {})
    sleep 0.01 until engine.job(job.id).state == "completed"
    expect(engine.stop).to include(completed: 1)
  end

  it "in a forked child refuses drain and wait_workflow rather than hang" do
    engine.handler("noop") { |_job| {} }
    _, drained = CogworkSpec.in_fork { engine.drain && "drained the parent's queue" }
    pid, waited = CogworkSpec.in_fork { engine.wait_workflow(1) && "waited in the child" }
    expect(drained).to include("cannot be used in forked process")
    expect(waited).to include("cannot be used in forked process #{pid}")
    expect(engine.drain).to include(completed: 0)
  end
end
