"""Row predicates: a suite's row-level expectations as polars conditions a valid row meets.

Cleansing's quarantine judges rows with the very conditions validation counts: a row-level
entry is compiled by the check engine (`govlib.engine.compiler.row_ok`, GX's semantics:
missing values left out, `row_condition` honoured, `$PARAMETER` bounds, dates compared as
datetimes) and translated to a polars expression by Ibis's polars compiler. Uniqueness, which
needs the other rows, and an entry the engine leaves to GX keep a polars rule of their own.
Table-level expectations (row counts, column sets) have no row predicate.

Examples
--------
>>> from datetime import date
>>> entry = {"type": "expect_column_values_to_be_between",
...          "kwargs": {"column": "n", "min_value": 0, "strict_min": True}}
>>> frame = pl.DataFrame({"n": [0, 1, None]})
>>> [check] = row_checks([entry], as_of=date(2025, 1, 31), schema=frame.schema)
>>> frame.select(check.ok).to_series().to_list()
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from typing import Any

import polars as pl

Schema = dict[str, pl.DataType] | pl.Schema


@dataclass(frozen=True, slots=True)
class RowCheck:
    """One row-level expectation: its type, column, position in the suite, and condition."""

    check: str  # the GX type, e.g. "expect_column_values_to_be_in_set"
    column: str | None
    index: int
    ok: pl.Expr  # true for rows that meet the expectation (never null)


def _missing(col: pl.Expr, dtype: pl.DataType | None) -> pl.Expr:
    return col.is_null() | col.is_nan() if dtype is not None and dtype.is_float() else col.is_null()


def _as_of(as_of: date) -> dict[str, object]:
    return {"as_of": datetime.combine(as_of, dtime(23, 59, 59)), "as_of_date": as_of}


def _bound(value: Any, dtype: pl.DataType | None, params: dict[str, object]) -> Any:
    """A bound as polars compares it: a parameter resolved, ISO text as a datetime."""
    if isinstance(value, dict) and "$PARAMETER" in value:
        value = params[value["$PARAMETER"]]
    if isinstance(value, str) and dtype is not None and dtype.is_temporal():
        value = datetime.fromisoformat(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, dtime())
    return value


def _between(value: pl.Expr, kw: dict[str, Any], dtype: Any, params: Any) -> pl.Expr:
    inside = pl.lit(True)
    low, high = kw.get("min_value"), kw.get("max_value")
    if low is not None:
        low = pl.lit(_bound(low, dtype, params))
        inside = inside & (value > low if kw.get("strict_min") else value >= low)
    if high is not None:
        high = pl.lit(_bound(high, dtype, params))
        inside = inside & (value < high if kw.get("strict_max") else value <= high)
    return inside


def _values(col: pl.Expr, dtype: pl.DataType | None) -> pl.Expr:
    """The column as GX's pandas frame holds it: dates become datetimes."""
    return col.cast(pl.Datetime("us")) if dtype == pl.Date else col


Rule = Callable[[pl.Expr, dict[str, Any], Any, dict[str, object]], pl.Expr]
RULES: dict[str, Rule] = {
    "expect_column_values_to_be_unique": lambda c, kw, t, p: ~c.is_duplicated(),
    "expect_column_values_to_be_in_set": lambda c, kw, t, p: c.is_in(kw["value_set"]),
    "expect_column_values_to_not_be_in_set": lambda c, kw, t, p: ~c.is_in(kw["value_set"]),
    "expect_column_values_to_be_between": lambda c, kw, t, p: _between(_values(c, t), kw, t, p),
    "expect_column_value_lengths_to_be_between": (
        lambda c, kw, t, p: _between(c.cast(pl.String).str.len_chars(), kw, None, p)
    ),
    "expect_column_value_lengths_to_equal": (
        lambda c, kw, t, p: c.cast(pl.String).str.len_chars() == kw["value"]
    ),
    "expect_column_values_to_match_regex": lambda c, kw, t, p: _python_search(c, kw["regex"]),
    "expect_column_values_to_not_match_regex": (
        lambda c, kw, t, p: ~_python_search(c, kw["regex"])
    ),
}


def _python_search(column: pl.Expr, regex: str) -> pl.Expr:
    """Python's `re.search` per value, as GX runs it: for a pattern the engine cannot translate.

    Rust's regex reads nested sets and set operations in a class otherwise than Python.
    """
    import re
    import warnings

    with warnings.catch_warnings():  # "possible nested set": Python's reading is the one meant
        warnings.simplefilter("ignore", FutureWarning)
        pattern = re.compile(regex)
    return column.cast(pl.String).map_elements(
        lambda v: pattern.search(v) is not None, return_dtype=pl.Boolean
    )


ROW_LEVEL = (
    "expect_column_values_to_not_be_null",
    *RULES,
    "expect_compound_columns_to_be_unique",
)


def compiled(entry: dict[str, Any], *, as_of: date, schema: Schema) -> pl.Expr | None:
    """The engine's row condition for `entry` as a polars expression, or None if it has none."""
    import ibis
    from ibis.backends.polars.compiler import translate
    from ibis.formats.polars import PolarsSchema

    from govlib.engine.backends import count_characters
    from govlib.engine.compiler import Context, row_ok
    from govlib.engine.params import CannotRun, Unsupported, parameters, resolve
    from govlib.engine.schemas import coerce

    count_characters()
    table = ibis.table(PolarsSchema.to_ibis(pl.Schema(schema)), name="rows")
    try:
        kw = resolve(coerce(entry["type"], dict(entry.get("kwargs") or {})), parameters(as_of))
        ok = row_ok(Context(table=table, backend="polars"), entry["type"], kw)
    except (Unsupported, CannotRun):
        return None
    return translate(ok.op()).fill_null(False)


def row_predicate(entry: dict[str, Any], *, as_of: date, schema: Schema) -> pl.Expr | None:
    """The condition a valid row meets for one suite entry; None when it is not row-level."""
    kind, kw = entry["type"], entry.get("kwargs") or {}
    if kind in ROW_LEVEL and kind != "expect_compound_columns_to_be_unique":
        ok = compiled(entry, as_of=as_of, schema=schema)
        if ok is not None:
            return ok
    if kind == "expect_compound_columns_to_be_unique":
        cols = [pl.col(c) for c in kw["column_list"]]
        all_missing = pl.all_horizontal(_missing(c, schema.get(n)) for c, n in
                                        zip(cols, kw["column_list"], strict=True))  # fmt: skip
        return (all_missing | ~pl.struct(cols).is_duplicated()).fill_null(False)
    if kind not in ROW_LEVEL or "column" not in kw:
        return None
    col, dtype = pl.col(kw["column"]), schema.get(kw["column"])
    if kind == "expect_column_values_to_not_be_null":
        return ~_missing(col, dtype)
    rule = RULES[kind](col, kw, dtype, _as_of(as_of))
    return (_missing(col, dtype) | rule).fill_null(False)


def row_checks(entries: list[dict[str, Any]], *, as_of: date, schema: Schema) -> list[RowCheck]:
    """Every row-level entry of a suite with its condition (table-level entries are left out)."""
    checks = []
    for index, entry in enumerate(entries):
        ok = row_predicate(entry, as_of=as_of, schema=schema)
        if ok is not None:
            column = (entry.get("kwargs") or {}).get("column")
            checks.append(RowCheck(entry["type"], column, index, ok))
    return checks


def unexpected_counts(frame: pl.LazyFrame | pl.DataFrame, checks: list[RowCheck]) -> list[int]:
    """Rows failing each check, in one query (what GX reports as `unexpected_count`)."""
    if not checks:
        return []
    row = frame.lazy().select(
        (~c.ok).sum().alias(f"c{i}") for i, c in enumerate(checks)
    ).collect().row(0)  # fmt: skip
    return [int(n) for n in row]
