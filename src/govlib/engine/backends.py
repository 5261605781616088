"""Backends: where compiled checks run: polars in process, DuckDB beyond memory, or Spark.

PySpark (`govlib.engine.spark`) runs them beyond one machine.

`choose` picks one: the caller's (`--engine`, the catalog's `engine:`), else DuckDB for data
larger than `DUCKDB_FROM_BYTES` in memory, else polars. `open_frame` wraps a polars frame and
`open_file` lets DuckDB read Parquet or CSV itself, spilling to a temporary folder when a
grouped pass outgrows memory.
"""

from __future__ import annotations

import functools
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

Engine = Literal["polars", "duckdb", "gx", "spark"]
ENGINES: tuple[Engine, ...] = ("polars", "duckdb", "gx", "spark")
DUCKDB_FROM_BYTES = 2 * 1024**3  # frames at least this large (estimated) go to DuckDB


def choose(requested: str | None, *, size_bytes: int) -> Engine:
    """The engine to run: the requested one, else by the data's size.

    >>> choose(None, size_bytes=10), choose(None, size_bytes=3 * 1024**3)
    ('polars', 'duckdb')
    """
    if requested is not None:
        if requested not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {requested!r}")
        return requested
    return "duckdb" if size_bytes >= DUCKDB_FROM_BYTES else "polars"


@dataclass(frozen=True, slots=True)
class Data:
    """An Ibis table on a backend, and the connection that runs its queries."""

    table: Any
    backend: Literal["polars", "duckdb", "pyspark"]
    con: Any

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        """Run a query; its rows as dicts (small results only: aggregates and groups)."""
        if self.backend == "pyspark":
            from govlib.engine import spark

            return spark.rows(self.con, expr)
        return list(self.con.to_pyarrow(expr).to_pylist())


def open_frame(
    frame: pl.DataFrame | pl.LazyFrame, backend: Literal["polars", "duckdb", "spark"]
) -> Data:
    """A polars frame as an Ibis table on `backend` (no copy on polars; Arrow into the others)."""
    import ibis

    if backend == "spark":
        from govlib.engine import spark

        return spark.open_frame(frame)
    if backend == "polars":
        count_characters()
        con = ibis.polars.connect()
        return Data(con.create_table("data", frame), "polars", con)
    con = _duckdb()
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return Data(ibis.memtable(data.to_arrow()), "duckdb", con)


def open_file(path: Path) -> Data:
    """A Parquet or CSV file read by DuckDB itself (never loaded into Python whole)."""
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        reader = "read_parquet"
    elif ".csv" in suffixes:
        reader = "read_csv"
    else:
        raise ValueError(f"{path.name}: DuckDB reads Parquet and CSV files here")
    con = _duckdb()
    # a view over the file: DuckDB streams it for every query, nothing is loaded up front
    quoted = "'" + str(path.resolve()).replace("'", "''") + "'"
    con.con.execute(f"CREATE TEMP VIEW data AS SELECT * FROM {reader}({quoted})")
    with warnings.catch_warnings():
        # Ibis 12 reads the view's schema with a call duckdb 2 deprecates
        warnings.filterwarnings("ignore", "fetch_arrow_table", DeprecationWarning)
        return Data(con.table("data"), "duckdb", con)


@functools.cache
def count_characters() -> None:
    """Count characters for string lengths on Ibis's polars backend (once).

    Ibis 12's polars backend measures a string's length in bytes; GX and DuckDB count
    characters.
    """
    import ibis.expr.operations as ops
    from ibis.backends.polars.compiler import translate

    @translate.register(ops.StringLength)  # type: ignore[untyped-decorator]  # Ibis is untyped
    def _length(op: Any, **kw: Any) -> Any:
        return translate(op.arg, **kw).str.len_chars()


def _duckdb() -> Any:
    import ibis

    spill = Path(tempfile.gettempdir()) / "govlib-duckdb"
    spill.mkdir(mode=0o700, exist_ok=True)
    con = ibis.duckdb.connect()
    con.raw_sql(f"SET temp_directory = '{spill.as_posix()}'")
    con.raw_sql("SET preserve_insertion_order = false")
    return con
