"""Records in words: each check as a sentence, a dataset's verdict as a short paragraph.

The notebooks (in JupyterLab) and the shared reports show the same text because both read it
from here. Everything is built from value-free records: a value set of a column the catalog
does not publish is "one of 6 allowed values", a withheld bound is said to be withheld.

>>> check_sentence("expect_column_values_to_be_between", {"column": "amount", "min_value": 0})
'amount is at least 0'
>>> check_sentence("expect_column_values_to_be_in_set",
...                {"column": "country", "value_set": "<6 values withheld>"})
'country is one of 6 allowed values'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

WITHHELD = "<withheld>"
LISTED_VALUES = 8  # a published value set longer than this is given by its size
PATTERNS = {"email": "the e-mail pattern", "phone": "the phone pattern"}


def _join(items: list[str], word: str = "and") -> str:
    """`a`, `a and b`, `a, b and c` (or another joining word)."""
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _value(value: Any) -> str:
    if isinstance(value, Mapping):  # an evaluation parameter, e.g. {"$PARAMETER": "now"}
        return "the run's " + " ".join(str(v) for v in value.values())
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def value_set(values: Any) -> str:
    """A check's value set in words, never listing a withheld one."""
    if isinstance(values, str):
        found = re.match(r"<(\d+) values? withheld>", values)
        return f"one of {found.group(1)} allowed values" if found else "one of the allowed values"
    values = list(values or [])
    if len(values) > LISTED_VALUES:
        return f"one of {len(values)} allowed values"
    if len(values) == 1:
        return _value(values[0])
    return "one of " + _join([_value(v) for v in values], "or") if values else "in an empty set"


def bounds(low: Any, high: Any, *, unit: str = "") -> str:
    """`at least 0`, `at most 8 characters`, `between 5 and 8`, or withheld bounds."""
    if WITHHELD in (low, high):
        if low is not None and high is not None:
            return "between a minimum and a maximum (bounds withheld)"
        return "at least a set minimum (withheld)" if low else "at most a set maximum (withheld)"
    suffix = f" {unit}" if unit else ""
    if low is not None and high is not None:
        if low == high:
            return f"exactly {_value(low)}{suffix}"
        return f"between {_value(low)} and {_value(high)}{suffix}"
    if low is not None:
        return f"at least {_value(low)}{suffix}"
    return f"at most {_value(high)}{suffix}" if high is not None else "unbounded"


def _pattern(regex: str) -> str:
    from govlib.quality import EMAIL_REGEX, PHONE_REGEX

    named = {EMAIL_REGEX: PATTERNS["email"], PHONE_REGEX: PATTERNS["phone"]}
    if regex.startswith("<") and regex.endswith("withheld>"):
        return "a pattern that is withheld (it spells a value)"
    return named.get(regex, f"the pattern {regex}")


def _column_sentence(kind: str, col: str, kw: Mapping[str, Any]) -> str | None:
    low, high = kw.get("min_value"), kw.get("max_value")
    sentences = {
        "expect_column_values_to_not_be_null": lambda: f"{col} is filled in",
        "expect_column_values_to_be_null": lambda: f"{col} is empty",
        "expect_column_values_to_be_unique": lambda: f"{col} is unique",
        "expect_column_to_exist": lambda: f"the table has a column {col}",
        "expect_column_values_to_match_regex": lambda: (
            f"{col} matches " + _pattern(str(kw.get("regex", "")))
        ),
        "expect_column_values_to_not_match_regex": lambda: (
            f"{col} does not match " + _pattern(str(kw.get("regex", "")))
        ),
        "expect_column_values_to_be_in_set": lambda: f"{col} is " + value_set(kw.get("value_set")),
        "expect_column_values_to_not_be_in_set": lambda: (
            f"{col} is not " + value_set(kw.get("value_set"))
        ),
        "expect_column_values_to_be_between": lambda: f"{col} is {bounds(low, high)}",
        "expect_column_value_lengths_to_be_between": lambda: (
            f"{col} is " + bounds(low, high, unit="characters long")
        ),
        "expect_column_value_lengths_to_equal": lambda: (
            f"{col} is exactly {_value(kw.get('value'))} characters long"
        ),
        "expect_column_values_to_be_of_type": lambda: f"{col} is of type {kw.get('type_')}",
        "expect_column_values_to_match_strftime_format": lambda: (
            f"{col} is a date written as {kw.get('strftime_format')}"
        ),
        "expect_column_values_to_be_dateutil_parseable": lambda: f"{col} is a readable date",
        "expect_column_distinct_values_to_be_in_set": lambda: (
            f"every distinct {col} is " + value_set(kw.get("value_set"))
        ),
        "expect_column_unique_value_count_to_be_between": lambda: (
            f"{col} has " + bounds(low, high, unit="distinct values")
        ),
    }

    def statistic(stat: str) -> Callable[[], str]:
        return lambda: f"the {stat} of {col} is {bounds(low, high)}"

    for stat in ("min", "max", "mean", "median", "sum", "stdev"):
        sentences[f"expect_column_{stat}_to_be_between"] = statistic(stat)
    make = sentences.get(kind)
    return make() if make else None


def _duplicates(kind: str, column: str | None) -> str:
    """The duplicate-subject check in words."""
    what = {"email": "e-mail address", "phone": "phone number"}.get(kind, kind)
    if column and column != kind:
        return f"each person appears once by {column} ({what}, normalised)"
    return f"each person appears once by {what} (normalised)"


def _table_sentence(kind: str, kw: Mapping[str, Any], column: str | None) -> str | None:
    low, high = kw.get("min_value"), kw.get("max_value")
    columns = [str(c) for c in kw.get("column_list") or []]
    sentences = {
        "expect_table_row_count_to_be_between": lambda: (
            "the table has " + bounds(low, high, unit="rows")
        ),
        "expect_table_row_count_to_equal": lambda: (
            f"the table has exactly {_value(kw.get('value'))} rows"
        ),
        "expect_compound_columns_to_be_unique": lambda: (
            f"the combination of {_join(columns)} is unique"
        ),
        "expect_select_column_values_to_be_unique_within_record": lambda: (
            f"{_join(columns)} differ within each record"
        ),
        "expect_table_columns_to_match_set": lambda: "the table has exactly the expected columns",
        "expect_table_columns_to_match_ordered_list": lambda: (
            "the table has the expected columns in order"
        ),
        "expect_column_pair_values_a_to_be_greater_than_b": lambda: (
            f"{kw.get('column_A')} is "
            + ("at least" if kw.get("or_equal") else "greater than")
            + f" {kw.get('column_B')}"
        ),
        "expect_column_pair_values_to_be_equal": lambda: (
            f"{kw.get('column_A')} equals {kw.get('column_B')}"
        ),
        "duplicate_subjects": lambda: _duplicates(str(kw.get("normalised")), column),
        "referential_integrity": lambda: (
            f"every {column or 'key'} refers to an existing {kw.get('references')}"
        ),
    }
    make = sentences.get(kind)
    return make() if make else None


def check_sentence(kind: str, kwargs: Mapping[str, Any], column: str | None = None) -> str:
    """What a check expects, in words (e.g. "email matches the e-mail pattern").

    `column` is the check's column where its kwargs do not name it (govlib's own checks).
    """
    column = kwargs.get("column", column)
    found = _table_sentence(kind, kwargs, column)
    if found is None and column is not None:
        found = _column_sentence(kind, str(column), kwargs)
    if found is not None:
        return found
    words = kind.removeprefix("expect_").replace("_", " ")
    return f"{column}: {words}" if column else words


def threshold(kwargs: Mapping[str, Any]) -> str:
    """The share of rows that must pass (`mostly`), in words."""
    mostly = kwargs.get("mostly")
    if mostly is None or mostly >= 1:
        return "every row"
    return f"at least {mostly:.0%} of rows"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def summary(verdict: Any) -> str:
    """A dataset's verdict as one paragraph ("6 of 16 checks failed; 120 records ...").

    `verdict` is a `govlib.verdicts.Verdict`; figures that were not computed are left out.
    """
    parts = []
    if verdict.checks:
        total = sum(verdict.checks.values())
        failed, errors = verdict.checks.get("failed", 0), verdict.checks.get("error", 0)
        text = f"{failed:,} of {_count(total, 'check', 'checks')} failed"
        if errors:
            text += f" and {errors:,} could not run"
        gate = "; the quality gate held" if verdict.quality == "passed" else ""
        if verdict.gate_failures:
            gate = "; the quality gate failed (" + "; ".join(verdict.gate_failures) + ")"
        parts.append(text + gate)
    elif verdict.quality == "unreadable":
        parts.append("the dataset could not be read")
    if verdict.overdue is not None:
        parts.append(_count(verdict.overdue, "record is", "records are") + " past retention")
    if verdict.without_consent is not None:
        parts.append(
            _count(verdict.without_consent, "record is", "records are")
            + " processed without valid consent"
        )
    if verdict.pii_findings is not None:
        text = _count(verdict.pii_findings, "column holds", "columns hold") + " personal data"
        undeclared = verdict.undeclared_pii or 0
        text += f", {undeclared:,} of them undeclared" if undeclared else ", all declared"
        parts.append(text)
        parts += personal_data_findings(verdict, undeclared=False)  # said just above
    if not parts:
        return "Nothing was computed for this dataset in this run."
    return "; ".join(parts)[:1].upper() + "; ".join(parts)[1:] + "."


def personal_data_findings(verdict: Any, *, undeclared: bool = True) -> list[str]:
    """A verdict's personal-data findings in words, one per kind found; empty when none.

    `verdict` is a `govlib.verdicts.Verdict`. Raw card numbers are counted by value, the
    other findings by column; `undeclared=False` leaves out the undeclared columns.
    """
    found = []
    for figure, one, many in (
        (verdict.undeclared_pii if undeclared else 0, "undeclared personal column",
         "undeclared personal columns"),
        (verdict.unmasked_cards, "raw card number in a column declared masked",
         "raw card numbers in columns declared masked"),
        (verdict.declared_not_found, "declared personal column holds no such data",
         "declared personal columns hold no such data"),
        (verdict.kind_mismatches, "declared personal column holds another kind",
         "declared personal columns hold another kind"),
    ):  # fmt: skip
        if figure:
            found.append(_count(figure, one, many))
    return found
