"""Column statistics in one lazy pass, PII detection and alerts: a dataset's profile.

`profile()` reads a LazyFrame with three collects: the row count, a systematic sample of the
string columns (for PII detection and value shapes), and one aggregation pass that computes
every statistic of every column at once, top values of publishable low-cardinality columns
included. Statistics common to a kind are multi-column expressions and PII detection screens
every column in one vectorised query, so the cost grows linearly with the number of columns.

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
"""

from __future__ import annotations

from datetime import date

import polars as pl

from govlib import pii
from govlib.catalog import Dataset, PiiKind
from govlib.drift import ColumnDrift, DriftReport, compare, psi
from govlib.profiling.alerts import dataset_alerts
from govlib.profiling.columns import Column, column_profile
from govlib.profiling.detection import detect, unmasked_cards
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
    personal = {f.column: f for f in findings}
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
        mismatches += unmasked_cards(lf, dataset, declared, sample.strings, engine)
    profiles = _column_profiles(dataset, schema, rows, computed, sample, personal, publish, k)
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
        approximate=streaming,
        column_profiles=profiles,
        pii=findings,
        findings=mismatches,
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
    "psi",
]
