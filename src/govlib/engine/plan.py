"""A compiled check: the Ibis aggregates it needs, and how its result is read from them.

Every check of a table contributes named scalar aggregates to one query; a check that needs
rows grouped (uniqueness, distinct values) adds a separate pass. `finish` turns the computed
values into GX's result shape: `success` and a `result` dict with the same keys GX reports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Finish = Callable[[dict[str, Any]], tuple[bool, dict[str, Any]]]


@dataclass(slots=True)
class Compiled:
    """One suite entry compiled to Ibis, or an error it will report without running."""

    index: int
    type: str
    kwargs: dict[str, Any]
    meta: dict[str, Any]
    given: dict[str, Any] = field(default_factory=dict)  # the kwargs as the suite states them
    aggregates: dict[str, Any] = field(default_factory=dict)  # name -> Ibis scalar
    passes: dict[str, Any] = field(default_factory=dict)  # name -> Ibis table (its rows)
    # name -> a pass's cheaper first question: present rows and distinct values; when equal,
    # nothing repeats and the pass is not run
    probes: dict[str, Any] = field(default_factory=dict)
    finish: Finish | None = None
    error: str | None = None  # set when the check cannot run on this data


def mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    """GX's `_mostly_success`: the share of considered rows that pass, against `mostly`."""
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def map_result(
    element: int, nonmissing: int | None, unexpected: int, mostly: float
) -> tuple[bool, dict[str, Any]]:
    """Success and result of a map expectation, as GX's `_format_map_output` gives them.

    `nonmissing` is None for the two expectations about nulls themselves (no missing counts).
    """
    considered = element if nonmissing is None else nonmissing
    vacuous = element == 0 or considered == 0
    success = True if vacuous else mostly_success(considered, unexpected, mostly)
    result: dict[str, Any] = {
        "element_count": element,
        "unexpected_count": unexpected,
        "unexpected_percent": None,
    }
    if element > 0:
        total = unexpected / element * 100
        if nonmissing is None:
            result["unexpected_percent"] = total
        else:
            missing = element - nonmissing
            share = unexpected / nonmissing * 100 if nonmissing > 0 else None
            result.update(
                unexpected_percent=share,
                missing_count=missing,
                missing_percent=missing / element * 100,
                unexpected_percent_total=total,
                unexpected_percent_nonmissing=share,
            )
    elif nonmissing is not None:
        result.update(
            missing_count=element - nonmissing,
            missing_percent=None,
            unexpected_percent_total=None,
            unexpected_percent_nonmissing=None,
        )
    return success, result
