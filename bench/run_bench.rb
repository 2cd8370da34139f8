# frozen_string_literal: true

# Engine#run from Ruby, end to end (conversion, GVL release, pool, worker, conversion
# back): warm latency of one thread, and throughput of several threads on 2 workers.
# `make bench` runs it against the installed (release) gem.
require "cogwork"
require "etc"

RUNS = 5_000
THREADS = 8
tasks = File.expand_path("../examples/tasks", __dir__)

def percentile(samples, p) = samples.sort[((samples.size - 1) * p).round]

puts "ruby #{RUBY_VERSION} — #{Time.now.utc.strftime("%Y-%m-%d %H:%M UTC")} — #{Etc.nprocessors} CPUs"
Cogwork::Engine.open(tasks: [tasks], workers: 1) do |engine|
  100.times { |i| engine.run("addition", {num1: i, num2: 1}) }
  samples = Array.new(RUNS) do |i|
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    engine.run("addition", {num1: i, num2: 1})
    (Process.clock_gettime(Process::CLOCK_MONOTONIC) - started) * 1e6
  end
  printf("ruby: warm latency p50 %.1f µs  p99 %.1f µs\n", percentile(samples, 0.5), percentile(samples, 0.99))
end

Cogwork::Engine.open(tasks: [tasks], workers: 2) do |engine|
  started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  Array.new(THREADS) { Thread.new { (RUNS / THREADS).times { |i| engine.run("addition", {num1: i, num2: 1}) } } }.each(&:join)
  elapsed = Process.clock_gettime(Process::CLOCK_MONOTONIC) - started
  printf("ruby: %d threads, 2 workers %.0f runs/s\n", THREADS, RUNS / THREADS * THREADS / elapsed)
end
