# frozen_string_literal: true

# cogwork: a durable job and workflow orchestrator with a Rust core. JavaScript tasks run
# in isolated worker processes; Ruby talks to the core through a native extension.
#
#   require "cogwork"
#   Cogwork::Engine.open(tasks: ["examples/tasks"], workers: 2) do |engine|
#     engine.run("addition", {num1: 2, num2: 3}) #=> {"sum" => 5}
#   end
require_relative "cogwork/version"
require_relative "cogwork/errors"
require_relative "cogwork/execution"
require_relative "cogwork/console"
require_relative "cogwork/configuration"
require_relative "cogwork/records"
require_relative "cogwork/events"
require_relative "cogwork/event_log"
# The native extension: Cogwork::Native. Found on the load path: RubyGems installs it in
# the gem's extension directory, `rake compile` in lib/.
require "cogwork/cogwork"
require_relative "cogwork/arguments"
require_relative "cogwork/handlers"
require_relative "cogwork/engine"
