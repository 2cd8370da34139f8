# Sidekiq throughput driver, copied from ../shared/peers/sidekiq/bench.rb (the peers'
# measurement) so the drain can be re-run beside cogwork's; only the log path is settable.
#   ruby bench.rb push_single N
#   ruby bench.rb push_bulk N BATCH
#   ruby bench.rb drain N CONCURRENCY
# Prints one JSON line. Needs Redis at $REDIS_URL (default 127.0.0.1:6390/0).
require "json"
require_relative "noop_worker"

MODE = ARGV[0]
N = Integer(ARGV[1] || 100_000)
QKEY = "queue:default"
DEADLINE_S = Float(ENV.fetch("DRAIN_DEADLINE_S", "300"))
POLL_S = 0.002

def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
def redis(&blk) = Sidekiq.redis(&blk)

def info
  { ruby: RUBY_VERSION, ruby_desc: RUBY_DESCRIPTION, sidekiq: Sidekiq::VERSION,
    redis_gem: Redis::VERSION,
    yjit: defined?(RubyVM::YJIT) && RubyVM::YJIT.respond_to?(:enabled?) ? RubyVM::YJIT.enabled? : false }
end

redis { |r| r.flushdb }

case MODE
when "push_single"
  t0 = now
  N.times { |i| NoopJob.perform_async(i) }
  dt = now - t0
  len = redis { |r| r.llen(QKEY) }
  raise "expected #{N} queued, got #{len}" unless len == N
  puts JSON.generate(info.merge(mode: MODE, n: N, seconds: dt.round(4), rate: (N / dt).round(1)))
when "push_bulk"
  batch = Integer(ARGV[2] || 1000)
  t0 = now
  (0...N).each_slice(batch) do |slice|
    Sidekiq::Client.push_bulk("class" => NoopJob, "args" => slice.map { |i| [i] })
  end
  dt = now - t0
  len = redis { |r| r.llen(QKEY) }
  raise "expected #{N} queued, got #{len}" unless len == N
  puts JSON.generate(info.merge(mode: MODE, n: N, batch: batch, seconds: dt.round(4), rate: (N / dt).round(1)))
when "drain"
  conc = Integer(ARGV[2] || 10)
  (0...N).each_slice(1000) { |s| Sidekiq::Client.push_bulk("class" => NoopJob, "args" => s.map { |i| [i] }) }
  raise "preload failed" unless redis { |r| r.llen(QKEY) } == N
  log = ENV.fetch("SIDEKIQ_LOG") { File.join(__dir__, "..", "run", "sidekiq-c#{conc}.log") }
  pid = Process.spawn("sidekiq", "-r", File.join(__dir__, "noop_worker.rb"), "-c", conc.to_s,
                      "-q", "default", "-t", "10", out: log, err: [:child, :out], pgroup: true)
  t_spawn = now
  t_start = t_end = nil
  begin
    loop do
      len = redis { |r| r.llen(QKEY) }
      t = now
      t_start ||= t if len < N
      if len.zero?
        t_end = t
        break
      end
      raise "drain deadline #{DEADLINE_S}s exceeded (len=#{len})" if t - t_spawn > DEADLINE_S
      sleep POLL_S
    end
  ensure
    Process.kill("TERM", pid) rescue nil
    waited = 0
    until Process.wait(pid, Process::WNOHANG)
      sleep 0.1; waited += 0.1
      if waited > 30 then Process.kill("KILL", pid) rescue nil; Process.wait(pid); break; end
    end
  end
  processed = redis { |r| r.get("stat:processed").to_i }
  failed = redis { |r| r.get("stat:failed").to_i }
  left_after_stop = redis { |r| r.llen(QKEY) }   # jobs Sidekiq pushed back on shutdown
  dt = t_end - t_start
  puts JSON.generate(info.merge(mode: MODE, n: N, concurrency: conc, boot_to_first_s: (t_start - t_spawn).round(3),
                                seconds: dt.round(4), rate: (N / dt).round(1),
                                processed: processed, failed: failed, left_after_stop: left_after_stop, log_level: ENV.fetch("SK_LOG", "warn"),
                                server_rubyopt: ENV["RUBYOPT"].to_s))
else
  abort "usage: bench.rb push_single|push_bulk|drain N [BATCH|CONC]"
end
