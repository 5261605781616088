"""The sample as databases: a PostgreSQL schema per test session, SQLite and DuckDB files.

`postgres_url` gives `GOVLIB_TEST_POSTGRES_URL` when that server answers. Without one the
PostgreSQL tests skip with one line, unless `GOVLIB_REQUIRE_SERVICES=1` makes that a failure.
`count_fetched` counts the rows PostgreSQL sends back, to prove work stays in the database.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pytest
import yaml

from govlib.catalog import Catalog

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "GOVLIB_TEST_POSTGRES_URL"
SQL_TYPE = {
    "string": "TEXT",
    "int64": "BIGINT",
    "float64": "DOUBLE PRECISION",
    "bool": "BOOLEAN",
    "date": "DATE",
    "datetime": "TIMESTAMP",
}
# Types a real CRM uses, so reading maps them: NUMERIC -> float64, TIMESTAMPTZ -> UTC datetime.
PG_OVERRIDES = {
    ("customers", "lifetime_value"): "NUMERIC(14, 2)",
    ("orders", "ordered_at"): "TIMESTAMPTZ",
    ("customers", "customer_id"): "INTEGER",
}


def postgres_url() -> str:
    """The test server's URL, or a skip (a failure under GOVLIB_REQUIRE_SERVICES=1)."""
    url = os.environ.get(PG_ENV, "")
    problem = None
    if not url:
        problem = f"{PG_ENV} is not set (run .ci/run, or eval scripts/postgres-test-db)"
    else:
        import psycopg

        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            problem = f"the PostgreSQL server of {PG_ENV} does not answer ({type(exc).__name__})"
    if problem is None:
        return url
    if os.environ.get("GOVLIB_REQUIRE_SERVICES") == "1":
        pytest.fail(f"GOVLIB_REQUIRE_SERVICES=1 but {problem}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {problem}")


def ddl(name: str, table: str, schema: dict[str, str], *, postgres: bool = False) -> str:
    types = {c: SQL_TYPE[t] for c, t in schema.items()}
    if postgres:
        types |= {c: t for (ds, c), t in PG_OVERRIDES.items() if ds == table and c in types}
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    return f"CREATE TABLE {name} ({columns})"


def load_postgres(
    url: str, schema_name: str, cat: Catalog, frames: dict[str, pl.DataFrame]
) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"CREATE SCHEMA {schema_name}")
        for name, df in frames.items():
            qualified = f"{schema_name}.{name}"
            cur.execute(ddl(qualified, name, cat.dataset(name).schema(), postgres=True))
            columns = ", ".join(f'"{c}"' for c in df.columns)
            with cur.copy(f"COPY {qualified} ({columns}) FROM STDIN") as copy:
                for row in df.iter_rows():
                    copy.write_row(row)


def drop_postgres(url: str, schema_name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema_name} CASCADE")


def write_sqlite(path: Path, cat: Catalog, frames: dict[str, pl.DataFrame]) -> None:
    con = sqlite3.connect(path)
    for name, df in frames.items():
        con.execute(ddl(f'"{name}"', name, cat.dataset(name).schema()))
        text = df.with_columns(
            pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"),
            pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
            pl.col(pl.Boolean).cast(pl.Int64),
        )
        marks = ", ".join("?" for _ in df.columns)
        con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', text.iter_rows())
    con.commit()
    con.close()


def write_duckdb(path: Path, frames: dict[str, pl.DataFrame]) -> None:
    import duckdb

    con = duckdb.connect(str(path))
    for name, df in frames.items():
        con.register("incoming", df.to_arrow())
        con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
        con.unregister("incoming")
    con.close()


def database_catalog(folder: Path, sources: dict[str, dict[str, str]]) -> Path:
    """The sample catalog with each dataset's source replaced, and its suites, in `folder`."""
    raw = yaml.safe_load((ROOT / "catalog.yaml").read_text())
    raw["data_root"] = "data"
    for name, source in sources.items():
        raw["datasets"][name]["source"] = source
    (folder / "data").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "expectations", folder / "expectations", dirs_exist_ok=True)
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def pg_schema(sample_catalog, frames) -> Iterator[str]:
    """A fresh schema holding the sample's four datasets; dropped after the session."""
    url = postgres_url()
    name = f"govlib_{secrets.token_hex(4)}"
    load_postgres(url, name, sample_catalog, frames)
    try:
        yield name
    finally:
        drop_postgres(url, name)


def schema_url(url: str, schema_name: str) -> str:
    """`url` pointing at `schema_name` (govlib reads `postgresql://.../db/schema`)."""
    parts = urlsplit(url)
    return parts._replace(path=f"{parts.path.rstrip('/')}/{schema_name}").geturl()


@dataclass
class Fetched:
    """Rows PostgreSQL sent to this process through psycopg, and per statement."""

    rows: int = 0
    statements: list[tuple[str, int]] = field(default_factory=list)

    def add(self, query: object, rows: int) -> None:
        self.rows += rows
        self.statements.append((" ".join(str(query).split())[:120], rows))


@contextmanager
def count_fetched() -> Iterator[Fetched]:
    """Count every row PostgreSQL returns to psycopg connections opened inside the block.

    A client-side cursor receives its whole result on `execute` (counted there, fetched or
    not); a server-side (named) cursor receives what each fetch asks for. Installed as the
    connections' `cursor_factory` and `server_cursor_factory`, so every driver call is seen.
    """
    import psycopg

    fetched = Fetched()

    class Counting(psycopg.Cursor):  # type: ignore[type-arg]
        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            super().execute(query, params, **kwargs)
            fetched.add(query, self.pgresult.ntuples if self.pgresult is not None else 0)
            return self

    class CountingServer(psycopg.ServerCursor):  # type: ignore[type-arg]
        query: object = ""

        def execute(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
            self.query = query
            return super().execute(query, params, **kwargs)

        def fetchone(self):  # type: ignore[no-untyped-def]
            row = super().fetchone()
            fetched.add(self.query, int(row is not None))
            return row

        def fetchmany(self, size=0):  # type: ignore[no-untyped-def]
            rows = super().fetchmany(size)
            fetched.add(self.query, len(rows))
            return rows

        def fetchall(self):  # type: ignore[no-untyped-def]
            rows = super().fetchall()
            fetched.add(self.query, len(rows))
            return rows

        def __next__(self):  # type: ignore[no-untyped-def]
            row = super().__next__()
            fetched.add(self.query, 1)
            return row

    original = psycopg.Connection.connect

    def connect(*args, **kwargs):  # type: ignore[no-untyped-def]
        con = original(*args, **kwargs)
        con.cursor_factory = Counting
        con.server_cursor_factory = CountingServer
        return con

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(psycopg, "connect", connect)
        patch.setattr(psycopg.Connection, "connect", connect)
        yield fetched


def file_catalogs(
    folder: Path, catalog: Catalog, frames: dict[str, pl.DataFrame]
) -> dict[str, Path]:
    """The sample as a SQLite file and a DuckDB file, with a catalog for each, in `folder`."""
    names = list(frames)
    made = {}
    for kind in ("sqlite", "duckdb"):
        made[kind] = database_catalog(
            folder / kind, {n: {"uri": f"{kind}:///crm.{kind}", "table": n} for n in names}
        )
    write_sqlite(folder / "sqlite" / "data" / "crm.sqlite", catalog, frames)
    write_duckdb(folder / "duckdb" / "data" / "crm.duckdb", frames)
    return made


def postgres_catalog(folder: Path, schema_name: str, env: str, names: list[str]) -> Path:
    """A catalog reading `names` from the test server's `schema_name`, its URL in `env`."""
    os.environ[env] = schema_url(postgres_url(), schema_name)
    return database_catalog(folder, {n: {"uri_env": env, "table": n} for n in names})
