"""Drift between two profiles of the same dataset: shifts per column, schema changes.

Drift reads only the profile records, never the data: null rates and distinct counts of every
column, and for publishable numeric columns the mean, quantiles and a population stability
index over the first profile's histogram bins.

>>> from datetime import date
>>> import polars as pl
>>> from govlib.profiling import profile
>>> day = date(2025, 1, 31)
>>> before = profile(pl.LazyFrame({"x": [1, None, 3, 4]}), dataset="t", as_of=day)
>>> after = profile(pl.LazyFrame({"x": [1, None, None, 4]}), dataset="t", as_of=day)
>>> compare(before, after).columns[0].null_rate_delta
0.25
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from govlib.records import Record

if TYPE_CHECKING:  # drift reads profiles; profiling re-exports `compare`
    from govlib.profiling import ColumnProfile, DatasetProfile

PSI_DRIFT = 0.2  # a population stability index from which a column has drifted
NULL_RATE_DRIFT = 0.05  # a change of the null rate from which a column has drifted
MEAN_SHIFT_DRIFT = 0.5  # a mean shift, in standard deviations, from which a column has drifted


@dataclass(frozen=True, slots=True)
class ColumnDrift(Record):
    """How one column moved between two profiles."""

    column: str
    null_rate_delta: float
    distinct_delta: int
    mean_shift: float | None  # in standard deviations of the first profile
    quantile_shifts: dict[str, float] | None
    psi: float | None  # population stability index over the first profile's histogram bins
    drifted: bool


@dataclass(frozen=True, slots=True)
class DriftReport(Record):
    """Drift between two profiles of the same dataset."""

    ROWS: ClassVar[str | None] = "columns"

    dataset: str
    rows_before: int
    rows_after: int
    added_columns: list[str]
    removed_columns: list[str]
    type_changes: list[dict[str, str]]
    columns: list[ColumnDrift]


def _cdf(histogram: list[dict[str, float]], x: float) -> float:
    """Share of a histogram's mass at or below `x`, linear within bins."""
    total = sum(b["count"] for b in histogram) or 1
    mass = 0.0
    for b in histogram:
        start, end, count = b["start"], b["end"], b["count"]
        if x >= end:
            mass += count
        elif x > start and end > start:
            mass += count * (x - start) / (end - start)
    return mass / total


def psi(before: list[dict[str, float]], after: list[dict[str, float]]) -> float:
    """Population stability index of `after` against the bins of `before`.

    Examples
    --------
    >>> h = [{"start": 0.0, "end": 1.0, "count": 10}, {"start": 1.0, "end": 2.0, "count": 30}]
    >>> psi(h, h)
    0.0
    """
    total = sum(b["count"] for b in before) or 1
    edges = [before[0]["start"]] + [b["end"] for b in before]
    expected = [b["count"] / total for b in before]
    actual = []
    low = 0.0
    for i, edge in enumerate(edges[1:]):
        high = 1.0 if i == len(edges) - 2 else _cdf(after, edge)
        actual.append(max(high - low, 0.0))
        low = high
    eps = 1e-4
    return round(
        sum(
            (a - e) * math.log((a + eps) / (e + eps)) for a, e in zip(actual, expected, strict=True)
        ),
        6,
    )


def _quantile_shifts(
    before: dict[str, float | None], after: dict[str, float | None]
) -> dict[str, float]:
    """How far each quantile held by both profiles moved."""
    shifts = {}
    for q, old in before.items():
        new = after.get(q)
        if old is not None and new is not None:
            shifts[q] = round(new - old, 6)
    return shifts


def column_drift(x: ColumnProfile, y: ColumnProfile) -> ColumnDrift:
    """How column profile `x` moved to `y` (both of the same dtype)."""
    mean_shift = None
    if x.mean is not None and y.mean is not None:
        scale = x.std or 1.0
        mean_shift = round((y.mean - x.mean) / scale, 6)
    shifts = _quantile_shifts(x.quantiles, y.quantiles) if x.quantiles and y.quantiles else None
    index = psi(x.histogram, y.histogram) if x.histogram and y.histogram else None
    null_delta = round(y.null_rate - x.null_rate, 6)
    drifted = bool(
        (index is not None and index >= PSI_DRIFT)
        or abs(null_delta) >= NULL_RATE_DRIFT
        or (mean_shift is not None and abs(mean_shift) >= MEAN_SHIFT_DRIFT)
    )
    return ColumnDrift(
        x.column, null_delta, y.distinct - x.distinct, mean_shift, shifts, index, drifted
    )


def compare(before: DatasetProfile, after: DatasetProfile) -> DriftReport:
    """Describe drift between two profiles: shifts per column, new, removed and retyped columns."""
    a = {c.column: c for c in before.column_profiles}
    b = {c.column: c for c in after.column_profiles}
    shared = sorted(a.keys() & b.keys())
    return DriftReport(
        dataset=after.dataset,
        rows_before=before.rows,
        rows_after=after.rows,
        added_columns=sorted(b.keys() - a.keys()),
        removed_columns=sorted(a.keys() - b.keys()),
        type_changes=[
            {"column": n, "before": a[n].dtype, "after": b[n].dtype}
            for n in shared
            if a[n].dtype != b[n].dtype
        ],
        columns=[column_drift(a[n], b[n]) for n in shared if a[n].dtype == b[n].dtype],
    )


__all__ = ["ColumnDrift", "DriftReport", "column_drift", "compare", "psi"]
