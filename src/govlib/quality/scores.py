"""Scores and the gate: dimension scores from checks, and the catalog gate's verdict.

A check's pass rate is `1 - unexpected / elements` (1 or 0 for table-level checks); a
dimension's score is 100 x the mean pass rate of its checks; the overall score is the mean of the
dimension scores that have checks. Checks in state "error" are left out of every score and make
the result an error instead.
"""

from __future__ import annotations

import logging
from datetime import date

from govlib.catalog import DEFAULT_GATE_MINIMUM, Gate
from govlib.quality.results import DIMENSIONS, CheckResult, QualityResult, Status

log = logging.getLogger("govlib")


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


def gate_failures(
    scores: dict[str, float | None], overall: float | None, thresholds: dict[str, float | None]
) -> list[str]:
    """Each threshold of the gate a score falls below, as `"uniqueness 98.52 < 99"`.

    Examples
    --------
    >>> gate_failures({"validity": 93.0}, 96.0, {"overall": 90, "validity": 95})
    ['validity 93.00 < 95']
    """
    failures = []
    for dim, minimum in thresholds.items():
        value = overall if dim == "overall" else scores.get(dim)
        if minimum is not None and value is not None and value < minimum:
            failures.append(f"{dim} {value:.2f} < {minimum:g}")
    return failures


def judge(
    dataset: str,
    suite: str | None,
    as_of: date,
    rows: int,
    checks: list[CheckResult],
    gate: Gate,
) -> QualityResult:
    """Scores, the gate's verdict and the counts, as one record.

    A default gate (`Gate.default()`: none was declared) is judged like any other, with a
    warning that says so.
    """
    if gate.is_default:
        log.warning(
            "dataset %s declares no quality gate: the default gate applies (every dimension "
            ">= %g); declare `gate:` in the catalog to set your own",
            dataset, DEFAULT_GATE_MINIMUM,
        )  # fmt: skip
    scores, overall = score(checks)
    thresholds = gate.model_dump()
    failures = gate_failures(scores, overall, thresholds)
    counts = {s: sum(c.status == s for c in checks) for s in ("passed", "failed", "error")}
    status: Status = "error" if counts["error"] else ("failed" if failures else "passed")
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
