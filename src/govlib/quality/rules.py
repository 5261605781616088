"""govlib's own checks, those GX cannot express: referential integrity and duplicate subjects.

Both run as Ibis queries where the data is (`govlib.engine.backends.Data`): in process on
polars for files, inside the database for a database source. Only counts travel back, with
two bounded exceptions said here:

- Referential integrity is one anti-join when child and parent share a connection (files on
  polars, or tables of one database). Across sources (a file and a table, or two databases)
  each side's distinct keys are read in batches and joined in polars: a read of the distinct
  key columns, never of the tables.
- Duplicate e-mails are found entirely in the query: the key (`identity.email_keys`: trimmed
  of the whitespace polars trims, lower-cased, kept only when it is an address) is spelled in
  Ibis string operations and gives the same keys. Duplicate phones need `phonenumbers` for the
  E.164 key: the database groups rows by a candidate key (digits, with the country's calling
  code and without its national prefix, which is the E.164 form of the numbers the sample
  holds). Among candidates shared by several subjects, the database decides those
  `phonenumbers` would key the same way (`phonesql`: the library's validity rules as regexes,
  where each row's spelling parses to the candidate) and counts their rows; only the rows of
  the others travel back, as distinct (phone, country, id) groups, to be keyed by
  `identity.phone_key` exactly. A candidate of more or fewer digits than any valid number has
  (a placeholder such as `0000`) never travels. A number whose
  candidate differs from its E.164 form (an international call prefix other than `00` or `+`,
  an extension, non-ASCII digits) is not matched with its other spellings there: it can only
  be missed, never counted wrongly. On polars every row is keyed exactly.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from typing import Any

import polars as pl

from govlib import identity
from govlib.catalog import Dataset, PiiKind
from govlib.engine.backends import Data, open_frame, side_by_side
from govlib.quality.results import CheckResult

# the whitespace polars' `strip_chars` trims (Rust's `char::is_whitespace`)
TRIMMED = "".join(
    chr(c)
    for c in (*range(0x9, 0xE), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028,
              0x2029, 0x202F, 0x205F, 0x3000)
)  # fmt: skip
KELVIN = "\u212a"  # the one non-ASCII letter whose lower case is an address character ("k")
BATCH_ROWS = 50_000


def referential_integrity(
    ds: Dataset, frame: pl.DataFrame | Data, targets: dict[str, pl.DataFrame | Data]
) -> list[CheckResult]:
    """For each declared relationship: non-null keys that point at no row of the target.

    `frame` and `targets` are polars frames, or tables opened by `govlib.engine.backends`.
    """
    child = _data(frame)
    beside = child.con if child.backend == "polars" else None  # frames join in process
    parents = {name: _data(t, con=beside) for name, t in targets.items()}
    checks = []
    for rel in ds.relationships:
        target, column = rel.target
        t = child.table
        [row] = child.rows(t.aggregate(n=t.count(), k=t.count(where=t[rel.column].notnull())))
        height, keys = int(row["n"] or 0), int(row["k"] or 0)
        orphans = _orphans(child, rel.column, parents[target], column)
        checks.append(
            govlib_check(
                ds.name, "referential_integrity", rel.column, {"references": rel.references},
                "consistency", keys, orphans, height - keys,
            )
        )  # fmt: skip
    return checks


def _data(frame: pl.DataFrame | Data, con: Any = None) -> Data:
    if isinstance(frame, Data):
        return frame
    return open_frame(frame, "polars", name=f"t{id(frame)}", con=con)


def _orphans(child: Data, column: str, parent: Data, key: str) -> int:
    """Child rows whose non-null key is no parent's key."""
    t = child.table
    kept = t.filter(t[column].notnull())
    if child.con is parent.con:
        known = parent.table.select(__k=parent.table[key]).distinct()
        missing = kept.anti_join(known, kept[column] == known["__k"])
        [row] = child.rows(missing.aggregate(o=lambda m: m.count()))
        return int(row["o"] or 0)
    # across sources: each side's distinct keys, read in batches, joined here
    counts = _collect(child, kept.group_by(__k=kept[column]).aggregate(__n=lambda g: g.count()))
    known_keys = _collect(parent, parent.table.select(__k=parent.table[key]).distinct())
    known_keys = known_keys.select(pl.col("__k").cast(counts.schema["__k"], strict=False))
    return int(counts.join(known_keys, on="__k", how="anti")["__n"].sum())


def _collect(data: Data, expr: Any) -> pl.DataFrame:
    parts = [pl.DataFrame(batch) for batch in data.batches(expr, BATCH_ROWS)]
    if not parts:
        return pl.DataFrame(expr.schema().to_pyarrow().empty_table())
    return pl.concat(parts)


def normalised_phone(phone: pl.Expr, country: pl.Expr | None) -> pl.Expr:
    """E.164 of valid numbers, the region from the record's country (see `identity`)."""
    return identity.phone_keys(phone, country)


def duplicate_subjects(ds: Dataset, frame: pl.DataFrame | Data) -> list[CheckResult]:
    """Rows whose email or phone key is shared with a row of another subject id.

    Keys come from `identity`: values that are no address or no valid number have none (a
    shared placeholder is not a shared person) and count as present but never shared.
    """
    data = _data(frame)
    key = identity.subject_key(ds)
    columns = list(data.table.columns)
    if key is None or key not in columns:
        return []
    country = identity.country_column(ds, columns)
    checked = [
        (column, spec.pii)
        for column, spec in ds.columns.items()
        if spec.pii in (PiiKind.EMAIL, PiiKind.PHONE) and column in columns
    ]

    def check(column: str, kind: PiiKind, data: Data) -> CheckResult:
        t = data.table
        [row] = data.rows(t.aggregate(n=t.count(), p=t.count(where=t[column].notnull())))
        height, present = int(row["n"] or 0), int(row["p"] or 0)
        if kind is PiiKind.EMAIL:
            shared = _shared_emails(data, key, column)
        else:
            shared = _shared_phones(data, key, column, country)
        return govlib_check(
            ds.name, "duplicate_subjects", column, {"normalised": kind.value},
            "uniqueness", present, shared, height - present,
        )  # fmt: skip

    # each column's check side by side where the database allows
    jobs = [functools.partial(check, column, kind) for column, kind in checked]
    return side_by_side(data, jobs)


def email_key_expr(value: Any, backend: str) -> Any:
    """`identity.email_keys` as an Ibis expression for `backend`: the same key, or null.

    The value is trimmed of the whitespace polars trims and matched against the address
    pattern, whose characters are ASCII (both cases): its lower case is then ASCII's, once the
    Kelvin sign, which lower-cases to `k`, is read as `k`. Matching before lower-casing keeps a
    letter some databases lower-case to ASCII (`İ`) out, as polars keeps it out.
    """
    from govlib.engine.regex import translate

    text = value.cast("string").replace(KELVIN, "k")
    trimmed = text.strip() if backend == "polars" else _trim(backend)(text, TRIMMED)
    address = trimmed.re_search(translate(identity.EMAIL_REGEX, backend=backend))
    return address.ifelse(trimmed.lower(), None)


def _trim(backend: str) -> Any:
    """The database's trim of any of a set of characters from both ends."""
    import ibis

    name = "btrim" if backend in ("postgres", "pyspark") else "trim"

    @ibis.udf.scalar.builtin(name=name)  # type: ignore[untyped-decorator]  # Ibis is untyped
    def trim(text: str, characters: str) -> str:
        """Trim `characters` from both ends (the database's own function)."""
        raise NotImplementedError  # never called: the query names the database's function

    return trim


def _several(rows: Any, known: Any, low: Any, high: Any) -> Any:
    """More than one subject among a group's ids, a missing id counting as one more subject.

    As polars' `n_unique` counts them; from the group's rows, non-null ids, lowest and highest
    id, which a database computes without sorting, unlike a distinct count.
    """
    return (low != high).fill_null(False) | ((rows > known) & (known > 0))


def _shared_emails(data: Data, key: str, column: str) -> int:
    t = data.table
    keyed = t.select(__id=t[key], __norm=email_key_expr(t[column], data.backend))
    # grouped before filtering: the key is computed once per row, nulls form one group
    groups = keyed.group_by("__norm").aggregate(
        rows=lambda g: g.count(),
        known=lambda g: g["__id"].count(),
        low=lambda g: g["__id"].min(),
        high=lambda g: g["__id"].max(),
    )
    several = _several(groups.rows, groups.known, groups.low, groups.high)
    # one condition naming the aggregates, so it stays above them (see `_shared_phones`)
    kept = groups.filter(several.ifelse(groups["__norm"].notnull(), False))
    [row] = data.rows(kept.aggregate(s=lambda g: g.rows.sum()))
    return int(row["s"] or 0)


def _shared_phones(data: Data, key: str, column: str, country: str | None) -> int:
    """Rows sharing an E.164 key with another subject: see the module's note on phones."""
    import ibis

    t = data.table
    region = t[country].cast("string") if country else None
    picked = t.select(__id=t[key], __p=t[column].cast("string"), __c=region)
    if data.backend == "polars":  # in process: every row keyed exactly, as `identity` does
        frame = data.con.to_polars(picked.filter(picked["__p"].notnull()))
        where = pl.col("__c") if country else None
        keyed = frame.select(pl.col("__id"), normalised_phone(pl.col("__p"), where).alias("k"))
        keyed = keyed.drop_nulls("k")
        return keyed.filter(pl.col("__id").n_unique().over("k") > 1).height
    names = [r["c"] for r in data.rows(t.select(c=region).distinct())] if country else []
    picked = picked.mutate(
        __cand=phone_candidate(picked["__p"], picked["__c"], names, data.backend)
    )
    # windows, not a join: the candidate is computed once per row
    w = ibis.window(group_by="__cand")
    marked = picked.mutate(
        __rows=picked["__p"].count().over(w),  # the group's rows: a candidate has a phone
        __known=picked["__id"].count().over(w),
        __low=picked["__id"].min().over(w),
        __high=picked["__id"].max().over(w),
    )
    low, high = e164_digits()
    candidate = marked["__cand"]
    several = _several(marked["__rows"], marked["__known"], marked["__low"], marked["__high"])
    number = candidate.length().between(low + 1, high + 1) & candidate.re_search("^[+][0-9]+$")
    # one condition naming the windows: a database cannot push it below them, where the
    # candidate would be computed once more per row
    shared = marked.filter(several.ifelse(number.fill_null(False), False))
    judged, decided = _judged(shared, names, data.backend)
    groups = (
        judged.filter(~decided)
        .group_by(["__p", "__c", "__id"])
        .aggregate(__n=lambda g: g.count(), __k=ibis.literal(False))
    )
    # the rows of candidates the database decided are counted there, beside the others' groups
    counted = judged.filter(decided & judged["__v"]).aggregate(__n=lambda g: g.count())
    nothing = {"__p": ibis.null("string"), "__c": ibis.null("string"),
               "__id": ibis.null(groups.schema()["__id"])}  # fmt: skip
    both = groups.union(counted.mutate(**nothing, __k=ibis.literal(True)).select(groups.columns))
    ids: dict[str, set[Any]] = defaultdict(set)
    rows: dict[str, int] = defaultdict(int)
    found = 0
    for row in data.rows(both):  # the rows of undecided shared candidates, and one count
        if row["__k"]:
            found += int(row["__n"] or 0)
            continue
        phone_key = identity.phone_key(row["__p"], row["__c"])
        if phone_key is not None:
            ids[phone_key].add(row["__id"])
            rows[phone_key] += row["__n"]
    return found + sum(rows[k] for k, subjects in ids.items() if len(subjects) > 1)


def _judged(shared: Any, names: list[Any], backend: str) -> tuple[Any, Any]:
    """`shared` with `__v` (the candidate is a valid number), and where the database decides.

    It decides a candidate (`phonesql.spelled`) that is valid, when every row's spelling parses
    to it if valid; or not valid, when every row's spelling parses to it whatever it is.

    Calling codes are those of the data's countries: a candidate of another code is left to
    `phonenumbers`.
    """
    import ibis

    from govlib.quality import phonesql

    valid, if_valid, always = phonesql.spelled(
        shared["__cand"], shared["__p"], shared["__c"], _named_regions(names), backend
    )
    w = ibis.window(group_by="__cand")
    judged = shared.mutate(
        __v=valid,
        __sv=if_valid.ifelse(1, 0).min().over(w),
        __sa=always.ifelse(1, 0).min().over(w),
    )
    decided = judged["__v"].ifelse(judged["__sv"] == 1, judged["__sa"] == 1)
    return judged, decided.fill_null(False)


@functools.cache
def e164_digits() -> tuple[int, int]:
    """The fewest and most digits a valid number's E.164 form has (from phonenumbers' data)."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    found = [PhoneMetadata.metadata_for_region(r) for r in phonenumbers.SUPPORTED_REGIONS]
    found += [
        PhoneMetadata.metadata_for_nongeo_region(code)
        for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS
    ]
    sizes = [
        len(str(meta.country_code)) + n
        for meta in found
        if meta is not None and meta.general_desc is not None
        for n in (meta.general_desc.possible_length or ())
    ]
    return min(sizes), max(sizes)


def phone_candidate(phone: Any, country: Any, names: list[Any], backend: str) -> Any:
    """A number's candidate key in the database: `+`, calling code, national number digits.

    Separators go by plain replacements (SQLite has no translate(), and PostgreSQL's took
    twice as long), and each region's calling code and national prefix are literals in one
    branch per region: the database spends little per row. A candidate holding anything but
    digits after its `+` is no number: the caller drops it.
    """
    import ibis

    from govlib.quality.phonesql import compact_phone

    compact = compact_phone(phone)
    branches = []
    for (code, prefix), named in _regions(names).items():
        whole = "+" + code + compact
        if prefix:
            whole = compact.startswith(prefix).ifelse(
                "+" + code + compact.substr(len(prefix)), whole
            )
        branches.append((country.isin(named), whole))
    national = ibis.cases(*branches, else_=None) if country is not None and branches else None
    return ibis.cases(
        (compact.startswith("+"), compact),
        (compact.startswith("00"), "+" + compact.substr(2)),
        else_=national if national is not None else ibis.null("string"),
    )


def _regions(names: list[Any]) -> dict[tuple[str, str], list[str]]:
    """The country values of the data by their region's (calling code, national prefix)."""
    import phonenumbers

    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, area in _named_regions(names).items():
        meta = phonenumbers.PhoneMetadata.metadata_for_region(area)
        if meta is not None:
            found[str(meta.country_code), meta.national_prefix or ""].append(name)
    return found


def _named_regions(names: list[Any]) -> dict[str, str]:
    """The data's country values that name a region, with its ISO code."""
    found = {}
    for name in names:
        area = identity.region(name) if isinstance(name, str) else None
        if area is not None:
            found[name] = area
    return found


def govlib_check(
    dataset: str,
    check: str,
    column: str,
    kwargs: dict[str, Any],
    dimension: str,
    elements: int,
    unexpected: int,
    missing: int,
) -> CheckResult:
    """A record for one of govlib's own checks: failed when any row is unexpected."""
    return CheckResult(
        dataset=dataset,
        check=check,
        column=column,
        kwargs=kwargs,
        dimension=dimension,
        status="passed" if unexpected == 0 else "failed",
        element_count=elements,
        unexpected_count=unexpected,
        unexpected_percent=round(100 * unexpected / elements, 6) if elements else 0.0,
        missing_count=int(missing),
        source="govlib",
    )
