"""Time ydata-profiling's minimal mode on a Parquet file (run with an interpreter that has it).

    PYTHON benchmarks/ydata_minimal.py data.parquet --repeat 3

ydata-profiling needs numpy < 2.4, which govlib's environment does not have, so
`bench_profile.py --ydata-python PATH` runs this script in another environment and reads the
median seconds it prints last.
"""

import argparse
import statistics
import time

import pandas as pd
from ydata_profiling import ProfileReport

parser = argparse.ArgumentParser()
parser.add_argument("parquet")
parser.add_argument("--repeat", type=int, default=3)
args = parser.parse_args()
frame = pd.read_parquet(args.parquet)
times = []
for _ in range(args.repeat):
    start = time.perf_counter()
    ProfileReport(frame, minimal=True, progress_bar=False).get_description()
    times.append(time.perf_counter() - start)
print(f"runs {times}")
print(statistics.median(times))
