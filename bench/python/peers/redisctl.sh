#!/usr/bin/env bash
# Start/stop a throwaway Redis on 127.0.0.1:6390 with no persistence.
# Copied from ../shared/peers (the harness the peers were first measured with), unchanged but for the run directory.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
PORT="${REDIS_PORT:-6390}"
RUN="$HERE/../run"; mkdir -p "$RUN"
PIDFILE="$RUN/redis-$PORT.pid"
case "${1:-}" in
  start)
    if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "redis already running pid $(cat "$PIDFILE")"; exit 0; fi
    redis-server --bind 127.0.0.1 --port "$PORT" --save '' --appendonly no \
      --daemonize yes --pidfile "$PIDFILE" --logfile "$RUN/redis-$PORT.log" --dir "$RUN"
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "redis started pid $(cat "$PIDFILE") on 127.0.0.1:$PORT" ;;
  stop)
    if [ -f "$PIDFILE" ]; then P="$(cat "$PIDFILE")"; kill "$P" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$P" 2>/dev/null || break; sleep 0.1; done
      rm -f "$PIDFILE"; echo "redis $P stopped"; fi ;;
  *) echo "usage: $0 start|stop"; exit 2 ;;
esac
