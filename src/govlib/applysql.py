r"""`apply.sql`: the change a new copy makes, as a script the data owner of a database runs.

govlib never writes to a source. When `retention apply`, `subject erase` or `cleanse --execute`
changes a dataset read from a database, the new copy is written as Parquet (as for files) and,
beside it, `apply.sql`: the same change as DELETE and UPDATE statements keyed by the dataset's
`primary_key`, in the database's SQL dialect, in one transaction. Run against the source, it
turns each table into the copy govlib wrote.

The statements are fixed text; the key values (and, for an UPDATE, the new cell values) are
data: each statement reads them from a temporary table filled by a values list, every literal
and identifier quoted by sqlglot for the dialect, so no value is ever spliced into a statement.
No control character reaches the file raw: a string holding one is written as quoted pieces
joined with `chr`/`char` of its code points (a NUL cut the line in the sqlite3 shell and left
the literal open), and every comment is flattened to one line. Before and after each statement
the script counts the rows it addresses into a checked temporary table, so a key that matches
no row, or more rows than planned, fails the whole transaction instead of changing less.
The script holds key values and new values of people: it is a restricted output.

>>> literal("O'Brien", "postgres")
"'O''Brien'"
>>> literal("a\x00b", "sqlite")
"('a' || char(0) || 'b')"
>>> identifier("order", "sqlite")
'"order"'
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import polars as pl

from govlib.errors import ExecutionError, ParameterError

if TYPE_CHECKING:
    from govlib.catalog import Catalog, Dataset

FILE_NAME = "apply.sql"
ROWS_PER_INSERT = 500
DIALECTS = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "sqlite": "sqlite",
    "duckdb": "duckdb",
}
HOW_TO_RUN = {
    "postgres": "psql URL -v ON_ERROR_STOP=1 -f FILE",
    "sqlite": "sqlite3 -bail DATABASE < FILE (-bail: stop at the first error, nothing is kept)",
    "duckdb": "duckdb -bail DATABASE < FILE",
}
# Written as code points, never raw: C0 and C1 controls, DEL, line and paragraph separators (a
# reviewer's editor breaks lines there), and bidirectional overrides (they reorder the text shown).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
CHECK_TABLE = "govlib_check"


@dataclass(frozen=True, slots=True)
class TableChange:
    """What a new copy changes in one table: keys of rows to delete, new values per column."""

    dataset: str
    keys: list[str]
    deleted: pl.DataFrame  # the key columns of the rows to delete
    updates: dict[str, pl.DataFrame]  # column -> key columns and the new value, changed rows only

    @property
    def empty(self) -> bool:
        """True when the copy equals the table."""
        return self.deleted.height == 0 and not self.updates

    def describe(self) -> str:
        """The change as counts, for the script's header."""
        cells = sum(frame.height for frame in self.updates.values())
        parts = [f"{self.deleted.height} row(s) deleted"] if self.deleted.height else []
        if cells:
            parts.append(f"{cells} cell(s) updated in {len(self.updates)} column(s)")
        return f"{self.dataset}: {', '.join(parts)}"


# -- which datasets, and may they be keyed --------------------------------------------------------


def reachable(catalog: Catalog, name: str) -> list[str]:
    """`name` and every dataset pointing at it, transitively: those a change of `name` touches."""
    found, pending = [name], [name]
    while pending:
        target = pending.pop()
        for other in catalog.names():
            refs = {rel.target[0] for rel in catalog.dataset(other).relationships}
            if target in refs and other not in found:
                found.append(other)
                pending.append(other)
    return found


def check(catalog: Catalog, names: Iterable[str]) -> None:
    """Refuse (exit 2) a database dataset among `names` that apply.sql cannot key or address."""
    for name in names:
        ds = catalog.dataset(name)
        if not ds.source.is_database:
            continue
        if not ds.primary_key:
            raise ParameterError(
                f"dataset {name!r} is read from a database and has no primary_key: apply.sql "
                "keys its DELETE and UPDATE statements by it; declare primary_key in the catalog"
            )
        if ds.source.table is None:
            raise ParameterError(
                f"dataset {name!r} is read through a query: apply.sql changes tables only; "
                "read it with source.table (a table or view the data owner can change)"
            )


def dialect_of(ds: Dataset) -> str:
    """The sqlglot dialect of a database dataset's URI."""
    from govlib import databases

    scheme = databases.scheme_of(databases.uri_of(ds))
    if scheme in DIALECTS:
        return DIALECTS[scheme]
    import sqlglot

    try:
        sqlglot.Dialect.get_or_raise(scheme)
    except ValueError:
        raise ParameterError(
            f"dataset {ds.name!r}: govlib cannot write apply.sql for {scheme}:// sources; "
            "use a PostgreSQL, SQLite or DuckDB source"
        ) from None
    return scheme


# -- the change as keyed rows -------------------------------------------------------------------


def _unique_keys(ds: Dataset, frame: pl.DataFrame, what: str) -> None:
    keys = ds.primary_key
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ParameterError(
            f"dataset {ds.name!r}: primary_key column {missing[0]!r} is not a declared column; "
            "fix primary_key in the catalog"
        )
    nulls = frame.select(pl.any_horizontal(pl.col(k).is_null() for k in keys).sum()).item()
    if nulls or frame.select(keys).is_duplicated().any():
        raise ParameterError(
            f"dataset {ds.name!r}: the primary key {', '.join(keys)} is not unique and non-null "
            f"in the {what}, so apply.sql cannot key its rows; fix the key in the catalog or "
            "the data"
        )


def diff(ds: Dataset, before: pl.DataFrame, after: pl.DataFrame) -> TableChange:
    """The rows of `before` missing from `after`, and the cells `after` changes, by primary key.

    `after` must hold no key that `before` lacks (a copy adds no rows).
    """
    keys = list(ds.primary_key)
    _unique_keys(ds, before, "source")
    _unique_keys(ds, after, "new copy")
    after = after.select([c for c in before.columns if c in after.columns])
    after = after.cast({c: before.schema[c] for c in after.columns}, strict=False)
    added = after.select(keys).join(before.select(keys), on=keys, how="anti")
    if added.height:
        raise ExecutionError(f"the new copy of {ds.name} holds rows the source does not")
    deleted = before.select(keys).join(after.select(keys), on=keys, how="anti")
    suffix = "__new"  # lengthened until no column plus it names another (`x`, `x__new`)
    while any(f"{c}{suffix}" in before.columns for c in after.columns):
        suffix += "_"
    both = before.join(after, on=keys, how="inner", suffix=suffix)
    updates = {}
    for column in after.columns:
        if column in keys:
            continue
        changed = ~pl.col(column).eq_missing(pl.col(f"{column}{suffix}"))
        rows = both.filter(changed).select(*keys, pl.col(f"{column}{suffix}").alias(column))
        if rows.height:
            updates[column] = rows.sort(keys)
    return TableChange(ds.name, keys, deleted.sort(keys), updates)


# -- SQL text ------------------------------------------------------------------------------------


def flat(text: str) -> str:
    r"""`text` on one line, for a comment: every control character or line separator a space.

    >>> flat("db\nCOMMIT;")
    'db COMMIT;'
    """
    return UNSAFE.sub(" ", text)


def identifier(name: str, dialect: str) -> str:
    """`name` as a quoted identifier of `dialect`; one holding a control character is refused."""
    from sqlglot import exp

    if UNSAFE.search(name):
        raise ParameterError(
            f"the name {flat(name)!r} holds a control character or line separator: apply.sql "
            "cannot quote it safely; rename the table or column in the catalog"
        )
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def schema_of(ds: Dataset, dialect: str) -> str:
    """For PostgreSQL, the schema the catalog's URI names (`.../db/schema`), else ''."""
    from urllib.parse import unquote, urlsplit

    from govlib import databases

    if dialect != "postgres":
        return ""
    return unquote(urlsplit(databases.uri_of(ds)).path.lstrip("/").partition("/")[2])


def table_name(ds: Dataset, dialect: str) -> str:
    """The source table, quoted (`schema.table` as two identifiers).

    A PostgreSQL table is qualified with the URI's schema (the one govlib read it from), so the
    script changes that table whatever search_path it runs with.
    """
    parts = (ds.source.table or "").split(".")
    schema = schema_of(ds, dialect)
    if len(parts) == 1 and schema:
        parts.insert(0, schema)
    return ".".join(identifier(part, dialect) for part in parts)


def _quoted(text: str, dialect: str) -> str:
    r"""A string without control characters as a literal.

    In PostgreSQL one holding a backslash is an escape string (`E'a\\b'`): it reads the same
    whatever standard_conforming_strings is.
    """
    from sqlglot import exp

    if dialect == "postgres" and "\\" in text:
        return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    return exp.Literal.string(text).sql(dialect=dialect)


def _code_points(run: str, dialect: str) -> list[str]:
    if dialect == "sqlite":  # char() takes up to 127 arguments
        return [
            f"char({', '.join(str(ord(c)) for c in run[i : i + 100])})"
            for i in range(0, len(run), 100)
        ]
    return [f"chr({ord(c)})" for c in run]


def string(text: str, dialect: str) -> str:
    r"""`text` as a string expression of `dialect` holding no raw control character.

    >>> string("a\nb", "postgres")
    "('a' || chr(10) || 'b')"
    """
    if dialect == "postgres" and "\x00" in text:
        raise ParameterError(
            "a key or new value holds a NUL character, which PostgreSQL text cannot store: "
            "apply.sql cannot write it; remove it from the data or the rule that produces it"
        )
    if not UNSAFE.search(text):
        return _quoted(text, dialect)
    pieces, start = [], 0
    for run in UNSAFE.finditer(text):
        if run.start() > start:
            pieces.append(_quoted(text[start : run.start()], dialect))
        pieces += _code_points(run.group(), dialect)
        start = run.end()
    if start < len(text):
        pieces.append(_quoted(text[start:], dialect))
    return "(" + " || ".join(pieces) + ")"


def literal(value: object, dialect: str) -> str:
    """`value` as a SQL literal of `dialect`, quoted by sqlglot.

    >>> literal(datetime(2025, 1, 31, 8, 5), "sqlite")
    "'2025-01-31 08:05:00.000000'"
    >>> literal(None, "duckdb"), literal(True, "postgres"), literal(2.5, "sqlite")
    ('NULL', 'TRUE', '2.5')
    """
    from sqlglot import exp

    if isinstance(value, str):
        return string(value, dialect)
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")
    elif isinstance(value, date | time):
        text = value.isoformat()
    elif isinstance(value, float) and not math.isfinite(value):
        if dialect == "sqlite":
            return "NULL"  # SQLite stores no NaN or infinity: it reads them as NULL
        return exp.cast(exp.Literal.string(str(value)), "DOUBLE").sql(dialect=dialect)
    elif value is None or isinstance(value, bool | int | float):
        return exp.convert(value).sql(dialect=dialect)
    else:
        raise ExecutionError(f"apply.sql cannot write a value of type {type(value).__name__}")
    return string(text, dialect)


def _values(frame: pl.DataFrame, dialect: str) -> Iterator[str]:
    for start in range(0, frame.height, ROWS_PER_INSERT):
        chunk = frame.slice(start, ROWS_PER_INSERT)
        rows = (
            "  (" + ", ".join(literal(v, dialect) for v in row) + ")" for row in chunk.iter_rows()
        )
        yield ",\n".join(rows)


def _fill(ds: Dataset, temp: str, frame: pl.DataFrame, dialect: str) -> list[str]:
    """A temporary table shaped like the source's columns, filled with `frame`'s rows."""
    names = ", ".join(identifier(c, dialect) for c in frame.columns)
    lines = [
        f"CREATE TEMP TABLE {temp} AS SELECT {names} FROM {table_name(ds, dialect)} WHERE 1 = 0;"
    ]
    lines += [f"INSERT INTO {temp} ({names}) VALUES\n{rows};" for rows in _values(frame, dialect)]
    return lines


def _match(ds: Dataset, temp: str, target: str, dialect: str) -> str:
    """The key columns of `temp` equal to those of `target`.

    SQLite stores a date-time as text in any of several forms (`2020-01-01 10:00:00`,
    `2020-01-01T10:00:00.5`, ...): its date and date-time keys are compared by value
    (`julianday`, to the millisecond), not as the text govlib writes.
    """
    types = ds.schema()
    terms = []
    for key in ds.primary_key:
        left, right = f"{temp}.{identifier(key, dialect)}", f"{target}.{identifier(key, dialect)}"
        if dialect == "sqlite" and types.get(key) in ("date", "datetime"):
            left, right = f"julianday({left})", f"julianday({right})"
        terms.append(f"{left} = {right}")
    return " AND ".join(terms)


def _count(step: str, expected: int, table: str, condition: str, dialect: str) -> str:
    """A row of the check table: the rows of `table` meeting `condition` must be `expected`."""
    check = identifier(CHECK_TABLE, dialect)
    return (
        f"INSERT INTO {check} (step, expected, found) SELECT {literal(step, dialect)}, "
        f"{expected}, count(*) FROM {table} WHERE {condition};"
    )


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of the script, with the key table it reads and the counts around it."""

    dataset: str
    column: str | None  # the column an UPDATE sets; None for the DELETE
    keys: str  # the temporary table of its keys (and new values)
    head: str  # the comment naming it
    fill: list[str]  # the temporary key table, created and filled
    before: str  # the rows it addresses, counted
    change: str  # the UPDATE or DELETE
    after: str  # its result, counted

    @property
    def drop(self) -> str:
        """The key table dropped."""
        return f"DROP TABLE {self.keys};"

    def lines(self) -> list[str]:
        """The step as one block, for a script of one transaction."""
        return [self.head, *self.fill, self.before, self.change, self.after, self.drop]


def _update(ds: Dataset, column: str, rows: pl.DataFrame, temp: str, dialect: str) -> Step:
    """Count the rows to update, update them, count those holding their new value."""
    table = table_name(ds, dialect)
    short = identifier((ds.source.table or "").split(".")[-1], dialect)
    col = identifier(column, dialect)
    match = _match(ds, temp, short, dialect)
    same = "IS" if dialect == "sqlite" else "IS NOT DISTINCT FROM"
    step = f"{ds.name}.{column}"
    return Step(
        ds.name,
        column,
        temp,
        f"-- {flat(step)}: new values for {rows.height} row(s)",
        _fill(ds, temp, rows, dialect),
        _count(f"{step}: rows to update", rows.height, table,
               f"EXISTS (SELECT 1 FROM {temp} WHERE {match})", dialect),
        f"UPDATE {table} SET {col} = {temp}.{col} FROM {temp} WHERE {match};",
        _count(f"{step}: rows holding their new value", rows.height, table,
               f"EXISTS (SELECT 1 FROM {temp} WHERE {match} AND {short}.{col} {same} {temp}.{col})",
               dialect),
    )  # fmt: skip


def _delete(ds: Dataset, keys: pl.DataFrame, temp: str, dialect: str) -> Step:
    """Count the rows to delete, delete them, check none is left."""
    table = table_name(ds, dialect)
    short = identifier((ds.source.table or "").split(".")[-1], dialect)
    found = f"EXISTS (SELECT 1 FROM {temp} WHERE {_match(ds, temp, short, dialect)})"
    return Step(
        ds.name,
        None,
        temp,
        f"-- {flat(ds.name)}: {keys.height} row(s) deleted",
        _fill(ds, temp, keys, dialect),
        _count(f"{ds.name}: rows to delete", keys.height, table, found, dialect),
        f"DELETE FROM {table} WHERE {found};",
        _count(f"{ds.name}: deleted rows left", 0, table, found, dialect),
    )


def statements(ds: Dataset, change: TableChange, dialect: str, number: Iterator[int]) -> list[Step]:
    """The UPDATE statements, then the DELETE statement, of one table, with their key tables."""
    steps: list[Step] = []
    for column, rows in change.updates.items():
        temp = identifier(f"govlib_update_{next(number)}", dialect)
        steps.append(_update(ds, column, rows, temp, dialect))
    if change.deleted.height:
        temp = identifier(f"govlib_delete_{next(number)}", dialect)
        steps.append(_delete(ds, change.deleted, temp, dialect))
    return steps


def order(
    catalog: Catalog, names: Iterable[str], links: Iterable[tuple[str, str]] = ()
) -> list[str]:
    """`names` with every dataset before the ones it points at (children's rows go first).

    A dataset points at another by a relationship of the catalog, or by a `(child, parent)`
    pair of `links` (the database's own foreign keys).
    """
    remaining = sorted(names)
    targets = {n: {rel.target[0] for rel in catalog.dataset(n).relationships} for n in remaining}
    for child, parent in links:
        if child in targets:
            targets[child].add(parent)
    done: list[str] = []
    while remaining:
        for name in remaining:
            pointing = [other for other in remaining if other != name and name in targets[other]]
            if not pointing:
                break
        else:  # a cycle: keep the catalog's order for the rest
            name = remaining[0]
        remaining.remove(name)
        done.append(name)
    return done


def _schema_note(ds: Dataset, dialect: str) -> list[str]:
    """For PostgreSQL, the schema the catalog's URI names, if any."""
    schema = schema_of(ds, dialect)
    if not schema:
        return []
    return [f"-- Schema: {flat(schema)} (every table below is qualified with it)"]


def _session(dialect: str) -> tuple[list[str], list[str]]:
    """Settings before BEGIN and at its start: how the text below reads, in every session."""
    if dialect == "postgres":
        return [
            "SET client_encoding TO 'UTF8';  -- the file is UTF-8",
            "SET standard_conforming_strings TO on;  -- a backslash in '...' is a backslash",
        ], ["SET LOCAL TIME ZONE 'UTC';  -- date-times below are UTC"]
    if dialect == "duckdb":
        return ["SET TimeZone = 'UTC';  -- date-times below are UTC"], []
    return [], []


def script(catalog: Catalog, changes: list[TableChange], *, title: str) -> str:
    """One transaction: every table's updates, then its deletes, children before parents.

    Each statement is bracketed by counts into a temporary table whose CHECK fails the script
    (and so the transaction) when a statement would change other rows than planned.
    """
    from govlib import databases

    by_name = {c.dataset: c for c in changes}
    first = catalog.dataset(changes[0].dataset)
    dialect = dialect_of(first)
    keys = _DuckDBKeys.read(catalog, first) if dialect == "duckdb" else None
    names = order(catalog, by_name, keys.pairs() if keys else ())
    number = iter(range(1, 1_000_000))
    steps = [
        step for name in names for step in statements(catalog.dataset(name), by_name[name],
                                                      dialect, number)
    ]  # fmt: skip
    checks = keys.checks(steps) if keys else []
    phased = bool(checks)
    header = [
        f"govlib apply.sql: {title}",
        f"Database: {databases.location(first.source).rsplit(' table ', 1)[0]}",
        *(by_name[name].describe() for name in names),
        f"Review it, then run it as the data owner: {HOW_TO_RUN.get(dialect, dialect)}.",
        *(PHASED if phased else ONE_TRANSACTION),
        "Restricted: it holds key values and new values of people; delete it once run.",
    ]
    before, start = _session(dialect)
    check = identifier(CHECK_TABLE, dialect)
    create = (
        f"CREATE TEMP TABLE {check} (step TEXT, expected BIGINT, found BIGINT, "
        "CONSTRAINT govlib_rows_as_planned CHECK (found = expected));"
    )
    if not phased:
        body = [*before, "BEGIN;", *start, create]
        body += [line for step in steps for line in step.lines()]
        body += [f"DROP TABLE {check};", "COMMIT;"]
    else:
        body = [*before, "BEGIN;", *start, create, "-- every statement's rows, before any change"]
        body += [line for step in steps for line in (step.head, *step.fill, step.before)]
        body += checks
        body.append("COMMIT;")
        for name in names:
            body += [f"-- {flat(name)}", "BEGIN;", *start]
            body += [line for step in steps if step.dataset == name
                     for line in (step.change, step.after, step.drop)]  # fmt: skip
            body.append("COMMIT;")
        body.append(f"DROP TABLE {check};")
    lines = [f"-- {flat(line)}" for line in header]
    lines[2:2] = _schema_note(first, dialect)
    text = "\n".join(lines + body) + "\n"
    if phased:
        rehearse(first, text)
    return text


def _what(query: str) -> str:
    """A statement named without any value: a count's step, or a change's table."""
    found = re.search(rf"INSERT INTO \"{CHECK_TABLE}\" .*? SELECT ('(?:[^']|'')*')", query)
    if found:
        return "the count " + flat(found.group(1))
    change = re.match(r"\s*((?:DELETE FROM|UPDATE) (?:\"(?:[^\"]|\"\")*\"\.?)+)", query)
    return flat(change.group(1)) if change else query.strip().split(" ", 1)[0]


def rehearse(ds: Dataset, text: str) -> None:
    """Run a script of several transactions on a copy of its DuckDB file; refuse it if it fails.

    Such a script cannot undo a transaction it has committed, and DuckDB refuses more than its
    counts foresee (a NOT NULL column, a view, a row of a table deleted with the rows pointing
    at it). Run on today's data, it either turns the copy into the new copy or is refused
    (exit 2) with the number and kind of the statement that failed, never a value.
    """
    import shutil
    import tempfile
    from pathlib import Path

    import duckdb

    from govlib import databases

    source = databases.database_file(ds, databases.uri_of(ds))
    with tempfile.TemporaryDirectory(prefix="govlib-rehearsal-") as folder:
        copy = Path(folder) / source.name
        shutil.copyfile(source, copy)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
        con = duckdb.connect(str(copy))
        try:
            committed = False
            for number, statement in enumerate(con.extract_statements(text), start=1):
                try:
                    con.execute(statement)
                except duckdb.Error as exc:
                    where = "after committing part of it" if committed else "before any change"
                    raise ParameterError(
                        f"dataset {ds.name!r}: apply.sql fails on a copy of its DuckDB file at "
                        f"statement {number} ({_what(statement.query)}: {type(exc).__name__}), "
                        f"{where}, so it is not written: make the change in the database "
                        "itself, or change the catalog (see the README's DuckDB notes)"
                    ) from None
                committed = committed or statement.query.strip().upper() == "COMMIT;"
        finally:
            con.close()


ONE_TRANSACTION = (
    "One transaction: a failing statement leaves every table as it was; so does a statement",
    f"that would change other rows than planned (counted into {CHECK_TABLE}).",
)
PHASED = (
    "DuckDB checks a foreign key against rows deleted earlier in the same transaction, and",
    "updates a column of a key or an index as a delete and an insert, so this",
    "script changes one table per transaction, the rows pointing at others first. A first",
    "transaction counts the rows of every statement (into " + CHECK_TABLE + ") and every row",
    "a foreign key would leave pointing at a row deleted or re-keyed, and changes nothing: when",
    "any count differs from the plan, the script stops there and every table stays as it was.",
)


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A FOREIGN KEY of a DuckDB file: `table(columns)` references `parent(referenced)`.

    Tables are `(schema, table)`, lower-cased as DuckDB matches them; a key references a table
    of its own schema.
    """

    table: tuple[str, str]
    columns: list[str]
    parent: tuple[str, str]
    referenced: list[str]


def _table_of(ds: Dataset) -> tuple[str, str]:
    schema, _, table = (ds.source.table or "").rpartition(".")
    return (schema or "main").lower(), table.lower()


@dataclass(frozen=True, slots=True)
class _DuckDBKeys:
    """The foreign keys and unique indexes of a DuckDB file, with the catalog's datasets on it.

    DuckDB checks a foreign key against rows deleted earlier in the same transaction, and runs
    an UPDATE of a column in a key or an index as a delete and an insert: while another row
    points at the row, both fail (its documented over-eager constraint checking). An index on
    an expression counts every word of it as a column (more checks, never fewer).
    """

    catalog: Catalog
    links: list[ForeignKey]
    indexed: dict[tuple[str, str], set[str]]  # table -> columns of its keys and indexes
    datasets: dict[tuple[str, str], str]  # table -> the catalog's dataset reading it

    @classmethod
    def read(cls, catalog: Catalog, ds: Dataset) -> _DuckDBKeys:
        from govlib import databases

        con = databases.connect(ds)
        try:
            found = con.con.sql(
                "SELECT schema_name, table_name, constraint_type, constraint_column_names, "
                "referenced_table, referenced_column_names FROM duckdb_constraints() "
                "WHERE constraint_type IN ('FOREIGN KEY', 'PRIMARY KEY', 'UNIQUE') ORDER BY ALL"
            ).fetchall()
            indexes = con.con.sql(
                "SELECT schema_name, table_name, expressions FROM duckdb_indexes() ORDER BY ALL"
            ).fetchall()
        finally:
            con.disconnect()
        links: list[ForeignKey] = []
        indexed: dict[tuple[str, str], set[str]] = {}
        for schema, table, kind, columns, parent, referenced in found:
            at = (schema.lower(), table.lower())
            if kind == "FOREIGN KEY":
                links.append(ForeignKey(at, list(columns), (at[0], parent.lower()),
                                        list(referenced)))  # fmt: skip
            else:
                indexed.setdefault(at, set()).update(c.lower() for c in columns)
        for schema, table, expressions in indexes:  # `[email]`, `['"name"', lower(x)]`
            words = re.findall(r'"((?:[^"]|"")*)"|(\w+)', expressions or "")
            named = {(quoted.replace('""', '"') or bare).lower() for quoted, bare in words}
            indexed.setdefault((schema.lower(), table.lower()), set()).update(named)
        uri = databases.uri_of(ds)
        datasets = {
            _table_of(catalog.dataset(n)): n
            for n in catalog.names()
            if catalog.dataset(n).source.is_database and databases.uri_of(catalog.dataset(n)) == uri
        }
        return cls(catalog, links, indexed, datasets)

    def pairs(self) -> list[tuple[str, str]]:
        """(child, parent) datasets of each foreign key between two datasets of the catalog."""
        return [
            (self.datasets[link.table], self.datasets[link.parent])
            for link in self.links
            if link.table in self.datasets and link.parent in self.datasets
        ]

    def checks(self, steps: list[Step]) -> list[str]:
        """Per foreign key into a row the script deletes or re-keys, the rows still pointing.

        Counted before any change, each must be 0: rows the script deletes, or re-points, are
        not counted. Empty when no step touches a row a foreign key may point at: the script
        is then one transaction.
        """
        lines = []
        for link in self.links:
            parent = self.datasets.get(link.parent)
            gone = [
                step for step in steps if step.dataset == parent and (
                    step.column is None or step.column.lower() in self.indexed.get(link.parent, ())
                )
            ]  # fmt: skip
            if gone:
                lines.append(self._pointing(link, gone, steps))
        return lines

    def _pointing(self, link: ForeignKey, gone: list[Step], steps: list[Step]) -> str:
        dialect = "duckdb"
        parent = self.catalog.dataset(self.datasets[link.parent])
        child_name = self.datasets.get(link.table)
        parent_alias, child = (
            identifier("govlib_parent", dialect),
            identifier("govlib_child", dialect),
        )
        joined = " AND ".join(
            f"{parent_alias}.{identifier(r, dialect)} = {child}.{identifier(c, dialect)}"
            for c, r in zip(link.columns, link.referenced, strict=True)
        )
        touched = " OR ".join(
            f"EXISTS (SELECT 1 FROM {s.keys} WHERE {_match(parent, s.keys, parent_alias, dialect)})"
            for s in gone
        )
        condition = (
            f"EXISTS (SELECT 1 FROM {table_name(parent, dialect)} AS {parent_alias} "
            f"WHERE {joined} AND ({touched}))"
        )
        if child_name is not None:  # not the rows the script deletes or re-points itself
            ds = self.catalog.dataset(child_name)
            for s in steps:
                if s.dataset == child_name and (
                    s.column is None or s.column.lower() in {c.lower() for c in link.columns}
                ):
                    condition += (
                        f" AND NOT EXISTS (SELECT 1 FROM {s.keys} WHERE "
                        f"{_match(ds, s.keys, child, dialect)})"
                    )
            table = table_name(ds, dialect)
        else:
            table = ".".join(identifier(part, dialect) for part in link.table)
        step = f"{'.'.join(link.table)}: rows left pointing at rows {parent.name} loses or re-keys"
        return _count(step, 0, f"{table} AS {child}", condition, dialect)


def scripts(
    catalog: Catalog,
    before: dict[str, pl.DataFrame],
    after: dict[str, pl.DataFrame],
    *,
    title: str,
) -> dict[str, str]:
    """File name -> script, for the database datasets of `after` that the copy changes.

    One script per database (`apply.sql`; `apply-<dataset>.sql` each when the copy changes
    datasets of several databases). Empty when no database dataset changes.
    """
    from govlib import databases

    names = [
        n for n in after if catalog.dataset(n).source.is_database and not after[n].equals(before[n])
    ]
    check(catalog, names)  # a table the copy leaves as it is need not be keyed
    groups: dict[str, list[TableChange]] = {}
    for name in names:
        change = diff(catalog.dataset(name), before[name], after[name])
        if not change.empty:
            groups.setdefault(databases.uri_of(catalog.dataset(name)), []).append(change)
    if len(groups) == 1:
        return {FILE_NAME: script(catalog, next(iter(groups.values())), title=title)}
    return {
        f"apply-{changes[0].dataset}.sql": script(catalog, changes, title=title)
        for changes in groups.values()
    }


def file_names(catalog: Catalog) -> list[str]:
    """Every name an apply script may get in `--out` (checked before any work)."""
    return [FILE_NAME, *(f"apply-{name}.sql" for name in catalog.names())]
