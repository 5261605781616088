import json
from pathlib import Path

import polars as pl
import pytest

from govlib import catalog, sources

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
CATALOG = ROOT / "catalog.yaml"


@pytest.fixture(scope="session")
def manifest() -> dict:
    return json.loads((SAMPLE / "manifest.json").read_text())


@pytest.fixture(scope="session")
def planted(manifest) -> dict[str, int]:
    """Planted defect name -> exact count."""
    return {name: d["count"] for name, d in manifest["defects"].items()}


@pytest.fixture(scope="session")
def sample_catalog() -> catalog.Catalog:
    return catalog.load(CATALOG)


@pytest.fixture(scope="session")
def frames(sample_catalog) -> dict[str, pl.DataFrame]:
    return {
        name: sources.scan(sample_catalog.dataset(name)).collect()
        for name in sample_catalog.names()
    }


def pytest_addoption(parser):
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite tests/golden/ from the current code (then review the diff)",
    )
