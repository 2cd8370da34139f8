# frozen_string_literal: true

# cogwork's job figures from Ruby, one line of JSON per figure, run by bench/ruby/run.sh beside
# Sidekiq's (bench/sidekiq/bench.rb) with the same Ruby flags. Against the installed gem (a
# release build: COGWORK_PROFILE=release make ruby-install). Jobs are no-op Ruby handler jobs
# on a fresh database each time; the engine logs nothing (logger: false; its default WARN
# logger listens to failures alone, which no-op jobs never have, and measures the same).
#
#   ruby bench.rb enqueue_single N DATABASE       # engine.enqueue, one job per call
#   ruby bench.rb enqueue_bulk N BATCH DATABASE   # engine.enqueue_all, BATCH jobs per call
#   ruby bench.rb drain N CONCURRENCY DATABASE    # N jobs enqueued first, then engine.drain
#   ruby bench.rb convert N PROBE                  # the gem's conversion of a 10-key nested Hash,
#                                                  # in and out (PROBE: bench/ruby/convert's .so)
require "cogwork"
require "json"

MODE = ARGV.fetch(0)
N = Integer(ARGV.fetch(1))

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

def info(database)
  {ruby: RUBY_VERSION, yjit: defined?(RubyVM::YJIT) && RubyVM::YJIT.respond_to?(:enabled?) ? RubyVM::YJIT.enabled? : false,
   cogwork: Cogwork::VERSION, database: database[/\A[a-z]+/], rubyopt: ENV["RUBYOPT"].to_s}
end

# An engine on +database+ with the no-op handler, closed after the block.
def with_engine(database, &)
  Cogwork::Engine.open(database: database, workers: 1, logger: false) do |engine|
    engine.handler("noop") { |_job| nil }
    yield engine
  end
end

def report(database, figures) = puts(JSON.generate(info(database).merge(mode: MODE, n: N, **figures)))

def timed
  started = now
  yield
  now - started
end

case MODE
when "enqueue_single"
  database = ARGV.fetch(2)
  with_engine(database) do |engine|
    engine.enqueue("noop", {i: -1}) # opens the store
    seconds = timed { N.times { |i| engine.enqueue("noop", {i: i}) } }
    report(database, seconds: seconds.round(4), rate: (N / seconds).round(1))
  end
when "enqueue_bulk"
  batch = Integer(ARGV.fetch(2))
  database = ARGV.fetch(3)
  with_engine(database) do |engine|
    engine.enqueue("noop", {i: -1})
    seconds = timed { (0...N).each_slice(batch) { |slice| engine.enqueue_all(slice.map { |i| {target: "noop", input: {i: i}} }) } }
    report(database, batch: batch, seconds: seconds.round(4), rate: (N / seconds).round(1))
  end
when "drain"
  concurrency = Integer(ARGV.fetch(2))
  database = ARGV.fetch(3)
  with_engine(database) do |engine|
    (0...N).each_slice(1000) { |slice| engine.enqueue_all(slice.map { |i| {target: "noop", input: {i: i}} }) }
    counts = nil
    seconds = timed { counts = engine.drain(concurrency: concurrency) }
    raise "drained #{counts.inspect}, not #{N} completed" unless counts[:completed] == N

    report(database, concurrency: concurrency, seconds: seconds.round(4), rate: (N / seconds).round(1))
  end
when "convert"
  require ARGV.fetch(2)
  # The payload bench/python converts: ten keys, one nested Hash, one Array.
  small = {"id" => 42, "name" => "addition", "ok" => true, "ratio" => 0.75, "count" => 3, "tags" => %w[a b],
           "price" => 19.99, "user" => {"id" => 7, "name" => "Ada", "score" => 98.5}, "attempt" => 1, "note" => nil}
  raise "the round trip changed the Hash" unless CogworkConvertBench.round_trip(small) == small

  # µs per call: the median of 9 runs of N calls.
  per_call = ->(name) { Array.new(9) { timed { N.times { CogworkConvertBench.public_send(name, small) } } / N * 1e6 }.sort[4] }
  into, round_trip = per_call.(:into_core), per_call.(:round_trip)
  puts JSON.generate(ruby: RUBY_VERSION, mode: MODE, n: N, in_us: into.round(3), round_trip_us: round_trip.round(3))
else
  abort "usage: bench.rb enqueue_single N DATABASE | enqueue_bulk N BATCH DATABASE | drain N CONCURRENCY DATABASE | convert N PROBE"
end
