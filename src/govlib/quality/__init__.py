"""Quality: Great Expectations suites as files, value-free three-state results, dimension scores.

Suites live as plain GX 1.x JSON in `expectations/`. `validate()` runs a suite for real through
an ephemeral GX context on a pandas frame converted through Arrow, with a result format that
keeps counts and drops values, and adds the checks GX cannot express (referential integrity,
duplicate subjects). Every check maps to one quality dimension; dimension scores and the
catalog's gate turn the result into a verdict a scheduler can act on.

The parts:

- `suites`: reading suite files (no GX needed);
- `gx`: the GX runner, the only module that imports great_expectations, lazily, so commands
  that do not validate stay fast;
- `predicates`: row-level expectations as polars conditions (cleansing's quarantine uses them);
- `rules`: govlib's own checks; `scores`: scores and the gate; `suggestions`: starter suites;
- `results`: the records.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from govlib.catalog import Dataset
from govlib.quality.gx import RESULT_FORMAT, Timings, gx_checks, load_suite, run_gx
from govlib.quality.predicates import RowCheck, row_checks, row_predicate, unexpected_counts
from govlib.quality.results import (
    DIMENSION_OF_TYPE,
    DIMENSIONS,
    PERSONAL_KWARGS,
    VALUE_BOUNDED,
    VALUE_KWARGS,
    CheckResult,
    QualityResult,
    Status,
)
from govlib.quality.rules import duplicate_subjects, normalised_phone, referential_integrity
from govlib.quality.scores import gate_failures, judge, score
from govlib.quality.suggestions import EMAIL_REGEX, PHONE_REGEX, suggest
from govlib.quality.suites import SuiteError, blocking_entries, read_suite, suite_path

__all__ = [
    "DIMENSIONS",
    "DIMENSION_OF_TYPE",
    "EMAIL_REGEX",
    "PERSONAL_KWARGS",
    "PHONE_REGEX",
    "RESULT_FORMAT",
    "VALUE_BOUNDED",
    "VALUE_KWARGS",
    "CheckResult",
    "QualityResult",
    "RowCheck",
    "Status",
    "SuiteError",
    "Timings",
    "blocking_entries",
    "duplicate_subjects",
    "gate_failures",
    "gx_checks",
    "judge",
    "load_suite",
    "normalised_phone",
    "read_suite",
    "referential_integrity",
    "row_checks",
    "row_predicate",
    "run_gx",
    "score",
    "suggest",
    "suite_path",
    "unexpected_counts",
    "validate",
]


def validate(
    ds: Dataset,
    *,
    as_of: date,
    suite: str | None = None,
    frame: pl.DataFrame | None = None,
) -> QualityResult:
    """Validate a catalog dataset with its suite plus govlib's cross-dataset checks.

    Parameters
    ----------
    ds
        The dataset, from its catalog.
    as_of
        The day the suite's `$PARAMETER` bounds refer to (`as_of` is its end).
    suite
        A suite name in place of the catalog's.
    frame
        The dataset's rows, when already loaded (else they are read once here).

    Returns
    -------
    QualityResult
        Every check's counts, the scores and the gate's verdict.
    """
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
        checks += gx_checks(ds.name, frame, raw, publishable)
    targets = {
        rel.target[0]: sources.scan(catalog.dataset(rel.target[0])).collect()
        for rel in ds.relationships
    }
    checks += referential_integrity(ds, frame, targets)
    checks += duplicate_subjects(ds, frame)
    return judge(ds.name, name, as_of, frame.height, checks, catalog.gate_for(ds.name))
