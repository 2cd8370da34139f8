#!/usr/bin/env bash
# Installs what the build and the tests need and a fresh Debian 12 machine lacks: Ruby
# (with headers, for the gem's native extension), libclang (rb-sys generates its Ruby
# bindings with bindgen) and RSpec. Idempotent: installs only what is missing.
set -euo pipefail

packages=(ruby ruby-dev rake libclang-dev ruby-rspec)
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
