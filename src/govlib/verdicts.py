"""One verdict per dataset, built in one place from the records a run computed.

A dataset's profile, quality result and retention report are computed once per run (by its
notebooks in a batch, or once by the overview when run on its own). Everything that judges a
dataset reads those records through `build()`: the overview notebook, the run's index page,
`run.json`, the exit code and the run history. A verdict holds aggregates only.

A dataset is judged in four areas, each apart, and `failed` names those that failed:

==============  ===============================================================================
quality         failed when the quality result failed its gate or a check errored
retention       failed when any record is past its retention period (overdue > 0)
consent         failed when any record is processed without valid consent (without_consent > 0)
personal data   failed on personal data the catalog does not protect: a column holding personal
                data that the catalog does not declare (undeclared PII), or raw, Luhn-valid card
                numbers in a column the catalog declares masked. A warning when the catalog
                declares more than is found (a declared kind not found, or another kind found
                in a declared personal column): the data is still protected, the catalog is
                to be corrected.
==============  ===============================================================================

An area is None when the record it reads was not computed in this run, and consent is None
for a dataset no consent rule covers; a dataset that could not be read (quality "unreadable")
is not judged, its failed notebooks make the run exit 3. Exit code 1, the index page,
`run.json` and the overview all read `failed`, so they agree.

>>> v = build("orders", {"retention": {"overdue": 3, "consent": []}})
>>> (v.dataset, v.quality, v.retention, v.consent, v.personal_data, v.failed)
('orders', None, 'failed', None, None, ['retention'])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from govlib.records import Record

KINDS = ("profile", "quality", "retention")  # the records a verdict reads
AREAS = ("quality", "retention", "consent", "personal data")  # judged apart, in this order
FAILED_QUALITY = ("failed", "error")


@dataclass(frozen=True, slots=True)
class Verdict(Record):
    """One dataset's verdicts: quality, retention, consent and personal data, each apart.

    A figure is None when the record it comes from was not computed in this run (its notebook
    was not chosen, failed or was withheld). `quality` is the quality result's status (passed,
    failed, error), "unreadable" when the dataset could not be read, or None when not run.
    `retention`, `consent` and `personal_data` are derived from the figures (see the module's
    table), and `failed` names the areas that failed; `to_dict()` includes them, so `run.json`
    and the overview carry them. `notebooks` maps each notebook run on the dataset to its
    status, report and reason.
    """

    ROWS: ClassVar[str | None] = None  # one row: the verdict's fields

    dataset: str
    quality: str | None = None
    overall: float | None = None
    scores: dict[str, float | None] | None = None
    gate_failures: list[str] | None = None
    checks: dict[str, int] | None = None  # counts of passed, failed and error checks
    suite: str | None = None
    overdue: int | None = None
    without_consent: int | None = None
    undeclared_pii: int | None = None  # columns holding personal data the catalog does not declare
    unmasked_cards: int | None = None  # raw card numbers in columns the catalog declares masked
    declared_not_found: int | None = None  # declared personal columns where no such data was found
    kind_mismatches: int | None = None  # declared personal columns holding another kind
    pii_findings: int | None = None
    pii_found: list[str] | None = None  # kinds of personal data found
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failing_checks(self) -> int | None:
        """How many checks failed, or None without a quality result."""
        return self.checks["failed"] if self.checks is not None else None

    @property
    def retention(self) -> str | None:
        """The retention verdict: failed when records are overdue, None without a report."""
        return _passed_unless(self.overdue)

    @property
    def consent(self) -> str | None:
        """The consent verdict: failed when records are processed without valid consent."""
        return _passed_unless(self.without_consent)

    @property
    def personal_data(self) -> str | None:
        """The personal-data verdict: failed, warning or passed; None without a profile."""
        if self.undeclared_pii is None:
            return None
        if self.undeclared_pii or self.unmasked_cards:
            return "failed"
        return "warning" if self.declared_not_found or self.kind_mismatches else "passed"

    @property
    def areas(self) -> dict[str, str | None]:
        """Each area's verdict, in the order of `AREAS`."""
        judged = (self.quality, self.retention, self.consent, self.personal_data)
        return dict(zip(AREAS, judged, strict=True))

    @property
    def judged(self) -> bool:
        """Whether any area was judged (a dataset that could not be read was not)."""
        return any(verdict not in (None, "unreadable") for verdict in self.areas.values())

    @property
    def failed(self) -> list[str]:
        """The areas that failed, in the order of `AREAS` (empty when none failed)."""
        return [
            area
            for area, verdict in self.areas.items()
            if verdict in (FAILED_QUALITY if area == "quality" else ("failed",))
        ]

    @property
    def gate_failed(self) -> bool:
        """Whether any area failed: the dataset makes a run exit 1."""
        return bool(self.failed)

    @property
    def status(self) -> str:
        """The dataset's status in the run history: refused, failed, its quality, or not run."""
        statuses = {n["status"] for n in self.notebooks.values()}
        if "refused" in statuses:
            return "refused"
        if statuses - {"passed"}:
            return "failed"
        return self.quality or "not run"

    def to_dict(self) -> dict[str, Any]:
        """The verdict's fields, with each area's verdict and the failed areas."""
        derived = {"retention": self.retention, "consent": self.consent,
                   "personal_data": self.personal_data, "failed": self.failed}  # fmt: skip
        return Record.to_dict(self) | derived


def _passed_unless(count: int | None) -> str | None:
    """Failed when `count` is above 0, passed at 0, None when it was not computed."""
    if count is None:
        return None
    return "failed" if count else "passed"


def failed_areas(verdicts: Iterable[Verdict]) -> list[str]:
    """The areas that failed in any of `verdicts`, in the order of `AREAS`."""
    failed = {area for v in verdicts for area in v.failed}
    return [area for area in AREAS if area in failed]


def headline(verdicts: Iterable[Verdict]) -> str:
    """What failed across `verdicts`, in words: "failed: quality, consent (2 of 4 datasets)".

    >>> headline([Verdict("a", quality="passed"), Verdict("b", without_consent=2)])
    'failed: consent (1 of 2 datasets)'
    """
    judged = list(verdicts)
    failing = [v for v in judged if v.failed]
    if not failing:
        return "all gates passed"
    datasets = f"{len(failing)} of {len(judged)} dataset{'s' if len(judged) != 1 else ''}"
    return f"failed: {', '.join(failed_areas(failing))} ({datasets})"


# The overview's verdict table; the kinds of personal data found are in its register instead.
OVERVIEW_COLUMNS = [
    "dataset", "failed", "quality", "retention", "consent", "personal_data", "overall",
    "failing_checks", "gate_failures", "overdue", "without_consent", "personal_data_findings",
]  # fmt: skip


def overview_rows(verdicts: Iterable[Verdict]) -> list[dict[str, Any]]:
    """The verdicts as the overview shows them: one row per dataset, areas first.

    `failed` reads "none" when every judged area passed, and stays empty (shown "-") when no
    area was judged; the personal-data findings are in words ("46 raw card numbers in columns
    declared masked").
    """
    from govlib.describe import personal_data_findings

    rows = []
    for v in verdicts:
        findings = personal_data_findings(v) or ["none"]
        row = v.to_dict() | {
            "failed": v.failed or (["none"] if v.judged else []),
            "failing_checks": v.failing_checks,
            "personal_data_findings": findings if v.personal_data is not None else None,
        }
        rows.append({column: row[column] for column in OVERVIEW_COLUMNS})
    return rows


def build(
    dataset: str,
    records: Mapping[str, Any],
    *,
    notebooks: Mapping[str, Mapping[str, Any]] | None = None,
) -> Verdict:
    """The verdict of `dataset` from its records (objects with `to_dict()`, or saved dicts).

    `records` maps "profile", "quality" and "retention" to the run's records; a missing one
    leaves its figures None. Other keys are ignored.
    """
    plain = {k: _plain(records[k]) for k in KINDS if records.get(k) is not None}
    found: dict[str, Any] = {}
    if q := plain.get("quality"):
        found |= {
            "quality": q["status"],
            "overall": q["overall"],
            "scores": q["scores"],
            "gate_failures": list(q["gate_failures"]),
            "checks": q["counts"],
            "suite": q["suite"],
        }
    if r := plain.get("retention"):
        found |= {
            "overdue": r["overdue"],
            # no consent rule: consent is not judged (None), rather than passed
            "without_consent": (
                sum(c["processed_without_consent"] for c in r["consent"]) if r["consent"] else None
            ),
        }
    if p := plain.get("profile"):
        findings = p["findings"]
        found |= {
            "undeclared_pii": _columns(findings, "undeclared_pii"),
            "unmasked_cards": sum(f["count"] for f in findings if f["finding"] == "unmasked_card"),
            "declared_not_found": _columns(findings, "declared_not_found"),
            "kind_mismatches": _columns(findings, "kind_mismatch"),
            "pii_findings": len(p["pii"]),
            "pii_found": sorted({str(f["kind"]) for f in p["pii"]}),
        }
    return Verdict(dataset, **found, notebooks={k: dict(v) for k, v in (notebooks or {}).items()})


def _columns(findings: list[dict[str, Any]], finding: str) -> int:
    """How many of a profile's catalog findings are of the kind `finding` (one per column)."""
    return sum(f["finding"] == finding for f in findings)


def unreadable(dataset: str) -> Verdict:
    """The verdict of a dataset that could not be read: no figures."""
    return Verdict(dataset, quality="unreadable")


def _plain(record: Any) -> dict[str, Any]:
    """A record as its JSON form (records are compared by what they save)."""
    return json.loads(json.dumps(record.to_dict() if hasattr(record, "to_dict") else record,
                                 default=str))  # fmt: skip


def load(results_dir: str | Path, dataset: str) -> dict[str, Any]:
    """The records a run saved for `dataset`: every `<results_dir>/<dataset>/*.json`, merged.

    Each file is one notebook's `results.json` (e.g. `{"profile": {...}}`); a dataset with no
    folder has no records.
    """
    records: dict[str, Any] = {}
    for path in sorted((Path(results_dir) / dataset).glob("*.json")):
        saved = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(saved, dict):
            records |= {k: v for k, v in saved.items() if k in KINDS}
    return records


def from_results(results_dir: str | Path, datasets: Iterable[str]) -> list[Verdict]:
    """The verdict of each dataset from the records a run saved under `results_dir`."""
    return [build(name, load(results_dir, name)) for name in datasets]
