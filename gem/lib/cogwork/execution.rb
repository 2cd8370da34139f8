# frozen_string_literal: true

module Cogwork
  # The record of one execution, as Engine#execute returns it.
  #
  # output::   what the task returned, as plain Ruby objects (Hashes with String keys)
  # console::  what it logged, in order: <tt>{level: "info", message: "..."}</tt> Hashes
  # worker::   the id of the worker that ran it
  # duration:: how long it ran, in seconds
  Execution = Struct.new(:output, :console, :worker, :duration, keyword_init: true)
end
