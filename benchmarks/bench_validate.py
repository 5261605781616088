"""Benchmark govlib's validation of the customers suite on N generated customers.

    python benchmarks/bench_validate.py --rows 1000000 [--repeat 3]

Reports, as medians over `--repeat` runs with the peak memory each run added: the polars to
pandas conversion, Great Expectations' validation of the whole suite in one call, and govlib's
own checks (duplicate subjects), which run on polars.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

from bench_profile import PeakRss

from govlib import catalog, quality, sampledata

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2025, 1, 31)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000, help="customers to generate")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    frame = sampledata.generate(customers=args.rows, seed=1).frames["customers"]
    suite = quality.load_suite(ROOT / "expectations" / "customers.json")
    ds = catalog.load(ROOT / "catalog.yaml").dataset("customers")
    print(f"{frame.height:,} rows, {len(suite.expectations)} expectations")
    convert, validate, own, peaks = [], [], [], []
    for _ in range(args.repeat):
        with PeakRss() as rss:
            _, timings = quality.run_gx(frame, suite, as_of=AS_OF)
            start = time.perf_counter()
            quality.duplicate_subjects(ds, frame)
            own.append(time.perf_counter() - start)
        convert.append(timings.convert)
        validate.append(timings.validate)
        peaks.append(rss.added_mib)
    med = statistics.median
    print(f"to_pandas conversion   median {med(convert):7.2f} s   runs {convert}")
    print(f"GX validation          median {med(validate):7.2f} s   runs {validate}")
    print(f"govlib checks (polars) median {med(own):7.2f} s   runs {own}")
    print(f"peak memory added: {max(peaks):.0f} MiB")


if __name__ == "__main__":
    main()
