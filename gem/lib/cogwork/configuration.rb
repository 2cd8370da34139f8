# frozen_string_literal: true

module Cogwork
  # Defaults for Engine.new, set once (in a Rails initializer, say) with Cogwork.configure.
  # Each engine option has a reader and a writer here; an option set here applies to every
  # engine opened afterwards, unless Engine.new is given it explicitly. Settings from
  # cogwork.yml and the COGWORK_* variables (read by the core) come under both.
  #
  #   Cogwork.configure do |config|
  #     config.database = "sqlite://db/jobs.db"
  #     config.tasks = ["app/tasks"]
  #     config.workers = 2
  #   end
  class Configuration
    # The Engine.new options a configuration may set.
    OPTIONS = %i[
      database tasks config workers timeout in_process fetch_allow fetch_max_response_bytes
      console_max_bytes memory_limit recycle_after watch node lease clock logger
    ].freeze

    # @!attribute [rw] database
    #   @return [String] the job store's URL, as Engine.new takes it
    # @!attribute [rw] tasks
    #   @return [Array<String>] task sources, as Engine.new takes it
    # @!attribute [rw] config
    #   @return [String] the configuration file to read, as Engine.new takes it
    # @!attribute [rw] workers
    #   @return [Integer] worker processes, as Engine.new takes it
    # @!attribute [rw] timeout
    #   @return [Numeric] seconds a run may take, as Engine.new takes it
    # @!attribute [rw] in_process
    #   @return [Boolean] run JavaScript on threads of this process, as Engine.new takes it
    # @!attribute [rw] fetch_allow
    #   @return [Array<String>] hosts tasks may fetch from, as Engine.new takes it
    # @!attribute [rw] fetch_max_response_bytes
    #   @return [Integer] largest response body a fetch may receive, as Engine.new takes it
    # @!attribute [rw] console_max_bytes
    #   @return [Integer] console output kept per execution, as Engine.new takes it
    # @!attribute [rw] memory_limit
    #   @return [Integer, nil] address-space cap of each worker (nil: none), as Engine.new takes it
    # @!attribute [rw] recycle_after
    #   @return [Integer, nil] runs before a worker is replaced, as Engine.new takes it
    # @!attribute [rw] watch
    #   @return [Boolean] reload tasks whose files change, as Engine.new takes it
    # @!attribute [rw] node
    #   @return [String] the name attempts record as where they ran, as Engine.new takes it
    # @!attribute [rw] lease
    #   @return [Numeric] seconds a claimed job stays this process's without a heartbeat, as Engine.new takes it
    # @!attribute [rw] clock
    #   @return [Symbol] :system or :manual, as Engine.new takes it
    # @!attribute [rw] logger
    #   @return [Logger, false] where engines log (false: nowhere), as Engine.new takes it
    OPTIONS.each do |name|
      define_method(name) { @options[name] }
      define_method(:"#{name}=") { |value| @options[name] = value }
    end

    def initialize
      @options = {}
    end

    # The options set so far (an option set to nil included: for +memory_limit+, nil means
    # no limit).
    # @return [Hash{Symbol => Object}]
    def to_h
      @options.dup
    end
  end

  class << self
    # Sets the defaults of every Engine opened afterwards.
    # @yieldparam config [Configuration]
    # @return [Configuration]
    def configure
      yield configuration
      configuration
    end

    # The defaults Cogwork.configure set.
    # @return [Configuration]
    def configuration
      @configuration ||= Configuration.new
    end

    # Forgets what Cogwork.configure set (for test suites).
    # @return [void]
    def reset_configuration
      @configuration = nil
    end
  end
end
