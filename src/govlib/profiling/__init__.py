"""Column statistics in one lazy pass, PII detection and alerts: a dataset's profile.

`profile()` reads a LazyFrame with three collects: the row count, a systematic sample of the
string columns (for PII detection and value shapes), and one aggregation pass that computes
every statistic of every column at once, top values of publishable low-cardinality columns
included. Statistics common to a kind are multi-column expressions and PII detection screens
every column in one vectorised query, so the cost grows linearly with the number of columns.
`profile_dataset()` profiles a catalog dataset where it lives: a database dataset's statistics
are aggregate queries the database runs (`pushdown`) and its sample is drawn by the database,
so the table never travels whole.

The resulting record is value-free by construction: a cell value (top value, min, max,
quantile, histogram edge) appears only for a column the catalog declares non-personal and
`publish: values`, and only when at least `k` rows hold it. Every other column, and every
ad-hoc profile, gets counts, rates, lengths and masked shapes; mean, std and skew only when at
least `k` rows hold at least `k` distinct values. Every frequency table drops groups smaller
than `k`.

>>> from datetime import date
>>> from govlib import catalog, sources
>>> ds = catalog.load("catalog.yaml").dataset("customers")
>>> p = profile(sources.scan(ds), dataset="customers", as_of=date(2025, 1, 31), declared=ds)
>>> p.column("email").nulls
30
>>> profile_dataset(ds, as_of=date(2025, 1, 31)) == p
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from govlib import databases, pii
from govlib.catalog import Dataset, PiiKind
from govlib.drift import ColumnDrift, DriftReport, compare, psi
from govlib.errors import GovlibError
from govlib.profiling import pushdown
from govlib.profiling.alerts import dataset_alerts
from govlib.profiling.columns import Column, column_profile
from govlib.profiling.detection import RAW_CARD_DETAIL, card_column, detect, unmasked_cards
from govlib.profiling.kinds import EngineType
from govlib.profiling.results import ColumnProfile, DatasetProfile
from govlib.profiling.sampling import SHAPE_MAX_LENGTH, Sample, Texts, draw, texts
from govlib.profiling.statistics import (
    EXACT_DISTINCT_UP_TO,
    K_ANONYMITY,
    LOW_CARDINALITY,
    QUANTILES,
    Computed,
    Measure,
    Stats,
    compute,
)

if TYPE_CHECKING:
    import ibis
    from ibis.backends import BaseBackend


def profile(
    lf: pl.LazyFrame,
    *,
    dataset: str,
    as_of: date,
    declared: Dataset | None = None,
    k: int = K_ANONYMITY,
    sample_rows: int = pii.SAMPLE_ROWS,
    streaming: bool = False,
) -> DatasetProfile:
    """Profile a LazyFrame: statistics, PII detection, catalog findings and alerts.

    Collects three times (row count, string sample, one aggregation pass) plus small passes
    for free text and masked cards. `streaming=True` runs the passes on polars' streaming
    engine, for data larger than memory. Values (top values, min, max, quantiles, histogram
    edges) are kept only for columns `declared` allows to publish them, and only values held
    by at least `k` rows.
    """
    engine: EngineType = "streaming" if streaming else "in-memory"
    schema = lf.collect_schema()
    rows = lf.select(pl.len()).collect(engine=engine).item()
    sample = draw(lf, schema, rows, sample_rows=sample_rows, engine=engine)
    findings, mismatches = detect(lf, dataset, schema, sample, declared, engine=engine)
    personal = {f.column for f in findings}
    publish = {
        c for c in schema if declared is not None and declared.publishable(c) and c not in personal
    }
    key = declared.primary_key if declared is not None and declared.primary_key else None
    candidates = _top_candidates(schema, publish, sample)
    computed = (
        compute(lf, schema, rows, as_of, publish=publish, candidates=candidates, key=key, k=k,
                streaming=streaming)
        if rows
        else Computed(Stats(), {}, 0)
    )  # fmt: skip
    if declared is not None and rows:
        mismatches += unmasked_cards(lf, dataset, declared, schema, engine)
    found = Found(findings, mismatches, publish, key)
    return _record(dataset, as_of, schema, rows, computed, sample, found, k, approximate=streaming)


def profile_dataset(
    ds: Dataset, *, as_of: date, k: int = K_ANONYMITY, sample_rows: int = pii.SAMPLE_ROWS
) -> DatasetProfile:
    """Profile a catalog dataset where it lives: a database computes its own statistics.

    A file dataset is scanned and profiled by `profile`. A database dataset never travels
    whole: its statistics are aggregate queries run by the database (`pushdown`), and PII
    detection, value shapes and top-value candidates read `databases.sample`, at most
    `sample_rows` rows drawn by the database. The record equals the one `profile` gives for the
    same rows, but for free text on a sampled table: its embedded PII is counted on the sample.
    A file dataset whose catalog `engine:` is spark is profiled so too, Spark reading its files.
    """
    if ds.engine == "spark" and not ds.source.is_database:
        from govlib.engine import spark

        data = spark.open_dataset(ds)

        def on_spark(d: Dataset, n: int, columns: list[str]) -> pl.DataFrame:
            return spark.sample(data, d, n, columns)

        return _profile_table(
            ds, data.con, data.table, as_of, k=k, sample_rows=sample_rows, draw=on_spark
        )
    if not ds.source.is_database:
        from govlib import sources

        return profile(sources.scan(ds), dataset=ds.name, as_of=as_of, declared=ds, k=k,
                       sample_rows=sample_rows)  # fmt: skip
    con, table = databases.open_table(ds)
    try:
        return _profile_table(ds, con, table, as_of, k=k, sample_rows=sample_rows)
    except GovlibError:
        raise
    except Exception as exc:
        raise databases.DatabaseError(
            ds.name,
            f"profiling {databases.location(ds.source)} failed ({type(exc).__name__})",
            "Check the table or query and the user's grants",
        ) from None  # driver messages can quote values
    finally:
        con.disconnect()


def _profile_table(
    ds: Dataset,
    con: BaseBackend,
    table: ibis.Table,
    as_of: date,
    *,
    k: int,
    sample_rows: int,
    draw: Callable[[Dataset, int, list[str]], pl.DataFrame] | None = None,
) -> DatasetProfile:
    """`profile_dataset` on an open database table: aggregates and one bounded sample."""
    from govlib.sources import polars_schema

    schema = polars_schema(ds)
    rows = pushdown.count(con, table)
    strings = [c for c, t in schema.items() if t == pl.String]
    none = pl.DataFrame(schema={c: pl.String for c in strings})
    draw = draw or (lambda d, n, columns: databases.sample(d, n, columns=columns))
    drawn = draw(ds, sample_rows, strings) if strings and rows else none
    sample = Sample(drawn, 1, strings)
    lf = sample.frame.lazy()  # free text: embedded PII counted on the sample (step 1)
    findings, mismatches = detect(lf, ds.name, schema, sample, ds, engine="in-memory")
    personal = {f.column for f in findings}
    publish = {c for c in schema if ds.publishable(c) and c not in personal}
    key = ds.primary_key or None
    candidates = _top_candidates(schema, publish, sample)
    computed = (
        pushdown.compute(con, table, schema, rows, as_of, publish=publish,
                         candidates=candidates, key=key, k=k)
        if rows
        else Computed(Stats(), {}, 0)
    )  # fmt: skip
    if rows:
        mismatches += [
            pii.CatalogFinding(ds.name, c, "unmasked_card", RAW_CARD_DETAIL, n)
            for c, spec in ds.columns.items()
            if spec.masked
            and c in schema
            and card_column(schema[c])
            and (n := pushdown.raw_cards(con, table, c))
        ]
    found = Found(findings, mismatches, publish, key)
    return _record(ds.name, as_of, schema, rows, computed, sample, found, k, approximate=False)


@dataclass(frozen=True, slots=True)
class Found:
    """What detection and the catalog decided before the records are built."""

    findings: list[pii.PiiFinding]
    mismatches: list[pii.CatalogFinding]
    publish: set[str]
    key: list[str] | None


def _record(
    dataset: str,
    as_of: date,
    schema: pl.Schema,
    rows: int,
    computed: Computed,
    sample: Sample,
    found: Found,
    k: int,
    *,
    approximate: bool,
) -> DatasetProfile:
    """The dataset's profile record from its statistics, sample and findings."""
    personal = {f.column: f for f in found.findings}
    profiles = _column_profiles(dataset, schema, rows, computed, sample, personal, found.publish, k)
    key = found.key
    dup_keys = (computed.stats.count(None, Measure.DUPLICATE_KEYS) if rows else 0) if key else None
    return DatasetProfile(
        dataset=dataset,
        as_of=as_of.isoformat(),
        rows=rows,
        columns=len(schema),
        duplicate_rows=computed.duplicate_rows,
        duplicate_keys=dup_keys,
        size_bytes=sum(computed.stats.count(c, Measure.BYTES) for c in schema) if rows else 0,
        sampled_rows=sample.frame.height if sample.strings else 0,
        approximate=approximate,
        column_profiles=profiles,
        pii=found.findings,
        findings=found.mismatches,
        alerts=dataset_alerts(profiles, rows, dup_keys, key),
    )


def _top_candidates(schema: pl.Schema, publish: set[str], sample: Sample) -> list[str]:
    """Publishable columns that may be low-cardinality, whose top values are counted.

    A sample can only under-count distinct values: every publishable column that is
    low-cardinality in full is among these.
    """
    return [
        c
        for c in schema
        if c in publish
        and (
            schema[c] in (pl.Boolean, pl.Categorical)
            or (schema[c] == pl.String and sample.frame[c].n_unique() <= LOW_CARDINALITY + 1)
        )
    ]


def _column_profiles(
    dataset: str,
    schema: pl.Schema,
    rows: int,
    computed: Computed,
    sample: Sample,
    personal: dict[str, pii.PiiFinding],
    publish: set[str],
    k: int,
) -> list[ColumnProfile]:
    """Every column's profile, in schema order."""
    stats = computed.stats
    short = {
        c for c in sample.strings
        if float(stats.get(c, Measure.LENGTH_MEAN) or 0.0) <= SHAPE_MAX_LENGTH  # type: ignore[arg-type]
    }  # fmt: skip
    shown = texts(sample.frame, short, k) if rows else {}
    columns = [
        Column(c, dtype, personal.get(c), computed.tops.get(c), shown.get(c, Texts()), c in publish)
        for c, dtype in schema.items()
    ]
    return [column_profile(dataset, c, rows, stats, k) for c in columns]


def profile_columns(
    lf: pl.LazyFrame, *, dataset: str, as_of: date | None = None
) -> list[ColumnProfile]:
    """Just the column profiles of `profile()`."""
    return profile(lf, dataset=dataset, as_of=as_of or date.today()).column_profiles


__all__ = [
    "EXACT_DISTINCT_UP_TO",
    "K_ANONYMITY",
    "QUANTILES",
    "ColumnDrift",
    "ColumnProfile",
    "DatasetProfile",
    "DriftReport",
    "PiiKind",
    "compare",
    "profile",
    "profile_columns",
    "profile_dataset",
    "psi",
]
