# frozen_string_literal: true

require "spec_helper"
require "json"
require "open3"
require "rbconfig"
require "tempfile"

# The `cogwork` command the gem installs (the core's command line run by the native
# extension), as a user runs it: the RubyGems wrapper in the installed gems' bin directory
# (.gems/bin/cogwork under `make ruby-test`), in real processes; and Cogwork.cli in this one.
RSpec.describe "the cogwork command" do
  # The wrapper RubyGems installed; from a checkout (`rake spec`), the gem's own exe/cogwork.
  let(:command) do
    installed = File.join(Gem.bindir, "cogwork")
    File.executable?(installed) ? [installed] : [RbConfig.ruby, File.expand_path("../gem/exe/cogwork", __dir__)]
  end

  include_context "a SQLite database file"

  def cogwork(*args) = Open3.capture3(*command, *args, chdir: CogworkSpec::EXAMPLES)

  it "runs a task and prints its output" do
    out, err, status = cogwork("run", "addition", "--tasks", "tasks", "--input", '{"num1":2,"num2":3}')
    expect([status.exitstatus, err]).to eq([0, ""])
    expect(JSON.parse(out)).to eq("sum" => 5)
  end

  it "defines a workflow, runs it to the end and prints it" do
    out, _err, status = cogwork("workflow", "define", "workflows/linear.yaml", "--database", @database)
    expect([status.exitstatus, out]).to eq([0, "defined linear_workflow/mathematical_sequence@1.0.0 (4 steps) from workflows/linear.yaml\n"])

    out, err, status = cogwork("workflow", "start", "linear_workflow/mathematical_sequence", "--context", '{"even_number":6}',
                               "--wait", "--tasks", "tasks", "--database", @database, "--json")
    expect([status.exitstatus, err]).to eq([0, ""])
    run = JSON.parse(out)
    expect(run["state"]).to eq("completed")
    expect(run["steps"].to_h { |step| [step["name"], step["result"]] })
      .to eq("square" => {"product" => 36}, "square_again" => {"product" => 1296}, "add_original" => {"sum" => 1302}, "halve" => {"product" => 651})
  end

  it "exits 1 for a failed command and 2 for a usage error" do
    _out, err, status = cogwork("run", "no_such_task", "--tasks", "tasks", "--input", "{}")
    expect(status.exitstatus).to eq(1)
    expect(err).to include("no_such_task")
    _out, err, status = cogwork("frobnicate")
    expect(status.exitstatus).to eq(2)
    expect(err).to include("unrecognized subcommand 'frobnicate'")
  end

  # Whether process +pid+ has the file at +path+ open.
  def holds_open?(pid, path)
    Dir.glob("/proc/#{pid}/fd/*").any? { |fd| (File.readlink(fd) rescue nil) == path } # rubocop:disable Style/RescueModifier
  end

  # Runs `cogwork *args` in the background; once it has the database open (so it is running
  # the command, past the point where `work` listens for signals), sends it SIGINT and returns
  # its stderr and status.
  def interrupted(*args)
    Open3.popen3(*command, *args, "--database", @database, chdir: CogworkSpec::EXAMPLES) do |_in, _out, err, thread|
      sleep 0.01 until holds_open?(thread.pid, @database.delete_prefix("sqlite://")) || !thread.alive?
      Process.kill("INT", thread.pid)
      [err.read, thread.value]
    ensure
      Process.kill("KILL", thread.pid) if thread.alive?
    end
  end

  it "stops `work` gracefully on SIGINT, as the Rust binary does" do
    err, status = interrupted("work", "--tasks", "tasks")
    expect(err).to include("stopping: finishing the jobs under way")
    expect(status.exitstatus).to eq(0)
  end

  # The id of a run of the linear example workflow, started in the database and not worked.
  def waiting_run
    cogwork("workflow", "define", "workflows/linear.yaml", "--database", @database)
    out, err, _status = cogwork("workflow", "start", "linear_workflow/mathematical_sequence", "--context", '{"even_number":6}', "--database", @database)
    out[/\d+/] || raise("cogwork workflow start printed no run id: #{err}")
  end

  it "ends at once on SIGINT while another command blocks, as the Rust binary does" do
    _err, status = interrupted("workflow", "wait", waiting_run)
    expect(status.termsig).to eq(Signal.list.fetch("INT"))
  end

  describe "Cogwork.cli" do
    # Runs the block with this process's fds 1 and 2 going to files (the command prints there,
    # not to $stdout and $stderr); returns what was printed on each.
    def printed
      Tempfile.create("cogwork-cli-out") do |out|
        Tempfile.create("cogwork-cli-err") do |err|
          saved = [$stdout.dup, $stderr.dup]
          $stdout.reopen(out)
          $stderr.reopen(err)
          begin
            yield
          ensure
            $stdout.reopen(saved[0])
            $stderr.reopen(saved[1])
          end
          [File.read(out.path), File.read(err.path)]
        end
      end
    end

    it "runs the command line in this process and returns its exit status" do
      statuses = []
      out, err = printed do
        statuses << Cogwork.cli(["run", "addition", "--tasks", CogworkSpec::EXAMPLE_TASKS, "--input", '{"num1":20,"num2":22}'])
        statuses << Cogwork.cli(["workflow", "status", "7", "--database", @database])
      end
      expect(statuses).to eq([0, 1])
      expect(JSON.parse(out)).to eq("sum" => 42)
      expect(err).to eq("error: workflow run 7 not found; it never existed or was purged\n")
    end

    it "waits with the GVL released, and Timeout interrupts the wait" do
      run = waiting_run
      counter = 0
      counting = Thread.new { loop { counter += 1; Thread.pass } }
      expect { Timeout.timeout(0.3) { Cogwork.cli(["workflow", "wait", run, "--database", @database, "--timeout", "1s"]) } }
        .to raise_error(Timeout::Error)
      expect(counter).to be > 1000
    ensure
      counting&.kill
    end

    it "names a worker command that names no program" do
      expect { Cogwork.cli(["--version"], []) }.to raise_error(ArgumentError, /worker_command must name a program/)
    end
  end
end
