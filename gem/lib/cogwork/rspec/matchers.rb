# frozen_string_literal: true

module Cogwork
  module Testing
    # RSpec matchers for jobs.
    module Matchers
      # Passes when a job for +target+ was enqueued: by the block (<tt>expect { ... }</tt>), or
      # at all (<tt>expect(cogwork_engine)</tt>). Narrow it with +.with(input)+ (Symbol keys
      # and values compare as Strings; argument matchers such as +hash_including+ work),
      # +.on_queue(name)+, +.at(time)+, +.in(seconds_or_duration)+ (from the engine's clock
      # now) and +.exactly(n)+ / +.once+.
      # @param target [String, Symbol]
      # @return [HaveEnqueuedJob]
      def have_enqueued_cogwork_job(target) # rubocop:disable Naming/PredicateName
        HaveEnqueuedJob.new(target)
      end

      # The matcher behind #have_enqueued_cogwork_job.
      class HaveEnqueuedJob
        include ::RSpec::Matchers::Composable

        # Jobs a block may enqueue and the matcher still sees.
        LIMIT = 10_000

        def initialize(target)
          @target = target.to_s
          @conditions = {}
        end

        # @param input [Hash] the input (or an argument matcher)
        # @return [self]
        def with(input) = narrow(:input, Testing::Matchers.plain(input))

        # @param queue [String, Symbol]
        # @return [self]
        def on_queue(queue) = narrow(:queue, queue.to_s)

        # @param time [Time] when the job is to run (to the microsecond)
        # @return [self]
        def at(time) = narrow(:at, time)

        # @param seconds [Numeric, ActiveSupport::Duration] from the engine's clock now
        # @return [self]
        def in(seconds) = narrow(:in, seconds)

        # @param count [Integer] how many matching jobs
        # @return [self]
        def exactly(count) = narrow(:count, count)

        # @return [self]
        def once = exactly(1)

        def supports_block_expectations? = true
        def supports_value_expectations? = true

        def matches?(subject)
          @engine = subject.is_a?(Cogwork::Engine) ? subject : Testing.engine
          @jobs = subject.is_a?(Proc) ? enqueued_by(subject) : @engine.jobs(limit: LIMIT).reverse
          matching = @jobs.count { |job| match?(job) }
          @conditions.key?(:count) ? matching == @conditions[:count] : matching.positive?
        end

        def does_not_match?(subject) = !matches?(subject)

        def description
          parts = ["have enqueued a cogwork job for #{@target.inspect}"]
          parts << "with #{@conditions[:input].inspect}" if @conditions.key?(:input)
          parts << "on queue #{@conditions[:queue].inspect}" if @conditions.key?(:queue)
          parts << "at #{@conditions[:at].inspect}" if @conditions.key?(:at)
          parts << "in #{@conditions[:in].inspect} s" if @conditions.key?(:in)
          parts << "exactly #{@conditions[:count]} time(s)" if @conditions.key?(:count)
          parts.join(" ")
        end

        def failure_message
          "expected to #{description}; enqueued: #{listing}"
        end

        def failure_message_when_negated
          "expected not to #{description}; enqueued: #{listing}"
        end

        private

        def narrow(condition, value)
          @conditions[condition] = value
          self
        end

        # The jobs the block enqueued, oldest first: those with an id past the newest before.
        def enqueued_by(block)
          newest = @engine.jobs(limit: 1).first&.id || 0
          block.call
          @engine.jobs(limit: LIMIT).select { |job| job.id > newest }.reverse
        end

        def match?(job)
          job.target == @target &&
            (!@conditions.key?(:input) || values_match?(@conditions[:input], job.input)) &&
            (!@conditions.key?(:queue) || job.queue == @conditions[:queue]) &&
            (!@conditions.key?(:at) || same_time?(job.run_at, @conditions[:at].to_time)) &&
            (!@conditions.key?(:in) || same_time?(job.run_at, @engine.now + Float(@conditions[:in])))
        end

        # Times are stored to the microsecond (a Float time may round either way).
        def same_time?(time, expected)
          (time.to_r - expected.to_r).abs <= Rational(1, 1_000_000)
        end

        def listing
          return "none" if @jobs.empty?

          @jobs.map { |job| "#{job.target} #{job.input.inspect} on #{job.queue} at #{job.run_at.utc.iso8601(6)}" }.join("; ")
        end
      end

      # +value+ as a job's input reads back: Hash keys and Symbols as Strings.
      def self.plain(value)
        case value
        when Hash then value.to_h { |key, item| [key.to_s, plain(item)] }
        when Array then value.map { |item| plain(item) }
        when Symbol then value.to_s
        else value
        end
      end
    end
  end
end
