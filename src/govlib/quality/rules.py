"""govlib's own checks, those GX cannot express: referential integrity and duplicate subjects."""

from __future__ import annotations

from typing import Any

import polars as pl

from govlib import identity
from govlib.catalog import Dataset, PiiKind
from govlib.quality.results import CheckResult


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
            govlib_check(
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
            govlib_check(
                ds.name, "duplicate_subjects", column, {"normalised": spec.pii.value},
                "uniqueness", present, shared, frame.height - present,
            )
        )  # fmt: skip
    return checks


def govlib_check(
    dataset: str,
    check: str,
    column: str,
    kwargs: dict[str, Any],
    dimension: str,
    elements: int,
    unexpected: int,
    missing: int,
) -> CheckResult:
    """A record for one of govlib's own checks: failed when any row is unexpected."""
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
