"""Quality: Great Expectations suites as files, value-free three-state results, dimension scores.

Suites live as plain GX 1.x JSON in `expectations/`. `validate()` runs a suite for real through
an ephemeral GX context on a pandas frame converted through Arrow, with a result format that
keeps counts and drops values, and adds the checks GX cannot express (referential integrity,
duplicate subjects). Every check maps to one quality dimension; dimension scores and the
catalog's gate turn the result into a verdict a scheduler can act on.

Only this module imports great_expectations, lazily: commands that do not validate stay fast.

Scores: a check's pass rate is `1 - unexpected / elements` (1 or 0 for table-level checks); a
dimension's score is 100 x the mean pass rate of its checks; the overall score is the mean of the
dimension scores that have checks. Checks in state "error" are left out of every score and make
the result an error instead.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from pathlib import Path
from typing import Any, Literal

import polars as pl
import polars.selectors as cs

from govlib import identity
from govlib.catalog import Catalog, Dataset, Gate, PiiKind
from govlib.errors import GovlibError

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")
Status = Literal["passed", "failed", "error"]
RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "exclude_unexpected_values": True,
    "partial_unexpected_count": 0,
}
DIMENSION_OF_TYPE = {
    "expect_column_values_to_not_be_null": "completeness",
    "expect_table_row_count_to_be_between": "completeness",
    "expect_table_row_count_to_equal": "completeness",
    "expect_column_values_to_be_unique": "uniqueness",
    "expect_compound_columns_to_be_unique": "uniqueness",
    "expect_select_column_values_to_be_unique_within_record": "uniqueness",
    "expect_column_pair_values_a_to_be_greater_than_b": "consistency",
    "expect_column_pair_values_to_be_equal": "consistency",
    "expect_table_columns_to_match_set": "consistency",
    "expect_table_columns_to_match_ordered_list": "consistency",
    "expect_column_to_exist": "consistency",
}
PERSONAL_KWARGS = ("value_set",)
VALUE_KWARGS = ("min_value", "max_value", "value")  # literal bounds may be a person's value
# expectations whose bounds are cell values of their column (not lengths, counts or shares)
VALUE_BOUNDED = (
    "expect_column_values_to_be_between",
    "expect_column_min_to_be_between",
    "expect_column_max_to_be_between",
    "expect_column_mean_to_be_between",
    "expect_column_median_to_be_between",
    "expect_column_sum_to_be_between",
)


class SuiteError(GovlibError):
    """A suite file that is missing, malformed, or holds entries GX would drop."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome: counts and a state, never a value of the data."""

    dataset: str
    check: str
    column: str | None
    kwargs: dict[str, Any]
    dimension: str
    status: Status
    element_count: int
    unexpected_count: int
    unexpected_percent: float
    missing_count: int
    source: str = "gx"  # "gx" or "govlib"
    blocking: bool = False
    reason: str = ""  # why a check is in state "error"

    def to_dict(self) -> dict[str, object]:
        """The result as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class QualityResult:
    """A dataset's validation: every check, a score per dimension, and the gate's verdict."""

    dataset: str
    suite: str | None
    as_of: str
    rows: int
    checks: list[CheckResult]
    scores: dict[str, float | None]
    overall: float | None
    gate: dict[str, float | None]
    gate_failures: list[str]
    status: Literal["passed", "failed", "error"]
    counts: dict[str, int] = field(default_factory=dict)  # passed, failed, error

    def to_dict(self) -> dict[str, object]:
        """The result as a plain, JSON-serialisable dict."""
        return asdict(self)

    @property
    def exit_code(self) -> int:
        """0 when the gate holds, 1 when it fails, 2 when checks could not run."""
        return {"passed": 0, "failed": 1, "error": 2}[self.status]


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent converting to pandas and inside GX (for benchmarks)."""

    convert: float
    validate: float


# -- suites ----------------------------------------------------------------------------------

EMAIL_REGEX = identity.EMAIL_REGEX
PHONE_REGEX = r"^\+?[\d\s().-]{7,20}$"


def suggest(profile, *, name: str, frame: pl.LazyFrame | None = None) -> dict[str, Any]:
    """A starter suite from a profile; it passes on the data it came from.

    Not null for complete columns, unique for key candidates, regexes for detected emails and
    phones, bounds on the row count, and bounds that quote no value: no negatives, no dates
    after `as_of`. Values (value sets, min and max) only for columns the catalog allows to
    publish them: complete when `frame` (the profiled data) is given, else what the profile
    kept (values held by at least k rows, with `mostly` set to match). Thresholds (`mostly`)
    are set just under what the data shows.
    """
    rows = profile.rows
    out: list[dict[str, Any]] = []

    def add(kind: str, meta: str, **kwargs: Any) -> None:
        out.append({"type": kind, "kwargs": kwargs, "meta": {"suggested": meta}})

    add(
        "expect_table_row_count_to_be_between", f"{rows} rows seen",
        min_value=rows // 2, max_value=rows * 2,
    )  # fmt: skip
    for c in profile.column_profiles:
        present = c.rows - c.nulls
        if c.rows and c.nulls == 0:
            add("expect_column_values_to_not_be_null", "no nulls seen", column=c.column)
        if c.rows and c.nulls == 0 and c.distinct == c.rows and c.kind in ("numeric", "string"):
            add("expect_column_values_to_be_unique", "every value distinct", column=c.column)
        if c.pii_kind in ("email", "phone") and present:
            finding = next(f for f in profile.pii if f.column == c.column)
            regex = EMAIL_REGEX if c.pii_kind == "email" else PHONE_REGEX
            kwargs: dict[str, Any] = {"column": c.column, "regex": regex}
            share = _mostly(finding.share)
            if share is not None:
                kwargs["mostly"] = share
            add("expect_column_values_to_match_regex", f"detected {c.pii_kind}", **kwargs)
        if c.personal or not present:
            continue
        for kind, meta, kwargs in _value_expectations(c, frame) or _value_free_bounds(c):
            add(kind, meta, **kwargs)
    return {"name": name, "meta": {"suggested_from": profile.dataset}, "expectations": out}


def _mostly(share: float) -> float | None:
    return None if share >= 1.0 else max(0.0, math.floor(share * 100) / 100 - 0.01)


Suggestion = tuple[str, str, dict[str, Any]]


def _value_free_bounds(c) -> list[Suggestion]:
    """Bounds that quote no value of the data: no negatives seen, no dates after `as_of`."""
    between = "expect_column_values_to_be_between"
    if c.kind == "numeric" and c.negatives == 0:
        return [(between, "no negative values seen", {"column": c.column, "min_value": 0})]
    naive_date = c.dtype == "date" or (c.dtype.startswith("datetime") and "," not in c.dtype)
    if c.kind == "temporal" and c.future == 0 and naive_date:
        bound = {"$PARAMETER": "as_of"}
        return [(between, "no dates after as_of seen", {"column": c.column, "max_value": bound})]
    return []


def _value_expectations(c, frame: pl.LazyFrame | None) -> list[Suggestion]:
    """A value set or a range for a column allowed to publish its values.

    From `frame` when given (complete: the steward allowed these values), else from the
    profile: its top values, and a range only where the histogram shows the extremes are the
    lowest and highest values held by k rows.
    """
    if not c.publishable:
        return []
    present = c.rows - c.nulls
    if c.kind == "string" and c.distinct <= 20 and (c.top_values or frame is not None):
        if frame is not None:
            values = frame.select(cs.by_name(c.column).drop_nulls().unique()).collect()
            kwargs: dict[str, Any] = {"value_set": sorted(str(v) for v in values.to_series())}
        else:
            kept = sum(int(t["count"]) for t in c.top_values)
            kwargs = {"value_set": sorted(str(t["value"]) for t in c.top_values)}
            if (share := _mostly(kept / present)) is not None:
                kwargs["mostly"] = share
        set_type = "expect_column_values_to_be_in_set"
        return [(set_type, "low-cardinality categorical", {"column": c.column, **kwargs})]
    if c.kind not in ("numeric", "temporal"):
        return []
    if frame is not None:
        col = cs.by_name(c.column).as_expr()
        lo, hi = frame.select(col.min().alias("lo"), col.max().alias("hi")).collect().row(0)
        lo, hi = (_bound(lo), _bound(hi))
    elif c.histogram:
        lo, hi = c.min, c.max
    else:
        return []
    if lo is None or hi is None:
        return []
    between = "expect_column_values_to_be_between"
    return [(between, "range seen", {"column": c.column, "min_value": lo, "max_value": hi})]


def _bound(value: object) -> object:
    """A min or max as a suite states it: numbers as they are, dates as ISO datetimes."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00"
    return value


def suite_path(catalog: Catalog, name: str) -> Path:
    """Where suite `name` lives: `expectations/<name>.json` beside the catalog."""
    return catalog.expectations_dir / f"{name}.json"


def read_suite(path: Path) -> dict[str, Any]:
    """Read a suite's JSON, with clear errors for a missing or malformed file."""
    if not path.is_file():
        raise SuiteError(
            f"{path}: suite file not found. Write one, or run "
            f"`govlib suggest DATASET --out {path}` for a starter"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: expected an object with a list of 'expectations'")
    return data


def _quiet_gx() -> None:
    for name in ("great_expectations", "great_expectations.core.expectation_suite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def load_suite(path: Path):
    """Load a suite strictly: every entry must survive GX's parsing, or the entry is named."""
    import great_expectations as gx

    _quiet_gx()
    data = read_suite(path)
    entries = data["expectations"]
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or "type" not in entry:
            raise SuiteError(f"{path}: expectations[{i}] has no 'type'")
    suite = gx.ExpectationSuite(
        name=data.get("name", path.stem),
        expectations=[_indexed(e, i) for i, e in enumerate(entries)],
    )
    if len(suite.expectations) != len(entries):
        kept = {e.meta.get("govlib_index") for e in suite.expectations}
        dropped = [i for i in range(len(entries)) if i not in kept]
        i = dropped[0]
        raise SuiteError(
            f"{path}: expectations[{i}] ({entries[i]['type']}) could not be loaded and GX "
            f"would skip it silently ({len(dropped)} dropped in all). Check its type and kwargs"
        )
    return suite


def _indexed(entry: dict[str, Any], i: int) -> dict[str, Any]:
    meta = dict(entry.get("meta") or {})
    meta["govlib_index"] = i
    return {**entry, "meta": meta}


# -- running GX ------------------------------------------------------------------------------


def run_gx(frame: pl.DataFrame, suite, *, as_of: date) -> tuple[list[dict[str, Any]], Timings]:
    """Validate a whole suite in one GX call; return plain result dicts in suite order.

    This is the one function that calls Great Expectations: a faster engine can sit beside it.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    _quiet_gx()
    start = time.perf_counter()
    pdf = frame.to_pandas()
    converted = time.perf_counter()
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    batch = (
        context.data_sources.add_pandas("govlib")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": pdf})
    )
    end_of_day = datetime.combine(as_of, dtime(23, 59, 59)).isoformat()
    result = batch.validate(
        suite,
        expectation_parameters={"as_of": end_of_day, "as_of_date": as_of.isoformat()},
        result_format=RESULT_FORMAT,
    )
    done = time.perf_counter()
    rows = []
    for r in result.results:
        d = r.to_json_dict()
        config = r.expectation_config
        rows.append(
            {
                "index": config.meta.get("govlib_index"),
                "type": config.type,
                "kwargs": dict(config.kwargs),
                "meta": dict(config.meta),
                "success": d["success"],
                "result": d.get("result") or {},
                "exception_info": d.get("exception_info") or {},
            }
        )
    rows.sort(key=lambda row: row["index"])
    return rows, Timings(convert=converted - start, validate=done - converted)


def _error_reason(info: dict[str, Any]) -> str | None:
    """The reason a check could not run, from either shape of GX's exception_info."""
    if not info:
        return None
    shapes = [info] if "raised_exception" in info else list(info.values())
    for shape in shapes:
        if isinstance(shape, dict) and shape.get("raised_exception"):
            # GX's messages can quote data values; keep only what names no value.
            message = str(shape.get("exception_message") or "")
            missing = re.search(r'The column "([^"]+)" in BatchData does not exist', message)
            if missing:
                return f"column {missing.group(1)!r} is not in the data"
            trace = str(shape.get("exception_traceback") or "").strip().splitlines()
            kind = trace[-1].split(":", 1)[0].rsplit(".", 1)[-1] if trace else "an error"
            return f"the check raised {kind} (is the column of a type this check takes?)"
    return None


def _dimension(kind: str, kwargs: dict[str, Any], meta: dict[str, Any], frame: pl.DataFrame) -> str:
    if meta.get("dimension") in DIMENSIONS:
        return str(meta["dimension"])
    if kind in DIMENSION_OF_TYPE:
        return DIMENSION_OF_TYPE[kind]
    column = kwargs.get("column")
    if (
        kind in ("expect_column_values_to_be_between", "expect_column_max_to_be_between")
        and column in frame.columns
        and frame.schema[column].is_temporal()
    ):
        return "timeliness"
    return "validity"


def _safe_kwargs(kind: str, kwargs: dict[str, Any], publishable: set[str]) -> dict[str, Any]:
    """Kwargs fit to share: value sets and value bounds are withheld unless publishable."""
    out = {}
    for key, value in kwargs.items():
        private = kwargs.get("column") not in publishable and kind in VALUE_BOUNDED
        if (
            key in PERSONAL_KWARGS
            and isinstance(value, list)
            and kwargs.get("column") not in publishable
        ):
            out[key] = f"<{len(value)} values withheld>"
        elif key in VALUE_KWARGS and private and value is not None and not isinstance(value, dict):
            out[key] = "<withheld>"
        elif key in ("result_format", "catch_exceptions"):
            continue
        else:
            out[key] = value
    return out


def _gx_checks(
    dataset: str, frame: pl.DataFrame, raw: list[dict[str, Any]], publishable: set[str]
) -> list[CheckResult]:
    checks = []
    for row in raw:
        result, kwargs = row["result"], row["kwargs"]
        reason = _error_reason(row["exception_info"])
        column = kwargs.get("column")
        if reason is None and column is not None and column not in frame.columns:
            reason = f"column {column!r} is not in the data"
        if reason is None and not row["success"] and not result:
            reason = "GX returned no result"
        elements = int(result.get("element_count") or (frame.height if reason is None else 0))
        unexpected = int(result.get("unexpected_count") or 0)
        if reason is None and "unexpected_count" not in result:
            unexpected = 0 if row["success"] else 1  # table-level: pass or fail as a whole
            elements = 1
        status: Status = "error" if reason else ("passed" if row["success"] else "failed")
        checks.append(
            CheckResult(
                dataset=dataset,
                check=row["type"],
                column=column,
                kwargs=_safe_kwargs(row["type"], kwargs, publishable),
                dimension=_dimension(row["type"], kwargs, row["meta"], frame),
                status=status,
                element_count=elements,
                unexpected_count=unexpected if status != "error" else 0,
                unexpected_percent=round(float(result.get("unexpected_percent") or 0.0), 6)
                if status != "error"
                else 0.0,
                missing_count=int(result.get("missing_count") or 0),
                blocking=bool(row["meta"].get("blocking", False)),
                reason=("could not run: " + reason) if reason else "",
            )
        )
    return checks


# -- checks GX cannot express -----------------------------------------------------------------


def referential_integrity(
    ds: Dataset, frame: pl.DataFrame, targets: dict[str, pl.DataFrame]
) -> list[CheckResult]:
    """For each declared relationship: non-null keys that point at no row of the target."""
    checks = []
    for rel in ds.relationships:
        target, column = rel.target
        keys = frame.select(pl.col(rel.column)).drop_nulls()
        known = targets[target].select(pl.col(column).alias(rel.column)).unique()
        orphans = keys.join(known, on=rel.column, how="anti").height
        checks.append(
            _govlib_check(
                ds.name, "referential_integrity", rel.column, {"references": rel.references},
                "consistency", keys.height, orphans, frame.height - keys.height,
            )
        )  # fmt: skip
    return checks


def normalised_phone(phone: pl.Expr, country: pl.Expr | None) -> pl.Expr:
    """E.164 of valid numbers, the region from the record's country (see `identity`)."""
    return identity.phone_keys(phone, country)


def duplicate_subjects(ds: Dataset, frame: pl.DataFrame) -> list[CheckResult]:
    """Rows whose email or phone key is shared with a row of another subject id.

    Keys come from `identity`: values that are no address or no valid number have none (a
    shared placeholder is not a shared person) and count as present but never shared.
    """
    key = identity.subject_key(ds)
    if key is None or key not in frame.columns:
        return []
    country = identity.country_column(ds, frame.columns)
    checks = []
    for column, spec in ds.columns.items():
        if spec.pii not in (PiiKind.EMAIL, PiiKind.PHONE) or column not in frame.columns:
            continue
        if spec.pii is PiiKind.EMAIL:
            norm = identity.email_keys(pl.col(column))
        else:
            norm = normalised_phone(pl.col(column), pl.col(country) if country else None)
        keyed = frame.select(pl.col(key), norm.alias("__norm")).drop_nulls("__norm")
        shared = keyed.filter(pl.col(key).n_unique().over("__norm") > 1).height
        present = frame.height - frame[column].null_count()
        checks.append(
            _govlib_check(
                ds.name, "duplicate_subjects", column, {"normalised": spec.pii.value},
                "uniqueness", present, shared, frame.height - present,
            )
        )  # fmt: skip
    return checks


def _govlib_check(
    dataset: str,
    check: str,
    column: str,
    kwargs: dict[str, Any],
    dimension: str,
    elements: int,
    unexpected: int,
    missing: int,
) -> CheckResult:
    return CheckResult(
        dataset=dataset,
        check=check,
        column=column,
        kwargs=kwargs,
        dimension=dimension,
        status="passed" if unexpected == 0 else "failed",
        element_count=elements,
        unexpected_count=unexpected,
        unexpected_percent=round(100 * unexpected / elements, 6) if elements else 0.0,
        missing_count=missing,
        source="govlib",
    )


# -- scores and the gate ---------------------------------------------------------------------


def score(checks: list[CheckResult]) -> tuple[dict[str, float | None], float | None]:
    """Score per dimension (0-100) and overall, from checks that ran."""
    scores: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        rates = [
            1 - c.unexpected_count / c.element_count if c.element_count else 1.0
            for c in checks
            if c.dimension == dim and c.status != "error"
        ]
        scores[dim] = round(100 * sum(rates) / len(rates), 2) if rates else None
    present = [s for s in scores.values() if s is not None]
    overall = round(sum(present) / len(present), 2) if present else None
    return scores, overall


def judge(
    dataset: str,
    suite: str | None,
    as_of: date,
    rows: int,
    checks: list[CheckResult],
    gate: Gate,
) -> QualityResult:
    """Scores, the gate's verdict and the counts, as one record."""
    scores, overall = score(checks)
    thresholds = gate.model_dump()
    failures = []
    for dim, minimum in thresholds.items():
        value = overall if dim == "overall" else scores.get(dim)
        if minimum is not None and value is not None and value < minimum:
            failures.append(f"{dim} {value:.2f} < {minimum:g}")
    counts = {s: sum(c.status == s for c in checks) for s in ("passed", "failed", "error")}
    status = "error" if counts["error"] else ("failed" if failures else "passed")
    return QualityResult(
        dataset=dataset,
        suite=suite,
        as_of=as_of.isoformat(),
        rows=rows,
        checks=checks,
        scores=scores,
        overall=overall,
        gate=thresholds,
        gate_failures=failures,
        status=status,
        counts=counts,
    )


# -- the whole step --------------------------------------------------------------------------


def validate(
    ds: Dataset,
    *,
    as_of: date,
    suite: str | None = None,
    frame: pl.DataFrame | None = None,
) -> QualityResult:
    """Validate a catalog dataset with its suite plus govlib's cross-dataset checks."""
    from govlib import sources

    catalog = ds.catalog
    name = suite or ds.suite
    if frame is None:
        frame = sources.scan(ds).collect()
    publishable = {c for c in ds.columns if ds.publishable(c)}
    checks: list[CheckResult] = []
    if name is not None:
        gx_suite = load_suite(suite_path(catalog, name))
        raw, _ = run_gx(frame, gx_suite, as_of=as_of)
        checks += _gx_checks(ds.name, frame, raw, publishable)
    targets = {
        rel.target[0]: sources.scan(catalog.dataset(rel.target[0])).collect()
        for rel in ds.relationships
    }
    checks += referential_integrity(ds, frame, targets)
    checks += duplicate_subjects(ds, frame)
    return judge(ds.name, name, as_of, frame.height, checks, catalog.gate_for(ds.name))
