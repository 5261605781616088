"""Column kinds, dtype names and literal column selection shared by the profiling steps."""

from __future__ import annotations

from typing import Literal

import polars as pl
import polars.selectors as cs

EngineType = Literal["in-memory", "streaming"]
Kind = Literal["numeric", "temporal", "string", "boolean", "other"]


def kind(dtype: pl.DataType) -> Kind:
    """The profile kind of a polars dtype."""
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "temporal"
    if dtype == pl.String:
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    return "other"


def dtype_name(dtype: pl.DataType) -> str:
    """The dtype as the profile names it (`datetime[us]`, `string`, ...)."""
    if isinstance(dtype, pl.Datetime):
        return f"datetime[{dtype.time_unit}]" + (f", {dtype.time_zone}" if dtype.time_zone else "")
    return str(dtype).lower()


def col(name: str) -> pl.Expr:
    """Column `name` taken literally: a name such as `^a.*$` or `*` is not a pattern."""
    return cs.by_name(name).as_expr()


def cols(names: list[str] | tuple[str, ...]) -> pl.Expr:
    """Columns `names` taken literally, as one multi-column expression."""
    return cs.by_name(*names).as_expr()
