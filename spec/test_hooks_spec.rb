# frozen_string_literal: true

require "spec_helper"

# The hooks test suites (and cogwork/rspec) use: a manual clock that moves when told, and
# engine-wide HTTP mocks for JavaScript fetches. Real worker processes, a real SQLite file.
RSpec.describe "Cogwork::Engine test hooks" do
  include_context "a SQLite database file"

  describe "clock: :manual" do
    let(:engine) { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: 1, database: @database, clock: :manual) }

    after { engine.close }

    it "starts at the current time and moves only when advanced, by seconds or a Duration" do
      require "active_support"
      require "active_support/core_ext/integer/time"
      start = engine.now
      expect(start).to be_a(Time)
      expect(start).to be_within(5).of(Time.now)
      sleep 0.01
      expect(engine.now).to eq(start)
      expect(engine.advance(90)).to eq(start + 90)
      expect(engine.advance(2.minutes)).to eq(start + 210)
      expect(engine.advance(0.5)).to eq(start + 210.5)
      expect(engine.now).to eq(start + 210.5)
      expect { engine.advance(-1) }.to raise_error(ArgumentError, /advance/)
      expect { engine.advance("soon") }.to raise_error(TypeError, /advance must be a number of seconds/)
    end

    it "stamps enqueued jobs with its time, the records enqueue returns equal to the stored ones" do
      jobs = engine.enqueue_all([{target: "addition", input: {num1: 1, num2: 1}}, {target: "addition", input: {num1: 2, num2: 2}, delay: 60}])
      expect(jobs.map { |job| [job.created_at, job.run_at] }).to eq([[engine.now, engine.now], [engine.now, engine.now + 60]])
      expect(engine.jobs.map(&:to_h)).to eq(jobs.reverse.map(&:to_h))
    end

    it "runs a retry once the clock passes its backoff, without sleeping" do
      calls = 0
      engine.handler("fails_once") { |job| (calls += 1) == 1 ? raise("first attempt fails") : {"attempt" => job.attempt} }
      job = engine.enqueue("fails_once", {}, max_attempts: 2)

      expect(engine.drain).to include(completed: 0, failed: 1)
      retrying = engine.job(job.id)
      expect(retrying.state).to eq("retrying")
      expect(retrying.run_at).to be > engine.now
      expect(engine.drain).to include(completed: 0, failed: 0)

      engine.advance(retrying.run_at - engine.now)
      expect(engine.drain).to include(completed: 1)
      expect(engine.job(job.id)).to have_attributes(state: "completed", output: {"attempt" => 2}, attempt: 2)
      expect(calls).to eq(2)
    end

    it "runs a delayed job and a cron tick when the clock reaches them" do
      delayed = engine.enqueue("addition", {num1: 1, num2: 2}, delay: 3600)
      engine.schedule("hourly", "0 * * * *", "multiply", {num1: 6, num2: 7})
      tick = engine.schedules.first.next_tick
      expect(tick).to be > engine.now
      expect(engine.drain).to eq(completed: 0, failed: 0, dead: 0, released: 0)

      engine.advance(tick - engine.now)
      expect(engine.drain).to include(completed: 1)
      expect(engine.jobs(target: "multiply").map { |job| [job.state, job.output] }).to eq([["completed", {"product" => 42}]])
      expect(engine.job(delayed.id).state).to eq("scheduled")

      engine.remove_schedule("hourly")
      engine.advance(3600)
      expect(engine.drain).to include(completed: 1)
      expect(engine.job(delayed.id)).to have_attributes(state: "completed", output: {"sum" => 3})
    end
  end

  it "refuses to advance the system clock" do
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database) do |engine|
      expect(engine.now).to be_within(5).of(Time.now)
      expect { engine.advance(1) }.to raise_error(Cogwork::ConfigurationError, /clock: :manual/)
    end
  end

  describe "#mock_http" do
    let(:charged) { {url: "https://payments.example.com/charges", method: "POST", response: {charged: 250}} }

    it "answers the fetches of jobs and runs that bring no mocks, until cleared" do
      Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: @database) do |engine|
        engine.mock_http(charged)
        job = engine.enqueue("charge", {amount: 250})
        expect(engine.drain).to include(completed: 1)
        expect(engine.job(job.id).output).to eq("charged" => 250)
        expect(engine.run("charge", {amount: 250})).to eq("charged" => 250)

        own = charged.merge(response: {charged: 1})
        expect(engine.run("charge", {amount: 250}, mocks: own)).to eq("charged" => 1)

        # A fetch no mock answers goes to the network, which no fetch_allow allows here.
        engine.mock_http([charged.merge(url: "https://elsewhere.example.com/")])
        expect { engine.run("charge", {amount: 250}) }.to raise_error(Cogwork::TaskFailedError)
        engine.clear_http_mocks
        expect { engine.run("charge", {amount: 250}) }.to raise_error(Cogwork::TaskFailedError)
        expect { engine.mock_http([{method: "GET"}]) }.to raise_error(ArgumentError, /mock \[0\]/)
        expect { engine.mock_http("everything") }.to raise_error(ArgumentError, /mocks must be/)
      end
    end
  end
end
