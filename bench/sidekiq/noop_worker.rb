# No-op Sidekiq worker used by bench.rb, copied from ../shared/peers/sidekiq/noop_worker.rb.
require "sidekiq"
require "logger"

# Debian pairs Sidekiq 6.4 with redis-rb 4.8, which prints a deprecation
# warning on every push (Sidekiq calls SADD for the queue set); silence it.
Redis.silence_deprecations = true

REDIS_URL = ENV.fetch("REDIS_URL", "redis://127.0.0.1:6390/0")

Sidekiq.configure_client { |c| c.redis = { url: REDIS_URL } }
Sidekiq.configure_server do |c|
  c.redis = { url: REDIS_URL }
  # SK_LOG=info keeps Sidekiq's default per-job "start"/"done" log lines;
  # the default here (warn) measures the engine without per-job logging.
  c.logger.level = ENV.fetch("SK_LOG", "warn") == "info" ? Logger::INFO : Logger::WARN
end

class NoopJob
  include Sidekiq::Worker
  sidekiq_options queue: "default", retry: false

  def perform(_i)
  end
end
