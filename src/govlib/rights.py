"""Data-subject rights: find a person everywhere (Art. 15), export their rows, erase them (Art. 17).

A subject is found by email or phone (normalised before matching) or by subject id, in every
dataset that holds them, following the catalog's relationships. An export of their rows is a
restricted output: it is written only where asked, and its CSV cells are neutralised against
formula injection. Erasure uses the erasure engine retention uses (`govlib.erasure`): the same
cascade, the same erasure log, and a proof that the subject is findable nowhere in the new copy.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import polars as pl

from govlib import databases, erasure, identity, outputs, restricted, sources
from govlib.catalog import Catalog, Dataset, PiiKind
from govlib.errors import ExecutionError, GovlibError, ParameterError, ProtectionError
from govlib.records import Record

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

log = logging.getLogger("govlib")
PhoneKeys = dict[tuple[str, str], pl.Series]  # (dataset, phone column) -> E.164 keys per row


class UnknownSubjectError(GovlibError):
    """No dataset holds the subject asked for."""


class AmbiguousSubjectError(GovlibError):
    """The search found more than one subject id, and the command was not told to go on."""


@dataclass(frozen=True, slots=True)
class SubjectMatch(Record):
    """Where a subject's rows are: row counts per dataset.

    `identifiers` holds every (kind, key) pair found in any of the subject's rows: subject
    ids, e-mail and E.164 phone keys. It stays in memory (the erasure proof searches by it)
    and is left out of `to_dict`, `repr` and comparisons.
    """

    rows: dict[str, int]
    subjects: int
    identifiers: frozenset[tuple[str, str]] = field(default=frozenset(), repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The match as a plain dict: counts only."""
        return {"rows": dict(self.rows), "subjects": self.subjects}

    def table_rows(self) -> list[dict[str, Any]]:
        """One row per dataset: its rows of the subject."""
        return [{"dataset": name, "rows": n} for name, n in self.rows.items()]


@dataclass(frozen=True, slots=True)
class ErasedDataset(Record):
    """One dataset in an erasure: the subject's rows before, and those left in the new copy."""

    dataset: str
    before: int
    remaining: int  # 0, or the erasure proof fails


@dataclass(frozen=True, slots=True)
class Erasure(Record):
    """A written and proven erasure: what was written, and the proof per dataset (counts only)."""

    ROWS: ClassVar[str | None] = "datasets"

    out_dir: str
    unchanged: bool  # the folder already held this result (same inputs): nothing written
    files: list[str]
    log_entries: int
    identifiers: int  # how many identifiers of the subject the proof searched by
    datasets: list[ErasedDataset]


def _phone_keys(catalog: Catalog, frames: dict[str, pl.DataFrame]) -> PhoneKeys:
    """The E.164 keys of every phone column, per (dataset, column): parsed once per search."""
    return {
        (name, column): identity.phone_column_keys(catalog.dataset(name), frames[name], column)
        for name in catalog.names()
        for column, spec in catalog.dataset(name).columns.items()
        if spec.pii is PiiKind.PHONE and column in frames[name].columns
    }


def _identifiers(
    catalog: Catalog, frames: dict[str, pl.DataFrame], phones: PhoneKeys | None = None
) -> dict[str, pl.DataFrame]:
    """Per dataset, one row per identifier a record holds: (row, kind, key).

    Kinds: `id` (the catalog-wide subject id), `email` and `phone` (their identity keys).
    Every column declared as an e-mail or phone takes part, with or without a subject key.
    `phones`: the keys of `_phone_keys(catalog, frames)`, when already parsed.
    """
    phones = _phone_keys(catalog, frames) if phones is None else phones
    tables = {}
    for name in catalog.names():
        ds, frame = catalog.dataset(name), frames[name]
        parts: list[tuple[str, pl.Series]] = []
        id_column = identity.subject_id_column(ds, catalog)
        if id_column in frame.columns:
            parts.append(("id", frame[id_column].cast(pl.String)))
        for column, spec in ds.columns.items():
            if column not in frame.columns:
                continue
            if spec.pii is PiiKind.EMAIL:
                parts.append(("email", frame.select(identity.email_keys(pl.col(column)))[column]))
            elif spec.pii is PiiKind.PHONE:
                parts.append(("phone", phones[(name, column)]))
            elif spec.pii is PiiKind.NATIONAL_ID:
                key = identity.national_id_key(pl.col(column))
                parts.append(("national_id", frame.select(key)[column]))
        rows = pl.int_range(frame.height, dtype=pl.UInt32, eager=True)
        tables[name] = pl.concat(
            [pl.DataFrame({"row": rows, "key": keys.cast(pl.String)})
             .select("row", kind=pl.lit(kind, pl.String), key="key")
             for kind, keys in parts]
            or [pl.DataFrame(schema={"row": pl.UInt32, "kind": pl.String, "key": pl.String})]
        ).drop_nulls("key")  # fmt: skip
    return tables


def unsearchable_phones(
    catalog: Catalog, frames: dict[str, pl.DataFrame], phones: PhoneKeys | None = None
) -> dict[str, int]:
    """Per dataset, stored phone values that have no E.164 key and so match no search.

    A number in national format needs a region: the record's country. Without a country column
    (or with an unknown country) such a number can be neither found nor erased.
    """
    phones = _phone_keys(catalog, frames) if phones is None else phones
    counts: dict[str, int] = {}
    for (name, column), keys in phones.items():
        missed = int((frames[name][column].is_not_null() & keys.is_null()).sum())
        if missed:
            counts[name] = counts.get(name, 0) + missed
    return counts


def _unsearchable_in_database(ds: Dataset) -> int:
    """`unsearchable_phones` counted inside a database table.

    Its numbers in national format whose row has no known country: the cause the warning names.
    """
    columns = [c for c, spec in ds.columns.items() if spec.pii is PiiKind.PHONE]
    if not columns:
        return 0
    con, t = databases.open_table(ds)
    try:
        return _count_unsearchable(ds, con, t, columns)
    except GovlibError:
        raise
    except Exception as exc:
        raise databases.DatabaseError(
            ds.name,
            f"counting phones in {databases.location(ds.source)} failed ({type(exc).__name__})",
            "Check the table and the user's grants",
        ) from None
    finally:
        con.disconnect()


def _count_unsearchable(ds: Dataset, con: Any, t: Any, columns: list[str]) -> int:
    from govlib.quality.rules import phone_candidate

    country = identity.country_column(ds, list(ds.columns))
    region = t[country].cast("string") if country else None
    found = databases.rows(con, t.select(c=region).distinct()) if country else []
    names = [r["c"] for r in found]
    backend = getattr(con, "name", "")
    counts = {
        f"n{i}": t.count(
            where=t[c].notnull()
            & phone_candidate(t[c].cast("string"), region, names, backend).isnull()
        )
        for i, c in enumerate(columns)
    }
    [row] = databases.rows(con, t.aggregate(**counts))
    return sum(int(v or 0) for v in row.values())


def _warn_unmatched(catalog: Catalog, reached: list[str]) -> None:
    """Say which datasets hold personal columns a search cannot match a subject by."""
    for name in catalog.names():
        if name not in reached and catalog.dataset(name).pii_columns():
            log.warning(
                "%s: holds personal columns but no e-mail, phone, national id, subject id or "
                "relationship a search can match: any rows of the subject there are not found; "
                "review it by hand, or declare how it relates to the others",
                name,
            )


def _warn_unsearchable(
    catalog: Catalog, frames: dict[str, pl.DataFrame], searched: bool, phones: PhoneKeys
) -> None:
    counts = unsearchable_phones(catalog, frames, phones)
    for name in catalog.names():
        if searched and catalog.dataset(name).source.is_database:
            counts.pop(name, None)
            if n := _unsearchable_in_database(catalog.dataset(name)):
                counts[name] = n
    for name, n in sorted(counts.items()):
        log.warning(
            "%s: %d phone value(s) cannot be searched (national format with no known country): "
            "the subject may have rows there that are not found; store numbers with + or give "
            "the dataset a country column",
            name,
            n,
        )


def _query(
    catalog: Catalog,
    frames: dict[str, pl.DataFrame],
    *,
    email: str | None,
    phone: str | None,
    subject_id: str | None,
    country: str | None,
) -> tuple[str, str]:
    """The identifier asked for, as a (kind, key) pair; a `ParameterError` when unusable."""
    if sum(x is not None for x in (email, phone, subject_id)) != 1:
        raise ParameterError("give exactly one of --email, --phone or --customer-id")
    if email is not None:
        key = identity.email_key(email)
        if key is None:
            raise ParameterError("--email is not an address like name@example.com; check it")
        return ("email", key)
    if phone is not None:
        if country is not None and identity.region(country) is None:
            raise ParameterError("--country is not a country: give an ISO code such as GB or DE")
        if country is None and not identity.is_international(phone):
            raise ParameterError(
                "--phone is in national format: add --country (for example --country GB), "
                "or write it with + and the country code"
            )
        key = identity.phone_key(phone, country)
        if key is None:
            raise ParameterError("--phone is not a valid number for its country; check it")
        return ("phone", key)
    return ("id", _subject_id(catalog, frames, str(subject_id)))


def _subject_id(catalog: Catalog, frames: dict[str, pl.DataFrame], subject_id: str) -> str:
    """`--customer-id` in the form the data's ids take (`042` is `42` for integer ids)."""
    for name in catalog.names():
        column = identity.subject_id_column(catalog.dataset(name), catalog)
        if column not in frames[name].columns:
            continue
        dtype = frames[name].schema[column]
        try:
            wanted = pl.Series([subject_id.strip()]).cast(dtype, strict=True)
        except pl.exceptions.InvalidOperationError:
            raise ParameterError(
                f"--customer-id must be a {dtype} value like the data's ids"
            ) from None
        return str(wanted.cast(pl.String).item())
    raise ParameterError("--customer-id needs a dataset with a subject_key in the catalog")


def _closure(
    tables: dict[str, pl.DataFrame], start: tuple[str, str]
) -> tuple[frozenset[tuple[str, str]], dict[str, pl.Series]]:
    """Every identifier reachable from `start` through shared rows, and the rows holding them.

    A row holding any known identifier belongs to the subject, and all its identifiers become
    known; repeated until nothing new is found. Returns the identifiers and, per dataset, the
    row numbers of the subject.
    """
    known = {start}
    while True:
        wanted = pl.DataFrame(sorted(known), schema=["kind", "key"], orient="row")
        rows, found = {}, set()
        for name, table in tables.items():
            hit = table.join(wanted, on=["kind", "key"], how="semi")["row"].unique()
            rows[name] = hit
            mine = table.filter(pl.col("row").is_in(hit.implode()))
            found |= set(mine.select("kind", "key").iter_rows())
        if found <= known:
            return frozenset(known), rows
        known |= found


def find(
    catalog: Catalog,
    *,
    email: str | None = None,
    phone: str | None = None,
    subject_id: str | None = None,
    country: str | None = None,
    as_of: date,
    frames: dict[str, pl.DataFrame] | None = None,
) -> tuple[SubjectMatch, erasure.Plan]:
    """Every dataset's rows of the subject, as counts and as a plan (row masks).

    The subject is found by one identifier, then by every identifier its rows hold (all its
    e-mails, phones and ids), in every dataset with a personal column of that kind. A phone in
    national format needs `country` (a code or name); stored numbers take the record's own.
    """
    searched = frames is None  # database tables are searched where they are
    reached = holders(catalog)
    if frames is None:
        frames = subject_frames(catalog, reached, tables=False)
    start = _query(
        catalog, frames, email=email, phone=phone, subject_id=subject_id, country=country
    )
    if searched:
        frames = _gather(catalog, frames, start, reached, as_of=as_of)
    phones = _phone_keys(catalog, frames)
    _warn_unsearchable(catalog, frames, searched, phones)
    _warn_unmatched(catalog, reached)
    identifiers, rows = _closure(_identifiers(catalog, frames, phones), start)
    if not any(len(r) for r in rows.values()):
        raise UnknownSubjectError(
            "no dataset holds that subject. Check the value (emails and phones are normalised "
            "before matching)"
        )
    plan = _plan(catalog, frames, identifiers, rows, as_of=as_of)
    counts = {name: int(mask.sum()) for name, mask in plan.deletes.items()}
    ids = sum(kind == "id" for kind, _ in identifiers)
    match = SubjectMatch(dict(sorted(counts.items())), max(ids, 1), identifiers)
    return match, plan


def holders(catalog: Catalog) -> list[str]:
    """The datasets that may hold a subject's rows: those a search reads.

    A dataset holds an e-mail, phone or national id column, or the subject id, or takes part
    in a relationship (its rows follow, or are followed by, the rows they point at). Any other
    (a weather table) cannot hold the subject, and is not read: it cannot stop a search.
    """
    linked = {rel.target[0] for name in catalog.names()
              for rel in catalog.dataset(name).relationships}  # fmt: skip
    found = []
    for name in catalog.names():
        ds = catalog.dataset(name)
        kinds = {spec.pii for spec in ds.columns.values()}
        identifying = bool(kinds & {PiiKind.EMAIL, PiiKind.PHONE, PiiKind.NATIONAL_ID})
        if (identifying or ds.relationships or name in linked
                or identity.subject_id_column(ds, catalog) is not None):  # fmt: skip
            found.append(name)
    return found


def subject_frames(
    catalog: Catalog, reached: list[str] | None = None, *, tables: bool = True
) -> dict[str, pl.DataFrame]:
    """Every dataset that may hold a subject (`reached`, default `holders`), read whole.

    The others, and without `tables` the database tables (searched where they are), as empty
    frames of their declared columns.
    """
    reached = holders(catalog) if reached is None else reached
    read = [n for n in reached if tables or not catalog.dataset(n).source.is_database]
    loaded = sources.load_all(catalog, read)
    for name in catalog.names():
        if name not in loaded:
            loaded[name] = pl.DataFrame(schema=sources.polars_schema(catalog.dataset(name)))
    return {name: loaded[name] for name in catalog.names()}


def _gather(
    catalog: Catalog,
    frames: dict[str, pl.DataFrame],
    start: tuple[str, str],
    reached: list[str],
    *,
    as_of: date,
) -> dict[str, pl.DataFrame]:
    """`frames` with each database table's rows that may be the subject's, and no others.

    A table's rows are read when they hold an identifier found so far (its subject id, its
    e-mail key, the last five digits of a phone's national number anywhere among the row's
    ASCII digits, or any phone holding a non-ASCII character, for the exact key to judge), or
    point, by a relationship, at a row the erasure plan takes. The search is repeated with what
    those rows add until it adds nothing: every row the whole tables would give is then among
    those read, and the subject's counts are the same (only the search reads less).
    """
    tables = [name for name in reached if catalog.dataset(name).source.is_database]
    if not tables:
        return frames
    known: set[tuple[str, str]] = {start}
    pointed: dict[tuple[str, str], set[object]] = {}
    for _ in range(GATHER_ROUNDS):
        merged = dict(frames)
        for name in tables:
            ds = catalog.dataset(name)
            merged[name] = databases.matching(
                ds, functools.partial(_may_hold, ds, catalog, frozenset(known), pointed)
            )
        identifiers, rows = _closure(_identifiers(catalog, merged), start)
        plan = _plan(catalog, merged, identifiers, rows, as_of=as_of)
        more = _pointed_at(catalog, plan, tables)
        grew = any(not values <= pointed.get(k, set()) for k, values in more.items())
        if identifiers <= known and not grew:
            return merged
        known |= identifiers
        for k, values in more.items():
            pointed.setdefault(k, set()).update(values)
    raise ExecutionError(
        f"the search for the subject still grew after {GATHER_ROUNDS} rounds of reading the "
        "database tables; search a copy of the data in files (sources.load_all) instead"
    )


# rounds of `_gather`: each follows one more link (a shared e-mail, phone, id or relationship)
GATHER_ROUNDS = 100


def _may_hold(
    ds: Dataset,
    catalog: Catalog,
    known: frozenset[tuple[str, str]],
    pointed: dict[tuple[str, str], set[object]],
    table: Any,
    backend: str,
) -> Any:
    """The condition on a database table for rows that may hold the subject (see `_gather`)."""
    import ibis

    from govlib.engine.regex import translate
    from govlib.quality.rules import email_key_expr

    wanted = defaultdict(list)
    for kind, key in known:
        wanted[kind].append(key)
    found = []
    id_column = identity.subject_id_column(ds, catalog)
    if id_column in ds.columns and wanted["id"]:
        dtype = sources.polars_schema(ds)[id_column]
        ids = pl.Series(wanted["id"]).cast(dtype, strict=False).drop_nulls().to_list()
        if ids:
            found.append(table[id_column].isin(ids))
    suffixes = sorted({_last_digits(key) for key in wanted["phone"]})
    # one alternation of digit strings: an OR per number nested past Python's recursion limit
    held = "(?:" + "|".join(suffixes) + ")"
    for column, spec in ds.columns.items():
        if spec.pii is PiiKind.EMAIL and wanted["email"]:
            found.append(email_key_expr(table[column], backend).isin(wanted["email"]))
        elif spec.pii is PiiKind.NATIONAL_ID and wanted["national_id"]:
            plain = table[column].cast("string").upper()
            plain = plain.re_replace(translate(r"[\s\-./]", backend=backend), "")
            found.append(plain.isin(wanted["national_id"]))
        elif spec.pii is PiiKind.PHONE and suffixes:
            text = table[column].cast("string")
            digits = text.re_replace(translate("[^0-9]", backend=backend), "")
            odd = text.re_search(translate("[^\\x00-\\x7f]", backend=backend))
            found.append(odd | digits.re_search(held))
    for rel in ds.relationships:
        values = pointed.get((ds.name, rel.column))
        if values:
            found.append(table[rel.column].isin(sorted(values, key=str)))
    return ibis.or_(*found).fill_null(False) if found else None


def _last_digits(e164: str) -> str:
    """The last five digits of a number's national significant number (all, when shorter).

    Five, not more: a local number of some regions is stored without digits its E.164 form
    puts before it (Guernsey's `256789` is `+441481256789`, Norfolk Island's `12345`
    `+672312345`).
    """
    import phonenumbers

    return phonenumbers.national_significant_number(phonenumbers.parse(e164))[-5:]


def _pointed_at(
    catalog: Catalog, plan: erasure.Plan, tables: list[str]
) -> dict[tuple[str, str], set[object]]:
    """Per (database table, column), the keys its relationships point at in rows the plan takes."""
    out: dict[tuple[str, str], set[object]] = {}
    for name in tables:
        for rel in catalog.dataset(name).relationships:
            target, column = rel.target
            gone = plan.deletes.get(target)
            if gone is None or not gone.any():
                continue
            keys = plan.frames[target].filter(gone)[column].drop_nulls()
            if keys.dtype.is_float():
                keys = keys.drop_nans()  # equal to nothing, so nothing points at it
            out[(name, rel.column)] = set(keys.unique().to_list())
    return out


def _plan(
    catalog: Catalog,
    frames: dict[str, pl.DataFrame],
    identifiers: frozenset[tuple[str, str]],
    rows: dict[str, pl.Series],
    *,
    as_of: date,
) -> erasure.Plan:
    """The erasure plan: the subject ids' rows and cascade, plus every row found directly.

    A dataset without a subject id (an e-mail list with its own primary key) loses the rows
    that hold the subject's e-mail or phone; its log entries name those rows' primary keys.
    """
    ids: list[object] = []
    for name in catalog.names():
        column = identity.subject_id_column(catalog.dataset(name), catalog)
        if column in frames[name].columns:
            typed = frames[name][column]
            ids += typed.filter(typed.cast(pl.String).is_in(
                [key for kind, key in identifiers if kind == "id"])).unique().to_list()  # fmt: skip
    unique_ids = sorted({str(i): i for i in ids}.items())
    plan = erasure.delete_subjects(catalog, [i for _, i in unique_ids], as_of=as_of, frames=frames)
    for name, hit in rows.items():
        frame = frames[name]
        mask = pl.int_range(frame.height, dtype=pl.UInt32, eager=True).is_in(hit.implode())
        before = plan.deletes.get(name)
        if not (mask if before is None else mask & ~before).any():
            continue
        extra = plan.mark_delete(name, mask, "erasure_request")
        pk = catalog.dataset(name).primary_key
        if pk and identity.subject_id_column(catalog.dataset(name), catalog) is None:
            for value in frame.filter(extra)[pk[0]].to_list():
                plan.subjects.append((name, "erasure_request", "delete", value))
    # rows found directly (an e-mail list's) take the rows pointing at them too
    erasure.cascade(catalog, plan, identity.root_dataset(catalog))
    return plan


def neutralise(value: object) -> object:
    """A CSV cell that spreadsheets will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_writer(rows: pl.DataFrame) -> outputs.Writer:
    """CSV of `rows` with every text cell and every header neutralised against formulas."""
    formula = "^[" + re.escape("".join(FORMULA_START)) + "]"
    safe = rows.with_columns(
        pl.when(pl.col(c).str.contains(formula))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in rows.schema.items()
        if t == pl.String
    )

    def write(fh: BinaryIO) -> None:
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow([neutralise(c) for c in rows.columns])
        fh.write(header.getvalue().encode("utf-8"))
        safe.write_csv(fh, include_header=False)

    return write


def export(
    plan: erasure.Plan, out_dir: str | Path, *, catalog: Catalog | None = None
) -> list[Path]:
    """Write the subject's rows per dataset as JSON and CSV into `out_dir` (restricted output).

    The files are 0600 in a 0700 folder, encrypted to the recipients when configured (see
    `govlib.restricted`), and refused where a source of `catalog` would read them.
    """
    files: dict[str, outputs.Writer] = {}
    for name, mask in sorted(plan.deletes.items()):
        rows = plan.frames[name].filter(mask)
        if rows.height == 0:
            continue
        text = json.dumps(rows.to_dicts(), indent=2, default=str, ensure_ascii=False) + "\n"
        files[f"{name}.json"] = outputs.text_writer(text)
        files[f"{name}.csv"] = _csv_writer(rows)
    return restricted.write_files(catalog, out_dir, files, prefix=".export-")


def copy_frames(
    catalog: Catalog,
    out_dir: Path,
    frames: dict[str, pl.DataFrame],
    *,
    written: dict[str, pl.DataFrame] | None = None,
) -> dict:
    """The datasets as they stand after an erasure: new copies where written, else the source.

    A plain copy is read back from `out_dir`. An encrypted one cannot be (this machine holds
    no identity): `written`, the frames that were encrypted into it, stands for it.
    """
    merged = dict(frames)
    for name in catalog.names():
        path = out_dir / f"{name}.parquet"
        if path.is_file():
            merged[name] = pl.read_parquet(path)
        elif path.with_name(path.name + restricted.SUFFIX).is_file():
            if written is None or name not in written:
                raise ExecutionError(
                    f"the encrypted copy of {name} cannot be checked: pass the written frames"
                )
            merged[name] = written[name]
    return merged


def remaining(
    catalog: Catalog, frames: dict[str, pl.DataFrame], match: SubjectMatch
) -> dict[str, int]:
    """Rows per dataset still holding any identifier of the subject (the proof: all zeros)."""
    wanted = pl.DataFrame(sorted(match.identifiers), schema=["kind", "key"], orient="row")
    return {
        name: table.join(wanted, on=["kind", "key"], how="semi")["row"].n_unique()
        for name, table in _identifiers(catalog, frames).items()
    }


def prove_erased(
    catalog: Catalog, frames: dict[str, pl.DataFrame], match: SubjectMatch
) -> dict[str, int]:
    """Search the new copy by every identifier of the subject; raise if any row remains.

    Returns the rows left per dataset (all zeros). Raises `ProtectionError` (exit 4) naming
    each dataset that still holds the subject and how many rows, without any value.
    """
    left = remaining(catalog, frames, match)
    if any(left.values()):
        where = ", ".join(f"{name}: {n} row(s)" for name, n in sorted(left.items()) if n)
        raise ProtectionError(
            f"erasure proof failed: the subject is still findable in the new copy ({where}). "
            "Do not use this copy; report it with the erasure log"
        )
    return left


def erase(
    catalog: Catalog,
    match: SubjectMatch,
    plan: erasure.Plan,
    out_dir: str | Path,
    *,
    key: bytes,
    run_at: datetime,
) -> Erasure:
    """Write the erasure (new copy and log, restricted) into `out_dir`, then prove it.

    The proof searches the written copy by every identifier of the subject; it raises
    `ProtectionError` (exit 4) when any row remains, naming datasets and counts only.
    """
    summary = erasure.execute(catalog, plan, out_dir, key=key, run_at=run_at, kind="erasure")
    written = erasure.apply(catalog, plan)
    after = copy_frames(catalog, Path(out_dir), plan.frames, written=written)
    left = prove_erased(catalog, after, match)
    return Erasure(
        out_dir=str(out_dir),
        unchanged=bool(summary.get("unchanged")),
        files=list(summary.get("files", [])),
        log_entries=int(summary.get("log_entries", 0)),
        identifiers=len(match.identifiers),
        datasets=[ErasedDataset(name, match.rows.get(name, 0), n) for name, n in left.items()],
    )


def require_one(match: SubjectMatch, *, yes: bool, by_id: bool, verb: str = "erase") -> None:
    """Refuse (`AmbiguousSubjectError`) when several subject ids match, unless `yes`.

    The message gives how many, never which.
    """
    if match.subjects <= 1 or yes:
        return
    narrow = "" if by_id else ", or narrow the search with --customer-id"
    raise AmbiguousSubjectError(
        f"{match.subjects} subjects match (their rows share an e-mail or phone); rerun with "
        f"--yes to {verb} all of them{narrow}"
    )
