# frozen_string_literal: true

module Cogwork
  # Base of every error cogwork raises. The native extension raises the subclass of each
  # kind of failure the core reports (Cogwork::Native::ERROR_CLASSES names them, and Python's
  # +cogwork+ package has the same classes), with the core's message, which says what went
  # wrong, where, and what to do. #task names the task involved, when there is one.
  class Error < StandardError
    attr_reader :task
  end

  # A task directory or archive could not be loaded; #path is where it is.
  class InvalidTaskError < Error
    attr_reader :path
  end

  # No task has that label, uuid or label@version; the message lists what is loaded.
  class TaskNotFoundError < Error; end

  # The input does not match the task's input schema. #violations lists every problem as
  # <tt>{path: "input.num1", keyword: "type", message: "..."}</tt>.
  class InvalidInputError < Error
    attr_reader :violations
  end

  # The task returned output that does not match its output schema (#violations as above).
  class InvalidOutputError < Error
    attr_reader :violations
  end

  # The task threw (or returned no JSON value).
  #
  # js_name::    the JavaScript error's class (+RateLimitError+, +TypeError+...)
  # js_message:: its message
  # js_stack::   its stack, or nil
  # status::     the HTTP status a typed error carries (+fetch+ sets it), or nil
  # retryable::  true or false when the task said whether trying again may help, else nil
  # data::       whatever else the task attached to the error, or nil
  # console::    what the execution logged: <tt>{level: "info", message: "..."}</tt> Hashes
  # worker::     the id of the worker that ran it
  # duration::   how long it ran, in seconds
  class TaskFailedError < Error
    attr_reader :js_name, :js_message, :js_stack, :status, :retryable, :data, :console, :worker, :duration
  end

  # The run took longer than its timeout (#after, in seconds); the worker was replaced.
  class TaskTimeoutError < Error
    attr_reader :after
  end

  # The name the documentation uses. Ruby has no top-level TimeoutError (Timeout::Error is
  # namespaced), so it hides nothing; TaskTimeoutError is the name Python shares.
  TimeoutError = TaskTimeoutError

  # The worker process died during the run (a crash or its memory limit); it was replaced.
  # #worker is its id.
  class WorkerCrashedError < Error
    attr_reader :worker
  end

  # The core gave up on the run before it finished.
  class TaskInterruptedError < Error; end

  # An engine option is invalid.
  class ConfigurationError < Error; end

  # The engine was closed, or opened in another process (this one is a fork of it).
  class EngineClosedError < Error; end

  # Reading tasks or talking to a worker process failed at the operating-system level.
  # (Not IOError: a Cogwork::IOError would hide ::IOError from code inside the namespace.)
  class OperatingSystemError < Error; end

  # A worker process answered something the host did not understand.
  class ProtocolError < Error; end

  # The job store failed to open, migrate, read or write its database; the message names the
  # database (without its password) and what to do.
  class DatabaseError < Error; end

  # No job has the id asked for: it never existed, or finished jobs were purged.
  class JobNotFoundError < Error; end

  # The job's state does not allow what was asked, such as retrying a completed job.
  class InvalidJobStateError < Error; end

  # No workflow template has that namespace/name (and version), or no workflow run that id.
  class WorkflowNotFoundError < Error; end

  # The run's or step's state does not allow what was asked, such as resolving a step
  # that did not fail; the message names both states.
  class InvalidWorkflowStateError < Error; end

  # An input or output went past one of the engine's limits: nested deeper than #limit
  # levels (#path says where), or larger than #limit bytes of JSON. Nothing ran with it.
  class LimitExceededError < Error
    attr_reader :path, :limit
  end
end
