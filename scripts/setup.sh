#!/usr/bin/env bash
# Installs what the build and the tests need and a fresh Debian 12 machine lacks: Ruby
# (with headers, for the gem's native extension), libclang (rb-sys generates its Ruby
# bindings with bindgen), RSpec, ActiveSupport (the specs pass its durations as delays),
# Active Job (the specs run the gem's adapter under Rails' real one), the sqlite3 shell (a
# spec holds the database's lock with it), and PostgreSQL's server binaries (the Rust tests
# start a throwaway server of their own; the package's default cluster is not used).
# Idempotent: installs only what is missing.
set -euo pipefail

packages=(ruby ruby-dev rake libclang-dev ruby-rspec ruby-activesupport ruby-activejob postgresql sqlite3)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
