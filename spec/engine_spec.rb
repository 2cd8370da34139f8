# frozen_string_literal: true

require "spec_helper"
require "rbconfig"
require "tmpdir"
require "fileutils"
require "stringio"
require "logger"

RSpec.describe Cogwork::Engine do
  # One engine (two real worker processes) for the examples that do not close or fork it.
  before(:all) { @engine = described_class.new(tasks: CogworkSpec::TASKS, workers: 2) }
  after(:all) { @engine.close }

  let(:engine) { @engine }

  describe "#run" do
    it "raises LimitExceededError naming the path and limit when the output nests too deep" do
      expect { engine.run("nest", {depth: 150}) }.to raise_error(Cogwork::LimitExceededError) { |error|
        expect(error.limit).to eq(100)
        expect(error.path).to start_with("output.a.a.a")
        expect(error.task).to eq("nest@1.0.0")
      }
      expect(engine.run("nest", {depth: 2})).to eq("a" => {"a" => 1})
    end

    it "cuts console output past console_max_bytes with a note naming the option" do
      Cogwork::Engine.open(tasks: CogworkSpec::TASKS, workers: 1, console_max_bytes: 1_000) do |small|
        console = small.execute("nest", {depth: 0, lines: 50}).console
        expect(console.length).to eq(11)
        expect(console.last[:message]).to include("console_max_bytes")
      end
    end

    it "returns the output as a Hash with String keys" do
      expect(engine.run("addition", {num1: 2, num2: 3})).to eq("sum" => 5)
    end

    it "round-trips unicode, quotes, nesting, Symbols and every JSON type" do
      text = "héllo ☃ 😀 \"double\" 'single' back\\slash\nnewline\u0000nul"
      list = [nil, true, false, 0, -7, 1.5, [], {}]
      nested = {"a" => [{"b" => "c"}]}
      output = engine.run("echo", {"text" => text, :symbol_key => :symbol_value, "list" => list, "nested" => nested})
      expect(output).to eq("text" => text, "symbol_key" => "symbol_value", "list" => list, "nested" => nested)
      expect(output["list"][3]).to be_an(Integer)
      expect(output["list"][5]).to be_a(Float)
    end

    it "sends a Time or ActiveSupport::TimeWithZone as RFC 3339 in UTC, to the microsecond" do
      require "active_support"
      require "active_support/core_ext/time"
      local = Time.new(2026, 11, 30, 13, 5, 7.25r, "+01:00")
      zoned = Time.utc(2026, 1, 2, 3, 4, 5, 678_901.5r).in_time_zone("Asia/Tokyo")
      expect(zoned).not_to be_an_instance_of(Time)
      output = engine.run("echo", {at: local, zoned: zoned, list: [Time.at(0).utc, Time.at(-1, 500_000, :usec)]})
      expect(output).to eq(
        "at" => "2026-11-30T12:05:07.250000Z",
        "zoned" => "2026-01-02T03:04:05.678901Z",
        "list" => ["1970-01-01T00:00:00.000000Z", "1969-12-31T23:59:59.500000Z"]
      )
    end

    it "returns whole numbers as Integers, never as Floats" do
      input = {"int32" => 2**31 - 1, "safe" => 2**53 - 1, "negative" => -(2**40)}
      output = engine.run("echo", input)
      expect(output).to eq(input)
      expect(output.values).to all(be_an(Integer))
    end

    it "hands Bignums to the core exactly" do
      # JavaScript numbers are doubles, so a task sees 2**70 rounded; the input schema is
      # checked before that, and its message quotes the number the core received.
      [-(2**70), -(10**30) - 1].each do |amount|
        expect { engine.run("charge", {amount: amount}) }
          .to raise_error(Cogwork::InvalidInputError, /#{amount}/)
      end
    end

    it "raises TypeError naming the key path of an unsupported object" do
      expect { engine.run("echo", {items: [1, 2, 3, {at: 1..2}]}) }
        .to raise_error(TypeError, /^input\.items\[3\]\.at is of type Range, which a task cannot take; use a Hash, Array, String, Symbol, Integer, Float, Time/)
      expect { engine.run("echo", {"odd key" => [Object.new]}) }
        .to raise_error(TypeError, /^input\["odd key"\]\[0\] is of type Object/)
      expect { engine.run("echo", {list: [{1 => 2}]}) }
        .to raise_error(TypeError, /^input\.list\[0\] has a key of type Integer; keys must be a String or a Symbol/)
    end

    it "names keys by the one identifier rule both languages share (Unicode letters, _ and $)" do
      expect { engine.run("echo", {"données" => {"$ref" => [Object.new]}}) }
        .to raise_error(TypeError, /^input\.données\.\$ref\[0\] is of type Object/)
      expect { engine.run("echo", {"0" => {"" => Object.new}}) }
        .to raise_error(TypeError, /^input\["0"\]\[""\] is of type Object/)
    end

    it "accepts binary Strings holding UTF-8 and names the path of any other bad String or a cycle" do
      expect(engine.run("echo", {"bytes" => "é".b})).to eq("bytes" => "é")
      expect { engine.run("echo", {"bytes" => ["\xff".b]}) }
        .to raise_error(EncodingError, /^input\.bytes\[0\] is a string in ASCII-8BIT that does not convert to UTF-8/)
      cycle = []
      cycle << cycle
      expect { engine.run("echo", cycle) }
        .to raise_error(ArgumentError, /^input(\[0\]){100} is nested more than 100 levels deep.*contain itself/)
    end

    it "converts a value nested exactly as deep as the limit, and refuses one level more" do
      nest = ->(levels) { (1...levels).reduce([]) { |inner, _| [inner] } }
      expect(engine.run("echo", nest.(Cogwork::Native::MAX_DEPTH))).to eq(nest.(Cogwork::Native::MAX_DEPTH))
      expect { engine.run("echo", {"a" => nest.(Cogwork::Native::MAX_DEPTH)}) }
        .to raise_error(ArgumentError, /^input\.a(\[0\]){99} is nested more than 100 levels deep/)
    end

    it "refuses a negative, NaN, infinite or absurd timeout with ArgumentError naming it" do
      [-1, Float::NAN, Float::INFINITY, 1e19, 367 * 86_400].each do |timeout|
        expect { engine.run("addition", {num1: 1, num2: 2}, timeout: timeout) }
          .to raise_error(ArgumentError, /^timeout must be a number of seconds from 0 to 31622400 \(366 days\)/)
      end
      expect { described_class.new(tasks: CogworkSpec::TASKS, timeout: 1e19) }.to raise_error(ArgumentError, /^timeout/)
      expect(engine.run("addition", {num1: 1, num2: 2}, timeout: 5)).to eq("sum" => 3)
    end

    it "raises InvalidInputError listing the schema violations" do
      expect { engine.run("addition", {num1: "two", num2: 3}) }.to raise_error(Cogwork::InvalidInputError) { |error|
        expect(error.task).to eq("addition@1.0.0")
        expect(error.violations).to include(a_hash_including(path: "input.num1", keyword: "type"))
        expect(error.message).to include("input.num1")
      }
    end

    it "raises TaskNotFoundError for an unknown task" do
      expect { engine.run("no-such-task", {}) }
        .to raise_error(Cogwork::TaskNotFoundError, /no-such-task/) { |error| expect(error.task).to eq("no-such-task") }
    end

    it "raises TaskFailedError carrying the JavaScript error's class, message and stack" do
      rate_limited = {url: "https://payments.example.com/charges", method: "POST", status: 429, response: {}}
      expect { engine.run("charge", {amount: 250}, mocks: rate_limited) }.to raise_error(Cogwork::TaskFailedError) { |error|
        expect(error.task).to eq("charge@1.0.0")
        expect(error.js_name).to eq("RateLimitError")
        expect(error.js_message).to eq("payment API is rate limiting us")
        expect(error.js_stack).to be_nil.or be_a(String)
      }
    end

    it "answers fetches from mocks" do
      charged = {url: "https://payments.example.com/charges", method: "POST", response: {charged: 250}}
      expect(engine.run("charge", {amount: 250}, mocks: [charged])).to eq("charged" => 250)
    end

    it "raises TimeoutError for a runaway task, and the next run still works" do
      elapsed = CogworkSpec.elapsed do
        expect { engine.run("spin", {}, timeout: 0.5) }.to raise_error(Cogwork::TaskTimeoutError) { |error|
          expect(error.task).to eq("spin@1.0.0")
          expect(error.after).to be_within(0.01).of(0.5)
        }
      end
      expect(elapsed).to be < 5
      expect(engine.run("addition", {num1: 1, num2: 2})).to eq("sum" => 3)
    end

    it "releases the GVL while it waits, so other Ruby threads run" do
      ticks = 0
      ticker = Thread.new { loop { ticks += 1 } } # pure Ruby: runs only while it holds the GVL
      expect { engine.run("spin", {}, timeout: 0.5) }.to raise_error(Cogwork::TimeoutError)
      ticker.kill.join
      expect(ticks).to be > 1000
    end

    it "is interrupted by Thread#raise, which stops the runs' workers" do
      runs = Array.new(2) do
        Thread.new do
          Thread.current.report_on_exception = false # the raise below is expected
          engine.run("spin", {}, timeout: 120)
        end
      end
      sleep 0.5 # both workers are now spinning
      runs.each { |run| run.raise(RuntimeError, "stop") }
      runs.each { |run| expect { run.value }.to raise_error(RuntimeError, "stop") }

      # Both workers were busy for up to 120 s: these finish quickly only if they were stopped.
      elapsed = CogworkSpec.elapsed do
        sums = Array.new(2) { |i| Thread.new { engine.run("addition", {num1: i, num2: 1}) } }.map(&:value)
        expect(sums).to eq([{"sum" => 1}, {"sum" => 2}])
      end
      expect(elapsed).to be < 5
    end

    it "is interrupted by Timeout.timeout" do
      elapsed = CogworkSpec.elapsed do
        expect { Timeout.timeout(0.5) { engine.run("spin", {}, timeout: 120) } }.to raise_error(Timeout::Error)
      end
      expect(elapsed).to be < 2
      expect(engine.run("addition", {num1: 2, num2: 2})).to eq("sum" => 4)
    end

    it "is interrupted by Ctrl-C (SIGINT raises Interrupt)" do
      lib = File.dirname($LOAD_PATH.resolve_feature_path("cogwork").last)
      script = <<~RUBY
        require "cogwork"
        engine = Cogwork::Engine.new(tasks: [#{CogworkSpec::FIXTURE_TASKS.dump}], workers: 1)
        begin
          puts "running"
          $stdout.flush
          engine.run("spin", {}, timeout: 120)
        rescue Interrupt
          puts "interrupted", engine.run("echo", {"next" => "ok"}).inspect
        end
      RUBY
      IO.popen([RbConfig.ruby, "-I", lib, "-e", script]) do |child|
        expect(child.gets).to eq("running\n")
        sleep 0.5
        elapsed = CogworkSpec.elapsed do
          Process.kill("INT", child.pid)
          expect(child.read).to eq("interrupted\n{\"next\"=>\"ok\"}\n")
        end
        expect(elapsed).to be < 5
      end
    end
  end

  describe "#execute" do
    let(:log) { StringIO.new }

    around do |example|
      Cogwork.logger = Logger.new(log, level: Logger::DEBUG, formatter: ->(severity, _, _, message) { "#{severity} #{message}\n" })
      example.run
    ensure
      Cogwork.logger = nil
    end

    it "returns the execution record: output, console lines, worker and duration" do
      execution = engine.execute("greeting", {name: "Ada", language: "fr"})
      expect(execution).to be_a(Cogwork::Execution)
      expect(execution.output).to eq("message" => "Bonjour, Ada!")
      expect(execution.console).to eq([{level: "log", message: "greeting Ada in fr"}])
      expect(execution.worker).to be_an(Integer)
      expect(execution.duration).to be_a(Float).and be > 0
    end

    it "sends console lines to Cogwork.logger at the task's level, from #run too" do
      expect(engine.run("greeting", {name: "Ada"})).to eq("message" => "Hello, Ada!")
      expect(log.string).to eq("INFO greeting: greeting Ada in en\n")
    end

    it "keeps the console, worker, timing and typed fields of a failed execution on TaskFailedError" do
      expect { engine.execute("flaky", {amount: 5}) }.to raise_error(Cogwork::TaskFailedError) { |error|
        expect(error.task).to eq("flaky@1.0.0")
        expect([error.js_name, error.js_message]).to eq(["RateLimitError", "slow down"])
        expect(error.console).to eq([{level: "info", message: "charging 5"}, {level: "warn", message: "the payment API is slow"}])
        expect(error.worker).to be_an(Integer)
        expect(error.duration).to be_a(Float).and be > 0
        # Filled by the worker once it forwards the typed error's fields; nil until then.
        expect([error.status, error.retryable, error.data]).to eq([429, true, {"retry_in" => 5}])
      }
      expect(log.string).to eq("INFO flaky: charging 5\nWARN flaky: the payment API is slow\n")
    end

    it "defaults Cogwork.logger to a Logger on $stderr at WARN" do
      Cogwork.logger = nil
      expect(Cogwork.logger).to be_a(Logger).and have_attributes(level: Logger::WARN)
      expect { engine.run("greeting", {name: "Ada"}) }.not_to output.to_stderr_from_any_process
      expect { engine.run("flaky", {amount: 1}) rescue nil }.to output(/WARN.*flaky: the payment API is slow/).to_stderr_from_any_process
    end
  end

  describe "#close" do
    it "makes later runs raise EngineClosedError" do
      closed = described_class.new(tasks: CogworkSpec::TASKS, workers: 1)
      closed.close
      expect { closed.run("addition", {num1: 1, num2: 1}) }.to raise_error(Cogwork::EngineClosedError)
    end

    it "happens at the end of an .open block" do
      opened = described_class.open(tasks: CogworkSpec::TASKS, workers: 1) do |e|
        expect(e.run("addition", {num1: 1, num2: 1})).to eq("sum" => 2)
        e
      end
      expect { opened.run("addition", {num1: 1, num2: 1}) }.to raise_error(Cogwork::EngineClosedError)
    end
  end

  describe "after fork" do
    it "raises a clear error in the child, which can open its own engine" do
      reader, writer = IO.pipe
      pid = fork do
        reader.close
        report = begin
          engine.run("addition", {num1: 1, num2: 1})
          "the inherited engine ran"
        rescue Cogwork::EngineClosedError => error
          error.message
        end
        own = described_class.new(tasks: CogworkSpec::TASKS, workers: 1)
        writer.puts(report, own.run("addition", {num1: 20, num2: 22}).inspect)
        own.close
      ensure
        writer.close
        exit!(0) # skip at_exit hooks (RSpec's) in the child
      end
      writer.close
      expect(reader.read).to match(/opened in process \d+ and cannot be used in forked process #{pid}.*\n\{"sum"=>42\}\n\z/)
      Process.wait(pid)
    end
  end

  describe "during a fork" do
    it "lets the child open its own engine while another thread keeps calling into the parent's" do
      calls = 0
      busy = Thread.new do
        loop do
          engine.run("no-such-task", {})
        rescue Cogwork::TaskNotFoundError
          calls += 1
        end
      end
      sleep 0.01 until calls > 10
      reports = Array.new(5) do
        reader, writer = IO.pipe
        pid = fork do
          reader.close
          own = described_class.new(tasks: CogworkSpec::TASKS, workers: 1)
          writer.puts(own.run("addition", {num1: 20, num2: 22}).inspect)
          own.close
        ensure
          writer.close
          exit!(0)
        end
        writer.close
        CogworkSpec.wait_or_kill(pid, 20)
        reader.read.tap { reader.close }
      end
      busy.kill.join
      expect(reports).to all(eq("{\"sum\"=>42}\n"))
    end
  end

  describe ".new" do
    it "warns about duplicate tasks at open and keeps them in #warnings" do
      Dir.mktmpdir do |dir|
        FileUtils.cp_r(File.join(CogworkSpec::EXAMPLE_TASKS, "addition"), File.join(dir, "addition-copy"))
        duplicated = nil
        expect { duplicated = described_class.new(tasks: [CogworkSpec::EXAMPLE_TASKS, dir], workers: 1) }
          .to output(/cogwork: duplicate task addition/).to_stderr
        expect(duplicated.warnings).to include(/duplicate task addition/)
        duplicated.close
      end
    end

    it "runs tasks in process on request, nil options taking their defaults" do
      described_class.open(tasks: CogworkSpec::TASKS, in_process: true, workers: nil, timeout: nil) do |e|
        expect(e.run("greeting", {name: "Ada", language: "fr"})).to eq("message" => "Bonjour, Ada!")
      end
    end

    it "accepts the byte budgets of fetch responses and console output" do
      described_class.open(tasks: CogworkSpec::TASKS, workers: 1, fetch_max_response_bytes: 1 << 16, console_max_bytes: 4096) do |e|
        expect(e.run("addition", {num1: 1, num2: 1})).to eq("sum" => 2)
      end
      expect { described_class.new(tasks: CogworkSpec::TASKS, console_max_bytes: "lots") }.to raise_error(TypeError)
    end

    it "rejects invalid options" do
      expect { described_class.new(tasks: CogworkSpec::TASKS, workers: 0) }
        .to raise_error(Cogwork::ConfigurationError, /workers must be at least 1/)
      expect { described_class.new(tasks: CogworkSpec::TASKS, wrokers: 2) }.to raise_error(ArgumentError, /wrokers/)
    end
  end
end
