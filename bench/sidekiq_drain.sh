#!/usr/bin/env bash
# Sidekiq's drain of 100,000 no-op jobs (1 process, -c 10, per-job logging off), as the
# peers' measurement took it (../shared/peers/RESULTS.md), re-run here so that cogwork's
# drain figures have a same-day peer beside them. Needs Debian's redis-server and
# ruby-sidekiq (apt-get install redis-server ruby-sidekiq). Starts a throwaway Redis with
# no persistence on a free port and stops it at the end. Usage: bench/sidekiq_drain.sh [runs]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RUNS="${1:-3}"
DIR="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no --daemonize yes \
  --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" --dir "$DIR"
trap 'kill "$(cat "$DIR/redis.pid")" 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
for run in $(seq "$RUNS"); do
  echo "run $run (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  REDIS_URL="redis://127.0.0.1:$PORT/0" SIDEKIQ_LOG="$DIR/sidekiq.log" ruby "$HERE/sidekiq/bench.rb" drain 100000 10
done
