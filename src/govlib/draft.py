"""Draft catalog entries from data files or database tables, for a person to review and complete.

One entry per file (CSV, TSV, Parquet, NDJSON, gzip-compressed text): every column with its
inferred type and datetime format, the PII kind detected on a bounded sample with the evidence
as a comment (shares and counts, never a value), primary-key candidates, relationships between
the drafted files whose names match and whose values are contained, and `TODO` for what only a
person can say: owner, steward, purpose, lawful basis and data subjects.

A database (`draft_database`, `govlib catalog draft URI`) gives one entry per table from what it
declares (`govlib.dbschema`): column types, the primary key, foreign keys as relationships, and
PII detected on a bounded sample; the password of a URI is never written.

The catalog file is created, or the new entries are appended under `datasets:` as text, so
nothing a person wrote (comments, order, quoting) changes. A name that exists is refused.

Example (what `govlib catalog draft exports/customers.csv` does)::

    d = draft_catalog(["exports/customers.csv"], catalog_path="catalog.yaml")
    write(d)
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import polars as pl
import yaml

from govlib import catalog as catalog_mod
from govlib import databases, dbschema, profiling, sources
from govlib.catalog import IDENTIFIER, TODO, Catalog, ColumnType, Dataset, name_problem
from govlib.errors import CatalogError, GovlibError, SourceError, printable

SAMPLE_ROWS = 2_000  # rows sampled (systematically) for PII detection
_ID_LIKE = re.compile(
    r"(?i:^(?:id|key|uuid|guid)$)|(?i:[_ .-](?:id|key|uuid|guid|code)$)|[a-z0-9](?:ID|Id|Key|UUID)$"
)
_BARE_KEYS = frozenset(["id", "key", "uuid", "guid", "code"])
_HEADER = "# Drafted by `govlib catalog draft`: review every entry, then replace each TODO.\n"


@dataclass(frozen=True, slots=True)
class DraftColumn:
    """One drafted column: its type and format, and what detection found (no values)."""

    name: str
    type: ColumnType
    format: str | None = None
    pii: str | None = None
    evidence: str = ""  # e.g. "email, 98% of 2,000 sampled values"
    note: str = ""
    category: str | None = None  # proposed by the column's name when no PII kind is detected


@dataclass(frozen=True, slots=True)
class DraftEntry:
    """One drafted dataset, as written to the catalog."""

    dataset: str
    path: str  # source.path, relative to the data root
    format: str
    rows: int
    sampled_rows: int
    null_values: list[str]
    delimiter: str
    columns: list[DraftColumn]
    key_candidates: list[str]  # never null, unique, text or integer
    primary_key: list[str]
    relationships: list[dict[str, str]] = field(default_factory=list)  # column, references
    # A database table's entry: its source ({uri or uri_env, table}), what it was drafted
    # from (no password), whether the primary key is the declared one, and notes for a person
    source: dict[str, str] = field(default_factory=dict)
    origin: str = ""
    declared_key: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """The entry as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Draft:
    """The drafted catalog: the whole file's new text and the entries it adds."""

    catalog_path: str
    text: str
    entries: list[DraftEntry]
    created: bool  # True: a new file; False: entries appended to an existing one
    skipped: list[str] = field(default_factory=list)  # tables the catalog holds already
    export: str | None = None  # an environment variable to export the URI in (see draft_database)


def dataset_name(path: str | Path) -> str:
    """An identifier for a file's dataset: its stem, lower-cased, other characters as `_`.

    >>> dataset_name("exports/La-Riots 1992.csv.gz")
    'la_riots_1992'
    """
    name = Path(path).name
    name = name[: -len(".gz")] if name.lower().endswith(".gz") else name
    stem = Path(name).stem if Path(name).suffix else name
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    clean = re.sub(r"[^A-Za-z0-9_]+", "_", ascii_stem).strip("_").lower() or "dataset"
    return clean if IDENTIFIER.fullmatch(clean) else f"d_{clean}"


def draft_catalog(
    paths: Sequence[str | Path],
    *,
    catalog_path: str | Path = catalog_mod.DEFAULT_CATALOG,
    as_of: date | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> Draft:
    """Draft one catalog entry per file; append them to `catalog_path`'s text, or start it.

    Each file is read once (text formats whole, as the loader checks them; Parquet lazily);
    PII detection sees a systematic sample of at most `sample_rows` rows; key candidates and
    relationship containment are aggregates over every row. Nothing is written: see `write`.
    """
    catalog_path = Path(catalog_path)
    if not paths:
        raise GovlibError("give at least one data file to draft a catalog from")
    existing = catalog_mod.load(catalog_path) if catalog_path.exists() else None
    files = [_checked_file(p) for p in paths]
    data_dir = existing.data_dir if existing is not None else _common_dir(files, catalog_path)
    names = _names(files, existing)
    day = as_of or date.today()
    loaded = {n: _load(f) for n, f in zip(names, files, strict=True)}
    for file, lo in zip(files, loaded.values(), strict=True):
        _check_key_lengths(file, lo.report.columns)
    entries = [
        _entry(name, file, loaded[name], data_dir, day, sample_rows)
        for name, file in zip(names, files, strict=True)
    ]
    entries = _with_relationships(entries, {n: lo.frame for n, lo in loaded.items()})
    if existing is None:
        text = _new_text(catalog_path, data_dir, entries)
    else:
        text = _append(catalog_path, entries)
    return Draft(str(catalog_path), text, entries, existing is None)


def _new_text(catalog_path: Path, data_dir: Path, entries: list[DraftEntry]) -> str:
    """The text of a new catalog holding `entries`, its data root `data_dir`."""
    root = os.path.relpath(data_dir, catalog_path.resolve().parent)
    text = _HEADER + "version: 1\n"
    text += f"data_root: {_scalar(Path(root).as_posix())}\n" if root != "." else ""
    return text + "datasets:\n" + "".join(_entry_text(e, "  ") for e in entries)


def write(draft: Draft) -> Path:
    """Write the drafted catalog, only once the new text loads as a catalog.

    The text goes to a temporary file beside the catalog, is loaded with `catalog.load` (TODO
    values allowed), and then replaces the catalog in one step.
    """
    target = Path(draft.catalog_path)
    if not target.parent.is_dir():
        raise GovlibError(f"{target.parent}: no such folder for the catalog; create it first")
    temp = target.with_name(f".{target.name}.draft-{os.getpid()}")
    try:
        temp.write_text(draft.text, encoding="utf-8")
        if target.exists():
            import shutil

            shutil.copymode(target, temp)
        try:
            catalog_mod.load(temp)
        except CatalogError as exc:
            raise CatalogError(
                target, [f"the drafted catalog would not load, nothing was written: {p}"
                         for p in exc.problems]
            ) from None  # fmt: skip
        temp.replace(target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def load_incomplete(path: str | Path) -> tuple[Catalog, list[tuple[str, str]]]:
    """Load a catalog and list its (dataset, key) pairs still set to TODO."""
    cat = catalog_mod.load(path)
    return cat, cat.incomplete()


# -- files and names -------------------------------------------------------------------------


def _checked_file(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise SourceError(p, "file not found", "Check the path")
    if not p.is_file():
        raise SourceError(p, "not a regular file", "Give a data file, not a folder")
    return p.resolve()


def _common_dir(files: list[Path], catalog_path: Path) -> Path:
    """The data root of a new catalog: its own folder, or the files' common folder."""
    home = catalog_path.resolve().parent
    if all(f.is_relative_to(home) for f in files):
        return home
    return Path(os.path.commonpath([str(f.parent) for f in files]))


def _names(files: list[Path], existing: Catalog | None) -> list[str]:
    taken = set(existing.names()) if existing is not None else set()
    names: list[str] = []
    for f in files:
        name = dataset_name(f)
        if name in taken:
            where = "the catalog already declares" if name not in names else "two files give"
            raise GovlibError(
                f"{f}: {where} a dataset called {name!r}; rename the file or remove the "
                "dataset from the catalog first"
            )
        taken.add(name)
        names.append(name)
    return names


def _load(path: Path) -> sources.Loaded:
    return sources.load(path, data_root=path.parent)


# -- one entry -------------------------------------------------------------------------------


def _entry(
    name: str, path: Path, loaded: sources.Loaded, data_dir: Path, day: date, sample_rows: int
) -> DraftEntry:
    if not path.is_relative_to(data_dir):
        raise SourceError(
            path,
            f"is outside the catalog's data root {data_dir}",
            "Move the file below the data root, or draft into a new catalog",
        )
    lf, report = loaded.frame, loaded.report
    schema = lf.collect_schema()
    for position, dtype in enumerate(schema.values(), start=1):
        if sources.type_of(dtype) is None:
            raise SourceError(
                path,
                f"column {position} holds {dtype} values, which govlib does not read",
                "Export flat columns: join lists into text, drop binary columns",
            )
    rows = report.rows
    step = max(1, -(-rows // sample_rows)) if rows else 1
    sample = lf.gather_every(step).head(sample_rows).collect()
    found = profiling.profile(sample.lazy(), dataset=name, as_of=day)
    findings = {f.column: f for f in found.pii}
    columns = [
        _column(c, dtype, sample, findings.get(c), report.inferred.get(c))
        for c, dtype in schema.items()
    ]
    candidates = _key_candidates(lf, columns, rows)
    tokens = sorted({t for i in report.inferred.values() for t in i.sentinels})
    ids = [c for c in candidates if _ID_LIKE.search(c)]
    return DraftEntry(
        dataset=name,
        path=path.relative_to(data_dir).as_posix(),
        format=report.format,
        rows=rows,
        sampled_rows=sample.height,
        null_values=["", *tokens],
        delimiter="\t" if ".tsv" in [s.lower() for s in path.suffixes] else ",",
        columns=columns,
        key_candidates=candidates,
        primary_key=ids[:1],
    )


def _column(
    name: str,
    dtype: pl.DataType,
    sample: pl.DataFrame,
    finding: object,
    inferred: sources.Inferred | None,
) -> DraftColumn:
    kind = sources.type_of(dtype) or "string"
    fmt = inferred.format if inferred is not None else None
    note = inferred.note if inferred is not None else ""
    if finding is None:
        return DraftColumn(name, kind, fmt, note=note, category=category_by_name(name))
    values = sample[name].drop_nulls()
    if values.dtype == pl.String:
        values = values.str.strip_chars().filter(values.str.strip_chars() != "")
    pii_kind, share = finding.kind, finding.share  # type: ignore[attr-defined]
    if share > 0:
        evidence = f"{pii_kind}, {share:.0%} of {values.len():,} sampled values"
    else:
        evidence = f"{pii_kind} ({printable(finding.evidence)})"  # type: ignore[attr-defined]
    if finding.embedded:  # type: ignore[attr-defined]
        counts = ", ".join(f"{k} in {n:,}" for k, n in sorted(finding.embedded.items()))  # type: ignore[attr-defined]
        evidence += f"; rows holding {counts}"
    return DraftColumn(name, kind, fmt, pii_kind, evidence, note)


# Words of a column's name that make it personal though no PII kind is detected in its values:
# where a person lives or is, and who they are (quasi-identifiers); special-category data
# (GDPR article 9: sensitive).
QUASI_WORDS = frozenset((
    "address", "addr", "street", "city", "town", "dest", "destination", "residence",
    "location", "geo", "lat", "latitude", "lon", "lng", "longitude", "coordinates", "gender",
    "sex", "age",
))  # fmt: skip
SENSITIVE_WORDS = frozenset((
    "race", "racial", "ethnic", "ethnicity", "religion", "religious", "belief", "health",
    "medical", "diagnosis", "disability", "sexuality", "orientation", "political", "union",
    "biometric", "genetic",
))  # fmt: skip


def category_by_name(name: str) -> str | None:
    """The category a column's name suggests, if any.

    >>> category_by_name("home.dest"), category_by_name("ethnicGroup"), category_by_name("page")
    ('quasi_identifier', 'sensitive', None)
    >>> category_by_name("BillingCity"), category_by_name("home_page")
    ('quasi_identifier', None)
    """
    spaced = re.sub(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", name)  # camelCase
    words = set(re.split(r"[^a-z0-9]+", spaced.lower()))
    if words & SENSITIVE_WORDS:
        return "sensitive"
    if words & QUASI_WORDS:
        return "quasi_identifier"
    return None


def _key_candidates(lf: pl.LazyFrame, columns: list[DraftColumn], rows: int) -> list[str]:
    """Text or integer columns that are never null and unique over every row."""
    eligible = [c.name for c in columns if c.type in ("int64", "string")]
    if not eligible or rows < 2:
        return []
    stats = lf.select(
        *(pl.col(c).null_count().alias(f"n{i}") for i, c in enumerate(eligible)),
        *(pl.col(c).n_unique().alias(f"u{i}") for i, c in enumerate(eligible)),
    ).collect()
    row = stats.row(0, named=True)
    return [c for i, c in enumerate(eligible) if row[f"n{i}"] == 0 and row[f"u{i}"] == rows]


# -- relationships ---------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(name: str) -> str:
    if name == "people":
        return "person"
    if name.endswith("ies"):
        return name[:-3] + "y"
    return name[:-1] if name.endswith("s") else name


def _names_match(column: str, target: str, key: str) -> bool:
    """`customer_id` matches customers.customer_id, customers.id and customer.id."""
    nc, nk, nt = _norm(column), _norm(key), _norm(target)
    if not _ID_LIKE.search(column):
        return False
    if nc == nk:
        return nc not in _BARE_KEYS
    return nk in _BARE_KEYS and nc in (nt + nk, _singular(nt) + nk)


def _with_relationships(
    entries: list[DraftEntry], frames: dict[str, pl.LazyFrame]
) -> list[DraftEntry]:
    """Add a relationship where names match and every value is found in the other file's key."""
    order = {e.dataset: i for i, e in enumerate(entries)}
    out = []
    for entry in entries:
        types = {c.name: c.type for c in entry.columns}
        rels = []
        for column in types:
            for other in entries:
                if other is entry or "." in column:
                    continue
                for key in other.key_candidates:
                    if "." in key or not _names_match(column, other.dataset, key):
                        continue
                    if types[column] != {c.name: c.type for c in other.columns}[key]:
                        continue
                    mutual = column in entry.key_candidates and _norm(column) == _norm(key)
                    if mutual and order[entry.dataset] < order[other.dataset]:
                        continue  # one direction for two unique columns of one name
                    if _contained(frames[entry.dataset], column, frames[other.dataset], key):
                        rels.append({"column": column, "references": f"{other.dataset}.{key}"})
        out.append(_replace(entry, relationships=rels))
    return out


def _replace(entry: DraftEntry, **changes: object) -> DraftEntry:
    from dataclasses import replace

    return replace(entry, **changes)  # type: ignore[arg-type]


def _contained(lf: pl.LazyFrame, column: str, target: pl.LazyFrame, key: str) -> bool:
    """True when `column` has values and each is found in `target`'s `key`."""
    values = lf.select(pl.col(column).alias("v")).drop_nulls().unique()
    keys = target.select(pl.col(key).alias("v")).unique()
    counts = pl.concat(
        [values.select(pl.len().alias("n")), values.join(keys, on="v", how="anti").select(
            pl.len().alias("n"))]
    ).collect()["n"].to_list()  # fmt: skip
    return counts[0] > 0 and counts[1] == 0


# -- database tables -------------------------------------------------------------------------

DATABASE_SCHEMES = ("postgresql", "postgres", "sqlite", "duckdb")
_READ_ENV = "GOVLIB_DRAFT_READ_URL"  # holds the URI while a draft reads it; never written out
_PROBE = "catalog_draft"
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def is_uri(text: str) -> bool:
    """True when `text` is a URI (`scheme://...`) rather than a file path.

    >>> is_uri("postgresql://crm@db/crm"), is_uri("exports/customers.csv")
    (True, False)
    """
    return bool(_URI.match(text))


@dataclass(frozen=True, slots=True)
class _Source:
    """Where drafted tables are read from, and what the catalog is told about it."""

    read_uri: str  # may hold a password: only an environment variable of this process holds it
    written: dict[str, str]  # the catalog's {uri: ...} or {uri_env: ...}
    shown: str  # `$NAME` or a URI without its password
    data_dir: Path
    export: str | None = None  # the variable to export the URI in (a password was typed)


@dataclass(frozen=True, slots=True)
class _Found:
    """A table as the database declares it, with counts run in the database."""

    table: dbschema.Table
    value: str  # the catalog's `table:`, `schema.table` outside the default schema
    targets: list[str]  # each foreign key's referenced table, as a `table:` value
    rows: int
    unique: list[str]  # never null and unique over every row (when no key is declared)


def draft_database(
    uri: str | None = None,
    *,
    uri_env: str | None = None,
    schema: str | None = None,
    tables: Sequence[str] | None = None,
    catalog_path: str | Path = catalog_mod.DEFAULT_CATALOG,
    as_of: date | None = None,
    sample_rows: int = SAMPLE_ROWS,
) -> Draft:
    """Draft one catalog entry per table of a database schema, from what the database declares.

    Give the URI (`postgresql://`, `sqlite:///file`, `duckdb:///file`; a file path is read from
    the working folder) or `uri_env`, an environment variable holding it (a file path then
    relative to the data root, as the catalog reads it). Column types, the primary key and the
    foreign keys (as relationships) come from the database's schema; PII kinds from detection on
    a bounded sample (`databases.sample`); the row count and, without a declared key, key
    candidates from counts run in the database. Views are drafted when named in `tables`. A
    table the catalog already reads from this source is skipped (`Draft.skipped`).

    No password reaches the catalog: a typed URI holding one is read, and the entry names an
    environment variable (`Draft.export`) to put the URI in instead.
    """
    catalog_path = Path(catalog_path)
    existing = catalog_mod.load(catalog_path) if catalog_path.exists() else None
    source = _database_source(uri, uri_env, existing, catalog_path)
    found, skipped = _introspect(source, schema, tables)
    named = _named(found, source, existing, skipped)
    specs = {name: _probe_spec(f) for name, f in named}
    day = as_of or date.today()
    entries = []
    if named:
        with _reading(source, specs) as probe:
            try:
                entries = [
                    _table_entry(probe.dataset(n), f, source, day, sample_rows) for n, f in named
                ]
            except databases.DatabaseError as exc:  # name the source as the person gave it
                raise GovlibError(str(exc).replace(f"${_READ_ENV}", source.shown)) from None
    entries = _with_foreign_keys(entries, [f for _, f in named], existing, source)
    if existing is None:
        text = _new_text(catalog_path, source.data_dir, entries)
    elif entries:
        text = _append(catalog_path, entries)
    else:
        text = catalog_path.read_text(encoding="utf-8")
    return Draft(str(catalog_path), text, entries, existing is None, skipped, source.export)


MAX_NAME = 1_000  # YAML reads a mapping key of at most 1,024 characters


def _check_key_lengths(file: Path, columns: list[str]) -> None:
    """Refuse a column name too long to be a catalog key, before drafting anything."""
    for position, name in enumerate(columns, start=1):
        if len(name) > MAX_NAME:
            raise SourceError(
                file,
                f"column {position}'s name has {len(name):,} characters; a catalog key holds "
                f"at most {MAX_NAME:,}",
                "Rename it in the export",
            )


def _database_source(
    uri: str | None, uri_env: str | None, existing: Catalog | None, catalog_path: Path
) -> _Source:
    if (uri is None) == (uri_env is None):
        raise GovlibError("give a database URI or --uri-env NAME (one of the two)")
    home = existing.data_dir if existing is not None else catalog_path.resolve().parent
    if uri_env is not None:
        if not IDENTIFIER.fullmatch(uri_env):
            raise GovlibError(
                f"--uri-env {printable(uri_env)!r} is not an environment variable name; give "
                "one such as GOVLIB_CRM_URL"
            )
        value = os.environ.get(uri_env, "").strip()
        if not value:
            raise GovlibError(
                f"environment variable {uri_env} is not set; export it with the database URI "
                "(e.g. postgresql://user:pw@host/db)"
            )
        if _check_scheme(value) in databases.FILE_SCHEMES:  # its file sets the data root
            found = _file_source(value, databases.scheme_of(value), existing, catalog_path)
            return _Source(value, {"uri_env": uri_env}, f"${uri_env}", found.data_dir)
        return _Source(value, {"uri_env": uri_env}, f"${uri_env}", home)
    scheme = _check_scheme(uri or "")
    if scheme in databases.FILE_SCHEMES:
        return _file_source(uri or "", scheme, existing, catalog_path)
    if databases.has_password(uri or ""):
        name = _env_name(uri or "")
        return _Source(uri or "", {"uri_env": name}, databases.redact(uri or ""), home, name)
    return _Source(uri or "", {"uri": uri or ""}, uri or "", home)


def _check_scheme(uri: str) -> str:
    try:
        scheme = databases.scheme_of(uri)
    except ValueError:
        scheme = ""
    if scheme not in DATABASE_SCHEMES:
        raise GovlibError(
            f"{databases.redact(uri)}: catalog draft reads postgresql://, sqlite:/// and "
            f"duckdb:/// URIs, not {printable(scheme or '(none)')}://; declare another database's "
            "tables by hand (see the README's Databases section)"
        )
    return scheme


def _file_source(uri: str, scheme: str, existing: Catalog | None, catalog_path: Path) -> _Source:
    """A SQLite or DuckDB file typed on the command line: read wherever it is, from here."""
    raw = unquote(urlsplit(uri).path)
    raw = raw[1:] if raw.startswith("/") else raw  # sqlite:///rel, sqlite:////abs
    if not raw or raw == ":memory:":
        raise GovlibError(
            f"{printable(uri)}: the URI names no database file; give {scheme}:///path/to/file"
        )
    file = Path(raw).expanduser()
    if not file.is_file():
        raise SourceError(file, "database file not found", "Check the path in the URI")
    file = file.resolve()
    data_dir = existing.data_dir if existing is not None else _common_dir([file], catalog_path)
    if not file.is_relative_to(data_dir):
        raise SourceError(
            file,
            f"is outside the catalog's data root {data_dir}",
            "Move the file below the data root, or draft into a new catalog",
        )
    written = f"{scheme}:///{file.relative_to(data_dir).as_posix()}"
    return _Source(f"{scheme}:///{file.as_posix()}", {"uri": written}, written, data_dir)


def _env_name(uri: str) -> str:
    """The environment variable a drafted entry reads a typed URI from: named by the database.

    >>> _env_name("postgresql://crm:pw@db.example/crm-eu")
    'GOVLIB_CRM_EU_URL'
    >>> _env_name("postgresql://dev:pw@localhost/govlib_dev"), _env_name("postgresql://a:b@h/govlib")
    ('GOVLIB_DEV_URL', 'GOVLIB_DATABASE_URL')
    """
    parts = urlsplit(uri)
    name = unquote(parts.path.lstrip("/").split("/", 1)[0]) or parts.hostname or ""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    stem = "" if stem == "GOVLIB" else stem.removeprefix("GOVLIB_")
    return f"GOVLIB_{stem}_URL" if stem else "GOVLIB_DATABASE_URL"


@contextmanager
def _reading(source: _Source, specs: dict[str, dict[str, Any]]) -> Iterator[Catalog]:
    """A catalog of `specs` (name -> table, columns, key) read from `source`, for this draft.

    The URI waits in an environment variable of this process while it is read, so no file
    holds it; without `specs` the catalog holds one dataset, to connect with.
    """
    datasets = specs or {_PROBE: {"source": {"table": "probe"}, "columns": {}}}
    todo = dict.fromkeys(("owner", "steward", "purpose", "lawful_basis"), TODO)
    raw = {
        "data_root": str(source.data_dir),
        "datasets": {
            name: {**spec, **todo, "source": {"uri_env": _READ_ENV, **spec["source"]}}
            for name, spec in datasets.items()
        },
    }
    previous = os.environ.get(_READ_ENV)
    os.environ[_READ_ENV] = source.read_uri
    try:
        with tempfile.TemporaryDirectory(prefix="govlib-draft-") as folder:
            path = Path(folder) / "catalog.yaml"
            path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
            probe = catalog_mod.load(path)
        yield probe
    finally:
        if previous is None:
            os.environ.pop(_READ_ENV, None)
        else:
            os.environ[_READ_ENV] = previous


def _introspect(
    source: _Source, schema: str | None, tables: Sequence[str] | None
) -> tuple[list[_Found], list[str]]:
    """The chosen tables as declared, their counts, and the tables left out (and why)."""
    with _reading(source, {}) as probe:
        try:
            con = databases.connect(probe.dataset(_PROBE))
        except databases.DatabaseError as exc:
            raise GovlibError(str(exc).removeprefix(f"dataset {_PROBE!r}: ")) from None
        try:
            default = dbschema.default_schema(con)
            schema = schema or default
            if schema is None or not dbschema.has_schema(con, schema):
                # no current schema: the one the URI names does not exist
                named = f"schema {printable(schema)!r}" if schema else "the schema the URI names"
                raise GovlibError(
                    f"{source.shown}: {named} is not in the database; check "
                    "--schema (or the URI's schema)"
                )
            chosen, skipped = _chosen(dbschema.list_tables(con, schema), tables, schema, source)
            described = dbschema.describe(con, schema, chosen)
            for table in described:
                _check_key_lengths(Path(table.name), [c.name for c in table.columns])
                problem = name_problem([column.name for column in table.columns])
                if problem is not None:
                    raise GovlibError(
                        f"table {printable(table.name)!r}: "
                        f"{problem.removesuffix(' in the source')} through a view"
                    )
            found = [_counted(con, t, default or schema) for t in described]
        except GovlibError:
            raise
        except Exception as exc:
            raise GovlibError(
                f"{source.shown}: reading the database's schema failed ({type(exc).__name__}); "
                "check the user's grants on it"
            ) from None
        finally:
            con.disconnect()
    return found, skipped


def _chosen(
    present: dict[str, bool], tables: Sequence[str] | None, schema: str, source: _Source
) -> tuple[dict[str, bool], list[str]]:
    """The tables to draft (name -> is a view), and those left out with the reason."""
    if tables is not None:
        missing = ", ".join(repr(printable(t)) for t in tables if t not in present)
        if missing:
            raise GovlibError(
                f"{source.shown}: no table or view {missing} in schema {printable(schema)!r} "
                "(or not readable by you); check --tables and --schema"
            )
        odd = [t for t in tables if not (IDENTIFIER.fullmatch(t) and IDENTIFIER.fullmatch(schema))]
        if odd:
            raise GovlibError(
                f"table {printable(odd[0])!r}: a catalog reads tables named as identifiers "
                "(letters, digits, underscores); read it through a view of such a name"
            )
        return {t: present[t] for t in dict.fromkeys(tables)}, []
    chosen: dict[str, bool] = {
        t: False for t, view in present.items() if not view and IDENTIFIER.fullmatch(t)
    }
    skipped = [
        f"{printable(t)}: not an identifier, which a catalog table must be; read it through a view"
        for t, v in present.items()
        if not v and not IDENTIFIER.fullmatch(t)
    ]
    if not chosen or not IDENTIFIER.fullmatch(schema):
        raise GovlibError(
            f"{source.shown}: schema {printable(schema)!r} holds no table you may read and a "
            "catalog can name; check --schema and the user's grants (views: name them in --tables)"
        )
    return chosen, skipped


def _counted(con: Any, table: dbschema.Table, default: str) -> _Found:
    def value(schema: str, name: str) -> str:
        return name if schema == default else f"{schema}.{name}"

    eligible = [] if table.primary_key else [
        c.name for c in table.columns if c.type in ("int64", "string")
    ]  # fmt: skip
    rows, unique = dbschema.key_stats(con, table.schema, table.name, eligible)
    targets = [value(fk.schema, fk.table) for fk in table.foreign_keys]
    return _Found(table, value(table.schema, table.name), targets, rows, unique)


def _named(
    found: list[_Found], source: _Source, existing: Catalog | None, skipped: list[str]
) -> list[tuple[str, _Found]]:
    """A dataset name per table the catalog does not read yet; those it reads join `skipped`."""
    taken = set(existing.names()) if existing is not None else set()
    read = _read_from(existing, source)
    named: list[tuple[str, _Found]] = []
    for f in found:
        if f.value in read:
            skipped.append(f"{f.value}: the catalog reads it already, as dataset {read[f.value]}")
            continue
        name = f.table.name.lower()
        if name in taken:
            where = "two tables give" if name in dict(named) else "the catalog already declares"
            raise GovlibError(
                f"table {f.value}: {where} a dataset called {name!r}; leave the table out with "
                "--tables, or rename the dataset in the catalog first"
            )
        taken.add(name)
        named.append((name, f))
    return named


def _read_from(existing: Catalog | None, source: _Source) -> dict[str, str]:
    """The catalog's datasets that read a table of `source`: table -> dataset name."""
    if existing is None:
        return {}
    uri, env = source.written.get("uri"), source.written.get("uri_env")
    return {
        ds.source.table: name
        for name, ds in existing.datasets.items()
        if ds.source.table and ds.source.uri == uri and ds.source.uri_env == env
    }


def _probe_spec(found: _Found) -> dict[str, Any]:
    columns = {c.name: {"type": c.type} for c in found.table.columns if c.type is not None}
    key = found.table.primary_key if set(found.table.primary_key) <= set(columns) else []
    return {"source": {"table": found.value}, "columns": columns, "primary_key": key}


def _table_entry(
    ds: Dataset, found: _Found, source: _Source, day: date, sample_rows: int
) -> DraftEntry:
    """One table's entry: declared types and key, PII detected on a bounded sample."""
    table = found.table
    notes = [
        f"column {c.name} ({c.declared}) is left out: govlib does not read this type"
        for c in table.columns
        if c.type is None
    ]
    columns: list[DraftColumn] = []
    sample = pl.DataFrame()
    if ds.columns:
        sample = databases.sample(ds, sample_rows)
        found_pii = profiling.profile(sample.lazy(), dataset=ds.name, as_of=day)
        findings = {f.column: f for f in found_pii.pii}
        columns = [
            _column(c, dtype, sample, findings.get(c), None) for c, dtype in sample.schema.items()
        ]
    declared = bool(table.primary_key) and ds.primary_key == table.primary_key
    if table.primary_key and not declared:
        notes.append(
            f"the declared primary key ({', '.join(table.primary_key)}) holds a column left out"
        )
    ids = [c for c in found.unique if _ID_LIKE.search(c)]
    return DraftEntry(
        dataset=ds.name,
        path="",
        format="view" if table.view else "table",
        rows=found.rows,
        sampled_rows=sample.height,
        null_values=[],
        delimiter=",",
        columns=columns,
        key_candidates=found.unique,
        primary_key=list(table.primary_key) if declared else ids[:1],
        source={**source.written, "table": found.value},
        origin=f"{'view' if table.view else 'table'} {found.value} of {source.shown}",
        declared_key=declared,
        notes=notes,
    )


def _with_foreign_keys(
    entries: list[DraftEntry], found: list[_Found], existing: Catalog | None, source: _Source
) -> list[DraftEntry]:
    """Relationships from the declared foreign keys whose tables the catalog will hold."""
    targets: dict[str, tuple[str, set[str]]] = {}
    if existing is not None:
        for table, name in _read_from(existing, source).items():
            targets[table] = (name, set(existing.dataset(name).columns))
    for entry, f in zip(entries, found, strict=True):
        targets[f.value] = (entry.dataset, {c.name for c in entry.columns})
    out = []
    for entry, f in zip(entries, found, strict=True):
        rels, notes = [], []
        own = {c.name for c in entry.columns}
        for fk, target in zip(f.table.foreign_keys, f.targets, strict=True):
            shown = (
                f"foreign key ({', '.join(fk.columns)}) -> {target} ({', '.join(fk.references)})"
            )
            dataset, columns = targets.get(target, ("", set()))
            if len(fk.columns) != 1:
                notes.append(f"{shown} is not recorded: a relationship joins one column")
            elif not dataset:
                notes.append(f"{shown} is not recorded: draft both tables together to record it")
            elif fk.columns[0] not in own or fk.references[0] not in columns:
                notes.append(f"{shown} is not recorded: it holds a column left out")
            else:
                rels.append(
                    {"column": fk.columns[0], "references": f"{dataset}.{fk.references[0]}"}
                )
        out.append(_replace(entry, relationships=rels, notes=entry.notes + notes))
    return out


# -- text ------------------------------------------------------------------------------------


def _scalar(value: object) -> str:
    r"""One YAML scalar on one line, quoted as YAML needs it.

    Text with line breaks or control characters becomes a double-quoted scalar with escapes
    (a JSON string is one), so it stays on its line.

    >>> _scalar("null"), _scalar("a\nb")
    ("'null'", '"a\\nb"')
    """
    if isinstance(value, str) and any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        return json.dumps(value, ensure_ascii=False)
    text = yaml.safe_dump(value, allow_unicode=True, default_flow_style=True, width=2**31 - 1)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def _entry_text(entry: DraftEntry, indent: str) -> str:
    """The YAML of one drafted dataset, its name at `indent`."""
    i1, i2, i3 = indent + "  ", indent + "    ", indent + "      "
    lines = [f"{indent}{_scalar(entry.dataset)}:", *_source_lines(entry, i1, i2)]
    lines += [
        f"{i1}owner: {TODO}  # who answers for this data",
        f"{i1}steward: {TODO}  # who looks after its quality day to day",
        f"{i1}purpose: {TODO}  # why it is processed",
        f"{i1}lawful_basis: {TODO}  # consent, contract, legal_obligation, vital_interests, "
        "public_task or legitimate_interests",
        f"{i1}data_subjects: {TODO}  # whom the rows are about, e.g. customers or employees",
        f"{i1}suite: {_scalar(entry.dataset)}  # write it with: govlib suggest "
        f"{entry.dataset} --out expectations",
    ]
    lines += _key_lines(entry, i1)
    if entry.relationships:
        why = "declared in the database" if entry.source else "every value is found there"
        lines.append(f"{i1}relationships:")
        for rel in entry.relationships:
            lines.append(f"{i2}- column: {_scalar(rel['column'])}  # {why}")
            lines.append(f"{i2}  references: {_scalar(rel['references'])}")
    lines += [f"{i1}# {_comment(note)}" for note in entry.notes]
    lines.append(f"{i1}columns:" + ("" if entry.columns else " {}"))
    for column in entry.columns:
        lines += _column_lines(column, i2, i3)
    return "\n".join(lines) + "\n"


def _source_lines(entry: DraftEntry, i1: str, i2: str) -> list[str]:
    width = len(entry.columns)
    sampled = f"PII detected on {entry.sampled_rows:,} sampled rows"
    if entry.source:
        lines = [
            f"{i1}# drafted from {_comment(entry.origin)}: {entry.rows:,} rows, {width:,} "
            f"columns; {sampled}",
            f"{i1}source:",
        ]
        return lines + [f"{i2}{k}: {_scalar(v)}" for k, v in entry.source.items()]
    lines = [
        f"{i1}# drafted from {_comment(Path(entry.path).name)}: {entry.rows:,} rows, {width:,} "
        f"columns; {sampled}",
        f"{i1}source:",
        f"{i2}path: {_scalar(entry.path)}",
        f"{i2}format: {entry.format}",
    ]
    if entry.format == "csv":
        lines.append(f"{i2}null_values: {_scalar(entry.null_values)}")
        if entry.delimiter != ",":
            lines.append(f"{i2}delimiter: {_scalar(entry.delimiter)}")
    return lines


def _key_lines(entry: DraftEntry, i1: str) -> list[str]:
    if entry.declared_key:
        return [f"{i1}primary_key: {_scalar(entry.primary_key)}  # declared in the database"]
    listed = ", ".join(_comment(c) for c in entry.key_candidates) or "none"
    if entry.primary_key:
        keys = _scalar(entry.primary_key)
        return [f"{i1}primary_key: {keys}  # unique, never-null columns: {listed}"]
    return [f"{i1}# primary key: none chosen; unique, never-null columns: {listed}"]


def _column_lines(column: DraftColumn, i2: str, i3: str) -> list[str]:
    comment = f"  # detected: {_comment(column.evidence)}" if column.pii else ""
    lines = [f"{i2}{_scalar(column.name)}:{comment}", f"{i3}type: {column.type}"]
    if column.format:
        lines.append(f"{i3}format: {_scalar(column.format)}")
    if column.pii:
        lines.append(f"{i3}pii: {column.pii}")
    elif column.category:
        why = "special-category data" if column.category == "sensitive" else "narrows who it is"
        lines.append(f"{i3}category: {column.category}  # by its name ({why}): check it")
    if column.note:
        lines.append(f"{i3}# {_comment(column.note)}")
    return lines


def _comment(text: str) -> str:
    """Text safe inside a YAML comment: one printable line."""
    return printable(text)


def _append(catalog_path: Path, entries: list[DraftEntry]) -> str:
    """The catalog's text with `entries` inserted at the end of its `datasets:` block."""
    text = catalog_path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if re.match(r"datasets:[ \t]*(?:#.*)?\r?\n?$", line)),
        None,
    )
    if start is None:
        raise GovlibError(
            f"{catalog_path}: no block 'datasets:' line at the top level to append to; write "
            "'datasets:' on a line of its own, or draft into a new catalog file"
        )
    end = next(
        (i for i in range(start + 1, len(lines)) if re.match(r"[^\s#]", lines[i])), len(lines)
    )
    body = [ln for ln in lines[start + 1 : end] if ln.strip() and not ln.lstrip().startswith("#")]
    indent = re.match(r"[ ]*", body[0]).group(0) if body else "  "  # type: ignore[union-attr]
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].startswith("#")):
        end -= 1  # blank lines and top-level comments belong to what follows the block
    before = "".join(lines[:end])
    if before and not before.endswith("\n"):
        before += "\n"
    added = "".join(_entry_text(e, indent or "  ") for e in entries)
    return before + added + "".join(lines[end:])
