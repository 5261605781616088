"""Generated customers in PostgreSQL, and a count of the rows the driver hands to Python.

`big_customers` loads N generated customers (the sample generator, planted defects included)
into a fresh schema with COPY and gives a catalog whose `customers` reads that table.
`FetchCounter` counts every row psycopg returns to its caller, on every cursor of every
connection opened while it is active (Ibis's plain and server-side cursors alike): what
actually travelled from the server into Python, metadata queries included.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from . import pg

BIG_CUSTOMERS = 200_000
BIG_ENV = "GOVLIB_TEST_PG_BIG_URL"


def copy_frame(url: str, qualified: str, frame: pl.DataFrame) -> None:
    """Append `frame` to an existing table with one COPY (CSV: nulls empty, "" kept)."""
    import psycopg

    data = frame.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        columns = ", ".join(f'"{c}"' for c in data.columns)
        with cur.copy(f"COPY {qualified} ({columns}) FROM STDIN (FORMAT csv, HEADER true)") as cp:
            buffer = io.BytesIO()
            data.write_csv(buffer)
            cp.write(buffer.getvalue())


@pytest.fixture(scope="session")
def big_customers(tmp_path_factory, sample_catalog) -> Iterator[tuple[Path, pl.DataFrame]]:
    """A catalog whose `customers` is a PostgreSQL table of 200,000 generated customers.

    With it, the same rows in memory (for comparing with the in-process path).
    """
    from govlib import sampledata

    url = pg.postgres_url()
    schema = f"govlib_big_{secrets.token_hex(4)}"
    frame = sampledata.generate(customers=BIG_CUSTOMERS, seed=7).frames["customers"]
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
        declared = sample_catalog.dataset("customers").schema()
        con.execute(pg.ddl(f"{schema}.customers", "customers", declared, postgres=True))
    try:
        copy_frame(url, f"{schema}.customers", frame)
        os.environ[BIG_ENV] = pg.schema_url(url, schema)
        folder = tmp_path_factory.mktemp("bigpg")
        source = {"uri_env": BIG_ENV, "table": "customers"}
        path = pg.database_catalog(folder, {"customers": source})
        yield path, frame
    finally:
        pg.drop_postgres(url, schema)


class FetchCounter:
    """Counts the rows psycopg returns (fetchone, fetchmany, fetchall, iteration) while active."""

    def __init__(self) -> None:
        self.rows = 0
        self.queries = 0

    def __enter__(self) -> FetchCounter:
        import psycopg

        counter = self

        def counting(base: type) -> type:
            class Counting(base):  # type: ignore[misc, valid-type]
                def execute(self, *args: Any, **kwargs: Any) -> Any:
                    counter.queries += 1
                    return super().execute(*args, **kwargs)

                def fetchone(self) -> Any:
                    row = super().fetchone()
                    counter.rows += row is not None
                    return row

                def fetchmany(self, *args: Any, **kwargs: Any) -> Any:
                    rows = super().fetchmany(*args, **kwargs)
                    counter.rows += len(rows)
                    return rows

                def fetchall(self) -> Any:
                    rows = super().fetchall()
                    counter.rows += len(rows)
                    return rows

                def __iter__(self) -> Iterator[Any]:
                    for row in super().__iter__():
                        counter.rows += 1
                        yield row

            return Counting

        cursor, server = counting(psycopg.Cursor), counting(psycopg.ServerCursor)
        self._connect = original = psycopg.connect

        def connect(*args: Any, **kwargs: Any) -> Any:
            con = original(*args, **kwargs)
            con.cursor_factory, con.server_cursor_factory = cursor, server
            return con

        psycopg.connect = connect  # Ibis connects through the module's function
        return self

    def __exit__(self, *exc: object) -> None:
        import psycopg

        psycopg.connect = self._connect
