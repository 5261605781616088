"""Profile cost against width: seconds to profile CSV files of 50 rows and many columns.

    python benchmarks/bench_wide.py [--columns 500 2000 10000] [--rows 50] [--load]

Half the columns are small integers, half short strings (about 3 bytes a cell, like the
1.5 MB, 10,000-column file of issue 11). `profile` times `profiling.profile` on the file read
by polars; `--load` also times govlib's checked reader (`sources.load`), which the CLI uses.
Cost should grow linearly with the number of columns.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from govlib import profiling, sources

AS_OF = date(2025, 1, 31)


def wide_csv(path: Path, columns: int, rows: int) -> Path:
    """Write a deterministic CSV of `columns` columns and `rows` rows to `path`."""
    rng = np.random.default_rng(columns)
    data = {
        f"c{i}": rng.integers(0, 1000, rows)
        if i % 2
        else [f"v{x}" for x in rng.integers(0, 30, rows)]
        for i in range(columns)
    }
    pl.DataFrame(data).write_csv(path)
    return path


def main() -> None:
    """Print seconds per width."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, nargs="+", default=[500, 2000, 10000])
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--load", action="store_true", help="also time sources.load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for columns in args.columns:
            path = wide_csv(Path(tmp) / f"wide{columns}.csv", columns, args.rows)
            lf = pl.read_csv(path).lazy()
            start = time.perf_counter()
            result = profiling.profile(lf, dataset="wide", as_of=AS_OF)
            seconds = time.perf_counter() - start
            line = f"{columns:>6} columns x {args.rows} rows: profile {seconds:6.2f} s"
            assert result.columns == columns
            if args.load:
                start = time.perf_counter()
                sources.load(path, data_root=tmp)
                line += f", load {time.perf_counter() - start:6.2f} s"
            print(line, flush=True)


if __name__ == "__main__":
    main()
