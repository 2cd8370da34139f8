# frozen_string_literal: true

require "logger"

module Cogwork
  # The Logger engines use unless given their own (Engine.new's +logger+): what tasks write
  # with +console.log+ and friends goes there, one entry per line at the line's level (+log+
  # and +info+ at INFO), as <tt>"task: message"</tt>, failed executions' lines too; and so do
  # job, step and run failures (WARN) and completions (DEBUG). Unless set, it is Rails.logger
  # in a Rails application, else a Logger on $stderr at WARN (so +console.warn+ and
  # +console.error+ show).
  #
  #   Cogwork.logger = Logger.new($stdout, level: :info)
  class << self
    # @param logger [Logger, nil] nil to go back to the default
    attr_writer :logger

    # @return [Logger]
    def logger
      @logger || rails_logger || (@default_logger ||= Logger.new($stderr, level: Logger::WARN, progname: "cogwork"))
    end

    # Logs the console lines of an execution of +task+ to +target+ (nil: nowhere). :nodoc:
    def log_console(task, lines, target)
      return if target.nil? || lines.nil? || lines.empty?

      lines.each { |line| target.add(CONSOLE_LEVELS.fetch(line[:level], Logger::INFO), "#{task}: #{line[:message]}") }
    end

    private

    def rails_logger
      ::Rails.logger if defined?(::Rails) && ::Rails.respond_to?(:logger)
    end
  end

  CONSOLE_LEVELS = {
    "debug" => Logger::DEBUG, "log" => Logger::INFO, "info" => Logger::INFO, "warn" => Logger::WARN, "error" => Logger::ERROR
  }.freeze
  private_constant :CONSOLE_LEVELS
end
