# frozen_string_literal: true

require "spec_helper"

# Cron schedules kept in the job store; a drain enqueues (and runs) the ticks that are due.
RSpec.describe "Cogwork::Engine schedules" do
  include_context "an engine on a SQLite file"

  it "enqueues a job for a due tick, which a drain runs, and lists the schedule with its ticks" do
    engine.handler("tick") { |job| {"seen" => job.input["n"]} }
    engine.schedule("every_second", "* * * * * *", "tick", {n: 2**64}, queue: "cron", max_attempts: 1, missed: :run_once)
    listed = engine.schedules
    expect(listed.map { |s| [s.name, s.cron, s.timezone, s.target, s.input, s.queue, s.max_attempts, s.missed, s.enabled, s.last_tick] })
      .to eq([["every_second", "* * * * * *", "UTC", "tick", {"n" => 2**64}, "cron", 1, "run_once", true, nil]])

    sleep 0.01 until Time.now > listed.first.next_tick
    engine.drain(queues: ["cron"])
    jobs = engine.jobs(target: "tick")
    expect(jobs.map { |job| [job.state, job.queue, job.output] }).to eq([["completed", "cron", {"seen" => 2**64}]])
    expect(engine.schedules.first.last_tick).to be_a(Time)
  end

  it "pauses, resumes and removes a schedule" do
    engine.schedule("nightly", "0 3 * * *", "addition", {num1: 1, num2: 2}, timezone: "Europe/Paris")
    expect(engine.set_schedule_enabled("nightly", false)).to be(true)
    expect(engine.schedules.map(&:enabled)).to eq([false])
    expect(engine.set_schedule_enabled("nightly", true)).to be(true)
    expect(engine.remove_schedule("nightly")).to be(true)
    expect(engine.remove_schedule("nightly")).to be(false)
    expect(engine.set_schedule_enabled("nightly", true)).to be(false)
  end

  it "refuses a bad expression, time zone, missed policy, target or input, naming it" do
    expect { engine.schedule("bad", "every day", "addition", {num1: 1, num2: 2}) }.to raise_error(Cogwork::ConfigurationError, /bad/)
    expect { engine.schedule("zone", "0 3 * * *", "addition", {num1: 1, num2: 2}, timezone: "Mars/Olympus") }
      .to raise_error(Cogwork::ConfigurationError, /Mars\/Olympus/)
    expect { engine.schedule("policy", "0 3 * * *", "addition", {num1: 1, num2: 2}, missed: :sometimes) }
      .to raise_error(Cogwork::ConfigurationError, /sometimes/)
    expect { engine.schedule("nobody", "0 3 * * *", "no_such_target") }.to raise_error(Cogwork::TaskNotFoundError)
    expect { engine.schedule("input", "0 3 * * *", "addition", {num1: "x", num2: 2}) }.to raise_error(Cogwork::InvalidInputError)
    expect(engine.schedules).to eq([])
  end
end
