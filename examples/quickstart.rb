# frozen_string_literal: true

# Runs the example tasks from Ruby: `make ruby-demo` (against the installed gem).
require "cogwork"

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
