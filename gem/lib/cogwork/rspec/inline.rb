# frozen_string_literal: true

module Cogwork
  module Testing
    # Extends an example's engine in inline mode: enqueueing, starting a workflow and moving
    # the clock drain what is due before they return, and raise the first exception a Ruby
    # handler raised meanwhile (after it was recorded as the attempt's failure, as usual).
    # A handler that enqueues more does not drain again: the drain under way runs those too.
    module Inline
      # The key of the flag set on a handler thread while it runs a handler.
      IN_HANDLER = :cogwork_testing_in_handler

      def handler(name, callable = nil, &block)
        callable ||= block
        return super unless callable.respond_to?(:call) # Engine#handler raises, naming it

        raised = inline_exceptions
        super(name) do |job|
          Thread.current[IN_HANDLER] = true
          callable.call(job)
        rescue Exception => error # rubocop:disable Lint/RescueException
          raised << error
          raise
        ensure
          Thread.current[IN_HANDLER] = false
        end
      end

      def enqueue(...) = inline { super }
      def enqueue_all(...) = inline { super }
      def start_workflow(...) = inline { super }
      def advance(...) = inline { super }

      private

      def inline_exceptions
        @inline_exceptions ||= Thread::Queue.new
      end

      def inline
        result = yield
        return result if Thread.current[IN_HANDLER]

        drain(queues: Testing.queues(self))
        raised = Array.new(inline_exceptions.size) { inline_exceptions.pop }
        raise raised.first if raised.any?

        result
      end
    end
  end
end
