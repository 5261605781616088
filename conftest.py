"""Doctests in src/govlib use the sample catalog: run them from the project root."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _doctests_run_from_the_project_root(request, monkeypatch):
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(ROOT)
        monkeypatch.delenv("GOVLIB_CATALOG", raising=False)
