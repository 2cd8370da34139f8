# frozen_string_literal: true

# The suite runs against whichever cogwork `require` finds: the installed gem under
# `make ruby-test` (GEM_HOME=.gems), or gem/lib under `rake spec`. It starts real worker
# processes and runs the example tasks plus the fixtures in spec/fixtures/tasks.
require "cogwork"
require "timeout"
require "tmpdir"

module CogworkSpec
  EXAMPLES = File.expand_path("../examples", __dir__)
  EXAMPLE_TASKS = File.join(EXAMPLES, "tasks")
  FIXTURE_TASKS = File.expand_path("fixtures/tasks", __dir__)
  TASKS = [EXAMPLE_TASKS, FIXTURE_TASKS].freeze

  # Waits for a forked child; a child still running after +seconds+ hung: kill it and fail.
  def self.wait_or_kill(pid, seconds)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    until Process.wait(pid, Process::WNOHANG)
      if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline
        Process.kill("KILL", pid)
        Process.wait(pid)
        raise "forked child #{pid} hung"
      end
      sleep 0.01
    end
  end

  # Runs the block in a forked child; returns the child's pid and what the block returned (as
  # a String), or the message of the EngineClosedError it raised. A child that hangs fails.
  def self.in_fork
    reader, writer = IO.pipe
    pid = fork do
      reader.close
      writer.write(begin
        yield.to_s
      rescue Cogwork::EngineClosedError => error
        error.message
      end)
      writer.close
      exit!(0)
    end
    writer.close
    wait_or_kill(pid, 20)
    [pid, reader.read]
  ensure
    reader&.close
  end

  def self.elapsed
    start = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    yield
    Process.clock_gettime(Process::CLOCK_MONOTONIC) - start
  end
end

RSpec.configure do |config|
  config.disable_monkey_patching!
  config.expect_with(:rspec) { |expectations| expectations.syntax = :expect }
  # A hang is a failure: no example may wait forever on a worker.
  config.around { |example| Timeout.timeout(60) { example.run } }
end

# A fresh SQLite file for each example, in a directory removed after it: `@database`, its URL.
RSpec.shared_context "a SQLite database file" do
  around do |example|
    Dir.mktmpdir("cogwork-spec") do |dir|
      @database = "sqlite://#{dir}/cogwork.db"
      example.run
    end
  end
end

# An engine with one real worker process whose job store is a fresh SQLite file, closed after
# each example: `engine`.
RSpec.shared_context "an engine on a SQLite file" do
  include_context "a SQLite database file"

  let(:engine) { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: 1, database: @database) }

  after { engine.close }
end
