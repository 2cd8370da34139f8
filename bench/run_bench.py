"""engine.run from Python, end to end (conversion, GIL release, pool, worker, conversion
back): warm latency of one thread, and throughput of several threads on 2 workers.
`make bench` runs it against the installed (release) package."""

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import cogwork

RUNS = 5_000
THREADS = 8
TASKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "tasks")


def percentile(samples, p):
    ordered = sorted(samples)
    return ordered[round((len(ordered) - 1) * p)]


def main():
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"python {sys.version.split()[0]} — {now} — {os.cpu_count()} CPUs")
    with cogwork.Engine(tasks=[TASKS], workers=1) as engine:
        for i in range(100):
            engine.run("addition", {"num1": i, "num2": 1})
        samples = []
        for i in range(RUNS):
            started = time.perf_counter()
            engine.run("addition", {"num1": i, "num2": 1})
            samples.append((time.perf_counter() - started) * 1e6)
        print(f"python: warm latency p50 {percentile(samples, 0.5):.1f} µs  p99 {percentile(samples, 0.99):.1f} µs")

    with cogwork.Engine(tasks=[TASKS], workers=2) as engine:
        def batch(_):
            for i in range(RUNS // THREADS):
                engine.run("addition", {"num1": i, "num2": 1})

        started = time.perf_counter()
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(batch, range(THREADS)))
        elapsed = time.perf_counter() - started
        print(f"python: {THREADS} threads, 2 workers {RUNS // THREADS * THREADS / elapsed:.0f} runs/s")


if __name__ == "__main__":
    main()
