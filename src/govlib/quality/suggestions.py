"""Starter suites: expectations suggested from a profile, that pass on the data they came from.

Values (value sets, ranges) are suggested only for columns the catalog allows to publish them;
every other bound quotes no value of the data.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import polars as pl
import polars.selectors as cs

from govlib import identity

EMAIL_REGEX = identity.EMAIL_REGEX
PHONE_REGEX = r"^\+?[\d\s().-]{7,20}$"


def suggest(profile, *, name: str, frame: pl.LazyFrame | None = None) -> dict[str, Any]:
    """A starter suite from a profile; it passes on the data it came from.

    Not null for complete columns, unique for key candidates, regexes for detected emails and
    phones, bounds on the row count, and bounds that quote no value: no negatives, no dates
    after `as_of`. Values (value sets, min and max) only for columns the catalog allows to
    publish them: complete when `frame` (the profiled data) is given, else what the profile
    kept (values held by at least k rows, with `mostly` set to match). Thresholds (`mostly`)
    are set just under what the data shows.
    """
    rows = profile.rows
    out: list[dict[str, Any]] = []

    def add(kind: str, meta: str, **kwargs: Any) -> None:
        out.append({"type": kind, "kwargs": kwargs, "meta": {"suggested": meta}})

    add(
        "expect_table_row_count_to_be_between", f"{rows} rows seen",
        min_value=rows // 2, max_value=rows * 2,
    )  # fmt: skip
    for c in profile.column_profiles:
        present = c.rows - c.nulls
        if c.rows and c.nulls == 0:
            add("expect_column_values_to_not_be_null", "no nulls seen", column=c.column)
        if c.rows and c.nulls == 0 and c.distinct == c.rows and c.kind in ("numeric", "string"):
            add("expect_column_values_to_be_unique", "every value distinct", column=c.column)
        if c.pii_kind in ("email", "phone") and present:
            finding = next(f for f in profile.pii if f.column == c.column)
            regex = EMAIL_REGEX if c.pii_kind == "email" else PHONE_REGEX
            kwargs: dict[str, Any] = {"column": c.column, "regex": regex}
            share = _mostly(finding.share)
            if share is not None:
                kwargs["mostly"] = share
            add("expect_column_values_to_match_regex", f"detected {c.pii_kind}", **kwargs)
        if c.personal or not present:
            continue
        for kind, meta, kwargs in _value_expectations(c, frame) or _value_free_bounds(c):
            add(kind, meta, **kwargs)
    return {"name": name, "meta": {"suggested_from": profile.dataset}, "expectations": out}


def _mostly(share: float) -> float | None:
    return None if share >= 1.0 else max(0.0, math.floor(share * 100) / 100 - 0.01)


Suggestion = tuple[str, str, dict[str, Any]]


def _value_free_bounds(c) -> list[Suggestion]:
    """Bounds that quote no value of the data: no negatives seen, no dates after `as_of`."""
    between = "expect_column_values_to_be_between"
    if c.kind == "numeric" and c.negatives == 0:
        return [(between, "no negative values seen", {"column": c.column, "min_value": 0})]
    naive_date = c.dtype == "date" or (c.dtype.startswith("datetime") and "," not in c.dtype)
    if c.kind == "temporal" and c.future == 0 and naive_date:
        bound = {"$PARAMETER": "as_of"}
        return [(between, "no dates after as_of seen", {"column": c.column, "max_value": bound})]
    return []


def _value_expectations(c, frame: pl.LazyFrame | None) -> list[Suggestion]:
    """A value set or a range for a column allowed to publish its values.

    From `frame` when given (complete: the steward allowed these values), else from the
    profile: its top values, and a range only where the histogram shows the extremes are the
    lowest and highest values held by k rows.
    """
    if not c.publishable:
        return []
    present = c.rows - c.nulls
    if c.kind == "string" and c.distinct <= 20 and (c.top_values or frame is not None):
        if frame is not None:
            values = frame.select(cs.by_name(c.column).drop_nulls().unique()).collect()
            kwargs: dict[str, Any] = {"value_set": sorted(str(v) for v in values.to_series())}
        else:
            kept = sum(int(t["count"]) for t in c.top_values)
            kwargs = {"value_set": sorted(str(t["value"]) for t in c.top_values)}
            if (share := _mostly(kept / present)) is not None:
                kwargs["mostly"] = share
        set_type = "expect_column_values_to_be_in_set"
        return [(set_type, "low-cardinality categorical", {"column": c.column, **kwargs})]
    if c.kind not in ("numeric", "temporal"):
        return []
    if frame is not None:
        col = cs.by_name(c.column).as_expr()
        lo, hi = frame.select(col.min().alias("lo"), col.max().alias("hi")).collect().row(0)
        lo, hi = (_bound(lo), _bound(hi))
    elif c.histogram:
        lo, hi = c.min, c.max
    else:
        return []
    if lo is None or hi is None:
        return []
    between = "expect_column_values_to_be_between"
    return [(between, "range seen", {"column": c.column, "min_value": lo, "max_value": hi})]


def _bound(value: object) -> object:
    """A min or max as a suite states it: numbers as they are, dates as ISO datetimes."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return value
