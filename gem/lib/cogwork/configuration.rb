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

    OPTIONS.each do |name|
      # @return [Object, nil] the default for Engine.new's option of this name
      define_method(name) { @options[name] }
      # @param value [Object] the default for Engine.new's option of this name
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
