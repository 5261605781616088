"""PII detection over a profile's sample, merged with what the catalog declares."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from govlib import pii
from govlib.catalog import Dataset, PiiKind
from govlib.profiling.kinds import EngineType, col
from govlib.profiling.sampling import Sample

RAW_CARD = r"^[\d\s-]{13,25}$"
RAW_CARD_DETAIL = "raw card numbers where the catalog says the column is masked"


def detect(
    lf: pl.LazyFrame,
    dataset: str,
    schema: pl.Schema,
    sample: Sample,
    declared: Dataset | None,
    *,
    engine: EngineType,
) -> tuple[list[pii.PiiFinding], list[pii.CatalogFinding]]:
    """Detect PII per column and merge it with the catalog.

    Columns a vectorised screen clears (and the catalog does not declare personal) skip the
    per-column detectors, which keeps wide data linear and fast. Free text found on a sample
    has its embedded PII counted over every row.
    """
    declared_personal = set(declared.pii_columns()) if declared is not None else set()
    suspects = pii.candidates(sample.frame) | declared_personal
    clear = pii.Detection(None, 0.0, 0.0, "no pattern matched", {})
    detections: dict[str, pii.Detection] = {}
    for column, dtype in schema.items():
        if dtype != pl.String:
            detections[column] = pii.detect_other(column, dtype, {})
        elif column in suspects:
            detections[column] = pii.detect_strings(column, sample.frame[column])
        else:
            detections[column] = clear
    for column, det in detections.items():
        if det.kind is PiiKind.FREE_TEXT and sample.step > 1:
            texts = (
                lf.select(col(column).alias("v"))
                .filter(pl.col("v").str.contains(pii.ANY_EMBEDDED))
                .collect(engine=engine)["v"]
            )
            detections[column] = replace(det, embedded=pii.embedded_counts(texts))
    return pii.classify(dataset, detections, declared)


def unmasked_cards(
    lf: pl.LazyFrame, dataset: str, declared: Dataset, strings: list[str], engine: EngineType
) -> list[pii.CatalogFinding]:
    """Raw card numbers in columns the catalog declares masked, one finding per column."""
    found = []
    for column, spec in declared.columns.items():
        if spec.masked and column in strings:
            raw = pii.raw_card_count(
                lf.select(col(column).alias("v"))
                .filter(pl.col("v").str.contains(RAW_CARD))
                .collect(engine=engine)["v"]
            )
            if raw:
                found.append(
                    pii.CatalogFinding(dataset, column, "unmasked_card", RAW_CARD_DETAIL, raw)
                )
    return found
