# frozen_string_literal: true

require "spec_helper"
require "logger"
require "cogwork/active_job"

# Debian's real Active Job (ruby-activejob, 6.1) on the cogwork adapter: jobs are enqueued in a
# SQLite file and performed by the engine's Ruby handler threads.
ActiveJob::Base.logger = Logger.new(nil)
GlobalID.app = "cogwork-spec"

module ActiveJobSpec
  # What the jobs saw, pushed from handler threads.
  PERFORMED = Queue.new

  def self.performed
    Array.new(PERFORMED.size) { PERFORMED.pop }
  end

  # A model Active Job passes by GlobalID ("gid://cogwork-spec/ActiveJobSpec::Person/7").
  class Person
    include GlobalID::Identification
    attr_reader :id

    def self.find(id) = new(id)

    def initialize(id)
      @id = id.to_i
    end
  end

  class Flaky < StandardError; end
  class Hopeless < StandardError; end

  class GreetJob < ActiveJob::Base
    queue_as :mailers

    def perform(person, greeting, options)
      PERFORMED << [:greet, person.id, greeting, options, executions, provider_job_id, queue_name]
    end
  end

  class RecordJob < ActiveJob::Base
    def perform(name) = PERFORMED << [:record, name]
  end

  # Fails with Flaky on its first execution; retry_on enqueues it again.
  class FlakyJob < ActiveJob::Base
    retry_on Flaky, wait: 0, attempts: 3

    def perform(name)
      PERFORMED << [:flaky, name, executions]
      raise Flaky, "not yet" if executions == 1
    end
  end

  # Always fails: retry_on gives up after 2 executions and lets the error reach cogwork.
  class HopelessJob < ActiveJob::Base
    retry_on Hopeless, wait: 0, attempts: 2

    def perform
      PERFORMED << [:hopeless, executions]
      raise Hopeless, "never"
    end
  end

  class DiscardedJob < ActiveJob::Base
    discard_on Hopeless

    def perform
      PERFORMED << [:discarded, executions]
      raise Hopeless, "discard me"
    end
  end

  class BrokenJob < ActiveJob::Base
    def perform = raise(Hopeless, "broken")
  end

  class ParentJob < ActiveJob::Base
    def perform(n)
      PERFORMED << [:parent, n]
      RecordJob.perform_later("child of #{n}")
    end
  end
end

RSpec.describe ActiveJob::QueueAdapters::CogworkAdapter do
  include_context "an engine on a SQLite file"

  # Failing jobs are the point here: not logged.
  let(:engine) { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: 1, database: @database, logger: false) }
  let(:adapter) { described_class.new(engine: engine, max_attempts: 1) }

  around do |example|
    previous = ActiveJob::Base.queue_adapter
    ActiveJob::Base.queue_adapter = adapter
    ActiveJobSpec.performed
    example.run
  ensure
    ActiveJob::Base.queue_adapter = previous
  end

  def active_jobs = engine.jobs(target: "active_job")

  it "is the adapter `queue_adapter = :cogwork` selects, on the engine assigned to the class" do
    described_class.engine = engine
    ActiveJob::Base.queue_adapter = :cogwork
    expect(ActiveJob::Base.queue_adapter).to be_a(described_class)
    expect(ActiveJob::Base.queue_adapter.engine).to be(engine)
    job = ActiveJobSpec::RecordJob.perform_later("through the class's engine")
    expect(engine.job(job.provider_job_id).target).to eq("active_job")
  ensure
    described_class.engine = nil
  end

  it "opens its default engine with Cogwork.configure's settings, and a new one in a forked process" do
    Cogwork.configure do |config|
      config.database = @database
      config.workers = 1
      config.logger = false
    end
    described_class.engine = nil
    parent = described_class.engine
    ActiveJob::Base.queue_adapter = :cogwork
    first = ActiveJobSpec::RecordJob.perform_later("in the parent")
    expect(parent.job(first.provider_job_id).target).to eq("active_job")

    _pid, report = CogworkSpec.in_fork do
      child = described_class.engine
      [child.equal?(parent), ActiveJobSpec::RecordJob.perform_later("in the child").provider_job_id].inspect
    end
    expect(report).to eq("[false, #{first.provider_job_id + 1}]")
    expect(parent.drain).to include(completed: 2)
    # Two handler threads share the two jobs: either may finish first.
    expect(ActiveJobSpec.performed).to contain_exactly([:record, "in the parent"], [:record, "in the child"])
  ensure
    Cogwork.reset_configuration
    parent&.close
    described_class.engine = nil
  end

  it "enqueues the serialized job on its queue, with the cogwork id as provider_job_id, and performs it" do
    job = ActiveJobSpec::GreetJob.set(priority: 5).perform_later(ActiveJobSpec::Person.new(7), "bonjour", {"loud" => true})
    stored = engine.job(job.provider_job_id)
    expect(stored).to have_attributes(target: "active_job", state: "ready", queue: "mailers", priority: -5, max_attempts: 1)
    expect(stored.input).to include(
      "job_class" => "ActiveJobSpec::GreetJob", "job_id" => job.job_id, "queue_name" => "mailers", "priority" => 5,
      "arguments" => [{"_aj_globalid" => "gid://cogwork-spec/ActiveJobSpec::Person/7"}, "bonjour", {"loud" => true, "_aj_symbol_keys" => []}]
    )

    expect(engine.drain(queues: ["mailers"])).to include(completed: 1, dead: 0)
    expect(ActiveJobSpec.performed).to eq([[:greet, 7, "bonjour", {"loud" => true}, 1, job.provider_job_id, "mailers"]])
    expect(engine.job(job.provider_job_id)).to have_attributes(state: "completed", output: nil)
  end

  it "schedules enqueue_at for its epoch seconds" do
    at = Time.now + 3600
    job = ActiveJobSpec::RecordJob.set(wait_until: at).perform_later("later")
    stored = engine.job(job.provider_job_id)
    expect(stored.state).to eq("scheduled")
    expect(stored.run_at.to_f).to be_within(0.001).of(at.to_f)
    expect(engine.drain).to include(completed: 0)
    expect(ActiveJobSpec.performed).to eq([])
  end

  it "turns Active Job's priority (lower first) into cogwork's (higher first) by negating it" do
    ten = ActiveJobSpec::RecordJob.set(priority: 10).perform_later("ten")
    one = ActiveJobSpec::RecordJob.set(priority: 1).perform_later("one")
    unset = ActiveJobSpec::RecordJob.perform_later("unset")
    expect([ten, one, unset].map { |job| engine.job(job.provider_job_id).priority }).to eq([-10, -1, 0])
  end

  it "runs a job that retry_on retries as a new cogwork job with the next execution count" do
    first = ActiveJobSpec::FlakyJob.perform_later("f")
    expect(engine.drain).to include(completed: 2, dead: 0)
    expect(ActiveJobSpec.performed).to eq([[:flaky, "f", 1], [:flaky, "f", 2]])
    retried, original = active_jobs
    expect(original.id).to eq(first.provider_job_id)
    expect([original.state, retried.state]).to eq(%w[completed completed])
    expect(retried.input).to include("job_id" => first.job_id, "executions" => 1, "exception_executions" => {"[ActiveJobSpec::Flaky]" => 1})
  end

  it "lets the error reach cogwork once retry_on gives up, which records it" do
    ActiveJobSpec::HopelessJob.perform_later
    expect(engine.drain).to include(completed: 1, dead: 1)
    expect(ActiveJobSpec.performed).to eq([[:hopeless, 1], [:hopeless, 2]])
    last = active_jobs.first
    expect(last).to have_attributes(state: "dead", error: include("class" => "ActiveJobSpec::Hopeless", "message" => "never"))
  end

  it "completes a job discard_on discards, without running it again" do
    job = ActiveJobSpec::DiscardedJob.perform_later
    expect(engine.drain).to include(completed: 1, failed: 0, dead: 0)
    expect(ActiveJobSpec.performed).to eq([[:discarded, 1]])
    expect(active_jobs.map(&:id)).to eq([job.provider_job_id])
  end

  it "retries per max_attempts (default 3) an exception no retry_on handles, as cogwork retries any job" do
    ActiveJob::Base.queue_adapter = described_class.new(engine: engine)
    job = ActiveJobSpec::BrokenJob.perform_later
    expect(engine.drain).to include(failed: 1, dead: 0)
    stored = engine.job(job.provider_job_id)
    expect(stored).to have_attributes(state: "retrying", max_attempts: 3)
    expect(stored.attempts.map { |attempt| attempt.error.slice("class", "message") }).to eq([{"class" => "ActiveJobSpec::Hopeless", "message" => "broken"}])
  end

  it "performs a job enqueued by another job in the same drain" do
    ActiveJobSpec::ParentJob.perform_later(1)
    expect(engine.drain).to include(completed: 2)
    expect(ActiveJobSpec.performed).to eq([[:parent, 1], [:record, "child of 1"]])
  end

  it "enqueues a batch in one call with enqueue_all (Rails 7.1's perform_all_later), scheduled ones included" do
    at = Time.now + 60
    now_job = ActiveJobSpec::RecordJob.new("now")
    later_job = ActiveJobSpec::RecordJob.new("later").tap { |job| job.scheduled_at = at.to_f }
    expect(adapter.enqueue_all([now_job, later_job])).to eq(2)
    expect(active_jobs.map(&:id)).to eq([later_job.provider_job_id, now_job.provider_job_id])
    expect(engine.job(later_job.provider_job_id).state).to eq("scheduled")
    expect(engine.drain).to include(completed: 1)
    expect(ActiveJobSpec.performed).to eq([[:record, "now"]])
  end

  describe "inline: true" do
    let(:adapter) { described_class.new(engine: engine, inline: true) }

    it "performs inside perform_later, scheduled jobs and retries included, storing nothing" do
      ActiveJobSpec::ParentJob.perform_later(2)
      ActiveJobSpec::RecordJob.set(wait: 3600).perform_later("not later")
      ActiveJobSpec::FlakyJob.perform_later("g")
      expect(adapter.enqueue_all([ActiveJobSpec::RecordJob.new("a"), ActiveJobSpec::RecordJob.new("b")])).to eq(2)
      expect(ActiveJobSpec.performed).to eq([[:parent, 2], [:record, "child of 2"], [:record, "not later"], [:flaky, "g", 1], [:flaky, "g", 2],
                                             [:record, "a"], [:record, "b"]])
      expect(engine.jobs).to eq([])
    end

    it "raises the job's exception from perform_later" do
      expect { ActiveJobSpec::HopelessJob.perform_later }.to raise_error(ActiveJobSpec::Hopeless, "never")
      expect(ActiveJobSpec.performed).to eq([[:hopeless, 1], [:hopeless, 2]])
    end
  end
end
