"""A systematic sample of the string columns, and what it shows: masked shapes, numeric shares.

The sample feeds PII detection and value shapes; it never leaves the profile as values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

from govlib import pii
from govlib.profiling.kinds import EngineType, cols

TOP_VALUES = 10
SHAPE_MAX_LENGTH = 40


@dataclass(frozen=True, slots=True)
class Sample:
    """Every `step`-th row of the string columns (all rows when `step` is 1)."""

    frame: pl.DataFrame
    step: int
    strings: list[str]  # the string columns of the data, in schema order


def draw(
    lf: pl.LazyFrame, schema: pl.Schema, rows: int, *, sample_rows: int, engine: EngineType
) -> Sample:
    """Every n-th row of the string columns of `lf`, about `sample_rows` rows (one collect)."""
    strings = [c for c, t in schema.items() if t == pl.String]
    step = max(1, math.ceil(rows / sample_rows)) if rows else 1
    frame = (
        lf.select(cols(strings)).gather_every(step).collect(engine=engine)
        if strings
        else pl.DataFrame()
    )
    return Sample(frame, step, strings)


@dataclass(frozen=True, slots=True)
class Texts:
    """What the sample shows about one string column: masked shapes and a numeric share."""

    shapes: list[dict[str, object]] = field(default_factory=list)
    suppressed: int = 0
    numeric: float | None = None  # share of stripped non-null values that are numbers


def shape_expr(column: str) -> pl.Expr:
    """The masked shape of a string: runs of digits, upper and lower letters, spaces."""
    return (
        pl.col(column)
        .str.replace_all(r"\d+", "9")
        .str.replace_all(r"\p{Lu}+", "A")
        .str.replace_all(r"[\p{Ll}\p{Lo}\p{Lm}]+", "a")
        .str.replace_all(r"\s+", " ")
    )


def texts(sample: pl.DataFrame, short: set[str], k: int) -> dict[str, Texts]:
    """Shapes (groups of at least `k`) and numeric shares of every sampled string column.

    Only `short` columns (mean length up to `SHAPE_MAX_LENGTH`) get shapes. One long frame
    and a few group-bys for all columns, whatever the width.
    """
    if sample.width == 0:
        return {}
    long = pii.long_values(sample).drop_nulls("v")
    numeric = dict(
        long.group_by("column")
        .agg(pl.col("v").str.strip_chars().str.contains(r"^[-+]?\d+(?:\.\d+)?$").mean())
        .iter_rows()
    )
    counts = (
        long.filter(pl.col("column").is_in([c for c in sample.columns if c in short]))
        .group_by("column", shape_expr("v").alias("shape"))
        .len()
        .sort(["column", "len", "shape"], descending=[False, True, False])
    )
    small = dict(
        counts.filter(pl.col("len") < k).group_by("column").agg(pl.col("len").sum()).rows()
    )
    shapes: dict[str, list[dict[str, object]]] = {}
    kept = counts.filter(pl.col("len") >= k).filter(
        pl.int_range(pl.len()).over("column") < TOP_VALUES
    )
    for column, shape, n in kept.iter_rows():
        shapes.setdefault(column, []).append({"shape": shape, "count": int(n)})
    return {
        c: Texts(shapes.get(c, []), int(small.get(c) or 0), numeric.get(c)) for c in sample.columns
    }
