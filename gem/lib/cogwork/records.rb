# frozen_string_literal: true

module Cogwork
  # Times arrive from the native extension as microseconds since the epoch.
  module Times # :nodoc:
    def self.at(micros)
      micros && Time.at(0, micros, :usec)
    end
  end
  private_constant :Times

  # One attempt at a job, as Job#attempts lists them.
  #
  # number::      1 for the first attempt
  # state::       "running", "completed", "failed", "lost" (its lease ran out), "released"
  #               (handed back by a stopping worker) or "cancelled"
  # started_at::  Time
  # finished_at:: Time, or nil while it runs
  # worker::      the worker that ran it ("pid:n"), on #node (a host name)
  # error::       for a failed attempt, a Hash: "class", "message", "backtrace"...
  Attempt = Struct.new(:number, :state, :started_at, :finished_at, :worker, :node, :error, keyword_init: true) do
    def self.from(record) # :nodoc:
      new(**record, started_at: Times.at(record[:started_at]), finished_at: Times.at(record[:finished_at]))
    end
  end

  # A job as the store holds it (Engine#job, Engine#jobs), and the argument of a handler
  # called for a job (then #state is "running" and the timestamps and #attempts are nil).
  #
  # state::  "scheduled", "ready", "running", "completed", "retrying", "dead" or "cancelled"
  # target:: the task or handler it runs; #queue, #priority
  # input::  what it was enqueued with, as plain Ruby objects (Hashes with String keys)
  # output:: what it returned, once completed; #error: its last failure, a Hash
  # attempt:: attempts started so far, of #max_attempts
  # run_at, created_at, updated_at, finished_at:: Times (finished_at nil until it finishes)
  # run_id, step:: the workflow run and step it runs, if it runs one
  # attempts:: Attempt records, oldest first
  Job = Struct.new(
    :id, :state, :target, :queue, :priority, :input, :output, :error, :attempt, :max_attempts,
    :run_at, :created_at, :updated_at, :finished_at, :run_id, :step, :attempts,
    keyword_init: true
  ) do
    def self.from(record) # :nodoc:
      times = %i[run_at created_at updated_at finished_at].to_h { |field| [field, Times.at(record[field])] }
      new(**record, **times, attempts: record[:attempts].map { |attempt| Attempt.from(attempt) })
    end
  end

  # What a handler is called with for a workflow step.
  #
  # context:: the run's context (Hash with String keys)
  # results:: the results of the step's parents, keyed by parent step name
  # input::   the step's input, when its template maps one, else nil
  # attempt:: 1 for the first attempt
  # run_id::  the workflow run; #name: the step's name; #job_id: the job running it
  Step = Struct.new(:name, :run_id, :job_id, :attempt, :context, :results, :input, keyword_init: true)

  # A step of a WorkflowRun.
  #
  # state::    "waiting", "ready", "running", "retrying", "completed", "failed", "blocked" or "cancelled"
  # result::   what it returned, once completed; #error: its last failure while not completed
  # attempts:: attempts its current job made
  # task / handler:: what it runs (one of the two is set); #depends_on: its parents' names
  StepRecord = Struct.new(
    :name, :task, :handler, :depends_on, :state, :reason, :job_id, :attempts, :result, :error,
    :started_at, :finished_at,
    keyword_init: true
  ) do
    def self.from(record) # :nodoc:
      new(**record, started_at: Times.at(record[:started_at]), finished_at: Times.at(record[:finished_at]))
    end
  end

  # A cron schedule (Engine#schedules): every tick of +cron+ in +timezone+ enqueues a job for
  # +target+ with +input+ on +queue+, +priority+, +max_attempts+. +missed+ says what happens
  # to ticks that fell while nothing worked: "skip", "run_once" or "run_all". +next_tick+ is
  # the earliest tick not yet handled and +last_tick+ the latest enqueued (Times, nil before
  # the first).
  Schedule = Struct.new(
    :name, :cron, :timezone, :target, :input, :queue, :priority, :max_attempts, :missed, :enabled,
    :next_tick, :last_tick, :created_at, :updated_at,
    keyword_init: true
  ) do
    def self.from(record) # :nodoc:
      times = %i[next_tick last_tick created_at updated_at].to_h { |field| [field, Times.at(record[field])] }
      new(**record, **times)
    end
  end

  # One move of a run (#step nil) or of one of its steps: #from → #to at #at (a Time).
  Transition = Struct.new(:step, :from, :to, :at, :reason, :attempt, keyword_init: true) do
    def self.from(record) # :nodoc:
      new(**record, at: Times.at(record[:at]))
    end
  end

  # A workflow run (Engine#workflow, #wait_workflow, #start_workflow).
  #
  # workflow:: its template's "namespace/name"; #version
  # state::    "running", "completed", "failed" or "cancelled"; #reason says why
  # context::  what it was started with
  # steps::    StepRecords in the template's order; #step(name) finds one
  # transitions:: Transitions, oldest first (empty in Engine#workflows listings)
  WorkflowRun = Struct.new(
    :id, :workflow, :version, :state, :reason, :context, :idempotency_key, :created_at, :updated_at,
    :finished_at, :steps, :transitions,
    keyword_init: true
  ) do
    def self.from(record) # :nodoc:
      times = %i[created_at updated_at finished_at].to_h { |field| [field, Times.at(record[field])] }
      new(
        **record, **times,
        steps: record[:steps].map { |step| StepRecord.from(step) },
        transitions: record[:transitions].map { |transition| Transition.from(transition) }
      )
    end

    # The step called +name+.
    # @param name [String, Symbol]
    # @return [StepRecord]
    # @raise [KeyError] naming the steps there are
    def step(name)
      steps.find { |step| step.name == name.to_s } ||
        raise(KeyError, "workflow run #{id} has no step `#{name}`; its steps are #{steps.map(&:name).join(", ")}")
    end
  end
end
