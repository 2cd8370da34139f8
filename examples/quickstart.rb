# frozen_string_literal: true

# Runs the example tasks from Ruby: `make ruby-demo` (against the installed gem).
require "cogwork"
require "tmpdir"

tasks = File.join(__dir__, "tasks")

Cogwork::Engine.open(tasks: [tasks], workers: 2, timeout: 5) do |engine|
  puts "2 + 3 = #{engine.run("addition", {num1: 2, num2: 3}).fetch("sum")}"

  # Whole numbers come back as Ruby Integers, never silently as Floats.
  puts "big   = #{engine.run("addition", {num1: 2**40, num2: 1}).fetch("sum")}"

  begin
    engine.run("addition", {num1: "two", num2: 3})
  rescue Cogwork::InvalidInputError => error
    error.violations.each { |violation| puts "invalid input at #{violation[:path]}: #{violation[:message]}" }
  end

  # A task's typed JavaScript error arrives as TaskFailedError; a mock answers its fetch.
  begin
    engine.run("charge", {amount: 250}, mocks: {url: "https://payments.example.com/charges", method: "POST", status: 429})
  rescue Cogwork::TaskFailedError => error
    puts "charge failed: #{error.js_name}: #{error.js_message}"
  end
end

# Durable jobs and workflows: a job store in a SQLite file, Ruby handlers run by the engine's
# handler threads, and a workflow mixing a JavaScript task with a Ruby step.
Dir.mktmpdir("cogwork-demo") do |dir|
  Cogwork::Engine.open(tasks: [tasks], workers: 2, database: "sqlite://#{dir}/cogwork.db") do |engine|
    engine.handler("square_step") { |step| {"result" => step.results.fetch("product").fetch("product")**2} }
    engine.handler("shout") { |job| {"text" => job.input.fetch("text").upcase} }

    job = engine.enqueue("shout", {text: "hello"}, priority: 5, max_attempts: 3)
    engine.define_workflow(
      namespace: "demo", name: "square_of_product", version: "1.0.0",
      steps: [
        {name: "product", task: "multiply", input: {num1: "$.context.a", num2: "$.context.b"}},
        {name: "square", handler: "square_step", depends_on: ["product"]}
      ]
    )
    run = engine.start_workflow("demo/square_of_product", context: {a: 2**16, b: 2**16})
    engine.drain(concurrency: 4)

    puts "job #{job.id}: #{engine.job(job.id).state}, #{engine.job(job.id).output}"
    puts "(2**16 * 2**16)**2 = #{engine.workflow(run.id).step("square").result.fetch("result")}"
  end
end
