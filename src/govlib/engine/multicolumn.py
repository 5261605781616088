"""Column-pair and multi-column map expectations compiled to Ibis.

GX drops the rows its `ignore_row_if` names before judging the rest: the dropped rows count
as missing (`element_count - missing_count` rows are judged), and a missing value among the
kept rows compares false, as it does in pandas.
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from govlib.engine.compiler import (
    Context,
    all_of,
    count,
    domain,
    false_if_null,
    is_number,
    missing,
    mostly,
)
from govlib.engine.params import CannotRun, Unsupported, flag
from govlib.engine.plan import Compiled, map_result

PAIR_IGNORE = {
    "both_values_are_missing": "all",
    "either_value_is_missing": "any",
    "neither": "never",
}
MULTI_IGNORE = {"all_values_are_missing": "all", "any_value_is_missing": "any", "never": "never"}


def _family(dtype: dt.DataType) -> str:
    if is_number(dtype):
        return "number"
    if dtype.is_string():
        return "text"
    if dtype.is_date() or (dtype.is_timestamp() and dtype.timezone is None):
        return "naive time"
    raise Unsupported("a column type the compiler leaves to GX here")


def _comparable(col: Any, dtype: dt.DataType) -> Any:
    return col.cast(dt.Timestamp(scale=6)) if dtype.is_date() else col


def _kept(absent: list[Any], how: str) -> Any:
    if how == "never":
        return None
    if how == "all":
        drop = absent[0]
        for a in absent[1:]:
            drop = drop & a
    else:
        drop = absent[0]
        for a in absent[1:]:
            drop = drop | a
    return ~drop


def _columns(ctx: Context, names: Any) -> list[tuple[Any, dt.DataType]]:
    if not isinstance(names, list) or not names:
        raise CannotRun("no columns are given")
    return [ctx.column(n) for n in names]


def compile_multicolumn(ctx: Context, c: Compiled) -> None:
    """A pair or multi-column map expectation: rows dropped, judged, counted in the one pass."""
    kw, i = c.kwargs, c.index
    pair = "column_A" in kw
    names = [kw.get("column_A"), kw.get("column_B")] if pair else kw.get("column_list")
    cols = _columns(ctx, names)
    families = {_family(t) for _, t in cols}
    absent = [missing(col, t, ctx.backend) for col, t in cols]
    table = PAIR_IGNORE if pair else MULTI_IGNORE
    default = "both_values_are_missing" if pair else "all_values_are_missing"
    how = table.get(kw.get("ignore_row_if") or default)
    if how is None:
        raise CannotRun("ignore_row_if is not one GX knows")
    dom = domain(ctx, kw)
    keep = all_of(dom, _kept(absent, how))
    threshold = mostly(kw)
    c.aggregates[f"e{i}"] = count(ctx, all_of(dom))
    c.aggregates[f"n{i}"] = count(ctx, keep)
    if c.type == "expect_compound_columns_to_be_unique":
        if any(t.is_floating() for _, t in cols):
            raise Unsupported("uniqueness of float values (NaN and -0.0)")
        kept = ctx.table if keep is None else ctx.table.filter(keep)
        groups = kept.group_by([col.get_name() for col, _ in cols]).aggregate(
            rows=lambda t: t.count()
        )
        c.passes[f"p{i}"] = groups.filter(groups.rows > 1).aggregate(dup=lambda t: t.rows.sum())
        c.finish = lambda v: map_result(
            v[f"e{i}"], v[f"n{i}"], int(v[f"p{i}"][0].get("dup") or 0), threshold
        )
        return
    if len(families) != 1:
        raise Unsupported("columns of different kinds")
    bad = _rule(c.type, cols, absent, kw)
    c.aggregates[f"u{i}"] = count(ctx, all_of(keep, bad))
    c.finish = lambda v: map_result(v[f"e{i}"], v[f"n{i}"], v[f"u{i}"], threshold)


def _rule(kind: str, cols: list[tuple[Any, dt.DataType]], absent: list[Any], kw: dict) -> Any:
    values = [_comparable(col, t) for col, t in cols]
    any_absent = absent[0]
    for a in absent[1:]:
        any_absent = any_absent | a
    if kind == "expect_column_pair_values_a_to_be_greater_than_b":
        a, b = values
        holds = a >= b if flag(kw, "or_equal") else a > b
        return any_absent | ~false_if_null(holds)
    if kind == "expect_column_pair_values_to_be_equal":
        a, b = values
        return any_absent | ~false_if_null(a == b)
    if kind == "expect_select_column_values_to_be_unique_within_record":
        clash = None
        for (x, ax), (y, ay) in itertools.combinations(zip(values, absent, strict=True), 2):
            same = false_if_null(x == y) | (ax & ay)
            clash = same if clash is None else clash | same
        return clash if clash is not None else ibis.literal(False)
    if kind == "expect_multicolumn_sum_to_equal":
        if not all(is_number(t) for _, t in cols):
            raise Unsupported("a sum of columns that are not numeric")
        total = values[0].cast(dt.float64)
        for v in values[1:]:
            total = total + v.cast(dt.float64)
        return any_absent | ~false_if_null(total == float(kw["sum_total"]))
    raise Unsupported("not compiled")
