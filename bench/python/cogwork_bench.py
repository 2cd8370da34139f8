"""cogwork from Python, measured the way peers/bench.py measures Celery, RQ, Dramatiq and Huey:
one JSON line per case, with `rate` per second and `seconds`.

  python cogwork_bench.py DATABASE enqueue N          # one enqueue() per job
  python cogwork_bench.py DATABASE bulk N BATCH       # enqueue_all() of BATCH jobs at a time
  python cogwork_bench.py DATABASE drain N THREADS    # N no-op Python-handler jobs enqueued,
                                                      # then timed: drain() on THREADS threads
  python cogwork_bench.py - convert N                 # the 10-key dict into the core, and in
                                                      # and out, N calls per run (convert/)

DATABASE is `sqlite` (a file in a fresh temporary directory, the engine's durable defaults)
or the postgres:// URL of a server (run.py starts a throwaway one), on which the case makes
a database of its own.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

import cogwork
import throwaway_postgres

# The 10-key, one-level nested object of bench/values (payloads.rs, "small").
SMALL = {
    "id": 42, "name": "addition", "ok": True, "ratio": 0.75, "count": 3, "tags": ["a", "b"],
    "price": 19.99, "user": {"id": 7, "name": "Ada", "score": 98.5}, "attempt": 1, "note": None,
}


def noop(job: cogwork.HandlerJob) -> None:
    return None


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def enqueue(engine: cogwork.Engine, n: int) -> dict[str, Any]:
    seconds = timed(lambda: [engine.enqueue("noop", i) for i in range(n)])
    return {"seconds": round(seconds, 4), "rate": round(n / seconds, 1)}


def bulk(engine: cogwork.Engine, n: int, batch: int) -> dict[str, Any]:
    def all_batches() -> None:
        for start in range(0, n, batch):
            engine.enqueue_all([("noop", i) for i in range(start, min(n, start + batch))])

    seconds = timed(all_batches)
    return {"batch": batch, "seconds": round(seconds, 4), "rate": round(n / seconds, 1)}


def drain(engine: cogwork.Engine, n: int, threads: int) -> dict[str, Any]:
    preload = timed(lambda: bulk(engine, n, 1000))
    progress: dict[str, int] = {}
    seconds = timed(lambda: progress.update(engine.drain(threads=threads)))
    completed = engine.stats()["by_state"]["completed"]
    if progress["completed"] != n or completed != n:
        raise SystemExit(f"drain: {progress} and {completed} completed in the database, not {n}")
    return {"threads": threads, "preload_s": round(preload, 3), "seconds": round(seconds, 4), "rate": round(n / seconds, 1)}


def convert(n: int) -> dict[str, Any]:
    """Microseconds per call of the binding's conversions (the median of 9 runs of ``n``
    calls, as bench/values times its figures), and round trips per second."""
    import cogwork_convert_bench as probe  # bench/python/convert, built beside the wheel

    assert probe.round_trip(SMALL) == SMALL

    def per_call(function: Callable[[Any], object]) -> float:
        runs = [timed(lambda: [function(SMALL) for _ in range(n)]) / n * 1e6 for _ in range(9)]
        return statistics.median(runs)

    into, round_trip = per_call(probe.into_core), per_call(probe.round_trip)
    return {"in_us": round(into, 3), "round_trip_us": round(round_trip, 3), "seconds": round(round_trip * n / 1e6, 4), "rate": round(1e6 / round_trip, 1)}


def case(database: str, action: str, n: int, arg: int) -> dict[str, Any]:
    if action == "convert":
        return convert(n)
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite://{directory}/bench.db" if database == "sqlite" else throwaway_postgres.new_database(database)
        with cogwork.Engine(database=url, workers=1) as engine:
            engine.add_handler("noop", noop)
            if action == "enqueue":
                return enqueue(engine, n)
            if action == "bulk":
                return bulk(engine, n, arg)
            return drain(engine, n, arg)


def main() -> None:
    database, action, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    arg = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    out: dict[str, Any] = {
        "system": "cogwork",
        "version": importlib.metadata.version("cogwork"),
        "database": database.split(":")[0],
        "python": platform.python_version(),
        "action": action,
        "n": n,
    }
    out.update(case(database, action, n, arg))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
