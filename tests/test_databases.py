import dataclasses
import json
import math
import os
import sqlite3
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pytest
import yaml

from govlib import catalog, databases, sources
from govlib.cli import main
from govlib.errors import CatalogError

from . import pg
from .conftest import CATALOG
from .pg import pg_schema  # noqa: F401 (fixture)

NAMES = ("customers", "orders", "consent_events", "support_tickets")
PG_ENV = "GOVLIB_TEST_PG_SAMPLE_URL"


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert err.startswith("govlib: error: ")
    assert "Traceback" not in err
    return err


def same(a: object, b: object, where: str = "") -> None:
    """Equal records, floats within 1e-9."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or a == b, where
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


# -- URIs and queries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("postgresql://crm:s3cret@db:5432/crm", "postgresql://crm:***@db:5432/crm"),
        ("postgresql://crm:p@ss@db/crm", "postgresql://crm:***@db/crm"),
        ("postgresql://crm@db/crm", "postgresql://crm@db/crm"),
        ("sqlite:///data/crm.sqlite", "sqlite:///data/crm.sqlite"),
        (
            "mysql://db/crm?password=x&charset=utf8",
            "mysql://db/crm?password=%2A%2A%2A&charset=utf8",
        ),
    ],
)
def test_redact_removes_every_password(uri, shown):
    assert databases.redact(uri) == shown
    assert databases.has_password(uri) is (uri != shown)


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("delete from customers", r"not a SELECT \(it parses as Delete\)"),
        ("select 1; drop table customers", "found 2 statements"),
        ("select * into copy from customers", "writes"),
        ("with d as (delete from t returning *) select * from d", "writes"),
        ("update customers set email = null", r"parses as Update"),
        ("selec * frm", "not a SELECT"),
    ],
)
def test_a_query_that_is_not_one_select_is_refused(query, problem):
    with pytest.raises(ValueError, match=problem):
        databases.check_query(query)


def test_a_select_with_a_cte_is_accepted():
    databases.check_query("with c as (select * from customers) select * from c where 1 = 1")


# -- the sample as SQLite, DuckDB and PostgreSQL -----------------------------------------------


@pytest.fixture(scope="module")
def file_catalogs(tmp_path_factory, sample_catalog, frames) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("dbfiles")
    return pg.file_catalogs(folder, sample_catalog, frames)


@pytest.fixture(scope="module")
def pg_catalog(tmp_path_factory, pg_schema) -> Path:  # noqa: F811
    return pg.postgres_catalog(tmp_path_factory.mktemp("dbpg"), pg_schema, PG_ENV, list(NAMES))


@pytest.fixture(params=["sqlite", "duckdb", "postgres"])
def db_catalog(request) -> Path:
    if request.param == "postgres":
        return request.getfixturevalue("pg_catalog")
    return request.getfixturevalue("file_catalogs")[request.param]


@pytest.mark.parametrize("name", NAMES)
def test_every_dataset_reads_the_same_frame_as_its_file(db_catalog, frames, name):
    got = sources.scan(catalog.load(db_catalog).dataset(name)).collect()
    assert got.schema == frames[name].schema
    assert got.equals(frames[name])


def test_catalog_check_lists_database_datasets(db_catalog, capsys):
    assert main(["catalog", "check", "--catalog", str(db_catalog)]) == 0
    assert "catalog OK: 4 datasets" in capsys.readouterr().out


def run_json(args: list[str], out: Path) -> tuple[int, dict]:
    code = main([*args, "--json", str(out)])
    return code, json.loads(out.read_text())


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["profile"], "customers"),
        (["profile"], "orders"),
        (["validate"], "customers"),
        (["validate"], "support_tickets"),
        (["retention", "check"], "customers"),
    ],
)
def test_records_equal_the_file_based_sample(db_catalog, tmp_path, command, name):
    want_code, want = run_json([*command, name, "--catalog", str(CATALOG)], tmp_path / "f.json")
    code, got = run_json([*command, name, "--catalog", str(db_catalog)], tmp_path / "d.json")
    assert code == want_code
    same(got, want, name)


def test_sample_of_a_small_table_is_all_of_it_by_primary_key(db_catalog, frames):
    rows = databases.sample(catalog.load(db_catalog).dataset("orders"), n=10_000)
    assert rows.equals(frames["orders"].sort("order_id"))


def test_sample_is_drawn_by_the_database_bounded_and_ordered(db_catalog, frames):
    ds = catalog.load(db_catalog).dataset("orders")
    rows = databases.sample(ds, n=2_000, columns=["order_id", "card"])
    assert 1_700 <= rows.height <= 2_000  # Bernoulli: about n, never more
    assert rows["order_id"].is_sorted()
    assert rows.join(frames["orders"], on=["order_id", "card"], nulls_equal=True).height == (
        rows.height
    )
    first = frames["orders"]["order_id"].sort().head(rows.height)
    assert rows["order_id"].max() > first.max()  # spread over the table, not its head
    if "sqlite" not in str(db_catalog):  # SQLite's random() takes no seed
        again = databases.sample(ds, n=2_000, columns=["order_id", "card"])
        assert again.equals(rows)


def test_a_postgres_view_larger_than_the_sample_is_sampled_too(pg_catalog, pg_schema, frames):  # noqa: F811
    import psycopg

    with psycopg.connect(pg.postgres_url(), autocommit=True) as con:
        con.execute(f'CREATE VIEW "{pg_schema}".orders_seen AS SELECT * FROM "{pg_schema}".orders')
    text = pg_catalog.read_text().replace("table: orders", "table: orders_seen")
    path = pg_catalog.parent / "views.yaml"
    path.write_text(text)
    ds = catalog.load(path).dataset("orders")
    assert ds.source.table == "orders_seen"
    # TABLESAMPLE takes tables only: a view is sampled by a random() filter instead
    rows = databases.sample(ds, n=2_000, columns=["order_id", "card"])
    assert 1_700 <= rows.height <= 2_000
    assert rows["order_id"].is_sorted()
    assert rows["order_id"].max() > frames["orders"]["order_id"].sort()[rows.height]
    assert rows.join(frames["orders"], on=["order_id", "card"], nulls_equal=True).height == (
        rows.height
    )


def test_a_postgres_table_named_in_mixed_case_keeps_its_seeded_sample(pg_catalog, pg_schema):  # noqa: F811
    import psycopg

    with psycopg.connect(pg.postgres_url(), autocommit=True) as con:
        source = f'"{pg_schema}".orders'
        con.execute(f'CREATE TABLE "{pg_schema}"."SeenOrders" AS SELECT * FROM {source}')
    path = pg_catalog.parent / "mixed.yaml"
    path.write_text(pg_catalog.read_text().replace("table: orders", "table: SeenOrders"))
    ds = catalog.load(path).dataset("orders")
    first = databases.sample(ds, n=2_000, columns=["order_id"])
    assert 1_700 <= first.height <= 2_000
    assert databases.sample(ds, n=2_000, columns=["order_id"]).equals(first)  # TABLESAMPLE, seeded


def test_a_change_fingerprints_the_rows_it_read_and_nothing_else(pg_catalog, frames):
    cat = catalog.load(pg_catalog)
    read = {"orders": sources.scan(cat.dataset("orders")).collect()}
    first = sources.content_hashes(cat, read)
    assert list(first) == ["orders"]  # the tables it did not read cannot change its result
    assert first["orders"].startswith("rows:")
    shuffled = {"orders": read["orders"].sample(fraction=1.0, shuffle=True, seed=7)}
    assert sources.content_hashes(cat, shuffled) == first  # rows in any order
    one_less = {"orders": read["orders"].head(-1)}
    assert sources.content_hashes(cat, one_less) != first
    assert sources.content_hashes(cat)["orders"].startswith("unknown:")  # nothing read


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_file_sessions_are_read_only(file_catalogs, kind):
    ds = catalog.load(file_catalogs[kind]).dataset("customers")
    con = databases.connect(ds)
    try:
        with pytest.raises(Exception, match=r"(?i)read.?only|readonly"):
            con.raw_sql("CREATE TABLE written (a INTEGER)")
    finally:
        con.disconnect()


def test_a_sqlite_database_in_wal_mode_is_read_without_a_file_beside_it(
    tmp_path, sample_catalog, frames
):
    """Read-only SQLite creates -wal and -shm files for a WAL database: opened immutable, none."""
    folder = pg.file_catalogs(tmp_path, sample_catalog, frames)["sqlite"].parent
    db = folder / "data" / "crm.sqlite"
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
    con.close()
    before = {p.name: p.stat().st_mtime_ns for p in db.parent.iterdir()}
    assert sorted(before) == ["crm.sqlite"]
    cat = str(folder / "catalog.yaml")
    assert (
        main(["validate", "customers", "--catalog", cat, "--json", str(tmp_path / "v.json")]) == 1
    )
    assert main(["profile", "orders", "--catalog", cat]) == 0
    got = sources.scan(catalog.load(cat).dataset("customers")).collect()
    assert got.equals(frames["customers"])
    assert {p.name: p.stat().st_mtime_ns for p in db.parent.iterdir()} == before
    # a writer at work keeps its -wal file: read as usual, its uncommitted pages unseen
    writer = sqlite3.connect(db)
    writer.execute("BEGIN")
    writer.execute("DELETE FROM orders")
    try:
        assert databases.sqlite_read_uri(db).endswith("?mode=ro")
        assert sources.scan(catalog.load(cat).dataset("orders")).collect().height == len(
            frames["orders"]
        )
    finally:
        writer.rollback()
        writer.close()


def test_postgres_sessions_are_read_only(pg_catalog):
    con = databases.connect(catalog.load(pg_catalog).dataset("customers"))
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            con.raw_sql("CREATE TABLE written (a INTEGER)")
    finally:
        con.disconnect()


def test_a_query_that_turns_read_only_off_cannot_make_a_later_statement_write(
    pg_catalog,
    pg_schema,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    import psycopg

    url = pg.postgres_url()
    with psycopg.connect(url, autocommit=True) as owner:
        owner.execute(f"CREATE TABLE {pg_schema}.written (a INTEGER)")
        owner.execute(
            f"CREATE FUNCTION {pg_schema}.write() RETURNS INTEGER LANGUAGE sql AS "
            f"'INSERT INTO {pg_schema}.written VALUES (1) RETURNING 1'"
        )
    lift = "set_config('default_transaction_read_only', 'off', false)"
    query = (
        f"SELECT c.customer_id, {lift} AS lifted, CASE WHEN "
        f"current_setting('transaction_read_only') = 'off' THEN {pg_schema}.write() ELSE 0 END "
        f"AS wrote FROM {pg_schema}.customers AS c"
    )
    monkeypatch.setenv("GOVLIB_LIFT_URL", pg.schema_url(url, pg_schema))
    path = pg.database_catalog(tmp_path, {"customers": {"uri_env": "GOVLIB_LIFT_URL",
                                                        "query": query}})  # fmt: skip
    raw = yaml.safe_load(path.read_text())
    spec = raw["datasets"]["customers"]
    for key in ("retention", "consent", "relationships", "quality"):
        spec.pop(key, None)
    spec["columns"] = {"customer_id": {"type": "int64"}, "lifted": {"type": "string"},
                       "wrote": {"type": "int64"}}  # fmt: skip
    raw["datasets"] = {"customers": spec}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    for command in ("profile", "validate"):
        out = tmp_path / f"{command}.json"
        main([command, "customers", "--catalog", str(path), "--json", str(out)])
        assert json.loads(out.read_text())["rows"] > 3000  # the query ran, on every row
    con = databases.connect(catalog.load(path).dataset("customers"))
    try:
        con.raw_sql(f"SELECT {lift}").fetchone()  # the session's default, turned off by hand
        con.con.rollback()
        with pytest.raises(Exception, match="read-only transaction"):
            con.raw_sql(f"SELECT {pg_schema}.write()")
    finally:
        con.disconnect()
    with psycopg.connect(url) as owner:
        assert owner.execute(f"SELECT count(*) FROM {pg_schema}.written").fetchone() == (0,)


def test_postgres_uri_options_apply_but_cannot_lift_read_only(pg_catalog, tmp_path, monkeypatch):
    url = os.environ[PG_ENV]
    lifted = "options=-c%20default_transaction_read_only%3Doff"
    monkeypatch.setenv("GOVLIB_OPTIONS_URL", f"{url}?{lifted}&application_name=govlib_check")
    path = pg.database_catalog(tmp_path / "a", {"customers": {"uri_env": "GOVLIB_OPTIONS_URL",
                                                              "table": "customers"}})  # fmt: skip
    con = databases.connect(catalog.load(path).dataset("customers"))
    try:
        shown = con.raw_sql("SHOW application_name").fetchone()[0]
        assert shown == "govlib_check"  # the URI's options reach the session ...
        with pytest.raises(Exception, match="read-only transaction"):
            con.raw_sql("CREATE TABLE written (a INTEGER)")  # ... but read-only stays on
    finally:
        con.disconnect()
    # sslmode is honoured: verify-full with a root certificate that does not exist cannot connect
    missing = tmp_path / "no-root.crt"
    monkeypatch.setenv("GOVLIB_OPTIONS_URL", f"{url}?sslmode=verify-full&sslrootcert={missing}")
    with pytest.raises(databases.DatabaseError) as caught:
        databases.connect(catalog.load(path).dataset("customers"))
    password = urlsplit(url).password
    assert password
    assert password not in str(caught.value)


def test_postgres_queries_run_side_by_side_on_connections_of_their_own(pg_catalog, monkeypatch):
    from govlib.engine.backends import open_database, side_by_side

    data = open_database(catalog.load(pg_catalog).dataset("customers"))
    try:
        assert data.con.raw_sql("SHOW work_mem").fetchone()[0] == "64MB"
        pid = "SELECT pg_backend_pid(), pg_sleep(1)"
        jobs = [lambda d: d.con.raw_sql(pid).fetchone()[0]] * 3
        started = time.perf_counter()
        pids = side_by_side(data, jobs)
        assert time.perf_counter() - started < 2.6  # three one-second queries, at once
        assert pids[0] == data.con.con.info.backend_pid
        assert len(set(pids)) == 3
        # a job's error is raised once all have ended; a connection that cannot open leaves its
        # job to the table's own connection
        failing = [lambda d: 1, lambda d: 1 // 0, lambda d: 3]
        with pytest.raises(ZeroDivisionError):
            side_by_side(data, failing)
        unopened = dataclasses.replace(data, reopen=lambda: 1 // 0)
        assert side_by_side(unopened, jobs[:2]) == [pids[0], pids[0]]
        # nested calls share the process's three connections: never more open at once
        opened, lock, real = [0, 0], threading.Lock(), databases.connect

        def counting(ds):
            con = real(ds)
            with lock:
                opened[0] += 1
                opened[1] = max(opened)
            closing = con.disconnect

            def disconnect():
                with lock:
                    opened[0] -= 1
                closing()

            con.disconnect = disconnect
            return con

        monkeypatch.setattr(databases, "connect", counting)
        nested = side_by_side(data, [lambda d: side_by_side(d, jobs)] * 3)
        assert [len(found) for found in nested] == [3, 3, 3]
        assert opened == [0, 2]  # two besides the table's own, all closed
    finally:
        data.close()


def test_uniqueness_on_postgres_groups_only_a_column_whose_values_repeat(pg_catalog, frames):
    from datetime import date

    from govlib.engine import parameters
    from govlib.engine.backends import open_database, open_frame
    from govlib.engine.run import run_suite

    columns = ("customer_id", "email", "country", "postcode")
    entries = [{"type": "expect_column_values_to_be_unique", "kwargs": {"column": c}}
               for c in columns]  # fmt: skip

    def counts(data) -> list[tuple[bool, int]]:
        run = run_suite(data, entries, params=parameters(date(2025, 1, 31)))
        return [(r["success"], r["result"]["unexpected_count"]) for r in run.results]

    people = frames["customers"]
    want = counts(open_frame(people, "polars"))
    repeated = [people[c].drop_nulls().is_duplicated().sum() for c in columns]
    assert want == [(n == 0, n) for n in repeated]
    assert repeated[0] == repeated[1] == 0 < repeated[3] < repeated[2]
    with pg.count_fetched() as fetched:
        data = open_database(catalog.load(pg_catalog).dataset("customers"))
        try:
            assert counts(data) == want
        finally:
            data.close()
    # each column's distinct values are counted first; only those that repeat are grouped
    asked = [query for query, _ in fetched.statements]
    assert sum('AS "distinct"' in query for query in asked) == 4
    assert sum('AS "dup"' in query for query in asked) == 2


def test_a_query_source_reads_only_what_it_selects(pg_catalog, tmp_path, frames):
    path = pg.database_catalog(
        tmp_path,
        {
            "customers": {
                "uri_env": PG_ENV,
                "query": "select * from customers where status = 'closed'",
            }
        },
    )
    got = sources.scan(catalog.load(path).dataset("customers")).collect()
    assert got.equals(frames["customers"].filter(pl.col("status") == "closed"))
    assert got.height == 231


# -- bad input: one line, exit 2, no password --------------------------------------------------


def check_fails(path: Path, capsys, *expected: str, command: str = "profile") -> str:
    args = ["catalog", "check"] if command == "check" else [command, "customers"]
    assert main([*args, "--catalog", str(path)]) == 2
    err = one_line(capsys.readouterr().err)
    for text in expected:
        assert text in err
    assert "hunter2" not in err
    return err


def test_uri_with_a_password_is_refused_at_load(tmp_path, capsys):
    uri = "postgresql://crm:hunter2@db/crm"
    path = pg.database_catalog(tmp_path, {"customers": {"uri": uri, "table": "customers"}})
    with pytest.raises(CatalogError, match="put the URI in an environment variable"):
        catalog.load(path)
    check_fails(path, capsys, "postgresql://crm:***@db/crm", "uri_env", command="check")


def test_a_query_that_writes_is_refused_at_load(tmp_path, capsys):
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri": "sqlite:///crm.sqlite", "query": "delete from customers"}}
    )
    check_fails(path, capsys, "not a SELECT (it parses as Delete)", command="check")


@pytest.mark.parametrize(
    "source",
    [
        {"uri": "sqlite:///crm.sqlite"},
        {"path": "a.csv", "uri_env": "X", "table": "t"},
        {"uri_env": "not a name", "table": "t"},
        {"uri": "sqlite:///crm.sqlite", "table": "t", "query": "select 1"},
    ],
)
def test_a_source_must_say_where_and_what(tmp_path, source):
    path = pg.database_catalog(tmp_path, {"customers": source})
    with pytest.raises(CatalogError, match="dataset 'customers', key 'source'"):
        catalog.load(path)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("postgresql://crm:hunter2@127.0.0.1:1/crm", "cannot reach the database server"),
        ("mysql://crm:hunter2@127.0.0.1/crm", 'pip install "ibis-framework[mysql]"'),
        ("nosuchdb://crm:hunter2@host/crm", "is not a database URI Ibis knows"),
    ],
)
def test_connection_problems_are_one_line(tmp_path, capsys, monkeypatch, uri, expected):
    monkeypatch.setenv("GOVLIB_TEST_BAD_URL", uri)
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri_env": "GOVLIB_TEST_BAD_URL", "table": "customers"}}
    )
    err = check_fails(path, capsys, "dataset 'customers'", expected)
    assert "crm:***@" in err or "mysql" in err


def test_unset_environment_variable_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GOVLIB_TEST_UNSET_URL", raising=False)
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri_env": "GOVLIB_TEST_UNSET_URL", "table": "customers"}}
    )
    check_fails(path, capsys, "environment variable GOVLIB_TEST_UNSET_URL is not set")


def test_wrong_password_is_one_line_without_it(pg_catalog, tmp_path, capsys, monkeypatch):
    url = os.environ[PG_ENV]
    bad = url.replace(url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1], "hunter2", 1)
    monkeypatch.setenv("GOVLIB_TEST_BAD_URL", bad)
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri_env": "GOVLIB_TEST_BAD_URL", "table": "customers"}}
    )
    check_fails(path, capsys, "refused the credentials", ":***@127.0.0.1")


def test_missing_table_is_named(db_catalog, tmp_path, capsys):
    text = db_catalog.read_text().replace("table: customers", "table: nope", 1)
    (tmp_path / "catalog.yaml").write_text(
        text.replace("data_root: data", f"data_root: {db_catalog.parent / 'data'}")
    )
    check_fails(tmp_path / "catalog.yaml", capsys, "table nope not found")


def test_missing_column_is_schema_drift(db_catalog, tmp_path, capsys):
    text = db_catalog.read_text().replace(
        "      notes:", "      loyalty_tier: {type: string}\n      notes:", 1
    )
    (tmp_path / "catalog.yaml").write_text(
        text.replace("data_root: data", f"data_root: {db_catalog.parent / 'data'}")
    )
    check_fails(
        tmp_path / "catalog.yaml", capsys, "schema drift: missing declared columns: loyalty_tier"
    )


def test_a_database_file_outside_the_data_root_is_refused(tmp_path, capsys):
    path = pg.database_catalog(
        tmp_path, {"customers": {"uri": "sqlite:///../../elsewhere.sqlite", "table": "customers"}}
    )
    check_fails(path, capsys, "outside the data root")


# -- outputs are written to --out, never to the source ----------------------------------------


def test_retention_apply_on_a_database_writes_parquet_and_leaves_the_source(
    file_catalogs, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("GOVLIB_KEY", "3f9a0c2d7b1e4f6a8c5d2e9b0a7f1c3e")
    db = file_catalogs["sqlite"].parent / "data" / "crm.sqlite"
    before = sources.file_sha256(db)
    out = tmp_path / "out"
    code = main(
        [
            "retention",
            "apply",
            "customers",
            "--catalog",
            str(file_catalogs["sqlite"]),
            "--out",
            str(out),
            "--execute",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert sources.file_sha256(db) == before
    written = sorted(p.name for p in out.iterdir())
    assert "customers.parquet" in written
    copy = pl.read_parquet(out / "customers.parquet")
    assert copy.height == 3045 - 60  # the planted closed_overdue accounts are deleted
