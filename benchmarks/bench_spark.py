"""Benchmark the customers suite on Spark reading N generated customers from Parquet.

    python benchmarks/bench_spark.py --rows 20000000 [--compare-rows 1000000] [--folder DIR]

Writes (or reuses) `customers-N.parquet` in `--folder` (default: a folder in the temporary
directory), a million rows at a time, with the generator of `bench_validate.py`. Then the
customers suite runs on Spark (`GOVLIB_SPARK_MASTER`, default local[2]) with Spark reading the
file itself, and the script prints the wall time of the run (session start apart) and peak
memory: the driver JVM's resident memory (polled, the Spark driver is also the executor in local
mode) and this Python process's peak RSS. `--compare-rows` runs the same suite on that many rows
with the polars engine (in memory) and with Spark, requiring identical outcomes.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import psutil
import yaml
from bench_validate import outcomes, write_parquet

from govlib import catalog, engine, quality
from govlib.engine import spark
from govlib.engine.backends import open_frame
from govlib.engine.run import run_suite

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "expectations" / "customers.json"
AS_OF = date(2025, 1, 31)
PARAMS = engine.parameters(AS_OF)


class JvmPeak:
    """Polls the resident memory of this process's child JVM (the Spark driver)."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval, self.peak, self.running = interval, 0, False

    def _rss(self) -> int:
        found = [p for p in psutil.Process().children(recursive=True) if "java" in p.name()]
        return sum(p.memory_info().rss for p in found)

    def _poll(self) -> None:
        while self.running:
            self.peak = max(self.peak, self._rss())
            time.sleep(self.interval)

    def __enter__(self) -> JvmPeak:
        self.running = True
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @property
    def peak_mib(self) -> float:
        return self.peak / 2**20


def parquet_catalog(folder: Path, file: Path) -> catalog.Catalog:
    """The sample catalog with customers read from `file` (and its suites beside it)."""
    raw = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    raw["data_root"] = str(file.parent)
    raw["datasets"] = {"customers": raw["datasets"]["customers"]}
    raw["datasets"]["customers"]["source"] = {"path": file.name}
    raw["datasets"]["customers"]["consent"] = []
    raw["datasets"]["customers"]["engine"] = "spark"
    (folder / "expectations").mkdir(exist_ok=True)
    (folder / "expectations" / "customers.json").write_text(SUITE.read_text())
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return catalog.load(path)


def on_spark(folder: Path, rows: int, session: Any) -> tuple[float, float, list]:
    """Seconds, the JVM's peak MiB and the outcomes of the suite on Spark over N rows."""
    file = folder / f"customers-{rows}.parquet"
    if not file.exists():
        start = time.perf_counter()
        write_parquet(rows, file)
        print(f"wrote {file.name}: {file.stat().st_size / 2**20:,.0f} MiB "
              f"in {time.perf_counter() - start:.0f} s")  # fmt: skip
    cat = parquet_catalog(folder, file)
    entries = quality.read_suite(SUITE)["expectations"]
    with JvmPeak() as jvm:
        start = time.perf_counter()
        data = spark.open_dataset(cat.dataset("customers"), session)
        run = run_suite(data, entries, params=PARAMS)
        seconds = time.perf_counter() - start
    assert run.fallback == [], f"entries left to GX: {run.fallback}"
    shape = pl.DataFrame(schema=data.table.schema().to_polars())
    return seconds, jvm.peak_mib, outcomes(shape, run.results)


def profile_on_spark(folder: Path, rows: int) -> tuple[float, float, int]:
    """Seconds, the JVM's peak MiB and the column count of the profile on Spark over N rows."""
    from govlib import profiling

    cat = parquet_catalog(folder, folder / f"customers-{rows}.parquet")
    with JvmPeak() as jvm:
        start = time.perf_counter()
        record = profiling.profile_dataset(cat.dataset("customers"), as_of=AS_OF)
        seconds = time.perf_counter() - start
    return seconds, jvm.peak_mib, len(record.column_profiles)


def on_polars(file: Path) -> tuple[float, list]:
    """Seconds and outcomes of the suite on the polars engine, the same rows in memory."""
    frame = pl.read_parquet(file)
    entries = quality.read_suite(SUITE)["expectations"]
    start = time.perf_counter()
    run = run_suite(open_frame(frame, "polars"), entries, params=PARAMS)
    return time.perf_counter() - start, outcomes(frame, run.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--compare-rows", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=None)
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--skip-validate", action="store_true", help="profile only")
    parser.add_argument("--profile", action="store_true", help="also profile the N rows")
    args = parser.parse_args()
    folder = args.folder or Path(tempfile.gettempdir()) / "govlib-bench-spark"
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    session = spark.session(**{"spark.driver.memory": args.driver_memory})
    print(f"Spark {session.version} on {spark.master()}, driver memory {args.driver_memory}: "
          f"session in {time.perf_counter() - start:.1f} s")  # fmt: skip
    on_spark(folder, 10_000, session)  # warm: first compilations are not what is measured
    if args.compare_rows and not args.skip_validate:
        seconds, mib, spark_out = on_spark(folder, args.compare_rows, session)
        polars_s, polars_out = on_polars(folder / f"customers-{args.compare_rows}.parquet")
        if [o[2:] for o in spark_out] != [o[2:] for o in polars_out]:
            raise SystemExit("Spark and polars disagree on the customers suite")
        print(f"{args.compare_rows:>11,} rows: spark {seconds:7.1f} s (JVM peak {mib:,.0f} MiB)"
              f"   polars {polars_s:6.1f} s   identical outcomes")  # fmt: skip
    if not args.skip_validate:
        seconds, mib, out = on_spark(folder, args.rows, session)
        failed = sum(1 for o in out if o[2] != "passed")
        python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.rows:>11,} rows: validate on spark {seconds:7.1f} s, {len(out)} checks, "
              f"{failed} failed; JVM peak RSS {mib:,.0f} MiB, Python peak RSS "
              f"{python_peak:,.0f} MiB (with generating the Parquet file)")  # fmt: skip
    if args.profile:
        seconds, mib, columns = profile_on_spark(folder, args.rows)
        python_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{args.rows:>11,} rows: profile on spark {seconds:7.1f} s, {columns} columns; "
              f"JVM peak RSS {mib:,.0f} MiB, Python peak RSS {python_peak:,.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
