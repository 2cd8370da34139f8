# frozen_string_literal: true

require_relative "lib/cogwork/version"

Gem::Specification.new do |spec|
  spec.name = "cogwork"
  spec.version = Cogwork::VERSION
  spec.summary = "Durable jobs and workflows with a Rust core; JavaScript tasks in isolated workers"
  spec.description = <<~TEXT
    cogwork runs JavaScript tasks (Boa, in isolated worker processes) and Ruby handlers as
    durable jobs and workflows. The core is Rust; this gem compiles it when installed
    (cargo and a Rust toolchain are required).
  TEXT
  spec.license = "MIT"
  spec.authors = ["cogwork developers"]
  spec.required_ruby_version = ">= 3.1"

  # The Rust sources are staged into this directory by `rake stage` (see the Rakefile).
  rust = %w[Cargo.toml Cargo.lock core/**/* bindings-ruby/**/*]
  unless File.file?(File.join(__dir__, "Cargo.toml"))
    raise "cogwork.gemspec: the Rust sources are not staged; build the gem with `rake gem` in #{__dir__}"
  end

  spec.files = Dir.chdir(__dir__) do
    Dir["lib/**/*.rb", "exe/*", "ext/cogwork/extconf.rb", *rust].select { |path| File.file?(path) }
  end
  spec.require_paths = ["lib"]
  # `cogwork`: the core's command line, run by the native extension (exe/cogwork).
  spec.bindir = "exe"
  spec.executables = ["cogwork"]
  spec.extensions = ["ext/cogwork/extconf.rb"]
end
