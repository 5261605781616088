"""The profile's statistics inside a database: Ibis aggregates that return the same `Stats`.

`compute` runs on an Ibis table (a database dataset's, from `govlib.databases.open_table`) what
`statistics.compute` runs on a LazyFrame, and returns the same `Computed`, so the column and
dataset records are built by the same code. Only aggregate rows travel back: one row per pass,
five per publishable numeric column for its quantiles, and at most `LOW_CARDINALITY + 1` groups
per top-values candidate.

Each statistic means what polars means by it: quantiles are the nearest-rank values
(`(n - 1) * q` rounded half up, polars' "nearest"), histograms have polars' ten equal bins
(the first closed, the others open on the left), skewness is the biased sample skewness from
central moments, and "empty" strips the whitespace polars strips (Unicode `White_Space`).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from govlib import databases
from govlib.profiling.kinds import kind
from govlib.profiling.statistics import (
    HISTOGRAM_BINS,
    LOW_CARDINALITY,
    QUANTILES,
    Computed,
    Measure,
    Stats,
)

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

# What polars' `str.strip_chars()` strips: Rust's `char::is_whitespace`
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000")
)
CARD_DIGITS = (13, 19)
CARD_RAW_LENGTH = (13, 25)  # `detection.RAW_CARD`: digits, whitespace, dashes and dots
CARD_SEPARATORS = "-."


Key = tuple[str | None, Measure, float | None]


def count(con: BaseBackend, table: ibis.Table) -> int:
    """The table's row count, counted by the database."""
    return int(databases.rows(con, table.aggregate(n=table.count()))[0]["n"] or 0)


def compute(
    con: BaseBackend,
    table: ibis.Table,
    schema: pl.Schema,
    rows: int,
    as_of: date,
    *,
    publish: set[str],
    candidates: list[str],
    key: list[str] | None,
    k: int,
) -> Computed:
    """Every statistic of `statistics.compute` (not streaming), computed by the database.

    `schema` gives each column's polars type, which decides its kind as it does for files.
    """
    stats = Stats()
    stats.values |= _bytes(schema, rows)
    scalar = _scalar(table, schema, as_of, con.name)
    if con.name == "pyspark":
        # Spark runs several distinct counts in one aggregate by copying every row once per
        # count (an Expand): 157 s of a 181 s profile of a million rows. One query each instead.
        for distinct in [k for k in scalar if k[1] is Measure.DISTINCT]:
            stats.values |= _run(con, table, {distinct: scalar.pop(distinct)})
    stats.values |= _run(con, table, scalar)
    if key:
        stats.values[None, Measure.DUPLICATE_KEYS, None] = rows - _distinct(con, table, key)
    numbers = [c for c, t in schema.items() if kind(t) == "numeric"]
    shown = [c for c in numbers if c in publish]
    for column in shown:
        stats.values |= _quantiles(con, table, column, rows - stats.count(column, Measure.NULLS))
    stats.values |= _run(con, table, _second(table, numbers, shown, stats))
    finish(stats, schema)
    for column in (c for c in publish if kind(schema[c]) in ("numeric", "temporal")):
        stats.values |= _held(con, table, column, k, numeric=kind(schema[column]) == "numeric")
    low = [c for c in candidates if stats.count(c, Measure.DISTINCT) <= LOW_CARDINALITY]
    tops = {c: _top_values(con, table, c) for c in low}
    return Computed(stats, tops, _duplicate_rows(con, table, schema, stats, rows))


def _run(con: BaseBackend, table: ibis.Table, specs: dict[Key, Any]) -> dict[Key, object]:
    """Run the aggregates `specs` in one query; their values by the same keys."""
    if not specs:
        return {}
    keys = list(specs)
    row = databases.rows(con, table.aggregate(**{f"s{i}": specs[k] for i, k in enumerate(keys)}))
    return {k: row[0][f"s{i}"] for i, k in enumerate(keys)}


def _bytes(schema: pl.Schema, rows: int) -> dict[Key, object]:
    """In-memory sizes that follow from the row count (8 bytes a value, a bit a boolean)."""
    sizes: dict[Key, object] = {}
    for c, dtype in schema.items():
        if kind(dtype) in ("numeric", "temporal"):
            sizes[c, Measure.BYTES, None] = rows * 8
        elif kind(dtype) == "boolean":
            sizes[c, Measure.BYTES, None] = rows // 8
    return sizes


def _scalar(table: ibis.Table, schema: pl.Schema, as_of: date, backend: str) -> dict[Key, Any]:
    """The first pass: nulls, distinct values and every statistic of a column's kind."""
    import ibis

    specs: dict[Key, Any] = {}
    end = ibis.timestamp(datetime.combine(as_of, datetime.max.time()))
    for c, dtype in schema.items():
        v = table[c]
        specs[c, Measure.NULLS, None] = _count(v.isnull())
        specs[c, Measure.DISTINCT, None] = v.nunique()
        match kind(dtype):
            case "numeric":
                x = v.cast("float64")
                specs |= {
                    (c, Measure.MEAN, None): x.mean(),
                    (c, Measure.STD, None): x.std(how="sample"),
                    (c, Measure.ZEROS, None): _count(v == 0),
                    (c, Measure.NEGATIVES, None): _count(v < 0),
                    (c, Measure.MIN, None): x.min(),
                    (c, Measure.MAX, None): x.max(),
                }
            case "temporal":
                limit = ibis.date(as_of) if dtype == pl.Date else end
                specs[c, Measure.FUTURE, None] = _count(v > limit)
            case "string":
                length = v.length()
                specs |= {
                    (c, Measure.BYTES, None): byte_length(v, backend).sum(),
                    (c, Measure.LENGTH_MIN, None): length.min(),
                    (c, Measure.LENGTH_MEAN, None): length.cast("float64").mean(),
                    (c, Measure.LENGTH_MAX, None): length.max(),
                    (c, Measure.EMPTY, None): _count(_without(v, WHITESPACE) == ""),
                }
            case "boolean":
                specs[c, Measure.TRUE_COUNT, None] = _count(v)
    return specs


def _without(v: ir.StringValue, chars: str) -> ir.StringValue:
    """`v` with every one of `chars` removed: each becomes a space, then spaces go.

    `translate` with equal lengths means the same on every backend (SQLite's is Python's).
    """
    return v.translate(chars, " " * len(chars)).replace(" ", "")


def _count(condition: ir.BooleanValue) -> ir.IntegerScalar:
    """Rows where `condition` holds (null: not counted)."""
    return condition.ifelse(1, 0).sum()


def byte_length(v: ir.StringValue, backend: str) -> ir.IntegerValue:
    """A string's length in UTF-8 bytes, as backend `backend` counts them (its `name`)."""
    import ibis

    if backend == "sqlite":  # the length of a BLOB is in bytes
        length = ibis.udf.scalar.builtin(_blob_length, name="length")
        return length(v.cast("binary"))
    octets = ibis.udf.scalar.builtin(
        _octets, name="strlen" if backend == "duckdb" else "octet_length"
    )
    return octets(v)


def _octets(s: str) -> int:
    """The signature of the database's own byte length of a string (never run in Python)."""
    raise NotImplementedError


def _blob_length(b: bytes) -> int:
    """The signature of SQLite's `length` of a BLOB (never run in Python)."""
    raise NotImplementedError


def _quantiles(con: BaseBackend, table: ibis.Table, column: str, present: int) -> dict[Key, object]:
    """The nearest-rank quantiles of a numeric column (polars' default), in one query."""
    import ibis

    if present == 0:
        return {(column, Measure.QUANTILE, q): None for q in QUANTILES}
    ranks = {q: math.floor(q * (present - 1) + 0.5) for q in QUANTILES}
    v = table[column]
    ranked = table.filter(v.notnull()).select(
        v=v.cast("float64"), r=ibis.row_number().over(order_by=v)
    )
    found = databases.rows(con, ranked.filter(ranked.r.isin(sorted(set(ranks.values())))))
    at = {int(row["r"]): row["v"] for row in found}
    return {(column, Measure.QUANTILE, q): at.get(r) for q, r in ranks.items()}


def _second(
    table: ibis.Table, numbers: list[str], shown: list[str], stats: Stats
) -> dict[Key, Any]:
    """The second pass: central moments (for skewness), rows at quantiles, histogram bins."""
    specs: dict[Key, Any] = {}
    for c in numbers:
        mean = stats.get(c, Measure.MEAN)
        if mean is not None:
            d = table[c].cast("float64") - float(mean)  # type: ignore[arg-type]
            specs[c, Measure.SKEW, 2.0] = (d * d).mean()
            specs[c, Measure.SKEW, 3.0] = (d * d * d).mean()
    for c in shown:
        v = table[c]
        for q in QUANTILES:
            value = stats.get(c, Measure.QUANTILE, q)
            if value is not None:
                specs[c, Measure.AT_QUANTILE, q] = _count(v.cast("float64") == value)
        low, high = stats.get(c, Measure.MIN), stats.get(c, Measure.MAX)
        if low is not None and high is not None:
            for i, edge in enumerate(edges(float(low), float(high))):  # type: ignore[arg-type]
                specs[c, Measure.HISTOGRAM, float(i)] = _count(v.cast("float64") <= edge)
    return specs


def edges(low: float, high: float) -> list[float]:
    """The right edges of polars' `hist(bin_count=HISTOGRAM_BINS)` from `low` to `high`.

    >>> edges(0.0, 10.0)[:3], edges(0.0, 10.0)[-1], edges(3.0, 3.0)[0]
    ([1.0, 2.0, 3.0], 10.0, 2.6)
    """
    if low == high:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / HISTOGRAM_BINS
    return [low + i * width for i in range(1, HISTOGRAM_BINS)] + [high]


def finish(stats: Stats, schema: pl.Schema) -> None:
    """Turn the second pass's parts into the statistics `statistics.compute` gives.

    The parts (moments under `SKEW` with q 2 and 3, cumulative counts under `HISTOGRAM` with
    the bin's index) are replaced by the skewness and polars' `{breakpoint, count}` bins.
    """
    for c, dtype in schema.items():
        if kind(dtype) != "numeric":
            continue
        m2, m3 = (
            stats.values.pop((c, Measure.SKEW, 2.0), None),
            stats.values.pop((c, Measure.SKEW, 3.0), None),
        )
        skew = None
        if m2 is not None and m3 is not None:
            skew = float(m3) / float(m2) ** 1.5 if float(m2) else math.nan  # type: ignore[arg-type]
        stats.values[c, Measure.SKEW, None] = skew
        parts = [
            stats.values.pop((c, Measure.HISTOGRAM, float(i)), None) for i in range(HISTOGRAM_BINS)
        ]
        if parts[0] is not None:
            cumulative = [int(n or 0) for n in parts]  # type: ignore[call-overload]
            low, high = stats.get(c, Measure.MIN), stats.get(c, Measure.MAX)
            right = edges(float(low), float(high))  # type: ignore[arg-type]
            counts = [n - m for n, m in zip(cumulative, [0, *cumulative], strict=False)]
            stats.values[c, Measure.HISTOGRAM, None] = [
                {"breakpoint": e, "count": n} for e, n in zip(right, counts, strict=True)
            ]


def _held(
    con: BaseBackend, table: ibis.Table, column: str, k: int, *, numeric: bool
) -> dict[Key, object]:
    """The lowest and highest values held by at least `k` rows."""
    present = table.filter(table[column].notnull())
    groups = present.group_by(present[column].name("v")).aggregate(n=present.count())
    held = groups.filter(groups.n >= k)
    value = held.v.cast("float64") if numeric else held.v
    row = databases.rows(con, held.aggregate(lo=value.min(), hi=value.max()))[0]
    return {
        (column, Measure.HELD_MIN, None): databases.naive_utc(row["lo"]),
        (column, Measure.HELD_MAX, None): databases.naive_utc(row["hi"]),
    }


def _top_values(con: BaseBackend, table: ibis.Table, column: str) -> list[dict[str, object]]:
    """Value counts of a low-cardinality column, most frequent first (then by value)."""
    v = table[column]
    groups = table.group_by(v.name("v")).aggregate(n=table.count())
    ordered = groups.order_by([groups.n.desc(), groups.v.asc(nulls_first=True)])
    return [{column: row["v"], "count": int(row["n"])} for row in databases.rows(con, ordered)]


def _distinct(con: BaseBackend, table: ibis.Table, columns: list[str]) -> int:
    """Distinct combinations of `columns` (nulls equal to nulls), counted by the database."""
    combos = table.select(*columns).distinct()
    return int(databases.rows(con, combos.aggregate(n=combos.count()))[0]["n"])


def _duplicate_rows(
    con: BaseBackend, table: ibis.Table, schema: pl.Schema, stats: Stats, rows: int
) -> int:
    """Rows equal to an earlier row; none when one column is present and distinct throughout."""
    if not rows or any(
        stats.count(c, Measure.DISTINCT) == rows and stats.count(c, Measure.NULLS) == 0
        for c in schema
    ):
        return 0
    return rows - _distinct(con, table, list(schema))


def raw_cards(con: BaseBackend, table: ibis.Table, column: str) -> int:
    """Values of `column` that are raw card numbers (13-19 digits passing Luhn), counted inside.

    What `pii.raw_card_count` counts over the values `detection.RAW_CARD` lets through: digits
    grouped by whitespace, dashes or dots, but not a decimal number (digits around one dot).
    An integer column is read as its digits.
    """
    import ibis

    v = table[column]
    v = v if v.type().is_string() else v.cast("string")
    parts = table.select(
        raw=v.length(),
        rest=_without(v, WHITESPACE + CARD_SEPARATORS + "0123456789"),
        digits=_without(v, WHITESPACE + CARD_SEPARATORS),
        dots=v.length() - v.replace(".", "").length(),
    )
    # a decimal number: its only character other than digits is one dot
    decimal = (parts.raw - parts.digits.length() == 1) & (parts.dots == 1)
    candidate = (
        parts.raw.between(*CARD_RAW_LENGTH)
        & (parts.rest == "")
        & ~decimal
        & parts.digits.length().between(*CARD_DIGITS)
    )
    safe = candidate.ifelse(parts.digits, ibis.literal("0"))
    cards = parts.select(ok=candidate, s=safe, n=safe.length())
    terms = []
    for p in range(1, CARD_DIGITS[1] + 1):  # positions from the right, 1-based
        digit = (cards.n >= p).ifelse(cards.s.substr(cards.n - p, 1), "0").cast("int64")
        terms.append((digit * 2 > 9).ifelse(digit * 2 - 9, digit * 2) if p % 2 == 0 else digit)
    while len(terms) > 1:  # a balanced sum: SQLite's parser limits nesting
        terms = [a + b for a, b in zip(terms[::2], terms[1::2], strict=False)] + (
            [terms[-1]] if len(terms) % 2 else []
        )
    valid = cards.ok & (terms[0] % 10 == 0)
    return int(databases.rows(con, cards.aggregate(n=_count(valid)))[0]["n"] or 0)
