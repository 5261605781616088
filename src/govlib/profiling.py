"""Column statistics in one lazy pass, PII detection, and drift between two profiles.

`profile()` reads a LazyFrame with three collects: the row count, a systematic sample of the
string columns (for PII detection and value shapes), and one aggregation pass that computes
every statistic of every column at once. A fourth, tiny collect counts top values of the
low-cardinality non-personal columns.

The resulting record is value-free by construction: personal columns get no top values, no
minimum or maximum and no examples, only counts and masked shapes; every frequency table drops
groups smaller than `k`.

>>> p = profile(frame, dataset="customers", as_of=date(2025, 1, 31))  # doctest: +SKIP
>>> p.column("email").nulls  # doctest: +SKIP
30
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

import polars as pl

from govlib import pii
from govlib.catalog import Category, Dataset, PiiKind

K_ANONYMITY = 5
TOP_VALUES = 10
LOW_CARDINALITY = 50
HISTOGRAM_BINS = 10
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
HIGH_NULL_RATE = 0.3
SKEW_LIMIT = 2.0
SHAPE_MAX_LENGTH = 40
EXACT_DISTINCT_UP_TO = 100_000  # streaming: below this estimate, distinct values are counted


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """Statistics of one column: aggregates and masked shapes, never a personal value."""

    dataset: str
    column: str
    dtype: str
    kind: str  # numeric, temporal, string, boolean, other
    rows: int
    nulls: int
    null_rate: float
    distinct: int  # distinct non-null values
    personal: bool = False
    pii_kind: str | None = None
    category: str = Category.NON_PERSONAL.value
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    std: float | None = None
    skew: float | None = None
    zeros: int | None = None
    negatives: int | None = None
    quantiles: dict[str, float] | None = None
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

    def to_dict(self) -> dict[str, object]:
        """The profile as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """The profile of a dataset: its columns, PII findings and catalog mismatches."""

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
    pii: list[pii.PiiFinding]
    findings: list[pii.CatalogFinding]
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

    def to_dict(self) -> dict[str, object]:
        """The profile as a plain, JSON-serialisable dict."""
        return asdict(self)

    def to_json(self) -> str:
        """The profile as sorted, indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> DatasetProfile:
        """Rebuild a profile from `to_dict()` output (e.g. a saved JSON file)."""
        d = dict(data)
        d["column_profiles"] = [ColumnProfile(**c) for c in d["column_profiles"]]  # type: ignore[arg-type, union-attr]
        d["pii"] = [pii.PiiFinding(**f) for f in d["pii"]]  # type: ignore[arg-type, union-attr]
        d["findings"] = [pii.CatalogFinding(**f) for f in d["findings"]]  # type: ignore[arg-type, union-attr]
        return cls(**d)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> DatasetProfile:
        """Read a profile written with `--json`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _dtype_name(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return f"datetime[{dtype.time_unit}]" + (f", {dtype.time_zone}" if dtype.time_zone else "")
    return str(dtype).lower()


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "temporal"
    if dtype == pl.String:
        return "string"
    if dtype == pl.Boolean:
        return "boolean"
    return "other"


def _shape_expr(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.replace_all(r"\d+", "9")
        .str.replace_all(r"\p{Lu}+", "A")
        .str.replace_all(r"[\p{Ll}\p{Lo}\p{Lm}]+", "a")
        .str.replace_all(r"\s+", " ")
    )


def _temporal_value(value: object) -> str | None:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return None


def _float(value: object) -> float | None:
    if value is None:
        return None
    f = float(value)  # type: ignore[arg-type]
    return None if math.isnan(f) or math.isinf(f) else round(f, 6)


def profile(
    lf: pl.LazyFrame,
    *,
    dataset: str,
    as_of: date,
    declared: Dataset | None = None,
    k: int = K_ANONYMITY,
    sample_rows: int = pii.SAMPLE_ROWS,
    streaming: bool = False,
) -> DatasetProfile:
    """Profile a LazyFrame: statistics, PII detection, catalog findings and alerts.

    Collects three times (row count, string sample, one aggregation pass) plus one small
    top-values query. `streaming=True` runs the passes on polars' streaming engine, for data
    larger than memory.
    """
    engine = "streaming" if streaming else "auto"
    schema = lf.collect_schema()
    rows = lf.select(pl.len()).collect(engine=engine).item()
    strings = [c for c, t in schema.items() if t == pl.String]
    step = max(1, math.ceil(rows / sample_rows)) if rows else 1
    sample = (
        lf.select(strings)
        .with_row_index("__row")
        .filter(pl.col("__row") % step == 0)
        .drop("__row")
        .collect(engine=engine)
        if strings
        else pl.DataFrame()
    )

    # Statistics of columns that turn out personal are computed but never kept.
    key = declared.primary_key if declared is not None and declared.primary_key else None
    exprs = _aggregations(schema, as_of, approximate=streaming)
    if key:
        exprs.append((pl.len() - pl.struct(key).n_unique()).alias("__dup_keys"))
    whole_column: list[pl.Expr] = []
    if streaming:  # quantiles and histograms hold whole columns: give them a pass of their own
        whole_column = [e for e in exprs if _holds_whole_column(e)]
        exprs = [e for e in exprs if not _holds_whole_column(e)]

    detections: dict[str, pii.Detection] = {}
    for column, dtype in schema.items():
        if dtype == pl.String:
            detections[column] = pii.detect_strings(column, sample[column])
        else:
            detections[column] = pii.detect_other(column, dtype, {})
    for column, det in detections.items():
        if det.kind is PiiKind.FREE_TEXT and step > 1:  # count embedded PII over every row
            candidates = (
                lf.select(column)
                .filter(pl.col(column).str.contains(pii.ANY_EMBEDDED))
                .collect(engine=engine)[column]
            )
            detections[column] = replace(det, embedded=pii.embedded_counts(candidates))
    findings, mismatches = pii.classify(dataset, detections, declared)
    personal = {f.column: f for f in findings}
    # Low-cardinality candidates: a sample can only under-count distinct values, so every
    # column that is low-cardinality in full is among them. Their value counts join the pass.
    candidates = [
        c
        for c, t in schema.items()
        if c not in personal
        and (t in (pl.Boolean, pl.Categorical) or (t == pl.String and
             sample[c].n_unique() <= LOW_CARDINALITY + 1))
    ]  # fmt: skip
    if not streaming:
        exprs += [_top_values(c) for c in candidates]
    # One pass for every statistic (background collection would drop the streaming engine).
    stats = lf.select(exprs).collect(engine=engine).row(0, named=True) if rows else {}
    # A column whose values are all present and distinct proves there are no duplicate rows;
    # only without one (or with estimated counts) is the costlier row hash worth a pass.
    exact_key = not streaming and any(
        stats[f"{c}|distinct"] == rows and stats[f"{c}|nulls"] == 0 for c in schema
    )
    if streaming and rows:  # estimates are coarse for small sets, where exact counts are cheap
        whole_column += [
            (pl.col(c).n_unique() - pl.col(c).null_count().clip(0, 1)).alias(f"{c}|distinct")
            for c in schema
            if stats[f"{c}|distinct"] <= EXACT_DISTINCT_UP_TO
        ]
    if whole_column and rows:
        stats |= lf.select(whole_column).collect(engine=engine).row(0, named=True)
    if rows and not exact_key:
        stats["__dup_rows"] = (
            lf.select(pl.struct(pl.all()).hash().alias("row"))
            .group_by("row")
            .len()
            .select((pl.col("len") - 1).sum())
            .collect(engine=engine)
            .item()
        )

    low = [
        c
        for c in candidates
        if rows and stats[f"{c}|distinct"] <= LOW_CARDINALITY and stats.get(f"{c}|top") is None
    ]
    if low:  # streaming: value counts get a pass of their own
        stats |= lf.select(_top_values(c) for c in low).collect(engine=engine).row(0, named=True)
    tops = {
        c: stats[f"{c}|top"]
        for c in candidates
        if rows and stats[f"{c}|distinct"] <= LOW_CARDINALITY and stats.get(f"{c}|top") is not None
    }

    masked = declared.columns if declared is not None else {}
    for column, spec in masked.items():
        if spec.masked and column in strings and rows:
            raw = pii.raw_card_count(
                lf.select(column)
                .filter(pl.col(column).str.contains(r"^[\d\s-]{13,25}$"))
                .collect(engine=engine)[column]
            )
            if raw:
                mismatches.append(
                    pii.CatalogFinding(
                        dataset,
                        column,
                        "unmasked_card",
                        "raw card numbers where the catalog says the column is masked",
                        raw,
                    )
                )

    profiles = [
        _column_profile(
            dataset, column, dtype, rows, stats, personal.get(column), tops.get(column), sample, k
        )
        for column, dtype in schema.items()
    ]
    size = sum(int(stats.get(f"{c}|bytes") or 0) for c in schema) if rows else 0
    dup_keys = int(stats["__dup_keys"]) if key and rows else (0 if key else None)
    alerts = [f"{p.column}: {a}" for p in profiles for a in p.alerts]
    if rows == 0:
        alerts.insert(0, "dataset has 0 rows")
    if dup_keys:
        alerts.append(f"{dup_keys} duplicate primary keys ({', '.join(key or [])})")
    return DatasetProfile(
        dataset=dataset,
        as_of=as_of.isoformat(),
        rows=rows,
        columns=len(schema),
        duplicate_rows=int(stats.get("__dup_rows") or 0),
        duplicate_keys=dup_keys,
        size_bytes=size,
        sampled_rows=sample.height if strings else 0,
        approximate=streaming,
        column_profiles=profiles,
        pii=findings,
        findings=mismatches,
        alerts=alerts,
    )


def profile_columns(
    lf: pl.LazyFrame, *, dataset: str, as_of: date | None = None
) -> list[ColumnProfile]:
    """Just the column profiles of `profile()`."""
    return profile(lf, dataset=dataset, as_of=as_of or date.today()).column_profiles


def _top_values(column: str) -> pl.Expr:
    return pl.col(column).value_counts(sort=True, name="count").implode().alias(f"{column}|top")


def _holds_whole_column(expr: pl.Expr) -> bool:
    statistic = expr.meta.output_name().rsplit("|", 1)[-1]
    return statistic == "hist" or statistic.startswith("q")


def _aggregations(schema: pl.Schema, as_of: date, *, approximate: bool = False) -> list[pl.Expr]:
    """Every statistic of every column, as one list of scalar expressions.

    `approximate=True` counts distinct values with HyperLogLog (`approx_n_unique`), which keeps
    memory flat on data larger than memory.
    """
    exprs: list[pl.Expr] = []
    for c, dtype in schema.items():
        col = pl.col(c)
        kind = _kind(dtype)
        exprs += [
            col.null_count().alias(f"{c}|nulls"),
            (
                (col.approx_n_unique() if approximate else col.n_unique())
                - col.null_count().clip(0, 1)
            ).alias(f"{c}|distinct"),
        ]
        if kind == "numeric":
            exprs.append((col.len() * 8).alias(f"{c}|bytes"))
            exprs += [
                col.min().cast(pl.Float64).alias(f"{c}|min"),
                col.max().cast(pl.Float64).alias(f"{c}|max"),
                col.mean().alias(f"{c}|mean"),
                col.std().alias(f"{c}|std"),
                col.skew().alias(f"{c}|skew"),
                (col == 0).sum().alias(f"{c}|zeros"),
                (col < 0).sum().alias(f"{c}|negatives"),
                *(col.quantile(q).alias(f"{c}|q{q}") for q in QUANTILES),
                col.cast(pl.Float64)
                .hist(bin_count=HISTOGRAM_BINS, include_breakpoint=True)
                .implode()
                .alias(f"{c}|hist"),
            ]
        elif kind == "temporal":
            exprs.append((col.len() * 8).alias(f"{c}|bytes"))
            bound = (
                pl.lit(as_of)
                if dtype == pl.Date
                else pl.lit(datetime.combine(as_of, datetime.max.time()))
            )
            exprs.append((col > bound).sum().alias(f"{c}|future"))
            exprs += [col.min().alias(f"{c}|min"), col.max().alias(f"{c}|max")]
        elif kind == "string":
            length = col.str.len_chars()
            exprs += [
                col.str.len_bytes().sum().alias(f"{c}|bytes"),
                length.min().alias(f"{c}|lmin"),
                length.mean().alias(f"{c}|lmean"),
                length.max().alias(f"{c}|lmax"),
                (col.str.strip_chars() == "").sum().alias(f"{c}|empty"),
            ]
        elif kind == "boolean":
            exprs += [col.sum().alias(f"{c}|true"), (col.len() // 8).alias(f"{c}|bytes")]
    return exprs


def _column_profile(
    dataset: str,
    column: str,
    dtype: pl.DataType,
    rows: int,
    stats: dict[str, object],
    finding: pii.PiiFinding | None,
    tops: list[dict[str, object]] | None,
    sample: pl.DataFrame,
    k: int,
) -> ColumnProfile:
    kind = _kind(dtype)
    get = stats.get
    nulls = int(get(f"{column}|nulls") or 0) if rows else 0
    distinct = int(get(f"{column}|distinct") or 0) if rows else 0
    values: dict[str, object] = {}
    suppressed = 0
    if kind == "numeric" and finding is None and rows:
        values |= {
            "min": _float(get(f"{column}|min")),
            "max": _float(get(f"{column}|max")),
            "mean": _float(get(f"{column}|mean")),
            "std": _float(get(f"{column}|std")),
            "skew": _float(get(f"{column}|skew")),
            "zeros": int(get(f"{column}|zeros") or 0),
            "negatives": int(get(f"{column}|negatives") or 0),
            "quantiles": {
                f"p{round(q * 100):02d}": _float(get(f"{column}|q{q}")) for q in QUANTILES
            },
        }
        hist = get(f"{column}|hist") or []
        start = values["min"]
        bins = []
        for b in hist:  # type: ignore[union-attr]
            bins.append({"start": start, "end": _float(b["breakpoint"]), "count": int(b["count"])})
            start = _float(b["breakpoint"])
        values["histogram"] = [
            b | {"count": b["count"] if b["count"] >= k or b["count"] == 0 else 0} for b in bins
        ]
        suppressed += sum(b["count"] for b in bins if 0 < b["count"] < k)
    elif kind == "temporal" and rows:
        values["future"] = int(get(f"{column}|future") or 0)
        if finding is None:
            values["min"] = _temporal_value(get(f"{column}|min"))
            values["max"] = _temporal_value(get(f"{column}|max"))
    elif kind == "string" and rows:
        values |= {
            "length_min": get(f"{column}|lmin"),
            "length_mean": _float(get(f"{column}|lmean")),
            "length_max": get(f"{column}|lmax"),
            "empty": int(get(f"{column}|empty") or 0),
        }
        mean_len = values["length_mean"] or 0.0
        if column in sample.columns and mean_len <= SHAPE_MAX_LENGTH:
            counts = (
                sample.select(_shape_expr(column).alias("shape"))
                .drop_nulls()
                .group_by("shape")
                .len()
                .sort(["len", "shape"], descending=[True, False])
            )
            kept = counts.filter(pl.col("len") >= k)
            suppressed += int(counts.filter(pl.col("len") < k)["len"].sum())
            values["shapes"] = [
                {"shape": s, "count": int(n)} for s, n in kept.head(TOP_VALUES).iter_rows()
            ]
    elif kind == "boolean" and rows:
        values["true_count"] = int(get(f"{column}|true") or 0)
    if tops is not None and finding is None:
        key = next(iter(tops[0])) if tops else column
        kept_tops = []
        for entry in tops:
            value, count = entry[key], int(entry["count"])  # type: ignore[call-overload]
            if value is None:
                continue
            if count >= k:
                kept_tops.append({"value": value, "count": count})
            else:
                suppressed += count
        values["top_values"] = kept_tops[:TOP_VALUES]
    profile = ColumnProfile(
        dataset=dataset,
        column=column,
        dtype=_dtype_name(dtype),
        kind=kind,
        rows=rows,
        nulls=nulls,
        null_rate=round(nulls / rows, 6) if rows else 0.0,
        distinct=distinct,
        personal=finding is not None,
        pii_kind=finding.kind if finding else None,
        category=finding.category if finding else Category.NON_PERSONAL.value,
        suppressed=suppressed,
        **values,  # type: ignore[arg-type]
    )
    return _with_alerts(profile, dtype, sample)


def _with_alerts(p: ColumnProfile, dtype: pl.DataType, sample: pl.DataFrame) -> ColumnProfile:
    alerts = []
    present = p.rows - p.nulls
    if p.rows and p.nulls == p.rows:
        alerts.append("all null")
    elif p.rows and p.distinct == 1:
        alerts.append("constant")
    if p.rows and p.nulls != p.rows and p.null_rate >= HIGH_NULL_RATE:
        alerts.append(f"high null rate ({p.null_rate:.0%})")
    if p.skew is not None and abs(p.skew) >= SKEW_LIMIT:
        alerts.append(f"skewed (skewness {p.skew:.1f})")
    if dtype.is_integer() and present > 1 and p.distinct == present and not p.personal:
        alerts.append("id-like numeric (every value distinct)")
    if (
        p.kind == "string"
        and not p.personal
        and present > 50
        and p.distinct / present > 0.9
        and (p.length_mean or 0) < SHAPE_MAX_LENGTH
    ):
        alerts.append("high-cardinality categorical")
    if p.kind == "string" and p.column in sample.columns and sample.height:
        values = sample[p.column].drop_nulls().str.strip_chars()
        if values.len():
            numeric = values.str.contains(r"^[-+]?\d+(?:\.\d+)?$").mean() or 0.0
            if 0.02 <= numeric <= 0.98 and not p.personal:
                alerts.append(f"mixed types ({numeric:.0%} of values are numbers)")
    if p.future:
        alerts.append(f"{p.future} values in the future")
    if not alerts:
        return p
    return ColumnProfile(**{**p.to_dict(), "alerts": alerts})


# -- drift -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """How one column moved between two profiles."""

    column: str
    null_rate_delta: float
    distinct_delta: int
    mean_shift: float | None  # in standard deviations of the first profile
    quantile_shifts: dict[str, float] | None
    psi: float | None  # population stability index over the first profile's histogram bins
    drifted: bool

    def to_dict(self) -> dict[str, object]:
        """The drift as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class DriftReport:
    """Drift between two profiles of the same dataset."""

    dataset: str
    rows_before: int
    rows_after: int
    added_columns: list[str]
    removed_columns: list[str]
    type_changes: list[dict[str, str]]
    columns: list[ColumnDrift]

    def to_dict(self) -> dict[str, object]:
        """The report as a plain dict."""
        return asdict(self)


PSI_DRIFT = 0.2


def _cdf(histogram: list[dict[str, float]], x: float) -> float:
    """Share of a histogram's mass at or below `x`, linear within bins."""
    total = sum(b["count"] for b in histogram) or 1
    mass = 0.0
    for b in histogram:
        start, end, count = b["start"], b["end"], b["count"]
        if x >= end:
            mass += count
        elif x > start and end > start:
            mass += count * (x - start) / (end - start)
    return mass / total


def psi(before: list[dict[str, float]], after: list[dict[str, float]]) -> float:
    """Population stability index of `after` against the bins of `before`."""
    total = sum(b["count"] for b in before) or 1
    edges = [before[0]["start"]] + [b["end"] for b in before]
    expected = [b["count"] / total for b in before]
    actual = []
    low = 0.0
    for i, edge in enumerate(edges[1:]):
        high = 1.0 if i == len(edges) - 2 else _cdf(after, edge)
        actual.append(max(high - low, 0.0))
        low = high
    eps = 1e-4
    return round(
        sum(
            (a - e) * math.log((a + eps) / (e + eps)) for a, e in zip(actual, expected, strict=True)
        ),
        6,
    )


def compare(before: DatasetProfile, after: DatasetProfile) -> DriftReport:
    """Describe drift between two profiles: shifts per column, new, removed and retyped columns."""
    a = {c.column: c for c in before.column_profiles}
    b = {c.column: c for c in after.column_profiles}
    drifts = []
    for name in a.keys() & b.keys():
        x, y = a[name], b[name]
        if x.dtype != y.dtype:
            continue
        mean_shift = None
        if x.mean is not None and y.mean is not None:
            scale = x.std or 1.0
            mean_shift = round((y.mean - x.mean) / scale, 6)
        qs = None
        if x.quantiles and y.quantiles:
            qs = {
                q: round(y.quantiles[q] - x.quantiles[q], 6)
                for q in x.quantiles
                if x.quantiles[q] is not None and y.quantiles.get(q) is not None
            }
        index = psi(x.histogram, y.histogram) if x.histogram and y.histogram else None
        null_delta = round(y.null_rate - x.null_rate, 6)
        drifted = bool(
            (index is not None and index >= PSI_DRIFT)
            or abs(null_delta) >= 0.05
            or (mean_shift is not None and abs(mean_shift) >= 0.5)
        )
        drifts.append(
            ColumnDrift(name, null_delta, y.distinct - x.distinct, mean_shift, qs, index, drifted)
        )
    return DriftReport(
        dataset=after.dataset,
        rows_before=before.rows,
        rows_after=after.rows,
        added_columns=sorted(b.keys() - a.keys()),
        removed_columns=sorted(a.keys() - b.keys()),
        type_changes=[
            {"column": n, "before": a[n].dtype, "after": b[n].dtype}
            for n in sorted(a.keys() & b.keys())
            if a[n].dtype != b[n].dtype
        ],
        columns=sorted(drifts, key=lambda d: d.column),
    )


__all__ = [
    "ColumnDrift",
    "ColumnProfile",
    "DatasetProfile",
    "DriftReport",
    "PiiKind",
    "compare",
    "profile",
    "profile_columns",
    "psi",
]
