"""Read datasets into polars LazyFrames, safely.

A source is either a catalog dataset (with its declared schema, delimiter, encoding and null
tokens) or an ad-hoc file path. Reading checks what polars would otherwise get silently wrong:
a missing header, a wrong delimiter, ragged rows, duplicate or drifting columns, undeclared
encodings, sentinel strings in numeric columns, files that are not what their name says,
truncated or oversized compressed files, and paths that lead outside the data root.

Every problem raises `SourceError` with one line naming the file, line, column position and
expected type, and never quoting a cell value or a column name found in the file: either may be
personal data. A column is named by its position and masked shape (`column 3, shaped Aa_a`).

>>> from govlib import catalog
>>> scan(catalog.load("catalog.yaml").dataset("customers")).collect().height
3045
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from govlib.catalog import Catalog, ColumnType, Dataset, Limits, SourceSpec, name_problem
from govlib.errors import SourceError, printable
from govlib.records import Record

log = logging.getLogger("govlib")

# Ad-hoc files get the catalog's default limit: a small gzip must not expand without bound.
DEFAULT_MAX_DECOMPRESSED = Limits().max_decompressed_mb * 1024 * 1024
csv.field_size_limit(2**31 - 1)  # a long field is valid; the decompression limit bounds it
SENTINELS = frozenset(
    [*("N/A", "NA", "n/a", "na", "NULL", "null", "Null", "-", "--", "?", "NaN", "nan"),
     *("None", "none", "#N/A", "missing", "MISSING")]
)  # fmt: skip
_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
# ISO 8601 as real data writes it: a space or `T`, seconds and a fraction optional, `Z` or an
# offset optional. Values with an offset are converted to UTC; values without one are kept as is.
ISO_DATETIME = (
    r"^(?P<d>\d{4}-\d{2}-\d{2})[T ](?P<hm>\d{2}:\d{2})(?P<s>:\d{2}(?:[.,]\d{1,9})?)?"
    r"\s*(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
ISO_DATETIME_NAME = (
    "ISO 8601 (YYYY-MM-DD, T or a space, HH:MM, optional :SS and fraction, optional Z or +HH:MM)"
)
ISO_DATE = "%Y-%m-%d"
# Non-ISO dates that inference recognises when the values tell the order: day first and month
# first are told apart only when some value has a part above 12; otherwise `format:` decides.
DAY_FIRST = ("%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y")
MONTH_FIRST = ("%m/%d/%Y", "%m.%d.%Y", "%m-%d-%Y")
YEAR_FIRST = ("%Y/%m/%d", "%Y.%m.%d")
_TIME_SUFFIXES = ("", " %H:%M:%S", " %H:%M")
_DATE_LIKE = (
    r"^(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}[/.]\d{1,2}[/.]\d{1,2})"
    r"(?: \d{1,2}:\d{2}(?::\d{2})?)?$"
)
_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
_LOOKS_LIKE_VALUE = re.compile(
    r"^(?:[-+]?\d+(?:[.,]\d+)?|\d{4}-\d{2}-\d{2}.*|[^@\s]+@[^@\s]+|\+?[\d ()-]{7,}|true|false)$",
    re.IGNORECASE,
)
POLARS_TYPE: dict[ColumnType, pl.DataType] = {
    "string": pl.String(),
    "int64": pl.Int64(),
    "float64": pl.Float64(),
    "bool": pl.Boolean(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
}


@dataclass(frozen=True, slots=True)
class LoadReport(Record):
    """What reading a source found: size, the null tokens and sentinels met, warnings."""

    source: str
    format: str
    files: int
    rows: int
    columns: list[str]
    null_tokens: dict[str, int] = field(default_factory=dict)  # column -> values read as null
    warnings: list[str] = field(default_factory=list)
    inferred: dict[str, Inferred] = field(default_factory=dict)  # ad-hoc files: column -> type


@dataclass(frozen=True, slots=True)
class Inferred(Record):
    """What inference concluded about one text column of an ad-hoc file."""

    type: ColumnType = "string"
    format: str | None = None  # a datetime format when the values are not ISO 8601
    sentinels: tuple[str, ...] = ()  # sentinel strings (such as N/A) read as null
    sentinel_count: int = 0
    note: str = ""  # why a column that looks typed stays text (e.g. ambiguous dates)


@dataclass(frozen=True, slots=True)
class Loaded:
    """A source read into a LazyFrame, with its report."""

    frame: pl.LazyFrame
    report: LoadReport
    dataset: Dataset | None = None


def plain_temporals(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Zoned datetimes as UTC wall time, times of day as text, durations as seconds.

    Every step compares datetimes with a naive `as_of`, so a zone (as pandas writes Parquet) is
    resolved once, here, as ISO 8601 offsets are when text is parsed.
    """
    exprs = []
    for name, dtype in frame.collect_schema().items():
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            exprs.append(pl.col(name).dt.convert_time_zone("UTC").dt.replace_time_zone(None))
        elif dtype == pl.Time:
            exprs.append(pl.col(name).cast(pl.String))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.total_microseconds() / 1_000_000)
    return frame.with_columns(exprs) if exprs else frame


def load(
    target: Dataset | str | Path,
    *,
    data_root: str | Path | None = None,
    max_decompressed_bytes: int | None = None,
) -> Loaded:
    """Read a catalog dataset, or an ad-hoc file, into a checked LazyFrame.

    A catalog dataset is read from below the catalog's data root with its declared schema;
    an ad-hoc path is the user's choice: it is read wherever it is (relative to the working
    directory, `~` expanded), and only from below `data_root` when one is given, with types
    inferred. Reading is eager for text formats (they are checked whole) and lazy for Parquet.
    """
    formats: dict[str, str]
    if isinstance(target, Dataset) and target.source.is_database:
        return _load_database(target)
    if isinstance(target, Dataset):
        cat: Catalog = target.catalog
        root = Path(data_root) if data_root is not None else cat.data_dir
        limit = max_decompressed_bytes or cat.limits.max_decompressed_mb * 1024 * 1024
        paths = _expand(target.source.path or "", root)
        spec, schema, label = target.source, target.schema(), target.name
        formats = {name: col.format for name, col in target.columns.items() if col.format}
        kinds = {target.source.format or _format_of(p) for p in paths}
    else:
        guarded = data_root is not None
        root = Path(data_root) if data_root is not None else Path.cwd()
        limit = max_decompressed_bytes or DEFAULT_MAX_DECOMPRESSED
        paths = _expand(str(Path(target).expanduser()), root, guard=guarded)
        spec, schema, label = _adhoc_spec(paths[0]), None, str(target)
        formats = {}
        kinds = {_format_of(p) for p in paths}
    if len(kinds) != 1:
        raise SourceError(label, "the matched files mix formats", "Match files of one format")
    fmt = kinds.pop()
    parts, reports = [], []
    for path in paths:
        frame, report = _read_one(path, fmt, spec, schema, formats, limit)
        parts.append(frame)
        reports.append(report)
    frame = parts[0] if len(parts) == 1 else pl.concat(parts, how="vertical_relaxed")
    frame = plain_temporals(frame)
    report = _merge_reports(label, fmt, reports)
    for warning in report.warnings:
        log.warning("%s", warning)
    return Loaded(frame, report, target if isinstance(target, Dataset) else None)


def _load_database(ds: Dataset) -> Loaded:
    """A database dataset read through Ibis with its declared types (see `govlib.databases`).

    Interim: the table is read into memory in Arrow batches; profile and validate will run
    inside the database instead.
    """
    from govlib import databases

    df = databases.frame(ds)
    where = databases.location(ds.source)
    warnings = [f"{where}: 0 rows"] if df.height == 0 else []
    report = LoadReport(where, "database", 0, df.height, list(df.columns), {}, warnings)
    for warning in warnings:
        log.warning("%s", warning)
    return Loaded(df.lazy(), report, ds)


def scan(target: Dataset | str | Path, **options: object) -> pl.LazyFrame:
    """The checked LazyFrame of `load()`, without the report."""
    return load(target, **options).frame  # type: ignore[arg-type]


def polars_schema(ds: Dataset) -> pl.Schema:
    """A catalog dataset's declared columns with the polars types its files are read as."""
    return pl.Schema({column: POLARS_TYPE[kind] for column, kind in ds.schema().items()})


def load_all(catalog: Catalog, names: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
    """Every dataset of the catalog (or those of `names`), read and checked, in memory."""
    names = catalog.names() if names is None else names
    return {name: scan(catalog.dataset(name)).collect() for name in names}


def files(ds: Dataset) -> list[Path]:
    """The files a catalog dataset reads, checked to lie below the data root.

    A SQLite or DuckDB source reads its database file; a database server, no file.
    """
    if ds.source.is_database:
        from govlib import databases

        uri = databases.uri_of(ds)
        if databases.scheme_of(uri) in databases.FILE_SCHEMES:
            return [databases.database_file(ds, uri)]
        return []
    return _expand(ds.source.path or "", ds.catalog.data_dir)


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, read in chunks."""
    from govlib import outputs

    return outputs.sha256(path)


def content_hashes(
    catalog: Catalog, frames: dict[str, pl.DataFrame] | None = None
) -> dict[str, str]:
    """Per dataset, the SHA-256 of its file (of its files' hashes, in order, for a glob).

    Given `frames` (what a change read), only those datasets, and one on a database server by
    its rows as read (`rows:`, in any order). Without, one on a server has no content to hash:
    `unknown:` and a fresh nonce, so never "unchanged".
    """
    import hashlib
    import os

    hashes = {}
    for name in catalog.names() if frames is None else [n for n in catalog.names() if n in frames]:
        paths = files(catalog.dataset(name))
        if not paths and frames is not None:
            hashes[name] = "rows:" + frame_sha256(frames[name])
        elif not paths:
            hashes[name] = "unknown:" + os.urandom(16).hex()
        elif len(paths) == 1:
            hashes[name] = file_sha256(paths[0])
        else:
            joined = "".join(file_sha256(p) for p in paths)
            hashes[name] = hashlib.sha256(joined.encode()).hexdigest()
    return hashes


def frame_sha256(frame: pl.DataFrame) -> str:
    """A digest of a frame's schema and rows, whatever their order (this polars version's)."""
    import hashlib

    digest = hashlib.sha256(repr(list(frame.schema.items())).encode())
    if frame.height:
        digest.update(frame.hash_rows(seed=0).sort().to_numpy().tobytes())
    return digest.hexdigest()


def _merge_reports(label: str, fmt: str, reports: list[LoadReport]) -> LoadReport:
    tokens: dict[str, int] = {}
    for r in reports:
        for column, count in r.null_tokens.items():
            tokens[column] = tokens.get(column, 0) + count
    return LoadReport(
        source=label,
        format=fmt,
        files=len(reports),
        rows=sum(r.rows for r in reports),
        columns=reports[0].columns,
        null_tokens=tokens,
        warnings=[w for r in reports for w in r.warnings],
        inferred=reports[0].inferred,
    )


# -- locating files ---------------------------------------------------------------------------


def _expand(pattern: str, root: Path, *, guard: bool = True) -> list[Path]:
    """Files matching `pattern` relative to `root`, each checked to stay inside it (`guard`).

    The data root guards what a catalog declares; a path typed on the command line is read
    where it is (`guard=False`).
    """
    root = root.resolve()
    candidate = Path(pattern)
    base = candidate if candidate.is_absolute() else root / candidate
    if any(ch in pattern for ch in "*?["):
        anchor = Path(base.anchor)
        paths = sorted(anchor.glob(str(base.relative_to(anchor))))
        if not paths:
            raise SourceError(base, "no file matches this pattern", "Check the source path")
    else:
        paths = [base]
    for path in paths:
        if guard:
            check_inside(path, root)
        if not path.exists():
            raise SourceError(path, "file not found", "Check the source path in the catalog")
        if not path.is_file():
            raise SourceError(path, "not a regular file", "Point the source at a file")
    return paths


def check_inside(path: Path, root: Path) -> None:
    """Refuse (`SourceError`) a path that resolves outside `root`, symbolic links followed."""
    absolute = Path(*path.absolute().parts)
    normal = Path(_normpath(absolute))
    if not normal.is_relative_to(root):
        raise SourceError(
            path,
            f"path is outside the data root {root}",
            "Move the file below the data root, or set data_root (catalog) / --data-root",
        )
    if path.exists() and not path.resolve().is_relative_to(root):
        raise SourceError(
            path,
            f"a symbolic link leads outside the data root {root}",
            "Copy the file below the data root instead of linking to it",
        )


def _normpath(path: Path) -> str:
    import os

    return os.path.normpath(path)


def _format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMAT.get(suffixes[-1] if suffixes else "")
    if fmt is None:
        raise SourceError(
            path,
            "unknown file type",
            "Use .csv, .csv.gz, .parquet or .ndjson, or declare source.format in the catalog",
        )
    return fmt


def _adhoc_spec(path: Path) -> SourceSpec:
    delimiter = "\t" if ".tsv" in [s.lower() for s in path.suffixes] else ","
    return SourceSpec(path=str(path), delimiter=delimiter)


# -- bytes: magic numbers, compression, encoding ----------------------------------------------

_MAGIC = {
    b"PK\x03\x04": "a zip archive (or an xlsx/docx file)",
    b"\xd0\xcf\x11\xe0": "an old Office document (xls/doc)",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"\x28\xb5\x2f\xfd": "a zstd archive",
}


def _read_bytes(path: Path, spec: SourceSpec, limit: int, fmt: str) -> bytes:
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise SourceError(path, "file is empty (0 bytes)", "Check the export that wrote it")
    gz = head.startswith(b"\x1f\x8b")
    if spec.compression == "gzip" and not gz:
        raise SourceError(
            path, "declared gzip but is not gzip-compressed", "Fix source.compression"
        )
    if head.startswith(b"PAR1"):
        raise SourceError(path, f"is a Parquet file, not {fmt}", "Rename it or set source.format")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise SourceError(path, f"is {what}, not {fmt}", "Export the data as CSV or Parquet")
    too_big = SourceError(
        path,
        f"is larger than the {limit // 2**20} MiB limit",
        "Raise limits.max_decompressed_mb in the catalog if this is expected",
    )
    if path.stat().st_size > limit:  # checked before reading the file
        raise too_big
    data = _gunzip(path, limit) if gz and spec.compression != "none" else path.read_bytes()
    if len(data) > limit:
        raise too_big
    sniff = data[:65536]
    if b"\x00" in sniff and not spec.encoding.startswith("utf-16"):
        offset = sniff.index(b"\x00")
        raise SourceError(
            path,
            f"holds binary data (a NUL byte at offset {offset}), not {fmt} text",
            "Check that this is the right file",
        )
    return data


def _gunzip(path: Path, limit: int) -> bytes:
    """Decompress a gzip file, stopping as soon as the output passes `limit` bytes."""
    out = io.BytesIO()
    try:
        with gzip.open(path, "rb") as gz:
            while chunk := gz.read(1 << 20):
                out.write(chunk)
                if out.tell() > limit:
                    raise SourceError(
                        path,
                        f"decompresses to more than the {limit // 2**20} MiB limit "
                        "(a possible gzip bomb)",
                        "Raise limits.max_decompressed_mb in the catalog if this is expected",
                    )
    except EOFError:
        raise SourceError(
            path, "gzip file is truncated (it ends before its end marker)", "Copy it again"
        ) from None
    except (gzip.BadGzipFile, zlib.error):
        raise SourceError(path, "gzip data is corrupt", "Copy or export the file again") from None
    return out.getvalue()


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if encoding == "utf-8" and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise SourceError(
            path,
            f"is not valid {encoding} text: undecodable byte at offset {exc.start}",
            "Declare the real encoding in source.encoding (e.g. 'latin-1') or re-export as UTF-8",
        ) from None


# -- reading one file ------------------------------------------------------------------------


def _read_one(
    path: Path,
    fmt: str,
    spec: SourceSpec,
    schema: dict[str, ColumnType] | None,
    formats: dict[str, str],
    limit: int,
) -> tuple[pl.LazyFrame, LoadReport]:
    if fmt == "parquet":
        return _read_parquet(path, schema)
    data = _read_bytes(path, spec, limit, fmt)
    text = _decode(path, data, spec.encoding)
    if fmt == "csv":
        raw, lines = _read_csv(path, text, spec, schema)
    else:
        raw, lines = _read_ndjson(path, text, schema), None
    inferred = infer_types(raw) if schema is None else {}
    if schema is None:
        schema = {c: i.type for c, i in inferred.items()}
        formats = {c: i.format for c, i in inferred.items() if i.format}
    frame, tokens, warnings = _apply_types(path, raw, spec, schema, formats, lines, inferred)
    if frame.height == 0:
        warnings.append(f"{path}: 0 rows (the file has a header but no data)")
    report = LoadReport(str(path), fmt, 1, frame.height, frame.columns, tokens, warnings, inferred)
    return frame.lazy(), report


def _read_csv(
    path: Path, text: str, spec: SourceSpec, schema: dict[str, ColumnType] | None
) -> tuple[pl.DataFrame, bool]:
    """Check the structure with the csv module, then parse with polars as strings.

    Returns the frame and whether each record sits on one line (so row i is line i + 2).
    """
    if not text.strip():
        raise SourceError(path, "file holds only whitespace", "Check the export that wrote it")
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # bare-CR line endings (old Mac exports)
    header, records, line_num = _check_rows(path, text, spec, schema)
    one_line_each = line_num == records + (1 if spec.has_header else 0)  # no multi-line
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=spec.delimiter,
            has_header=spec.has_header,
            new_columns=[h.strip() for h in header],
            infer_schema=False,
            null_values=None,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError:
        raise SourceError(path, "cannot be parsed as CSV", "Check its quoting") from None
    if frame.width == 0 and header:
        frame = pl.DataFrame(schema={name.strip(): pl.String for name in header})
    if frame.height != records:
        raise SourceError(
            path,
            f"the CSV parsers disagree on the number of rows ({records} or {frame.height}): "
            "the file mixes line endings or quotes oddly",
            "Re-export it with one kind of line ending and standard quoting",
        )
    return frame, one_line_each


def _check_rows(
    path: Path, text: str, spec: SourceSpec, schema: dict[str, ColumnType] | None
) -> tuple[list[str], int, int]:
    """The header, the number of data records and of physical lines; ragged rows are errors."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=spec.delimiter, strict=False)
    try:
        header = next(reader)
        if not spec.has_header:
            if schema is None:
                raise SourceError(
                    path, "has_header is false but no schema is declared", "Declare it"
                )
            if len(header) != len(schema):
                raise SourceError(
                    path,
                    f"ragged rows: line 1 has {len(header)} fields, expected {len(schema)}",
                    "Fix the row or the declared columns",
                )
            header = list(schema)
        _check_header(path, header, spec, schema)
        width, records, ragged = len(header), 0 if spec.has_header else 1, []
        for row in reader:
            records += 1
            if len(row) != width and row:
                ragged.append((reader.line_num, len(row)))
    except csv.Error:
        raise SourceError(
            path, f"line {reader.line_num} is not valid CSV", "Check its quoting"
        ) from None
    if ragged:
        line, got = ragged[0]
        more = f" (and {len(ragged) - 1} more rows)" if len(ragged) > 1 else ""
        raise SourceError(
            path,
            f"ragged rows: line {line} has {got} fields, expected {width}{more}",
            "Quote fields that contain the delimiter, or fix the rows",
        )
    return header, records, reader.line_num


def _shape(name: str) -> str:
    """A name's masked shape: letters as A/a, digits as 9, runs collapsed (`Aa_a9`)."""
    out: list[str] = []
    for ch in name[:64]:
        if ch.isalpha():
            kind = "A" if ch.isupper() else "a"
        elif ch.isdigit():
            kind = "9"
        else:
            kind = ch if ch in "_-. @*^$" else "?"
        if not out or out[-1] != kind or kind not in "Aa9":
            out.append(kind)
    return "".join(out) + ("…" if len(name) > 64 else "")


def _column(position: int, name: str) -> str:
    """How an error names a column found in a file: by position and masked shape."""
    return f"column {position} (shaped {_shape(name)})"


def _check_header(
    path: Path, header: list[str], spec: SourceSpec, schema: dict[str, ColumnType] | None
) -> None:
    names = [h.strip() for h in header]
    if len(names) == 1:
        for other in (";", "\t", "|", ","):
            if other != spec.delimiter and other in names[0]:
                shown = {"\t": "tab"}.get(other, repr(other))
                raise SourceError(
                    path,
                    f"the header has one column but contains {shown}: the file seems to be "
                    f"{shown}-delimited, not {spec.delimiter!r}-delimited",
                    "Set source.delimiter in the catalog",
                )
    _check_names(path, names)  # duplicates, case twins, patterns, NUL
    if any(not n for n in names):
        position = names.index("") + 1
        raise SourceError(path, f"column {position} of the header has no name", "Name it")
    if schema is not None:
        declared = set(schema)
        if spec.has_header and not declared & set(names):
            raise SourceError(
                path,
                "line 1 does not look like a header: none of the declared columns appear in it",
                "Add the header line, or set source.has_header: false",
            )
        _check_drift(path, names, schema)
    elif sum(bool(_LOOKS_LIKE_VALUE.match(n)) for n in names) > 0:
        raise SourceError(
            path,
            "line 1 looks like data, not a header (it holds numbers, dates or emails)",
            "Add a header line, or declare the dataset in the catalog with has_header: false",
        )


def _check_names(path: Path, names: Iterable[str]) -> None:
    """Refuse names an engine would read as other columns (see `catalog.name_problem`)."""
    problem = name_problem(list(names))
    if problem is not None:
        raise SourceError(path, problem)


def _check_drift(path: Path, names: Iterable[str], schema: dict[str, ColumnType]) -> None:
    """Refuse a file whose columns differ from the declared ones.

    Missing declared columns are named (the catalog holds those names); undeclared ones are
    given by position and shape, since their names come from the data.
    """
    names = list(names)
    missing = [c for c in schema if c not in names]
    extra = [_column(i, c) for i, c in enumerate(names, start=1) if c not in schema]
    problems = []
    if missing:
        problems.append(f"missing declared columns: {', '.join(missing)}")
    if extra:
        listed = ", ".join(extra[:5]) + (f" and {len(extra) - 5} more" if len(extra) > 5 else "")
        problems.append(f"{len(extra)} undeclared columns: {listed}")
    if problems:
        raise SourceError(
            path,
            "schema drift: " + "; ".join(problems),
            "Update the catalog's columns, or fix the export",
        )


def _read_ndjson(path: Path, text: str, schema: dict[str, ColumnType] | None) -> pl.DataFrame:
    import json

    keys: dict[str, None] = {}
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SourceError(
                path,
                f"line {number} is not valid JSON (at character {exc.pos + 1})",
                "Each line must hold one JSON object",
            ) from None
        if not isinstance(record, dict):
            raise SourceError(path, f"line {number} is not a JSON object", "Write one per line")
        keys.update(dict.fromkeys(record))
    _check_names(path, keys)
    if schema is not None:
        _check_drift(path, keys, schema)
    columns = list(schema) if schema is not None else list(keys)
    if not columns:
        return pl.DataFrame()
    try:
        return pl.read_ndjson(
            io.BytesIO(text.encode("utf-8")), schema={c: pl.String for c in columns}
        ).select(columns)
    except pl.exceptions.PolarsError:
        raise SourceError(
            path, "cannot be read as NDJSON", "Write one flat JSON object per line"
        ) from None


def _read_parquet(
    path: Path, schema: dict[str, ColumnType] | None
) -> tuple[pl.LazyFrame, LoadReport]:
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(-4 if path.stat().st_size >= 8 else 0, 2)
        tail = fh.read(4)
    if head != b"PAR1":
        raise SourceError(path, "is not a Parquet file", "Check the file or its name")
    if tail != b"PAR1":
        raise SourceError(path, "Parquet file is truncated (no footer)", "Copy it again")
    try:
        found = pl.read_parquet_schema(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
    except (pl.exceptions.PolarsError, OSError):
        raise SourceError(path, "Parquet file is corrupt", "Copy or export it again") from None
    _check_names(path, found)
    lf = plain_temporals(pl.scan_parquet(path))
    found = lf.collect_schema()
    if schema is not None:
        _check_drift(path, found, schema)
        casts = []
        for name, declared in schema.items():
            actual = _kind_of(found[name])
            if actual in ("nested", "binary"):
                raise SourceError(
                    path,
                    f"column {name!r} holds {actual} values ({found[name]}), which govlib "
                    "does not read",
                    "Export flat columns: join lists into text, drop binary columns",
                )
            if actual != declared and not (declared == "float64" and actual == "int64"):
                raise SourceError(
                    path,
                    f"column {name!r} is {found[name]}, expected {declared}",
                    "Fix the export or the declared type",
                )
            casts.append(pl.col(name).cast(POLARS_TYPE[declared]))
        lf = lf.select(casts)
    warnings = [f"{path}: 0 rows"] if rows == 0 else []
    return lf, LoadReport(str(path), "parquet", 1, rows, list(found), {}, warnings)


def type_of(dtype: pl.DataType) -> ColumnType | None:
    """The catalog type a polars column type reads as, or None for nested and binary data."""
    kind = _kind_of(dtype)
    return None if kind in ("nested", "binary") else kind  # type: ignore[return-value]


def _kind_of(dtype: pl.DataType) -> str:
    if dtype.is_nested():
        return "nested"
    if dtype == pl.Binary:
        return "binary"
    if dtype.is_integer():
        return "int64"
    if dtype.is_float():
        return "float64"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.Date:
        return "date"
    if isinstance(dtype, pl.Datetime):
        return "datetime"
    return "string"


# -- types -----------------------------------------------------------------------------------


def iso_datetime(text: pl.Expr) -> pl.Expr:
    """Parse ISO 8601 date-times as real data writes them; values with an offset become UTC.

    Accepts a space or `T`, minutes with or without seconds and a fraction, and `Z`, `+02`,
    `+0200` or `+02:00`. Anything else is null.
    """
    parts = text.str.extract_groups(ISO_DATETIME)
    seconds = parts.struct.field("s").fill_null(":00").str.replace(",", ".", literal=True)
    local = pl.concat_str(
        [parts.struct.field("d"), pl.lit("T"), parts.struct.field("hm"), seconds]
    ).str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False, time_unit="us")
    zone = parts.struct.field("z").str.replace(":", "", literal=True)
    sign = pl.when(zone.str.starts_with("-")).then(-1).otherwise(1)
    hours = zone.str.slice(1, 2).cast(pl.Int64, strict=False).fill_null(0)
    minutes = zone.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    return local - pl.duration(minutes=sign * (hours * 60 + minutes))


def _parse(column: str, kind: ColumnType, fmt: str | None) -> pl.Expr:
    raw = pl.col(column)
    if kind == "string":
        return raw
    text = raw.str.strip_chars()
    if kind == "int64":
        return text.cast(pl.Int64, strict=False)
    if kind == "float64":
        return text.cast(pl.Float64, strict=False)
    if kind == "bool":
        return text.str.to_lowercase().replace_strict(_BOOL, default=None, return_dtype=pl.Boolean)
    if kind == "date":
        return text.str.to_date(fmt or ISO_DATE, strict=False)
    if fmt is None:
        return iso_datetime(text)
    return text.str.to_datetime(fmt, strict=False, time_unit="us").dt.replace_time_zone(None)


def value_shape(column: str) -> pl.Expr:
    """A masked shape for an error message: each digit as 9, letter runs as A or a."""
    return (
        pl.col(column)
        .str.strip_chars()
        .str.slice(0, 40)
        .str.replace_all(r"\d", "9")
        .str.replace_all(r"\p{Lu}+", "A")
        .str.replace_all(r"[\p{Ll}\p{Lo}\p{Lm}\p{Lt}]+", "a")
        .str.replace_all(r"\s+", " ")
    )


def _tried(kind: ColumnType, fmt: str | None) -> str:
    if fmt is not None:
        return f"the declared format {fmt!r}"
    return ISO_DATETIME_NAME if kind == "datetime" else f"ISO 8601 ({ISO_DATE})"


def _date_problem(frame: pl.DataFrame, column: str, kind: ColumnType, fmt: str | None) -> str:
    """Which formats were tried and the masked shapes of the values that failed them."""
    failed = frame.filter(pl.col(column).is_not_null() & _parse(column, kind, fmt).is_null())
    shapes = (
        failed.select(value_shape(column).alias("shape"))
        .group_by("shape")
        .len()
        .sort(["len", "shape"], descending=[True, False])
        .head(3)
    )
    shown = ", ".join(f"{printable(s)} ({n})" for s, n in shapes.iter_rows())
    example = "%d/%m/%Y" if kind == "date" else "%d/%m/%Y %H:%M"
    return (
        f"; tried {_tried(kind, fmt)}; failing values are shaped {shown}. Declare the column's "
        f"format, e.g. format: '{example}' (strftime codes)"
    )


def _apply_types(
    path: Path,
    raw: pl.DataFrame,
    spec: SourceSpec,
    schema: dict[str, ColumnType],
    formats: dict[str, str],
    one_line_each: bool | None,
    inferred: dict[str, Inferred] | None = None,
) -> tuple[pl.DataFrame, dict[str, int], list[str]]:
    """Turn string columns into declared (or inferred) types, counting every value lost.

    One pass computes, per column, how many values were null tokens, sentinels, or failed to
    parse; any failure that is not a declared null token is an error.
    """
    tokens = [t for t in spec.null_values if t != ""]
    nulled = raw.with_columns(
        pl.when(pl.col(c).is_in(tokens)).then(None).otherwise(pl.col(c)).alias(c)
        for c in raw.columns
    )
    warnings: list[str] = []
    token_counts: dict[str, int] = {}
    if tokens and raw.height:
        counts = raw.select(pl.col(c).is_in(tokens).sum() for c in raw.columns).row(0, named=True)
        token_counts = {c: n for c, n in counts.items() if n}
    if inferred:
        nulled = _null_inferred_sentinels(path, raw, nulled, inferred, token_counts, warnings)
    typed = [c for c, kind in schema.items() if kind != "string"]
    if not typed or nulled.height == 0:
        out = nulled.select(_parse(c, schema[c], formats.get(c)).alias(c) for c in schema)
        return out, token_counts, warnings
    problems = _type_problems(nulled, schema, formats, typed, one_line_each)
    if problems:
        raise SourceError(path, "; ".join(problems), "Fix the data or the declared type")
    out = nulled.select(_parse(c, schema[c], formats.get(c)).alias(c) for c in schema)
    return out, token_counts, warnings


def _null_inferred_sentinels(
    path: Path,
    raw: pl.DataFrame,
    nulled: pl.DataFrame,
    inferred: dict[str, Inferred],
    token_counts: dict[str, int],
    warnings: list[str],
) -> pl.DataFrame:
    """Read the sentinels of typed ad-hoc columns as null, with a warning each."""
    for column, info in inferred.items():
        position = raw.columns.index(column) + 1
        if info.note:
            warnings.append(f"{path}: {_column(position, column)} {info.note}")
        if not info.sentinel_count:
            continue
        warnings.append(
            f"{path}: {_column(position, column)} looks {info.type} but holds "
            f"{info.sentinel_count} sentinel strings (such as N/A); they are read as null"
        )
        token_counts[column] = token_counts.get(column, 0) + info.sentinel_count
    return nulled.with_columns(
        pl.when(pl.col(c).str.strip_chars().is_in(list(SENTINELS)))
        .then(None)
        .otherwise(pl.col(c))
        .alias(c)
        for c, info in inferred.items()
        if info.sentinel_count
    )


def _type_problems(
    nulled: pl.DataFrame,
    schema: dict[str, ColumnType],
    formats: dict[str, str],
    typed: list[str],
    one_line_each: bool | None,
) -> list[str]:
    """One line per typed column whose values do not parse, naming the first bad line."""

    def failed(c: str) -> pl.Expr:
        return pl.col(c).is_not_null() & _parse(c, schema[c], formats.get(c)).is_null()

    sentinel = {c: pl.col(c).str.strip_chars().is_in(list(SENTINELS)) for c in typed}
    checks = nulled.select(
        *(failed(c).sum().alias(f"f{i}") for i, c in enumerate(typed)),
        *((failed(c) & sentinel[c]).sum().alias(f"s{i}") for i, c in enumerate(typed)),
        *(failed(c).arg_true().first().alias(f"r{i}") for i, c in enumerate(typed)),
    ).row(0, named=True)
    problems = []
    for i, c in enumerate(typed):
        count, sentinels, first = checks[f"f{i}"], checks[f"s{i}"], checks[f"r{i}"]
        if not count:
            continue
        where = f"line {first + 2}" if one_line_each else f"data row {first + 1}"
        if sentinels == count:
            problems.append(
                f"column {c!r} ({schema[c]}): {count} values are sentinel strings such as "
                f"N/A (first at {where}); declare them in source.null_values"
            )
            continue
        problem = f"column {c!r}: {count} values are not valid {schema[c]} (first at {where})"
        if schema[c] in ("date", "datetime"):
            problem += _date_problem(nulled, c, schema[c], formats.get(c))
        problems.append(problem)
    return problems


_ORDER: tuple[ColumnType, ...] = ("int64", "float64", "bool", "datetime", "date")


def infer_types(frame: pl.DataFrame) -> dict[str, Inferred]:
    """Infer each text column's type, datetime format and sentinels, in one pass plus one.

    A column is typed when every non-null value parses (sentinels such as `N/A` aside, except
    for bool). ISO 8601 needs no format; day-first, month-first and year-first dates are
    recognised when the values settle the order, and stay text with a note when they do not.
    """
    if frame.height == 0:
        return {c: Inferred() for c in frame.columns}
    text = {c: pl.col(c).str.strip_chars() for c in frame.columns}
    stats = frame.select(
        *(pl.col(c).is_not_null().sum().alias(f"n|{c}") for c in frame.columns),
        *(text[c].is_in(list(SENTINELS)).sum().alias(f"s|{c}") for c in frame.columns),
        *(text[c].str.contains(_DATE_LIKE).sum().alias(f"d|{c}") for c in frame.columns),
        *(
            _parse(c, kind, None).is_not_null().sum().alias(f"{kind}|{c}")
            for c in frame.columns
            for kind in _ORDER
        ),
    ).row(0, named=True)
    result: dict[str, Inferred] = {}
    dated: list[str] = []
    for c in frame.columns:
        present, sentinel = stats[f"n|{c}"], stats[f"s|{c}"]
        result[c] = Inferred()
        for kind in _ORDER:
            parsed = stats[f"{kind}|{c}"]
            if parsed and parsed == present:
                result[c] = Inferred(kind)
                break
            if parsed and sentinel and parsed + sentinel == present and kind != "bool":
                result[c] = Inferred(kind, sentinel_count=sentinel)
                break
        else:
            like = stats[f"d|{c}"]
            if like and like + sentinel == present:
                dated.append(c)
    if dated:
        result.update(_infer_formats(frame, dated, stats))
    return _with_sentinel_tokens(frame, result)


def _date_candidates() -> list[tuple[ColumnType, str]]:
    return [
        ("date" if not suffix else "datetime", base + suffix)
        for base in (*DAY_FIRST, *MONTH_FIRST, *YEAR_FIRST)
        for suffix in _TIME_SUFFIXES
    ]


def _infer_formats(
    frame: pl.DataFrame, columns: list[str], stats: dict[str, object]
) -> dict[str, Inferred]:
    """The one non-ISO date format each column's values fit, or a note when the order is open."""
    candidates = _date_candidates()
    counts = frame.select(
        _parse(c, kind, fmt).is_not_null().sum().alias(f"{i}|{c}")
        for c in columns
        for i, (kind, fmt) in enumerate(candidates)
    ).row(0, named=True)
    result: dict[str, Inferred] = {}
    for c in columns:
        present, sentinel = int(stats[f"n|{c}"]), int(stats[f"s|{c}"])  # type: ignore[call-overload]
        fits = [
            (kind, fmt)
            for i, (kind, fmt) in enumerate(candidates)
            if counts[f"{i}|{c}"] == present - sentinel
        ]
        if not fits:
            result[c] = Inferred()
            continue
        kind, fmt = fits[0]
        day_first = fmt.startswith("%d")
        twin = fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m")
        if day_first and (kind, twin) in fits:
            result[c] = Inferred(
                note=(
                    f"holds dates whose day and month order is open (no part is above 12); "
                    f"read as text. Declare type: {kind} with format: '{fmt}' (day first) "
                    f"or '{twin}' (month first)"
                )
            )
            continue
        result[c] = Inferred(kind, fmt, sentinel_count=sentinel)
    return result


def _with_sentinel_tokens(frame: pl.DataFrame, result: dict[str, Inferred]) -> dict[str, Inferred]:
    """Name the sentinel strings each typed column holds (they become source.null_values)."""
    noisy = [c for c, info in result.items() if info.sentinel_count]
    if not noisy:
        return result
    found = frame.select(
        pl.col(c)
        .str.strip_chars()
        .filter(pl.col(c).str.strip_chars().is_in(list(SENTINELS)))
        .unique()
        .sort()
        .implode()
        .alias(c)
        for c in noisy
    ).row(0, named=True)
    for c in noisy:
        info = result[c]
        result[c] = Inferred(
            info.type, info.format, tuple(found[c]), info.sentinel_count, info.note
        )
    return result
