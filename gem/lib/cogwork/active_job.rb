# frozen_string_literal: true

# cogwork with its Active Job adapter, for a Gemfile: `gem "cogwork", require: "cogwork/active_job"`
# loads both, so that `config.active_job.queue_adapter = :cogwork` finds the adapter.
require "active_job/queue_adapters/cogwork_adapter"
