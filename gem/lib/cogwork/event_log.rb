# frozen_string_literal: true

require "logger"

module Cogwork
  # Writes what an engine's jobs, steps and runs do to a Ruby Logger, as an Engine#on
  # subscriber: failed attempts, retries and dead jobs at WARN, completions at DEBUG. Each
  # entry is one line, the event's name then its fields as key=value pairs (job_id, target,
  # queue, attempt, run_id, workflow, step, duration_ms, error), so log search can filter on
  # them:
  #
  #   cogwork job.failed job_id=12 target="mail" queue="default" attempt=1 duration_ms=3.1 error="Net::ReadTimeout: ..."
  #
  # +duration_ms+ is measured from the attempt's start event, which is heard only when the
  # Logger was at DEBUG when the engine opened (listening to every start costs throughput).
  # :nodoc:
  class EventLog
    WARN = %w[job.failed job.retrying job.dead step.retrying step.failed workflow.failed].freeze
    DEBUG = %w[job.completed step.completed workflow.completed].freeze
    LEVELS = WARN.to_h { |name| [name, Logger::WARN] }.merge(DEBUG.to_h { |name| [name, Logger::DEBUG] }).freeze
    # Heard only to time attempts.
    STARTED = %w[job.started step.started].freeze
    # After these a job's attempt is over: its start is forgotten.
    FINISHED = %w[job.completed job.retrying job.dead job.cancelled].freeze
    FIELDS = %i[job_id target queue attempt run_id workflow step].freeze

    # @param logger [#call] returns the Logger to write to (the engine's, which may change)
    def initialize(logger)
      @logger = logger
      @started = {}
    end

    # The event names to subscribe to, for the Logger's level now: the core builds no other.
    # Above WARN, none.
    # @return [Array<String>]
    def events
      logger = @logger.call
      return (LEVELS.keys + STARTED + FINISHED).uniq if logger.debug?

      logger.warn? ? WARN : []
    end

    # @param event [Event]
    # @return [void]
    def call(event)
      key = [event.job_id, event.attempt]
      @started[key] ||= event.at if STARTED.include?(event.name)
      level = LEVELS[event.name]
      @logger.call.add(level) { line(event, @started[key]) } if level
      @started.delete(key) if FINISHED.include?(event.name)
    end

    private

    def line(event, started)
      # A run's events have no attempt (0): it is left out, as the other fields are when nil.
      fields = FIELDS.filter_map { |name| (value = event[name]) && value != 0 && "#{name}=#{value.inspect}" }
      fields << format("duration_ms=%.1f", (event.at - started) * 1000) if started
      fields << "error=#{error(event.detail).inspect}" if LEVELS[event.name] == Logger::WARN && event.detail.is_a?(Hash)
      "cogwork #{event.name} #{fields.join(" ")}"
    end

    def error(detail)
      [detail["class"] || detail["name"], detail["message"]].compact.join(": ")
    end
  end
  private_constant :EventLog
end
