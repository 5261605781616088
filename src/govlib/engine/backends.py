"""Backends: where compiled checks run: polars, DuckDB, Spark, or the database of the source.

polars runs in process; DuckDB (embedded) beyond memory; PySpark (`govlib.engine.spark`)
beyond one machine; a database source runs its checks in its own database.

`choose` picks one: the caller's (`--engine`, the catalog's `engine:`), else DuckDB for data
larger than `DUCKDB_FROM_BYTES` in memory, else polars. `open_frame` wraps a polars frame,
`open_file` lets DuckDB read Parquet or CSV itself, spilling to a temporary folder when a
grouped pass outgrows memory, and `open_database` opens a database dataset's table where it
lives (PostgreSQL, SQLite, DuckDB): every query runs there and only its result rows travel.

A PostgreSQL table can be opened again on connections of its own (`Data.reopen`), so that
independent queries run side by side (`side_by_side`): PostgreSQL runs a grouped query in one
process, and one query after another left the server's other cores idle.
"""

from __future__ import annotations

import functools
import tempfile
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import polars as pl

Engine = Literal["polars", "duckdb", "gx", "spark"]
ENGINES: tuple[Engine, ...] = ("polars", "duckdb", "gx", "spark")
# Frames at least this large (estimated) go to DuckDB: on 5M generated customers (600 MiB)
# the suite's pass added 387 MiB there against 826 MiB on polars, 1.2 s slower of 7
# (`benchmarks/bench_validate.py`); below it polars is the faster, and memory is not at stake.
DUCKDB_FROM_BYTES = 512 * 1024**2


def choose(requested: str | None, *, size_bytes: int) -> Engine:
    """The engine to run: the requested one, else by the data's size.

    >>> choose(None, size_bytes=10), choose(None, size_bytes=1024**3)
    ('polars', 'duckdb')
    """
    if requested is not None:
        if requested not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {requested!r}")
        return requested
    return "duckdb" if size_bytes >= DUCKDB_FROM_BYTES else "polars"


Backend = Literal["polars", "duckdb", "postgres", "sqlite", "pyspark"]
DATABASES: tuple[Backend, ...] = ("duckdb", "postgres", "sqlite")


@dataclass(frozen=True, slots=True)
class Data:
    """An Ibis table on a backend, and the connection that runs its queries.

    `owns` is true when closing the connection is this table's (a database source's own);
    `reopen`, when set, opens the same table on a new connection of its own.
    """

    table: Any
    backend: Backend
    con: Any
    owns: bool = False
    reopen: Callable[[], Data] | None = None

    def rows(self, expr: Any) -> list[dict[str, Any]]:
        """Run a query; its rows as dicts (small results only: aggregates and groups)."""
        if self.backend == "postgres":
            return _client_rows(self.con, expr)
        if self.backend == "pyspark":
            from govlib.engine import spark

            return spark.rows(self.con, expr)
        if self.backend == "polars":
            # polars' streaming engine evaluates the checks a morsel at a time: at 5M rows the
            # suite's pass added a third of the memory the in-memory engine added, as fast
            return list(self.con.to_pyarrow(expr, engine="streaming").to_pylist())
        with warnings.catch_warnings():
            # Ibis' SQLite reader touches a pandas option that pandas 3 deprecates
            warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
            return list(self.con.to_pyarrow(expr).to_pylist())

    def batches(self, expr: Any, size: int = 50_000) -> Any:
        """Arrow record batches of a query's rows, `size` at a time (a bounded memory read)."""
        if self.backend == "duckdb":
            # Ibis 12 misses duckdb 2's reader rename: read with duckdb's own
            return self.con.con.sql(self.con.compile(expr)).to_arrow_reader(size)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
            return self.con.to_pyarrow_batches(expr, chunk_size=size)

    def close(self) -> None:
        """Close the connection when it is this table's own (a shared one stays open)."""
        if self.owns:
            self.con.disconnect()


T = TypeVar("T")
# connections a process holds at once for queries side by side, the first one's included: a few
# use the server's cores without crowding out its other clients
SIDE_BY_SIDE = 3
_EXTRA = threading.BoundedSemaphore(SIDE_BY_SIDE - 1)  # shared by nested and parallel calls


def side_by_side(data: Data, jobs: Sequence[Callable[[Data], T]]) -> list[T]:
    """Each job's result, in order, side by side where the database allows.

    Where `data` can be reopened (PostgreSQL) the jobs run on connections of their own, else
    one after another on `data`. The first job runs on `data` itself. At most `SIDE_BY_SIDE`
    connections are open at once in the process, nested calls included: a job that finds none
    free, or whose connection cannot be opened (the server's connection limit, say), runs on
    `data` after the others. The first error a job raises is raised once every job has ended.
    """
    if data.reopen is None or len(jobs) < 2:
        return [job(data) for job in jobs]
    reopen = data.reopen

    def on_own(job: Callable[[Data], T]) -> Any:
        if not _EXTRA.acquire(blocking=False):  # never waits: a nested call may hold them
            return _UNOPENED
        try:
            return _on(reopen, job)
        finally:
            _EXTRA.release()

    pool = ThreadPoolExecutor(SIDE_BY_SIDE - 1, thread_name_prefix="govlib-query")
    try:
        futures = [pool.submit(on_own, job) for job in jobs[1:]]
        outcomes = [_outcome(lambda: jobs[0](data))]
        outcomes += [_outcome(future.result) for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # Ctrl-C: start no query still queued
        raise
    pool.shutdown()
    for i, (ok, value) in enumerate(outcomes):
        if ok and value is _UNOPENED:
            outcomes[i] = _outcome(functools.partial(jobs[i], data))
    errors = [value for ok, value in outcomes if not ok]
    if errors:
        raise errors[0]
    return [value for _, value in outcomes]


_UNOPENED = object()


def _on(reopen: Callable[[], Data], job: Callable[[Data], T]) -> Any:
    """`job` on a new connection, closed after it; `_UNOPENED` when none opens."""
    try:
        other = reopen()
    except Exception:
        return _UNOPENED
    try:
        return job(other)
    finally:
        other.close()


def _outcome(call: Callable[[], Any]) -> tuple[bool, Any]:
    """(True, result) or (False, the exception raised)."""
    try:
        return True, call()
    except Exception as exc:
        return False, exc


def _client_rows(con: Any, expr: Any) -> list[dict[str, Any]]:
    """A PostgreSQL query's rows through a client-side cursor, typed as Ibis types them.

    Ibis reads results through a server-side cursor, and PostgreSQL plans a cursor's query
    without parallel workers: an aggregate over a large table then ran 3 to 5 times slower.
    """
    schema = expr.as_table().schema()
    cursor = con.raw_sql(con.compile(expr))
    try:
        names = [d[0] for d in cursor.description]
        fetched = cursor.fetchall()
    finally:
        cursor.close()
        con.con.rollback()  # the read-only transaction the query began ends here
    out = []
    for row in fetched:
        out.append({n: _typed(v, schema[n]) for n, v in zip(names, row, strict=True)})
    return out


def _typed(value: Any, dtype: Any) -> Any:
    """A driver value as Ibis's type says (PostgreSQL sums integers as NUMERIC)."""
    if value is None:
        return None
    if dtype.is_integer():
        return int(value)
    if dtype.is_floating():
        return float(value)
    return value


def open_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    backend: Literal["polars", "duckdb", "spark"],
    *,
    name: str = "data",
    con: Any = None,
) -> Data:
    """A polars frame as an Ibis table on `backend` (no copy on polars; Arrow into the others).

    On polars, `con` (a Data's connection) puts the frame beside tables already open there, so
    one query can join them; `name` is its table name on that connection.
    """
    import ibis

    if backend == "spark":
        from govlib.engine import spark

        return spark.open_frame(frame)
    if backend == "polars":
        count_characters()
        con = con if con is not None else ibis.polars.connect()
        return Data(con.create_table(name, frame, overwrite=True), "polars", con)
    con = _duckdb()
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    return Data(ibis.memtable(data.to_arrow()), "duckdb", con)


def open_database(ds: Any, con: Any = None) -> Data:
    """A database dataset's table where it lives, its columns typed as files read them.

    `con`, an open connection of `ds`'s database (another dataset's `Data.con`), is shared;
    without it a new read-only connection opens, and `Data.close()` closes it.
    """
    from govlib import databases

    own = con is None
    con, table = databases.open_typed(ds, con)
    name = getattr(con, "name", "")
    if name not in DATABASES:
        if own:
            con.disconnect()
        raise ValueError(f"checks run inside PostgreSQL, SQLite and DuckDB only, not {name}")
    # a table of its own connection can be opened again, for queries side by side
    reopen = functools.partial(open_database, ds) if own and name == "postgres" else None
    return Data(table, name, con, owns=own, reopen=reopen)


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
