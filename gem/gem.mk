# Ruby gem targets, included by the root Makefile (which exports CARGO_TARGET_DIR and
# COGWORK_PROFILE; extconf.rb reads both when the gem compiles itself at install).
# The gem is installed into a project-local GEM_HOME so nothing touches the system gems.

RUBY_GEM_HOME := $(CURDIR)/.gems
RUBY_GEM_VERSION = $(shell ruby -r./gem/lib/cogwork/version -e 'print Cogwork::VERSION')
RUBY_GEM_FILE = gem/pkg/cogwork-$(RUBY_GEM_VERSION).gem

.PHONY: ruby-gem ruby-install ruby-test ruby-demo

# Stages the Rust sources into gem/ and packs them with the Ruby layer.
ruby-gem:
	cd gem && rake gem

# Compiles the extension (cargo, from the sources inside the .gem) without the registry.
ruby-install: ruby-gem
	GEM_HOME=$(RUBY_GEM_HOME) gem install --local --no-document $(RUBY_GEM_FILE)

# The RSpec suite against the installed gem (spec/ never adds gem/lib to the load path).
ruby-test: ruby-install
	GEM_HOME=$(RUBY_GEM_HOME) rspec spec

ruby-demo: ruby-install
	GEM_HOME=$(RUBY_GEM_HOME) ruby examples/quickstart.rb
