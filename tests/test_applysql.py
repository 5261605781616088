"""apply.sql: run against a copy of the database source, it turns each table into govlib's copy.

Each command that writes a new copy (`retention apply`, `subject erase`, `cleanse --execute`)
runs on the sample loaded into SQLite, DuckDB and PostgreSQL. Its apply.sql is then run the way
a data owner runs it (`sqlite3 -bail`, `psql -v ON_ERROR_STOP=1`; DuckDB through its Python
client, as this machine has no duckdb CLI) against a copy of the source, never
the source itself, and the copied tables, read back through govlib, must equal the Parquet
copies; the source must be unchanged; a statement failing half-way must leave the copy as it was.
"""

import hashlib
import os
import re
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import polars as pl
import pytest

from govlib import applysql, catalog, sources
from govlib.cli import main

from . import pg
from .pg import pg_schema  # noqa: F401 (fixture)

NAMES = ("customers", "orders", "consent_events", "support_tickets")
PG_ENV = "GOVLIB_TEST_APPLYSQL_URL"
COPY_ENV = "GOVLIB_TEST_APPLYSQL_COPY_URL"
KEY = "3f9a0c2d7b1e4f6a8c5d2e9b0a7f1c3e"
BAD = "INSERT INTO govlib_no_such_table VALUES (1);\nCOMMIT;\n"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("GOVLIB_KEY", KEY)


def erased_subject(frames) -> str:
    """A customer with orders and support tickets: the erasure cascades into both."""
    with_orders = set(frames["orders"]["customer_id"].drop_nulls().to_list())
    with_tickets = set(frames["support_tickets"]["customer_id"].drop_nulls().to_list())
    return str(min(with_orders & with_tickets & set(frames["customers"]["customer_id"])))


def command(kind: str, frames=None) -> list[str]:
    if kind == "erasure":
        return ["subject", "erase", "--customer-id", erased_subject(frames), "--yes"]
    return {
        "retention": ["retention", "apply", "customers", "--execute"],
        "cleanse": ["cleanse", "customers", "--execute"],
    }[kind]


# -- the two databases: a source, and a way to copy it, run a script on it, and fingerprint it ---


class SQLiteSource:
    def __init__(self, folder: Path, cat, frames) -> None:
        self.catalog = pg.database_catalog(
            folder, {n: {"uri": "sqlite:///crm.sqlite", "table": n} for n in NAMES}
        )
        self.file = folder / "data" / "crm.sqlite"
        pg.write_sqlite(self.file, cat, frames)

    def copy(self, folder: Path) -> Path:
        """A copied database file, and a catalog reading it."""
        shutil.copy(self.file, folder / "data" / "crm.sqlite")
        return pg.database_catalog(
            folder, {n: {"uri": "sqlite:///crm.sqlite", "table": n} for n in NAMES}
        )

    def run(self, copy: Path, script: Path) -> subprocess.CompletedProcess:
        database = copy.parent / "data" / "crm.sqlite"
        with script.open("rb") as fh:
            return subprocess.run(
                ["sqlite3", "-bail", str(database)], stdin=fh, capture_output=True, check=False
            )

    def fingerprint(self, cat_path: Path) -> dict[str, tuple[int, str]]:
        con = sqlite3.connect(cat_path.parent / "data" / "crm.sqlite")
        try:
            return {
                name: _digest(con.execute(f'SELECT * FROM "{name}"').fetchall()) for name in NAMES
            }
        finally:
            con.close()


class DuckDBSource(SQLiteSource):
    def __init__(self, folder: Path, cat, frames) -> None:
        self.catalog = pg.database_catalog(
            folder, {n: {"uri": "duckdb:///crm.duckdb", "table": n} for n in NAMES}
        )
        self.file = folder / "data" / "crm.duckdb"
        pg.write_duckdb(self.file, frames)

    def copy(self, folder: Path) -> Path:
        shutil.copy(self.file, folder / "data" / "crm.duckdb")
        return pg.database_catalog(
            folder, {n: {"uri": "duckdb:///crm.duckdb", "table": n} for n in NAMES}
        )

    def run(self, copy: Path, script: Path) -> subprocess.CompletedProcess:
        """The script through DuckDB's Python client (no duckdb CLI on this machine)."""
        import duckdb

        con = duckdb.connect(str(copy.parent / "data" / "crm.duckdb"))
        try:
            con.execute(script.read_text())
            code = 0
        except duckdb.Error:
            code = 1
        finally:
            con.close()
        return subprocess.CompletedProcess([], code, b"", b"")

    def fingerprint(self, cat_path: Path) -> dict[str, tuple[int, str]]:
        import duckdb

        con = duckdb.connect(str(cat_path.parent / "data" / "crm.duckdb"), read_only=True)
        try:
            return {
                name: _digest(con.execute(f'SELECT * FROM "{name}"').fetchall()) for name in NAMES
            }
        finally:
            con.close()


class PostgresSource:
    def __init__(self, folder: Path, schema: str) -> None:
        self.url = pg.postgres_url()
        self.schema = schema
        os.environ[PG_ENV] = pg.schema_url(self.url, schema)
        self.catalog = pg.database_catalog(
            folder, {n: {"uri_env": PG_ENV, "table": n} for n in NAMES}
        )
        self.copies: list[str] = []

    def copy(self, folder: Path) -> Path:
        """A copied schema (same column types), and a catalog reading it."""
        import psycopg

        name = f"{self.schema}_copy{len(self.copies)}"
        self.copies.append(name)
        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f"CREATE SCHEMA {name}")
            for table in NAMES:
                con.execute(f"CREATE TABLE {name}.{table} (LIKE {self.schema}.{table})")
                con.execute(f"INSERT INTO {name}.{table} SELECT * FROM {self.schema}.{table}")
        os.environ[COPY_ENV] = pg.schema_url(self.url, name)
        return pg.database_catalog(folder, {n: {"uri_env": COPY_ENV, "table": n} for n in NAMES})

    def run(self, copy: Path, script: Path) -> subprocess.CompletedProcess:
        schema = self.copies[-1]
        env = os.environ | {"PGOPTIONS": f"-c search_path={schema}"}
        return subprocess.run(
            ["psql", self.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
            env=env, capture_output=True, check=False,
        )  # fmt: skip

    def fingerprint(self, cat_path: Path) -> dict[str, tuple[int, str]]:
        import psycopg

        schema = self.schema if cat_path == self.catalog else self.copies[-1]
        with psycopg.connect(self.url) as con:
            return {
                name: _digest(con.execute(f"SELECT t::text FROM {schema}.{name} t").fetchall())
                for name in NAMES
            }

    def drop(self) -> None:
        for name in self.copies:
            pg.drop_postgres(self.url, name)


def _digest(rows: list[tuple]) -> tuple[int, str]:
    """Row count and a checksum of the rows, in any order."""
    text = "\n".join(sorted(repr(row) for row in rows))
    return len(rows), hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory, sample_catalog, frames):
    return SQLiteSource(tmp_path_factory.mktemp("applysql-sqlite"), sample_catalog, frames)


@pytest.fixture(scope="module")
def duckdb_source(tmp_path_factory, sample_catalog, frames):
    return DuckDBSource(tmp_path_factory.mktemp("applysql-duckdb"), sample_catalog, frames)


@pytest.fixture(scope="module")
def postgres_source(tmp_path_factory, pg_schema):  # noqa: F811
    source = PostgresSource(tmp_path_factory.mktemp("applysql-pg"), pg_schema)
    yield source
    source.drop()


@pytest.fixture(params=["sqlite", "duckdb", "postgres"])
def database(request):
    return request.getfixturevalue(f"{request.param}_source")


# -- the tests -----------------------------------------------------------------------------------


def read_back(cat_path: Path, name: str) -> pl.DataFrame:
    ds = catalog.load(cat_path).dataset(name)
    return sources.scan(ds).collect().sort(ds.primary_key)


@pytest.mark.parametrize("kind", ["retention", "erasure", "cleanse"])
def test_apply_sql_turns_a_copy_of_the_source_into_the_parquet_copy(
    database, kind, frames, tmp_path, capsys
):
    source_before = database.fingerprint(database.catalog)
    out = tmp_path / "out"
    code = main([*command(kind, frames), "--catalog", str(database.catalog), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    script = out / "apply.sql"
    assert f"{script}: the change as SQL" in " ".join(printed.split())
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    text = script.read_text()
    assert text.count("BEGIN;") == 1
    assert text.rstrip().endswith("COMMIT;")
    if isinstance(database, PostgresSource):
        assert f"-- Schema: {database.schema} (tables below are in it" in text
    copies = sorted(p.stem for p in out.glob("*.parquet"))
    assert "customers" in copies

    copy_dir = tmp_path / "copy"
    (copy_dir / "data").mkdir(parents=True)
    copy = database.copy(copy_dir)
    done = database.run(copy, script)
    assert done.returncode == 0, done.stderr.decode()[:500]
    for name in copies:
        want = pl.read_parquet(out / f"{name}.parquet").sort(
            catalog.load(copy).dataset(name).primary_key
        )
        assert read_back(copy, name).equals(want), name
    assert read_back(copy, "customers").height < frames["customers"].height
    assert database.fingerprint(database.catalog) == source_before  # the source is untouched


def test_a_statement_failing_half_way_leaves_the_copy_as_it_was(database, frames, tmp_path, capsys):
    out = tmp_path / "out"
    args = [*command("retention", frames), "--catalog", str(database.catalog), "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    broken = tmp_path / "broken.sql"
    text = (out / "apply.sql").read_text()
    assert text.endswith("COMMIT;\n")
    broken.write_text(text.removesuffix("COMMIT;\n") + BAD)  # after every DELETE and UPDATE
    copy_dir = tmp_path / "copy"
    (copy_dir / "data").mkdir(parents=True)
    copy = database.copy(copy_dir)
    before = database.fingerprint(copy)
    assert before == database.fingerprint(database.catalog)
    done = database.run(copy, broken)
    assert done.returncode != 0
    assert database.fingerprint(copy) == before


def test_retention_apply_on_sqlite_deletes_and_anonymises_the_planted_rows(sqlite_source, tmp_path):
    out = tmp_path / "out"
    assert main([*command("retention"), "--catalog", str(sqlite_source.catalog),
                 "--out", str(out)]) == 0  # fmt: skip
    text = (out / "apply.sql").read_text()
    # the 60 closed_overdue accounts go, with their orders and tickets (children first); the
    # 60 inactive_overdue ones lose six personal columns
    assert "-- customers: 60 row(s) deleted, 360 cell(s) updated in 6 column(s)" in text
    assert text.index('DELETE FROM "orders"') < text.index('DELETE FROM "customers"')
    assert "DELETE FROM" in text
    assert "UPDATE" in text
    # no value is spliced into a statement: keys and new values are in the key tables' lists
    statements = [line for line in text.splitlines() if line.startswith(("DELETE", "UPDATE"))]
    assert len(statements) == 3 + 6
    for line in statements:
        bare = re.sub(r'"[^"]*"', "", line).replace("SELECT 1 FROM", "")
        assert not re.search(r"[0-9']", bare), line


def test_a_database_dataset_without_a_primary_key_is_refused(sqlite_source, tmp_path, capsys):
    text = sqlite_source.catalog.read_text().replace("    primary_key:\n    - order_id\n", "", 1)
    assert text != sqlite_source.catalog.read_text()
    path = tmp_path / "catalog.yaml"
    path.write_text(text.replace("data_root: data", f"data_root: {sqlite_source.file.parent}"))
    out = tmp_path / "out"
    code = main([*command("retention"), "--catalog", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "dataset 'orders'" in err
    assert "declare primary_key in the catalog" in err
    assert not out.exists()


def test_file_sources_get_no_apply_sql(sample_catalog, frames):
    after = {"customers": frames["customers"].head(10)}
    assert applysql.scripts(sample_catalog, frames, after, title="t") == {}


@pytest.mark.parametrize("dialect", ["postgres", "sqlite", "duckdb"])
def test_literals_are_quoted_by_the_dialect(dialect):
    assert applysql.literal("x'); DROP TABLE customers; --", dialect) == (
        "'x''); DROP TABLE customers; --'"
    )
    assert applysql.identifier('a"b', dialect) == '"a""b"'


def test_with_recipients_apply_sql_is_encrypted_and_decrypts_to_the_same_script(
    sqlite_source, tmp_path, monkeypatch, capsys
):
    import pyrage
    from pyrage import x25519

    plain_out = tmp_path / "plain"
    args = [*command("retention"), "--catalog", str(sqlite_source.catalog), "--as-of", "2025-01-31"]
    assert main([*args, "--out", str(plain_out)]) == 0
    identity = x25519.Identity.generate()
    monkeypatch.setenv("GOVLIB_RECIPIENTS", str(identity.to_public()))
    out = tmp_path / "sealed"
    assert main([*args, "--out", str(out)]) == 0
    assert f"{out / 'apply.sql.age'}: the change as SQL" in " ".join(
        capsys.readouterr().out.split()
    )
    assert not (out / "apply.sql").exists()
    sealed = out / "apply.sql.age"
    assert stat.S_IMODE(sealed.stat().st_mode) == 0o600
    text = pyrage.decrypt(sealed.read_bytes(), [identity]).decode()
    header = "-- govlib apply.sql: retention as of 2025-01-31, run at "

    def body(script: str) -> str:  # the run time differs between the two runs
        return "\n".join(line for line in script.splitlines() if not line.startswith(header))

    assert body(text) == body((plain_out / "apply.sql").read_text())


def test_two_databases_get_one_script_each_in_their_own_dialect(tmp_path, frames):
    path = pg.database_catalog(
        tmp_path,
        {
            "customers": {"uri": "sqlite:///crm.sqlite", "table": "customers"},
            "orders": {"uri": "duckdb:///sales.duckdb", "table": "sales.orders"},
        },
    )
    cat = catalog.load(path)
    gone = frames["customers"]["customer_id"][0]
    after = {
        "customers": frames["customers"].filter(pl.col("customer_id") != gone),
        "orders": frames["orders"].with_columns(pl.col("currency").str.to_lowercase()),
    }
    made = applysql.scripts(cat, frames, after, title="test")
    assert sorted(made) == ["apply-customers.sql", "apply-orders.sql"]
    assert 'DELETE FROM "customers" WHERE EXISTS' in made["apply-customers.sql"]
    assert "sqlite3 -bail" in made["apply-customers.sql"]
    orders = made["apply-orders.sql"]
    assert 'UPDATE "sales"."orders" SET "currency" = "govlib_update_1"."currency"' in orders
    assert f"-- orders: {frames['orders'].height} cell(s) updated in 1 column(s)" in orders
