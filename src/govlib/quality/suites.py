"""Suites: Great Expectations suites kept as plain JSON files beside the catalog.

Reading a suite needs no GX: the GX runner (`govlib.quality.gx`) parses it strictly, and the
row predicates (`govlib.quality.predicates`) compile its row-level expectations for polars.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from govlib.catalog import Catalog
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
    for i, entry in enumerate(data["expectations"]):
        if not isinstance(entry, dict) or "type" not in entry:
            raise SuiteError(f"{path}: expectations[{i}] has no 'type'")
    return data


def blocking_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The suite's entries marked `"meta": {"blocking": true}` (rows failing them are held)."""
    return [e for e in data["expectations"] if (e.get("meta") or {}).get("blocking")]
