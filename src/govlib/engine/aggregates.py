"""Column-aggregate and table expectations compiled to Ibis, and schema checks read directly.

An aggregate expectation observes one statistic (min, mean, distinct count, ...) and checks it
against `min_value` / `max_value` as GX's `_validate_metric_value_between` does: a statistic
that is null (an empty column) fails with `observed_value: None`. Table expectations about
columns need no query: the table's schema answers them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import ibis.expr.datatypes as dt

from govlib.engine.compiler import (
    Context,
    all_of,
    between_condition,
    count,
    domain,
    is_number,
    missing,
)
from govlib.engine.params import CannotRun, Unsupported, comparable, flag
from govlib.engine.plan import Compiled

Stat = Callable[[Any, dt.DataType, Any], Any]  # column, type, keep-condition -> aggregate


def _numeric(dtype: dt.DataType) -> None:
    if not is_number(dtype):
        raise Unsupported("a numeric statistic of a column that is not numeric")


def _ordered(dtype: dt.DataType) -> None:
    if not (is_number(dtype) or dtype.is_timestamp() or dtype.is_date()):
        raise Unsupported("an extreme of a column that is neither numeric nor temporal")


def _distinct(dtype: dt.DataType) -> None:
    if dtype.is_floating() or not (is_number(dtype) or dtype.is_string() or dtype.is_date()):
        raise Unsupported("a distinct count of a column of this type")


STATS: dict[str, tuple[Callable[[dt.DataType], None], Stat]] = {
    "expect_column_min_to_be_between": (_ordered, lambda c, t, k: c.min(where=k)),
    "expect_column_max_to_be_between": (_ordered, lambda c, t, k: c.max(where=k)),
    "expect_column_mean_to_be_between": (_numeric, lambda c, t, k: c.mean(where=k)),
    "expect_column_median_to_be_between": (_numeric, lambda c, t, k: c.median(where=k)),
    "expect_column_sum_to_be_between": (_numeric, lambda c, t, k: c.sum(where=k)),
    "expect_column_stdev_to_be_between": (
        _numeric, lambda c, t, k: c.cast(dt.float64).std(how="sample", where=k)
    ),
    "expect_column_unique_value_count_to_be_between": (
        _distinct, lambda c, t, k: c.nunique(where=k)
    ),
}  # fmt: skip


INTEGRAL = (
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_sum_to_be_between",
    "expect_column_unique_value_count_to_be_between",
)


def observed(value: Any, dtype: dt.DataType, kind: str) -> Any:
    """A statistic as GX computes it: dates as midnight datetimes (pandas holds them so)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time())
    if value is not None and dtype.is_integer() and kind in INTEGRAL:
        return int(value)
    return value


def as_json(value: Any) -> Any:
    """An observed value as GX's result JSON holds it (datetimes in ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime) else value


def metric_between(value: Any, kw: dict[str, Any]) -> bool:
    """GX's check of an observed statistic against min/max (pydantic-coerced bounds)."""
    low, high = comparable(kw.get("min_value")), comparable(kw.get("max_value"))
    for bound in (low, high):
        if bound is None:
            continue
        if isinstance(value, datetime) != isinstance(bound, datetime):
            raise CannotRun("a bound of another kind than the statistic")
        aware = isinstance(bound, datetime) and bound.tzinfo is not None
        if isinstance(value, datetime) and (value.tzinfo is None) == aware:
            raise CannotRun("a bound and a statistic that differ in having a time zone")
    if low is None and high is None:
        return True
    return bool(between_condition(value, kw, low, high))


def compile_stat(ctx: Context, c: Compiled) -> None:
    """A column statistic checked against bounds, or a share of rows (non-null, unique)."""
    kw, i = c.kwargs, c.index
    col, dtype = ctx.column(kw.get("column"))
    keep = all_of(domain(ctx, kw), ~missing(col, dtype, ctx.backend))
    if c.type in STATS:
        check_type, stat = STATS[c.type]
        check_type(dtype)
        c.aggregates[f"s{i}"] = stat(col, dtype, keep)
        empty_zero = c.type == "expect_column_sum_to_be_between"

        def finish(v: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
            value = observed(v[f"s{i}"], dtype, c.type)
            if value is None and empty_zero:
                value = 0 if dtype.is_integer() else 0.0
            if value is None and (dtype.is_timestamp() or dtype.is_date()):
                # pandas' NaT compares false with any datetime and raises with anything else
                bounds = (comparable(kw.get("min_value")), comparable(kw.get("max_value")))
                if any(b is not None and type(b) is not datetime for b in bounds):
                    raise CannotRun("a bound that is not a datetime on a date or time column")
                return bounds == (None, None), {"observed_value": None}
            if value is None or (isinstance(value, float) and value != value):
                return False, {"observed_value": None}
            return metric_between(value, kw), {"observed_value": as_json(value)}

        c.finish = finish
        return
    dom = domain(ctx, kw)
    c.aggregates[f"e{i}"] = count(ctx, all_of(dom))
    c.aggregates[f"n{i}"] = count(ctx, keep)
    if c.type == "expect_column_proportion_of_unique_values_to_be_between":
        _distinct(dtype)
        c.aggregates[f"d{i}"] = col.nunique(where=keep)
        share: Callable[[dict[str, Any]], float] = lambda v: (  # noqa: E731
            v[f"d{i}"] / v[f"n{i}"] if v[f"n{i}"] else 0
        )
    elif c.type == "expect_column_proportion_of_non_null_values_to_be_between":
        share = lambda v: v[f"n{i}"] / v[f"e{i}"] if v[f"e{i}"] else 0  # noqa: E731
    else:
        raise Unsupported("not compiled")
    c.finish = lambda v: (metric_between(share(v), kw), {"observed_value": share(v)})


def compile_table(ctx: Context, c: Compiled) -> None:
    """Row and column counts, and the column set: what GX's table expectations observe."""
    kw, i = c.kwargs, c.index
    columns = list(ctx.table.columns)
    if c.type in ("expect_table_row_count_to_be_between", "expect_table_row_count_to_equal"):
        c.aggregates[f"e{i}"] = count(ctx, all_of(domain(ctx, kw)))
        if c.type.endswith("equal"):
            c.finish = lambda v: (v[f"e{i}"] == kw["value"], {"observed_value": v[f"e{i}"]})
        else:
            c.finish = lambda v: (metric_between(v[f"e{i}"], kw), {"observed_value": v[f"e{i}"]})
        return
    n = len(columns)
    if c.type == "expect_table_column_count_to_equal":
        c.finish = lambda v: (n == kw["value"], {"observed_value": n})
    elif c.type == "expect_table_column_count_to_be_between":
        c.finish = lambda v: (metric_between(n, kw), {"observed_value": n})
    elif c.type == "expect_column_to_exist":
        c.finish = lambda v: (_exists(columns, kw), {})
    elif c.type == "expect_table_columns_to_match_ordered_list":
        c.finish = lambda v: (columns == list(kw["column_list"]), {"observed_value": columns})
    elif c.type == "expect_table_columns_to_match_set":
        c.finish = lambda v: _match_set(columns, kw)
    else:
        raise Unsupported("not compiled")


def _exists(columns: list[str], kw: dict[str, Any]) -> bool:
    at = kw.get("column_index")
    if at:
        try:
            return bool(columns[at] == kw["column"])
        except IndexError:
            return False
    return kw["column"] in columns


def _match_set(columns: list[str], kw: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    expected = kw.get("column_set")
    exact = True if kw.get("exact_match") is None else flag(kw, "exact_match")
    result: dict[str, Any] = {"observed_value": sorted(columns)}
    if expected is None:
        return not exact or not columns, result
    extra, absent = set(columns) - set(expected), set(expected) - set(columns)
    if extra or absent:
        result["details"] = {
            "mismatched": {
                k: sorted(v) for k, v in (("unexpected", extra), ("missing", absent)) if v
            }
        }
    return (not absent and not (exact and extra)), result
