# frozen_string_literal: true

# What a test suite uses (`ruby examples/testing.rb` against the installed gem): defaults set
# once with Cogwork.configure, a manual clock that runs a retry and a cron tick without
# sleeping, and engine-wide HTTP mocks answering a JavaScript task's fetch.
require "cogwork"
require "tmpdir"

Cogwork.configure do |config|
  config.tasks = [File.join(__dir__, "tasks")]
  config.workers = 1
  config.clock = :manual
  config.logger = false # the failure below is on purpose
end

Dir.mktmpdir("cogwork-testing") do |dir|
  Cogwork::Engine.open(database: "sqlite://#{dir}/cogwork.db") do |engine|
    # A retry: the first attempt fails, the next is due after its backoff.
    calls = 0
    engine.handler("fails_once") { |job| (calls += 1) == 1 ? raise("not yet") : {"attempt" => job.attempt} }
    job = engine.enqueue("fails_once", {}, max_attempts: 2)
    engine.drain
    puts "after one drain: #{engine.job(job.id).state}, due again at +#{(engine.job(job.id).run_at - engine.now).round(3)} s"
    engine.advance(engine.job(job.id).run_at - engine.now)
    engine.drain
    puts "after advancing: #{engine.job(job.id).state}, #{engine.job(job.id).output}"

    # A cron tick: the schedule's next tick is reached by moving the clock.
    engine.schedule("hourly_product", "0 * * * *", "multiply", {num1: 6, num2: 7})
    engine.advance(engine.schedules.first.next_tick - engine.now)
    engine.drain
    puts "hourly tick: #{engine.jobs(target: "multiply").first.output}"

    # A task's fetch answered by a mock, for jobs and runs alike.
    engine.mock_http(url: "https://payments.example.com/charges", method: "POST", response: {charged: 250})
    charge = engine.enqueue("charge", {amount: 250})
    engine.drain
    puts "charge job: #{engine.job(charge.id).output}"
  end
end
