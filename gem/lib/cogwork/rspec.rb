# frozen_string_literal: true

# RSpec support: `require "cogwork/rspec"` in spec_helper.rb (or rails_helper.rb).
#
# Every example that uses cogwork gets a fresh engine (#cogwork_engine, opened at first use and
# closed after the example) on an in-memory SQLite database, with a clock that moves only when
# told (+cogwork_engine.advance(60)+) and HTTP mocks for its tasks' fetches
# (+cogwork_engine.mock_http(...)+). The Active Job adapter, when loaded, enqueues on it.
#
# Two modes:
# - manual (the default): jobs wait until +Cogwork.drain+ runs those due;
# - inline (+cogwork: :inline+ in an example's or group's metadata, or
#   <tt>Cogwork::Testing.mode = :inline</tt> for all): each enqueue, workflow start and clock
#   advance runs what is due at once, and an exception a Ruby handler raised is raised again
#   from that call (a JavaScript task's failure stays on its job).
#
# Matcher: <tt>expect { ... }.to have_enqueued_cogwork_job("target").with(input)</tt>, and
# +.on_queue+, +.at+, +.in+, +.exactly+, +.once+; with +expect(cogwork_engine)+ instead of a
# block it looks at every job of the engine.
require "cogwork"
require "rspec/core"
require "rspec/expectations"
require_relative "rspec/inline"
require_relative "rspec/matchers"

module Cogwork
  # The per-example engine behind cogwork/rspec. :nodoc: except for the two settings.
  module Testing
    class << self
      # Options of the examples' engines (tasks:, workers:, in_process:...), under
      # <tt>database: "sqlite::memory:", clock: :manual</tt>.
      attr_writer :engine_options
      # :manual (default) or :inline, for examples whose metadata does not say.
      attr_writer :mode

      # @return [Hash{Symbol => Object}]
      def engine_options = @engine_options || {}

      # @return [Symbol] :manual or :inline
      def mode = @mode || :manual

      # Called around each example with the mode its metadata asks for.
      # @param mode [Symbol] :manual or :inline
      # @return [void]
      # @raise [ArgumentError] for another mode
      def start(mode)
        raise ArgumentError, "cogwork: the mode is :manual or :inline, not #{mode.inspect}" unless %i[manual inline].include?(mode)

        @example_mode = mode
        # The adapter must not open a real engine of its own: it gets this one at first use.
        ::ActiveJob::QueueAdapters::CogworkAdapter.engine = -> { engine } if defined?(::ActiveJob::QueueAdapters::CogworkAdapter)
      end

      # Called after each example: closes its engine, if it opened one.
      # @return [void]
      def finish
        ::ActiveJob::QueueAdapters::CogworkAdapter.engine = nil if defined?(::ActiveJob::QueueAdapters::CogworkAdapter)
        engine, @engine = @engine, nil
        engine&.close
      end

      # The current example's engine, opened at first use.
      # @return [Cogwork::Engine]
      def engine
        @engine ||= open_engine
      end

      # Every queue the engine has jobs in, and "default".
      # @param engine [Cogwork::Engine]
      # @return [Array<String>]
      def queues(engine)
        engine.stats[:by_queue].keys | ["default"]
      end

      private

      def open_engine
        # The example's database is its own: cogwork.yml's schedules and rate limits stay out.
        engine = Cogwork::Engine.new(apply_config: false, **engine_options, database: "sqlite::memory:", clock: :manual)
        engine.extend(Inline) if @example_mode == :inline
        engine
      end
    end

    # What examples can call.
    module Helpers
      # The example's engine (in-memory SQLite, manual clock), opened at first use.
      # @return [Cogwork::Engine]
      def cogwork_engine = Testing.engine
    end
  end

  # Runs the jobs of the example's engine that are due, in every queue, as Engine#drain does
  # (+concurrency:+ Ruby handler threads).
  # @param concurrency [Integer]
  # @return [Hash{Symbol => Integer}] completed:, failed:, dead:, released:
  def self.drain(concurrency: 2)
    engine = Testing.engine
    engine.drain(queues: Testing.queues(engine), concurrency: concurrency)
  end
end

RSpec.configure do |config|
  config.include Cogwork::Testing::Helpers
  config.include Cogwork::Testing::Matchers
  config.around do |example|
    Cogwork::Testing.start(example.metadata.fetch(:cogwork, Cogwork::Testing.mode))
    example.run
  ensure
    Cogwork::Testing.finish
  end
end
