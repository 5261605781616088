"""Database sources: PostgreSQL, SQLite and DuckDB files, read through Ibis, never written.

A catalog dataset whose source is `{uri_env: GOVLIB_CRM_URL, table: customers}`,
`{uri: "sqlite:///crm.sqlite", table: tickets}` or `{uri: "duckdb:///crm.duckdb", query: ...}`
is read here. Every connection is read-only: PostgreSQL sessions run with
`default_transaction_read_only`, SQLite files open with `mode=ro` and `query_only`, DuckDB files
with `read_only=True`; a `query:` must be one SELECT (checked when the catalog loads).

Credentials never reach an output: a catalog `uri` holding a password is refused (name an
environment variable with `uri_env` instead), and any URI in a message goes through `redact`.
Driver messages are not quoted (they can echo values); each failure is one line naming the
dataset and what to do.

For now `scan` reads the table into polars in Arrow batches (an interim path); `table` gives the
Ibis table that profile and validate push their work down to, `rows` runs a small query on it
and `sample` draws a bounded sample by the database's own sampling.

>>> redact("postgresql://crm:s3cret@db.example:5432/crm")
'postgresql://crm:***@db.example:5432/crm'
"""

from __future__ import annotations

import os
import re
import sqlite3
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

import polars as pl

from govlib.catalog import ColumnType, Dataset, SourceSpec
from govlib.errors import GovlibError, SourceError

if TYPE_CHECKING:
    import ibis
    import ibis.expr.datatypes as dt
    from ibis.backends import BaseBackend

SAMPLE_ROWS = 20_000
SAMPLE_SEED = 20_250_131
BATCH_ROWS = 50_000
CONNECT_TIMEOUT_S = 10
# Schemes govlib tests, with the Ibis backend and what to install; any other Ibis backend is
# accepted by URI (untested) and may read tables only.
TESTED = {"postgresql": "postgres", "postgres": "postgres", "sqlite": "sqlite", "duckdb": "duckdb"}
FILE_SCHEMES = ("sqlite", "duckdb")
_SECRET_KEYS = re.compile(r"pass|pwd|secret|token|key|credential", re.IGNORECASE)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class DatabaseError(SourceError):
    """A database source that cannot be read: one line naming the dataset and the fix."""

    def __init__(self, dataset: str, problem: str, fix: str) -> None:
        self.path = Path(dataset)
        self.problem = problem
        GovlibError.__init__(self, f"dataset {dataset!r}: {problem}. {fix}")


# -- URIs and queries ----------------------------------------------------------------------------


def redact(uri: str) -> str:
    """`uri` with its password, and any secret-looking query parameter, replaced by `***`.

    >>> redact("duckdb:///crm.duckdb")
    'duckdb:///crm.duckdb'
    >>> redact("snowflake://me@acct/db?password=x&warehouse=w")
    'snowflake://me@acct/db?password=%2A%2A%2A&warehouse=w'
    """
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        return "(a URI that cannot be parsed)"
    redacted = uri
    if password is not None:
        user, _, host = parts.netloc.rpartition("@")
        redacted = redacted.replace(parts.netloc, f"{user.split(':', 1)[0]}:***@{host}", 1)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if any(_SECRET_KEYS.search(k) for k, _ in pairs):
        query = urlencode([(k, "***" if _SECRET_KEYS.search(k) else v) for k, v in pairs])
        redacted = redacted.replace("?" + parts.query, "?" + query, 1)
    return redacted


def has_password(uri: str) -> bool:
    """True when `uri` carries a password or a secret-looking query parameter."""
    return redact(uri) != uri


def scheme_of(uri: str) -> str:
    """The URI's scheme without a driver suffix (`postgresql+psycopg` -> `postgresql`)."""
    return urlsplit(uri).scheme.split("+", 1)[0].lower()


def check_query(sql: str) -> None:
    """Raise `ValueError` unless `sql` is a single SELECT (or WITH ... SELECT) that writes nothing.

    >>> check_query("with a as (select 1 as x) select x from a")
    >>> check_query("delete from customers")
    Traceback (most recent call last):
    ...
    ValueError: the query is not a SELECT (it parses as Delete); a source is only read
    """
    import sqlglot
    from sqlglot import exp

    try:
        statements = [s for s in sqlglot.parse(sql) if s is not None]
    except sqlglot.errors.SqlglotError:
        raise ValueError("the query is not valid SQL; give one SELECT statement") from None
    if len(statements) != 1:
        raise ValueError(f"expected one SELECT statement, found {len(statements)} statements")
    [statement] = statements
    if not isinstance(statement, exp.Query):
        kind = type(statement).__name__
        raise ValueError(f"the query is not a SELECT (it parses as {kind}); a source is only read")
    writes = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter)
    if statement.args.get("into") or any(statement.find_all(*writes)):
        raise ValueError(
            "the query writes (INTO, INSERT, UPDATE, DELETE or DDL); a source is only read"
        )


def uri_of(ds: Dataset) -> str:
    """The dataset's connection URI, from the catalog or from the environment variable it names."""
    spec = ds.source
    if spec.uri is not None:
        return spec.uri
    value = os.environ.get(spec.uri_env or "", "")
    if not value.strip():
        raise DatabaseError(
            ds.name,
            f"environment variable {spec.uri_env} is not set",
            f"Export {spec.uri_env} with the database URI (e.g. postgresql://user:pw@host/db)",
        )
    return value.strip()


def location(spec: SourceSpec) -> str:
    """Where a source lives, safe to print: a path, `$ENV` or a redacted URI, and its table."""
    if spec.path is not None:
        return spec.path
    where = f"${spec.uri_env}" if spec.uri_env else redact(spec.uri or "")
    return f"{where} table {spec.table}" if spec.table else f"{where} query"


# -- connecting ----------------------------------------------------------------------------------


def connect(ds: Dataset) -> BaseBackend:
    """A read-only Ibis connection to the dataset's database."""
    uri = uri_of(ds)
    scheme = scheme_of(uri)
    backend = TESTED.get(scheme)
    if backend is None and ds.source.query is not None:
        raise DatabaseError(
            ds.name,
            f"a query on a {scheme}:// source cannot be held read-only by govlib",
            "Read a table or view (source.table) instead",
        )
    try:
        if backend == "postgres":
            return _connect_postgres(uri)
        if backend in FILE_SCHEMES:
            return _connect_file(ds, uri, backend)
        import ibis

        return ibis.connect(uri)
    except GovlibError:
        raise
    except ImportError:
        raise DatabaseError(
            ds.name,
            f"the {backend or scheme} backend is not installed",
            f'Install it: pip install "ibis-framework[{backend or scheme}]"',
        ) from None
    except ValueError:
        raise DatabaseError(
            ds.name,
            f"{redact(uri)} is not a database URI Ibis knows",
            "Use postgresql://, sqlite:///, duckdb:/// or another Ibis backend's URI",
        ) from None
    except Exception as exc:
        raise _connect_error(ds.name, uri, exc) from None


NO_JIT_OPTION = "-c jit=off"
# a grouped check on a million keys spilled to disk in PostgreSQL's default 4 MB (uniqueness of
# customer_id: 1.25 s, against 0.83 s in 64 MB); a URI's own `options` may set another
WORK_MEM_OPTION = "-c work_mem=64MB"
READ_ONLY_OPTION = "-c default_transaction_read_only=on"


def _connect_postgres(uri: str) -> BaseBackend:
    """A read-only session; the URI's query options (sslmode, sslrootcert, host...) apply."""
    import ibis

    parts = urlsplit(uri)
    database, _, schema = parts.path.lstrip("/").partition("/")
    given = dict(parse_qsl(parts.query, keep_blank_values=True))
    # read-only comes last, so a URI's own `options` cannot switch it off
    # JIT-compiling the wide expressions of checks costs PostgreSQL more than it saves (14 s
    # of a 19 s query on a million rows): off, unless the URI's own `options` turn it on
    options = " ".join(
        filter(None, [NO_JIT_OPTION, WORK_MEM_OPTION, given.pop("options", ""), READ_ONLY_OPTION])
    )
    given.setdefault("connect_timeout", str(CONNECT_TIMEOUT_S))
    host = given.pop("host", "") or None
    con = ibis.postgres.connect(
        host=parts.hostname or host,
        port=parts.port or int(given.pop("port", 5432)),
        user=unquote(parts.username) if parts.username else given.pop("user", "") or None,
        password=unquote(parts.password) if parts.password else given.pop("password", "") or None,
        database=unquote(database) or given.pop("dbname", "") or None,
        schema=schema or None,
        options=options,
        autocommit=False,
        **given,
    )
    # every statement runs in a transaction begun READ ONLY: a query that turns the session's
    # default off (set_config) cannot make a later statement writable
    con.con.read_only = True
    return con


def database_file(ds: Dataset, uri: str) -> Path:
    """The SQLite or DuckDB file of `uri`, relative to the data root and checked to lie in it."""
    from govlib.sources import check_inside

    raw = unquote(urlsplit(uri).path)
    raw = raw[1:] if raw.startswith("/") else raw  # sqlite:///rel, sqlite:////abs
    root = ds.catalog.data_dir
    path = Path(raw) if Path(raw).is_absolute() else root / raw
    if not raw or raw == ":memory:":
        raise DatabaseError(ds.name, "the URI names no database file", "Give a file path")
    try:
        check_inside(path, root)
    except SourceError as exc:
        raise DatabaseError(ds.name, exc.problem, "Move the file below the data root") from None
    if not path.is_file():
        raise DatabaseError(
            ds.name, f"database file {path} not found", "Check the source uri in the catalog"
        )
    return path


def _connect_file(ds: Dataset, uri: str, backend: str) -> BaseBackend:
    import ibis

    path = database_file(ds, uri)
    if backend == "duckdb":
        return ibis.duckdb.connect(database=str(path), read_only=True)
    raw = sqlite3.connect(sqlite_read_uri(path), uri=True, check_same_thread=False)
    raw.execute("PRAGMA query_only = ON")
    return ibis.sqlite.from_connection(raw)


def sqlite_read_uri(path: Path) -> str:
    """A read-only SQLite URI that leaves no file beside the database.

    Even read-only, SQLite opens a database in WAL mode by creating its `-wal` and `-shm` files
    next to it, and leaves them. A WAL database without a `-wal` file has nothing outside the
    file itself: it is opened `immutable`, creating nothing (SQLite then takes no lock: a writer
    starting during the read can make it fail or read wrongly; rerun after writers stop). With
    a `-wal` file (a writer at work, or a copy taken with one), the database is read as usual,
    and SQLite creates the `-shm` file if it is missing: the `-wal` file holds data to read.
    """
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with path.open("rb") as fh:
        header = fh.read(20)
    in_wal_mode = header.startswith(b"SQLite format 3\x00") and header[18:20] == b"\x02\x02"
    if in_wal_mode and not path.with_name(path.name + "-wal").exists():
        uri += "&immutable=1"
    return uri


def _connect_error(dataset: str, uri: str, exc: Exception) -> DatabaseError:
    """One line for a failed connection, without quoting the driver (it can echo secrets)."""
    text = str(exc).lower()
    where = redact(uri)
    if "password" in text or "authentication" in text or "role" in text:
        return DatabaseError(
            dataset,
            f"{where} refused the credentials",
            "Check the user and password in the URI's environment variable",
        )
    if "does not exist" in text and "database" in text:
        return DatabaseError(dataset, f"{where}: the database does not exist", "Fix the URI")
    if any(w in text for w in ("refused", "timeout", "timed out", "resolve", "unreachable")):
        return DatabaseError(
            dataset,
            f"cannot reach the database server of {where}",
            "Check that the server runs and the host and port are right",
        )
    return DatabaseError(
        dataset,
        f"cannot connect to {where} ({type(exc).__name__})",
        "Check the URI and that the server accepts connections",
    )


# -- tables and their types ----------------------------------------------------------------------


def catalog_type(dtype: dt.DataType) -> ColumnType | None:
    """The catalog type a database column reads as (NUMERIC as float64), None if unsupported."""
    if dtype.is_integer():
        return "int64"
    if dtype.is_floating() or dtype.is_decimal():
        return "float64"
    if dtype.is_boolean():
        return "bool"
    if dtype.is_date():
        return "date"
    if dtype.is_timestamp():
        return "datetime"
    if dtype.is_string() or dtype.is_uuid() or dtype.is_inet() or dtype.is_macaddr():
        return "string"
    return None


def open_table(ds: Dataset) -> tuple[BaseBackend, ibis.Table]:
    """A read-only connection and the dataset's declared columns as an Ibis table.

    The caller owns the connection (`con.disconnect()` when done). Undeclared columns of the
    table are never selected; a declared column that is missing or of another type is an error.
    """
    con = connect(ds)
    try:
        raw = _raw_table(ds, con)
        _check_types(ds, dict(raw.schema().items()))
        return con, raw.select(*ds.columns)
    except BaseException:
        con.disconnect()
        raise


def open_typed(ds: Dataset, con: BaseBackend | None = None) -> tuple[BaseBackend, ibis.Table]:
    """`open_table` with each column as files read it, on `con` when given (else a new one).

    NUMERIC becomes float64, INTEGER int64, TIMESTAMPTZ a UTC date-time without zone (the
    session runs in UTC): checks then compare what they compare on a file of the same data.
    A connection given is shared (the caller closes it); a new one is the caller's to close.
    """
    import ibis

    own = con is None
    con = connect(ds) if con is None else con
    try:
        raw = _raw_table(ds, con)
        found = dict(raw.schema().items())
        _check_types(ds, found)
        casts = {}
        for column, kind in ds.schema().items():
            want = ibis.dtype(_IBIS_TYPE[kind])
            have = found[column]
            if have.is_timestamp() and have.timezone is not None:
                casts[column] = raw[column].cast(ibis.dtype("timestamp"))
            elif not (have.is_timestamp() and want.is_timestamp()) and have != want:
                casts[column] = raw[column].cast(want)
            else:
                casts[column] = raw[column]
        return con, raw.select(**casts)
    except BaseException:
        if own:
            con.disconnect()
        raise


def table(ds: Dataset) -> ibis.Table:
    """The dataset as an Ibis table of its declared columns, for work pushed down to the database.

    Its connection is read-only and stays open as long as the table is used.
    """
    return open_table(ds)[1]


def _raw_table(ds: Dataset, con: BaseBackend) -> ibis.Table:
    spec = ds.source
    duck = getattr(con, "name", "") == "duckdb"
    if spec.table is not None and not duck:
        schema, _, name = spec.table.rpartition(".")
        try:
            return con.table(name, database=schema or None)
        except Exception:
            raise _no_table(ds) from None
    # DuckDB 2 lacks the cursor method Ibis 12 describes tables with: describe them here
    sql = spec.query or "SELECT * FROM " + ".".join(
        _quoted(p) for p in (spec.table or "").split(".")
    )
    columns = _query_columns(ds, con, sql)
    _check_types(ds, columns)
    import ibis

    listed = ", ".join(_quoted(c) for c in ds.columns)
    schema = ibis.schema({c: columns[c] for c in ds.columns})
    return con.sql(f"SELECT {listed} FROM ({sql}) AS govlib_query", schema=schema)


def _no_table(ds: Dataset) -> DatabaseError:
    return DatabaseError(
        ds.name,
        f"table {ds.source.table} not found in {location(ds.source)} (or not readable by you)",
        "Check source.table, the schema, and the user's SELECT grant",
    )


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _query_columns(ds: Dataset, con: BaseBackend, sql: str) -> dict[str, Any]:
    """A query's columns and types, read in a read-only transaction without fetching a row.

    PostgreSQL and DuckDB report each column's type; SQLite does not, so the declared types
    stand in for its query columns.
    """
    import ibis

    name = getattr(con, "name", "")
    try:
        if name == "duckdb":
            rows = con.con.execute(f"DESCRIBE {sql}").fetchall()
            described = [(row[0], row[1]) for row in rows]
        else:
            cursor = con.raw_sql(f"SELECT * FROM ({sql}) AS govlib_query LIMIT 0")
            described = [(d[0], d[1]) for d in cursor.description]
            if name == "postgres":
                cursor.execute(
                    "SELECT format_type(o, NULL) FROM unnest(%s::oid[]) AS o",
                    ([oid for _, oid in described],),
                )
                described = [
                    (c, row[0]) for (c, _), row in zip(described, cursor.fetchall(), strict=True)
                ]
                con.con.rollback()
            cursor.close()
    except Exception as exc:
        if ds.source.table is not None:
            raise _no_table(ds) from None
        raise DatabaseError(
            ds.name,
            f"the source query failed ({type(exc).__name__})",
            "Run it by hand against the database, then fix source.query",
        ) from None
    if name in ("postgres", "duckdb"):
        mapper = con.compiler.type_mapper
        return {c: mapper.from_string(t) for c, t in described}
    declared = {c: ibis.dtype(_IBIS_TYPE[k]) for c, k in ds.schema().items()}
    return {c: declared.get(c, ibis.dtype("string")) for c, _ in described}


_IBIS_TYPE: dict[ColumnType, str] = {
    "string": "string",
    "int64": "int64",
    "float64": "float64",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp",
}


def _check_types(ds: Dataset, found: dict[str, Any]) -> None:
    missing = [c for c in ds.columns if c not in found]
    if missing:
        raise DatabaseError(
            ds.name,
            f"schema drift: missing declared columns: {', '.join(missing)}",
            "Update the catalog's columns, or the table or query",
        )
    problems = []
    for column, declared in ds.schema().items():
        actual = catalog_type(found[column])
        if actual != declared and not (declared == "float64" and actual == "int64"):
            problems.append(f"column {column!r} is {found[column]}, expected {declared}")
    if problems:
        raise DatabaseError(
            ds.name, "; ".join(problems), "Fix the declared types or cast in source.query"
        )


# -- reading -------------------------------------------------------------------------------------


def frame(ds: Dataset) -> pl.DataFrame:
    """The whole dataset in memory with its declared types, read in Arrow batches.

    Interim: profile and validate read this frame for now; they move into the database next.
    """
    con, expr = open_table(ds)
    try:
        return _fetch(ds, con, expr)
    finally:
        con.disconnect()


def matching(ds: Dataset, where: Callable[[ibis.Table, str], Any]) -> pl.DataFrame:
    """The rows for which `where(table, backend)` holds, read in batches, with declared types.

    `where` builds the condition on the table of declared columns for the named backend
    ("postgres", "sqlite", "duckdb"...); None reads no row.
    """
    con, expr = open_table(ds)
    try:
        condition = where(expr, getattr(con, "name", ""))
        if condition is None:
            return _typed(pl.DataFrame(schema=list(ds.columns)), ds)
        return _fetch(ds, con, expr.filter(condition))
    finally:
        con.disconnect()


def sample(ds: Dataset, n: int = SAMPLE_ROWS, *, columns: list[str] | None = None) -> pl.DataFrame:
    """At most `n` rows of `columns` (default: every declared one), drawn by the database.

    A table of at most `n` rows is read whole, ordered by primary key (else by every column).
    A larger one is sampled by the database itself (`TABLESAMPLE BERNOULLI` on PostgreSQL,
    DuckDB's sample, a `random()` filter on SQLite), about `n` rows, capped at `n` and ordered
    the same way. The PostgreSQL and DuckDB samples of a table are seeded (`SAMPLE_SEED`): the
    same rows on every call while the table is unchanged. SQLite's `random()` takes no seed,
    nor does a sample of a PostgreSQL `query:` source; theirs differ from call to call.
    """
    con = connect(ds)
    try:
        raw = _raw_table(ds, con)
        _check_types(ds, dict(raw.schema().items()))
        try:
            total = int(rows(con, raw.aggregate(n=raw.count()))[0]["n"] or 0)
        except Exception as exc:
            raise DatabaseError(
                ds.name,
                f"counting the rows of {location(ds.source)} failed ({type(exc).__name__})",
                "Check the table or query and the user's grants",
            ) from None
        order = ds.primary_key or list(ds.columns)
        if total > n:
            raw = _sampled(con, raw, n / total)
        wanted = list(ds.columns) if columns is None else columns
        keyed = list(dict.fromkeys([*wanted, *order]))  # the order's columns, to keep it
        drawn = raw.select(*ds.columns).order_by(*order).limit(n)
        return _fetch(ds, con, drawn.select(*keyed).order_by(*order), keyed).select(wanted)
    finally:
        con.disconnect()


def _sampled(con: BaseBackend, raw: ibis.Table, fraction: float) -> ibis.Table:
    """`raw` sampled by the backend, seeded where it takes a seed."""
    from ibis.expr import operations as ops

    name = getattr(con, "name", "")
    physical = isinstance(raw.op(), ops.DatabaseTable)
    if name == "postgres" and physical and not _samples_itself(con, raw):
        import ibis

        return raw.filter(ibis.random() <= fraction)  # what Ibis does for a query, unseeded
    seeded = name == "duckdb" or (name == "postgres" and physical)
    return raw.sample(fraction, method="row", seed=SAMPLE_SEED if seeded else None)


def _samples_itself(con: BaseBackend, raw: ibis.Table) -> bool:
    """True when PostgreSQL's TABLESAMPLE takes the relation of `raw`.

    It takes a table, a partitioned table or a materialized view; it refuses a view.
    """
    import sqlglot as sg

    op = raw.op()
    qualified = sg.table(op.name, db=op.namespace.database, quoted=True).sql("postgres")  # type: ignore[attr-defined]
    cursor = con.con.cursor()
    try:
        sql = "SELECT relkind::text FROM pg_class WHERE oid = to_regclass(%s)"
        cursor.execute(sql, [qualified])
        found = cursor.fetchone()
    finally:
        cursor.close()
        con.con.rollback()
    return found is not None and found[0] in ("r", "p", "m")


def rows(con: BaseBackend, expr: ibis.Table) -> list[dict[str, Any]]:
    """Run `expr` and return its rows as dicts: for small results (aggregates, groups) only."""
    if getattr(con, "name", "") == "pyspark":
        from govlib.engine import spark

        return spark.rows(con, expr)
    with warnings.catch_warnings():
        # Ibis' SQLite reader touches a pandas option that pandas 3 deprecates
        warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
        return [row for batch in _batches(con, expr) for row in batch.to_pylist()]


def naive_utc(value: object) -> object:
    """A date-time with a time zone as naive UTC (as files read them); anything else as is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _fetch(
    ds: Dataset, con: BaseBackend, expr: ibis.Table, columns: list[str] | None = None
) -> pl.DataFrame:
    """`expr`'s rows with their declared types; `columns`: those it selects (default: all)."""
    parts = []
    try:
        with warnings.catch_warnings():
            # Ibis' SQLite reader touches a pandas option that pandas 3 deprecates
            warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
            for batch in _batches(con, expr):
                parts.append(_typed(pl.from_arrow(batch), ds, columns))  # type: ignore[arg-type]
    except GovlibError:
        raise
    except Exception as exc:
        raise DatabaseError(
            ds.name,
            f"reading {location(ds.source)} failed ({type(exc).__name__})",
            "Check the table or query and the user's grants",
        ) from None
    if not parts:
        return _typed(pl.DataFrame(schema=columns or list(ds.columns)), ds, columns)
    return pl.concat(parts, how="vertical")


def _batches(con: BaseBackend, expr: ibis.Table) -> Any:
    """Arrow record batches of `expr` (DuckDB 2's reader directly: Ibis 12 misses its rename)."""
    if getattr(con, "name", "") == "duckdb":
        sql = con.compile(expr)
        return con.con.sql(sql).to_arrow_reader(BATCH_ROWS)
    return con.to_pyarrow_batches(expr, chunk_size=BATCH_ROWS)


def _typed(df: pl.DataFrame, ds: Dataset, only: list[str] | None = None) -> pl.DataFrame:
    """Declared polars types of `only` (default: every column); zoned date-times become UTC."""
    from govlib.sources import POLARS_TYPE

    columns = []
    for name, kind in ds.schema().items():
        if only is not None and name not in only:
            continue
        col = pl.col(name)
        dtype = df.schema[name]
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        columns.append(col.cast(POLARS_TYPE[kind]))
    return df.select(columns)


# -- work inside the database: one connection for several tables, aggregates back --------------


def same_database(a: Dataset, b: Dataset) -> bool:
    """True when both datasets are read from the same database (the same URI)."""
    if not (a.source.is_database and b.source.is_database):
        return False
    try:
        return uri_of(a) == uri_of(b)
    except DatabaseError:
        return False


def open_tables(first: Dataset, *others: Dataset) -> tuple[BaseBackend, list[ibis.Table]]:
    """One read-only connection and each dataset's declared columns, for a join in the database.

    Every dataset must live in `first`'s database (`same_database`). The caller owns the
    connection (`con.disconnect()` when done).
    """
    strangers = [ds.name for ds in others if not same_database(first, ds)]
    if strangers:
        raise ValueError(f"not in the database of {first.name}: {', '.join(strangers)}")
    con, table = open_table(first)
    try:
        tables = [table]
        for ds in others:
            raw = _raw_table(ds, con)
            _check_types(ds, dict(raw.schema().items()))
            tables.append(raw.select(*ds.columns))
        return con, tables
    except BaseException:
        con.disconnect()
        raise


def one_row(ds: Dataset, expr: ibis.Table) -> dict[str, Any]:
    """The single row of an aggregate expression, computed by the database (counts, not rows)."""
    import ibis

    con = ibis.get_backend(expr)
    try:
        if getattr(con, "name", "") == "pyspark":  # collected by Spark, no pandas in between
            from govlib.engine import spark

            found = spark.rows(con, expr)
            rows = [pl.DataFrame(found, infer_schema_length=None)] if found else []
        else:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*future.infer_string", category=Warning)
                rows = [pl.DataFrame(pl.from_arrow(batch)) for batch in _batches(con, expr)]
    except Exception as exc:
        raise DatabaseError(
            ds.name,
            f"an aggregate over {location(ds.source)} failed ({type(exc).__name__})",
            "Check the table and the user's grants",
        ) from None
    frame = pl.concat(rows) if rows else pl.DataFrame()
    if frame.height != 1:
        raise DatabaseError(ds.name, "an aggregate returned no single row", "Report it")
    return frame.row(0, named=True)
