"""Running a compiled suite: one aggregate query per table, plus the grouped passes.

`run_suite` compiles every entry it can and executes them together; an entry the compiler does
not cover comes back as `None` in `fallback` positions, for GX to run. Results are plain dicts
in GX's shape (`success`, `result`, and `reason` for a check that could not run), tagged
`engine: "ibis"`, never holding a value of the data beyond what GX's own result holds.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from govlib.engine.aggregates import STATS, compile_stat, compile_table
from govlib.engine.backends import Data, side_by_side
from govlib.engine.compiler import MAP_RULES, Context, compile_map
from govlib.engine.multicolumn import compile_multicolumn
from govlib.engine.params import CannotRun, Unsupported, resolve
from govlib.engine.plan import Compiled
from govlib.engine.schemas import coerce

log = logging.getLogger("govlib")

NULL_TYPES = ("expect_column_values_to_not_be_null", "expect_column_values_to_be_null")
MAP_TYPES = (*NULL_TYPES, "expect_column_values_to_be_unique", *MAP_RULES)
STAT_TYPES = (
    *STATS,
    "expect_column_proportion_of_unique_values_to_be_between",
    "expect_column_proportion_of_non_null_values_to_be_between",
)
TABLE_TYPES = (
    "expect_table_row_count_to_be_between",
    "expect_table_row_count_to_equal",
    "expect_table_column_count_to_be_between",
    "expect_table_column_count_to_equal",
    "expect_column_to_exist",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_columns_to_match_set",
)
MULTI_TYPES = (
    "expect_column_pair_values_a_to_be_greater_than_b",
    "expect_column_pair_values_to_be_equal",
    "expect_compound_columns_to_be_unique",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_multicolumn_sum_to_equal",
)
SUPPORTED = tuple(sorted({*MAP_TYPES, *STAT_TYPES, *TABLE_TYPES, *MULTI_TYPES}))
COUNT_KEYS = ("e", "n", "u", "d")


@dataclass(slots=True)
class SuiteRun:
    """What the compiled engine computed, and which entries it left to GX."""

    results: list[dict[str, Any]] = field(default_factory=list)  # engine "ibis"
    fallback: list[int] = field(default_factory=list)  # entry positions for GX


def compile_entry(ctx: Context, index: int, entry: dict[str, Any], params: dict) -> Compiled:
    """One suite entry compiled for `ctx`'s table; Unsupported when GX must run it."""
    kind = entry["type"]
    meta = dict(entry.get("meta") or {})
    kwargs = resolve(coerce(kind, dict(entry.get("kwargs") or {})), params)
    given = resolve(dict(entry.get("kwargs") or {}), params)  # as GX's result states them
    c = Compiled(index=index, type=kind, kwargs=kwargs, meta=meta, given=given)
    compilers = (
        (MAP_TYPES, compile_map),
        (STAT_TYPES, compile_stat),
        (TABLE_TYPES, compile_table),
        (MULTI_TYPES, compile_multicolumn),
    )
    for types, compile_one in compilers:
        if kind in types:
            try:
                compile_one(ctx, c)
            except CannotRun as exc:
                c.aggregates, c.passes, c.probes, c.finish = {}, {}, {}, None
                c.error = str(exc)
            return c
    raise Unsupported("not compiled")


def run_suite(data: Data, entries: list[dict[str, Any]], *, params: dict[str, Any]) -> SuiteRun:
    """Compile and run a suite's entries on a table opened by `govlib.engine.backends`."""
    ctx = Context(table=data.table, backend=data.backend)
    out = SuiteRun()
    compiled: list[Compiled] = []
    for index, entry in enumerate(entries):
        try:
            compiled.append(compile_entry(ctx, index, entry, params))
        except Unsupported as exc:
            log.debug("expectations[%d] runs on GX: %s", index, exc)
            out.fallback.append(index)
    values = _execute(data, [c for c in compiled if c.error is None])
    for c in compiled:
        out.results.append(_result(c, values))
    return out


def _execute(data: Data, compiled: list[Compiled]) -> dict[int, dict[str, Any] | str]:
    """Every check's values by index, from one query (or, on failure, one query per check).

    The grouped passes run beside the aggregate where the database allows (`side_by_side`).
    """
    merged = {k: v for c in compiled for k, v in c.aggregates.items()}
    passes = [(c, name, expr) for c in compiled for name, expr in c.passes.items()]
    jobs: list[Callable[[Data], Any]] = [functools.partial(_aggregate, aggregates=merged)]
    jobs += [
        functools.partial(_grouped, expr=expr, probe=c.probes.get(name)) for c, name, expr in passes
    ]
    try:
        row, *grouped = side_by_side(data, jobs)
    except Exception:
        log.debug("the combined query failed; running checks one by one", exc_info=True)
    else:
        found: dict[int, dict[str, Any]] = {
            c.index: {k: row[k] for k in c.aggregates} for c in compiled
        }
        for (c, name, _), rows in zip(passes, grouped, strict=True):
            found[c.index][name] = rows
        return dict(found)
    out: dict[int, dict[str, Any] | str] = {}
    for c in compiled:
        try:
            out[c.index] = _with_passes(data, c, _aggregate(data, c.aggregates))
        except Exception as exc:
            out[c.index] = f"the check raised {type(exc).__name__} on this data"
    return out


def _aggregate(data: Data, aggregates: dict[str, Any]) -> dict[str, Any]:
    if not aggregates:
        return {}
    row = data.rows(data.table.aggregate(**aggregates))[0]
    return {k: (v or 0) if k[0] in COUNT_KEYS else v for k, v in row.items()}


def _grouped(data: Data, expr: Any, probe: Any = None) -> list[dict[str, Any]]:
    if probe is not None:
        [counts] = data.rows(probe)
        if counts["rows"] == counts["distinct"]:
            return [{"dup": 0}]  # every present value is distinct: nothing to group
    return data.rows(expr) or [{}]


def _with_passes(data: Data, c: Compiled, row: dict[str, Any]) -> dict[str, Any]:
    values = {k: row[k] for k in c.aggregates}
    for name, expr in c.passes.items():
        values[name] = _grouped(data, expr, c.probes.get(name))
    return values


def _result(c: Compiled, values: dict[int, dict[str, Any] | str]) -> dict[str, Any]:
    out = {"index": c.index, "type": c.type, "kwargs": c.given, "meta": c.meta}
    reason = c.error
    got = values.get(c.index)
    if reason is None and isinstance(got, str):
        reason = got
    if reason is None and c.finish is not None and isinstance(got, dict):
        try:
            success, result = c.finish(got)
            return {**out, "success": bool(success), "result": result, "engine": "ibis"}
        except CannotRun as exc:
            reason = str(exc)
        except TypeError:
            reason = "a bound of another type than the values"
    return {**out, "success": False, "result": {}, "reason": reason, "engine": "ibis"}
