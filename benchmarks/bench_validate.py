"""Benchmark the customers suite on N generated customers: GX on pandas against the engine.

    python benchmarks/bench_validate.py --rows 1000000 [--repeat 1]
    python benchmarks/bench_validate.py --rows 20000000 --parquet-only /tmp/customers.parquet

Side by side in one run: Great Expectations on pandas (the polars-to-pandas conversion and the
validation timed apart), the compiled engine on polars, and on DuckDB. Each figure is a median
over `--repeat` runs with the peak memory the run added; the script stops with an error when
the three disagree on any check's outcome. `--parquet-only` writes (or reuses) a Parquet file of
N customers in row groups and validates it with DuckDB reading the file itself, reporting the
process's peak resident memory: the path for data larger than memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from bench_profile import PeakRss

from govlib import engine, quality, sampledata
from govlib.engine.backends import open_file, open_frame
from govlib.engine.run import run_suite

ROOT = Path(__file__).resolve().parents[1]
SUITE = ROOT / "expectations" / "customers.json"
AS_OF = date(2025, 1, 31)
CHUNK = 1_000_000


def customers(rows: int) -> pl.DataFrame:
    """N generated customers (the sample generator, with its planted defects)."""
    return sampledata.generate(customers=rows, seed=1).frames["customers"]


def outcomes(frame: pl.DataFrame, raw: list[dict]) -> list[tuple]:
    """Each check's outcome, engine left out, for comparing the three runs."""
    checks = quality.gx_checks("customers", frame, sorted(raw, key=lambda r: r["index"]), set())
    return [(c.check, c.column, c.status, c.element_count, c.unexpected_count,
             c.missing_count) for c in checks]  # fmt: skip


def run_engine(frame: pl.DataFrame, data: dict, backend: str) -> tuple[float, float, list]:
    """Seconds, added MiB and outcomes of the compiled engine on `backend`."""
    with PeakRss() as rss:
        start = time.perf_counter()
        run = run_suite(open_frame(frame, backend), data["expectations"], params=PARAMS)
        seconds = time.perf_counter() - start
    assert run.fallback == [], f"entries left to GX: {run.fallback}"
    return seconds, rss.added_mib, outcomes(frame, run.results)


PARAMS = engine.parameters(AS_OF)


def run_gx(frame: pl.DataFrame, data: dict) -> tuple[float, float, float, list]:
    """Conversion seconds, validation seconds, added MiB and outcomes of GX on pandas."""
    suite = quality.gx_suite(data, SUITE)
    with PeakRss() as rss:
        raw, timings = quality.run_gx(frame, suite, as_of=AS_OF)
    return timings.convert, timings.validate, rss.added_mib, outcomes(frame, raw)


def side_by_side(rows: int, repeat: int) -> None:
    """The three engines on the same frame, with identical outcomes required."""
    data = quality.read_suite(SUITE)
    frame = customers(rows)
    print(f"{frame.height:,} rows, {len(data['expectations'])} expectations")
    warm = frame.head(1000)  # imports and first compilations are not what is measured
    run_engine(warm, data, "polars"), run_engine(warm, data, "duckdb"), run_gx(warm, data)
    figures: dict[str, list[tuple]] = {"polars": [], "duckdb": [], "gx": []}
    for _ in range(repeat):
        figures["polars"].append(run_engine(frame, data, "polars"))
        figures["duckdb"].append(run_engine(frame, data, "duckdb"))
        figures["gx"].append(run_gx(frame, data))
    reference = figures["gx"][0][-1]
    for name in ("polars", "duckdb"):
        if figures[name][0][-1] != reference:
            raise SystemExit(f"{name} disagrees with GX on the customers suite")
    med = statistics.median
    convert = med(f[0] for f in figures["gx"])
    validate = med(f[1] for f in figures["gx"])
    gx_total, gx_mib = convert + validate, max(f[2] for f in figures["gx"])
    print("identical outcomes on all three engines")
    size = frame.estimated_size()
    picked = engine.choose(None, size_bytes=size)
    print(f"by default govlib runs this {size / 2**20:,.0f} MiB frame on {picked}")
    print(f"GX: to_pandas conversion   {convert:8.2f} s")
    print(f"GX: validation             {validate:8.2f} s   peak +{gx_mib:,.0f} MiB")
    for name in ("polars", "duckdb"):
        seconds, mib = med(f[0] for f in figures[name]), max(f[1] for f in figures[name])
        print(
            f"govlib on {name:<7}          {seconds:8.2f} s   peak +{mib:,.0f} MiB   "
            f"{gx_total / seconds:5.1f}x faster, {mib / max(gx_mib, 1):.2f} of GX's memory"
        )


def write_parquet(rows: int, path: Path) -> None:
    """N customers as Parquet, written a million at a time (ids kept distinct)."""
    base = customers(min(rows, CHUNK))
    writer = None
    for start in range(0, rows, CHUNK):
        part = base.head(min(CHUNK, rows - start)).with_columns(pl.col("customer_id") + start * 10)
        table = part.to_arrow()
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def parquet_only(rows: int, path: Path) -> None:
    """The suite on DuckDB reading a Parquet file itself; the process's peak memory."""
    if not path.exists():
        write_parquet(rows, path)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data = quality.read_suite(SUITE)
    start = time.perf_counter()
    run = run_suite(open_file(path), data["expectations"], params=PARAMS)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failed = sum(1 for r in run.results if not r["success"])
    size = path.stat().st_size / 2**20
    print(f"{path.name}: {size:,.0f} MiB of Parquet, {len(run.results)} checks compiled, "
          f"{len(run.fallback)} left to GX, {failed} failed")  # fmt: skip
    print(f"govlib on duckdb (file)  {seconds:8.2f} s   process peak RSS {peak:,.0f} MiB "
          f"(before the run {peak_before:,.0f} MiB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers to generate")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--parquet-only", type=Path, default=None, metavar="FILE")
    args = parser.parse_args()
    if args.parquet_only is not None:
        parquet_only(args.rows, args.parquet_only)
    else:
        side_by_side(args.rows, args.repeat)


if __name__ == "__main__":
    main()
