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
    # The failure of the job whose handler's thread was killed.
    KILLED = ["Thread#kill", "the thread running this job's handler was killed"].freeze

    def initialize(native, handlers, concurrency)
      raise ArgumentError, "concurrency must be a positive Integer, not #{concurrency.inspect}" unless concurrency.is_a?(Integer) && concurrency.positive?

      @native = native
      @handlers = handlers
      @stopping = false
      @lock = Mutex.new
      @threads = Array.new(concurrency) { |n| spawn(n) }
    end

    # Ends the threads once they finished what they hold.
    def stop
      @stopping = true
      @native.wake_host_threads
      # A thread killed meanwhile may have started its replacement: join until none is left.
      until (alive = @lock.synchronize { @threads.select(&:alive?) }).empty?
        alive.each(&:join)
      end
    end

    private

    def spawn(n, held = [])
      Thread.new { serve(n, held) }.tap { |thread| thread.name = "cogwork-handler-#{n}" }
    end

    # +held+: jobs a killed thread had taken but not started, which this one runs first.
    def serve(n, held)
      left = []
      run_batch(held, left) unless held.empty?
      until @stopping
        batch = @native.next_host_jobs(BATCH, WAIT)
        run_batch(batch, left) unless batch.empty?
      end
    ensure
      # Only a kill (Thread#kill, or a handler's Thread.current.kill/exit) ends the loop early
      # without an exception: a new thread takes over, with the jobs this one had not started.
      @lock.synchronize { @threads << spawn(n, left) } unless @stopping || $!
    end

    # Runs the jobs of +batch+ in order and reports their results in one call. When the
    # thread is killed meanwhile, the job that was running fails and the ones after it go
    # to +left+ for the next thread (or fail too, when stopping).
    def run_batch(batch, left)
      completed = []
      failed = []
      batch.each { |job| run(job, completed, failed) }
    ensure
      unreported = batch.drop(completed.size + failed.size)
      killed = @stopping ? unreported : unreported.take(1)
      killed.each { |id, attempt, *| failed << [id, attempt, *KILLED, nil] }
      left.concat(unreported - killed)
      @native.report_host_results(completed, failed)
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
