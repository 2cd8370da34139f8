# frozen_string_literal: true

require "spec_helper"

# Jobs on a real SQLite file, worked by the engine's real worker processes (JavaScript tasks)
# and by Ruby handler threads the binding owns.
RSpec.describe "Cogwork::Engine jobs" do
  include_context "an engine on a SQLite file"

  describe "#enqueue and #job" do
    it "enqueues a task job and reads it back with its attempts once drained" do
      job = engine.enqueue("addition", {num1: 1, num2: 2}, queue: "math", priority: 5, max_attempts: 4)
      expect(job).to have_attributes(state: "ready", target: "addition", queue: "math", priority: 5,
                                     input: {"num1" => 1, "num2" => 2}, output: nil, attempt: 0, max_attempts: 4,
                                     attempts: [], finished_at: nil)
      expect(job.created_at).to be_a(Time)
      expect(engine.job(job.id).to_h).to eq(job.to_h) # the times too: the ones the store stamped

      expect(engine.drain(queues: ["math"])).to eq(completed: 1, failed: 0, dead: 0, released: 0)
      done = engine.job(job.id)
      expect(done).to have_attributes(state: "completed", output: {"sum" => 3}, attempt: 1, error: nil)
      expect(done.finished_at).to be >= done.created_at
      expect(done.attempts.map { |a| [a.number, a.state, a.error] }).to eq([[1, "completed", nil]])
      expect(done.attempts.first.started_at).to be_a(Time)
      expect(done.attempts.first.worker).to match(/\A#{Process.pid}:\d+\z/)
    end

    it "takes run_at as a Time or epoch seconds and delay as seconds, leaving the job scheduled" do
      soon = Time.now + 3600
      at_time = engine.enqueue("addition", {num1: 1, num2: 1}, run_at: soon)
      at_epoch = engine.enqueue("addition", {num1: 1, num2: 1}, run_at: soon.to_i)
      delayed = engine.enqueue("addition", {num1: 1, num2: 1}, delay: 3600)
      expect([at_time, at_epoch, delayed].map(&:state)).to eq(%w[scheduled scheduled scheduled])
      expect(at_time.run_at).to eq(Time.at(soon.to_i, soon.usec, :usec))
      expect(at_epoch.run_at).to eq(Time.at(soon.to_i))
      expect(engine.drain).to eq(completed: 0, failed: 0, dead: 0, released: 0)
    end

    it "keeps run_at to the exact microsecond, which a Float of epoch seconds would round away" do
      at = Time.at(1_900_000_000, 912_736_999, :nsec)
      expect((at.to_f * 1_000_000).round).to eq(1_900_000_000_912_737) # a Float's rounding
      exact = engine.enqueue("addition", {num1: 1, num2: 1}, run_at: at)
      expect(exact.run_at).to eq(Time.at(1_900_000_000, 912_736, :usec))
      expect(engine.job(exact.id).run_at).to eq(exact.run_at)
      expect(engine.enqueue("addition", {num1: 1, num2: 1}, run_at: 1_900_000_000.25).run_at).to eq(Time.at(1_900_000_000, 250_000, :usec))
      expect { engine.enqueue("addition", {num1: 1, num2: 1}, run_at: Time.at(-1)) }.to raise_error(ArgumentError, /run_at must be a time after 1970/)
    end

    it "takes an ActiveSupport::Duration as delay and timeout, and a TimeWithZone as run_at" do
      require "active_support"
      require "active_support/core_ext/integer/time"
      require "active_support/core_ext/time"
      before = Time.now
      job = engine.enqueue("addition", {num1: 1, num2: 1}, delay: 2.hours, timeout: 1.minute)
      expect(job.state).to eq("scheduled")
      expect(job.run_at - before).to be_within(60).of(7200)

      zoned = Time.at(1_900_000_000, 123_456, :usec).in_time_zone("Asia/Tokyo")
      expect(engine.enqueue("addition", {num1: 1, num2: 1}, run_at: zoned).run_at).to eq(Time.at(1_900_000_000, 123_456, :usec))
    end

    it "names unknown options and refuses values of the wrong type" do
      expect { engine.enqueue("addition", {}, colour: "red") }.to raise_error(ArgumentError, /colour/)
      expect { engine.enqueue("addition", {}, run_at: "tomorrow") }.to raise_error(TypeError, /run_at must be a Time/)
      expect { engine.enqueue("addition", {}, delay: "5") }.to raise_error(TypeError, /delay must be a number of seconds/)
      expect { engine.enqueue("addition", {}, priority: "high") }.to raise_error(TypeError, "priority must be an Integer, not String")
      expect { engine.enqueue("addition", {}, queue: 7) }.to raise_error(TypeError, "queue must be a String or a Symbol, not Integer")
      expect { engine.enqueue("addition", {}, unique_key: :k) }.to raise_error(TypeError, "unique_key must be a String, not Symbol")
      expect { engine.enqueue("addition", {num1: Object.new, num2: 1}) }.to raise_error(TypeError, /num1/)
      expect { engine.enqueue("addition", {num1: "x", num2: 1}) }.to raise_error(Cogwork::InvalidInputError)
      expect { engine.job(424_242) }.to raise_error(Cogwork::JobNotFoundError)
    end

    it "takes nil options as left out, and a Symbol queue" do
      job = engine.enqueue("addition", {num1: 1, num2: 1}, run_at: nil, delay: nil, priority: nil, queue: :mail, unique_key: nil)
      expect(job).to have_attributes(state: "ready", priority: 0, queue: "mail", max_attempts: 3)
    end

    it "keeps one unfinished job per unique_key" do
      first = engine.enqueue("addition", {num1: 1, num2: 1}, unique_key: "once")
      second = engine.enqueue("addition", {num1: 5, num2: 5}, unique_key: "once")
      expect(second.id).to eq(first.id)
    end
  end

  describe "#enqueue_all, #jobs and #stats" do
    it "enqueues in bulk, lists by state, queue and target, and counts by state and queue" do
      jobs = engine.enqueue_all([
        {target: "addition", input: {num1: 1, num2: 1}},
        {target: "addition", input: {num1: 2, num2: 2}, queue: "other"},
        {target: :multiply, input: {num1: 3, num2: 3}, delay: 3600}
      ])
      expect(jobs).to all(be_a(Cogwork::Job))
      expect(jobs.map { |job| [job.target, job.queue, job.state, job.input] }).to eq([
        ["addition", "default", "ready", {"num1" => 1, "num2" => 1}],
        ["addition", "other", "ready", {"num1" => 2, "num2" => 2}],
        ["multiply", "default", "scheduled", {"num1" => 3, "num2" => 3}]
      ])
      ids = jobs.map(&:id)
      # The records enqueue_all returns carry the times the store stamped, to the µs: a job
      # given no time runs from when it was stamped.
      expect(engine.jobs.map(&:to_h)).to eq(jobs.reverse.map(&:to_h))
      expect(jobs.first(2).map(&:run_at)).to eq(jobs.first(2).map(&:created_at))
      expect(engine.jobs(queue: "other").map(&:id)).to eq([ids[1]])
      expect(engine.jobs(target: :multiply).map(&:id)).to eq([ids[2]])
      expect(engine.jobs(state: %w[ready scheduled], limit: 2).map(&:id)).to eq(ids.last(2).reverse)
      expect { engine.jobs(state: "asleep") }.to raise_error(ArgumentError, /unknown job state `asleep`/)
      expect { engine.jobs(limit: "5") }.to raise_error(TypeError, "limit must be an Integer, not String")
      expect { engine.stats(window: "1m") }.to raise_error(TypeError, /\Awindow must be a number of seconds/)

      engine.drain
      stats = engine.stats
      expect(stats[:by_state]).to eq("completed" => 1, "ready" => 1, "scheduled" => 1)
      expect(stats[:by_queue]).to eq("default" => {"completed" => 1, "scheduled" => 1}, "other" => {"ready" => 1})
      expect(stats[:completed]).to eq(1)
    end
  end

  describe "#cancel and #retry" do
    it "cancels a waiting job and runs it again on retry" do
      job = engine.enqueue("addition", {num1: 20, num2: 22}, delay: 3600)
      engine.cancel(job.id)
      expect(engine.job(job.id).state).to eq("cancelled")
      expect { engine.cancel(job.id) }.to raise_error(Cogwork::InvalidJobStateError)
      engine.retry(job.id)
      engine.drain
      expect(engine.job(job.id)).to have_attributes(state: "completed", output: {"sum" => 42})
    end
  end

  describe "#handler" do
    it "runs a block and an object responding to call, with the job and exact Integers" do
      doubler = Class.new { def call(job) = {"twice" => job.input.fetch("n") * 2, "queue" => job.queue} }.new
      engine.handler("double", doubler)
      seen = Queue.new
      engine.handler(:record) do |job|
        seen << [job.id, job.attempt, job.target]
        {"n" => job.input["n"]}
      end
      big = engine.enqueue("double", {n: 2**64})
      recorded = engine.enqueue("record", {n: -(2**100)})

      expect(engine.drain(concurrency: 3)).to include(completed: 2, dead: 0)
      expect(engine.job(big.id).output).to eq("twice" => 2**65, "queue" => "default")
      expect(engine.job(recorded.id).output).to eq("n" => -(2**100))
      expect(seen.pop).to eq([recorded.id, 1, "record"])
    end

    it "records an exception as a failed attempt with class, message and backtrace, retried per policy" do
      engine.handler("fragile") { |job| raise ArgumentError, "bad #{job.input["n"]}" }
      engine.handler("quitter") { |_job| exit 3 }
      retried = engine.enqueue("fragile", {n: 7}, max_attempts: 2)
      dead = engine.enqueue("fragile", {n: 8}, max_attempts: 1)
      quit = engine.enqueue("quitter", {}, max_attempts: 1)

      expect(engine.drain).to include(completed: 0, failed: 1, dead: 2)
      retrying = engine.job(retried.id)
      expect(retrying.state).to eq("retrying")
      expect(retrying.attempts.map(&:state)).to eq(["failed"])
      error = retrying.attempts.first.error
      expect(error).to include("class" => "ArgumentError", "message" => "bad 7")
      expect(error["backtrace"].first).to include("jobs_spec.rb")
      expect(engine.job(dead.id)).to have_attributes(state: "dead", error: include("class" => "ArgumentError", "message" => "bad 8"))
      expect(engine.job(quit.id).error).to include("class" => "SystemExit")
    end

    it "fails an attempt whose output cannot be converted, naming the path" do
      engine.handler("odd") { |_job| {"at" => Object.new} }
      job = engine.enqueue("odd", {}, max_attempts: 1)
      engine.drain
      expect(engine.job(job.id)).to have_attributes(state: "dead", error: include("class" => "TypeError", "message" => /output\.at/))
    end

    it "needs a block or a callable" do
      expect { engine.handler("nothing") }.to raise_error(ArgumentError, /needs a block/)
    end
  end

  describe "#start, #stop and #work" do
    it "works in the background until stopped, while the calling thread goes on" do
      engine.handler("echo_handler") { |job| job.input }
      engine.start(concurrency: 2)
      expect { engine.start }.to raise_error(Cogwork::ConfigurationError, /already working/)
      ids = Array.new(5) { |n| engine.enqueue("echo_handler", {n: n}).id }
      sleep 0.01 until ids.all? { |id| engine.job(id).state == "completed" }
      expect(ids.map { |id| engine.job(id).output["n"] }).to eq([0, 1, 2, 3, 4])
      expect(engine.stop).to include(completed: 5)
      expect(engine.stop).to be_nil
    end

    it "lets Timeout interrupt drain, which stops gracefully: the running handler finishes its job" do
      engine.handler("slow") { |job| sleep 0.5; {"n" => job.input["n"]} }
      job = engine.enqueue("slow", {n: 1})
      expect { Timeout.timeout(0.1) { engine.drain } }.to raise_error(Timeout::Error)
      sleep 0.01 until engine.job(job.id).state == "completed"
      expect(engine.job(job.id)).to have_attributes(output: {"n" => 1}, attempt: 1)
    end

    it "stops the worker when Timeout interrupts work" do
      engine.handler("noop") { |_job| {} }
      expect { Timeout.timeout(0.3) { engine.work } }.to raise_error(Timeout::Error)
      expect(engine.stop).to be_nil
      engine.start
      expect(engine.stop).to include(completed: 0)
    end

    it "refuses to stop a worker from a forked child rather than hang" do
      engine.handler("noop") { |_job| {} }
      engine.start
      pid, report = CogworkSpec.in_fork { engine.stop && "stopped the parent's worker" }
      expect(report).to include("forked process #{pid}")
      expect(engine.stop).to include(completed: 0)
    end

    it "stops gracefully on SIGTERM, restoring the previous handler" do
      engine.handler("slow") { |job| sleep 0.2; {"n" => job.input["n"]} }
      job = engine.enqueue("slow", {n: 1})
      previous = trap("TERM") { raise "the previous handler ran" }
      worker = Thread.new { engine.work }
      sleep 0.01 until engine.job(job.id).state == "running"
      Process.kill("TERM", Process.pid)
      expect(worker.value).to include(completed: 1)
      expect(engine.job(job.id).output).to eq("n" => 1)
      expect(trap("TERM", previous)).to be_a(Proc)
    end
  end

  it "refuses job calls in a forked child with EngineClosedError, and goes on in the parent" do
    job = engine.enqueue("addition", {num1: 1, num2: 1})
    pid, report = CogworkSpec.in_fork { engine.jobs && "the inherited engine listed jobs" }
    expect(report).to include("cannot be used in forked process #{pid}")
    expect(engine.jobs.map(&:id)).to eq([job.id])
  end

  it "raises EngineClosedError after close" do
    engine.close
    expect { engine.enqueue("addition", {num1: 1, num2: 1}) }.to raise_error(Cogwork::EngineClosedError)
    expect { engine.jobs }.to raise_error(Cogwork::EngineClosedError)
  end
end
