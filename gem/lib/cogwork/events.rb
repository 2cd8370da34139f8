# frozen_string_literal: true

module Cogwork
  # Something that happened, as Engine#on subscribers receive it.
  #
  # name::     "job.completed", "job.failed", "step.completed", "workflow.completed"...
  # at::       when (a Time)
  # job_id, target, queue:: the job, for job events (job_id also for a step that has one)
  # attempt::  the attempt it concerns (0 before the first)
  # run_id, workflow, step:: the run, its template ("namespace/name@version") and the step,
  #            for workflow and step events
  # detail::   the output of a completed job or step, the error of a failed one, else nil
  Event = Struct.new(:name, :at, :job_id, :target, :queue, :attempt, :run_id, :workflow, :step, :detail, keyword_init: true) do
    def self.from(record) # :nodoc:
      new(**record, at: Times.at(record[:at]))
    end
  end

  # The Ruby thread that runs one Engine#on subscriber: it waits for the next batch of events
  # with the GVL released and calls the subscriber with each, in order. :nodoc:
  class Subscriber
    BATCH = 64
    # Seconds it waits for events before it checks whether to stop.
    WAIT = 0.1

    def initialize(subscription, callable)
      @stopping = false
      @thread = Thread.new { serve(subscription, callable) }.tap { |thread| thread.name = "cogwork-events" }
    end

    # Ends the thread once it delivered the events already published.
    def stop
      @stopping = true
      @thread.join
    end

    private

    def serve(subscription, callable)
      loop do
        stopping = @stopping
        batch = subscription.next_batch(BATCH, stopping ? 0 : WAIT)
        batch.each { |record| deliver(callable, Event.from(record)) }
        break if stopping && batch.empty?
      end
    end

    # A subscriber that raises is logged; the events after it are still delivered.
    def deliver(callable, event)
      callable.call(event)
    rescue StandardError => error
      Cogwork.logger.error("cogwork: a subscriber to #{event.name} raised #{error.class}: #{error.message}")
    end
  end
  private_constant :Subscriber
end
