"""Validate generated customers held in PostgreSQL: govlib in the database, GX's SQL datasource,
and reading the table into polars first, side by side.

    GOVLIB_BENCH_POSTGRES_URL=postgresql://user:pw@127.0.0.1/db \\
        python benchmarks/bench_sources.py [--rows 1000000] [--five-million] [--keep]

Loads N generated customers (the sample generator, planted defects included) into the table
`bench_sources.customers_<N>` with COPY (reused when it holds N rows), then runs each way in a
subprocess of its own and prints its wall time (from connecting to the last result, imports
left out), the rows the PostgreSQL driver returned to Python, and the subprocess's peak resident
memory:

- `govlib`: `quality.validate` of the customers dataset (the suite and duplicate subjects,
  inside the database); `govlib-suite`: the suite alone, what GX runs;
- `gx-sql`: the same suite on Great Expectations 1.x's SQL datasource
  (`context.data_sources.add_postgres`, a table asset, one `batch.validate`); it needs
  SQLAlchemy, which govlib does not: put a copy on `--gx-path` (e.g.
  `pip install --target DIR sqlalchemy==2.0.44`);
- `read+polars`: the table read into polars in Arrow batches (`databases.frame`), then
  validated in process.

`--five-million` also runs 5,000,000 customers (reading that into polars takes long and ~5 GiB:
it runs only with `--read-all`). The tables stay for the next run with
`--keep`; otherwise the schema is dropped at the end. Targets: govlib at least twice as fast as
GX's SQL datasource, at most 20,000 rows fetched besides aggregates, peak memory under 1 GiB.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = "bench_sources"
AS_OF = date(2025, 1, 31)
URL_ENV = "GOVLIB_BENCH_POSTGRES_URL"
TABLE_ENV = "GOVLIB_BENCH_TABLE_URL"
CHUNK = 500_000


def url() -> str:
    found = os.environ.get(URL_ENV) or os.environ.get("GOVLIB_TEST_POSTGRES_URL")
    if not found:
        raise SystemExit(f"set {URL_ENV} to a PostgreSQL URL whose user may create a schema")
    return found


# -- loading -----------------------------------------------------------------------------------


def load(rows: int) -> str:
    """`bench_sources.customers_<rows>` holding `rows` generated customers (made once)."""
    import psycopg
    import yaml

    from govlib import sampledata

    table = f"customers_{rows}"
    with psycopg.connect(url(), autocommit=True) as con:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s "
            "AND table_name = %s", (SCHEMA, table)
        ).fetchone()  # fmt: skip
        if found and found[0]:
            [(count,)] = con.execute(f"SELECT count(*) FROM {SCHEMA}.{table}").fetchall()
            if count >= rows:
                return table
            con.execute(f"DROP TABLE {SCHEMA}.{table}")
        raw = yaml.safe_load((ROOT / "catalog.yaml").read_text())
        declared = raw["datasets"]["customers"]["columns"]
        sql = {"string": "TEXT", "int64": "BIGINT", "float64": "NUMERIC(14, 2)", "bool": "BOOLEAN",
               "date": "DATE", "datetime": "TIMESTAMP"}  # fmt: skip
        columns = ", ".join(f'"{c}" {sql[spec["type"]]}' for c, spec in declared.items())
        con.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns})")
    start = time.perf_counter()
    frame = sampledata.generate(customers=rows, seed=1).frames["customers"]
    generated = time.perf_counter()
    copy(f"{SCHEMA}.{table}", frame)
    print(f"loaded {frame.height:,} customers: generated in {generated - start:.0f} s, "
          f"COPY in {time.perf_counter() - generated:.0f} s")  # fmt: skip
    return table


def copy(qualified: str, frame: Any) -> None:
    """COPY a polars frame into a table, as CSV, half a million rows at a time."""
    import polars as pl
    import psycopg

    with psycopg.connect(url(), autocommit=True) as con, con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        names = ", ".join(f'"{c}"' for c in frame.columns)
        with cur.copy(f"COPY {qualified} ({names}) FROM STDIN (FORMAT csv, HEADER false)") as cp:
            for start in range(0, frame.height, CHUNK):
                part = frame.slice(start, CHUNK).with_columns(
                    pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
                )
                buffer = io.BytesIO()
                part.write_csv(buffer, include_header=False)
                cp.write(buffer.getvalue())
        cur.execute(f"ANALYZE {qualified}")


# -- what runs in each subprocess -----------------------------------------------------------------


class Fetched:
    """Rows psycopg returns to Python, on every connection opened while counting."""

    rows = 0

    @classmethod
    def install(cls) -> None:
        import psycopg

        def counting(base: type) -> type:
            class Counting(base):  # type: ignore[misc, valid-type]
                def fetchone(self) -> Any:
                    row = super().fetchone()
                    cls.rows += row is not None
                    return row

                def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
                    rows = super().fetchmany(*args, **kwargs)
                    cls.rows += len(rows)
                    return rows

                def fetchall(self) -> Any:
                    rows = super().fetchall()
                    cls.rows += len(rows)
                    return rows

                def __iter__(self) -> Any:
                    for row in super().__iter__():
                        cls.rows += 1
                        yield row

            return Counting

        cursor, server = counting(psycopg.Cursor), counting(psycopg.ServerCursor)
        original = psycopg.connect

        def connect(*args: Any, **kwargs: Any) -> Any:
            con = original(*args, **kwargs)
            con.cursor_factory, con.server_cursor_factory = cursor, server
            return con

        psycopg.connect = connect  # Ibis and SQLAlchemy both connect through it


def bench_catalog(folder: Path, table: str) -> Path:
    """The sample catalog with customers read from the benchmark table."""
    import shutil

    import yaml

    raw = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    raw["data_root"] = str(ROOT / "data" / "sample")
    raw["datasets"]["customers"]["source"] = {"uri_env": TABLE_ENV, "table": table}
    shutil.copytree(ROOT / "expectations", folder / "expectations")
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    parts = urlsplit(url())
    os.environ[TABLE_ENV] = parts._replace(path=f"{parts.path.rstrip('/')}/{SCHEMA}").geturl()
    return path


def warm_imports(mode: str) -> None:
    """Import what each way needs before the clock starts: imports are not what is measured."""
    import importlib

    names = ["pandas", "pyarrow", "polars", "sqlglot", "phonenumbers", "pycountry"]
    if mode == "gx-sql":
        names += ["great_expectations", "sqlalchemy", "psycopg"]
    else:
        names += ["ibis", "ibis.backends.postgres", "ibis.backends.sql.compilers.postgres",
                  "ibis.backends.polars", "govlib.engine.run", "govlib.quality.rules"]  # fmt: skip
    for name in names:
        importlib.import_module(name)
    if mode != "gx-sql":
        import phonenumbers

        phonenumbers.parse("+44 7416 962965")  # loads the metadata it reads lazily


def peak_mib() -> float:
    """This process's peak resident memory since its exec (VmHWM).

    Not `ru_maxrss`: that survives exec, so a child forked from a parent that generated a
    million rows would report the parent's peak.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, table: str) -> dict[str, Any]:
    """One way of validating, timed from connecting to the last result."""
    from govlib import catalog, databases, quality

    warm_imports(mode)
    with tempfile.TemporaryDirectory() as tmp:
        ds = catalog.load(bench_catalog(Path(tmp), table)).dataset("customers")
        if mode == "gx-sql":
            from govlib.quality.gx import RESULT_FORMAT, gx_suite, read_suite

            path = Path(tmp) / "expectations" / "customers.json"
            suite = gx_suite(read_suite(path), path)
        Fetched.install()
        start = time.perf_counter()
        if mode == "govlib":
            result = quality.validate(ds, as_of=AS_OF)
            outcomes = [(c.check, c.column, c.status, c.unexpected_count) for c in result.checks]
        elif mode == "govlib-suite":
            outcomes = run_suite_only(ds)
        elif mode == "read+polars":
            frame = databases.frame(ds)
            result = quality.validate(ds, as_of=AS_OF, frame=frame)
            outcomes = [(c.check, c.column, c.status, c.unexpected_count) for c in result.checks]
        else:
            outcomes = run_gx_sql(table, suite, RESULT_FORMAT)
        seconds = time.perf_counter() - start
    return {"mode": mode, "seconds": seconds, "fetched": Fetched.rows, "peak_mib": peak_mib(),
            "outcomes": outcomes}  # fmt: skip


def run_suite_only(ds: Any) -> list[tuple]:
    """The suite alone in the database (what GX's SQL datasource runs), without govlib's rules."""
    from govlib import engine, quality
    from govlib.engine.backends import open_database
    from govlib.engine.run import run_suite

    path = ds.catalog.path.parent / "expectations" / "customers.json"
    data = open_database(ds)
    try:
        run = run_suite(data, quality.read_suite(path)["expectations"],
                        params=engine.parameters(AS_OF))  # fmt: skip
    finally:
        data.close()
    shape = quality.Shape(schema={}, height=0)
    checks = quality.gx_checks("customers", shape, run.results, set())
    return [(c.check, c.column, c.status, c.unexpected_count) for c in checks]


def run_gx_sql(table: str, suite: Any, result_format: dict[str, Any]) -> list[tuple]:
    """The suite on GX's SQL datasource for PostgreSQL: GX's own queries, GX's own results."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from govlib.engine.params import parameters

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    scheme = url().split("://", 1)[1]
    source = context.data_sources.add_postgres(
        "pg", connection_string=f"postgresql+psycopg://{scheme}"
    )
    asset = source.add_table_asset("customers", table_name=table, schema_name=SCHEMA)
    batch = asset.add_batch_definition_whole_table("all").get_batch()
    result = batch.validate(
        suite, expectation_parameters=parameters(AS_OF), result_format=result_format
    )
    out = []
    for r in sorted(result.results, key=lambda r: r.expectation_config.meta["govlib_index"]):
        status = "passed" if r.success else "failed"
        info = r.exception_info or {}
        shapes = [info, *(v for v in info.values() if isinstance(v, dict))]
        if any(shape.get("raised_exception") for shape in shapes):
            status = "error"
        counts = (r.result or {}).get("unexpected_count")
        out.append((r.expectation_config.type, r.expectation_config.kwargs.get("column"),
                    status, counts))  # fmt: skip
    return out


# -- the parent: side by side ---------------------------------------------------------------------


def run(mode: str, table: str, gx_path: str | None) -> dict[str, Any]:
    env = dict(os.environ)
    paths = [str(ROOT / "src")] + ([gx_path] if gx_path and mode == "gx-sql" else [])
    env["PYTHONPATH"] = os.pathsep.join([*paths, env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--table", table],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{mode} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def side_by_side(rows: int, gx_path: str | None, read: bool) -> None:
    table = load(rows)
    print(f"\n{rows:,} customers in PostgreSQL ({SCHEMA}.{table})", flush=True)
    ways = ("govlib", "govlib-suite", "gx-sql") + (("read+polars",) if read else ())
    figures = {m: run(m, table, gx_path) for m in ways}
    for mode, f in figures.items():
        print(f"  {mode:<13} {f['seconds']:8.2f} s   {f['fetched']:>10,} rows fetched   "
              f"peak RSS {f['peak_mib']:7,.0f} MiB")  # fmt: skip
    ours, theirs = figures["govlib"], figures["gx-sql"]
    suite_only = figures["govlib-suite"]["seconds"]
    print(f"  govlib is {theirs['seconds'] / ours['seconds']:.1f}x as fast as GX's SQL datasource "
          f"({theirs['seconds'] / suite_only:.1f}x on the suite alone), with "
          f"{ours['peak_mib'] / theirs['peak_mib']:.2f} of its peak memory")  # fmt: skip
    suite = len(theirs["outcomes"])
    same = [
        a[:3] == b[:3] and (b[3] is None or a[3] == b[3])  # GX counts no rows of table checks
        for a, b in zip(ours["outcomes"][:suite], theirs["outcomes"], strict=True)
    ]
    print(f"  suite outcomes equal to GX SQL's (type, column, status, unexpected): "
          f"{sum(same)} of {suite}")  # fmt: skip
    for a, b, ok in zip(ours["outcomes"], theirs["outcomes"], same, strict=False):
        if not ok:
            print(f"    govlib {a}  gx-sql {b}")
    if read:
        polars = figures["read+polars"]["outcomes"]
        print(f"  all outcomes equal to read+polars: {ours['outcomes'] == polars}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--five-million", action="store_true", help="also run 5,000,000 rows")
    parser.add_argument("--keep", action="store_true", help="keep the tables for the next run")
    parser.add_argument("--gx-path", default=None, help="a folder holding SQLAlchemy, for GX")
    parser.add_argument(
        "--read-all", action="store_true", help="read into polars beyond 1,000,000 rows too"
    )
    parser.add_argument("--no-read", action="store_true", help="never read into polars")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--table", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.table)))
        return
    try:
        for rows in (args.rows, 5_000_000) if args.five_million else (args.rows,):
            read = not args.no_read and (rows <= 1_000_000 or args.read_all)
            side_by_side(rows, args.gx_path, read=read)
    finally:
        if not args.keep:
            import psycopg

            with psycopg.connect(url(), autocommit=True) as con:
                con.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")


if __name__ == "__main__":
    main()
