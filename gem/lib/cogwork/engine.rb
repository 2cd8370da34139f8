# frozen_string_literal: true

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
    def self.open(**options)
      engine = new(**options)
      return engine unless block_given?

      begin
        yield engine
      ensure
        engine.close
      end
    end

    # tasks::                    task directories, .zip archives, or directories holding them
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
    #
    # An option left out or nil takes its default; only for memory_limit does nil mean none.
    # Loading problems that are not fatal (duplicate tasks...) are printed with Kernel#warn
    # and kept in #warnings. Raises ConfigurationError, InvalidTaskError or ArgumentError.
    def initialize(tasks: [], in_process: false, **options)
      @native = Native::Engine.open(
        tasks: Array(tasks).map { |path| File.expand_path(path) },
        worker_command: in_process ? nil : WORKER_COMMAND,
        **options
      )
      Engine.park_signal_thread
      warnings.each { |warning| warn("cogwork: #{warning}") }
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
    def run(task, input = {}, timeout: nil, mocks: nil)
      execute(task, input, timeout: timeout, mocks: mocks).output
    end

    # Like #run, but returns the whole Execution record: output, console lines, worker id
    # and duration. A TaskFailedError carries the same console, worker and duration.
    def execute(task, input = {}, timeout: nil, mocks: nil)
      output, console, worker, duration = @native.execute(task.to_s, input, timeout, mocks)
      Cogwork.log_console(task, console)
      Execution.new(output: output, console: console, worker: worker, duration: duration)
    rescue TaskFailedError => error
      Cogwork.log_console(task, error.console)
      raise
    end

    # What loading the tasks noticed but did not refuse, such as duplicate versions.
    def warnings
      @native.warnings
    end

    # Stops the worker processes once runs under way have finished; later runs raise
    # EngineClosedError.
    def close
      @native.close
    end
  end
end
