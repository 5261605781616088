"""Retention and consent judged inside the database: the same records as the polars path.

The sample is loaded into SQLite, DuckDB and PostgreSQL; `retention.evaluate` on a database
dataset runs one aggregate query per rule (the consent event log joined in the database) and
must return exactly the record the polars path returns on the sample's files, on several days
(month ends and a leap day included, where calendar arithmetic differs between dialects).
"""

import json
import os
import secrets
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from govlib import catalog, databases, retention

from . import pg
from .conftest import CATALOG
from .pg import pg_schema  # noqa: F401 (fixture)

NAMES = ("customers", "orders", "consent_events", "support_tickets")
PG_ENV = "GOVLIB_TEST_RETENTION_DB_URL"
DAYS = [date(2025, 1, 31), date(2024, 2, 29), date(2025, 3, 31), date(2026, 7, 15)]


@pytest.fixture(scope="module")
def file_catalogs(tmp_path_factory, sample_catalog, frames) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("retention-db")
    return pg.file_catalogs(folder, sample_catalog, frames)


@pytest.fixture(scope="module")
def pg_catalog(tmp_path_factory, pg_schema) -> Path:  # noqa: F811
    return pg.postgres_catalog(
        tmp_path_factory.mktemp("retention-pg"), pg_schema, PG_ENV, list(NAMES)
    )


@pytest.fixture(params=["sqlite", "duckdb", "postgres"])
def db_catalog(request) -> catalog.Catalog:
    if request.param == "postgres":
        return catalog.load(request.getfixturevalue("pg_catalog"))
    return catalog.load(request.getfixturevalue("file_catalogs")[request.param])


@pytest.mark.parametrize("day", DAYS, ids=str)
def test_database_counts_equal_the_polars_counts(db_catalog, sample_catalog, day):
    want = retention.evaluate(sample_catalog.dataset("customers"), as_of=day)
    got = retention.evaluate_in_database(db_catalog.dataset("customers"), as_of=day)
    assert json.dumps(got.to_dict()) == json.dumps(want.to_dict())  # types too


def test_the_sample_s_planted_counts_come_back_from_the_database(db_catalog, planted):
    report = retention.evaluate(db_catalog.dataset("customers"), as_of=date(2025, 1, 31))
    rules = {r.rule: r for r in report.rules}
    assert rules["closed_accounts"].overdue == planted["closed_overdue"]
    assert rules["closed_accounts"].anchor_missing == planted["closed_anchor_missing"]
    assert rules["inactive_accounts"].overdue == planted["inactive_overdue"]
    [marketing] = report.consent
    wanted = planted["consent_missing"] + planted["consent_stale"] + planted["consent_withdrawn"]
    assert marketing.processed_without_consent == wanted


def test_an_event_log_in_another_place_is_judged_as_for_files(
    file_catalogs, sample_catalog, tmp_path
):
    """Customers in SQLite, their consent events in the sample's NDJSON file: no join there."""
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri": "sqlite:///crm.sqlite", "table": "customers"}}
    )
    sqlite_file = file_catalogs["sqlite"].parent / "data" / "crm.sqlite"
    (tmp_path / "data" / "crm.sqlite").write_bytes(sqlite_file.read_bytes())
    events = CATALOG.parent / "data" / "sample" / "consent_events.ndjson"
    (tmp_path / "data" / "consent_events.ndjson").write_bytes(events.read_bytes())
    cat = catalog.load(path)
    assert not databases.same_database(cat.dataset("customers"), cat.dataset("consent_events"))
    day = date(2025, 1, 31)
    want = retention.evaluate(sample_catalog.dataset("customers"), as_of=day)
    assert retention.evaluate(cat.dataset("customers"), as_of=day).to_dict() == want.to_dict()


def test_last_anchor_inverts_the_expiry_at_month_ends(sample_catalog):
    rule = sample_catalog.dataset("customers").retention[0]  # 24 months after closed_at
    anchors = pl.date_range(date(2021, 1, 1), date(2023, 12, 31), eager=True)
    expiries = anchors.dt.offset_by(rule.period.polars_offset)
    for day in pl.date_range(date(2023, 1, 1), date(2025, 12, 31), eager=True).to_list():
        assert retention.last_anchor(rule, day) == anchors.filter(expiries <= day).max()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_catalog, frames) -> Iterator[dict[str, catalog.Catalog]]:
    """Missing closing dates and a careless consent feed, as files and in each database."""
    from .test_retention import hostile_catalog, hostile_events, without_closing_dates

    ds = sample_catalog.dataset("customers")
    events, _ = hostile_events(ds, frames)
    data = {"customers": without_closing_dates(frames["customers"]), "consent_events": events}
    folder = tmp_path_factory.mktemp("hostile")
    made = {"file": catalog.load(hostile_catalog(folder / "file", **data))}
    for kind in ("sqlite", "duckdb"):
        made[kind] = catalog.load(
            pg.database_catalog(
                folder / kind, {n: {"uri": f"{kind}:///crm.{kind}", "table": n} for n in data}
            )
        )
    pg.write_sqlite(folder / "sqlite" / "data" / "crm.sqlite", sample_catalog, data)
    pg.write_duckdb(folder / "duckdb" / "data" / "crm.duckdb", data)
    url = pg.postgres_url()
    schema = f"govlib_hostile_{secrets.token_hex(4)}"
    pg.load_postgres(url, schema, sample_catalog, data)
    os.environ[HOSTILE_ENV] = pg.schema_url(url, schema)
    made["postgres"] = catalog.load(
        pg.database_catalog(
            folder / "postgres", {n: {"uri_env": HOSTILE_ENV, "table": n} for n in data}
        )
    )
    try:
        yield made
    finally:
        pg.drop_postgres(url, schema)


HOSTILE_ENV = "GOVLIB_TEST_RETENTION_HOSTILE_URL"


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_missing_anchors_and_a_careless_consent_feed_are_judged_as_for_files(
    hostile, sample_catalog, kind
):
    """Statuses in any case or padded, unknown ones, and ties: the same answer in a database."""
    day = date(2025, 1, 31)
    want = retention.evaluate(hostile["file"].dataset("customers"), as_of=day)
    sample = retention.evaluate(sample_catalog.dataset("customers"), as_of=day)
    assert (want.overdue, want.needs_review, want.exit_code) == (0, 30, 1)
    [marketing], [before] = want.consent, sample.consent
    assert marketing.processed_without_consent == before.processed_without_consent + 60
    assert marketing.unrecognised == 20
    got = retention.evaluate_in_database(hostile[kind].dataset("customers"), as_of=day)
    assert json.dumps(got.to_dict()) == json.dumps(want.to_dict())
