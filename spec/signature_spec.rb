# frozen_string_literal: true

require "spec_helper"
require "rbs"

# gem/sig/cogwork.rbs, the RBS signatures of the public API, parsed by the rbs gem Ruby
# bundles: it must declare exactly the methods the classes have, so it cannot fall behind.
RSpec.describe "gem/sig/cogwork.rbs" do
  let(:declarations) do
    source = File.read(File.expand_path("../gem/sig/cogwork.rbs", __dir__))
    RBS::Parser.parse_signature(source).first.members
  end

  def declared(class_name, kind)
    declaration = declarations.find { |member| member.respond_to?(:name) && member.name.name == class_name }
    declaration.members.select { |member| member.is_a?(RBS::AST::Members::MethodDefinition) && member.kind == kind }.map(&:name)
  end

  it "declares every public method of Cogwork::Engine and nothing else" do
    expect(declared(:Engine, :instance) - %i[initialize]).to match_array(Cogwork::Engine.public_instance_methods(false))
    expect(declared(:Engine, :singleton)).to eq([:open])
  end

  it "declares every error class, as a subclass of Cogwork::Error" do
    errors = declarations.select { |member| member.is_a?(RBS::AST::Declarations::Class) && member.super_class&.name&.name == :Error }
    expect(errors.map { |error| error.name.name.to_s }).to match_array(Cogwork::Native::ERROR_CLASSES)
  end
end
