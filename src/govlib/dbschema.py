"""What a database declares about its tables: columns and types, primary and foreign keys.

Read from the catalogs each database keeps (PostgreSQL `pg_catalog`, SQLite `PRAGMA table_info`
and `PRAGMA foreign_key_list`, DuckDB `duckdb_constraints()`) over a connection
`govlib.databases` opened read-only, for `govlib catalog draft URI`. Nothing here reads a row
of data; `key_stats` reads counts only.

>>> quote('my "odd" table')
'"my ""odd"" table"'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from govlib import databases
from govlib.catalog import ColumnType

if TYPE_CHECKING:
    from ibis.backends import BaseBackend


@dataclass(frozen=True, slots=True)
class Column:
    """A column as the database declares it; `type` is None for a type govlib does not read."""

    name: str
    type: ColumnType | None
    declared: str  # the database's type, e.g. "int32" or "jsonb"


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """`columns` of a table point at `references` of `schema.table`."""

    columns: tuple[str, ...]
    schema: str
    table: str
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """One table or view: its columns in order, declared primary key and foreign keys."""

    schema: str
    name: str
    view: bool
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)


def quote(identifier: str) -> str:
    """`identifier` as a double-quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def backend_of(con: BaseBackend) -> str:
    """The Ibis backend's name (`postgres`, `sqlite`, `duckdb`, ...)."""
    return str(getattr(con, "name", ""))


def _rows(con: BaseBackend, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The rows of one catalog query; a PostgreSQL read-only transaction ends afterwards."""
    if backend_of(con) == "postgres":
        cursor = con.con.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()
            con.con.rollback()
    return list(con.con.execute(sql, params).fetchall())


def default_schema(con: BaseBackend) -> str | None:
    """The schema unqualified names resolve to (the URI's schema, `public`, `main`).

    None when the search path names no schema that exists (a URI naming a missing schema).
    """
    if backend_of(con) in ("postgres", "duckdb"):
        current = _rows(con, "SELECT current_schema()")[0][0]
        return None if current is None else str(current)
    return "main"


def has_schema(con: BaseBackend, schema: str) -> bool:
    """True when the database holds `schema`."""
    backend = backend_of(con)
    if backend == "postgres":
        return bool(_rows(con, "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)))
    if backend == "duckdb":
        sql = (
            "SELECT 1 FROM duckdb_schemas() WHERE schema_name = ? "
            "AND database_name = current_database()"
        )
        return bool(_rows(con, sql, (schema,)))
    return schema == "main"


def list_tables(con: BaseBackend, schema: str) -> dict[str, bool]:
    """The tables and views of `schema` you may read, by name: True for a view."""
    backend = backend_of(con)
    if backend == "postgres":
        sql = (
            "SELECT c.relname, c.relkind IN ('v', 'm') FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
            "AND NOT c.relispartition AND has_table_privilege(c.oid, 'SELECT') "
            "ORDER BY c.relname"
        )
        rows = _rows(con, sql, (schema,))
    elif backend == "duckdb":
        sql = (
            "SELECT table_name, table_type = 'VIEW' FROM information_schema.tables "
            "WHERE table_schema = ? AND table_catalog = current_database() ORDER BY table_name"
        )
        rows = _rows(con, sql, (schema,))
    else:
        sql = (
            "SELECT name, type = 'view' FROM sqlite_schema WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        rows = _rows(con, sql)
    return {str(name): bool(view) for name, view in rows}


def describe(con: BaseBackend, schema: str, names: dict[str, bool]) -> list[Table]:
    """The tables `names` (name -> is a view) of `schema`, in that order."""
    keys = _keys(con, schema, list(names))
    tables = []
    for name, view in names.items():
        primary, foreign = keys.get(name, ([], []))
        tables.append(Table(schema, name, view, _columns(con, schema, name), primary, foreign))
    return tables


def _columns(con: BaseBackend, schema: str, name: str) -> list[Column]:
    backend = backend_of(con)
    if backend == "duckdb":  # Ibis 12 cannot describe DuckDB 2 tables: DESCRIBE them here
        rows = _rows(con, f"DESCRIBE {quote(schema)}.{quote(name)}")
        mapper = con.compiler.type_mapper
        found = {str(r[0]): mapper.from_string(str(r[1])) for r in rows}
    elif backend == "postgres":
        found = dict(con.get_schema(name, database=schema).items())
        con.con.rollback()
    else:
        found = dict(con.get_schema(name).items())
    return [Column(c, databases.catalog_type(t), str(t)) for c, t in found.items()]


Keys = dict[str, tuple[list[str], list[ForeignKey]]]


def _keys(con: BaseBackend, schema: str, names: list[str]) -> Keys:
    """Per table: its primary key columns, in key order, and its foreign keys."""
    backend = backend_of(con)
    if backend == "postgres":
        return _postgres_keys(con, schema, names)
    if backend == "duckdb":
        return _duckdb_keys(con, schema, names)
    return {name: _sqlite_keys(con, name) for name in names}


_PG_KEYS = """
SELECT c.relname, con.contype, con.conname, a.attname, fn.nspname, fc.relname, fa.attname
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[k.ord]
WHERE n.nspname = %s AND c.relname = ANY(%s) AND con.contype IN ('p', 'f')
ORDER BY c.relname, con.contype DESC, con.conname, k.ord
"""


def _postgres_keys(con: BaseBackend, schema: str, names: list[str]) -> Keys:
    keys: Keys = {name: ([], []) for name in names}
    fks: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
    for table, kind, constraint, column, ref_schema, ref_table, ref_column in _rows(
        con, _PG_KEYS, (schema, names)
    ):
        if kind == "p":
            keys[table][0].append(column)
        else:
            fks.setdefault((table, constraint), []).append(
                (column, ref_schema, ref_table, ref_column)
            )
    for (table, _), parts in fks.items():
        keys[table][1].append(
            ForeignKey(
                tuple(p[0] for p in parts), parts[0][1], parts[0][2], tuple(p[3] for p in parts)
            )
        )
    return keys


def _duckdb_keys(con: BaseBackend, schema: str, names: list[str]) -> Keys:
    keys: Keys = {name: ([], []) for name in names}
    sql = (
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        "referenced_column_names FROM duckdb_constraints() WHERE schema_name = ? "
        "AND database_name = current_database() "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY constraint_index"
    )
    for table, kind, columns, ref_table, ref_columns in _rows(con, sql, (schema,)):
        if table not in keys:
            continue
        if kind == "PRIMARY KEY":
            keys[table][0].extend(columns)
        else:  # DuckDB's foreign keys stay inside their schema
            fk = ForeignKey(tuple(columns), schema, ref_table, tuple(ref_columns))
            keys[table][1].append(fk)
    return keys


def _sqlite_keys(con: BaseBackend, name: str) -> tuple[list[str], list[ForeignKey]]:
    info = _rows(con, f"PRAGMA table_info({quote(name)})")
    primary = [str(row[1]) for row in sorted(info, key=lambda r: r[5]) if row[5]]
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for row in _rows(con, f"PRAGMA foreign_key_list({quote(name)})"):
        grouped.setdefault(row[0], []).append(row)
    fks = []
    for parts in grouped.values():
        parts.sort(key=lambda r: r[1])
        target = str(parts[0][2])
        to = [r[4] for r in parts]
        if any(t is None for t in to):  # REFERENCES t: the target's primary key
            target_info = _rows(con, f"PRAGMA table_info({quote(target)})")
            to = [str(r[1]) for r in sorted(target_info, key=lambda r: r[5]) if r[5]]
        fks.append(ForeignKey(tuple(str(r[3]) for r in parts), "main", target, tuple(to)))
    return primary, fks


def key_stats(
    con: BaseBackend, schema: str, name: str, columns: list[str]
) -> tuple[int, list[str]]:
    """The table's row count, and which of `columns` are never null and unique over every row.

    One aggregate query, run in the database; only counts come back.
    """
    parts = ["COUNT(*)"] + [
        f"COUNT({quote(c)}), COUNT(DISTINCT {quote(c)})" for c in columns
    ]  # fmt: skip
    sql = f"SELECT {', '.join(parts)} FROM {quote(schema)}.{quote(name)}"
    row = _rows(con, sql)[0]
    rows = int(row[0])
    unique = [
        c
        for i, c in enumerate(columns)
        if rows >= 2 and row[1 + 2 * i] == rows and row[2 + 2 * i] == rows
    ]
    return rows, unique
