"""The Great Expectations runner: the one module that imports great_expectations, lazily.

`run_gx` validates a suite (or the entries the compiled engine leaves to GX) in one GX call on
a pandas frame converted from polars, with a result format that keeps counts and drops values;
`gx_checks` turns GX's results, and the compiled engine's (same shape), into our own value-free
`CheckResult` records. GX is the reference the compiled checks are tested against.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from govlib.engine.params import parameters
from govlib.quality.results import CheckResult, Shape, Status, dimension, safe_kwargs
from govlib.quality.suites import SuiteError, read_suite

# Expectations about the table's shape: a missing column is their finding, not an error.
EXISTENCE = (
    "expect_column_to_exist",
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
)

RESULT_FORMAT = {
    "result_format": "SUMMARY",
    "exclude_unexpected_values": True,
    "partial_unexpected_count": 0,
}


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds spent converting to pandas and inside GX (for benchmarks)."""

    convert: float
    validate: float


def _quiet_gx() -> None:
    for name in ("great_expectations", "great_expectations.core.expectation_suite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


@contextmanager
def _gx_warnings() -> Iterator[None]:
    """GX warns that string row conditions are deprecated; suites keep GX 1.x's JSON form."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module="great_expectations")
        warnings.filterwarnings(
            "ignore", message=".*condition_parser.*", category=DeprecationWarning
        )
        warnings.filterwarnings("ignore", message=".*row_condition.*", category=DeprecationWarning)
        yield


def load_suite(path: Path, *, only: list[int] | None = None) -> Any:
    """Load a suite strictly: every entry must survive GX's parsing, or the entry is named.

    `only` keeps the entries at these positions (the ones the compiled engine leaves to GX).
    """
    return gx_suite(read_suite(path), path, only=only)


def gx_suite(data: dict[str, Any], path: Path, *, only: list[int] | None = None) -> Any:
    """A GX suite of the read suite's entries (all, or those at `only`), checked entry by entry."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    _quiet_gx()
    entries = data["expectations"]
    chosen = [(i, _indexed(entries[i], i)) for i in (range(len(entries)) if only is None else only)]
    with _gx_warnings():
        for i, entry in chosen:
            try:
                ExpectationConfiguration(**entry).to_domain_obj()
            except Exception:
                raise SuiteError(
                    f"{path}: expectations[{i}] ({entry['type']}) has kwargs GX refuses. "
                    "Check them against the expectation's documentation"
                ) from None
        suite = gx.ExpectationSuite(
            name=data.get("name", path.stem), expectations=[e for _, e in chosen]
        )
    if len(suite.expectations) != len(chosen):
        kept = {(e.meta or {}).get("govlib_index") for e in suite.expectations}
        dropped = [i for i, _ in chosen if i not in kept]
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


def run_gx(frame: pl.DataFrame, suite: Any, *, as_of: date) -> tuple[list[dict[str, Any]], Timings]:
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
    with _gx_warnings():
        result = batch.validate(
            suite, expectation_parameters=parameters(as_of), result_format=RESULT_FORMAT
        )
    done = time.perf_counter()
    rows = [_plain(r) for r in result.results]
    rows.sort(key=lambda row: row["index"])
    return rows, Timings(convert=converted - start, validate=done - converted)


def _plain(r: Any) -> dict[str, Any]:
    config = r.expectation_config
    try:
        d = r.to_json_dict()
    except TypeError:  # an observed value GX cannot write out (a date column's stdev: a span)
        problem = "TypeError: GX's observed value is not JSON"
        info = {"raised_exception": True, "exception_message": problem,
                "exception_traceback": problem}  # fmt: skip
        d = {"success": False, "result": {}, "exception_info": info}
    return {
        "index": config.meta.get("govlib_index"),
        "type": config.type,
        "kwargs": dict(config.kwargs),
        "meta": dict(config.meta),
        "success": d["success"],
        "result": d.get("result") or {},
        "exception_info": d.get("exception_info") or {},
        "engine": "gx",
    }


def error_reason(info: dict[str, Any]) -> str | None:
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


def gx_checks(
    dataset: str, frame: pl.DataFrame | Shape, raw: list[dict[str, Any]], publishable: set[str]
) -> list[CheckResult]:
    """GX's plain results (from `run_gx`) as value-free check records.

    `frame` is the validated data, or its `Shape` when it stayed in its database.
    """
    return [_check(dataset, frame, row, publishable) for row in raw]


def _check(
    dataset: str, frame: pl.DataFrame | Shape, row: dict[str, Any], publishable: set[str]
) -> CheckResult:
    result, kwargs = row["result"], row["kwargs"]
    reason = row.get("reason") or error_reason(row.get("exception_info") or {})
    column = kwargs.get("column")
    existence = row["type"] in EXISTENCE
    if reason is None and not existence and column is not None and column not in frame.columns:
        reason = f"column {column!r} is not in the data"
    if reason is None and not existence and not row["success"] and not result:
        reason = "GX returned no result"
    elements = int(result.get("element_count") or (frame.height if reason is None else 0))
    unexpected = int(result.get("unexpected_count") or 0)
    if reason is None and "unexpected_count" not in result:
        unexpected = 0 if row["success"] else 1  # table-level: pass or fail as a whole
        elements = 1
    status: Status = "error" if reason else ("passed" if row["success"] else "failed")
    ran = status != "error"
    return CheckResult(
        dataset=dataset,
        check=row["type"],
        column=column,
        kwargs=safe_kwargs(row["type"], kwargs, publishable),
        dimension=dimension(row["type"], kwargs, row["meta"], frame),
        status=status,
        element_count=elements,
        unexpected_count=unexpected if ran else 0,
        unexpected_percent=round(float(result.get("unexpected_percent") or 0.0), 6) if ran else 0.0,
        missing_count=int(result.get("missing_count") or 0),
        blocking=bool(row["meta"].get("blocking", False)),
        reason=("could not run: " + reason) if reason else "",
        engine=str(row.get("engine", "gx")),
    )
