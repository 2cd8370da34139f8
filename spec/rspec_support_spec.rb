# frozen_string_literal: true

require "spec_helper"
require "logger"
require "cogwork/rspec"
require "cogwork/active_job"

# cogwork/rspec in use: each example's engine is a real engine (in-memory SQLite, one real
# worker process for the JavaScript tasks), with a clock that moves only when told.
Cogwork::Testing.engine_options = {tasks: CogworkSpec::TASKS, workers: 1, logger: false}
ActiveJob::Base.logger = Logger.new(nil)

module RSpecSupportSpec
  class Boom < StandardError; end

  class NotifyJob < ActiveJob::Base
    queue_as :mail

    def perform(user) = raise(Boom, "cannot notify #{user}")
  end
end

RSpec.describe "cogwork/rspec" do
  def doubler = ->(job) { {"n" => job.input.fetch("n") * 2} }

  describe "the example's engine" do
    it "is opened at first use on an in-memory database, with a manual clock, and closed after the example" do
      files = Dir.glob("*.db")
      first = cogwork_engine
      expect(cogwork_engine).to be(first)
      first.handler("double", doubler)
      first.enqueue("double", {n: 1})
      start = first.now
      expect(first.advance(60)).to eq(start + 60)

      Cogwork::Testing.finish
      expect { first.jobs }.to raise_error(Cogwork::EngineClosedError)
      Cogwork::Testing.start(:manual)
      expect(cogwork_engine).not_to be(first)
      expect(cogwork_engine.jobs).to eq([])
      expect(Dir.glob("*.db")).to eq(files)
    end
  end

  describe "manual mode (the default)" do
    it "keeps jobs until Cogwork.drain runs them, in every queue" do
      cogwork_engine.handler("double", doubler)
      job = cogwork_engine.enqueue("double", {n: 21})
      mail = cogwork_engine.enqueue("addition", {num1: 1, num2: 2}, queue: "mail")
      expect(cogwork_engine.job(job.id).state).to eq("ready")

      expect(Cogwork.drain).to include(completed: 2, failed: 0)
      expect(cogwork_engine.job(job.id)).to have_attributes(state: "completed", output: {"n" => 42})
      expect(cogwork_engine.job(mail.id).output).to eq("sum" => 3)
    end

    it "runs a retry when the clock passes its backoff, without sleeping" do
      cogwork_engine.handler("fails_once") { |job| raise "first attempt" if job.attempt == 1; {"attempt" => job.attempt} }
      job = cogwork_engine.enqueue("fails_once", {}, max_attempts: 2)
      expect(Cogwork.drain).to include(failed: 1)
      retrying = cogwork_engine.job(job.id)
      expect(retrying).to have_attributes(state: "retrying", attempt: 1)
      expect(Cogwork.drain).to include(completed: 0)

      cogwork_engine.advance(retrying.run_at - cogwork_engine.now)
      expect(Cogwork.drain).to include(completed: 1)
      expect(cogwork_engine.job(job.id)).to have_attributes(state: "completed", output: {"attempt" => 2})
    end

    it "enqueues and runs a cron tick when the clock reaches it" do
      cogwork_engine.handler("tick") { |job| {"ticked" => job.input["at"]} }
      cogwork_engine.schedule("every-minute", "* * * * *", "tick", {at: "minute"})
      expect(Cogwork.drain).to include(completed: 0)
      expect(cogwork_engine.jobs).to eq([])

      cogwork_engine.advance(cogwork_engine.schedules.first.next_tick - cogwork_engine.now)
      expect(Cogwork.drain).to include(completed: 1)
      expect(cogwork_engine.jobs.map { |job| [job.target, job.output] }).to eq([["tick", {"ticked" => "minute"}]])
    end

    it "answers a task's fetch with the engine's HTTP mocks" do
      cogwork_engine.mock_http(url: "https://payments.example.com/charges", method: "POST", response: {charged: 250})
      job = cogwork_engine.enqueue("charge", {amount: 250})
      Cogwork.drain
      expect(cogwork_engine.job(job.id).output).to eq("charged" => 250)
    end
  end

  describe "inline mode", cogwork: :inline do
    it "runs each job, and the jobs it enqueues, before enqueue returns" do
      cogwork_engine.handler("double", doubler)
      cogwork_engine.handler("fan_out") do |job|
        2.times { |n| cogwork_engine.enqueue("double", {n: job.input["n"] + n}) }
        {}
      end
      job = cogwork_engine.enqueue("fan_out", {n: 10})
      expect(cogwork_engine.job(job.id).state).to eq("completed")
      expect(cogwork_engine.jobs(target: "double").map(&:output)).to eq([{"n" => 22}, {"n" => 20}])
    end

    it "raises a handler's exception from enqueue, after recording it" do
      cogwork_engine.handler("fragile") { |_job| raise ArgumentError, "bad input" }
      expect { cogwork_engine.enqueue("fragile", {}, max_attempts: 1) }.to raise_error(ArgumentError, "bad input")
      expect(cogwork_engine.jobs.first).to have_attributes(state: "dead", error: include("class" => "ArgumentError"))
    end

    it "runs a delayed job when the clock is advanced to it" do
      cogwork_engine.handler("double", doubler)
      job = cogwork_engine.enqueue("double", {n: 4}, delay: 3600)
      expect(cogwork_engine.job(job.id).state).to eq("scheduled")
      cogwork_engine.advance(3600)
      expect(cogwork_engine.job(job.id).output).to eq("n" => 8)
    end
  end

  describe "have_enqueued_cogwork_job" do
    before { cogwork_engine.handler("double", doubler) }

    it "matches the jobs a block enqueued by target, input, queue, time and count" do
      at = cogwork_engine.now + 90
      expect { cogwork_engine.enqueue("double", {n: 1}, queue: "math") }
        .to have_enqueued_cogwork_job("double").with(n: 1).on_queue("math").once
      expect { cogwork_engine.enqueue("double", {n: 2, tags: [:a]}, delay: 3600) }
        .to have_enqueued_cogwork_job(:double).with("n" => 2, "tags" => ["a"]).in(3600)
      expect { cogwork_engine.enqueue("double", {n: 3}, run_at: at) }.to have_enqueued_cogwork_job("double").at(at)
      expect { 2.times { cogwork_engine.enqueue("double", {n: 4, extra: true}) } }
        .to have_enqueued_cogwork_job("double").with(hash_including("n" => 4)).exactly(2)
      expect { cogwork_engine.enqueue("double", {n: 5}) }.not_to have_enqueued_cogwork_job("double").with(n: 1)
      expect(cogwork_engine).to have_enqueued_cogwork_job("double").with(n: 1)
    end

    it "lists what was enqueued when it fails" do
      expect {
        expect { cogwork_engine.enqueue("double", {n: 1}, queue: "math") }.to have_enqueued_cogwork_job("double").on_queue("default")
      }.to raise_error(RSpec::Expectations::ExpectationNotMetError,
                       /expected to have enqueued a cogwork job for "double" on queue "default"; enqueued: double \{"n"=>1\} on math at /)
    end
  end

  describe "with the Active Job adapter" do
    around do |example|
      previous = ActiveJob::Base.queue_adapter
      ActiveJob::Base.queue_adapter = :cogwork
      example.run
    ensure
      ActiveJob::Base.queue_adapter = previous
    end

    it "enqueues on the example's engine" do
      expect { RSpecSupportSpec::NotifyJob.perform_later("ada") }
        .to have_enqueued_cogwork_job("active_job").on_queue("mail")
        .with(hash_including("job_class" => "RSpecSupportSpec::NotifyJob", "arguments" => ["ada"]))
      expect(Cogwork.drain).to include(failed: 1)
    end

    it "raises the job's exception from perform_later in inline mode", cogwork: :inline do
      expect { RSpecSupportSpec::NotifyJob.perform_later("bob") }.to raise_error(RSpecSupportSpec::Boom, "cannot notify bob")
    end
  end
end
