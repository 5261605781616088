"""One verdict per dataset, built in one place from the records a run computed.

A dataset's profile, quality result and retention report are computed once per run (by its
notebooks in a batch, or once by the overview when run on its own). Everything that judges a
dataset reads those records through `build()`: the overview notebook, the run's index page,
`run.json`, the exit code and the run history. A verdict holds aggregates only.

>>> v = build("orders", {"retention": {"overdue": 3, "consent": []}})
>>> (v.dataset, v.quality, v.overdue, v.without_consent, v.gate_failed)
('orders', None, 3, 0, True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from govlib.records import Record

KINDS = ("profile", "quality", "retention")  # the records a verdict reads


@dataclass(frozen=True, slots=True)
class Verdict(Record):
    """One dataset's verdicts: quality gate, retention, consent and personal data found.

    A figure is None when the record it comes from was not computed in this run (its notebook
    was not chosen, failed or was withheld). `quality` is the quality result's status (passed,
    failed, error), "unreadable" when the dataset could not be read, or None when not run.
    `notebooks` maps each notebook run on the dataset to its status, report and reason.
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
    undeclared_pii: int | None = None
    pii_findings: int | None = None
    pii_found: list[str] | None = None  # kinds of personal data found
    notebooks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def failing_checks(self) -> int | None:
        """How many checks failed, or None without a quality result."""
        return self.checks["failed"] if self.checks is not None else None

    @property
    def gate_failed(self) -> bool:
        """Whether the quality gate failed (or errored) or records are overdue."""
        return self.quality in ("failed", "error") or bool(self.overdue)

    @property
    def status(self) -> str:
        """The dataset's status in the run history: refused, failed, its quality, or not run."""
        statuses = {n["status"] for n in self.notebooks.values()}
        if "refused" in statuses:
            return "refused"
        if statuses - {"passed"}:
            return "failed"
        return self.quality or "not run"


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
            "without_consent": sum(c["processed_without_consent"] for c in r["consent"]),
        }
    if p := plain.get("profile"):
        found |= {
            "undeclared_pii": sum(f["finding"] == "undeclared_pii" for f in p["findings"]),
            "pii_findings": len(p["pii"]),
            "pii_found": sorted({str(f["kind"]) for f in p["pii"]}),
        }
    return Verdict(dataset, **found, notebooks={k: dict(v) for k, v in (notebooks or {}).items()})


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
