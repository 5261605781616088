"""Quality: Great Expectations suites as files, value-free three-state results, dimension scores.

Suites live as plain GX 1.x JSON in `expectations/`. `validate()` runs a suite on the check
engine (`govlib.engine`: expectations compiled to Ibis, run on polars, DuckDB or Spark), leaves
what it does not compile to GX (an ephemeral context on a pandas copy, counts kept and values
dropped), and adds the checks GX cannot express (referential integrity, duplicate subjects).
Every check maps to one quality dimension; dimension scores and the catalog's gate turn the
result into a verdict a scheduler can act on.

A database source is validated inside its database: the compiled suite, referential integrity
and duplicate subjects run there as queries, and only aggregates (and the bounded rows
`rules` describes) travel back; no table is read into Python. Great Expectations would need the
rows (its pandas path) or sees them through its own SQL dialect rules, so on a database source
an entry the compiler does not cover, and every entry under `engine="gx"`, is reported as
`error` with the reason `NOT_COMPILED`: it runs on file sources only.

The parts:

- `suites`: reading suite files (no GX needed);
- `gx`: the GX runner, the only module that imports great_expectations, lazily: a suite whose
  entries all compile never imports it;
- `predicates`: row-level expectations as polars conditions (cleansing's quarantine uses them);
- `rules`: govlib's own checks; `scores`: scores and the gate; `suggestions`: starter suites;
- `onspark`: validation with Spark reading and checking the data (`engine="spark"`);
- `results`: the records.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from govlib.catalog import Dataset
from govlib.quality.gx import RESULT_FORMAT, Timings, gx_checks, gx_suite, load_suite, run_gx
from govlib.quality.predicates import RowCheck, row_checks, row_predicate, unexpected_counts
from govlib.quality.results import (
    DIMENSION_OF_TYPE,
    DIMENSIONS,
    PERSONAL_KWARGS,
    VALUE_BOUNDED,
    VALUE_KWARGS,
    CheckResult,
    QualityResult,
    Shape,
    Status,
)
from govlib.quality.rules import duplicate_subjects, normalised_phone, referential_integrity
from govlib.quality.scores import gate_failures, judge, score
from govlib.quality.suggestions import EMAIL_REGEX, PHONE_REGEX, suggest
from govlib.quality.suites import SuiteError, blocking_entries, read_suite, suite_path

__all__ = [
    "DIMENSIONS",
    "DIMENSION_OF_TYPE",
    "EMAIL_REGEX",
    "NOT_COMPILED",
    "PERSONAL_KWARGS",
    "PHONE_REGEX",
    "RESULT_FORMAT",
    "VALUE_BOUNDED",
    "VALUE_KWARGS",
    "CheckResult",
    "QualityResult",
    "RowCheck",
    "Shape",
    "Status",
    "SuiteError",
    "Timings",
    "blocking_entries",
    "duplicate_subjects",
    "gate_failures",
    "gx_checks",
    "gx_suite",
    "judge",
    "load_suite",
    "normalised_phone",
    "own_checks",
    "read_suite",
    "referential_integrity",
    "row_checks",
    "row_predicate",
    "run_gx",
    "score",
    "suggest",
    "suite_checks",
    "suite_path",
    "unexpected_counts",
    "validate",
    "validate_in_database",
]


def validate(
    ds: Dataset,
    *,
    as_of: date,
    suite: str | None = None,
    frame: pl.DataFrame | None = None,
    engine: str | None = None,
) -> QualityResult:
    """Validate a catalog dataset with its suite plus govlib's cross-dataset checks.

    Parameters
    ----------
    ds
        The dataset, from its catalog.
    as_of
        The day the suite's `$PARAMETER` bounds refer to (`as_of` is its end).
    suite
        A suite name in place of the catalog's.
    frame
        The dataset's rows, when already loaded (else they are read once here).
    engine
        Where the suite runs: "polars", "duckdb", "gx" (the whole suite on Great
        Expectations) or "spark" (Spark reads the source itself: `quality.onspark`).
        Default: the catalog's `engine:`, else chosen by the data's size.

    Returns
    -------
    QualityResult
        Every check's counts, the scores and the gate's verdict.
    """
    from govlib import sources
    from govlib.engine.backends import open_frame

    if (engine or ds.engine) == "spark":
        from govlib.quality.onspark import validate_on_spark

        return validate_on_spark(ds, as_of=as_of, suite=suite)
    catalog = ds.catalog
    name = suite or ds.suite
    if frame is None and ds.source.is_database:
        return validate_in_database(ds, as_of=as_of, suite=name, engine=engine)
    if frame is None:
        frame = sources.scan(ds).collect()
    publishable = {c for c in ds.columns if ds.publishable(c)}
    checks: list[CheckResult] = []
    if name is not None:
        path = suite_path(catalog, name)
        checks += suite_checks(
            ds.name, frame, read_suite(path), path,
            as_of=as_of, publishable=publishable, engine=engine or ds.engine,
        )  # fmt: skip
    data = open_frame(frame, "polars", name=ds.name)
    checks += own_checks(ds, data)
    return judge(ds.name, name, as_of, frame.height, checks, catalog.gate_for(ds.name))


NOT_COMPILED = "not compiled; Great Expectations runs only on file sources"


def validate_in_database(
    ds: Dataset, *, as_of: date, suite: str | None, engine: str | None = None
) -> QualityResult:
    """`validate` for a database source, inside its database: only aggregates travel back.

    Entries the compiler does not cover, and all of them under `engine="gx"`, are in error
    with the reason `NOT_COMPILED`; "polars" and "duckdb" are refused (they choose where a
    file's checks run).
    """
    from govlib.engine.backends import open_database, side_by_side
    from govlib.errors import GovlibError
    from govlib.sources import polars_schema

    chosen = engine or ds.engine
    if chosen in ("polars", "duckdb"):
        raise GovlibError(
            f"dataset {ds.name!r} is a database source: its checks run inside the database, "
            f"not on {chosen}. Drop --engine {chosen} (or the catalog's engine:) for it"
        )
    path = suite_path(ds.catalog, suite) if suite is not None else None
    read = read_suite(path) if path is not None else None
    publishable = {c for c in ds.columns if ds.publishable(c)}

    def suite_part(data: Any) -> Any:
        [row] = data.rows(data.table.aggregate(n=lambda t: t.count()))
        schema = dict(polars_schema(ds))
        shape = Shape(schema=schema, height=int(row["n"] or 0))
        if read is None:
            return shape.height, []
        raw = _database_suite(data, read, as_of=as_of, gx=chosen == "gx")
        return shape.height, gx_checks(ds.name, shape, raw, publishable)

    data = open_database(ds)
    try:
        # the suite and govlib's own checks side by side where the database allows
        (height, checks), own = side_by_side(data, [suite_part, lambda d: own_checks(ds, d)])
    finally:
        data.close()
    checks = checks + own
    return judge(ds.name, suite, as_of, height, checks, ds.catalog.gate_for(ds.name))


def _database_suite(data: Any, suite: dict[str, Any], *, as_of: date, gx: bool) -> list[dict]:
    """The suite's raw results in the database; entries left to GX come back in error."""
    from govlib import engine as engines
    from govlib.engine.run import run_suite

    entries = suite["expectations"]
    raw: list[dict[str, Any]] = []
    fallback = list(range(len(entries)))
    if not gx:
        run = run_suite(data, entries, params=engines.parameters(as_of))
        raw, fallback = run.results, run.fallback
    for i in fallback:
        entry = entries[i]
        raw.append(
            {"index": i, "type": entry["type"], "kwargs": dict(entry.get("kwargs") or {}),
             "meta": dict(entry.get("meta") or {}), "success": False, "result": {},
             "reason": NOT_COMPILED, "engine": "gx"}
        )  # fmt: skip
    raw.sort(key=lambda r: int(r["index"]))
    return raw


def own_checks(ds: Dataset, data: Any) -> list[CheckResult]:
    """Referential integrity and duplicate subjects on an opened table (`engine.backends`).

    A relationship's target opens beside it: on the same connection when both live in one
    database (or both are files, on polars), else on its own (see `rules` for what crossing
    sources reads).
    """
    from govlib import databases, sources
    from govlib.engine.backends import open_database, open_frame

    targets: dict[str, Any] = {}
    try:
        for rel in ds.relationships:
            target = ds.catalog.dataset(rel.target[0])
            if rel.target[0] in targets:
                continue
            if target.source.is_database:
                shared = ds.source.is_database and databases.same_database(ds, target)
                targets[target.name] = open_database(target, data.con if shared else None)
            else:
                frame = sources.scan(target).collect()
                con = data.con if data.backend == "polars" else None
                name = f"target_{target.name}"
                targets[target.name] = open_frame(frame, "polars", name=name, con=con)
        return referential_integrity(ds, data, targets) + duplicate_subjects(ds, data)
    finally:
        for opened in targets.values():
            opened.close()


def suite_checks(
    dataset: str,
    frame: pl.DataFrame,
    data: dict[str, Any],
    path: Path,
    *,
    as_of: date,
    publishable: set[str],
    engine: str | None = None,
) -> list[CheckResult]:
    """A read suite's checks: compiled where possible, the rest (or all, for "gx") on GX.

    Parameters
    ----------
    dataset, frame, data, path
        The dataset's name and rows, the suite (from `read_suite`) and its file.
    as_of
        The day the suite's `$PARAMETER` bounds refer to.
    publishable
        Columns whose values shared outputs may show.
    engine
        "polars", "duckdb", "gx", "spark" (the frame handed to Spark), or None to choose by
        the frame's size.

    Returns
    -------
    list[CheckResult]
        One record per suite entry, in suite order, each naming the engine that ran it.
    """
    from govlib import engine as engines

    chosen = engines.choose(engine, size_bytes=int(frame.estimated_size()))
    entries = data["expectations"]
    raw: list[dict[str, Any]] = []
    fallback = list(range(len(entries)))
    if chosen != "gx":
        from govlib.engine.backends import open_frame
        from govlib.engine.run import run_suite

        run = run_suite(open_frame(frame, chosen), entries, params=engines.parameters(as_of))
        raw, fallback = run.results, run.fallback
    if fallback:
        gx_raw, _ = run_gx(frame, gx_suite(data, path, only=fallback), as_of=as_of)
        raw += gx_raw
    raw.sort(key=lambda row: int(row["index"]))
    return gx_checks(dataset, frame, raw, publishable)
