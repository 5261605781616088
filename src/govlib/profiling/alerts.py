"""Alerts: what in a profile deserves a look (all null, constant, skewed, mixed types, ...)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from govlib.profiling.results import ColumnProfile
from govlib.profiling.sampling import SHAPE_MAX_LENGTH, Texts

HIGH_NULL_RATE = 0.3
SKEW_LIMIT = 2.0
HIGH_CARDINALITY_FROM = 50  # present values before a string column can be high-cardinality


def column_alerts(
    p: ColumnProfile, dtype: pl.DataType, texts: Texts, *, skew: float | None
) -> list[str]:
    """The alerts of column profile `p`; `skew` is the computed skewness, named if `p` has it."""
    alerts = []
    present = p.rows - p.nulls
    if p.rows and p.nulls == p.rows:
        alerts.append("all null")
    elif p.rows and p.distinct == 1:
        alerts.append("constant")
    if p.rows and p.nulls != p.rows and p.null_rate >= HIGH_NULL_RATE:
        alerts.append(f"high null rate ({p.null_rate:.0%})")
    if skew is not None and abs(skew) >= SKEW_LIMIT and not p.personal:
        alerts.append(f"skewed (skewness {p.skew:.1f})" if p.skew is not None else "skewed")
    if dtype.is_integer() and present > 1 and p.distinct == present and not p.personal:
        alerts.append("id-like numeric (every value distinct)")
    if (
        p.kind == "string"
        and not p.personal
        and present > HIGH_CARDINALITY_FROM
        and p.distinct / present > 0.9
        and (p.length_mean or 0) < SHAPE_MAX_LENGTH
    ):
        alerts.append("high-cardinality categorical")
    numeric = texts.numeric
    if p.kind == "string" and numeric is not None and 0.02 <= numeric <= 0.98 and not p.personal:
        alerts.append(f"mixed types ({numeric:.0%} of values are numbers)")
    if p.future:
        alerts.append(f"{p.future} values in the future")
    return alerts


def with_alerts(
    p: ColumnProfile, dtype: pl.DataType, texts: Texts, *, skew: float | None
) -> ColumnProfile:
    """`p` with its alerts."""
    alerts = column_alerts(p, dtype, texts, skew=skew)
    return replace(p, alerts=alerts) if alerts else p


def dataset_alerts(
    profiles: list[ColumnProfile], rows: int, dup_keys: int | None, key: list[str] | None
) -> list[str]:
    """The dataset's alerts: its columns' alerts, no rows, duplicate primary keys."""
    alerts = [f"{p.column}: {a}" for p in profiles for a in p.alerts]
    if rows == 0:
        alerts.insert(0, "dataset has 0 rows")
    if dup_keys:
        alerts.append(f"{dup_keys} duplicate primary keys ({', '.join(key or [])})")
    return alerts
