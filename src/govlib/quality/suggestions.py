"""Starter suites: expectations suggested from a profile, strict about today's defects.

A suggested suite fails on the defects the data has today: malformed e-mails and phones, rare
nulls, duplicated keys, dates after `as_of`, duplicate rows. Only `tolerate_current=True` sets
`mostly` to the rate observed today, so the suite then fails only when the data gets worse.
Each check that meets defects today says so in its `meta.observed` ("2.60% malformed e-mails"):
a rate, never a value; `tolerances()` turns them into the lines `govlib suggest` prints.

Values (value sets, ranges) are suggested only for columns the catalog allows to publish them,
complete and from the data itself; every other bound quotes no value of the data.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

import polars as pl
import polars.selectors as cs

from govlib import identity

if TYPE_CHECKING:
    from govlib.engine.backends import Data
    from govlib.profiling import ColumnProfile, DatasetProfile

EMAIL_REGEX = identity.EMAIL_REGEX
PHONE_REGEX = r"^\+?[\d\s().-]{7,20}$"
RARE_NULLS = 0.01  # a column missing at most this share of values is meant to be complete
ID_NAME = re.compile(r"(^|_)id$|[a-z0-9]I[dD]$|^ID$", re.IGNORECASE)
NEAR_UNIQUE = 0.99  # an id column this distinct is meant to be unique
DEFECTS = {  # what a check's unexpected values are, in a tolerance line
    "expect_column_values_to_not_be_null": "missing values",
    "expect_column_values_to_be_unique": "duplicated values",
    "expect_compound_columns_to_be_unique": "rows in duplicate groups",
    "email": "malformed e-mails",
    "phone": "malformed phone numbers",
    "future": "dates after as_of",
}


@dataclass
class _Suite:
    """Expectations being suggested, with today's defect rate of each."""

    tolerate: bool
    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, kind: str, reason: str, defect: tuple[int, int, str] | None = None, **kw: Any
    ) -> None:
        """Add an expectation; `defect` is (unexpected today, elements, what they are)."""
        meta: dict[str, Any] = {"suggested": reason}
        if defect is not None and defect[0] > 0 and defect[1] > 0:
            unexpected, elements, what = defect
            rate = unexpected / elements
            meta["observed"] = f"{percent(rate)} {what}"
            if self.tolerate:
                kw["mostly"] = math.floor((1 - rate) * 10_000) / 10_000
        self.entries.append({"type": kind, "kwargs": kw, "meta": meta})


def suggest(
    profile: DatasetProfile,
    *,
    name: str,
    frame: pl.LazyFrame | pl.DataFrame | None = None,
    tolerate_current: bool = False,
    primary_key: list[str] | None = None,
    table: Data | None = None,
) -> dict[str, Any]:
    """A starter suite from a profile that fails on today's defects unless told to tolerate them.

    Parameters
    ----------
    profile
        The dataset's `DatasetProfile`.
    name
        The suite's name.
    frame
        The profiled data: defect counts are then exact, and publishable columns get complete
        value sets and ranges (without it, no values are suggested at all).
    tolerate_current
        Set `mostly` on each check to the pass rate observed today, so today's data passes.
    primary_key
        The catalog's primary key: its columns must be unique and present.
    table
        The profiled data where it lives (a database's table, or Spark's), instead of `frame`:
        the same counts and values, computed there by aggregate queries.

    Returns
    -------
    dict
        The suite as Great Expectations 1.x JSON.
    """
    data: _Facts | None = None
    if frame is not None:
        data = _Frame(frame.lazy().collect())
    elif table is not None:
        data = _Table(table)
    suite = _Suite(tolerate_current)
    rows = profile.rows
    suite.add(
        "expect_table_row_count_to_be_between", f"{rows} rows seen",
        min_value=rows // 2, max_value=rows * 2,
    )  # fmt: skip
    key = primary_key or []
    for c in profile.column_profiles:
        _column_checks(suite, profile, c, data, key)
    if len(key) > 1:
        dup = data.duplicated(key) if data is not None else profile.duplicate_keys or 0
        suite.add(
            "expect_compound_columns_to_be_unique", "the primary key",
            (dup, rows, DEFECTS["expect_compound_columns_to_be_unique"]), column_list=key,
        )  # fmt: skip
    if profile.duplicate_rows and len(profile.column_profiles) > 1:
        columns = [c.column for c in profile.column_profiles]
        dup = data.duplicated(columns) if data is not None else profile.duplicate_rows
        suite.add(
            "expect_compound_columns_to_be_unique", "duplicate rows seen",
            (dup, rows, DEFECTS["expect_compound_columns_to_be_unique"]), column_list=columns,
        )  # fmt: skip
    meta = {"suggested_from": profile.dataset}
    return {"name": name, "meta": meta, "expectations": suite.entries}


def _column_checks(
    suite: _Suite,
    profile: DatasetProfile,
    c: ColumnProfile,
    data: _Facts | None,
    key: list[str],
) -> None:
    """The checks of one column: presence, uniqueness, format, values and bounds."""
    present = c.rows - c.nulls
    in_key = key == [c.column]
    if c.rows and (c.nulls <= RARE_NULLS * c.rows or c.column in key):
        defect = (c.nulls, c.rows, DEFECTS["expect_column_values_to_not_be_null"])
        suite.add("expect_column_values_to_not_be_null", _why_present(c, key), defect,
                  column=c.column)  # fmt: skip
    if present and (in_key or _unique_like(c)):
        dup = data.duplicated([c.column], present=True) if data is not None else 0
        defect = (dup, present, DEFECTS["expect_column_values_to_be_unique"])
        reason = "the primary key" if in_key else "every value distinct, or an id"
        suite.add("expect_column_values_to_be_unique", reason, defect, column=c.column)
    if c.pii_kind in ("email", "phone") and present:
        regex = EMAIL_REGEX if c.pii_kind == "email" else PHONE_REGEX
        bad = data.not_matching(c.column, regex) if data is not None else _estimate(profile, c)
        defect = (bad, present, DEFECTS[c.pii_kind])
        suite.add("expect_column_values_to_match_regex", f"detected {c.pii_kind}", defect,
                  column=c.column, regex=regex)  # fmt: skip
    if c.personal or not present:
        return
    if c.publishable and data is not None:
        _value_expectations(suite, c, data)
    else:
        _value_free_bounds(suite, c)


def _why_present(c: ColumnProfile, key: list[str]) -> str:
    if c.column in key:
        return "the primary key"
    return "no nulls seen" if c.nulls == 0 else "nearly complete: its nulls look like defects"


def _unique_like(c: ColumnProfile) -> bool:
    """Every value distinct and present, or an id-named column almost so (never a float)."""
    if c.kind not in ("numeric", "string") or c.dtype.startswith("float"):
        return False
    if c.nulls == 0 and c.distinct == c.rows:
        return True
    present = c.rows - c.nulls
    return bool(ID_NAME.search(c.column)) and present > 0 and c.distinct >= NEAR_UNIQUE * present


class _Facts(Protocol):
    """What a suggestion needs from the data: defect counts, and a publishable column's values.

    `duplicated`: rows sharing their values of `columns` with another row, as GX counts them (a
    column's nulls are not compared; of several columns, only rows missing every value are left
    out). `not_matching`: present values `regex` does not find. `distinct`: a column's present
    values. `bounds`: its least and greatest present value, and how many are present.
    """

    def duplicated(self, columns: list[str], *, present: bool = False) -> int: ...

    def not_matching(self, column: str, regex: str) -> int: ...

    def distinct(self, column: str) -> list[Any]: ...

    def bounds(self, column: str) -> tuple[Any, Any, int]: ...


@dataclass
class _Frame:
    """The facts of a frame in memory, counted by polars."""

    data: pl.DataFrame

    def duplicated(self, columns: list[str], *, present: bool = False) -> int:
        frame = self.data.select(cs.by_name(columns))
        all_missing = pl.all_horizontal(pl.all().is_null())
        frame = frame.drop_nulls() if present else frame.filter(~all_missing)
        return int(frame.is_duplicated().sum())

    def not_matching(self, column: str, regex: str) -> int:
        values = self.data.get_column(column).drop_nulls().cast(pl.String)
        return int((~values.str.contains(regex)).sum())

    def distinct(self, column: str) -> list[Any]:
        return self.data.get_column(column).drop_nulls().unique().to_list()

    def bounds(self, column: str) -> tuple[Any, Any, int]:
        values = self.data.get_column(column).drop_nulls()
        return values.min(), values.max(), values.len()


@dataclass
class _Table:
    """The facts of a table where it lives, counted by its database (or Spark): no rows travel.

    Only aggregates come back, and a publishable column's distinct values, asked for only when
    the profile counted at most 20 of them.
    """

    data: Data

    def duplicated(self, columns: list[str], *, present: bool = False) -> int:
        import ibis

        from govlib.catalog import unused_name

        t = self.data.table
        missing = [t[c].isnull() for c in columns]
        kept = ~ibis.or_(*missing) if present else ~ibis.and_(*missing)
        scope = t.filter(kept)
        n = unused_name("__n", columns)  # a group's size, named unlike any grouped column
        groups = scope.group_by([scope[c] for c in columns]).aggregate(**{n: scope.count()})
        shared = groups.filter(groups[n] > 1)
        [row] = self.data.rows(shared.aggregate(rows=shared[n].sum()))
        return int(row["rows"] or 0)

    def not_matching(self, column: str, regex: str) -> int:
        from govlib.engine.regex import translate

        t = self.data.table
        text = t[column].cast("string")
        found = text.re_search(translate(regex, backend=self.data.backend))
        [row] = self.data.rows(t.aggregate(n=(text.notnull() & ~found).sum()))
        return int(row["n"] or 0)

    def distinct(self, column: str) -> list[Any]:
        t = self.data.table
        values = t.select(v=t[column]).filter(lambda x: x.v.notnull()).distinct()
        return [row["v"] for row in self.data.rows(values)]

    def bounds(self, column: str) -> tuple[Any, Any, int]:
        t = self.data.table
        [row] = self.data.rows(t.aggregate(lo=t[column].min(), hi=t[column].max(),
                                           n=t[column].count()))  # fmt: skip
        return row["lo"], row["hi"], int(row["n"])


def _estimate(profile: DatasetProfile, c: ColumnProfile) -> int:
    """Values the detection sample found malformed, scaled to the column."""
    finding = next((f for f in profile.pii if f.column == c.column), None)
    share = finding.share if finding is not None else 1.0
    return round((1 - share) * (c.rows - c.nulls))


def _temporal_bound(c: ColumnProfile) -> bool:
    """A date, or a datetime without a time zone: `as_of` bounds it."""
    return c.dtype == "date" or (c.dtype.startswith("datetime") and "," not in c.dtype)


def _value_free_bounds(suite: _Suite, c: ColumnProfile) -> None:
    """Bounds that quote no value: no negatives when none are seen; no dates after `as_of`."""
    between = "expect_column_values_to_be_between"
    if c.kind == "numeric" and c.negatives == 0:
        suite.add(between, "no negative values seen", column=c.column, min_value=0)
    elif c.kind == "temporal" and _temporal_bound(c):
        defect = (c.future or 0, c.rows - c.nulls, DEFECTS["future"])
        suite.add(between, "no dates after as_of", defect, column=c.column,
                  max_value={"$PARAMETER": "as_of"})  # fmt: skip


def _value_expectations(suite: _Suite, c: ColumnProfile, data: _Facts) -> None:
    """A complete value set or a range for a column allowed to publish its values.

    The steward allowed these values, so every one is listed, however few rows hold it. Dates
    end at `as_of`, not at the latest value seen, so next month's data still passes.
    """
    if c.kind == "string" and c.distinct <= 20:
        value_set = sorted(str(v) for v in data.distinct(c.column))
        suite.add("expect_column_values_to_be_in_set", "low-cardinality categorical",
                  column=c.column, value_set=value_set)  # fmt: skip
        return
    if c.kind not in ("numeric", "temporal"):
        return
    low, high, present = data.bounds(c.column)
    if present == 0:
        return
    lo, hi = _bound(low), _bound(high)
    between = "expect_column_values_to_be_between"
    if c.kind == "numeric":
        suite.add(between, "range seen", column=c.column, min_value=lo, max_value=hi)
    elif _temporal_bound(c):
        defect = (c.future or 0, present, DEFECTS["future"])
        suite.add(between, "earliest seen, up to as_of", defect, column=c.column,
                  min_value=lo, max_value={"$PARAMETER": "as_of"})  # fmt: skip


def _bound(value: object) -> object:
    """A min or max as a suite states it: numbers as they are, dates as ISO datetimes."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return value


def percent(rate: float) -> str:
    """A rate as a percentage that never rounds a defect away: 0.004% stays above zero."""
    digits = 2 if rate >= 0.0001 else 4
    return f"{max(rate, 10**-digits / 100) * 100:.{digits}f}%"


def tolerances(suite: dict[str, Any]) -> list[str]:
    """What each check meets today, as a line: what it accepts (`mostly`) or fails on.

    Examples
    --------
    >>> entry = {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "email",
    ...          "mostly": 0.974}, "meta": {"observed": "2.60% malformed e-mails"}}
    >>> tolerances({"expectations": [entry]})
    ['email: match_regex accepts 2.60% malformed e-mails']
    """
    lines = []
    for entry in suite["expectations"]:
        observed = (entry.get("meta") or {}).get("observed")
        if observed is None:
            continue
        kwargs = entry["kwargs"]
        where = kwargs.get("column") or f"{len(kwargs.get('column_list', []))} columns"
        verb = "accepts" if "mostly" in kwargs else "fails today on"
        check = entry["type"].removeprefix("expect_").removeprefix("column_values_to_")
        lines.append(f"{where}: {check} {verb} {observed}")
    return lines
