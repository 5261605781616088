"""Every statistic of every column in one lazy pass, as typed per-statistic specs.

A `Stat` says what it measures (a `Measure`, and the quantile where one applies), over which
columns, and with which polars expression. Statistics common to a kind are one multi-column
expression each, so the cost grows linearly with the number of columns. `collect` runs a list
of specs and returns `Stats`, whose values are read by column and measure: the names polars
gives the outputs never leave `collect`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

import polars as pl

from govlib.profiling.kinds import EngineType, col, cols, kind

K_ANONYMITY = 5
LOW_CARDINALITY = 50
HISTOGRAM_BINS = 10
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
STREAM_CHUNK = 250  # whole-column expressions per streaming query
STREAM_COLUMNS = 1_000  # columns per streaming statistics query
EXACT_DISTINCT_UP_TO = 100_000  # streaming: below this estimate, distinct values are counted


class Measure(StrEnum):
    """What a statistic measures."""

    NULLS = "nulls"
    DISTINCT = "distinct"  # distinct non-null values
    BYTES = "bytes"  # in-memory size
    MEAN = "mean"
    STD = "std"
    SKEW = "skew"
    ZEROS = "zeros"
    NEGATIVES = "negatives"
    FUTURE = "future"  # values after `as_of`
    LENGTH_MIN = "length_min"
    LENGTH_MEAN = "length_mean"
    LENGTH_MAX = "length_max"
    EMPTY = "empty"  # empty or whitespace-only strings
    TRUE_COUNT = "true_count"
    HELD_MIN = "held_min"  # the lowest value held by at least k rows
    HELD_MAX = "held_max"  # the highest value held by at least k rows
    MIN = "min"
    MAX = "max"
    QUANTILE = "quantile"
    AT_QUANTILE = "at_quantile"  # rows holding the quantile's value
    HISTOGRAM = "histogram"  # a list of {breakpoint, count}
    TOP_VALUES = "top_values"  # a list of {<column>: value, count}
    DUPLICATE_KEYS = "duplicate_keys"  # of the dataset: rows less distinct primary keys


@dataclass(frozen=True, slots=True)
class Stat:
    """One statistic: `expr` yields one value for each of `columns` (one for the dataset if none).

    Examples
    --------
    >>> s = Stat(Measure.MEAN, ("amount",), col("amount").mean())
    >>> collect(pl.LazyFrame({"amount": [1.0, 3.0]}), [s]).get("amount", Measure.MEAN)
    2.0
    """

    measure: Measure
    columns: tuple[str, ...]
    expr: pl.Expr
    q: float | None = None  # the quantile, for QUANTILE and AT_QUANTILE


class Stats:
    """Statistic values by column, measure and quantile, as `collect` computed them."""

    __slots__ = ("values",)

    def __init__(self) -> None:
        self.values: dict[tuple[str | None, Measure, float | None], object] = {}

    def get(self, column: str | None, measure: Measure, q: float | None = None) -> object:
        """The value of `measure` for `column` (None: the dataset), or None if not computed."""
        return self.values.get((column, measure, q))

    def count(self, column: str | None, measure: Measure, q: float | None = None) -> int:
        """An integer statistic, 0 when missing or null."""
        return int(self.get(column, measure, q) or 0)  # type: ignore[call-overload]

    def integer(self, column: str, measure: Measure) -> int | None:
        """An integer statistic; None when missing or null."""
        value = self.get(column, measure)
        return int(value) if isinstance(value, int | float) else None

    def number(self, column: str, measure: Measure, q: float | None = None) -> float | None:
        """A float statistic rounded to 6 places; None when missing, NaN or infinite."""
        return rounded(self.get(column, measure, q))

    def update(self, other: Stats) -> None:
        """Take every value of `other`, replacing those computed before."""
        self.values |= other.values


def rounded(value: object) -> float | None:
    """`value` as a float rounded to 6 places; None for None, NaN and infinity."""
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return None if math.isnan(f) or math.isinf(f) else round(f, 6)


def collect(lf: pl.LazyFrame, stats: list[Stat], *, engine: EngineType = "in-memory") -> Stats:
    """Compute `stats` in one query of `lf` (one collect)."""
    result = Stats()
    if not stats:
        return result
    names = [[f"{c}\x1f{i}" for c in s.columns] or [f"\x1f{i}"] for i, s in enumerate(stats)]
    exprs = [
        s.expr.name.suffix(f"\x1f{i}") if len(s.columns) > 1 else s.expr.alias(names[i][0])
        for i, s in enumerate(stats)
    ]
    row = lf.select(exprs).collect(engine=engine).row(0, named=True)
    for s, outputs in zip(stats, names, strict=True):
        for column, name in zip(s.columns or (None,), outputs, strict=True):
            result.values[column, s.measure, s.q] = row[name]
    return result


def collect_in_chunks(lf: pl.LazyFrame, stats: list[Stat]) -> Stats:
    """`collect` on the streaming engine, `STREAM_CHUNK` specs at a time."""
    result = Stats()
    for i in range(0, len(stats), STREAM_CHUNK):
        result.update(collect(lf, stats[i : i + STREAM_CHUNK], engine="streaming"))
    return result


def _by_kind(schema: pl.Schema) -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for c, dtype in schema.items():
        groups.setdefault(kind(dtype), []).append(c)
    return {k: tuple(v) for k, v in groups.items()}


def aggregations(
    schema: pl.Schema,
    as_of: date,
    *,
    publish: set[str],
    k: int = K_ANONYMITY,
    approximate: bool = False,
) -> tuple[list[Stat], list[Stat]]:
    """Every statistic of every column: scalar specs, and those that hold whole columns.

    Only `publish` columns get value statistics (min, max, quantiles, histogram).
    `approximate=True` counts distinct values with HyperLogLog (`approx_n_unique`), which keeps
    memory flat on data larger than memory.
    """
    groups = _by_kind(schema)
    scalar: list[Stat] = []
    if schema:
        every = tuple(schema)
        present = cols(every).drop_nulls()
        distinct = present.approx_n_unique() if approximate else present.n_unique()
        scalar += [
            Stat(Measure.NULLS, every, cols(every).null_count()),
            Stat(Measure.DISTINCT, every, distinct),
        ]
    scalar += _numeric(groups.get("numeric", ()))
    scalar += _temporal(groups.get("temporal", ()), schema, as_of)
    scalar += _strings(groups.get("string", ()))
    if booleans := groups.get("boolean"):
        scalar += [
            Stat(Measure.TRUE_COUNT, booleans, cols(booleans).sum()),
            Stat(Measure.BYTES, booleans, cols(booleans).len() // 8),
        ]
    whole = [s for c in schema if c in publish for s in value_statistics(c, schema[c], k)]
    return scalar, whole


def _numeric(columns: tuple[str, ...]) -> list[Stat]:
    if not columns:
        return []
    c = cols(columns)
    return [
        Stat(Measure.BYTES, columns, c.len() * 8),
        Stat(Measure.MEAN, columns, c.mean()),
        Stat(Measure.STD, columns, c.std()),
        Stat(Measure.SKEW, columns, c.skew()),
        Stat(Measure.ZEROS, columns, (c == 0).sum()),
        Stat(Measure.NEGATIVES, columns, (c < 0).sum()),
    ]


def _temporal(columns: tuple[str, ...], schema: pl.Schema, as_of: date) -> list[Stat]:
    if not columns:
        return []
    dates = tuple(c for c in columns if schema[c] == pl.Date)
    others = tuple(c for c in columns if schema[c] != pl.Date)
    out = [Stat(Measure.BYTES, columns, cols(columns).len() * 8)]
    if dates:
        out.append(Stat(Measure.FUTURE, dates, (cols(dates) > pl.lit(as_of)).sum()))
    if others:
        end = pl.lit(datetime.combine(as_of, datetime.max.time()))
        out.append(Stat(Measure.FUTURE, others, (cols(others) > end).sum()))
    return out


def _strings(columns: tuple[str, ...]) -> list[Stat]:
    if not columns:
        return []
    c = cols(columns)
    length = c.str.len_chars()
    return [
        Stat(Measure.BYTES, columns, c.str.len_bytes().sum()),
        Stat(Measure.LENGTH_MIN, columns, length.min()),
        Stat(Measure.LENGTH_MEAN, columns, length.mean()),
        Stat(Measure.LENGTH_MAX, columns, length.max()),
        Stat(Measure.EMPTY, columns, (c.str.strip_chars() == "").sum()),
    ]


def value_statistics(column: str, dtype: pl.DataType, k: int) -> list[Stat]:
    """Min, max, quantiles and histogram of a publishable column, with how many rows hold them.

    `HELD_MIN`/`HELD_MAX` are the lowest and highest values held by at least `k` rows.
    """
    if kind(dtype) not in ("numeric", "temporal"):
        return []
    one = (column,)
    c = col(column)
    held = c.filter(pl.len().over(c) >= k)
    if kind(dtype) == "temporal":
        return [Stat(Measure.HELD_MIN, one, held.min()), Stat(Measure.HELD_MAX, one, held.max())]
    number = c.cast(pl.Float64)
    histogram = number.hist(bin_count=HISTOGRAM_BINS, include_breakpoint=True).implode()
    return [
        Stat(Measure.HELD_MIN, one, held.min().cast(pl.Float64)),
        Stat(Measure.HELD_MAX, one, held.max().cast(pl.Float64)),
        Stat(Measure.MIN, one, number.min()),
        Stat(Measure.MAX, one, number.max()),
        *(Stat(Measure.QUANTILE, one, c.quantile(q).cast(pl.Float64), q) for q in QUANTILES),
        *(Stat(Measure.AT_QUANTILE, one, (c == c.quantile(q)).sum(), q) for q in QUANTILES),
        Stat(Measure.HISTOGRAM, one, histogram),
    ]


def top_values(column: str) -> Stat:
    """Value counts of `column`, most frequent first."""
    counts = col(column).value_counts(sort=True, name="count").implode()
    return Stat(Measure.TOP_VALUES, (column,), counts)


def duplicate_keys(key: list[str]) -> Stat:
    """Rows less distinct values of the primary key `key`."""
    return Stat(Measure.DUPLICATE_KEYS, (), pl.len() - pl.struct(cols(key)).n_unique())


@dataclass(frozen=True, slots=True)
class Computed:
    """What the statistics passes found: values, publishable top values, duplicate rows."""

    stats: Stats
    tops: dict[str, list[dict[str, object]]]
    duplicate_rows: int


def compute(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    rows: int,
    as_of: date,
    *,
    publish: set[str],
    candidates: list[str],
    key: list[str] | None,
    k: int,
    streaming: bool,
) -> Computed:
    """Every statistic in one pass (more when streaming), and publishable top values.

    Top values are counted only for `candidates` (publishable columns that may be
    low-cardinality) that prove to hold at most `LOW_CARDINALITY` distinct values.
    """
    dup_keys = duplicate_keys(key) if key else None
    if streaming:
        stats = _streamed(lf, schema, as_of, publish, candidates, k=k, dup_keys=dup_keys)
    else:  # one pass for every statistic
        scalar, whole = aggregations(schema, as_of, publish=publish, k=k)
        extra = [top_values(c) for c in candidates] + ([dup_keys] if dup_keys else [])
        stats = collect(lf, scalar + whole + extra)
    low = [c for c in candidates if stats.count(c, Measure.DISTINCT) <= LOW_CARDINALITY]
    tops = {c: stats.get(c, Measure.TOP_VALUES) for c in low}
    duplicates = duplicate_rows(lf, schema, stats, rows, exact=not streaming)
    return Computed(stats, tops, duplicates)  # type: ignore[arg-type]


def _streamed(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    as_of: date,
    publish: set[str],
    candidates: list[str],
    *,
    k: int,
    dup_keys: Stat | None,
) -> Stats:
    """Statistics on the streaming engine, in chunks of columns.

    The streaming engine's cost grows with the square of the expressions in one query; chunks
    keep it linear in the number of columns. Whole-column statistics (quantiles, histograms,
    exact small distinct counts, value counts) get passes of their own.
    """
    items = list(schema.items())
    stats, whole = Stats(), []
    for i in range(0, max(len(items), 1), STREAM_COLUMNS):
        chunk = pl.Schema(items[i : i + STREAM_COLUMNS])
        scalar, more = aggregations(chunk, as_of, publish=publish, k=k, approximate=True)
        scalar += [dup_keys] if dup_keys is not None and i == 0 else []
        whole += more
        stats.update(collect(lf, scalar, engine="streaming"))
    whole += [  # estimates are coarse for small sets, where exact counts are cheap
        Stat(Measure.DISTINCT, (c,), col(c).drop_nulls().n_unique())
        for c in schema
        if stats.count(c, Measure.DISTINCT) <= EXACT_DISTINCT_UP_TO
    ]
    stats.update(collect_in_chunks(lf, whole))
    low = [c for c in candidates if stats.count(c, Measure.DISTINCT) <= LOW_CARDINALITY]
    stats.update(collect_in_chunks(lf, [top_values(c) for c in low]))
    return stats


def duplicate_rows(
    lf: pl.LazyFrame, schema: pl.Schema, stats: Stats, rows: int, *, exact: bool
) -> int:
    """Rows equal to an earlier row.

    A column whose values are all present and distinct proves there are none; only without one
    (or with estimated counts) is the costlier row hash worth a pass.
    """
    if exact and any(
        stats.count(c, Measure.DISTINCT) == rows and stats.count(c, Measure.NULLS) == 0
        for c in schema
    ):
        return 0
    return int(
        lf.select(pl.struct(pl.all()).hash().alias("row"))
        .group_by("row")
        .len()
        .select((pl.col("len") - 1).sum())
        .collect(engine="streaming" if not exact else "in-memory")
        .item()
    )
