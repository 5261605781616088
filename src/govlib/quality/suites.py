"""Suites: Great Expectations suites kept as plain JSON files beside the catalog.

Reading a suite needs no GX: the GX runner (`govlib.quality.gx`) parses it strictly, and the
row predicates (`govlib.quality.predicates`) compile its row-level expectations for polars.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from govlib.catalog import Catalog
from govlib.engine.schemas import gx_schemas, schema
from govlib.errors import GovlibError


class SuiteError(GovlibError):
    """A suite file that is missing, malformed, or holds entries GX would drop."""


def suite_path(catalog: Catalog, name: str) -> Path:
    """Where suite `name` lives: `expectations/<name>.json` beside the catalog."""
    return catalog.expectations_dir / f"{name}.json"


def read_suite(path: Path) -> dict[str, Any]:
    """Read a suite's JSON, with clear errors for a missing or malformed file.

    Every entry must be an object with a `type`; the first that is not is named.
    """
    if not path.is_file():
        raise SuiteError(
            f"{path}: suite file not found. Write one, or run "
            f"`govlib suggest DATASET --out {path.parent} --suite {path.stem}` for a starter"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("expectations"), list):
        raise SuiteError(f"{path}: expected an object with a list of 'expectations'")
    problems = []
    for i, entry in enumerate(data["expectations"]):
        if not isinstance(entry, dict) or not isinstance(entry.get("type"), str):
            raise SuiteError(f"{path}: expectations[{i}] has no 'type'")
        problem = kwargs_problem(entry)
        if problem:
            problems.append(f"expectations[{i}] ({entry['type']}): {problem}")
    if problems:
        more = f" ({len(problems)} entries in all)" if len(problems) > 1 else ""
        raise SuiteError(f"{path}: {problems[0]}{more}. Fix the entry's kwargs; GX would refuse it")
    return data


def blocking_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The suite's entries marked `"meta": {"blocking": true}` (rows failing them are held)."""
    return [e for e in data["expectations"] if (e.get("meta") or {}).get("blocking")]


# ------------------------------------------------------------------ strict kwargs at load
# GX validates kwargs with a pydantic model per expectation type. The compiled engine never
# imports GX, so the models' JSON schemas (shipped with GX as plain files) stand in for them,
# plus the rules that live in the models' validators. `tests/test_engine_vs_gx.py` checks that
# both refuse the same configurations.
BOTH_BOUNDS_NULL = (
    "expect_column_values_to_be_between",
    "expect_column_value_lengths_to_be_between",
)
MIN_TWO_COLUMNS = (
    "expect_compound_columns_to_be_unique",
    "expect_select_column_values_to_be_unique_within_record",
    "expect_multicolumn_sum_to_equal",
    "expect_multicolumn_values_to_be_equal",
)
JSON_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def kwargs_problem(entry: dict[str, Any]) -> str | None:
    """Why GX would refuse this entry's kwargs, or None (the rules GX's models apply).

    Kwargs are checked as written and again with the suite parameters in place, as GX checks
    them a second time when it validates.
    """
    problem = _kwargs_problem(entry)
    kwargs = entry.get("kwargs")
    if problem is None and isinstance(kwargs, dict) and "$PARAMETER" in json.dumps(kwargs):
        from govlib.engine.params import Unsupported, parameters, resolve

        try:
            resolved = resolve(kwargs, parameters(date(2000, 1, 1)))
        except Unsupported:
            return "a $PARAMETER govlib does not give (it gives as_of and as_of_date)"
        problem = _kwargs_problem({**entry, "kwargs": resolved})
        if problem:
            problem += " once its $PARAMETER is in place"
    return problem


def _kwargs_problem(entry: dict[str, Any]) -> str | None:
    kind, kwargs = entry["type"], entry.get("kwargs", {})
    if kind not in gx_schemas():
        return "not an expectation type of GX Core"
    if not isinstance(kwargs, dict):
        return "'kwargs' must be an object"
    if not isinstance(entry.get("meta") or {}, dict):
        return "'meta' must be an object"
    spec = schema(kind)
    props = spec.get("properties", {})
    for key in spec.get("required", []):
        if key not in kwargs:
            return f"{key!r} is required"
    for key, value in kwargs.items():
        if key not in props or key in ("metadata", "id", "rendered_content", "windows"):
            return f"{key!r} is not a kwarg of this type"
        problem = _value_problem(key, value, props[key], key in spec.get("required", []))
        if problem:
            return problem
    return _rule_problem(kind, kwargs)


def _value_problem(key: str, value: Any, prop: dict[str, Any], required: bool) -> str | None:
    if value is None:
        return f"{key!r} must not be null" if required else None
    options = prop.get("anyOf") or [prop]
    if any(o.get("type") == "integer" for o in options):
        # counts: GX's model takes integers only, whatever formats the schema lists
        options = [o for o in options if o.get("type") != "string"]
    for option in options:
        if _fits(value, option):
            return None
    return f"{key!r} has a value of the wrong type"


def _fits(value: Any, option: dict[str, Any]) -> bool:
    from govlib.engine.params import comparable

    if "$ref" in option or "allOf" in option:
        return True  # a nested model (condition, result format, severity): GX reads it
    kind = option.get("type")
    if kind == "object" and isinstance(value, dict):
        return True
    if kind in ("number", "integer") and isinstance(value, bool):
        return False
    if kind == "string" and option.get("format") in ("date", "date-time"):
        try:
            return isinstance(value, str) and not isinstance(comparable(value), float)
        except ValueError:
            return False
    if kind == "boolean":
        return boolean(value) is not None
    if kind == "integer" and isinstance(value, float | str):
        try:
            value = int(value)  # pydantic truncates a float and parses digits
        except (ValueError, OverflowError):
            return False
    if kind == "number" and isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        value = float(value)
    if kind == "enum" or "enum" in option:
        return value in option["enum"]
    if kind not in JSON_TYPES or not isinstance(value, JSON_TYPES[kind]):
        return kind is None
    low, high = option.get("minimum"), option.get("maximum")
    return (low is None or value >= low) and (high is None or value <= high)


def boolean(value: Any) -> bool | None:
    """A flag as GX's pydantic model reads it (`"yes"`, `1`, `True`), None if it is not one."""
    from govlib.engine.params import boolean as read

    return read(value)


def _rule_problem(kind: str, kwargs: dict[str, Any]) -> str | None:
    """The checks GX's models make in validators rather than in types."""
    from govlib.engine.params import Unsupported, parse_condition

    columns = kwargs.get("column_list")
    if kind in MIN_TWO_COLUMNS and isinstance(columns, list) and len(columns) < 2:
        return "column_list must hold at least two columns"
    bounds = (kwargs.get("min_value"), kwargs.get("max_value"))
    if kind in BOTH_BOUNDS_NULL and bounds == (None, None):
        return "min_value and max_value cannot both be null"
    low, high = bounds
    if (
        kind == "expect_table_row_count_to_be_between"
        and isinstance(low, int | float)
        and isinstance(high, int | float)
        and low > high
    ):
        return "min_value must not exceed max_value"
    fmt = kwargs.get("strftime_format")
    if isinstance(fmt, str):
        try:
            now = datetime.now(tz=UTC)
            datetime.strptime(now.strftime(fmt), fmt)
        except ValueError:
            return "strftime_format is not a usable strftime format"
    condition = kwargs.get("row_condition")
    parser = kwargs.get("condition_parser")
    if isinstance(condition, str) and parser == "great_expectations":
        try:
            parse_condition(condition)
        except ValueError:
            return "row_condition does not parse"
        except Unsupported:
            return None
    return None
