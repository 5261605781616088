"""Validation inside the database: the same answers as from files, and only aggregates fetched.

A database source's suite, referential integrity and duplicate subjects run as queries in
PostgreSQL, SQLite or DuckDB; these tests compare every record with the file-based one, count
the rows the PostgreSQL driver returns on 200,000 customers, and pin the e-mail and phone keys
computed in SQL to `govlib.identity` on hostile values.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib import catalog, identity, quality, rights, sources
from govlib.cli import main
from govlib.engine.backends import open_database, open_frame
from govlib.engine.regex import translate
from govlib.quality.rules import e164_digits, email_key_expr
from govlib.quality.suggestions import percent

from . import pg
from .conftest import CATALOG
from .fetchcount import BIG_CUSTOMERS, big_customers  # noqa: F401 (fixture)
from .pg import pg_schema  # noqa: F401 (fixture)

AS_OF = date(2025, 1, 31)
FETCH_LIMIT = 20_000
NAMES = ("customers", "orders", "consent_events", "support_tickets")
PG_ENV = "GOVLIB_TEST_PG_PUSHDOWN_URL"


# -- the sample in three databases ---------------------------------------------------------------


@pytest.fixture(scope="module")
def db_catalogs(tmp_path_factory, sample_catalog, frames, pg_schema) -> dict[str, Path]:  # noqa: F811
    folder = tmp_path_factory.mktemp("pushdown")
    made = pg.file_catalogs(folder, sample_catalog, frames)
    made["postgres"] = pg.postgres_catalog(folder / "pg", pg_schema, PG_ENV, list(NAMES))
    return made


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "duckdb"])
@pytest.mark.parametrize("name", NAMES)
def test_validation_in_the_database_gives_the_records_files_give(
    db_catalogs, sample_catalog, kind, name
):
    ds = catalog.load(db_catalogs[kind]).dataset(name)
    got = quality.validate(ds, as_of=AS_OF)
    want = quality.validate(sample_catalog.dataset(name), as_of=AS_OF)
    assert got.to_dict() == want.to_dict()
    assert {c.engine for c in got.checks if c.source == "gx"} == {"ibis"}  # all ran in the database
    assert any(c.check == "duplicate_subjects" or c.check == "referential_integrity"
               for c in got.checks)  # fmt: skip


def test_referential_integrity_across_sources_reads_distinct_keys_and_agrees(
    db_catalogs, sample_catalog, tmp_path
):
    """orders in SQLite pointing at customers in PostgreSQL, and at customers in a CSV file."""
    raw = yaml.safe_load(db_catalogs["sqlite"].read_text())
    raw["datasets"]["customers"]["source"] = {"uri_env": PG_ENV, "table": "customers"}
    raw["data_root"] = str(db_catalogs["sqlite"].parent / "data")
    (tmp_path / "expectations").symlink_to(db_catalogs["sqlite"].parent / "expectations")
    mixed = tmp_path / "catalog.yaml"
    mixed.write_text(yaml.safe_dump(raw, sort_keys=False))
    want = quality.validate(sample_catalog.dataset("orders"), as_of=AS_OF)
    integrity = [c for c in want.checks if c.check == "referential_integrity"]
    assert integrity
    assert integrity[0].unexpected_count > 0  # the sample plants orphans
    got = quality.validate(catalog.load(mixed).dataset("orders"), as_of=AS_OF)
    assert [c for c in got.checks if c.check == "referential_integrity"] == integrity
    orders = open_database(catalog.load(db_catalogs["duckdb"]).dataset("orders"))
    customers = pl.read_csv(pg.ROOT / "data" / "sample" / "customers.csv", columns=["customer_id"])
    try:
        file_parent = quality.referential_integrity(
            sample_catalog.dataset("orders"), orders, {"customers": customers}
        )
    finally:
        orders.close()
    assert file_parent == integrity


def test_uncompiled_entries_and_engine_gx_are_errors_on_a_database_source(db_catalogs, capsys):
    path = db_catalogs["sqlite"]
    suite = path.parent / "expectations" / "customers.json"
    data = json.loads(suite.read_text())
    data["expectations"].append(
        {"type": "expect_column_values_to_match_strftime_format",
         "kwargs": {"column": "postcode", "strftime_format": "%Y"}, "meta": {}}
    )  # fmt: skip
    suite.write_text(json.dumps(data))
    try:
        ds = catalog.load(path).dataset("customers")
        result = quality.validate(ds, as_of=AS_OF)
        last = result.checks[len(data["expectations"]) - 1]
        assert (last.status, last.reason) == ("error", "could not run: " + quality.NOT_COMPILED)
        assert result.exit_code == 2
        every = quality.validate(ds, as_of=AS_OF, engine="gx")
        suite_checks = [c for c in every.checks if c.source == "gx"]
        assert {(c.status, c.engine) for c in suite_checks} == {("error", "gx")}
    finally:
        data["expectations"].pop()
        suite.write_text(json.dumps(data))
    assert main(["validate", "customers", "--catalog", str(path), "--engine", "polars"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "its checks run inside the database" in err
    assert "Traceback" not in err


# -- 200,000 customers: only aggregates travel ----------------------------------------------------


def test_validate_on_200000_customers_fetches_only_aggregates_and_a_bounded_remainder(
    big_customers,  # noqa: F811
    tmp_path,
):
    path, frame = big_customers
    out = tmp_path / "q.json"
    with pg.count_fetched() as fetched:
        code = main(["validate", "customers", "--catalog", str(path), "--json", str(out)])
    record = json.loads(out.read_text())
    assert code == 1  # the generator's planted duplicates fail the uniqueness gate
    assert record["rows"] == frame.height >= BIG_CUSTOMERS
    assert {c["engine"] for c in record["checks"] if c["source"] == "gx"} == {"ibis"}
    assert fetched.rows <= FETCH_LIMIT, fetched.rows
    # the database decides every planted duplicate phone's key: only aggregates travel
    assert fetched.rows <= 300, sorted(fetched.statements, key=lambda s: s[1])[-5:]
    print(f"validate fetched {fetched.rows} rows in {len(fetched.statements)} queries")
    # the duplicates found in SQL are those the polars path finds on the same rows
    ds = catalog.load(path).dataset("customers")
    in_memory = quality.duplicate_subjects(ds, frame)
    pushed = [c for c in record["checks"] if c["check"] == "duplicate_subjects"]
    assert [(c.column, c.unexpected_count) for c in in_memory] == [
        (c["column"], c["unexpected_count"]) for c in pushed
    ]
    assert all(c.unexpected_count > 0 for c in in_memory)


def test_suggest_on_200000_customers_counts_defects_in_the_database(big_customers, tmp_path):  # noqa: F811
    path, frame = big_customers
    with pg.count_fetched() as fetched:
        code = main(["suggest", "customers", "--catalog", str(path), "--out", str(tmp_path)])
    assert code == 0
    # the profile's detection sample (20,000 rows), then aggregates, a categorical column's
    # values (at most 20 a column) and Ibis' schema look-ups: far from the table's 203,000
    assert fetched.rows <= FETCH_LIMIT + 300, sorted(fetched.statements, key=lambda s: s[1])[-5:]
    suite = json.loads((tmp_path / "customers.json").read_text())
    checked = 0
    for entry in suite["expectations"]:  # each defect rate as polars counts it on the same rows
        column = entry["kwargs"].get("column")
        present = frame[column].drop_nulls() if column else None
        if entry["type"] == "expect_column_values_to_be_unique":
            bad = int(present.is_duplicated().sum())
        elif entry["type"] == "expect_column_values_to_match_regex":
            bad = int((~present.cast(pl.String).str.contains(entry["kwargs"]["regex"])).sum())
        else:
            continue
        checked += 1
        observed = entry["meta"].get("observed", "")
        assert (percent(bad / present.len()) in observed) if bad else not observed, entry
    assert checked >= 3


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "duckdb"])
def test_suggest_in_the_database_writes_the_suite_files_give(db_catalogs, tmp_path, kind):
    """Defect counts, value sets and ranges computed by the database, as polars computes them."""
    for name in NAMES:
        got, want = tmp_path / kind / name, tmp_path / "files" / name
        assert main(["suggest", name, "--catalog", str(db_catalogs[kind]), "--out", str(got)]) == 0
        assert main(["suggest", name, "--out", str(want)]) == 0
        suite = json.loads((want / f"{name}.json").read_text())
        assert json.loads((got / f"{name}.json").read_text()) == suite, (kind, name)
    customers = json.loads((tmp_path / "files" / "customers" / "customers.json").read_text())
    customers = customers["expectations"]
    assert {e["type"] for e in customers} >= {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_between",
    }


# -- e-mail and phone keys in SQL against `identity` ----------------------------------------------

EMAILS = [
    (1, "  Jane.Doe@Example.COM "), (2, "jane.doe@example.com"),
    (3, "\u00a0JANE.DOE@example.com\u3000"), (4, "\u212aate@x.io"), (5, "kate@x.io"),
    (6, "a@b.co\n"), (7, "A@B.CO"), (8, "\x1ca@b.co"), (9, "o'brien@x.ie"), (10, "O'Brien@X.IE"),
    (11, "solo@x.io"), (11, "SOLO@x.io"), (None, "z@z.io"), (12, "z@z.io"),
    (13, "jane.doe@example"), (14, "ÄBC@x.de"), (15, "\u0130@x.de"), (16, ""), (17, None),
    (18, "a@b.c"), (19, "tab\t@x.io"), (20, "a@b.co\u200b"), (21, "x@y.com\r\n"),
]  # fmt: skip
PHONES = [
    (30, "+44 7416 962965", "GB"), (31, "07416 962965", "UK"), (32, "0044 7416 962965", None),
    (33, "+49 1512 3456789", "DE"), (34, "01512 3456789", "Deutschland"),
    (35, "555-CALL-NOW", "GB"), (36, "555-CALL-NOW", "GB"), (37, "0000", "GB"), (38, "0000", "DE"),
    (39, "+1 212-734-1234", "US"), (40, "(212) 734-1234", "US"), (41, "07416 962966", None),
    (42, "+447416962966", "Atlantis"), (None, "+33 6 12 34 56 78", "FR"),
    (43, "06 12 34 56 78", "France"), (44, "+44 12", "GB"), (45, "12345", "GB"),
]  # fmt: skip
# spellings whose candidate key is not their E.164 form: missed in SQL, never miscounted
EXOTIC = [
    (50, "+44 (0) 7416 962967", "GB"), (51, "+447416962967", "GB"),
    (52, "011 44 7416 962968", "US"), (53, "+44 7416 962968", "GB"),
]  # fmt: skip


def people(rows: list[tuple], first: int = 0) -> pl.DataFrame:
    if len(rows[0]) == 2:
        rows = [(i, e, None, None) for i, e in rows]
    else:
        rows = [(i, None, p, c) for i, p, c in rows]
    ids, emails, phones, countries = zip(*rows, strict=True)
    return pl.DataFrame(
        {"row_id": range(first, first + len(rows)), "customer_id": ids, "email": emails,
         "phone": phones, "country": countries},
        schema={"row_id": pl.Int64, "customer_id": pl.Int64, "email": pl.String,
                "phone": pl.String, "country": pl.String},
    )  # fmt: skip


PEOPLE_CATALOG = {
    "version": 1,
    "data_root": "data",
    "datasets": {
        "people": {
            "source": {},
            "primary_key": ["row_id"],
            "subject_key": "customer_id",
            **{k: "TODO" for k in ("owner", "steward", "purpose", "lawful_basis")},
            "columns": {
                "row_id": {"type": "int64"},
                "customer_id": {"type": "int64", "pii": "person_id"},
                "email": {"type": "string", "pii": "email"},
                "phone": {"type": "string", "pii": "phone"},
                "country": {"type": "string"},
            },
        }
    },
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, sample_catalog) -> dict[str, dict]:
    """Per backend, a `people` dataset holding EMAILS + PHONES, and one holding EXOTIC."""
    folder = tmp_path_factory.mktemp("hostile")
    url = pg.postgres_url()
    schema = f"govlib_hostile_{secrets.token_hex(4)}"
    tables = {"regular": people(EMAILS).vstack(people(PHONES, 100)), "exotic": people(EXOTIC)}
    import duckdb
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    os.environ["GOVLIB_TEST_PG_HOSTILE_URL"] = pg.schema_url(url, schema)
    made: dict[str, dict] = {}
    for name, frame in tables.items():
        cols = "row_id BIGINT, customer_id BIGINT, email TEXT, phone TEXT, country TEXT"
        with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
            cur.execute(f"CREATE TABLE {schema}.{name} ({cols})")
            with cur.copy(f"COPY {schema}.{name} FROM STDIN") as copy:
                for row in frame.iter_rows():
                    copy.write_row(row)
        lite = sqlite3.connect(folder / "people.sqlite")
        lite.execute(f"CREATE TABLE {name} ({cols})")
        lite.executemany(f"INSERT INTO {name} VALUES (?, ?, ?, ?, ?)", frame.iter_rows())
        lite.commit()
        lite.close()
        duck = duckdb.connect(str(folder / "people.duckdb"))
        duck.register("incoming", frame.to_arrow())
        duck.execute(f"CREATE TABLE {name} AS SELECT * FROM incoming")
        duck.close()
        sources = {"postgres": {"uri_env": "GOVLIB_TEST_PG_HOSTILE_URL", "table": name},
                   "sqlite": {"uri": "sqlite:///people.sqlite", "table": name},
                   "duckdb": {"uri": "duckdb:///people.duckdb", "table": name}}  # fmt: skip
        made[name] = {"frame": frame}
        for kind, source in sources.items():
            raw = json.loads(json.dumps(PEOPLE_CATALOG))
            raw["data_root"] = str(folder)
            raw["datasets"]["people"]["source"] = source
            path = folder / f"{name}-{kind}.yaml"
            path.write_text(yaml.safe_dump(raw))
            made[name][kind] = catalog.load(path).dataset("people")
    yield made
    pg.drop_postgres(url, schema)


@pytest.mark.parametrize("kind", ["polars", "postgres", "sqlite", "duckdb"])
def test_email_keys_in_sql_are_identitys_on_hostile_values(hostile, kind):
    frame = hostile["regular"]["frame"]
    want = frame.select(identity.email_keys(pl.col("email")).alias("k"))["k"].to_list()
    if kind == "polars":
        data = open_frame(frame, "polars")
    else:
        data = open_database(hostile["regular"][kind])
    t = data.table
    rows = data.rows(t.select("row_id", k=email_key_expr(t.email, data.backend)))
    got = [r["k"] for r in sorted(rows, key=lambda r: r["row_id"])]
    data.close()
    assert got == want
    assert want[:3] == ["jane.doe@example.com"] * 3
    assert want[3] == want[4] == "kate@x.io"


def in_database(ds: catalog.Dataset) -> list[quality.CheckResult]:
    data = open_database(ds)
    try:
        return quality.duplicate_subjects(ds, data)
    finally:
        data.close()


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "duckdb"])
def test_duplicate_subjects_in_sql_equal_identitys_and_miss_only_exotic_spellings(hostile, kind):
    regular, exotic = hostile["regular"], hostile["exotic"]
    want = quality.duplicate_subjects(regular[kind], regular["frame"])
    assert in_database(regular[kind]) == want
    shared = {c.column: c.unexpected_count for c in want}
    assert shared == {"email": 11, "phone": 9}
    # "+44 (0) ..." and a US "011" call prefix: identity matches them, the candidate key cannot
    assert [c.unexpected_count for c in quality.duplicate_subjects(exotic[kind], exotic["frame"])
            if c.column == "phone"] == [4]  # fmt: skip
    missed = in_database(exotic[kind])
    assert [c.unexpected_count for c in missed if c.column == "phone"] == [0]


def test_every_regions_example_number_has_a_length_the_phone_filter_keeps():
    import phonenumbers

    low, high = e164_digits()
    for region in phonenumbers.SUPPORTED_REGIONS:
        example = phonenumbers.example_number(region)
        if example is not None:
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            assert low <= len(e164) - 1 <= high, region
    # the sample's "0000" placeholder in GB is the candidate +44 000: it never leaves the database
    assert len("+44000") - 1 < low


# -- regexes: PostgreSQL reads the translation as Python reads the pattern ----------------------

PATTERNS = [
    identity.EMAIL_REGEX, r"^\d+$", r"a.b", r"(?s)a.b", r"^\s*x\s*$", r"[\d-]+", r"\x41B",
    r"a{", r"a{2}", r"^a$", r"[^\n]+$", r"\S+@", r"[\s]", r"\D", r"x|^$", r"\.\*",
]  # fmt: skip
TEXTS = [
    "a\nb", "x\n", "\u0663\u0664", "abc", "A", "AB", "a{", "aa", "a", "a\n", " x ", "\u00a0x\u2003",
    "12-3", "", "jane.doe@example.com", "jane.doe@example.com\n", "x@y\n", ".*", "\x1c",
    "\U0001d7ce",
]  # fmt: skip


def test_postgresql_regexes_match_as_python_matches(pg_schema):  # noqa: F811
    import psycopg

    with psycopg.connect(pg.postgres_url()) as con:
        for pattern in PATTERNS:
            sql = translate(pattern, backend="postgres")
            rows = con.execute(
                "SELECT regexp_like(t, %s) FROM unnest(%s::text[]) WITH ORDINALITY AS u(t, i) "
                "ORDER BY i",
                (sql, TEXTS),
            ).fetchall()
            got = [r[0] for r in rows]
            assert got == [re.search(pattern, t) is not None for t in TEXTS], pattern


# -- subject search inside the database ----------------------------------------------------------


def _subjects(frames) -> dict[str, dict]:
    """Searches covering what the closure follows: a shared e-mail (two ids), a phone in national
    format, an id with orders and tickets (the cascade)."""
    c = frames["customers"]
    keyed = c.with_columns(k=identity.email_keys(pl.col("email")))
    shared = (
        keyed.drop_nulls("k").group_by("k").agg(n=pl.col("customer_id").n_unique())
        .filter(pl.col("n") > 1).sort("k")["k"][0]
    )  # fmt: skip
    national = c.filter(pl.col("phone").str.starts_with("0") & (pl.col("country") == "GB"))
    ticketed = frames["support_tickets"]["customer_id"].drop_nulls().sort()[0]
    return {
        "shared email": {"email": f" {shared.upper()} "},
        "national phone": {"phone": national["phone"][0], "country": "GB"},
        "id": {"subject_id": str(ticketed)},
    }


def _found(cat, frames=None, **search):
    match, plan = rights.find(cat, as_of=AS_OF, frames=frames, **search)
    taken = {
        name: plan.frames[name].filter(mask).sort(pl.all()).to_dicts()
        for name, mask in plan.deletes.items()
    }
    return match.to_dict(), sorted(match.identifiers), taken


@pytest.mark.parametrize("kind", ["postgres", "sqlite", "duckdb"])
def test_subject_find_in_a_database_gives_what_the_files_give(
    db_catalogs, sample_catalog, frames, kind
):
    cat = catalog.load(db_catalogs[kind])
    for label, search in _subjects(frames).items():
        want = _found(sample_catalog, frames, **search)
        assert want[0]["rows"]["customers"] >= 1, label
        assert _found(cat, **search) == want, label
    shared = _found(cat, **_subjects(frames)["shared email"])
    assert shared[0]["subjects"] == 2  # the closure went from one id to the other


def test_subject_find_on_200000_customers_reads_only_the_subjects_rows(big_customers, tmp_path):  # noqa: F811
    big, frame = big_customers
    raw = yaml.safe_load(big.read_text())  # the other datasets from the sample's files
    raw["data_root"] = str(CATALOG.parent / "data" / "sample")
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    keyed = frame.with_columns(k=identity.email_keys(pl.col("email"))).drop_nulls("k")
    email = keyed.filter(pl.col("k").is_duplicated()).sort("k")["email"][0]
    with pg.count_fetched() as fetched:
        assert main(["subject", "find", "--email", email, "--catalog", str(path)]) == 0
    cat = catalog.load(path)
    others = [name for name in cat.names() if name != "customers"]
    memory = {**sources.load_all(cat, others), "customers": frame}
    want, _ = rights.find(cat, email=email, as_of=AS_OF, frames=memory)
    got, _ = rights.find(cat, email=email, as_of=AS_OF)
    assert got.to_dict() == want.to_dict()
    assert want.rows["customers"] >= 2
    # the subject's rows, read again as the search grows, schema look-ups and the countries
    # (for the unsearchable phones): 82 rows when written, against the table's 203,000
    assert fetched.rows <= 500, sorted(fetched.statements, key=lambda s: s[1])[-5:]
    print(f"subject find fetched {fetched.rows} rows in {len(fetched.statements)} queries")


def _crm(folder: Path, frames: dict[str, pl.DataFrame]) -> dict[str, catalog.Catalog]:
    """A small CRM (order items point at orders, which point at customers) as files, in SQLite
    and in DuckDB."""
    meta = {"owner": "o", "steward": "s", "purpose": "p", "lawful_basis": "contract"}
    person = {"type": "int64", "pii": "person_id"}
    datasets = {
        "customers": {"primary_key": ["customer_id"], "subject_key": "customer_id", "columns": {
            "customer_id": person, "email": {"type": "string", "pii": "email"},
            "phone": {"type": "string", "pii": "phone"}, "country": {"type": "string"}}},
        "contacts": {"primary_key": ["contact_id"], "subject_key": "customer_id",
                     "relationships": [{"column": "customer_id",
                                        "references": "customers.customer_id"}],
                     "columns": {"contact_id": {"type": "int64"}, "customer_id": person,
                                 "phone": {"type": "string", "pii": "phone"},
                                 "country": {"type": "string"}}},
        "orders": {"primary_key": ["order_id"], "subject_key": "customer_id",
                   "relationships": [{"column": "customer_id",
                                      "references": "customers.customer_id"}],
                   "columns": {"order_id": {"type": "int64"}, "customer_id": person}},
        "order_items": {"primary_key": ["item_id"],
                        "relationships": [{"column": "order_id", "references": "orders.order_id"}],
                        "columns": {"item_id": {"type": "int64"}, "order_id": {"type": "int64"}}},
        # an e-mail list of its own, and notes on its entries: found by e-mail, not by id
        "leads": {"primary_key": ["lead_id"],
                  "columns": {"lead_id": {"type": "int64"},
                              "email": {"type": "string", "pii": "email"}}},
        "lead_notes": {"primary_key": ["note_id"],
                       "relationships": [{"column": "lead_id", "references": "leads.lead_id"}],
                       "columns": {"note_id": {"type": "int64"}, "lead_id": {"type": "int64"}}},
    }  # fmt: skip
    made = {}
    for kind in ("files", "sqlite", "duckdb"):
        data = folder / kind / "data"
        data.mkdir(parents=True)
        sources_ = {n: {"path": f"{n}.parquet"} if kind == "files" else
                    {"uri": f"{kind}:///crm.{kind}", "table": n} for n in datasets}  # fmt: skip
        raw = {"version": 1, "as_of": "2025-01-31", "data_root": "data", "datasets": {
            n: {"description": "d", "source": sources_[n], **meta, **spec}
            for n, spec in datasets.items()}}  # fmt: skip
        path = folder / kind / "catalog.yaml"
        path.write_text(json.dumps(raw))  # JSON is YAML, without the aliases of shared dicts
        made[kind] = catalog.load(path)
        if kind == "files":
            for name, frame in frames.items():
                frame.write_parquet(data / f"{name}.parquet")
        elif kind == "sqlite":
            pg.write_sqlite(data / "crm.sqlite", made["files"], frames)
        else:
            pg.write_duckdb(data / "crm.duckdb", frames)
    return made


def test_subject_find_in_a_database_follows_local_numbers_and_cascades(tmp_path):
    frames = {
        "customers": pl.DataFrame({"customer_id": [1, 2], "email": ["a@example.com", None],
                                   "phone": [None, "+44 7416 962965"], "country": ["GG", "GB"]}),
        # Guernsey's local 256789 is +441481256789, Norfolk Island's 12345 +672312345
        "contacts": pl.DataFrame({"contact_id": [10, 11, 12], "customer_id": [1, 1, 2],
                                  "phone": ["256789", "12345", "07416 962965"],
                                  "country": ["GG", "NF", "GB"]}),
        "orders": pl.DataFrame({"order_id": [100, 101], "customer_id": [1, 2]}),
        "order_items": pl.DataFrame({"item_id": [7, 8, 9], "order_id": [100, 100, 101]}),
        "leads": pl.DataFrame({"lead_id": [50, 51], "email": ["A@example.com ", "b@example.com"]}),
        "lead_notes": pl.DataFrame({"note_id": [60, 61], "lead_id": [50, 51]}),
    }  # fmt: skip
    made = _crm(tmp_path, frames)
    searches = [{"phone": "+44 1481 256789"}, {"phone": "+672 3 12345"}, {"subject_id": "2"}]
    for search in searches:
        want = _found(made["files"], sources.load_all(made["files"]), **search)
        for kind in ("sqlite", "duckdb"):
            assert _found(made[kind], **search) == want, (kind, search)
    got, _, taken = _found(made["duckdb"], phone="+44 1481 256789")
    # the subject's order takes its two items with it (they point at the order, not the person),
    # and the lead holding the subject's e-mail its note
    assert got["rows"] == {"contacts": 2, "customers": 1, "lead_notes": 1, "leads": 1,
                           "order_items": 2, "orders": 1}  # fmt: skip
    assert [row["item_id"] for row in taken["order_items"]] == [7, 8]
    assert [row["note_id"] for row in taken["lead_notes"]] == [60]


def test_unsearchable_phones_are_warned_of_in_a_database_as_in_files(tmp_path, caplog):
    frames = {
        "customers": pl.DataFrame({"customer_id": [1], "email": ["a@example.com"],
                                   "phone": ["020 7946 0958"], "country": [None]},
                                  schema_overrides={"country": pl.String}),
        "contacts": pl.DataFrame({"contact_id": [10], "customer_id": [1],
                                  "phone": ["+44 20 7946 0958"], "country": ["GB"]}),
        "orders": pl.DataFrame({"order_id": [1], "customer_id": [1]}),
        "order_items": pl.DataFrame({"item_id": [1], "order_id": [1]}),
        "leads": pl.DataFrame({"lead_id": [1], "email": ["x@example.com"]}),
        "lead_notes": pl.DataFrame({"note_id": [1], "lead_id": [1]}),
    }  # fmt: skip
    made = _crm(tmp_path, frames)
    warned = {}
    for kind in ("files", "sqlite", "duckdb"):
        caplog.clear()
        _found(made[kind], email="a@example.com")
        warned[kind] = [r.getMessage() for r in caplog.records if "cannot be searched" in r.message]
    assert warned["files"] == [
        "customers: 1 phone value(s) cannot be searched (national format with no known country): "
        "the subject may have rows there that are not found; store numbers with + or give the "
        "dataset a country column"
    ]
    assert warned["sqlite"] == warned["duckdb"] == warned["files"]


def test_subject_find_in_a_database_with_a_thousand_numbers_of_one_subject(tmp_path):
    n = 1_200  # one e-mail shared by 1,200 ids, each with a number of its own
    phones = [f"+44 7400 {i:06d}" for i in range(n)]
    frames = {
        "customers": pl.DataFrame({"customer_id": range(1, n + 1), "email": ["x@example.com"] * n,
                                   "phone": phones, "country": ["GB"] * n}),
        "contacts": pl.DataFrame({"contact_id": [1], "customer_id": [5], "phone": [phones[3]],
                                  "country": ["GB"]}),
        "orders": pl.DataFrame({"order_id": [1], "customer_id": [7]}),
        "order_items": pl.DataFrame({"item_id": [1], "order_id": [1]}),
        "leads": pl.DataFrame({"lead_id": [1], "email": ["y@example.com"]}),
        "lead_notes": pl.DataFrame({"note_id": [1], "lead_id": [1]}),
    }  # fmt: skip
    made = _crm(tmp_path, frames)
    want = _found(made["files"], sources.load_all(made["files"]), email="x@example.com")
    assert want[0] == {"rows": {"contacts": 1, "customers": n, "order_items": 1, "orders": 1},
                       "subjects": n}  # fmt: skip
    assert _found(made["duckdb"], email="x@example.com") == want
