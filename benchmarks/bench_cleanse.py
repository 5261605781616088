"""Benchmark standardisation and deduplication on N generated customers.

    python benchmarks/bench_cleanse.py --rows 1000000 [--repeat 1]

Prints the median seconds of each step over `--repeat` runs with the peak memory each added,
and the duplicates found against the ones the generator planted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import polars as pl
from bench_profile import PeakRss

from govlib import catalog, cleansing, sampledata

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers to generate")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()

    sample = sampledata.generate(customers=args.rows, seed=1)
    frame = sample.frames["customers"]
    ds = catalog.load(ROOT / "catalog.yaml").dataset("customers")
    print(f"{frame.height:,} customer rows, {sample.defect('duplicate_person').count:,} planted "
          "duplicate pairs")  # fmt: skip
    times: dict[str, list[float]] = {"standardise": [], "deduplicate": []}
    peaks = []
    for _ in range(args.repeat):
        with PeakRss() as rss:
            start = time.perf_counter()
            standard, _, _ = cleansing.standardise(ds, frame)
            times["standardise"].append(time.perf_counter() - start)
            start = time.perf_counter()
            pairs = cleansing.find_duplicates(ds, standard)
            merges = cleansing.survivors(ds, standard, pairs)
            times["deduplicate"].append(time.perf_counter() - start)
        peaks.append(rss.added_mib)
    truth = (
        frame.filter(pl.col("email").is_not_null())
        .group_by(pl.col("email").str.strip_chars().str.to_lowercase())
        .agg(pl.col("customer_id").sort())
        .filter(pl.col("customer_id").list.len() == 2)["customer_id"]
        .to_list()
    )
    found = {tuple(sorted((p.a, p.b))) for p in pairs}
    truth = {tuple(t) for t in truth}
    hits = len(found & truth)
    for step, values in times.items():
        print(f"{step:<12} median {statistics.median(values):7.1f} s   runs {values}")
    total = sum(statistics.median(v) for v in times.values())
    print(f"total {total:.1f} s (target: under 120 s); peak memory added {max(peaks):.0f} MiB")
    precision, recall = hits / max(len(found), 1), hits / max(len(truth), 1)
    print(f"pairs {len(found):,}, merged {len(merges):,}, precision {precision:.4f}, "
          f"recall {recall:.4f}")  # fmt: skip


if __name__ == "__main__":
    main()
