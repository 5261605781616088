"""Column statistics in one lazy pass, PII detection, and drift between two profiles.

`profile()` reads a LazyFrame with three collects: the row count, a systematic sample of the
string columns (for PII detection and value shapes), and one aggregation pass that computes
every statistic of every column at once, top values of publishable low-cardinality columns
included. Statistics common to a kind are multi-column expressions and PII detection screens
every column in one vectorised query, so the cost grows linearly with the number of columns.

The resulting record is value-free by construction: a cell value (top value, min, max,
quantile, histogram edge) appears only for a column the catalog declares non-personal and
`publish: values`, and only when at least `k` rows hold it. Every other column, and every
ad-hoc profile, gets counts, rates, lengths and masked shapes; mean, std and skew only when at
least `k` rows hold at least `k` distinct values. Every frequency table drops groups smaller
than `k`.

>>> from datetime import date
>>> from govlib import catalog, sources
>>> ds = catalog.load("catalog.yaml").dataset("customers")
>>> p = profile(sources.scan(ds), dataset="customers", as_of=date(2025, 1, 31), declared=ds)
>>> p.column("email").nulls
30
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import polars as pl
import polars.selectors as cs

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
EngineType = Literal["in-memory", "streaming"]
STREAM_CHUNK = 250  # whole-column expressions per streaming query
STREAM_COLUMNS = 1_000  # columns per streaming statistics query
EXACT_DISTINCT_UP_TO = 100_000  # streaming: below this estimate, distinct values are counted


@dataclass(frozen=True, slots=True)
class ColumnProfile:
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


def _col(name: str) -> pl.Expr:
    """Column `name` taken literally: a name such as `^a.*$` or `*` is not a pattern."""
    return cs.by_name(name).as_expr()


def _cols(names: list[str]) -> pl.Expr:
    return cs.by_name(*names).as_expr()


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

    Collects three times (row count, string sample, one aggregation pass) plus small passes
    for free text and masked cards. `streaming=True` runs the passes on polars' streaming
    engine, for data larger than memory. Values (top values, min, max, quantiles, histogram
    edges) are kept only for columns `declared` allows to publish them, and only values held
    by at least `k` rows.
    """
    engine: EngineType = "streaming" if streaming else "in-memory"
    schema = lf.collect_schema()
    rows = lf.select(pl.len()).collect(engine=engine).item()
    strings = [c for c, t in schema.items() if t == pl.String]
    step = max(1, math.ceil(rows / sample_rows)) if rows else 1
    sample = (
        lf.select(_cols(strings)).gather_every(step).collect(engine=engine)
        if strings
        else pl.DataFrame()
    )
    findings, mismatches = _detect(lf, dataset, schema, sample, declared, step=step, engine=engine)
    personal = {f.column: f for f in findings}
    publish = {
        c for c in schema if declared is not None and declared.publishable(c) and c not in personal
    }
    key = declared.primary_key if declared is not None and declared.primary_key else None
    stats, tops = (
        _statistics(lf, schema, rows, as_of, publish, sample, key=key, k=k, streaming=streaming)
        if rows
        else ({}, {})
    )
    if declared is not None and rows:
        mismatches += _unmasked_cards(lf, dataset, declared, strings, engine)
    texts = _sample_texts(sample, stats, k) if rows else {}
    profiles = [
        _column_profile(
            dataset, column, dtype, rows, stats, personal.get(column), tops.get(column),
            texts.get(column, _Texts()), k, publish=column in publish,
        )
        for column, dtype in schema.items()
    ]  # fmt: skip
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


def _detect(
    lf: pl.LazyFrame,
    dataset: str,
    schema: pl.Schema,
    sample: pl.DataFrame,
    declared: Dataset | None,
    *,
    step: int,
    engine: EngineType,
) -> tuple[list[pii.PiiFinding], list[pii.CatalogFinding]]:
    """Detect PII per column and merge it with the catalog.

    Columns a vectorised screen clears (and the catalog does not declare personal) skip the
    per-column detectors, which keeps wide data linear and fast.
    """
    declared_personal = set(declared.pii_columns()) if declared is not None else set()
    suspects = pii.candidates(sample) | declared_personal
    clear = pii.Detection(None, 0.0, 0.0, "no pattern matched", {})
    detections: dict[str, pii.Detection] = {}
    for column, dtype in schema.items():
        if dtype != pl.String:
            detections[column] = pii.detect_other(column, dtype, {})
        elif column in suspects:
            detections[column] = pii.detect_strings(column, sample[column])
        else:
            detections[column] = clear
    for column, det in detections.items():
        if det.kind is PiiKind.FREE_TEXT and step > 1:  # count embedded PII over every row
            texts = (
                lf.select(_col(column).alias("v"))
                .filter(pl.col("v").str.contains(pii.ANY_EMBEDDED))
                .collect(engine=engine)["v"]
            )
            detections[column] = replace(det, embedded=pii.embedded_counts(texts))
    return pii.classify(dataset, detections, declared)


def _unmasked_cards(
    lf: pl.LazyFrame, dataset: str, declared: Dataset, strings: list[str], engine: EngineType
) -> list[pii.CatalogFinding]:
    found = []
    for column, spec in declared.columns.items():
        if spec.masked and column in strings:
            raw = pii.raw_card_count(
                lf.select(_col(column).alias("v"))
                .filter(pl.col("v").str.contains(r"^[\d\s-]{13,25}$"))
                .collect(engine=engine)["v"]
            )
            if raw:
                detail = "raw card numbers where the catalog says the column is masked"
                found.append(pii.CatalogFinding(dataset, column, "unmasked_card", detail, raw))
    return found


def _statistics(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    rows: int,
    as_of: date,
    publish: set[str],
    sample: pl.DataFrame,
    *,
    key: list[str] | None,
    k: int,
    streaming: bool,
) -> tuple[dict[str, object], dict[str, list[dict[str, object]]]]:
    """Every statistic in one pass (more when streaming), and publishable top values.

    Top values are counted only for publishable columns of low cardinality.
    """
    dup_keys = (pl.len() - pl.struct(_cols(key)).n_unique()).alias("__dup_keys") if key else None
    # A sample can only under-count distinct values: every publishable column that is
    # low-cardinality in full is among these candidates.
    candidates = [
        c
        for c in schema
        if c in publish
        and (
            schema[c] in (pl.Boolean, pl.Categorical)
            or (schema[c] == pl.String and sample[c].n_unique() <= LOW_CARDINALITY + 1)
        )
    ]
    if streaming:
        stats = _streamed_statistics(lf, schema, as_of, publish, candidates, k=k, dup_keys=dup_keys)
    else:  # one pass for every statistic
        exprs, whole_column = _aggregations(schema, as_of, publish=publish, k=k)
        exprs += whole_column + [_top_values(c) for c in candidates]
        exprs += [dup_keys] if dup_keys is not None else []
        stats = lf.select(exprs).collect(engine="in-memory").row(0, named=True)
    stats["__dup_rows"] = _duplicate_rows(lf, schema, stats, rows, exact=not streaming)
    tops = {c: stats[f"{c}|top"] for c in candidates if stats[f"{c}|distinct"] <= LOW_CARDINALITY}
    return stats, tops


def _streamed_statistics(
    lf: pl.LazyFrame,
    schema: pl.Schema,
    as_of: date,
    publish: set[str],
    candidates: list[str],
    *,
    k: int,
    dup_keys: pl.Expr | None,
) -> dict[str, object]:
    """Statistics on the streaming engine, in chunks of columns.

    The streaming engine's cost grows with the square of the expressions in one query; chunks
    keep it linear in the number of columns. Whole-column statistics (quantiles, histograms,
    exact small distinct counts, value counts) get passes of their own.
    """
    items = list(schema.items())
    stats: dict[str, object] = {}
    whole: list[pl.Expr] = []
    for i in range(0, max(len(items), 1), STREAM_COLUMNS):
        chunk = pl.Schema(items[i : i + STREAM_COLUMNS])
        exprs, more = _aggregations(chunk, as_of, publish=publish, k=k, approximate=True)
        exprs += [dup_keys] if dup_keys is not None and i == 0 else []
        whole += more
        if exprs:
            stats |= lf.select(exprs).collect(engine="streaming").row(0, named=True)
    whole += [  # estimates are coarse for small sets, where exact counts are cheap
        _col(c).drop_nulls().n_unique().alias(f"{c}|distinct")
        for c in schema
        if stats[f"{c}|distinct"] <= EXACT_DISTINCT_UP_TO  # type: ignore[operator]
    ]
    stats |= _streamed_row(lf, whole)
    low = [c for c in candidates if stats[f"{c}|distinct"] <= LOW_CARDINALITY]  # type: ignore[operator]
    return stats | _streamed_row(lf, [_top_values(c) for c in low])


def _streamed_row(lf: pl.LazyFrame, exprs: list[pl.Expr]) -> dict[str, object]:
    """The one-row result of `exprs` on the streaming engine, `STREAM_CHUNK` at a time."""
    row: dict[str, object] = {}
    for i in range(0, len(exprs), STREAM_CHUNK):
        chunk = exprs[i : i + STREAM_CHUNK]
        row |= lf.select(chunk).collect(engine="streaming").row(0, named=True)
    return row


def _duplicate_rows(
    lf: pl.LazyFrame, schema: pl.Schema, stats: dict[str, object], rows: int, *, exact: bool
) -> int:
    """Rows equal to an earlier row.

    A column whose values are all present and distinct proves there are none; only without one
    (or with estimated counts) is the costlier row hash worth a pass.
    """
    if exact and any(stats[f"{c}|distinct"] == rows and stats[f"{c}|nulls"] == 0 for c in schema):
        return 0
    return int(
        lf.select(pl.struct(pl.all()).hash().alias("row"))
        .group_by("row")
        .len()
        .select((pl.col("len") - 1).sum())
        .collect(engine="streaming" if not exact else "in-memory")
        .item()
    )


def profile_columns(
    lf: pl.LazyFrame, *, dataset: str, as_of: date | None = None
) -> list[ColumnProfile]:
    """Just the column profiles of `profile()`."""
    return profile(lf, dataset=dataset, as_of=as_of or date.today()).column_profiles


def _top_values(column: str) -> pl.Expr:
    return _col(column).value_counts(sort=True, name="count").implode().alias(f"{column}|top")


def _aggregations(
    schema: pl.Schema,
    as_of: date,
    *,
    publish: set[str],
    k: int = K_ANONYMITY,
    approximate: bool = False,
) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Every statistic of every column: scalar expressions, and those that hold whole columns.

    Statistics common to a kind are one multi-column expression each, so the cost grows
    linearly with the number of columns. Only `publish` columns get value statistics (min,
    max, quantiles, histogram). `approximate=True` counts distinct values with HyperLogLog
    (`approx_n_unique`), which keeps memory flat on data larger than memory.
    """
    by_kind: dict[str, list[str]] = {}
    for c, dtype in schema.items():
        by_kind.setdefault(_kind(dtype), []).append(c)
    exprs: list[pl.Expr] = []
    if schema:
        every = _cols(list(schema)).drop_nulls()
        distinct = every.approx_n_unique() if approximate else every.n_unique()
        exprs += [
            _cols(list(schema)).null_count().name.suffix("|nulls"),
            distinct.name.suffix("|distinct"),
        ]
    if numeric := by_kind.get("numeric"):
        col = _cols(numeric)
        exprs += [
            (col.len() * 8).name.suffix("|bytes"),
            col.mean().name.suffix("|mean"),
            col.std().name.suffix("|std"),
            col.skew().name.suffix("|skew"),
            (col == 0).sum().name.suffix("|zeros"),
            (col < 0).sum().name.suffix("|negatives"),
        ]
    if temporal := by_kind.get("temporal"):
        dates = [c for c in temporal if schema[c] == pl.Date]
        others = [c for c in temporal if schema[c] != pl.Date]
        exprs.append((_cols(temporal).len() * 8).name.suffix("|bytes"))
        if dates:
            exprs.append((_cols(dates) > pl.lit(as_of)).sum().name.suffix("|future"))
        if others:
            end = pl.lit(datetime.combine(as_of, datetime.max.time()))
            exprs.append((_cols(others) > end).sum().name.suffix("|future"))
    if strings := by_kind.get("string"):
        col = _cols(strings)
        length = col.str.len_chars()
        exprs += [
            col.str.len_bytes().sum().name.suffix("|bytes"),
            length.min().name.suffix("|lmin"),
            length.mean().name.suffix("|lmean"),
            length.max().name.suffix("|lmax"),
            (col.str.strip_chars() == "").sum().name.suffix("|empty"),
        ]
    if booleans := by_kind.get("boolean"):
        col = _cols(booleans)
        exprs += [col.sum().name.suffix("|true"), (col.len() // 8).name.suffix("|bytes")]
    whole = [e for c in schema if c in publish for e in _value_statistics(c, schema[c], k)]
    return exprs, whole


def _value_statistics(column: str, dtype: pl.DataType, k: int) -> list[pl.Expr]:
    """Min, max, quantiles and histogram of a publishable column, with how many rows hold them.

    `kmin`/`kmax` are the lowest and highest values held by at least `k` rows.
    """
    kind = _kind(dtype)
    if kind not in ("numeric", "temporal"):
        return []
    col = _col(column)
    held = col.filter(pl.len().over(col) >= k)
    if kind == "temporal":
        return [held.min().alias(f"{column}|kmin"), held.max().alias(f"{column}|kmax")]
    number = col.cast(pl.Float64)
    return [
        held.min().cast(pl.Float64).alias(f"{column}|kmin"),
        held.max().cast(pl.Float64).alias(f"{column}|kmax"),
        number.min().alias(f"{column}|min"),
        number.max().alias(f"{column}|max"),
        *(col.quantile(q).cast(pl.Float64).alias(f"{column}|q{q}") for q in QUANTILES),
        *((col == col.quantile(q)).sum().alias(f"{column}|n{q}") for q in QUANTILES),
        number.hist(bin_count=HISTOGRAM_BINS, include_breakpoint=True)
        .implode()
        .alias(f"{column}|hist"),
    ]


@dataclass(frozen=True, slots=True)
class _Texts:
    """What the sample shows about one string column: masked shapes and a numeric share."""

    shapes: list[dict[str, object]] = field(default_factory=list)
    suppressed: int = 0
    numeric: float | None = None  # share of stripped non-null values that are numbers


def _sample_texts(sample: pl.DataFrame, stats: dict[str, object], k: int) -> dict[str, _Texts]:
    """Shapes (groups of at least `k`) and numeric shares of every sampled string column.

    One long frame and a few group-bys for all columns, whatever the width.
    """
    if sample.width == 0:
        return {}
    long = pii.long_values(sample).drop_nulls("v")
    numeric = dict(
        long.group_by("column")
        .agg(pl.col("v").str.strip_chars().str.contains(r"^[-+]?\d+(?:\.\d+)?$").mean())
        .iter_rows()
    )
    short = [c for c in sample.columns if float(stats.get(f"{c}|lmean") or 0.0) <= SHAPE_MAX_LENGTH]
    counts = (
        long.filter(pl.col("column").is_in(short))
        .group_by("column", _shape_expr("v").alias("shape"))
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
        c: _Texts(shapes.get(c, []), int(small.get(c) or 0), numeric.get(c)) for c in sample.columns
    }


def _column_profile(
    dataset: str,
    column: str,
    dtype: pl.DataType,
    rows: int,
    stats: dict[str, object],
    finding: pii.PiiFinding | None,
    tops: list[dict[str, object]] | None,
    texts: _Texts,
    k: int,
    *,
    publish: bool,
) -> ColumnProfile:
    kind = _kind(dtype)
    get = stats.get
    nulls = int(get(f"{column}|nulls") or 0) if rows else 0  # type: ignore[call-overload]
    distinct = int(get(f"{column}|distinct") or 0) if rows else 0  # type: ignore[call-overload]
    values: dict[str, object] = {}
    suppressed = 0
    if kind == "numeric" and finding is None and rows:
        values, suppressed = _numeric_values(column, stats, rows - nulls, distinct, k, publish)
    elif kind == "temporal" and rows:
        values["future"] = int(get(f"{column}|future") or 0)  # type: ignore[call-overload]
        if publish:
            values["min"] = _temporal_value(get(f"{column}|kmin"))
            values["max"] = _temporal_value(get(f"{column}|kmax"))
    elif kind == "string" and rows:
        values |= {
            "length_min": get(f"{column}|lmin"),
            "length_mean": _float(get(f"{column}|lmean")),
            "length_max": get(f"{column}|lmax"),
            "empty": int(get(f"{column}|empty") or 0),  # type: ignore[call-overload]
            "shapes": texts.shapes,
        }
        suppressed += texts.suppressed
    elif kind == "boolean" and rows and rows - nulls >= k:
        values["true_count"] = int(get(f"{column}|true") or 0)  # type: ignore[call-overload]
    if tops is not None and finding is None and publish:
        values["top_values"], hidden = _kept_tops(tops, column, k)
        suppressed += hidden
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
        publishable=publish,
        pii_kind=finding.kind if finding else None,
        category=finding.category if finding else Category.NON_PERSONAL.value,
        suppressed=suppressed,
        **values,  # type: ignore[arg-type]
    )
    return _with_alerts(profile, dtype, texts, skew=_float(get(f"{column}|skew")))


def _kept_tops(
    tops: list[dict[str, object]], column: str, k: int
) -> tuple[list[dict[str, object]], int]:
    """The top values held by at least `k` rows, and how many rows the rest hold."""
    key = next(iter(tops[0])) if tops else column
    kept, hidden = [], 0
    for entry in tops:
        value, count = entry[key], int(entry["count"])  # type: ignore[call-overload]
        if value is None:
            continue
        if count >= k:
            kept.append({"value": value, "count": count})
        else:
            hidden += count
    return kept[:TOP_VALUES], hidden


def _numeric_values(
    column: str, stats: dict[str, object], present: int, distinct: int, k: int, publish: bool
) -> tuple[dict[str, object], int]:
    """Numeric statistics fit to share, and how many values a histogram left out.

    Mean, standard deviation and skewness are aggregates, kept when at least `k` rows hold at
    least `k` distinct values (fewer would let them pin values down: the mean of a constant
    column is its value). Min, max and quantiles are values: only for a publishable column,
    and only values held by at least `k` rows. The histogram's edges start at the minimum and
    end at the maximum, so it is kept only when both of those are held by `k` rows.
    """
    get = stats.get
    values: dict[str, object] = {
        "zeros": int(get(f"{column}|zeros") or 0),  # type: ignore[call-overload]
        "negatives": int(get(f"{column}|negatives") or 0),  # type: ignore[call-overload]
    }
    if present >= k and distinct >= k:
        values |= {s: _float(get(f"{column}|{s}")) for s in ("mean", "std", "skew")}
    if not publish:
        return values, 0
    values["min"], values["max"] = _float(get(f"{column}|kmin")), _float(get(f"{column}|kmax"))
    values["quantiles"] = {
        f"p{round(q * 100):02d}": _float(get(f"{column}|q{q}"))
        if int(get(f"{column}|n{q}") or 0) >= k  # type: ignore[call-overload]
        else None
        for q in QUANTILES
    }
    exact = (_float(get(f"{column}|min")), _float(get(f"{column}|max")))
    if values["min"] is None or exact != (values["min"], values["max"]):
        return values, 0
    start, bins = values["min"], []
    for b in get(f"{column}|hist") or []:  # type: ignore[attr-defined]
        bins.append({"start": start, "end": _float(b["breakpoint"]), "count": int(b["count"])})
        start = _float(b["breakpoint"])
    values["histogram"] = [b | {"count": b["count"] if b["count"] >= k else 0} for b in bins]
    return values, sum(b["count"] for b in bins if 0 < b["count"] < k)


def _with_alerts(
    p: ColumnProfile, dtype: pl.DataType, texts: _Texts, *, skew: float | None
) -> ColumnProfile:
    """`p` with its alerts; `skew` is the computed skewness, named only if `p` publishes it."""
    alerts = []
    present = p.rows - p.nulls
    if p.rows and p.nulls == p.rows:
        alerts.append("all null")
    elif p.rows and p.distinct == 1:
        alerts.append("constant")
    if p.rows and p.nulls != p.rows and p.null_rate >= HIGH_NULL_RATE:
        alerts.append(f"high null rate ({p.null_rate:.0%})")
    if skew is not None and abs(skew) >= SKEW_LIMIT and not p.personal:
        alerts.append(f"skewed (skewness {p.skew:.1f})" if p.skew is not None else "skewed")
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
    numeric = texts.numeric
    if p.kind == "string" and numeric is not None and 0.02 <= numeric <= 0.98 and not p.personal:
        alerts.append(f"mixed types ({numeric:.0%} of values are numbers)")
    if p.future:
        alerts.append(f"{p.future} values in the future")
    return replace(p, alerts=alerts) if alerts else p


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
