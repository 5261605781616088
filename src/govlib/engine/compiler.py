"""Expectation configurations compiled to Ibis: map expectations (one row at a time).

A map expectation becomes three row-level conditions on its domain (the rows its
`row_condition` keeps): *missing* (null, or NaN in a float column), and *unexpected* among the
rows that are not missing. Counting them is three conditional sums in the table's one
aggregate query; uniqueness needs a grouped pass of its own. Semantics follow GX's pandas
engine, which `tests/test_engine_vs_gx.py` checks on generated data.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from govlib.engine.params import (
    BadBounds,
    CannotRun,
    Unsupported,
    comparable,
    flag,
    parse_condition,
)
from govlib.engine.plan import Compiled, Finish, map_result
from govlib.engine.regex import translate

INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True, slots=True)
class Context:
    """What compiling needs: the table, its backend's name, and the resolved parameters."""

    table: Any  # ibis Table
    backend: str  # "polars", "duckdb", "postgres" or "sqlite"

    def column(self, name: Any) -> tuple[Any, dt.DataType]:
        """A column and its type, or CannotRun naming the column the suite gave."""
        if not isinstance(name, str) or name not in self.table.columns:
            raise CannotRun(f"column {name!r} is not in the data")
        return self.table[name], self.table.schema()[name]


def is_number(dtype: dt.DataType) -> bool:
    """A numeric column GX's pandas engine compares as numbers (booleans are not)."""
    return dtype.is_numeric() and not dtype.is_boolean() and not dtype.is_decimal()


def missing(col: Any, dtype: dt.DataType, backend: str = "polars") -> Any:
    """What pandas reads as missing: null, and NaN in a float column.

    SQLite stores no NaN (it writes NULL instead) and has no test for it: null is all there is.
    """
    if dtype.is_floating() and backend != "sqlite":
        return col.isnull() | col.isnan()
    return col.isnull()


def false_if_null(expr: Any) -> Any:
    """A condition with null read as false."""
    return expr.fill_null(False)


def domain(ctx: Context, kw: dict[str, Any]) -> Any:
    """The rows a `row_condition` keeps, as a condition (None: every row)."""
    text = kw.get("row_condition")
    if not text:
        return None
    if kw.get("condition_parser") not in (
        "great_expectations",
        "great_expectations__experimental__",
    ):
        raise Unsupported("a row condition for another parser")
    if not isinstance(text, str):
        raise Unsupported("a row condition object")
    try:
        cond = parse_condition(text)
    except ValueError:
        raise CannotRun("its row condition does not parse") from None
    col, dtype = ctx.column(cond.column)
    absent = missing(col, dtype, ctx.backend)
    if cond.op == "notnull":
        return ~absent
    number = isinstance(cond.value, int | float)
    if not ((number and is_number(dtype)) or (not number and dtype.is_string())):
        raise Unsupported("a row condition comparing across types")
    if number and isinstance(cond.value, int) and not INT64[0] <= cond.value <= INT64[1]:
        raise Unsupported("a row condition on a number beyond 64 bits")
    ops: dict[str, Callable[[Any, Any], Any]] = {
        ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    }  # fmt: skip
    compared = false_if_null(ops[cond.op](col, cond.value))
    # pandas: a missing value is unequal to everything and compares false otherwise
    return (compared | absent) if cond.op == "!=" else (compared & ~absent)


def all_of(*conditions: Any) -> Any:
    """Every condition given (None: no condition at all)."""
    kept = [c for c in conditions if c is not None]
    if not kept:
        return None
    out = kept[0]
    for c in kept[1:]:
        out = out & c
    return out


def count(ctx: Context, condition: Any) -> Any:
    """Rows meeting a condition (every row for None), as an aggregate."""
    return ctx.table.count() if condition is None else ctx.table.count(where=condition)


def mostly(kw: dict[str, Any]) -> float:
    """The `mostly` threshold (1.0 by default)."""
    value = kw.get("mostly")
    return 1.0 if value is None else float(value)


# ---------------------------------------------------------------- single-column map rules
Rule = Callable[[Context, Any, dt.DataType, dict[str, Any]], Any]


def _bounds(kw: dict[str, Any], dtype: dt.DataType) -> tuple[Any, Any]:
    """Min and max as the column compares them (CannotRun where pandas raises TypeError)."""
    low, high = comparable(kw.get("min_value")), comparable(kw.get("max_value"))
    bounds = [b for b in (low, high) if b is not None]
    if any(isinstance(b, float) and math.isnan(b) for b in bounds):
        raise Unsupported("a NaN bound")
    if low is not None and high is not None:
        try:
            wrong_way = bool(low > high)  # type: ignore[operator]  # TypeError is the point
        except TypeError:
            raise BadBounds("min_value and max_value are of different kinds") from None
        if wrong_way:
            raise BadBounds("min_value is greater than max_value")
    if is_number(dtype):
        if not all(isinstance(b, float) for b in bounds):
            raise CannotRun("a date bound on a numeric column")
        return low, high
    if dtype.is_timestamp() or dtype.is_date():
        zone = getattr(dtype, "timezone", None)
        # pandas compares a zoned column as a whole (raising even with no row to judge),
        # other date and time columns value by value
        fault = BadBounds if zone is not None else CannotRun
        times = [b for b in bounds if isinstance(b, datetime)]
        if len(times) != len(bounds):
            raise fault("a bound that is not a datetime on a date or time column")
        if any((b.tzinfo is None) != (zone is None) for b in times):
            raise fault("a bound and a column that differ in having a time zone")
        return _instant(low, dtype), _instant(high, dtype)
    if dtype.is_string():
        raise CannotRun("value bounds on a text column")
    raise Unsupported("value bounds on a column of this type")


def _instant(bound: Any, dtype: dt.DataType) -> Any:
    if not isinstance(bound, datetime):
        return None
    zone = getattr(dtype, "timezone", None)
    if zone is None:
        return ibis.literal(bound, type=dt.Timestamp(scale=6))
    utc = bound.astimezone(UTC).replace(tzinfo=None)
    return ibis.literal(utc, type=dt.Timestamp(scale=6)).cast(dt.Timestamp(timezone="UTC", scale=6))


def between_condition(value: Any, kw: dict[str, Any], low: Any, high: Any) -> Any:
    """Value within [min, max], each end strict when `strict_min` / `strict_max` say so."""
    inside = None
    if low is not None:
        inside = value > low if flag(kw, "strict_min") else value >= low
    if high is not None:
        upper = value < high if flag(kw, "strict_max") else value <= high
        inside = upper if inside is None else inside & upper
    if inside is None:
        raise CannotRun("neither min_value nor max_value is given")
    return inside


def _values_between(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    low, high = _bounds(kw, dtype)
    if dtype.is_date():
        col = col.cast(dt.Timestamp(scale=6))
    elif dtype.is_timestamp() and dtype.timezone is not None:
        col = col.cast(dt.Timestamp(timezone="UTC", scale=6))
    return ~between_condition(col, kw, low, high)


def _value_set(kw: dict[str, Any], dtype: dt.DataType) -> list[Any]:
    values = kw.get("value_set")
    if not isinstance(values, list):
        raise Unsupported("a value set that is not a list")
    if is_number(dtype):
        ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ok = ok and all(not (isinstance(v, float) and math.isnan(v)) for v in values)
        ok = ok and all(INT64[0] <= v <= INT64[1] for v in values if isinstance(v, int))
    elif dtype.is_string():
        ok = all(isinstance(v, str) for v in values)
    else:
        ok = False
    if not ok:
        raise Unsupported("a value set of another type than its column")
    return values


def _in_set(col: Any, values: list[Any]) -> Any:
    return col.isin(values) if values else ibis.literal(False)


def _text(dtype: dt.DataType) -> None:
    if not dtype.is_string():
        raise Unsupported("a text rule on a column that is not text")


def _lengths(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    _text(dtype)
    low, high = kw.get("min_value"), kw.get("max_value")
    return ~between_condition(col.length(), kw, low, high)


def _length_equal(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    _text(dtype)
    return col.length() != float(kw["value"])


def _search(ctx: Context, col: Any, pattern: Any) -> Any:
    if not isinstance(pattern, str):
        raise Unsupported("a regex that is not text")
    return col.re_search(translate(pattern, backend=ctx.backend))


def _regex(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    _text(dtype)
    return ~_search(ctx, col, kw["regex"])


def _not_regex(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    _text(dtype)
    return _search(ctx, col, kw["regex"])


def _any_or_all(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    """Whether the value matches any (or, with `match_on: all`, every) pattern of the list."""
    _text(dtype)
    found = [_search(ctx, col, p) for p in kw["regex_list"]]
    if not found:
        raise Unsupported("an empty regex list")
    every = kw.get("match_on", "any") == "all"
    combined = found[0]
    for f in found[1:]:
        combined = (combined & f) if every else (combined | f)
    return combined


def _regex_list(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    return ~_any_or_all(ctx, col, dtype, kw)


def _not_regex_list(ctx: Context, col: Any, dtype: dt.DataType, kw: dict[str, Any]) -> Any:
    return _any_or_all(ctx, col, dtype, kw | {"match_on": "any"})


MAP_RULES: dict[str, Rule] = {
    "expect_column_values_to_be_between": _values_between,
    "expect_column_values_to_be_in_set": (lambda ctx, c, t, kw: ~_in_set(c, _value_set(kw, t))),
    "expect_column_values_to_not_be_in_set": (lambda ctx, c, t, kw: _in_set(c, _value_set(kw, t))),
    "expect_column_value_lengths_to_be_between": _lengths,
    "expect_column_value_lengths_to_equal": _length_equal,
    "expect_column_values_to_match_regex": _regex,
    "expect_column_values_to_not_match_regex": _not_regex,
    "expect_column_values_to_match_regex_list": _regex_list,
    "expect_column_values_to_not_match_regex_list": _not_regex_list,
}


def compile_map(ctx: Context, c: Compiled) -> None:
    """A single-column map expectation: missing and unexpected counts in the one pass."""
    kw, i = c.kwargs, c.index
    col, dtype = ctx.column(kw.get("column"))
    dom = domain(ctx, kw)
    absent = missing(col, dtype, ctx.backend)
    threshold = mostly(kw)
    c.aggregates[f"e{i}"] = count(ctx, all_of(dom))
    if c.type in ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null"):
        bad = absent if c.type.endswith("not_be_null") else ~absent
        c.aggregates[f"u{i}"] = count(ctx, all_of(dom, bad))
        c.finish = lambda v: map_result(v[f"e{i}"], None, v[f"u{i}"], threshold)
        return
    c.aggregates[f"n{i}"] = count(ctx, all_of(dom, ~absent))
    if c.type == "expect_column_values_to_be_unique":
        if dtype.is_floating():
            raise Unsupported("uniqueness of float values (NaN and -0.0)")
        kept = ctx.table.filter(all_of(dom, ~absent))
        groups = kept.group_by(col.get_name()).aggregate(rows=lambda t: t.count())
        c.passes[f"p{i}"] = groups.filter(groups.rows > 1).aggregate(dup=lambda t: t.rows.sum())
        if ctx.backend == "postgres":  # it sorts a column's distinct values faster than it
            # hashes its groups (5M keys: 1.5 s against 5.3 s), and a key column rarely repeats
            name = col.get_name()
            c.probes[f"p{i}"] = kept.aggregate(
                rows=lambda t: t.count(), distinct=lambda t: t[name].nunique()
            )
        c.finish = lambda v: map_result(
            v[f"e{i}"], v[f"n{i}"], int(v[f"p{i}"][0].get("dup") or 0), threshold
        )
        return
    if c.type not in MAP_RULES:
        raise Unsupported("not compiled")
    try:
        bad = false_if_null(MAP_RULES[c.type](ctx, col, dtype, kw))
    except BadBounds:
        raise
    except CannotRun as exc:
        # pandas raises only when a value is compared: with none to judge, GX passes
        c.finish = _raises_if_judged(i, threshold, str(exc))
        return
    c.aggregates[f"u{i}"] = count(ctx, all_of(dom, ~absent, bad))
    c.finish = lambda v: map_result(v[f"e{i}"], v[f"n{i}"], v[f"u{i}"], threshold)


def _raises_if_judged(i: int, threshold: float, reason: str) -> Finish:
    def finish(v: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
        if v[f"n{i}"]:
            raise CannotRun(reason)
        return map_result(v[f"e{i}"], 0, 0, threshold)

    return finish


def literal_date(value: date) -> Any:
    """A date as an Ibis literal."""
    return ibis.literal(value, type=dt.date)


def row_ok(ctx: Context, kind: str, kw: dict[str, Any]) -> Any:
    """The condition a row meets for a single-column map expectation (never null).

    Rows outside the `row_condition`, and missing values, meet it, as GX leaves them out; for
    the two expectations about nulls, only a present (absent) value meets it. Uniqueness is not
    a row condition: it needs the other rows (a grouped pass).
    """
    col, dtype = ctx.column(kw.get("column"))
    dom = domain(ctx, kw)
    absent = missing(col, dtype, ctx.backend)
    if kind == "expect_column_values_to_not_be_null":
        ok = ~absent
    elif kind == "expect_column_values_to_be_null":
        ok = absent
    elif kind in MAP_RULES:
        ok = absent | ~false_if_null(MAP_RULES[kind](ctx, col, dtype, kw))
    else:
        raise Unsupported("not a row condition")
    return ok if dom is None else ~dom | ok
