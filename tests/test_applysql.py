"""apply.sql: run against a copy of the database source, it turns each table into govlib's copy.

Each command that writes a new copy (`retention apply`, `subject erase`, `cleanse --execute`)
runs on the sample loaded into SQLite, DuckDB and PostgreSQL. Its apply.sql is then run the way
a data owner runs it (`sqlite3 -bail`, `psql -v ON_ERROR_STOP=1`; DuckDB through its Python
client, as this machine has no duckdb CLI) against a copy of the source, never
the source itself, and the copied tables, read back through govlib, must equal the Parquet
copies; the source must be unchanged; a statement failing half-way must leave the copy as it was.
"""

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib import applysql, catalog, sources
from govlib.cli import main
from govlib.errors import ParameterError

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
        self.copied = folder / "data" / "crm.sqlite"
        shutil.copy(self.file, self.copied)
        return pg.database_catalog(
            folder, {n: {"uri": "sqlite:///crm.sqlite", "table": n} for n in NAMES}
        )

    def run(self, copy: Path, script: Path) -> subprocess.CompletedProcess:
        database = copy.parent / "data" / "crm.sqlite"
        with script.open("rb") as fh:
            return subprocess.run(
                ["sqlite3", "-bail", str(database)], stdin=fh, capture_output=True, check=False
            )

    def execute(self, sql: str) -> None:
        """`sql` on the last copy: a change made between govlib's run and the script's."""
        con = sqlite3.connect(self.copied)
        con.execute(sql)
        con.commit()
        con.close()

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
        self.copied = folder / "data" / "crm.duckdb"
        shutil.copy(self.file, self.copied)
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

    def execute(self, sql: str) -> None:
        import duckdb

        con = duckdb.connect(str(self.copied))
        con.execute(sql)
        con.close()

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
        """The script on the copied schema: its tables are qualified with the source's schema,
        so they are pointed at the copy; psql runs with the server's default search_path."""
        moved = script.with_suffix(".copy.sql")
        text = script.read_text().replace(f'"{self.schema}".', f'"{self.copies[-1]}".')
        moved.write_text(text)
        return subprocess.run(
            ["psql", self.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(moved)],
            capture_output=True, check=False,
        )  # fmt: skip

    def execute(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as con:
            con.execute(f"SET search_path TO {self.copies[-1]}")
            con.execute(sql)

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
        assert f"-- Schema: {database.schema} (every table below is qualified with it)" in text
        assert f'"{database.schema}"."customers"' in text
    copies = sorted(p.stem for p in out.glob("*.parquet"))
    assert "customers" in copies
    # the same run on the same rows: the copy's inputs are the rows read, so nothing changes
    again = main([*command(kind, frames), "--catalog", str(database.catalog), "--out", str(out)])
    assert again == 0
    assert f"{out} already holds this result (same inputs)" in capsys.readouterr().out

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


def test_only_a_table_the_erasure_changes_must_have_a_primary_key(
    sqlite_source, frames, tmp_path, capsys
):
    text = sqlite_source.catalog.read_text().replace("    primary_key:\n    - ticket_id\n", "", 1)
    assert text != sqlite_source.catalog.read_text()
    path = tmp_path / "catalog.yaml"
    path.write_text(text.replace("data_root: data", f"data_root: {sqlite_source.file.parent}"))
    with_tickets = set(frames["support_tickets"]["customer_id"].drop_nulls().to_list())
    with_orders = set(frames["orders"]["customer_id"].drop_nulls().to_list())
    quiet = min(set(frames["customers"]["customer_id"]) - with_tickets - with_orders)
    out = tmp_path / "quiet"
    args = ["subject", "erase", "--yes", "--catalog", str(path), "--out"]
    assert main([*args, str(out), "--customer-id", str(quiet)]) == 0
    script = (out / "apply.sql").read_text()
    assert "-- customers: 1 row(s) deleted" in script
    assert "support_tickets" not in script
    capsys.readouterr()
    # a customer with tickets: their deletion needs the key the catalog no longer declares
    out = tmp_path / "tickets"
    assert main([*args, str(out), "--customer-id", erased_subject(frames)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "WARNING" not in line]
    assert len(err) == 1, err
    err = err[0]
    assert "dataset 'support_tickets'" in err
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
    import duckdb

    duckdb.connect(str(tmp_path / "data" / "sales.duckdb")).close()  # its keys are read
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


# -- hostile values, other text forms, other session settings ------------------------------------

# Raw, a NUL cut the line in the sqlite3 shell: the literal stayed open until the next key's
# opening quote, and the rest of that key ran as SQL (`('(` NUL, then `('); DELETE ...`).
ATTACK = "'); DELETE FROM victim; COMMIT; --"
INJECTED = "); DELETE FROM victim; COMMIT; --"
HOSTILE_KEYS = ["(\x00", INJECTED, ATTACK, "b\x00" + ATTACK, "c\r\n" + ATTACK, "d\u2028e", "ok"]
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # a newline ends a line


def small_catalog(folder: Path, source: dict, columns: dict[str, str]) -> Path:
    """A catalog of one dataset, `people`, keyed by its column `id`."""
    people = {
        "source": source, "primary_key": ["id"], "owner": "Data owner", "steward": "Steward",
        "purpose": "Tests of apply.sql", "lawful_basis": "contract",
        "columns": {name: {"type": kind} for name, kind in columns.items()},
    }  # fmt: skip
    (folder / "data").mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.yaml"
    path.write_text(
        yaml.safe_dump({"version": 1, "data_root": "data", "datasets": {"people": people}})
    )
    return path


def script_for(path: Path, change) -> tuple[str, pl.DataFrame]:
    """apply.sql for `change` of `people` as govlib reads it, and the copy `change` makes."""
    cat = catalog.load(path)
    before = sources.scan(cat.dataset("people")).collect()
    after = change(before)
    made = applysql.scripts(cat, {"people": before}, {"people": after}, title="test")
    assert list(made) == ["apply.sql"]
    return made["apply.sql"], after.sort("id")


def hostile_change(what: str):
    """Delete keys holding a NUL (the first opens its values list), or write such new values."""

    def change(before: pl.DataFrame) -> pl.DataFrame:
        if what == "keys":
            return before.filter(~pl.col("id").is_in(["(\x00", INJECTED, "c\r\n" + ATTACK]))
        new_note = pl.lit("x\x00" + ATTACK + "\u2028\x1b[2J")
        return before.with_columns(
            pl.when(pl.col("id") == "ok").then(new_note).otherwise(pl.col("note")).alias("note")
        )

    return change


def run_sqlite(database: Path, text: str) -> subprocess.CompletedProcess:
    """The script through the sqlite3 shell, as the data owner runs it."""
    return subprocess.run(
        ["sqlite3", "-bail", str(database)], input=text.encode(), capture_output=True, check=False
    )


def run_duckdb(database: Path, text: str, time_zone: str = "UTC") -> int:
    """The script through DuckDB's Python client in a session of `time_zone`; 0 when it ran."""
    import duckdb

    con = duckdb.connect(str(database))
    try:
        con.execute(f"SET TimeZone = '{time_zone}'")
        con.execute(text)
        return 0
    except duckdb.Error:
        return 1
    finally:
        con.close()


def duckdb_with_foreign_keys(folder: Path, *, declared: bool = True) -> Path:
    """Customers, their orders and the orders' items in a DuckDB file with FOREIGN KEYs, and
    invoices (outside the catalog) pointing at orders. `declared`: the catalog names the
    relationship of items to orders, as the database does."""
    import duckdb

    meta = {"owner": "o", "steward": "s", "purpose": "p", "lawful_basis": "contract"}
    person = {"type": "int64", "pii": "person_id"}
    items = {
        "primary_key": ["item_id"],
        "columns": {"item_id": {"type": "int64"}, "order_id": {"type": "int64"}},
    }
    if declared:
        items["relationships"] = [{"column": "order_id", "references": "orders.order_id"}]
    else:  # an e-mail column: a subject's search reads it (a table without any it leaves alone)
        items["columns"]["email"] = {"type": "string", "pii": "email"}
    datasets = {
        "customers": {"primary_key": ["customer_id"], "subject_key": "customer_id", "columns": {
            "customer_id": person, "email": {"type": "string", "pii": "email"}}},
        "orders": {"primary_key": ["order_id"], "subject_key": "customer_id",
                   "relationships": [{"column": "customer_id",
                                      "references": "customers.customer_id"}],
                   "columns": {"order_id": {"type": "int64"}, "customer_id": person}},
        "order_items": items,
    }  # fmt: skip
    raw = {"version": 1, "as_of": "2025-01-31", "data_root": "data", "datasets": {
        n: {"description": "d", "source": {"uri": "duckdb:///crm.duckdb", "table": n},
            **meta, **spec} for n, spec in datasets.items()}}  # fmt: skip
    (folder / "data").mkdir(parents=True)
    path = folder / "catalog.yaml"
    path.write_text(json.dumps(raw))
    con = duckdb.connect(str(folder / "data" / "crm.duckdb"))
    con.execute("""
        CREATE TABLE customers (customer_id BIGINT PRIMARY KEY, email VARCHAR);
        CREATE TABLE orders (order_id BIGINT PRIMARY KEY,
                             customer_id BIGINT REFERENCES customers (customer_id));
        CREATE TABLE order_items (item_id BIGINT PRIMARY KEY,
                                  order_id BIGINT REFERENCES orders (order_id), email VARCHAR);
        CREATE TABLE invoices (invoice_id BIGINT PRIMARY KEY,
                               order_id BIGINT REFERENCES orders (order_id));
        INSERT INTO customers VALUES (1, 'a@example.com'), (2, 'b@example.com');
        INSERT INTO orders VALUES (10, 1), (11, 1), (12, 2);
        INSERT INTO order_items VALUES (100, 10, NULL), (101, 11, NULL), (102, 12, NULL);
        INSERT INTO invoices VALUES (1000, 12);
    """)
    con.close()
    return path


def duckdb_tables(database: Path) -> dict[str, list[tuple]]:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        names = ("customers", "orders", "order_items", "invoices")
        return {n: con.sql(f"SELECT * FROM {n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


def erase_from_duckdb(folder: Path, customer: int) -> tuple[Path, Path, dict, Path]:
    """The catalog, database and tables of `duckdb_with_foreign_keys`, and the erasure's --out."""
    path = duckdb_with_foreign_keys(folder / "crm")
    database = folder / "crm" / "data" / "crm.duckdb"
    before = duckdb_tables(database)
    out = folder / "out"
    args = ["subject", "erase", "--customer-id", str(customer), "--yes", "--catalog", str(path)]
    assert main([*args, "--out", str(out)]) == 0
    return path, database, before, out


def test_duckdb_foreign_keys_get_one_transaction_per_table_children_first(tmp_path):
    # customer 1: two orders and their items go, children first (no invoice points at them)
    path, database, before, out = erase_from_duckdb(tmp_path, 1)
    text = (out / "apply.sql").read_text()
    assert "one table per transaction" in text
    assert text.count("BEGIN;") == 4  # the counts, then items, orders and customers
    assert text.index('DELETE FROM "order_items"') < text.index('DELETE FROM "orders"')
    assert text.index('DELETE FROM "orders"') < text.index('DELETE FROM "customers"')
    assert "main.invoices: rows left pointing at rows orders loses or re-keys" in text
    # in one transaction, DuckDB refuses the orders' delete after their items' one
    assert run_duckdb(database, text) == 0
    after = duckdb_tables(database)
    assert after["customers"] == [(2, "b@example.com")]
    assert after["orders"] == [(12, 2)]
    assert after["order_items"] == [(102, 12, None)]
    assert after["invoices"] == before["invoices"]
    assert read_back(path, "orders").equals(pl.read_parquet(out / "orders.parquet"))


def refused(capsys, folder: Path, customer: int, *, declared: bool = True) -> str:
    """The one line `subject erase` exits 2 with, the database and --out as they were."""
    path = duckdb_with_foreign_keys(folder / "crm", declared=declared)
    database = folder / "crm" / "data" / "crm.duckdb"
    before = duckdb_tables(database)
    out = folder / "out"
    args = ["subject", "erase", "--customer-id", str(customer), "--yes", "--catalog", str(path)]
    assert main([*args, "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "WARNING" not in line]
    assert len(err) == 1, err
    assert duckdb_tables(database) == before
    assert not out.exists()
    return err[0]


def test_a_duckdb_row_outside_the_catalog_pointing_at_a_deleted_row_refuses_the_script(
    tmp_path, capsys
):
    # customer 2's order 12 has an invoice the catalog does not know: on a copy of the
    # database, the script's first transaction counts it and stops
    err = refused(capsys, tmp_path, 2)
    assert "the count 'main.invoices: rows left pointing at rows orders loses or re-keys'" in err
    assert "before any change, so it is not written" in err
    assert "example.com" not in err


def test_a_duckdb_foreign_key_the_catalog_does_not_declare_refuses_the_script(tmp_path, capsys):
    # the items of customer 1's orders would stay in the copy, pointing at deleted orders
    err = refused(capsys, tmp_path, 1, declared=False)
    assert "'main.order_items: rows left pointing at rows orders loses or re-keys'" in err


def test_duckdb_refuses_what_its_counts_cannot_foresee_before_writing_the_script(tmp_path, capsys):
    """Customers read through a view: DuckDB deletes from tables only, which only running the
    script shows, after the orders' transaction committed; so it is run on a copy first."""
    import duckdb

    path = duckdb_with_foreign_keys(tmp_path / "crm")
    database = tmp_path / "crm" / "data" / "crm.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE VIEW customers_seen AS SELECT * FROM customers")
    con.execute("DELETE FROM invoices")
    con.close()
    path.write_text(path.read_text().replace('"table": "customers"', '"table": "customers_seen"'))
    assert catalog.load(path).dataset("customers").source.table == "customers_seen"
    before = duckdb_tables(database)
    out = tmp_path / "out"
    args = ["subject", "erase", "--customer-id", "2", "--yes", "--catalog", str(path)]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"fails on a copy of its DuckDB file at statement \d+ \(DELETE FROM "
        r'"customers_seen": \w+\), after committing part of it',
        err,
    ), err
    assert duckdb_tables(database) == before
    assert not out.exists()


def test_duckdb_tables_are_ordered_by_the_databases_own_foreign_keys_too(tmp_path):
    """`z_lines` points at `baskets` in the database only: the catalog relates both to
    customers, and its order alone would delete the baskets first, in a transaction DuckDB
    refuses after committing the tables before it."""
    import duckdb

    meta = {"owner": "o", "steward": "s", "purpose": "p", "lawful_basis": "contract"}
    person = {"type": "int64", "pii": "person_id"}
    rel = [{"column": "customer_id", "references": "customers.customer_id"}]
    datasets = {
        "customers": {"primary_key": ["customer_id"], "columns": {
            "customer_id": person, "email": {"type": "string", "pii": "email"}}},
        "baskets": {"primary_key": ["basket_id"], "relationships": rel, "columns": {
            "basket_id": {"type": "int64"}, "customer_id": person}},
        "z_lines": {"primary_key": ["line_id"], "relationships": rel, "columns": {
            "line_id": {"type": "int64"}, "basket_id": {"type": "int64"}, "customer_id": person}},
    }  # fmt: skip
    raw = {"version": 1, "as_of": "2025-01-31", "data_root": "data", "datasets": {
        n: {"description": "d", "source": {"uri": "duckdb:///shop.duckdb", "table": f"sales.{n}"},
            **meta, **spec} for n, spec in datasets.items()}}  # fmt: skip
    (tmp_path / "data").mkdir()
    (tmp_path / "catalog.yaml").write_text(json.dumps(raw))
    database = tmp_path / "data" / "shop.duckdb"
    con = duckdb.connect(str(database))
    con.execute("""
        CREATE SCHEMA sales;
        CREATE TABLE sales.customers (customer_id BIGINT PRIMARY KEY, email VARCHAR UNIQUE);
        CREATE TABLE sales.baskets (basket_id BIGINT PRIMARY KEY,
                                   customer_id BIGINT REFERENCES sales.customers (customer_id));
        CREATE TABLE sales.z_lines (line_id BIGINT PRIMARY KEY,
                                   basket_id BIGINT REFERENCES sales.baskets (basket_id),
                                   customer_id BIGINT);
        INSERT INTO sales.customers VALUES (1, 'a@example.com'), (2, 'b@example.com');
        INSERT INTO sales.baskets VALUES (10, 1), (11, 2);
        INSERT INTO sales.z_lines VALUES (100, 10, 1), (101, 11, 2);
    """)
    con.close()
    out = tmp_path / "out"
    args = ["subject", "erase", "--customer-id", "1", "--yes", "--catalog"]
    assert main([*args, str(tmp_path / "catalog.yaml"), "--out", str(out)]) == 0
    text = (out / "apply.sql").read_text()
    assert text.index('DELETE FROM "sales"."z_lines"') < text.index('DELETE FROM "sales"."baskets"')
    assert run_duckdb(database, text) == 0
    con = duckdb.connect(str(database), read_only=True)
    assert con.sql("SELECT * FROM sales.baskets").fetchall() == [(11, 2)]
    assert con.sql("SELECT * FROM sales.z_lines").fetchall() == [(101, 11, 2)]
    assert con.sql("SELECT customer_id FROM sales.customers").fetchall() == [(2,)]
    con.close()


def test_duckdb_updating_an_indexed_column_of_a_row_pointed_at_stops_before_any_change(tmp_path):
    """DuckDB runs the UPDATE of an indexed column as a delete and an insert, which fails while
    a row points at it: counted first, so no table is left half changed."""
    import duckdb

    path = duckdb_with_foreign_keys(tmp_path / "crm")
    database = tmp_path / "crm" / "data" / "crm.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE UNIQUE INDEX customers_email ON customers (email)")
    con.execute("INSERT INTO customers VALUES (3, 'c@example.com')")  # no order points at 3
    con.close()
    cat = catalog.load(path)
    frames = {"customers": sources.scan(cat.dataset("customers")).collect()}

    def without_email(customer: int) -> str:
        gone = pl.when(pl.col("customer_id") == customer).then(None).otherwise(pl.col("email"))
        after = {"customers": frames["customers"].with_columns(email=gone)}
        return applysql.scripts(cat, frames, after, title="test")["apply.sql"]

    before = duckdb_tables(database)
    with pytest.raises(ParameterError, match=r"'main\.orders: rows left pointing at rows custom"):
        without_email(2)  # order 12 points at customer 2
    assert duckdb_tables(database) == before
    assert run_duckdb(database, without_email(3)) == 0
    assert duckdb_tables(database)["customers"][-1] == (3, None)


@pytest.mark.parametrize("what", ["keys", "values"])
def test_sqlite_keys_and_values_holding_a_nul_run_as_data_in_the_sqlite3_shell(what, tmp_path):
    path = small_catalog(
        tmp_path, {"uri": "sqlite:///crm.sqlite", "table": "people"},
        {"id": "string", "note": "string"},
    )  # fmt: skip
    database = tmp_path / "data" / "crm.sqlite"
    con = sqlite3.connect(database)
    con.execute("CREATE TABLE people (id TEXT PRIMARY KEY, note TEXT)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?)", [(k, f"note {i}") for i, k in enumerate(HOSTILE_KEYS)]
    )
    con.execute("CREATE TABLE victim (x INTEGER)")
    con.execute("INSERT INTO victim VALUES (1), (2)")
    con.commit()
    con.close()
    text, want = script_for(path, hostile_change(what))
    assert not RAW_CONTROL.search(text)
    assert "char(0)" in text
    done = run_sqlite(database, text)
    con = sqlite3.connect(database)
    try:
        assert con.execute("SELECT count(*) FROM victim").fetchone() == (2,)
        assert done.returncode == 0, done.stderr.decode()
        rows = con.execute("SELECT id, note FROM people ORDER BY id").fetchall()
    finally:
        con.close()
    assert rows == sorted(want.rows())


@pytest.mark.parametrize("what", ["keys", "values"])
def test_duckdb_keys_and_values_holding_a_nul_run_as_data(what, tmp_path):
    import duckdb

    path = small_catalog(
        tmp_path, {"uri": "duckdb:///crm.duckdb", "table": "people"},
        {"id": "string", "note": "string"},
    )  # fmt: skip
    database = tmp_path / "data" / "crm.duckdb"
    con = duckdb.connect(str(database))
    con.execute("CREATE TABLE people (id VARCHAR PRIMARY KEY, note VARCHAR)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?)", [[k, f"note {i}"] for i, k in enumerate(HOSTILE_KEYS)]
    )
    con.execute("CREATE TABLE victim AS SELECT range AS x FROM range(2)")
    con.close()
    text, want = script_for(path, hostile_change(what))
    assert not RAW_CONTROL.search(text)
    assert "chr(0)" in text
    assert run_duckdb(database, text) == 0
    con = duckdb.connect(str(database), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM victim").fetchone() == (2,)
        assert con.execute("SELECT id, note FROM people ORDER BY id").fetchall() == sorted(
            want.rows()
        )
    finally:
        con.close()


def test_sqlite_date_time_keys_match_whatever_text_form_they_are_stored_in(tmp_path):
    path = small_catalog(
        tmp_path, {"uri": "sqlite:///crm.sqlite", "table": "people"},
        {"id": "datetime", "note": "string"},
    )  # fmt: skip
    database = tmp_path / "data" / "crm.sqlite"
    stored = ["2020-01-01 10:00:00", "2020-01-01T11:00:00", "2020-01-01 12:00:00.250",
              "2020-01-01T13:00:00.500000", "2020-01-01 14:00:00"]  # fmt: skip
    con = sqlite3.connect(database)
    con.execute("CREATE TABLE people (id TIMESTAMP PRIMARY KEY, note TEXT)")
    con.executemany(
        "INSERT INTO people VALUES (?, ?)", [(k, f"note {i}") for i, k in enumerate(stored)]
    )
    con.commit()
    con.close()

    def change(before: pl.DataFrame) -> pl.DataFrame:
        hours = pl.col("id").dt.hour()
        return before.filter(hours != 10, hours != 11, hours != 12).with_columns(
            pl.when(hours == 13).then(pl.lit("erased")).otherwise(pl.col("note")).alias("note")
        )

    text, _ = script_for(path, change)
    done = run_sqlite(database, text)
    assert done.returncode == 0, done.stderr.decode()
    con = sqlite3.connect(database)
    try:
        rows = con.execute("SELECT id, note FROM people ORDER BY julianday(id)").fetchall()
    finally:
        con.close()
    assert rows == [("2020-01-01T13:00:00.500000", "erased"), ("2020-01-01 14:00:00", "note 4")]


def test_a_script_whose_keys_no_longer_match_the_rows_planned_fails_and_changes_nothing(
    database, frames, tmp_path, capsys
):
    out = tmp_path / "out"
    args = [*command("retention", frames), "--catalog", str(database.catalog), "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    kept = set(pl.read_parquet(out / "customers.parquet")["customer_id"])
    gone = min(set(frames["customers"]["customer_id"]) - kept)
    copy_dir = tmp_path / "copy"
    (copy_dir / "data").mkdir(parents=True)
    copy = database.copy(copy_dir)
    database.execute(f"DELETE FROM customers WHERE customer_id = {gone}")  # deleted meanwhile
    before = database.fingerprint(copy)
    done = database.run(copy, out / "apply.sql")
    assert done.returncode != 0
    assert database.fingerprint(copy) == before


def test_duckdb_timestamptz_keys_match_in_a_session_of_another_time_zone(tmp_path):
    import duckdb

    path = small_catalog(
        tmp_path, {"uri": "duckdb:///crm.duckdb", "table": "people"},
        {"id": "datetime", "note": "string"},
    )  # fmt: skip
    database = tmp_path / "data" / "crm.duckdb"
    con = duckdb.connect(str(database))
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE people (id TIMESTAMPTZ PRIMARY KEY, note VARCHAR)")
    con.execute(
        "INSERT INTO people VALUES ('2020-07-01 10:00:00+00', 'a'), "
        "('2020-07-01 11:00:00+00', 'b'), ('2020-07-01 12:00:00+00', 'c')"
    )
    con.close()

    def change(before: pl.DataFrame) -> pl.DataFrame:
        hours = pl.col("id").dt.hour()
        return before.filter(hours != 10).with_columns(
            pl.when(hours == 11).then(pl.lit("erased")).otherwise(pl.col("note")).alias("note")
        )

    text, _ = script_for(path, change)
    assert run_duckdb(database, text, time_zone="Europe/Berlin") == 0
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            "SELECT strftime(id, '%H:%M %z'), note FROM people ORDER BY id"
        ).fetchall()
    finally:
        con.close()
    assert rows == [("11:00 +00", "erased"), ("12:00 +00", "c")]


def test_a_newline_in_the_uri_stays_inside_the_header_comment(tmp_path):
    uri = "sqlite:///crm.sqlite?mode=ro\nDROP TABLE victim;\n--"
    path = small_catalog(
        tmp_path, {"uri": uri, "table": "people"}, {"id": "string", "note": "string"}
    )
    cat = catalog.load(path)
    before = pl.DataFrame({"id": ["a", "b"], "note": ["x", "y"]})
    text = applysql.scripts(
        cat, {"people": before}, {"people": before.head(1)}, title="t\rCOMMIT;"
    )["apply.sql"]
    assert not RAW_CONTROL.search(text)
    head = text[: text.index("BEGIN;")].splitlines()
    assert all(line.startswith(("-- ", "SET ")) for line in head), head
    assert "-- Database: sqlite:///crm.sqlite?mode=ro DROP TABLE victim; --" in head
    database = tmp_path / "data" / "crm.sqlite"
    con = sqlite3.connect(database)
    con.execute("CREATE TABLE people (id TEXT PRIMARY KEY, note TEXT)")
    con.execute("INSERT INTO people VALUES ('a', 'x'), ('b', 'y')")
    con.execute("CREATE TABLE victim (x INTEGER)")
    con.commit()
    con.close()
    done = run_sqlite(database, text)
    assert done.returncode == 0, done.stderr.decode()
    con = sqlite3.connect(database)
    try:
        assert con.execute("SELECT count(*) FROM victim").fetchone() == (0,)  # still there
        assert con.execute("SELECT id FROM people").fetchall() == [("a",)]
    finally:
        con.close()


def test_a_name_holding_a_control_character_is_refused():
    with pytest.raises(ParameterError, match="rename the table or column"):
        applysql.identifier("note\n; DROP TABLE victim", "sqlite")


SMALL_ENV = "GOVLIB_TEST_APPLYSQL_SMALL_URL"
PG_KEYS = ["\\', now()); DELETE FROM victim; COMMIT; --", "back\\slash", "line\nbreak", "ok"]


@pytest.fixture
def pg_people(tmp_path, monkeypatch):
    """A PostgreSQL schema with `people` and `victim`, and another holding a same-named `people`."""
    import secrets

    import psycopg

    url = pg.postgres_url()
    schema, other = (f"govlib_{secrets.token_hex(4)}" for _ in range(2))
    with psycopg.connect(url, autocommit=True) as con:
        for name in (schema, other):
            con.execute(f"CREATE SCHEMA {name}")
            con.execute(f"CREATE TABLE {name}.people (id TEXT PRIMARY KEY, note TEXT)")
            with con.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {name}.people VALUES (%s, %s)",
                    [(k, f"note {i}") for i, k in enumerate(PG_KEYS)],
                )
        con.execute(f"CREATE TABLE {schema}.victim AS SELECT 1 AS x")
    monkeypatch.setenv(SMALL_ENV, pg.schema_url(url, schema))
    path = small_catalog(
        tmp_path, {"uri_env": SMALL_ENV, "table": "people"}, {"id": "string", "note": "string"}
    )
    yield url, schema, other, path
    for name in (schema, other):
        pg.drop_postgres(url, name)


def pg_change(before: pl.DataFrame) -> pl.DataFrame:
    new_note = pl.lit("\\'); DELETE FROM victim; COMMIT; --\r\n\t")
    return before.filter(pl.col("id") != PG_KEYS[0]).with_columns(
        pl.when(pl.col("id") == "ok").then(new_note).otherwise(pl.col("note")).alias("note")
    )


def run_psql(url: str, text: str, options: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", url, "-X", "-q", "-v", "ON_ERROR_STOP=1"], input=text.encode(),
        env=os.environ | {"PGOPTIONS": options}, capture_output=True, check=False,
    )  # fmt: skip


def pg_rows(url: str, table: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as con:
        return con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def test_postgres_strings_read_the_same_with_standard_conforming_strings_off(pg_people):
    url, schema, _, path = pg_people
    text, want = script_for(path, pg_change)
    assert not RAW_CONTROL.search(text)
    done = run_psql(url, text, f"-c standard_conforming_strings=off -c search_path={schema}")
    assert pg_rows(url, f"{schema}.victim") == [(1,)]
    assert done.returncode == 0, done.stderr.decode()
    assert pg_rows(url, f"{schema}.people") == sorted(want.rows())


def test_postgres_tables_are_qualified_with_the_uris_schema(pg_people):
    url, schema, other, path = pg_people
    untouched = pg_rows(url, f"{other}.people")
    text, want = script_for(path, pg_change)
    assert f'DELETE FROM "{schema}"."people"' in text
    done = run_psql(url, text, f"-c search_path={other},public")
    assert done.returncode == 0, done.stderr.decode()
    assert pg_rows(url, f"{other}.people") == untouched
    assert pg_rows(url, f"{schema}.people") == sorted(want.rows())


def test_postgres_refuses_a_nul_it_cannot_store_with_exit_2(pg_people):
    path = pg_people[3]
    with pytest.raises(ParameterError) as caught:
        script_for(path, lambda before: before.with_columns(pl.lit("a\x00b").alias("note")))
    assert caught.value.exit_code == 2
    assert "NUL character" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_column_named_like_another_plus_the_join_suffix_is_diffed_as_itself(sample_catalog):
    ds = sample_catalog.dataset("orders")  # primary key order_id
    before = pl.DataFrame({"order_id": [1, 2, 3], "x": ["a", "b", "c"], "x__new": ["p", "q", "r"]})
    after = before.filter(pl.col("order_id") != 3).with_columns(
        pl.when(pl.col("order_id") == 1).then(pl.lit("A")).otherwise(pl.col("x")).alias("x")
    )
    change = applysql.diff(ds, before, after)
    assert change.deleted["order_id"].to_list() == [3]
    assert {c: f.rows() for c, f in change.updates.items()} == {"x": [(1, "A")]}
