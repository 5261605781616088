"""Validation on Spark: the suite, referential integrity and duplicate subjects where the data is.

`validate_on_spark` is what `validate(..., engine="spark")` runs: Spark reads the dataset's
files itself (`govlib.engine.spark`), the compiled suite runs as Spark queries, referential
integrity is an anti-join in Spark, and only aggregates come back. Duplicate subjects run as
in a database (`govlib.quality.rules`): e-mail keys in Spark SQL, phones grouped by candidate
key with only the rows of shared candidates keyed by Python. An entry the compiler does not
cover would need GX on the whole table in memory: on Spark it is reported as an error that
says so, never run on a copy.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from govlib.catalog import Dataset
from govlib.engine.backends import Data
from govlib.quality.gx import gx_checks
from govlib.quality.results import CheckResult, QualityResult
from govlib.quality.rules import duplicate_subjects, govlib_check
from govlib.quality.scores import judge
from govlib.quality.suites import read_suite, suite_path

NOT_ON_SPARK = "this check runs on Great Expectations only, not on Spark (use another --engine)"


def validate_on_spark(ds: Dataset, *, as_of: date, suite: str | None = None) -> QualityResult:
    """`govlib.quality.validate` with Spark reading and checking the data."""
    from govlib.engine import spark

    session = spark.session()
    data = spark.open_dataset(ds, session)
    name = suite or ds.suite
    rows = int(data.rows(data.table.aggregate(rows=data.table.count()))[0]["rows"])
    shape = pl.DataFrame(schema=data.table.schema().to_polars())  # the schema, no rows
    checks: list[CheckResult] = []
    if name is not None:
        checks += suite_on_spark(ds, data, shape, name, as_of=as_of)
    checks += orphans(ds, data, session)
    checks += duplicate_subjects(ds, data)  # keyed by Spark, as a database keys them
    return judge(ds.name, name, as_of, rows, checks, ds.catalog.gate_for(ds.name))


def suite_on_spark(
    ds: Dataset, data: Data, shape: pl.DataFrame, name: str, *, as_of: date
) -> list[CheckResult]:
    """The suite's checks compiled and run on Spark; uncompiled entries as errors."""
    from govlib import engine
    from govlib.engine.run import run_suite

    path = suite_path(ds.catalog, name)
    suite = read_suite(path)
    entries = suite["expectations"]
    run = run_suite(data, entries, params=engine.parameters(as_of))
    raw = list(run.results)
    for index in run.fallback:
        entry = entries[index]
        raw.append({
            "index": index, "type": entry["type"], "kwargs": dict(entry.get("kwargs") or {}),
            "meta": dict(entry.get("meta") or {}), "success": False, "result": {},
            "reason": NOT_ON_SPARK, "engine": "spark",
        })  # fmt: skip
    raw.sort(key=lambda row: int(row["index"]))
    publishable = {c for c in ds.columns if ds.publishable(c)}
    return gx_checks(ds.name, shape, raw, publishable)


def orphans(ds: Dataset, data: Data, session: Any) -> list[CheckResult]:
    """Referential integrity as Spark anti-joins: keys that point at no row of the target."""
    from govlib.engine import spark

    checks = []
    table = data.table
    for rel in ds.relationships:
        target_name, column = rel.target
        target = spark.open_dataset(ds.catalog.dataset(target_name), session).table
        keys = table.filter(table[rel.column].notnull())
        known = target.select(target[column].name("__key")).distinct()
        lost = keys.anti_join(known, keys[rel.column] == known["__key"])
        counts = data.rows(
            table.aggregate(rows=table.count(), keys=table[rel.column].count()).cross_join(
                lost.aggregate(orphans=lost.count())
            )
        )[0]
        checks.append(
            govlib_check(
                ds.name, "referential_integrity", rel.column, {"references": rel.references},
                "consistency", counts["keys"], counts["orphans"], counts["rows"] - counts["keys"],
            )
        )  # fmt: skip
    return checks
