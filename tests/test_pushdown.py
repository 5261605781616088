"""Validation inside the database: the same answers as from files, and only aggregates fetched."""

from __future__ import annotations

import json
from datetime import date

import pytest

from govlib import catalog, quality
from govlib.cli import main

from .fetchcount import BIG_CUSTOMERS, FetchCounter, big_customers  # noqa: F401 (fixture)
from .pg import pg_schema  # noqa: F401 (fixture)

AS_OF = date(2025, 1, 31)
FETCH_LIMIT = 20_000


def test_validate_on_200000_customers_fetches_only_aggregates_and_a_bounded_remainder(
    big_customers, tmp_path  # noqa: F811
):
    out = tmp_path / "q.json"
    with FetchCounter() as fetched:
        code = main(["validate", "customers", "--catalog", str(big_customers), "--json", str(out)])
    record = json.loads(out.read_text())
    assert code in (0, 1)
    assert record["rows"] == BIG_CUSTOMERS + record["rows"] - BIG_CUSTOMERS  # read, not fetched
    assert record["rows"] >= BIG_CUSTOMERS
    assert {c["engine"] for c in record["checks"] if c["source"] == "gx"} == {"ibis"}
    assert fetched.rows <= FETCH_LIMIT, fetched.rows
    print(f"validate fetched {fetched.rows} rows in {fetched.queries} queries")
