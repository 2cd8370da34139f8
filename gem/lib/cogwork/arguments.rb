# frozen_string_literal: true

module Cogwork
  # Checks of the arguments the public methods pass on to the native extension, so that a
  # value of the wrong type raises a TypeError naming the argument (the extension's own
  # conversions say only "no implicit conversion of String into Integer"). Nil passes: it
  # means the default everywhere. :nodoc:
  module Arguments
    BOOLEAN = [TrueClass, FalseClass].freeze

    # Raises TypeError unless +value+ is nil or one of +types+.
    def self.check(name, value, types)
      return value if value.nil? || types.any? { |type| value.is_a?(type) }

      raise TypeError, "#{name} must be #{describe(types)}, not #{value.class}"
    end

    # Checks the entries of +options+ that +types+ (name => classes) lists.
    def self.check_all(options, types)
      types.each { |name, classes| check(name, options[name], classes) if options.key?(name) }
    end

    # Seconds as a Float, from a Numeric or an ActiveSupport::Duration (not a Numeric, but it
    # converts like one); nil stays nil.
    def self.seconds(name, value)
      return nil if value.nil?
      return Float(value) if value.is_a?(Numeric) || (defined?(::ActiveSupport::Duration) && value.is_a?(::ActiveSupport::Duration))

      raise TypeError, "#{name} must be a number of seconds or an ActiveSupport::Duration, not #{value.class}"
    end

    def self.describe(types)
      return "true or false" if types == BOOLEAN

      types.map { |type| "#{type.name.start_with?("A", "E", "I", "O", "U") ? "an" : "a"} #{type}" }.join(" or ")
    end
    private_class_method :describe
  end
  private_constant :Arguments
end
