"""Generated customers in PostgreSQL, to count the rows the driver hands to Python.

`big_customers` loads N generated customers (the sample generator, planted defects included)
into a fresh schema with COPY and gives a catalog whose `customers` reads that table; count
what travels with `pg.count_fetched`.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

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
