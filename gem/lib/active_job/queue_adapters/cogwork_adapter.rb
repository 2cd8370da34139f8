# frozen_string_literal: true

require "active_job"
require "cogwork"

module ActiveJob
  module QueueAdapters
    # Runs Active Job jobs as durable cogwork jobs: every one is a job of the handler
    # "active_job" (TARGET), whose input is the job's serialization (class, arguments with
    # their GlobalIDs, queue, executions...). Select it with
    #
    #   config.active_job.queue_adapter = :cogwork          # Rails
    #   ActiveJob::Base.queue_adapter = :cogwork             # plain Active Job
    #
    # and work the queues in a process of the application (see the README's "Rails" section):
    #
    #   ActiveJob::Base.queue_adapter.engine.work(queues: %w[default mailers], concurrency: 5)
    #
    # Queue names become cogwork queues; +provider_job_id+ is the cogwork job id; a job's
    # priority keeps Active Job's convention (lower runs first, as with Delayed Job, Solid
    # Queue and GoodJob): priority +n+ is cogwork priority +-n+. +retry_on+ and +discard_on+
    # work as Rails documents: a retry is a new cogwork job, scheduled for the retry's time;
    # an exception neither handles reaches cogwork, which records it (class, message,
    # backtrace) and retries the job up to +max_attempts+ attempts, as Sidekiq does.
    #
    # Active Job (6.1 as Debian ships it) calls #enqueue and #enqueue_at; Rails 7.1's
    # +perform_all_later+ calls #enqueue_all, which enqueues in one transaction.
    class CogworkAdapter
      # The cogwork handler that runs every Active Job job.
      TARGET = "active_job"

      class << self
        # The engine adapters built without one use (Rails builds the adapter with no
        # arguments): the one assigned with #engine= (in an initializer; in a forked process,
        # such as a Puma worker, assign a new one in +on_worker_boot+), else an engine with
        # cogwork's defaults, opened at first use, and opened again in a forked process.
        # @return [Cogwork::Engine]
        def engine
          @engine = register(@engine.call) if @engine.is_a?(Proc)
          return @engine if @engine && (@opened_in.nil? || @opened_in == Process.pid)

          @opened_in = Process.pid
          @engine = register(Cogwork::Engine.new)
        end

        # Sets the engine: a Cogwork::Engine, a Proc that opens one at first use (cogwork/rspec
        # gives each example's), or nil for the default.
        # @param engine [Cogwork::Engine, Proc, nil]
        def engine=(engine)
          @opened_in = nil
          @engine = engine.nil? || engine.is_a?(Proc) ? engine : register(engine)
        end

        # Registers the "active_job" handler on +engine+. :nodoc:
        # @param engine [Cogwork::Engine]
        # @return [Cogwork::Engine] +engine+
        def register(engine)
          engine.handler(TARGET, Executor)
          engine
        end
      end

      # engine::       the Cogwork::Engine to enqueue on (default: CogworkAdapter.engine, at
      #                each call)
      # inline::       true runs each job at once inside +perform_later+ (and +set(wait:)+),
      #                its exceptions propagating, with nothing stored: a test mode for Rails
      #                suites, like Active Job's inline adapter
      # max_attempts:: cogwork attempts per enqueued job (default 3): a worker that crashes,
      #                or an exception +retry_on+ does not handle, runs the job again until then
      # @param engine [Cogwork::Engine, nil]
      # @param inline [Boolean]
      # @param max_attempts [Integer]
      def initialize(engine: nil, inline: false, max_attempts: 3)
        @engine = engine && self.class.register(engine)
        @inline = inline
        @max_attempts = max_attempts
      end

      # The engine this adapter enqueues on, with the "active_job" handler registered.
      # @return [Cogwork::Engine]
      def engine
        @engine || self.class.engine
      end

      # Enqueues +job+ to run as soon as a worker takes it (inline: performs it now).
      # @param job [ActiveJob::Base]
      # @return [void]
      # @raise [Cogwork::Error] when the job store refuses it
      def enqueue(job)
        return ActiveJob::Base.execute(job.serialize) if @inline

        job.provider_job_id = engine.enqueue(TARGET, job.serialize, **options(job)).id
      end

      # Enqueues +job+ to run at +timestamp+ (inline: performs it now).
      # @param job [ActiveJob::Base]
      # @param timestamp [Numeric] epoch seconds
      # @return [void]
      # @raise (see #enqueue)
      def enqueue_at(job, timestamp)
        return ActiveJob::Base.execute(job.serialize) if @inline

        job.provider_job_id = engine.enqueue(TARGET, job.serialize, **options(job, timestamp)).id
      end

      # Enqueues +jobs+ in one transaction (Rails 7.1's +ActiveJob.perform_all_later+); returns
      # how many were enqueued.
      # @param jobs [Array<ActiveJob::Base>]
      # @return [Integer]
      # @raise (see #enqueue)
      def enqueue_all(jobs)
        return jobs.each { |job| ActiveJob::Base.execute(job.serialize) }.size if @inline

        specs = jobs.map { |job| {target: TARGET, input: job.serialize, **options(job, job.scheduled_at)} }
        engine.enqueue_all(specs).zip(jobs) do |enqueued, job|
          job.provider_job_id = enqueued.id
          job.successfully_enqueued = true if job.respond_to?(:successfully_enqueued=)
        end
        jobs.size
      end

      private

      def options(job, run_at = nil)
        options = {queue: job.queue_name, priority: -(job.priority || 0), max_attempts: @max_attempts}
        run_at ? options.merge(run_at: run_at) : options
      end

      # The "active_job" handler: performs the job its input serializes, with the cogwork job
      # id as provider_job_id. Returns nil: what +perform+ returns is not the job's output.
      module Executor
        # @param job [Cogwork::Job]
        # @return [nil]
        def self.call(job)
          ActiveJob::Base.execute(job.input.merge("provider_job_id" => job.id))
          nil
        end
      end
      private_constant :Executor
    end
  end
end
