#!/usr/bin/env bash
# The Ruby figures of issue 13, cogwork beside Sidekiq in the same run with the same Ruby
# flags (RUBYOPT, e.g. RUBYOPT=--yjit): single enqueue, bulk enqueue (batches of 1,000) and
# a drain of no-op Ruby-handler jobs with concurrency 10 — cogwork on a SQLite file and on a
# throwaway PostgreSQL, Sidekiq on a throwaway Redis — and the gem's conversion of a 10-key
# nested Hash in and out (bench/ruby/convert, built here: the gem's convert.rs alone). One JSON line per figure; ROUNDS
# rounds (default 3). Figures: bench/README.md, "Ruby".
#
#   COGWORK_PROFILE=release make ruby-install && bench/ruby/run.sh
#
# Installs what only this bench needs when missing (ruby-sidekiq, redis-server). The
# PostgreSQL server is set up as the Rust tests and benches set theirs up
# (core/tests/support/postgres.rs): initdb into a temporary directory, run as nobody when
# root, fsync and synchronous_commit off. Redis runs with no persistence, as in the peers'
# measurement (bench/sidekiq_drain.sh). Both are stopped and removed at the end.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"
N="${N:-100000}"
SINGLE="${SINGLE:-20000}"
export GEM_HOME="${GEM_HOME:-$ROOT/.gems}"

missing=()
for package in ruby-sidekiq redis-server; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
ruby -e 'require "cogwork"' || { echo "bench/ruby: install the gem first: COGWORK_PROFILE=release make ruby-install" >&2; exit 1; }

# The conversion probe, on the same target dir and profile as the release gem.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cargo build --quiet --release --manifest-path "$HERE/convert/Cargo.toml"
PROBE="$(mktemp -d)/cogwork_convert_bench.so"
cp "$CARGO_TARGET_DIR/release/libcogwork_convert_bench.so" "$PROBE"

DIR="$(mktemp -d)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_server() { if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
PG_PORT="$(free_port)"
REDIS_PORT="$(free_port)"
stop() {
  [[ -f "$DIR/redis.pid" ]] && kill "$(cat "$DIR/redis.pid")" 2>/dev/null
  [[ -f "$DIR/pg/data/postmaster.pid" ]] && as_server "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$DIR" "$(dirname "$PROBE")"
}
trap stop EXIT

chmod 711 "$DIR" # the server user passes through to its own directory
mkdir -p "$DIR/pg"
[[ $(id -u) -eq 0 ]] && chown 65534:65534 "$DIR/pg"
as_server "$PG_BIN/initdb" -D "$DIR/pg/data" -U postgres --auth=trust --no-sync -E UTF8 >/dev/null
as_server "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/log" -w start -o \
  "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" >/dev/null
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
  --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --dir "$DIR"
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

# A fresh database for each figure (called in $(...): nothing it sets survives).
sqlite() { echo "sqlite://$(mktemp -u "$DIR/bench-XXXXXX").db"; }
postgres() {
  local name="bench_$(date +%s%N)"
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$name"
  echo "postgres://postgres@127.0.0.1:$PG_PORT/$name"
}
cogwork() { ruby "$HERE/bench.rb" "$@"; }
sidekiq() { REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" SIDEKIQ_LOG="$DIR/sidekiq.log" ruby "$ROOT/bench/sidekiq/bench.rb" "$@"; }

echo "ruby $(ruby -e 'print RUBY_VERSION') RUBYOPT='${RUBYOPT:-}' — $(date -u '+%Y-%m-%d %H:%M UTC') — $(nproc) CPUs"
for round in $(seq "$ROUNDS"); do
  echo "round $round (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  cogwork convert 20000 "$PROBE"
  cogwork enqueue_single "$SINGLE" "$(sqlite)"
  cogwork enqueue_single "$SINGLE" "$(postgres)"
  sidekiq push_single "$SINGLE"
  cogwork enqueue_bulk "$N" 1000 "$(sqlite)"
  cogwork enqueue_bulk "$N" 1000 "$(postgres)"
  sidekiq push_bulk "$N" 1000
  cogwork drain "$N" 10 "$(sqlite)"
  cogwork drain "$N" 10 "$(postgres)"
  sidekiq drain "$N" 10
done
