"""`govlib catalog draft URI`: catalog entries from a database's own schema.

Each backend holds the same small CRM, built here with its declared keys: `customers` (primary
key), `orders` (primary key, a foreign key to customers), `tickets` (no declared key), a view,
and a column of a type govlib does not read.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from govlib import catalog, draft, sources
from govlib.cli import main

from . import pg

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov"]
CUSTOMERS = [
    (
        i,
        f"{FIRST[i % 8]} {LAST[i % 5]}",
        f"person{i}@example.org",
        f"+44 20 7946 {i:04d}",
        date(2021, 3, (i % 28) + 1),
        i * 1.25,
        b"\x00\x01",
    )
    for i in range(1, 41)
]
ORDERS = [(100 + i, (i % 40) + 1, i + 0.5, datetime(2024, 1, (i % 28) + 1, 10)) for i in range(60)]
TICKETS = [(f"T-{i:03d}", (i % 7) + 1, date(2024, 2, (i % 28) + 1)) for i in range(30)]
VALUES = ["example.org", "person1", "+44", "7946", "Lovelace", "Hopper", "T-001"]
TABLES = ("customers", "orders", "tickets")
ENV = "GOVLIB_TEST_DRAFT_DB_URL"


def ddl(blob: str) -> list[str]:
    return [
        "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, full_name TEXT, email TEXT, "
        f"phone TEXT, signed_up DATE, balance NUMERIC(10, 2), attachment {blob})",
        "CREATE TABLE orders (order_id BIGINT PRIMARY KEY, "
        "customer_id INTEGER REFERENCES customers (customer_id), total NUMERIC(10, 2), "
        "ordered_at TIMESTAMP)",
        "CREATE TABLE tickets (ticket_id TEXT NOT NULL, customer_id INTEGER, opened_on DATE)",
        "CREATE VIEW big_orders AS SELECT order_id, total FROM orders WHERE total > 50",
    ]


def fill(cursor, mark: str) -> None:
    for table, rows in (("customers", CUSTOMERS), ("orders", ORDERS), ("tickets", TICKETS)):
        marks = ", ".join([mark] * len(rows[0]))
        cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def make_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    for statement in ddl("BLOB"):
        con.execute(statement)
    fill(con, "?")
    con.commit()
    con.close()


def make_duckdb(path: Path) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    for statement in ddl("BLOB"):
        con.execute(statement)
    fill(con, "?")
    con.close()


@pytest.fixture(scope="module")
def pg_crm():
    """A fresh PostgreSQL schema holding the CRM: (server URL, schema name); dropped after."""
    import psycopg

    url = pg.postgres_url()
    schema = f"govlib_draft_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(f"SET search_path TO {schema}")
        for statement in ddl("BYTEA"):
            cur.execute(statement)
        fill(cur, "%s")
    try:
        yield url, schema
    finally:
        pg.drop_postgres(url, schema)


def password_of(url: str) -> str:
    return urlsplit(url).password or ""


@pytest.fixture(params=["sqlite", "duckdb", "postgres"])
def crm(request, tmp_path, monkeypatch) -> tuple[list[str], str]:
    """The command-line arguments that name the CRM, and the password they must never leak."""
    if request.param == "postgres":
        url, schema = request.getfixturevalue("pg_crm")
        monkeypatch.setenv(ENV, pg.schema_url(url, schema))
        return ["--uri-env", ENV], password_of(url)
    data = tmp_path / "data"
    data.mkdir()
    (make_sqlite if request.param == "sqlite" else make_duckdb)(data / f"crm.{request.param}")
    return [f"{request.param}:///{data / f'crm.{request.param}'}"], "\x00never"


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert err.startswith("govlib: error: ")
    assert "Traceback" not in err
    return err


def test_a_database_drafts_entries_from_its_declared_schema(crm, tmp_path, capsys):
    args, password = crm
    path = tmp_path / "catalog.yaml"
    assert main(["catalog", "draft", *args, "--catalog", str(path)]) == 0, capsys.readouterr()
    assert main(["catalog", "check", "--catalog", str(path)]) == 0
    warnings = capsys.readouterr().err.splitlines()
    assert warnings
    assert all("is still TODO" in line for line in warnings)
    cat = catalog.load(path)
    assert cat.names() == list(TABLES)  # tables only: the view is drafted when named
    customers, orders, tickets = (cat.dataset(n) for n in TABLES)
    assert customers.schema() == {
        "customer_id": "int64",
        "full_name": "string",
        "email": "string",
        "phone": "string",
        "signed_up": "date",
        "balance": "float64",
    }
    assert orders.schema() == {
        "order_id": "int64",
        "customer_id": "int64",
        "total": "float64",
        "ordered_at": "datetime",
    }
    pii = {c: s.pii for c, s in customers.columns.items() if s.pii}
    assert {c: pii[c] for c in ("full_name", "email", "phone")} == {
        "full_name": "person_name",
        "email": "email",
        "phone": "phone",
    }
    keys = [customers.primary_key, orders.primary_key, tickets.primary_key]
    assert keys == [["customer_id"], ["order_id"], ["ticket_id"]]
    assert [r.model_dump() for r in orders.relationships] == [
        {"column": "customer_id", "references": "customers.customer_id"}
    ]
    assert customers.relationships == tickets.relationships == []
    text = path.read_text()
    assert "  primary_key: [customer_id]  # declared in the database\n" in text
    assert "  - column: customer_id  # declared in the database\n" in text
    assert "  email:  # detected: email, 100% of 40 sampled values\n" in text
    assert "# column attachment (" in text
    assert "left out: govlib does not read this type" in text
    assert password not in text
    assert not [v for v in VALUES if v in text]
    assert sources.scan(orders).collect().height == 60  # the drafted catalog reads its tables


def test_drafting_again_adds_nothing_and_a_named_view_is_appended(crm, tmp_path, capsys):
    args, _ = crm
    path = tmp_path / "catalog.yaml"
    assert main(["catalog", "draft", *args, "--catalog", str(path)]) == 0
    before = path.read_text()
    capsys.readouterr()
    assert main(["catalog", "draft", *args, "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    assert "left out orders: the catalog reads it already, as dataset orders" in out
    assert "nothing to add" in out
    assert path.read_text() == before
    assert main(["catalog", "draft", *args, "--tables", "big_orders", "--catalog", str(path)]) == 0
    after = path.read_text()
    assert after.startswith(before)  # appended: nothing written before changes
    view = catalog.load(path).dataset("big_orders")
    assert view.schema() == {"order_id": "int64", "total": "float64"}
    assert view.primary_key == ["order_id"]  # a view declares no key: counted in the database
    assert "  primary_key: [order_id]  # unique, never-null columns: order_id\n" in after
    assert sources.scan(view).collect().height == 10  # totals 50.5 .. 59.5


def test_library_draft_counts_in_the_database_and_bounds_the_sample(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    make_sqlite(data / "crm.sqlite")
    d = draft.draft_database(
        f"sqlite:///{data / 'crm.sqlite'}", catalog_path=tmp_path / "c.yaml", sample_rows=7
    )
    assert [(e.dataset, e.rows) for e in d.entries] == [
        ("customers", 40),
        ("orders", 60),
        ("tickets", 30),
    ]
    # the database draws the sample (SQLite's Bernoulli draw is unseeded): never more than 7
    assert all(e.sampled_rows <= 7 for e in d.entries)
    assert sum(e.sampled_rows for e in d.entries) > 0
    tickets = d.entries[2]
    assert (tickets.key_candidates, tickets.primary_key, tickets.declared_key) == (
        ["ticket_id"],
        ["ticket_id"],
        False,
    )
    assert d.entries[0].source == {"uri": "sqlite:///data/crm.sqlite", "table": "customers"}
    assert re.search(r"  email:  # detected: email, 100% of [1-7] sampled values\n", d.text)
    assert d.created
    assert d.skipped == []
    assert d.export is None


def test_uri_env_naming_a_file_elsewhere_drafts_a_catalog_rooted_at_it(
    tmp_path, capsys, monkeypatch
):
    elsewhere = tmp_path / "warehouse"
    elsewhere.mkdir()
    make_duckdb(elsewhere / "crm.duckdb")
    monkeypatch.setenv("GOVLIB_TEST_CRM_FILE_URL", f"duckdb:///{elsewhere / 'crm.duckdb'}")
    path = tmp_path / "project" / "catalog.yaml"
    path.parent.mkdir()
    args = ["catalog", "draft", "--uri-env", "GOVLIB_TEST_CRM_FILE_URL", "--catalog", str(path)]
    assert main(args) == 0, capsys.readouterr().err
    cat = catalog.load(path)
    assert cat.data_dir == elsewhere
    assert cat.dataset("orders").source.uri_env == "GOVLIB_TEST_CRM_FILE_URL"
    assert main(["profile", "orders", "--catalog", str(path)]) == 0


def test_a_foreign_key_to_a_table_left_out_is_a_note_not_a_relationship(tmp_path, capsys):
    make_duckdb(tmp_path / "crm.duckdb")
    path = tmp_path / "catalog.yaml"
    uri = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    assert main(["catalog", "draft", uri, "--tables", "orders", "--catalog", str(path)]) == 0
    assert catalog.load(path).dataset("orders").relationships == []
    assert (
        "  # foreign key (customer_id) -> customers (customer_id) is not recorded: draft both "
        "tables together to record it\n"
    ) in path.read_text()


def test_a_schema_other_than_the_uris_is_read_as_schema_table(pg_crm, tmp_path, monkeypatch):
    url, schema = pg_crm
    monkeypatch.setenv(ENV, url)
    path = tmp_path / "catalog.yaml"
    args = ["--uri-env", ENV, "--schema", schema, "--tables", "orders,customers"]
    assert main(["catalog", "draft", *args, "--catalog", str(path)]) == 0
    cat = catalog.load(path)
    assert cat.names() == ["orders", "customers"]
    assert cat.dataset("orders").source.table == f"{schema}.orders"
    assert [r.references for r in cat.dataset("orders").relationships] == ["customers.customer_id"]
    assert sources.scan(cat.dataset("customers")).collect().height == 40


def test_a_typed_password_is_read_but_never_written(pg_crm, tmp_path, capsys, monkeypatch):
    url, schema = pg_crm
    typed = pg.schema_url(url, schema)
    database = urlsplit(url).path.strip("/")
    stem = database.upper().replace("-", "_").removeprefix("GOVLIB_")  # CI's is govlib_test
    env = f"GOVLIB_{stem}_URL"
    monkeypatch.delenv(env, raising=False)
    path = tmp_path / "catalog.yaml"
    assert main(["catalog", "draft", typed, "--tables", "customers", "--catalog", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"read the URI from ${env}" in err
    assert password_of(url) not in err
    text = path.read_text()
    assert password_of(url) not in text
    assert catalog.load(path).dataset("customers").source.uri_env == env
    assert os.environ.get("GOVLIB_DRAFT_READ_URL") is None  # the URI left the environment
    monkeypatch.setenv(env, typed)
    assert sources.scan(catalog.load(path).dataset("customers")).collect().height == 40


# -- errors: one line, exit 2, no password, the catalog untouched ------------------------------


def fails(capsys, tmp_path, *args: str) -> str:
    path = tmp_path / "catalog.yaml"
    before = path.read_text() if path.exists() else None
    assert main(["catalog", "draft", *args, "--catalog", str(path)]) == 2
    err = one_line(capsys.readouterr().err)
    assert "hunter2" not in err
    assert (path.read_text() if path.exists() else None) == before
    return err


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://crm:hunter2@127.0.0.1:1/crm", "cannot reach the database server"),
        ("mysql://crm:hunter2@127.0.0.1/crm", "catalog draft reads postgresql://, sqlite:///"),
        ("sqlite:///no/such/crm.sqlite", "database file not found"),
    ],
)
def test_a_source_that_cannot_be_read_is_one_line(tmp_path, capsys, uri, expected):
    err = fails(capsys, tmp_path, uri)
    assert expected in err
    assert "crm:***@" in err or "sqlite" in err


def test_a_wrong_password_is_one_line_without_it(pg_crm, tmp_path, capsys, monkeypatch):
    url, schema = pg_crm
    bad = pg.schema_url(url, schema).replace(f":{password_of(url)}@", ":hunter2@", 1)
    monkeypatch.setenv(ENV, bad)
    err = fails(capsys, tmp_path, "--uri-env", ENV)
    assert "refused the credentials" in err
    assert ":***@127.0.0.1" in err


def test_a_missing_table_or_schema_is_named(pg_crm, tmp_path, capsys, monkeypatch):
    url, schema = pg_crm
    monkeypatch.setenv(ENV, url)
    err = fails(capsys, tmp_path, "--uri-env", ENV, "--schema", schema, "--tables", "nope")
    assert f"no table or view 'nope' in schema '{schema}'" in err
    err = fails(capsys, tmp_path, "--uri-env", ENV, "--schema", "no_such_schema")
    assert "schema 'no_such_schema' is not in the database" in err
    monkeypatch.setenv(ENV, pg.schema_url(url, "no_such_schema"))  # named by the URI instead
    err = fails(capsys, tmp_path, "--uri-env", ENV)
    assert "the schema the URI names is not in the database" in err


def test_bad_arguments_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GOVLIB_TEST_UNSET_URL", raising=False)
    assert "GOVLIB_TEST_UNSET_URL is not set" in fails(
        capsys, tmp_path, "--uri-env", "GOVLIB_TEST_UNSET_URL"
    )
    assert "not an environment variable name" in fails(capsys, tmp_path, "--uri-env", "a b")
    make_sqlite(tmp_path / "crm.sqlite")
    uri = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    assert "no data files or other URI" in fails(capsys, tmp_path, uri, "x.csv")
    assert "--tables names no table" in fails(capsys, tmp_path, uri, "--tables", " , ")
    assert "choose database tables" in fails(capsys, tmp_path, "x.csv", "--schema", "s")


def test_a_table_whose_name_the_catalog_holds_from_elsewhere_is_refused(tmp_path, capsys):
    make_sqlite(tmp_path / "crm.sqlite")
    make_sqlite(tmp_path / "other.sqlite")
    path = tmp_path / "catalog.yaml"
    uri = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    assert main(["catalog", "draft", uri, "--tables", "customers", "--catalog", str(path)]) == 0
    capsys.readouterr()
    err = fails(capsys, tmp_path, f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert "the catalog already declares a dataset called 'customers'" in err
