# frozen_string_literal: true

require "spec_helper"

RSpec.describe Cogwork::Error do
  it "has a subclass for each kind of error the core reports, the same classes Python has" do
    classes = Cogwork::Native::ERROR_CLASSES.map { |name| Cogwork.const_get(name, false) }
    expect(classes).to all(be < described_class)
    defined = Cogwork.constants.map { |name| Cogwork.const_get(name) }.select { |c| c.is_a?(Class) && c < described_class }
    expect(defined.uniq).to match_array(classes)
  end

  it "shadows no top-level constant, so code inside the Cogwork namespace sees Ruby's own" do
    expect(Cogwork.constants.select { |name| Object.const_defined?(name, false) }).to be_empty
  end

  it "keeps the documented Cogwork::TimeoutError as the timeout class" do
    expect(Cogwork::TimeoutError).to equal(Cogwork::TaskTimeoutError)
  end
end
