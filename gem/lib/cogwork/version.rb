# frozen_string_literal: true

module Cogwork
  VERSION = "0.1.0"
end
