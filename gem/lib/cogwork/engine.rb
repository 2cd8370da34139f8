# frozen_string_literal: true

require "pathname"
require "rbconfig"

module Cogwork
  # The handle on the cogwork core: the loaded tasks and a pool of JavaScript worker
  # processes. Thread-safe: runs from several threads proceed in parallel, one per worker.
  #
  # An engine belongs to the process that opened it. After a fork (Puma, Unicorn, Parallel)
  # it raises EngineClosedError in the child: open a new engine there.
  class Engine
    # Absolute path of the loaded native extension (`cogwork/cogwork.so`).
    NATIVE_EXTENSION = $LOAD_PATH.resolve_feature_path("cogwork/cogwork").last

    # How a worker process starts: this Ruby, loading just the native extension by absolute
    # path (no RubyGems, no RUBYOPT: nothing else to boot or to break) and handing the
    # process to the core's worker loop, which never returns to Ruby.
    WORKER_COMMAND = [
      RbConfig.ruby, "--disable=gems,rubyopt", "-e",
      "require #{NATIVE_EXTENSION.dump}; Cogwork::Native.worker_main"
    ].freeze

    # Ruby lets a signal (Ctrl-C) interrupt a main thread blocked in native code through
    # another thread. When the main thread is alone, Ruby starts and joins such a helper
    # around every blocking call (~150 µs a run); one parked thread per process serves instead.
    def self.park_signal_thread # :nodoc:
      @signal_thread = nil unless @signal_thread&.alive? # a fork leaves a dead Thread behind
      @signal_thread ||= Thread.new { sleep }.tap { |thread| thread.name = "cogwork-signals" }
    end

    # Opens an engine. With a block, yields it and closes it when the block ends.
    # @param options [Hash{Symbol => Object}] as Engine.new takes them
    # @yieldparam engine [Engine]
    # @return [Engine, Object] the engine, or with a block what the block returned
    def self.open(**options)
      engine = new(**options)
      return engine unless block_given?

      begin
        yield engine
      ensure
        engine.close
      end
    end

    # Opens an engine: loads the tasks and starts the worker processes.
    #
    # tasks::                    task directories, .zip archives, or directories holding them
    #                            (default: the configuration file's, else none)
    # workers::                  number of worker processes (default: one per CPU)
    # timeout::                  seconds a run may take (default 30); #run's +timeout:+ overrides it
    # in_process::               run JavaScript on threads of this process instead of worker
    #                            processes (tests and development: a runaway task can be
    #                            abandoned, not killed)
    # fetch_allow::              hosts tasks may fetch from: "api.example.com", "*.example.com", "*"
    # fetch_max_response_bytes:: largest response body a task's fetch may receive (default 10 MiB)
    # console_max_bytes::        console output kept per execution (default 1 MiB)
    # memory_limit::             address-space cap of each worker, in bytes (default 1 GiB; nil: none)
    # recycle_after::            replace a worker after this many runs (default nil: never)
    # watch::                    reload tasks whose files change
    # database::                 the job store: "sqlite://path" (default "sqlite://cogwork.db",
    #                            opened at the first job call), "sqlite::memory:" or
    #                            "postgres://user:password@host/database"
    # node::                     the name attempts record as where they ran (default: host name)
    # lease::                    seconds a claimed job stays this process's without a
    #                            heartbeat (default 30); a crashed process's jobs run again after it
    # config::                   the configuration file to read (default: ./cogwork.yml when
    #                            there is one); its queues' settings and schedules hold from
    #                            the first #drain, #start or #work
    # clock::                    :system (default), or :manual for a clock that moves only
    #                            when #advance says (tests: retries, delays and cron ticks
    #                            without sleeping)
    # apply_config::             whether the first #drain, #start or #work records the
    #                            configuration file's queue rate limits and adds its schedules
    #                            in the database, as +cogwork work+ does (default true); false
    #                            for an engine on a database of its own, such as a test's
    # logger::                   where job, step and run failures (WARN) and completions
    #                            (DEBUG) are logged, and tasks' console lines (default
    #                            Cogwork.logger: Rails.logger in Rails, else $stderr at WARN);
    #                            false logs nothing. Logging listens only to the events
    #                            the Logger's level (when the engine opens) logs, and the
    #                            core builds no other: at WARN a job that succeeds costs
    #                            nothing to log; above WARN nothing is listened to
    #
    # An option left out or nil takes its default; only for memory_limit does nil mean none.
    # Defaults come, in order, from Cogwork.configure, then the configuration file and the
    # COGWORK_* environment variables (read by the core), then the core's own.
    # Loading problems that are not fatal (duplicate tasks...) are printed with Kernel#warn
    # and kept in #warnings.
    #
    # @param options [Hash{Symbol => Object}] the options above
    # @raise [ConfigurationError] for a bad configuration file or option value
    # @raise [InvalidTaskError] for a task that cannot be loaded
    # @raise [ArgumentError] for an unknown option or a bad value, naming it
    # @raise [TypeError] for a value of the wrong type
    def initialize(**options)
      options = Cogwork.configuration.to_h.merge(options)
      @opened_in = Process.pid
      @logger = options.delete(:logger)
      @native = Native::Engine.open(*EngineOptions.native(options))
      @handlers = {}
      @subscribers = []
      Engine.park_signal_thread
      warnings.each { |warning| warn("cogwork: #{warning}") }
      log_events unless @logger == false
    end

    # Answers every JavaScript fetch of the jobs and runs that bring no mocks of their own
    # (#run's +mocks+ wins) with +mocks+, replacing the ones set before: a Hash or an Array of
    # Hashes with +url+, +method+ (default "GET"), +status+ (default 200), +headers+,
    # +response+, as a task test's mock.http. A fetch no mock answers goes to the network,
    # which +fetch_allow+ must allow.
    # @param mocks [Hash, Array<Hash>]
    # @return [void]
    def mock_http(mocks)
      @native.set_http_mocks(mocks)
    end

    # Removes what #mock_http set: fetches go to the network again (within +fetch_allow+).
    # @return [void]
    def clear_http_mocks
      @native.set_http_mocks(nil)
    end

    # Where this engine logs: the +logger+ option, else Cogwork.logger as it is now; nil
    # for <tt>logger: false</tt>.
    # @return [Logger, nil]
    def logger
      @logger.nil? ? Cogwork.logger : @logger || nil
    end

    # Runs +task+ (a label, uuid or "label@version") on +input+ and returns its output as
    # plain Ruby objects (Hashes with String keys). Input may use Symbol or String keys.
    #
    # timeout:: seconds, overriding the engine's timeout for this run
    # mocks::   canned answers for the task's fetches: a Hash or an Array of Hashes with
    #           +url+, +method+ (default "GET"), +status+ (default 200), +headers+, +response+
    #
    # Blocks without holding the GVL; Thread#raise, Timeout.timeout and Ctrl-C interrupt it
    # and stop the task's worker. Raises a Cogwork::Error subclass when the run fails,
    # TypeError naming the key path (+input.items[3].at+) for values JSON cannot carry, and
    # ArgumentError for a negative or absurd timeout. The task's console output goes to
    # Cogwork.logger.
    # @param task [String, Symbol]
    # @param input [Hash]
    # @param timeout [Numeric, nil] seconds
    # @param mocks [Hash, Array<Hash>, nil]
    # @return [Object] the task's output
    # @raise [Error] a subclass saying why the run failed
    # @raise [TypeError] for a value a task cannot take, naming its path
    def run(task, input = {}, timeout: nil, mocks: nil)
      execute(task, input, timeout: timeout, mocks: mocks).output
    end

    # Like #run, but returns the whole Execution record: output, console lines, worker id
    # and duration. A TaskFailedError carries the same console, worker and duration.
    # @param (see #run)
    # @return [Execution]
    # @raise (see #run)
    def execute(task, input = {}, timeout: nil, mocks: nil)
      output, console, worker, duration = @native.execute(task.to_s, input, timeout, mocks)
      Cogwork.log_console(task, console, logger)
      Execution.new(output: output, console: console, worker: worker, duration: duration)
    rescue TaskFailedError => error
      Cogwork.log_console(task, error.console, logger)
      raise
    end

    # What loading the tasks noticed but did not refuse, such as duplicate versions.
    # @return [Array<String>]
    def warnings
      @native.warnings
    end

    # Stops the worker processes once runs under way have finished (and a worker started by
    # #start, if one runs, then the #on subscribers once they had the events so far); later
    # calls raise EngineClosedError. In a forked child it does nothing: the workers, threads
    # and connections are the parent's (so an +at_exit+ close in a Puma worker is harmless).
    # @return [nil]
    def close
      return if Process.pid != @opened_in

      stop_working
      @subscribers.each(&:stop).clear
      @native.close
    end

    # The engine's clock: the current time, or where #advance moved a manual clock.
    # @return [Time]
    def now
      Time.at(0, @native.now, :usec)
    end

    # Moves a manual clock (<tt>Engine.new(clock: :manual)</tt>) forward: jobs, retries and
    # schedule ticks that fall due run at the next #drain (or soon, while working). Raises
    # ConfigurationError on an engine that reads the system clock.
    # @param by [Numeric, ActiveSupport::Duration] seconds
    # @return [Time] the new #now
    def advance(by)
      @native.advance(Arguments.seconds(:advance, by))
      now
    end
  end

  # Jobs, handlers and workers.
  class Engine
    # Enqueues a job for +target+ (a task, or a handler registered with #handler) and
    # returns it as a Job. A task's input is checked against its schema now.
    #
    # queue::             "default" unless given
    # priority::          higher runs first (default 0)
    # run_at::            not before this time: a Time (or anything with #to_time), or epoch
    #                     seconds as an Integer or Float
    # delay::             not before this many seconds from now: a Numeric or an
    #                     ActiveSupport::Duration (ignored when run_at is given)
    # max_attempts::      attempts before the job is dead (default 3)
    # timeout::           seconds one attempt may take (default: the engine's timeout)
    # unique_key::        while an unfinished job has this key, enqueueing returns that job
    # concurrency_key::   at most +concurrency_limit+ (default 1) jobs with this key run at
    #                     once, across every process sharing the database
    #
    # An enqueue interrupted (Thread#raise, Timeout) may or may not have happened, as after a
    # network timeout: enqueueing again with the same +unique_key+ returns the first job if it
    # happened and is unfinished, rather than adding another.
    # @param target [String, Symbol] a task or a handler's name
    # @param input [Hash]
    # @param options [Hash{Symbol => Object}] the options above
    # @return [Job]
    # @raise [InvalidInputError] when the input does not fit the task's schema
    # @raise [ArgumentError, TypeError] for an unknown option or a value of the wrong type, naming it
    def enqueue(target, input = {}, **options)
      enqueue_all([{target: target, input: input, **options}]).first
    end

    # Enqueues several jobs in one transaction: +jobs+ is an Array of Hashes with +target+,
    # +input+ and #enqueue's options. Returns them as Jobs, in order.
    # @param jobs [Array<Hash{Symbol => Object}>]
    # @return [Array<Job>]
    # @raise (see #enqueue)
    def enqueue_all(jobs)
      @native.enqueue_all(jobs.map { |job| native_job(**job) }).map { |record| Job.from(record) }
    end

    # The Job with this id; raises JobNotFoundError.
    # @param id [Integer]
    # @return [Job]
    # @raise [JobNotFoundError]
    def job(id)
      Job.from(@native.job(id))
    end

    # Jobs, newest first. +state+ is a state name or an Array of them; +limit+ defaults to 50.
    # @param state [String, Symbol, Array<String, Symbol>, nil]
    # @param queue [String, nil]
    # @param target [String, Symbol, nil]
    # @param limit [Integer, nil]
    # @return [Array<Job>]
    # @raise [ArgumentError] naming an unknown state
    def jobs(state: nil, queue: nil, target: nil, limit: nil)
      states = state && Array(state).map(&:to_s)
      Arguments.check(:queue, queue, [String, Symbol])
      Arguments.check(:limit, limit, [Integer])
      @native.jobs({state: states, queue: queue&.to_s, target: target&.to_s, limit: limit}.compact).map { |record| Job.from(record) }
    end

    # Cancels a job that has not finished (a running one is stopped); InvalidJobStateError
    # for a finished one.
    # @param id [Integer]
    # @return [nil]
    # @raise [JobNotFoundError, InvalidJobStateError]
    def cancel(id)
      @native.cancel(id)
    end

    # Runs a dead or cancelled job again, with fresh attempts.
    # @param id [Integer]
    # @return [nil]
    # @raise [JobNotFoundError, InvalidJobStateError]
    def retry(id)
      @native.retry(id)
    end

    # Counts of jobs: <tt>{by_state: {"completed" => 3}, by_queue: {"default" => {"completed" => 3}},
    # completed:, failed:}</tt>, the last two counting attempts started in the last +window+ seconds.
    # @param window [Numeric] seconds
    # @return [Hash{Symbol => Object}]
    def stats(window: 60)
      @native.stats(Arguments.seconds(:window, window))
    end

    # Registers the handler called +name+: a block, or any object responding to +call+. It is
    # called with a Job (for a job) or a Step (for a workflow step); what it returns is the
    # output (converted like an input), and an exception fails the attempt with its class,
    # message and backtrace, retried per the job's policy. Register before #drain or #start.
    # @param name [String, Symbol]
    # @param callable [#call, nil]
    # @yieldparam job_or_step [Job, Step]
    # @yieldreturn [Object] the output
    # @return [#call] the handler
    # @raise [ArgumentError] without a block or a callable
    def handler(name, callable = nil, &block)
      callable ||= block
      raise ArgumentError, "handler #{name.inspect} needs a block or an object responding to call" unless callable.respond_to?(:call)

      @native.register_handler(name.to_s)
      @handlers[name.to_s] = callable
    end

    # Runs the jobs due in +queues+ until none is due and none is running, handler jobs on
    # +concurrency+ Ruby threads. Jobs scheduled for later, and retries not yet due, stay.
    # Returns counts: <tt>{completed:, failed:, dead:, released:}</tt>.
    #
    # An engine opened from a configuration file works as +cogwork work+ does with it: the
    # queues left out are "default" and the file's, each queue runs at most its +concurrency+
    # jobs at once, and the first #drain, #start or #work records the file's rate limits and
    # adds its schedules (so register the handlers they target first).
    # @param queues [Array<String, Symbol>, String, nil] nil: "default" and the file's queues
    # @param concurrency [Integer] Ruby threads running handler jobs
    # @return [Hash{Symbol => Integer}]
    # @raise [TaskNotFoundError] when a configured schedule targets no task nor registered handler
    def drain(queues: nil, concurrency: 2)
      @native.check
      threads = handler_threads(concurrency)
      @native.drain(queue_names(queues))
    ensure
      threads&.stop
    end

    # Works +queues+ in the background (handler jobs on +concurrency+ Ruby threads, schedules
    # ticking) until #stop. Raises ConfigurationError when already working.
    # @param (see #drain)
    # @return [self]
    # @raise [ConfigurationError] when already working, or as #drain does
    def start(queues: nil, concurrency: 2)
      @native.check
      threads = handler_threads(concurrency)
      @worker = @native.start(queue_names(queues))
      @threads = threads
      self
    rescue Exception # rubocop:disable Lint/RescueException
      threads&.stop
      raise
    end

    # Stops what #start started: no more claims, running jobs finish (or are handed back
    # after the stop timeout). Returns the counts as #drain does, or nil when not working.
    # @return [Hash{Symbol => Integer}, nil]
    def stop
      @native.check
      stop_working
    end

    # Works +queues+ until Ctrl-C (SIGINT) or SIGTERM, then stops gracefully and returns the
    # counts as #stop does. Blocks the calling thread; other threads keep running. An
    # exception raised into the waiting thread (Thread#raise, Timeout) stops the worker too.
    # @param (see #drain)
    # @return [Hash{Symbol => Integer}, nil]
    def work(queues: nil, concurrency: 2)
      signals = Thread::Queue.new
      previous = %w[INT TERM].to_h { |signal| [signal, trap(signal) { signals << signal }] }
      start(queues: queues, concurrency: concurrency)
      begin
        signals.pop
      ensure
        stopped = stop
      end
      stopped
    ensure
      previous&.each { |signal, handler| trap(signal, handler || "DEFAULT") }
    end

    # Calls the block (or +callable+) with each Event whose name matches one of +events+
    # ("job.completed", "job.*", "*"), on a Ruby thread of its own, in order, from now until
    # #close. A subscriber that raises is logged to Cogwork.logger. Raises ConfigurationError
    # naming the events there are for an unknown name.
    # @param events [Array<String, Symbol>]
    # @param callable [#call, nil]
    # @yieldparam event [Event]
    # @return [self]
    # @raise [ConfigurationError] for an unknown event name
    # @raise [ArgumentError] without a block or a callable
    def on(*events, callable: nil, &block)
      callable ||= block
      raise ArgumentError, "on(#{events.join(", ")}) needs a block or an object responding to call" unless callable.respond_to?(:call)

      @subscribers << Subscriber.new(@native.subscribe(events.map(&:to_s)), callable)
      self
    end

    private

    def log_events
      log = EventLog.new(method(:logger))
      events = log.events
      on(*events, callable: log) unless events.empty?
    end

    def stop_working
      worker, threads = @worker, @threads
      @worker = @threads = nil
      worker&.stop
    ensure
      threads&.stop
    end

    def queue_names(queues)
      queues && Array(queues).map(&:to_s)
    end

    def native_job(target:, input: {}, **options)
      [target.to_s, input, JobOptions.native(options)]
    end

    def handler_threads(concurrency)
      HandlerThreads.new(@native, @handlers, concurrency) unless @handlers.empty?
    end
  end

  # Workflows.
  class Engine
    # Defines workflow templates: a .yaml/.yml/.json file, a directory of them, or a Hash
    # describing one. Returns the ids ("namespace/name@version") it defined.
    # @param source [String, Pathname, Hash]
    # @return [Array<String>]
    # @raise [ConfigurationError] naming what is wrong in the template
    def define_workflow(source)
      source = File.expand_path(source.to_s) if source.is_a?(String) || source.respond_to?(:to_path)
      @native.define_workflow(source)
    end

    # Starts a run of the template +reference+ ("namespace/name" for its newest version, or
    # "namespace/name@version") with +context+; returns the WorkflowRun. With an
    # +idempotency_key+, starting again returns the run it started.
    # @param reference [String]
    # @param context [Hash]
    # @param idempotency_key [String, nil]
    # @return [WorkflowRun]
    # @raise [WorkflowNotFoundError]
    def start_workflow(reference, context: {}, idempotency_key: nil)
      workflow(@native.start_workflow(reference.to_s, context, idempotency_key))
    end

    # The WorkflowRun with this id; raises WorkflowNotFoundError.
    # @param id [Integer]
    # @return [WorkflowRun]
    # @raise [WorkflowNotFoundError]
    def workflow(id)
      WorkflowRun.from(@native.workflow(id))
    end

    # Runs, newest first: of +workflow+ ("namespace/name"), in +state+, at most +limit+ (100).
    # @param workflow [String, nil]
    # @param state [String, Symbol, nil]
    # @param limit [Integer, nil]
    # @return [Array<WorkflowRun>]
    def workflows(workflow: nil, state: nil, limit: nil)
      Arguments.check(:limit, limit, [Integer])
      @native.workflows(workflow, state&.to_s, limit).map { |record| WorkflowRun.from(record) }
    end

    # Waits until the run finishes (completed, failed or cancelled) and returns it, blocking
    # only the calling thread; after +timeout+ seconds raises TimeoutError, leaving the run
    # alone. Someone must be working its steps meanwhile (#start, or another process).
    # @param id [Integer]
    # @param timeout [Numeric, nil] seconds
    # @return [WorkflowRun]
    # @raise [TimeoutError, WorkflowNotFoundError]
    def wait_workflow(id, timeout: nil)
      WorkflowRun.from(@native.wait_workflow(id, Arguments.seconds(:timeout, timeout)))
    end

    # Cancels a running or failed run: its unfinished steps and their jobs are cancelled.
    # @param id [Integer]
    # @return [nil]
    # @raise [WorkflowNotFoundError, InvalidWorkflowStateError]
    def cancel_workflow(id)
      @native.cancel_workflow(id)
    end

    # Runs a failed step again; the steps it blocked follow.
    # @param id [Integer]
    # @param step [String, Symbol]
    # @return [nil]
    # @raise [WorkflowNotFoundError, InvalidWorkflowStateError]
    def retry_step(id, step)
      @native.retry_step(id, step.to_s)
    end

    # Completes a failed step with +result+, as if it had returned it.
    # @param id [Integer]
    # @param step [String, Symbol]
    # @param result [Object] plain data, as a handler returns
    # @return [nil]
    # @raise [WorkflowNotFoundError, InvalidWorkflowStateError]
    def resolve_step(id, step, result)
      @native.resolve_step(id, step.to_s, result)
    end

    # Runs +step+ and every step after it again, with the results before it kept.
    # @param id [Integer]
    # @param step [String, Symbol]
    # @return [nil]
    # @raise [WorkflowNotFoundError, InvalidWorkflowStateError]
    def replay(id, step)
      @native.replay(id, step.to_s)
    end
  end

  # Schedules.
  class Engine
    # Adds the cron schedule +name+ (or replaces the one of that name): every tick of +cron+
    # (5 fields, or 6 with a leading second) enqueues a job for +target+ with +input+. Ticks
    # are enqueued while the engine works (#start, #work; #drain enqueues those due).
    #
    # timezone::     the IANA zone +cron+ is read in (default "UTC")
    # queue, priority, max_attempts:: of the jobs, as #enqueue takes them
    # missed::       ticks that fell while nothing worked: :skip (default), :run_once or :run_all
    # enabled::      false to add it paused
    #
    # A bad expression, time zone, target or input raises now, naming it.
    # @param name [String, Symbol]
    # @param cron [String]
    # @param target [String, Symbol]
    # @param input [Hash]
    # @return [nil]
    # @raise [ConfigurationError, InvalidInputError] naming what is wrong
    def schedule(name, cron, target, input = {}, timezone: nil, queue: nil, priority: nil, max_attempts: nil, missed: nil, enabled: nil)
      options = {timezone: timezone, queue: queue, priority: priority, max_attempts: max_attempts, missed: missed&.to_s, enabled: enabled}
      @native.add_schedule(name.to_s, cron.to_s, target.to_s, input, options.compact)
    end

    # Every Schedule, by name.
    # @return [Array<Schedule>]
    def schedules
      @native.schedules.map { |record| Schedule.from(record) }
    end

    # Removes a schedule (the jobs it enqueued stay); whether it existed.
    # @param name [String, Symbol]
    # @return [Boolean]
    def remove_schedule(name)
      @native.remove_schedule(name.to_s)
    end

    # Pauses (false) or resumes (true, from its next tick) a schedule; whether it exists.
    # @param name [String, Symbol]
    # @param enabled [Boolean]
    # @return [Boolean] whether the schedule exists
    def set_schedule_enabled(name, enabled)
      @native.set_schedule_enabled(name.to_s, enabled ? true : false)
    end
  end

  # Engine.new's options as the native extension takes them: the engine's, then the job
  # store's.
  module EngineOptions # :nodoc:
    STORE = %i[database node lease clock apply_config].freeze
    CLOCKS = %i[system manual].freeze
    TYPES = {
      workers: [Integer], fetch_allow: [Array], fetch_max_response_bytes: [Integer], console_max_bytes: [Integer],
      memory_limit: [Integer], recycle_after: [Integer], watch: Arguments::BOOLEAN, database: [String], node: [String],
      config: [String, Pathname], apply_config: Arguments::BOOLEAN
    }.freeze

    def self.native(options)
      Arguments.check_all(options, TYPES)
      options = options.dup
      %i[timeout lease].each { |name| options[name] = Arguments.seconds(name, options[name]) if options.key?(name) }
      store = STORE.to_h { |name| [name, options.delete(name)] }
      store[:clock] = clock(store[:clock])
      options[:tasks] = tasks(options[:tasks]) if options[:tasks]
      config = options.delete(:config)
      options[:worker_command] = options.delete(:in_process) ? nil : Engine::WORKER_COMMAND
      [options, store, config && File.expand_path(config)]
    end

    def self.tasks(sources)
      Array(sources).map { |path| File.expand_path(Arguments.check(:tasks, path, [String, Pathname])) }
    end

    def self.clock(name)
      return nil if name.nil?
      raise TypeError, "clock must be :system or :manual, not #{name.class}" unless name.is_a?(Symbol) || name.is_a?(String)
      raise ArgumentError, "clock must be :system or :manual, not #{name.inspect}" unless CLOCKS.include?(name.to_sym)

      name.to_s
    end
  end
  private_constant :EngineOptions

  # #enqueue's options as the native extension takes them: run_at in microseconds since the
  # epoch, durations in seconds. A nil option takes its default, as a missing one does; an
  # unknown one is left for the native extension to name.
  module JobOptions # :nodoc:
    TYPES = {
      queue: [String, Symbol], priority: [Integer], max_attempts: [Integer], unique_key: [String],
      concurrency_key: [String], concurrency_limit: [Integer]
    }.freeze

    def self.native(options)
      options = options.compact
      options[:run_at] = epoch(options[:run_at]) if options.key?(:run_at)
      %i[delay timeout].each { |name| options[name] = Arguments.seconds(name, options[name]) if options.key?(name) }
      Arguments.check_all(options, TYPES)
      options[:queue] = options[:queue].to_s if options.key?(:queue)
      options
    end

    # Microseconds since the epoch, exactly: a Time's (truncated, as Time inputs are), or
    # epoch seconds' (rounded).
    def self.epoch(at)
      case at
      when Numeric then (at * 1_000_000).round
      when Time then (at.to_r * 1_000_000).floor
      else
        raise TypeError, "run_at must be a Time (or a Date/DateTime) or epoch seconds, not #{at.class}" unless at.respond_to?(:to_time)

        epoch(at.to_time)
      end
    end
  end
  private_constant :JobOptions
end
