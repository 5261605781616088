"""The profile records: one per column, one per dataset."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from govlib.catalog import Category
from govlib.pii import CatalogFinding, PiiFinding
from govlib.records import Record


@dataclass(frozen=True, slots=True)
class ColumnProfile(Record):
    """Statistics of one column: aggregates and masked shapes; values only where publishable."""

    dataset: str
    column: str
    dtype: str
    kind: str  # numeric, temporal, string, boolean, other
    rows: int
    nulls: int
    null_rate: float
    distinct: int  # distinct non-null values
    personal: bool = False
    publishable: bool = False  # the catalog allows its values (each held by >= k rows)
    pii_kind: str | None = None
    category: str = Category.NON_PERSONAL.value
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    skew: float | None = None
    zeros: int | None = None
    negatives: int | None = None
    quantiles: dict[str, float | None] | None = None  # None: held by fewer than k rows
    histogram: list[dict[str, float]] | None = None  # {start, end, count}
    future: int | None = None
    true_count: int | None = None
    length_min: int | None = None
    length_mean: float | None = None
    length_max: int | None = None
    empty: int | None = None  # empty or whitespace-only strings
    shapes: list[dict[str, object]] = field(default_factory=list)  # {shape, count} with count >= k
    top_values: list[dict[str, object]] | None = None  # {value, count} with count >= k
    suppressed: int = 0  # values in groups smaller than k, left out of top_values and shapes
    alerts: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DatasetProfile(Record):
    """The profile of a dataset: its columns, PII findings and catalog mismatches.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from govlib.profiling import profile
    >>> p = profile(pl.LazyFrame({"tier": ["a", "b", None]}), dataset="t", as_of=date(2025, 1, 31))
    >>> DatasetProfile.from_dict(p.to_dict()) == p
    True
    >>> p.to_polars().select("column", "nulls").row(0)
    ('tier', 1)
    """

    ROWS: ClassVar[str | None] = "column_profiles"

    dataset: str
    as_of: str
    rows: int
    columns: int
    duplicate_rows: int
    duplicate_keys: int | None
    size_bytes: int
    sampled_rows: int
    approximate: bool  # streaming: distinct counts above EXACT_DISTINCT_UP_TO are estimates
    column_profiles: list[ColumnProfile]
    pii: list[PiiFinding]
    findings: list[CatalogFinding]
    alerts: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """The dataset-level figures as one flat record."""
        return {
            "dataset": self.dataset,
            "as of": self.as_of,
            "rows": self.rows,
            "columns": self.columns,
            "duplicate rows": self.duplicate_rows,
            "duplicate keys": self.duplicate_keys,
            "size (MiB)": round(self.size_bytes / 2**20, 2),
            "personal columns": len(self.pii),
            "catalog findings": len(self.findings),
        }

    def column(self, name: str) -> ColumnProfile:
        """The profile of column `name`."""
        return next(c for c in self.column_profiles if c.column == name)

    @classmethod
    def load(cls, path: str | Path) -> DatasetProfile:
        """Read a profile written with `--json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
