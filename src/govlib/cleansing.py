"""Cleansing: standard forms, duplicate people merged, corrupted rows quarantined, in a new copy.

`plan()` works out everything a cleanse would change and counts it; `execute()` writes the new
copy of the dataset and its related datasets, a change log and a quarantine, atomically, and
never modifies the source. Outdated records are the retention rules' business, not this one's.

- Standardisation, per column from the catalog's `standardise`, or from the PII kind: emails
  trimmed with the domain lower-cased; phones in E.164 via `phonenumbers`, the region taken from
  the record's country; names with whitespace collapsed, NFC, and all-caps or all-lower words in
  title case; countries as ISO-3166 alpha-2 via `pycountry`; dates as ISO.
- Duplicate subjects: exact matches on the normalised email or phone, and fuzzy matches of the
  full name (rapidfuzz) within blocks of the same date of birth and postcode. The most recently
  active record survives and keeps its values, filling gaps from the others; consent merges to
  the most restrictive state (a withdrawal anywhere beats a grant); related rows are re-pointed.
- Quarantine: rows failing the suite's blocking expectations go to a restricted file with the
  reason for each.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar, TypedDict

import polars as pl

from govlib import applysql, identity, outputs, privacy, quality, restricted, sources
from govlib.catalog import Catalog, Dataset, PiiKind, unused_name
from govlib.errors import GovlibError
from govlib.records import Record

FUZZY_THRESHOLD = 90.0
FIRST_NAME_THRESHOLD = 85.0  # "Jon" ~ "John" is 85.7; "Liam" ~ "Lina" is 75
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y")


class CleanseError(GovlibError):
    """A cleanse that cannot be planned (no subject key, no such dataset)."""


@dataclass(frozen=True, slots=True)
class RuleCount(Record):
    """What one standardisation rule did to one column: counts only."""

    column: str
    rule: str
    changed: int
    unable: int  # values the rule could not standardise, left as they were


@dataclass(frozen=True, slots=True)
class MatchPair(Record):
    """Two subject ids that look like one person, and why (ids stay in restricted outputs)."""

    a: object
    b: object
    reason: str  # "email", "phone", "name+dob+postcode", or several joined by ", "
    score: float


@dataclass(frozen=True, slots=True)
class CleanseSummary(Record):
    """A cleanse as counts: the dry run's output and the record of an executed cleanse."""

    ROWS: ClassVar[str | None] = "standardisation"

    dataset: str
    standardisation: list[RuleCount]
    duplicate_pairs: int
    pairs_by_reason: dict[str, int]  # "email", "phone", "name+dob+postcode"
    records_merged: int
    repointed: dict[str, int]  # "orders.customer_id" -> rows re-pointed to a survivor
    quarantined: dict[str, int]  # dataset -> rows held
    changes: int  # change log entries


@dataclass(frozen=True, slots=True)
class ScoreChange(Record):
    """One quality dimension's score (0-100) on the source and on the cleansed copy."""

    dimension: str  # a quality dimension, or "overall"
    before: float | None
    after: float | None


@dataclass(frozen=True, slots=True)
class CleanseScores(Record):
    """Quality scores of a dataset before and after its cleanse, with the same suite."""

    ROWS: ClassVar[str | None] = "scores"
    CAPTION: ClassVar[str | None] = "quality scores before and after the cleanse"

    dataset: str
    as_of: str
    scores: list[ScoreChange]


@dataclass(slots=True)
class CleansePlan:
    """Everything a cleanse changes, with counts for the dry run."""

    dataset: str
    frames: dict[str, pl.DataFrame]
    standardised: pl.DataFrame
    rules: list[RuleCount]
    pairs: list[MatchPair]
    merges: dict[object, object]  # merged id -> survivor id
    quarantine: dict[str, pl.DataFrame]  # dataset -> rows with a `_reason` column
    repointed: dict[str, int] = field(default_factory=dict)
    changes: list[tuple[object, str, str, str]] = field(
        default_factory=list
    )  # id, rule, field, kind
    originals: dict[str, pl.DataFrame] = field(default_factory=dict)  # as read, per copy

    def record(self) -> CleanseSummary:
        """The plan as counts, a record."""
        return CleanseSummary(
            dataset=self.dataset,
            standardisation=list(self.rules),
            duplicate_pairs=len(self.pairs),
            pairs_by_reason={
                reason: sum(reason in p.reason.split(", ") for p in self.pairs)
                for reason in ("email", "phone", "name+dob+postcode")
            },
            records_merged=len(self.merges),
            repointed=dict(self.repointed),
            quarantined={name: frame.height for name, frame in self.quarantine.items()},
            changes=len(self.changes),
        )

    def summary(self) -> dict[str, Any]:
        """The plan as counts (`record()` as a plain dict)."""
        return self.record().to_dict()


# -- standardisation -------------------------------------------------------------------------


def rule_for(column: str, ds: Dataset) -> str | None:
    """The standardisation rule of a column: declared, else inferred from its PII kind."""
    spec = ds.columns.get(column)
    if spec is None:
        return None
    if spec.standardise:
        return spec.standardise
    inferred = {PiiKind.EMAIL: "email", PiiKind.PHONE: "phone", PiiKind.PERSON_NAME: "name"}
    if spec.pii in inferred and spec.type == "string":
        return inferred[spec.pii]
    if column.lower() in ("country", "country_code") and spec.type == "string":
        return "country"
    return None


def standard_email(values: pl.Expr) -> pl.Expr:
    """Trimmed, with the domain lower-cased; values without one `@` are left as they are."""
    return identity.standard_email(values)


def standard_name(value: str) -> str:
    """NFC, single spaces, and words written all in capitals or all in lower case titled.

    Each run of letters is titled (`O'BRIEN` is `O'Brien`, `R.E.` stays `R.E.`, `MCDONALD` is
    `McDonald`); a word in capitals with no vowel (`CC`, `TJ`: initials, but also `NG`) or a
    Roman numeral (`III`) stays as written.

    >>> standard_name("JEAN-PAUL O'BRIEN"), standard_name("CC R.E. SMITH III")
    ("Jean-Paul O'Brien", 'CC R.E. Smith III')
    >>> standard_name("LOUIS XIV"), standard_name("XAVI")
    ('Louis XIV', 'Xavi')
    >>> standard_name("ÓG MCDONALD"), standard_name("ó súilleabháin")
    ('Óg McDonald', 'Ó Súilleabháin')
    """
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if text and (text.isupper() or text.islower()) and len(text) > 1:
        text = " ".join(_titled(w) for w in text.split(" "))
    return text


LETTERS = re.compile(r"[^\W\d_]+")


def _titled(word: str) -> str:
    if word.isupper() and len(word) <= 4 and ROMAN.fullmatch(word):
        return word
    plain = unicodedata.normalize("NFKD", word.lower())  # Ó is O and a combining accent
    if word.isupper() and len(word) <= 3 and not set(plain) & set("aeiouy"):
        return word  # initials
    return LETTERS.sub(lambda run: MC.sub(_mc, run.group().capitalize()), word.lower())


ROMAN = re.compile(r"(?=[IVX]{2})X{0,3}(?:IX|IV|VI{0,3}|I{1,3})")  # a suffix: II, IV, XIV
MC = re.compile(r"^Mc([a-z])")


def _mc(match: re.Match[str]) -> str:
    return "Mc" + match.group(1).upper()


def standard_country(value: str) -> str | None:
    """ISO-3166 alpha-2 for a code, a name or a common alias; None when unknown."""
    return identity.region(value)


def standard_phone(phone: str, country: str | None) -> str | None:
    """E.164, the region from the record's country; None when it is not a valid number."""
    return identity.phone_key(phone, country)


def standard_date(value: str) -> str | None:
    """ISO `YYYY-MM-DD` from a few unambiguous day-first and ISO forms."""
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _map_unique(series: pl.Series, fn: Callable[[str], str | None]) -> pl.Series:
    """Apply a Python function once per distinct value."""
    mapping = {v: fn(v) for v in series.drop_nulls().unique().to_list()}
    return series.replace_strict(mapping, default=None, return_dtype=pl.String)


def standardise(
    ds: Dataset, frame: pl.DataFrame
) -> tuple[pl.DataFrame, list[RuleCount], dict[str, pl.Series]]:
    """Apply every column's rule; count what changed and what could not be standardised.

    Returns the new frame, the counts, and per column a mask of the rows that changed.
    """
    out = frame
    counts: list[RuleCount] = []
    changed_rows: dict[str, pl.Series] = {}
    rules = {c: rule for c in frame.columns if (rule := rule_for(c, ds))}
    columns = sorted(rules, key=lambda c: rules[c] != "country")  # phones need the country
    for column in columns:
        rule = rules[column]
        old = out[column]
        if rule == "email":
            new = out.select(standard_email(pl.col(column))).to_series()
        elif rule == "phone":
            new = _phones(out, column, ds)
        else:
            fn = {"name": standard_name, "country": standard_country, "date": standard_date}[rule]
            new = _map_unique(old, fn)
        unable = old.is_not_null() & new.is_null()
        final = (
            pl.DataFrame({"old": old, "new": new, "unable": unable})
            .select(pl.when(pl.col("unable")).then(pl.col("old")).otherwise(pl.col("new")))
            .to_series()
        )
        changed = (old.is_not_null() & ~unable & (final != old)).fill_null(False)
        out = out.with_columns(final.alias(column))
        counts.append(RuleCount(column, rule, int(changed.sum()), int(unable.sum())))
        changed_rows[column] = changed
    return out, counts, changed_rows


def _phones(frame: pl.DataFrame, column: str, ds: Dataset) -> pl.Series:
    return identity.phone_column_keys(ds, frame, column)


# -- duplicate subjects ----------------------------------------------------------------------

_Pairs = dict[tuple[object, object], MatchPair]  # (a, b) -> the match found so far


class _Roles(TypedDict):
    """The columns that identify a person, by role (the first of each PII kind)."""

    email: str | None
    phone: str | None
    names: list[str]
    dob: str | None
    postcode: str | None


def _roles(ds: Dataset, frame: pl.DataFrame) -> _Roles:
    by_kind: dict[PiiKind, list[str]] = {}
    for column, spec in ds.columns.items():
        if spec.pii is not None and column in frame.columns:
            by_kind.setdefault(spec.pii, []).append(column)

    def first(kind: PiiKind) -> str | None:
        return by_kind[kind][0] if by_kind.get(kind) else None

    return {
        "email": first(PiiKind.EMAIL),
        "phone": first(PiiKind.PHONE),
        "names": by_kind.get(PiiKind.PERSON_NAME, []),
        "dob": first(PiiKind.DATE_OF_BIRTH),
        "postcode": first(PiiKind.POSTCODE),
    }


def datasets(catalog: Catalog, name: str) -> list[str]:
    """`name` and the datasets pointing at its subject key: those a cleanse of `name` reads.

    Raises `CleanseError` when `name` has no subject key, so nothing is read in vain.
    """
    key = _merge_key(catalog.dataset(name))
    pointing = [
        other
        for other in catalog.names()
        if other != name
        and any(r.target == (name, key) for r in catalog.dataset(other).relationships)
    ]
    return [name, *pointing]


def _merge_key(ds: Dataset) -> str:
    """The subject key records merge on; `CleanseError` when the dataset has none."""
    key = identity.subject_key(ds, ds.catalog)
    if key is None:
        raise CleanseError(
            f"dataset {ds.name!r} has no subject key to merge on: declare its subject_key"
        )
    return key


def find_duplicates(ds: Dataset, frame: pl.DataFrame) -> list[MatchPair]:
    """Candidate pairs: exact on normalised email or phone; fuzzy on name within dob+postcode.

    `frame` should be standardised first, so phones are E.164 and emails trimmed. Blocking on
    date of birth and postcode keeps the fuzzy comparisons to a few per person.
    """
    key = _merge_key(ds)
    roles = _roles(ds, frame)
    pairs: _Pairs = {}
    for role, column in (("email", roles["email"]), ("phone", roles["phone"])):
        if column is None:
            continue
        # identity keys: a shared placeholder is not a shared person
        norm: pl.Expr | pl.Series
        if role == "email":
            norm = identity.email_keys(pl.col(column))
        else:
            norm = _phones(frame, column, ds)
        keyed = frame.select(pl.col(key).alias("id"), norm.alias("v")).drop_nulls("v")
        joined = keyed.join(keyed, on="v", suffix="_b").filter(pl.col("id") < pl.col("id_b"))
        for a, b in joined.select("id", "id_b").iter_rows():
            _add(pairs, a, b, role, 100.0)
    _fuzzy_pairs(frame, roles, key, pairs)
    return sorted(pairs.values(), key=lambda p: (str(p.a), str(p.b)))


def _fuzzy_pairs(frame: pl.DataFrame, roles: _Roles, key: str, pairs: _Pairs) -> None:
    """Add pairs whose full names match closely within blocks of date of birth and postcode."""
    from rapidfuzz import fuzz, process

    names, dob, postcode = roles["names"], roles["dob"], roles["postcode"]
    if names and dob and postcode:
        full = pl.concat_str([pl.col(c).fill_null("") for c in names], separator=" ")
        people = frame.select(
            pl.col(key).alias("id"),
            full.str.to_lowercase().alias("name"),
            pl.col(names[0]).fill_null("").str.to_lowercase().alias("first"),
            pl.col(dob).alias("dob"),
            pl.col(postcode).str.replace_all(r"\s", "").str.to_uppercase().alias("pc"),
        ).drop_nulls(["dob", "pc"])  # fmt: skip
        blocks = people.join(people, on=["dob", "pc"], suffix="_b").filter(
            pl.col("id") < pl.col("id_b")
        )
        if blocks.height:

            def scores(left: str, right: str, scorer: Callable[..., float]) -> pl.Series:
                values = process.cpdist(
                    blocks[left].to_list(), blocks[right].to_list(), scorer=scorer
                )
                return pl.Series(values, dtype=pl.Float64)

            blocks = blocks.with_columns(
                score=scores("name", "name_b", fuzz.token_sort_ratio),
                first_score=scores("first", "first_b", fuzz.ratio),
            )
            # Twins share a surname, a birthday and a postcode; their first names differ, if
            # sometimes by a letter or two ("Liam", "Lina"): the first name must agree too.
            for a, b, score in (
                blocks.filter(
                    (pl.col("score") >= FUZZY_THRESHOLD)
                    & (pl.col("first_score") >= FIRST_NAME_THRESHOLD)
                )
                .select("id", "id_b", "score")
                .iter_rows()
            ):
                _add(pairs, a, b, "name+dob+postcode", round(score, 1))


def _add(pairs: _Pairs, a: object, b: object, reason: str, score: float) -> None:
    """Record a match; a pair found several ways keeps every reason and its lowest score."""
    found = pairs.get((a, b))
    if found is None:
        pairs[(a, b)] = MatchPair(a, b, reason, score)
    else:
        pairs[(a, b)] = MatchPair(a, b, f"{found.reason}, {reason}", min(found.score, score))


def _groups(pairs: list[MatchPair]) -> list[set[object]]:
    parent: dict[object, object] = {}

    def root(x: object) -> object:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[root(p.a)] = root(p.b)
    groups: dict[object, set[object]] = {}
    for x in parent:
        groups.setdefault(root(x), set()).add(x)
    return [g for g in groups.values() if len(g) > 1]


def survivors(ds: Dataset, frame: pl.DataFrame, pairs: list[MatchPair]) -> dict[object, object]:
    """Merged id -> surviving id: the most recently active record wins (ties: lowest id)."""
    groups = _groups(pairs)
    if not groups:
        return {}
    key = _merge_key(ds)
    activity = _activity_column(ds, frame)
    merges: dict[object, object] = {}
    for group in groups:
        rows = frame.filter(pl.col(key).is_in(list(group)))
        # Latest activity first, then the lowest id; ids may be strings, so no negation.
        latest = [pl.col(activity).fill_null(datetime.min)] if activity else []
        order = [*latest, pl.col(key)]
        winner = rows.sort(order, descending=[True] * len(latest) + [False])[key][0]
        merges |= {other: winner for other in group if other != winner}
    return merges


def _activity_column(ds: Dataset, frame: pl.DataFrame) -> str | None:
    candidates = [c for c in frame.columns if "activity" in c or c in ("updated_at", "last_seen")]
    temporal = [c for c in candidates if frame.schema[c].is_temporal()]
    return temporal[0] if temporal else None


def merge(ds: Dataset, frame: pl.DataFrame, merges: dict[object, object]) -> pl.DataFrame:
    """Drop merged records; the survivor keeps its values, filled from the others where empty.

    Consent merges to the most restrictive state: a bool consent flag is true only if it is
    true on every merged record, and its timestamp goes with it.
    """
    if not merges:
        return frame
    key = _merge_key(ds)
    group = pl.col(key).replace_strict(merges, default=pl.col(key))
    flags = {r.flag: r.timestamp for r in ds.consent if r.flag}
    activity = _activity_column(ds, frame)
    # helper columns under names no data column has
    group_name = unused_name("__group", frame.columns)
    survivor = unused_name("__survivor", [*frame.columns, group_name])
    ordered = frame.with_columns(group.alias(group_name), (pl.col(key) == group).alias(survivor))
    sort_by = [group_name, survivor] + ([activity] if activity else [])
    ordered = ordered.sort(sort_by, descending=[False, True] + ([True] if activity else []))
    aggs = []
    for column in frame.columns:
        if column == key:
            continue
        if column in flags:
            aggs.append(pl.col(column).fill_null(False).all().alias(column))
        else:
            aggs.append(pl.col(column).drop_nulls().first().alias(column))
    merged = ordered.group_by(group_name, maintain_order=True).agg(aggs).rename({group_name: key})
    for flag, stamp in flags.items():
        if stamp:
            merged = merged.with_columns(
                pl.when(pl.col(flag)).then(pl.col(stamp)).otherwise(None).alias(stamp)
            )
    return merged.select(frame.columns).cast(frame.schema)


# -- quarantine ------------------------------------------------------------------------------


def blocking_checks(
    catalog: Catalog, ds: Dataset, *, as_of: date | None, schema: pl.Schema
) -> list[quality.RowCheck]:
    """The suite's blocking expectations as the row conditions validation uses too.

    Raises `CleanseError` for a blocking expectation that has no row condition (a table-level
    one), and for a `$PARAMETER` bound when no `as_of` is known.
    """
    if not ds.suite:
        return []
    entries = quality.blocking_entries(quality.read_suite(quality.suite_path(catalog, ds.suite)))
    for entry in entries:
        if "$PARAMETER" in json.dumps(entry.get("kwargs") or {}) and as_of is None:
            raise CleanseError(
                f"{ds.suite}: blocking expectation {entry['type']} has a $PARAMETER bound; "
                "give as_of (or set it in the catalog)"
            )
    checks = quality.row_checks(entries, as_of=as_of or date.min, schema=schema)
    if len(checks) < len(entries):
        ruled = {c.index for c in checks}
        kind = next(e["type"] for i, e in enumerate(entries) if i not in ruled)
        raise CleanseError(
            f"{ds.suite}: blocking expectation {kind} has no quarantine rule; unmark it or use "
            f"one that judges rows: {', '.join(quality.predicates.ROW_LEVEL)}"
        )
    return checks


def quarantine(
    catalog: Catalog, ds: Dataset, frame: pl.DataFrame, *, as_of: date | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows into (kept, quarantined with `_reason`).

    A row is quarantined when it fails a blocking expectation of the dataset's suite, judged
    as `quality.validate` judges it; `_reason` names every check it fails (`_reason_` when the
    data has a `_reason` column of its own, which both parts keep).
    """
    reason = unused_name("_reason", frame.columns)
    checks = blocking_checks(catalog, ds, as_of=as_of, schema=frame.schema)
    if not checks:
        return frame, frame.head(0).with_columns(pl.lit("").alias(reason))
    reasons = pl.concat_str(
        [pl.when(~c.ok).then(pl.lit(_reason(c))) for c in checks],
        separator="; ",
        ignore_nulls=True,
    )
    marked = frame.with_columns(reasons.alias(reason))
    bad = marked.filter(pl.col(reason) != "")
    good = marked.filter(pl.col(reason) == "").drop(reason)
    return good, bad


def _reason(check: quality.RowCheck) -> str:
    return f"{check.check.removeprefix('expect_')} ({check.column or 'table'})"


# -- the whole cleanse -----------------------------------------------------------------------


def plan(
    catalog: Catalog,
    name: str,
    *,
    frames: dict[str, pl.DataFrame] | None = None,
    as_of: date | None = None,
) -> CleansePlan:
    """Work out the cleanse of `name` and of the datasets that point at it.

    `as_of` (default: the catalog's) resolves `$PARAMETER` bounds of blocking expectations.
    """
    involved = datasets(catalog, name)  # raises before any read when there is no key
    frames = frames or sources.load_all(catalog, involved)
    as_of = as_of or catalog.as_of
    ds = catalog.dataset(name)
    frame = frames[name]
    key = _merge_key(ds)
    std, rules, changed = standardise(ds, frame)
    pairs = find_duplicates(ds, std)
    merges = survivors(ds, std, pairs)
    kept, bad = quarantine(catalog, ds, merge(ds, std, merges), as_of=as_of)
    result = CleansePlan(name, {name: kept}, std, rules, pairs, merges, {name: bad})
    for column, mask in changed.items():
        rule = rule_for(column, ds)
        for subject in frame.filter(mask)[key].to_list():
            result.changes.append((subject, f"standardise:{rule}", column, "standardised"))
    for merged, survivor in merges.items():
        result.changes.append((merged, "merge_duplicates", key, "merged into another record"))
        result.changes.append((survivor, "merge_duplicates", key, "survived a merge"))
    for subject in bad[key].to_list() if key in bad.columns else []:
        result.changes.append((subject, "quarantine", "*", "quarantined"))
    for other in involved[1:]:
        _plan_related(catalog, result, other, frames[other], key, as_of)
    result.originals = {n: frames[n] for n in result.frames}
    return result


def _plan_related(
    catalog: Catalog,
    result: CleansePlan,
    other: str,
    data: pl.DataFrame,
    key: str,
    as_of: date | None,
) -> None:
    """Re-point a related dataset's rows to the survivors, and quarantine its failing rows."""
    other_ds = catalog.dataset(other)
    rels = [r for r in other_ds.relationships if r.target == (result.dataset, key)]
    if not rels:
        return
    merges = result.merges
    for rel in rels:
        moved = data[rel.column].is_in(list(merges)).fill_null(False)
        result.repointed[f"{other}.{rel.column}"] = int(moved.sum())
        for subject in data.filter(moved)[rel.column].to_list():
            result.changes.append((subject, "repoint", f"{other}.{rel.column}", "re-pointed"))
        data = data.with_columns(
            pl.col(rel.column).replace_strict(merges, default=pl.col(rel.column))
        )
    kept_other, bad_other = quarantine(catalog, other_ds, data, as_of=as_of)
    result.frames[other] = kept_other
    result.quarantine[other] = bad_other
    subject = identity.subject_key(other_ds, catalog)
    for s in bad_other[subject].to_list() if subject in bad_other.columns else []:
        result.changes.append((s, "quarantine", other, "quarantined"))


def execute(
    catalog: Catalog, cleanse: CleansePlan, out_dir: str | Path, *, key: bytes, run_at: datetime
) -> dict[str, Any]:
    """Write the cleansed copies, the quarantine and the change log into `out_dir`.

    All are restricted outputs (see `govlib.restricted`): 0600 in 0700 folders, encrypted when
    recipients are configured, refused where a declared source would read them, and skipped
    when the same inputs already produced the same files. A dataset read from a database gets
    its change as `apply.sql` too (see `govlib.applysql`), for its data owner to run.
    """
    inputs = sources.content_hashes(catalog, cleanse.originals)
    log = "".join(
        json.dumps(
            {
                "subject": privacy.pseudonym(subject, key),
                "rule": rule,
                "field": column,
                "change": kind,
                "run_at": run_at.isoformat(timespec="seconds"),
            },
            sort_keys=True,
        )
        + "\n"
        for subject, rule, column, kind in cleanse.changes
    )
    files: dict[str, outputs.Writer] = {
        f"{name}.parquet": outputs.parquet_writer(frame) for name, frame in cleanse.frames.items()
    }
    files |= {
        f"quarantine/{name}.parquet": outputs.parquet_writer(frame)
        for name, frame in cleanse.quarantine.items()
        if frame.height
    }
    files["cleanse_log.ndjson"] = outputs.text_writer(log)
    title = (
        f"cleanse of {cleanse.dataset}, run at {run_at.isoformat(timespec='seconds')} (rows it "
        "quarantines are among those deleted; they are kept in quarantine/)"
    )
    for name, text in applysql.scripts(
        catalog, cleanse.originals, cleanse.frames, title=title
    ).items():
        files[name] = outputs.text_writer(text)
    fingerprint = {"inputs": inputs, "plan": cleanse.summary()}
    return restricted.write_bundle(
        catalog, out_dir, files, manifest="cleanse.json", fingerprint=fingerprint,
        extra={"run_at": run_at.isoformat(timespec="seconds"), "log_entries": len(cleanse.changes)},
    )  # fmt: skip


class _SaidOnce(logging.Filter):
    """Drops the warning that a dataset declares no gate: said for the source already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "declares no quality gate" not in record.getMessage()


def score_change(
    catalog: Catalog, cleanse: CleansePlan, frames: dict[str, pl.DataFrame], as_of: date
) -> CleanseScores:
    """Quality scores per dimension of the source and of the cleansed copy, same suite."""
    ds = catalog.dataset(cleanse.dataset)
    before = quality.validate(ds, as_of=as_of, frame=frames[cleanse.dataset])
    govlib_log, once = logging.getLogger("govlib"), _SaidOnce()
    govlib_log.addFilter(once)  # the copy's validation would warn of a default gate again
    try:
        after = quality.validate(ds, as_of=as_of, frame=cleanse.frames[cleanse.dataset])
    finally:
        govlib_log.removeFilter(once)
    rows = [
        ScoreChange(dim, before.scores.get(dim), after.scores.get(dim))
        for dim in quality.DIMENSIONS
    ]
    rows.append(ScoreChange("overall", before.overall, after.overall))
    return CleanseScores(cleanse.dataset, as_of.isoformat(), rows)


def scores_before_after(
    catalog: Catalog, cleanse: CleansePlan, frames: dict[str, pl.DataFrame], as_of: date
) -> dict[str, dict[str, float | None]]:
    """`score_change` as `{dimension: {"before": score, "after": score}}`."""
    change = score_change(catalog, cleanse, frames, as_of)
    return {s.dimension: {"before": s.before, "after": s.after} for s in change.scores}
