# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "logger"
require "stringio"

# Where an engine's settings come from: Engine.new's keywords, then Cogwork.configure, then
# cogwork.yml and the COGWORK_* variables (read by the core), then the core's defaults.
RSpec.describe "Cogwork configuration" do
  around do |example|
    Dir.mktmpdir("cogwork-config") do |dir|
      @dir = dir
      example.run
    ensure
      Cogwork.reset_configuration
    end
  end

  def write_config(text)
    File.join(@dir, "cogwork.yml").tap { |path| File.write(path, text) }
  end

  it "opens engines with what Cogwork.configure set, explicit keywords winning" do
    configured = Cogwork.configure do |config|
      config.tasks = [CogworkSpec::EXAMPLE_TASKS]
      config.workers = 1
      config.database = "sqlite://#{@dir}/configured.db"
    end
    expect(configured).to be(Cogwork.configuration)
    expect(Cogwork.configuration.to_h).to eq(tasks: [CogworkSpec::EXAMPLE_TASKS], workers: 1, database: "sqlite://#{@dir}/configured.db")

    Cogwork::Engine.open do |engine|
      expect(engine.run("addition", {num1: 2, num2: 3})).to eq("sum" => 5)
      engine.enqueue("addition", {num1: 1, num2: 1})
    end
    expect(File).to exist("#{@dir}/configured.db")

    Cogwork::Engine.open(tasks: [CogworkSpec::FIXTURE_TASKS], database: "sqlite://#{@dir}/explicit.db") do |engine|
      expect { engine.run("addition", {num1: 2, num2: 3}) }.to raise_error(Cogwork::TaskNotFoundError)
      expect(engine.run("echo", {"n" => 1})).to eq("n" => 1)
      expect(engine.jobs).to eq([])
    end
  end

  it "passes the clock and logger Cogwork.configure set, which test suites use" do
    log = StringIO.new
    Cogwork.configure do |config|
      config.clock = :manual
      config.logger = Logger.new(log)
    end
    Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, database: "sqlite://#{@dir}/clock.db") do |engine|
      expect(engine.logger).to be(Cogwork.configuration.logger)
      start = engine.now
      expect(engine.advance(60)).to eq(start + 60)
      engine.run("flaky", {amount: 1}) rescue nil # rubocop:disable Style/RescueModifier
    end
    expect(log.string).to include("flaky: the payment API is slow")
  end

  it "reads ./cogwork.yml when there is one, and the file named by config:, keywords winning" do
    write_config(<<~YAML)
      database: sqlite://#{@dir}/from-file.db
      tasks: [#{CogworkSpec::EXAMPLE_TASKS}]
      workers: 1
    YAML
    Dir.chdir(@dir) do
      Cogwork::Engine.open { |engine| engine.enqueue("addition", {num1: 1, num2: 2}) }
    end
    expect(File).to exist("#{@dir}/from-file.db")

    Cogwork::Engine.open(config: "#{@dir}/cogwork.yml") do |engine|
      expect(engine.jobs.map(&:input)).to eq([{"num1" => 1, "num2" => 2}])
      expect(engine.drain).to include(completed: 1)
    end
    Cogwork::Engine.open(config: "#{@dir}/cogwork.yml", database: "sqlite://#{@dir}/other.db") do |engine|
      expect(engine.jobs).to eq([])
    end
  end

  it "works as cogwork.yml says once it works: its queues, their concurrency and rate limits, its schedules" do
    path = write_config(<<~YAML)
      database: sqlite://#{@dir}/configured.db
      workers: 1
      queues:
        mail: {rate_limit: 1}
        reports: {concurrency: 1}
      schedules:
        - {name: hourly, cron: "0 * * * *", target: report, input: {n: 7}, queue: reports}
    YAML
    Cogwork::Engine.open(config: path, clock: :manual) do |engine|
      running = 0
      most = 0
      lock = Mutex.new
      engine.handler("mail") { |job| {"to" => job.input["to"]} }
      engine.handler("report") do |job|
        lock.synchronize { most = [most, running += 1].max }
        sleep 0.02 # long enough for the other threads to take a report, were they let
        lock.synchronize { running -= 1 }
        {"n" => job.input["n"]}
      end
      expect(engine.schedules).to eq([]) # applied when the engine first works, its handlers registered
      3.times { |n| engine.enqueue("mail", {to: n}, queue: :mail) }
      4.times { |n| engine.enqueue("report", {n: n}, queue: :reports) }

      # Queues left out: "default" and the file's. One mail a second, and the clock stands still.
      expect(engine.drain(concurrency: 4)).to eq(completed: 5, failed: 0, dead: 0, released: 0)
      expect(most).to eq(1)
      expect(engine.jobs(queue: :mail, state: :ready).size).to eq(2)
      engine.advance(1)
      expect(engine.drain).to include(completed: 1)

      schedule = engine.schedules.first
      expect([schedule.name, schedule.target, schedule.input, schedule.queue]).to eq(["hourly", "report", {"n" => 7}, "reports"])
      engine.advance(schedule.next_tick - engine.now)
      expect(engine.drain).to include(completed: 2) # the tick's report, and the last mail
      expect(engine.jobs(queue: :mail).map(&:state)).to eq(%w[completed] * 3)
      expect(engine.jobs(target: "report", limit: 1).map { |job| [job.state, job.output] }).to eq([["completed", {"n" => 7}]])

      engine.remove_schedule("hourly")
      engine.drain(queues: :mail)
      expect(engine.schedules).to eq([]) # applied once: a schedule removed stays removed
    end
  end

  it "refuses to work while a schedule of cogwork.yml targets a handler not registered, unless told not to apply the file" do
    path = write_config(<<~YAML)
      database: sqlite://#{@dir}/unregistered.db
      workers: 1
      schedules:
        - {name: hourly, cron: "0 * * * *", target: report}
    YAML
    Cogwork::Engine.open(config: path, apply_config: false) do |engine|
      expect(engine.drain).to eq(completed: 0, failed: 0, dead: 0, released: 0)
      expect(engine.schedules).to eq([])
    end
    expect { Cogwork::Engine.new(config: path, apply_config: "no") }.to raise_error(TypeError, "apply_config must be true or false, not String")
    Cogwork::Engine.open(config: path) do |engine|
      expect { engine.drain }.to raise_error(Cogwork::TaskNotFoundError, /report/)
      engine.handler("report") { |_job| {} }
      expect(engine.drain).to eq(completed: 0, failed: 0, dead: 0, released: 0)
      expect(engine.schedules.map(&:name)).to eq(["hourly"])
    end
  end

  it "refuses a bad configuration file with ConfigurationError naming the file and the key" do
    path = write_config("workers: many\n")
    expect { Cogwork::Engine.new(config: path) }
      .to raise_error(Cogwork::ConfigurationError, /#{Regexp.escape(path)}.*workers/)
    expect { Cogwork::Engine.new(config: "#{@dir}/missing.yml") }
      .to raise_error(Cogwork::ConfigurationError, /missing\.yml/)
  end

  it "names unknown options and wrong types" do
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, clock: :sometimes) }.to raise_error(ArgumentError, /clock must be :system or :manual, not :sometimes/)
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, clock: 5) }.to raise_error(TypeError, /clock must be :system or :manual, not Integer/)
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, colour: "red") }.to raise_error(ArgumentError, /colour/)
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, workers: "two") }.to raise_error(TypeError, "workers must be an Integer, not String")
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, watch: "yes") }.to raise_error(TypeError, "watch must be true or false, not String")
    expect { Cogwork::Engine.new(tasks: CogworkSpec::TASKS, lease: "30s") }.to raise_error(TypeError, /\Alease must be a number of seconds/)
    expect { Cogwork::Engine.new(tasks: [CogworkSpec::EXAMPLE_TASKS, 7]) }.to raise_error(TypeError, "tasks must be a String or a Pathname, not Integer")
    expect { Cogwork.configure { |config| config.colour = "red" } }.to raise_error(NoMethodError, /colour=/)
  end
end
