"""Draft catalog entries from data files, for a person to review and complete.

One entry per file (CSV, TSV, Parquet, NDJSON, gzip-compressed text): every column with its
inferred type and datetime format, the PII kind detected on a bounded sample with the evidence
as a comment (shares and counts, never a value), primary-key candidates, relationships between
the drafted files whose names match and whose values are contained, and `TODO` for what only a
person can say: owner, steward, purpose, lawful basis and data subjects.

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
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from govlib import catalog as catalog_mod
from govlib import profiling, sources
from govlib.catalog import IDENTIFIER, TODO, Catalog, ColumnType
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
    entries = [
        _entry(name, file, loaded[name], data_dir, day, sample_rows)
        for name, file in zip(names, files, strict=True)
    ]
    entries = _with_relationships(entries, {n: lo.frame for n, lo in loaded.items()})
    if existing is None:
        root = os.path.relpath(data_dir, catalog_path.resolve().parent)
        text = _HEADER + "version: 1\n"
        text += f"data_root: {_scalar(Path(root).as_posix())}\n" if root != "." else ""
        text += "datasets:\n" + "".join(_entry_text(e, "  ") for e in entries)
    else:
        text = _append(catalog_path, entries)
    return Draft(str(catalog_path), text, entries, existing is None)


def write(draft: Draft) -> Path:
    """Write the drafted catalog, only once the new text loads as a catalog.

    The text goes to a temporary file beside the catalog, is loaded with `catalog.load` (TODO
    values allowed), and then replaces the catalog in one step.
    """
    target = Path(draft.catalog_path)
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
        return DraftColumn(name, kind, fmt, note=note)
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
    width = len(entry.columns)
    lines = [
        f"{indent}{_scalar(entry.dataset)}:",
        f"{i1}# drafted from {_comment(Path(entry.path).name)}: {entry.rows:,} rows, {width:,} "
        f"columns; PII detected on {entry.sampled_rows:,} sampled rows",
        f"{i1}source:",
        f"{i2}path: {_scalar(entry.path)}",
        f"{i2}format: {entry.format}",
    ]
    if entry.format == "csv":
        lines.append(f"{i2}null_values: {_scalar(entry.null_values)}")
        if entry.delimiter != ",":
            lines.append(f"{i2}delimiter: {_scalar(entry.delimiter)}")
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
        lines.append(f"{i1}relationships:")
        for rel in entry.relationships:
            lines.append(f"{i2}- column: {_scalar(rel['column'])}  # every value is found there")
            lines.append(f"{i2}  references: {_scalar(rel['references'])}")
    lines.append(f"{i1}columns:" + ("" if entry.columns else " {}"))
    for column in entry.columns:
        lines += _column_lines(column, i2, i3)
    return "\n".join(lines) + "\n"


def _key_lines(entry: DraftEntry, i1: str) -> list[str]:
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
