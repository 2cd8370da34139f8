# frozen_string_literal: true

module Cogwork
  # The Ruby threads that run handler jobs while an engine drains or works. Each thread waits
  # for its next batch with the GVL released (so other threads run), calls the handlers, and
  # reports the whole batch's results in one native call. :nodoc:
  class HandlerThreads
    # Jobs one thread takes at a time: enough to amortise the native calls, few enough that
    # concurrent threads share a burst.
    BATCH = 16
    # Seconds a thread waits for jobs before it checks whether to stop.
    WAIT = 0.1

    def initialize(native, handlers, concurrency)
      raise ArgumentError, "concurrency must be a positive Integer, not #{concurrency.inspect}" unless concurrency.is_a?(Integer) && concurrency.positive?

      @native = native
      @handlers = handlers
      @stopping = false
      @threads = Array.new(concurrency) do |n|
        Thread.new { serve }.tap { |thread| thread.name = "cogwork-handler-#{n}" }
      end
    end

    # Ends the threads once they finished what they hold.
    def stop
      @stopping = true
      @native.wake_host_threads
      @threads.each(&:join)
    end

    private

    def serve
      until @stopping
        batch = @native.next_host_jobs(BATCH, WAIT)
        next if batch.empty?

        completed = []
        failed = []
        batch.each { |job| run(job, completed, failed) }
        @native.report_host_results(completed, failed)
      end
    end

    def run(job, completed, failed)
      id, attempt, target, = job
      completed << [id, attempt, @handlers.fetch(target).call(argument(*job))]
    # Whatever a handler raises, `exit` included, is its attempt's failure; the thread goes on.
    rescue Exception => error # rubocop:disable Lint/RescueException
      failed << [id, attempt, error.class.name, error.message, error.backtrace]
    end

    def argument(id, attempt, target, input, queue, max_attempts, run_id, step)
      if run_id
        Step.new(name: step, run_id: run_id, job_id: id, attempt: attempt,
                 context: input["context"], results: input["results"], input: input["input"])
      else
        Job.new(id: id, state: "running", target: target, queue: queue, input: input,
                attempt: attempt, max_attempts: max_attempts)
      end
    end
  end
  private_constant :HandlerThreads
end
