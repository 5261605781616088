"""Benchmark govlib's profile against the polars floor (and ydata-profiling, if installed).

    python benchmarks/bench_profile.py --rows 1000000 [--repeat 3] [--ydata-python PATH]

Prints the median wall time of each contender over `--repeat` runs, the peak resident memory
added while it ran, and the ratios against the floor measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import polars as pl
import psutil

from govlib import profiling, sampledata

AS_OF = date(2025, 1, 31)


class PeakRss:
    """Polls this process's resident memory and keeps the peak above the starting level."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval, self.proc = interval, psutil.Process()

    def __enter__(self) -> PeakRss:
        self.base = self.peak = self.proc.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def _poll(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.proc.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @property
    def added_mib(self) -> float:
        return (self.peak - self.base) / 2**20


def floor(lf: pl.LazyFrame) -> pl.DataFrame:
    """One lazy aggregation: null count, n_unique, min, max; mean, std, quantiles of numerics."""
    exprs = []
    for name, dtype in lf.collect_schema().items():
        col = pl.col(name)
        exprs += [
            col.null_count().alias(f"{name}|nulls"),
            col.n_unique().alias(f"{name}|unique"),
            col.min().alias(f"{name}|min"),
            col.max().alias(f"{name}|max"),
        ]
        if dtype.is_numeric():
            exprs += [col.mean().alias(f"{name}|mean"), col.std().alias(f"{name}|std")]
            exprs += [col.quantile(q).alias(f"{name}|q{q}") for q in profiling.QUANTILES]
    return lf.select(exprs).collect()


def measure(label: str, fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    times, peaks = [], []
    for _ in range(repeat):
        with PeakRss() as rss:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        peaks.append(rss.added_mib)
    median = statistics.median(times)
    print(f"{label:<28} median {median:8.3f} s   peak +{max(peaks):8.1f} MiB   runs {times}")
    return median, max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers to generate")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--ydata-python", help="a Python with ydata-profiling, to time its minimal mode too"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    frame = sampledata.generate(customers=args.rows, seed=1).frames["customers"]
    print(f"generated {frame.height:,} customer rows in {time.perf_counter() - start:.1f} s")
    lf = frame.lazy()

    govlib_s, _ = measure(
        "govlib profile (with PII)",
        lambda: profiling.profile(lf, dataset="customers", as_of=AS_OF),
        args.repeat,
    )
    floor_s, _ = measure("polars floor", lambda: floor(lf), args.repeat)
    print(f"govlib / floor: {govlib_s / floor_s:.2f}x (target: at most 2x)")
    if not args.ydata_python:
        print("ydata-profiling: pass --ydata-python PATH (an interpreter with ydata-profiling)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "customers.parquet"
        frame.write_parquet(data)
        done = subprocess.run(
            [args.ydata_python, str(Path(__file__).with_name("ydata_minimal.py")), str(data),
             "--repeat", str(args.repeat)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    ydata_s = float(done.stdout.strip().splitlines()[-1])
    print(
        f"{'ydata-profiling minimal':<28} median {ydata_s:8.3f} s   {done.stdout.splitlines()[0]}"
    )
    print(f"ydata / govlib: {ydata_s / govlib_s:.1f}x faster (target: at least 40x)")


if __name__ == "__main__":
    main()
