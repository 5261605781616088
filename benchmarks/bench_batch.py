"""Time the sample batch (`make run`): every notebook on every dataset, against the 25 s target.

    python benchmarks/bench_batch.py [--repeat 3] [--workers 2] [--compare PATH]

Each repeat runs `govlib run` on the project's catalog in a fresh process, into a fresh
temporary reports folder (no history, as on a fresh clone), exactly as `make run` does. It
prints the median wall time, the median seconds of each notebook (as `run.json` records them:
kernel start to kernel stop) and the ratio of the median to the 25 s target. The machine's load
average is printed beside each run: timings on a shared machine move with it, while the CPU
time of the run and its kernels (also printed) moves much less; on 2 idle cores the wall time
cannot drop below half of it.

`--compare PATH` takes another checkout of the project (e.g. a worktree of `main`) and runs
it and this one alternately, A B A B ..., each with its own source, catalog and notebooks,
so both see the same load; it prints both tables and the ratio of their medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 25.0


def run_once(root: Path, workers: int) -> dict[str, float]:
    """One sample batch of the checkout at `root`: wall seconds and seconds per job."""
    env = os.environ | {"PYTHONPATH": str(root / "src")}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        command = [sys.executable, "-m", "govlib.cli", "run", "--catalog",
                   str(root / "catalog.yaml"), "--out", tmp, "--workers", str(workers)]  # fmt: skip
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):  # the sample's gates fail by design: exit 1
            sys.exit(f"govlib run exited {done.returncode}:\n{done.stderr}")
        summary = json.loads((Path(tmp) / "latest" / "run.json").read_text())
    jobs = {f"{j['dataset'] or 'catalog'}/{j['notebook']}": j["seconds"] for j in summary["jobs"]}
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"wall": wall, "cpu": cpu, "run": summary["seconds"], **jobs}


def report(name: str, runs: list[dict[str, float]]) -> float:
    """Print the medians of `runs`; return the median wall time."""
    wall = statistics.median(r["wall"] for r in runs)
    each = ", ".join(f"{r['wall']:.1f}" for r in runs)
    print(f"\n{name}: median wall {wall:.1f} s over {len(runs)} runs ({each}); "
          f"{wall / TARGET_S:.2f}x the {TARGET_S:g} s target")  # fmt: skip
    print(f"  govlib run's own clock (plan done to published): "
          f"{statistics.median(r['run'] for r in runs):.1f} s; CPU time of the run and its "
          f"kernels: {statistics.median(r['cpu'] for r in runs):.1f} s")  # fmt: skip
    labels = sorted({k for r in runs for k in r} - {"wall", "cpu", "run"})
    for label in labels:
        print(f"  {label:<28} {statistics.median(r[label] for r in runs if label in r):6.2f} s")
    kinds: dict[str, list[float]] = {}
    for label in labels:
        kinds.setdefault(label.split("/")[1], []).append(
            statistics.median(r[label] for r in runs if label in r)
        )
    print("  notebook seconds summed over datasets: " + ", ".join(
        f"{kind} {sum(values):.1f}" for kind, values in sorted(kinds.items())))  # fmt: skip
    return wall


def main() -> None:
    """Run the batch `--repeat` times (alternating with `--compare`) and print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", type=Path, help="another checkout, run alternately")
    args = parser.parse_args()
    roots = {"this checkout": ROOT}
    if args.compare:
        roots = {f"compare ({args.compare})": args.compare.resolve(), **roots}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in roots}
    for i in range(args.repeat):
        for name, root in roots.items():
            load = os.getloadavg()[0]
            runs[name].append(run_once(root, args.workers))
            print(f"run {i + 1} {name}: {runs[name][-1]['wall']:.1f} s, "
                  f"CPU {runs[name][-1]['cpu']:.1f} s "
                  f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)",
                  flush=True)  # fmt: skip
    medians = {name: report(name, found) for name, found in runs.items()}
    if args.compare:
        before, after = medians.values()
        print(f"\nthis checkout / compare: {after / before:.2f}x")


if __name__ == "__main__":
    main()
