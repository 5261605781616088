"""Quality result records: one check's counts, and a dataset's validation with its verdict.

Records hold counts, states and kwargs fit to share (value sets and value bounds of columns
the catalog does not publish are withheld), never a value of the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import polars as pl

from govlib.records import Record

DIMENSIONS = ("completeness", "validity", "uniqueness", "consistency", "timeliness")
Status = Literal["passed", "failed", "error"]
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


@dataclass(frozen=True, slots=True)
class CheckResult(Record):
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
    source: str = "gx"  # "gx" (a suite entry) or "govlib" (govlib's own checks)
    blocking: bool = False
    reason: str = ""  # why a check is in state "error"
    engine: str = ""  # what ran a suite entry: "ibis" (compiled) or "gx"; "" for govlib's own


@dataclass(frozen=True, slots=True)
class QualityResult(Record):
    """A dataset's validation: every check, a score per dimension, and the gate's verdict."""

    ROWS: ClassVar[str | None] = "checks"

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

    @property
    def exit_code(self) -> int:
        """0 when the gate holds, 1 when it fails, 2 when checks could not run."""
        return {"passed": 0, "failed": 1, "error": 2}[self.status]


@dataclass(frozen=True, slots=True)
class Shape:
    """What a record needs of a dataset it did not load: its columns, their types, its rows.

    Stands in for the polars frame of a table that stays in its database.
    """

    schema: dict[str, pl.DataType]
    height: int

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self.schema)


def dimension(
    kind: str, kwargs: dict[str, Any], meta: dict[str, Any], frame: pl.DataFrame | Shape
) -> str:
    """The quality dimension of a check: declared in its meta, else known by type, else validity.

    Bounds on a temporal column judge timeliness.
    """
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


PATTERN_KWARGS = ("regex", "regex_list", "like_pattern", "like_pattern_list")
_PATTERN_SYNTAX = re.compile(r"\[[^\]]*\]|\\.|\{[^}]*\}|\(\?[^)]*\)")


def literal_free(pattern: str) -> bool:
    r"""Whether a pattern spells no run of 4 letters or digits outside its classes and escapes.

    Such a run may be a person's value written into a suite (`^(jane@x\.io|.*)$`); a shape
    such as the e-mail or postcode pattern has none.

    >>> literal_free(r"^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"), literal_free("^(quux@zz.io)$")
    (True, False)
    """
    return re.search(r"[A-Za-z0-9]{4}", _PATTERN_SYNTAX.sub(" ", pattern)) is None


def _shareable_pattern(value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return all(isinstance(v, str) and literal_free(v) for v in values)


def safe_kwargs(kind: str, kwargs: dict[str, Any], publishable: set[str]) -> dict[str, Any]:
    """Kwargs fit to share: value sets, bounds and value-spelling patterns withheld.

    Unless the column may publish values, its value sets, literal bounds and any pattern that
    spells a run of letters or digits (`literal_free`) are replaced by a note.
    """
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
        elif (
            key in PATTERN_KWARGS
            and kwargs.get("column") not in publishable
            and not _shareable_pattern(value)
        ):
            out[key] = "<pattern withheld>"
        elif key in ("result_format", "catch_exceptions", "batch_id"):
            continue
        else:
            out[key] = value
    return out
