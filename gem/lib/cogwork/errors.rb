# frozen_string_literal: true

# The classes are defined by the native extension (which raises them); this file documents
# them and adds readers for the details each one carries.
module Cogwork
  # Base of every error cogwork raises. #task names the task involved, when there is one.
  class Error
    attr_reader :task
  end

  # A task directory or archive could not be loaded; #path is where it is.
  class InvalidTaskError
    attr_reader :path
  end

  # No task has that label, uuid or label@version; the message lists what is loaded.
  class TaskNotFoundError; end

  # The input does not match the task's input schema. #violations lists every problem as
  # <tt>{path: "input.num1", keyword: "type", message: "..."}</tt>.
  class InvalidInputError
    attr_reader :violations
  end

  # The task returned output that does not match its output schema (#violations as above).
  class InvalidOutputError
    attr_reader :violations
  end

  # The task threw (or returned no JSON value). #js_name is the JavaScript error class
  # (+RateLimitError+, +TypeError+...), #js_message its message, #js_stack its stack or nil.
  class TaskFailedError
    attr_reader :js_name, :js_message, :js_stack
  end

  # The run took longer than its timeout (#after, in seconds); the worker was replaced.
  class TimeoutError
    attr_reader :after
  end

  # The worker process died during the run (a crash or its memory limit); it was replaced.
  class WorkerCrashedError; end

  # The core gave up on the run before it finished.
  class InterruptedError; end

  # An engine option is invalid.
  class ConfigurationError; end

  # The engine was closed, or opened in another process (this one is a fork of it).
  class EngineClosedError; end

  # Reading tasks or talking to a worker process failed at the operating-system level.
  class IOError; end

  # A worker process answered something the host did not understand.
  class ProtocolError; end
end
