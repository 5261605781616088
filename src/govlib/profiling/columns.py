"""One column's profile from the computed statistics: aggregates always, values only if publishable.

Mean, standard deviation and skewness are aggregates, kept when at least `k` rows hold at
least `k` distinct values (fewer would let them pin values down: the mean of a constant column
is its value). Min, max, quantiles, histograms and top values are values: only for a
publishable column, and only values held by at least `k` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict

import polars as pl

from govlib import pii
from govlib.catalog import Category
from govlib.profiling.alerts import with_alerts
from govlib.profiling.kinds import dtype_name, kind
from govlib.profiling.results import ColumnProfile
from govlib.profiling.sampling import TOP_VALUES, Texts
from govlib.profiling.statistics import QUANTILES, Measure, Stats, rounded


class Values(TypedDict, total=False):
    """The kind's statistics of a column: the optional fields of its `ColumnProfile`."""

    min: float | str | None
    max: float | str | None
    mean: float | None
    std: float | None
    skew: float | None
    zeros: int
    negatives: int
    quantiles: dict[str, float | None]
    histogram: list[dict[str, float]]
    future: int
    true_count: int
    length_min: int | None
    length_mean: float | None
    length_max: int | None
    empty: int
    shapes: list[dict[str, object]]
    top_values: list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class Column:
    """What is known about one column before its profile is built."""

    name: str
    dtype: pl.DataType
    finding: pii.PiiFinding | None
    tops: list[dict[str, object]] | None
    texts: Texts
    publish: bool


def column_profile(dataset: str, c: Column, rows: int, stats: Stats, k: int) -> ColumnProfile:
    """The profile of column `c` of a dataset of `rows` rows, with its alerts."""
    nulls = stats.count(c.name, Measure.NULLS) if rows else 0
    distinct = stats.count(c.name, Measure.DISTINCT) if rows else 0
    values, suppressed = _values(c, rows, nulls, distinct, stats, k) if rows else (Values(), 0)
    if c.tops is not None and c.finding is None and c.publish:
        values["top_values"], hidden = _kept_tops(c.tops, c.name, k)
        suppressed += hidden
    profile = ColumnProfile(
        dataset=dataset,
        column=c.name,
        dtype=dtype_name(c.dtype),
        kind=kind(c.dtype),
        rows=rows,
        nulls=nulls,
        null_rate=round(nulls / rows, 6) if rows else 0.0,
        distinct=distinct,
        personal=c.finding is not None,
        publishable=c.publish,
        pii_kind=c.finding.kind if c.finding else None,
        category=c.finding.category if c.finding else Category.NON_PERSONAL.value,
        suppressed=suppressed,
        **values,
    )
    return with_alerts(profile, c.dtype, c.texts, skew=stats.number(c.name, Measure.SKEW))


def _values(
    c: Column, rows: int, nulls: int, distinct: int, stats: Stats, k: int
) -> tuple[Values, int]:
    """The kind's statistics of a column with rows, and how many values they left out."""
    name, values = c.name, Values()
    match kind(c.dtype):
        case "numeric" if c.finding is None:
            return _numeric_values(name, stats, rows - nulls, distinct, k, c.publish)
        case "temporal":
            values["future"] = stats.count(name, Measure.FUTURE)
            if c.publish:
                values["min"] = _temporal_value(stats.get(name, Measure.HELD_MIN))
                values["max"] = _temporal_value(stats.get(name, Measure.HELD_MAX))
        case "string":
            values |= {
                "length_min": stats.integer(name, Measure.LENGTH_MIN),
                "length_mean": stats.number(name, Measure.LENGTH_MEAN),
                "length_max": stats.integer(name, Measure.LENGTH_MAX),
                "empty": stats.count(name, Measure.EMPTY),
                "shapes": c.texts.shapes,
            }
            return values, c.texts.suppressed
        case "boolean" if rows - nulls >= k:
            values["true_count"] = stats.count(name, Measure.TRUE_COUNT)
    return values, 0


def _temporal_value(value: object) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None


def _kept_tops(
    tops: list[dict[str, object]], column: str, k: int
) -> tuple[list[dict[str, object]], int]:
    """The top values held by at least `k` rows, and how many rows the rest hold.

    Most frequent first, equal counts by value: the same order whichever engine counted them.
    """
    key = next(iter(tops[0])) if tops else column
    kept, hidden = [], 0
    ordered = sorted(
        tops,
        key=lambda e: (-int(e["count"]), e[key] is None, e[key]),  # type: ignore[call-overload]
    )
    for entry in ordered:
        value, count = entry[key], int(entry["count"])  # type: ignore[call-overload]
        if value is None:
            continue
        if count >= k:
            kept.append({"value": value, "count": count})
        else:
            hidden += count
    return kept[:TOP_VALUES], hidden


def _numeric_values(
    column: str, stats: Stats, present: int, distinct: int, k: int, publish: bool
) -> tuple[Values, int]:
    """Numeric statistics fit to share, and how many values a histogram left out.

    The histogram's edges start at the minimum and end at the maximum, so it is kept only when
    both of those are held by `k` rows.
    """
    values = Values(
        zeros=stats.count(column, Measure.ZEROS),
        negatives=stats.count(column, Measure.NEGATIVES),
    )
    if present >= k and distinct >= k:
        values["mean"] = stats.number(column, Measure.MEAN)
        values["std"] = stats.number(column, Measure.STD)
        values["skew"] = stats.number(column, Measure.SKEW)
    if not publish:
        return values, 0
    low = values["min"] = stats.number(column, Measure.HELD_MIN)
    high = values["max"] = stats.number(column, Measure.HELD_MAX)
    values["quantiles"] = {
        f"p{round(q * 100):02d}": stats.number(column, Measure.QUANTILE, q)
        if stats.count(column, Measure.AT_QUANTILE, q) >= k
        else None
        for q in QUANTILES
    }
    exact = (stats.number(column, Measure.MIN), stats.number(column, Measure.MAX))
    if low is None or exact != (low, high):
        return values, 0
    bins = _histogram(stats.get(column, Measure.HISTOGRAM), start=low)  # type: ignore[arg-type]
    values["histogram"] = [b | {"count": b["count"] if b["count"] >= k else 0} for b in bins]
    return values, int(sum(b["count"] for b in bins if 0 < b["count"] < k))


def _histogram(raw: list[dict[str, object]] | None, *, start: float) -> list[dict[str, float]]:
    """Bins `{start, end, count}` from polars' `{breakpoint, count}`, starting at `start`."""
    bins = []
    for b in raw or []:
        end = rounded(b["breakpoint"])
        bins.append({"start": start, "end": end, "count": int(b["count"])})  # type: ignore[call-overload]
        start = end  # type: ignore[assignment]
    return bins
