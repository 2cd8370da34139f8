"""cogwork from Python beside Celery, RQ, Dramatiq and Huey, in one run: enqueue one at a
time, enqueue in bulk, and the drain of no-op jobs; cogwork on SQLite and on a throwaway
PostgreSQL, the peers on a throwaway Redis without persistence (their harness, copied from
../shared/peers into peers/); and cogwork's conversion of a 10-key nested dict, in and out. Cases are interleaved round by round, so a drift of the
machine hits all of them alike; each figure is the median of the rounds.

`make python-bench` builds the release wheel, makes the bench venv (the peers from the
registry, pinned by peers/requirements.lock) and runs this. Environment: ROUNDS (3), N
(20000 jobs per case), ONLY (a regex of the case labels to run).
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from typing import Any, Optional

import throwaway_postgres

HERE = pathlib.Path(__file__).resolve().parent
PEERS = HERE / "peers"
ROUNDS = int(os.environ.get("ROUNDS", "3"))
N = int(os.environ.get("N", "20000"))
ONLY = re.compile(os.environ.get("ONLY", ""))
REDIS_URL = "redis://127.0.0.1:6390/0"


def cases(postgres: str) -> list[tuple[str, list[str]]]:
    """(label, command) of every case; commands print one JSON line with `rate`."""
    ours = [HERE / "cogwork_bench.py"]
    cogwork = [("cogwork/convert_round_trips", [sys.executable, *map(str, ours), "-", "convert", str(N * 10)])]
    cogwork += [
        (f"cogwork/{name}/{label}", [sys.executable, *map(str, ours), database, *args])
        for name, database in (("sqlite", "sqlite"), ("postgres", postgres))
        for label, args in (
            ("enqueue", ["enqueue", str(N)]),
            ("enqueue_all1000", ["bulk", str(N), "1000"]),
            ("drain_threads1", ["drain", str(N), "1"]),
            ("drain_threads2", ["drain", str(N), "2"]),
        )
    ]
    bench = [sys.executable, str(PEERS / "bench.py")]
    peers = [(f"{system}/enqueue", [*bench, system, "enqueue", str(N)]) for system in ("celery", "rq", "dramatiq", "huey")]
    peers += [
        ("rq/enqueue_many1000", [*bench, "rq", "bulk", str(N), "1000"]),
        ("celery/drain_threads10", [*bench, "celery", "drain", str(N), "threads10"]),
        ("dramatiq/drain_p2t8", [*bench, "dramatiq", "drain", str(N), "p2t8"]),
        ("huey/drain_thread10", [*bench, "huey", "drain", str(N), "thread10"]),
        ("rq/drain_simple", [*bench, "rq", "drain", str(N), "simple"]),
    ]
    return [(label, command) for label, command in cogwork + peers if ONLY.search(label)]


def measure(label: str, command: list[str]) -> Optional[dict[str, Any]]:
    """Runs one case (bounded by a timeout); its JSON line, or None if it failed."""
    env = dict(os.environ, REDIS_URL=REDIS_URL, PYTHONPATH=str(HERE))
    try:
        result = subprocess.run(command, cwd=HERE, env=env, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        print(f"  {label}: timed out", flush=True)
        return None
    line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0 or not line.startswith("{"):
        print(f"  {label}: FAILED ({result.returncode}): {result.stderr.strip()[-500:]}", flush=True)
        return None
    figure: dict[str, Any] = json.loads(line)
    micros = f", in {figure['in_us']} µs, in and out {figure['round_trip_us']} µs" if "in_us" in figure else ""
    print(f"  {label}: {figure['rate']:.0f}/s ({figure['seconds']} s{micros})", flush=True)
    return figure


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return f"{os.cpu_count()} × {cpu}, Python {sys.version.split()[0]}; {now}; load {load}; N={N}, {ROUNDS} rounds"


def report(figures: dict[str, list[float]], versions: dict[str, str]) -> None:
    print("\n" + ", ".join(f"{system} {version}" for system, version in sorted(versions.items())))
    print(f"{'case':34} {'median/s':>10} {'range/s':>17}")
    for label, rates in figures.items():
        if rates:
            print(f"{label:34} {statistics.median(rates):10.0f} {min(rates):8.0f}–{max(rates):<8.0f}")
    drains = {label: statistics.median(rates) for label, rates in figures.items() if "/drain" in label and rates}
    fastest_peer = max((rate, label) for label, rate in drains.items() if not label.startswith("cogwork/")) if drains else None
    if fastest_peer:
        for label, rate in drains.items():
            if label.startswith("cogwork/"):
                print(f"{label} is {rate / fastest_peer[0]:.1f}× {fastest_peer[1]}")


def main() -> None:
    print(machine(), flush=True)
    subprocess.run([PEERS / "redisctl.sh", "start"], check=True)
    try:
        with throwaway_postgres.server() as postgres:
            all_cases = cases(postgres)
            figures: dict[str, list[float]] = {label: [] for label, _ in all_cases}
            versions: dict[str, str] = {}
            for round in range(1, ROUNDS + 1):
                print(f"== round {round}", flush=True)
                for label, command in all_cases:
                    figure = measure(label, command)
                    if figure is not None:
                        figures[label].append(figure["rate"])
                        versions[figure["system"]] = figure["version"]
                    time.sleep(1)  # let the last case's processes leave the CPUs
    finally:
        subprocess.run([PEERS / "redisctl.sh", "stop"], check=True)
    report(figures, versions)


if __name__ == "__main__":
    main()
