"""Retention and consent: evaluate the catalog's rules against the records, and apply them.

`evaluate()` judges every retention rule and consent rule of a dataset on a given day and
returns counts only. `plan_retention()` / `plan_erasure()` decide which rows go (delete) or lose
their personal data (anonymise), following the catalog's relationships so that the orders of a
deleted customer go too; `execute()` writes that as a new copy of the datasets with an erasure
log, atomically, and never touches the sources.

Expiry is the anchor's date plus the rule's period (calendar months, then days). A record is
overdue when its expiry is before `as_of`, due within 30 (90) days when it expires on `as_of` or
up to 29 (89) days after. Records whose anchor is missing or in the future need review: they
are never kept or deleted silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from govlib import outputs, privacy, restricted, sources
from govlib.catalog import (
    Catalog,
    Category,
    Condition,
    ConsentRule,
    Dataset,
    PiiKind,
    RetentionRule,
)

OVERDUE_BUCKETS = ((1, 30), (31, 90), (91, 365), (366, None))
FORECAST_MONTHS = 12


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One retention rule judged on `as_of`: counts only."""

    dataset: str
    rule: str
    action: str
    anchor: str
    period: str
    in_scope: int
    compliant: int
    due_within_30: int
    due_within_90: int  # includes those due within 30 days
    overdue: int
    overdue_by_age: dict[str, int]  # days overdue: "1-30", "31-90", "91-365", "366+"
    anchor_missing: int
    anchor_future: int
    forecast: list[dict[str, object]]  # {"month": "2025-02", "expiring": n} for 12 months

    def to_dict(self) -> dict[str, object]:
        """The result as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ConsentResult:
    """One consent purpose judged on `as_of`: how many records may be processed for it."""

    dataset: str
    purpose: str
    records: int
    given: int
    withdrawn: int
    expired: int
    missing: int
    flagged: int  # records whose flag says they are processed for the purpose
    processed_without_consent: int

    def to_dict(self) -> dict[str, object]:
        """The result as a plain dict."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """Every rule of a dataset on one day."""

    dataset: str
    as_of: str
    rules: list[RuleResult]
    consent: list[ConsentResult]

    @property
    def overdue(self) -> int:
        """Records past any retention period."""
        return sum(r.overdue for r in self.rules)

    @property
    def exit_code(self) -> int:
        """1 when any record is overdue (so cron can act), else 0."""
        return 1 if self.overdue else 0

    def to_dict(self) -> dict[str, object]:
        """The report as a plain, JSON-serialisable dict."""
        return asdict(self) | {"overdue": self.overdue}


def condition(cond: Condition | None) -> pl.Expr:
    """A catalog condition as a polars filter expression."""
    if cond is None:
        return pl.lit(True)
    col = pl.col(cond.column)
    return {
        "eq": lambda: col == cond.value,
        "ne": lambda: col != cond.value,
        "in": lambda: col.is_in(cond.value),
        "not_in": lambda: ~col.is_in(cond.value),
        "is_null": col.is_null,
        "not_null": col.is_not_null,
    }[cond.op]().fill_null(False)


def expiry(rule: RetentionRule) -> pl.Expr:
    """The date a record's retention ends."""
    return pl.col(rule.anchor).cast(pl.Date).dt.offset_by(rule.period.polars_offset)


def evaluate_rule(ds: Dataset, rule: RetentionRule, lf: pl.LazyFrame, as_of: date) -> RuleResult:
    """Judge one retention rule in one collect."""
    anchor = pl.col(rule.anchor).cast(pl.Date)
    left = (expiry(rule) - pl.lit(as_of)).dt.total_days()
    valid = anchor.is_not_null() & (anchor <= as_of)
    overdue = valid & (left < 0)
    exprs = [
        pl.len().alias("in_scope"),
        anchor.is_null().sum().alias("missing"),
        (anchor > as_of).sum().alias("future"),
        overdue.sum().alias("overdue"),
        (valid & left.is_between(0, 29)).sum().alias("due30"),
        (valid & left.is_between(0, 89)).sum().alias("due90"),
    ]
    for low, high in OVERDUE_BUCKETS:
        days = -left
        band = days >= low if high is None else days.is_between(low, high)
        exprs.append((overdue & band).sum().alias(_bucket(low, high)))
    months = pl.date_range(as_of, pl.lit(as_of).dt.offset_by(f"{FORECAST_MONTHS - 1}mo"), "1mo")
    exprs.append(
        expiry(rule)
        .filter(valid & (left >= 0) & (left < 400))
        .dt.strftime("%Y-%m")
        .value_counts(name="n")
        .implode()
        .alias("forecast")
    )
    row = lf.filter(condition(rule.where)).select(exprs).collect().row(0, named=True)
    counts = {str(r[next(iter(r))]): int(r["n"]) for r in row["forecast"]}
    forecast = [
        {"month": m.strftime("%Y-%m"), "expiring": counts.get(m.strftime("%Y-%m"), 0)}
        for m in pl.select(months.alias("m")).to_series()
    ]
    return RuleResult(
        dataset=ds.name,
        rule=rule.name,
        action=rule.action,
        anchor=rule.anchor,
        period=str(rule.period),
        in_scope=row["in_scope"],
        compliant=row["in_scope"] - row["overdue"] - row["missing"] - row["future"],
        due_within_30=row["due30"],
        due_within_90=row["due90"],
        overdue=row["overdue"],
        overdue_by_age={_bucket(lo, hi): row[_bucket(lo, hi)] for lo, hi in OVERDUE_BUCKETS},
        anchor_missing=row["missing"],
        anchor_future=row["future"],
        forecast=forecast,
    )


def _bucket(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def consent_states(
    ds: Dataset, rule: ConsentRule, lf: pl.LazyFrame, as_of: date, events: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Each record with its consent state for the rule's purpose.

    With an event log, the latest event per subject wins; without one (or for a subject with
    no events), the flag and its timestamp decide. A grant older than `max_age` is expired.
    """
    cutoff = pl.lit(as_of).dt.offset_by(f"-{rule.max_age.polars_offset}")
    frame = lf
    latest_status = pl.lit(None, dtype=pl.String)
    latest_time = pl.lit(None, dtype=pl.Date)
    if rule.events is not None and events is not None:
        ev = rule.events
        subject = ds.subject_key or ev.subject
        latest = (
            events.filter(pl.col(ev.purpose_column) == rule.purpose)
            .filter(pl.col(ev.time_column).cast(pl.Date) <= as_of)
            .sort(ev.time_column)
            .group_by(ev.subject)
            .agg(
                pl.col(ev.status_column).last().alias("__status"),
                pl.col(ev.time_column).last().cast(pl.Date).alias("__when"),
            )
            .with_columns(
                pl.when(pl.col("__status") == ev.granted)
                .then(pl.lit("granted"))
                .when(pl.col("__status") == ev.withdrawn)
                .then(pl.lit("withdrawn"))
                .otherwise(None)
                .alias("__status")
            )
            .rename({ev.subject: subject})
        )
        frame = frame.join(latest, on=subject, how="left")
        latest_status, latest_time = pl.col("__status"), pl.col("__when")
    stamp = pl.col(rule.timestamp).cast(pl.Date) if rule.timestamp else pl.lit(None, pl.Date)
    flag = pl.col(rule.flag).fill_null(False) if rule.flag else pl.lit(False)
    state = (
        pl.when(latest_status == "withdrawn")
        .then(pl.lit("withdrawn"))
        .when(latest_status == "granted")
        .then(pl.when(latest_time >= cutoff).then(pl.lit("given")).otherwise(pl.lit("expired")))
        .when(flag & stamp.is_not_null())
        .then(pl.when(stamp >= cutoff).then(pl.lit("given")).otherwise(pl.lit("expired")))
        .otherwise(pl.lit("missing"))
    )
    return frame.with_columns(state.alias("__consent"), flag.alias("__flag"))


def evaluate_consent(
    ds: Dataset, rule: ConsentRule, lf: pl.LazyFrame, as_of: date, events: pl.LazyFrame | None
) -> ConsentResult:
    """Count consent states, and records processed for the purpose without valid consent."""
    state = pl.col("__consent")
    row = (
        consent_states(ds, rule, lf, as_of, events)
        .select(
            pl.len().alias("records"),
            *((state == s).sum().alias(s) for s in ("given", "withdrawn", "expired", "missing")),
            pl.col("__flag").sum().alias("flagged"),
            (pl.col("__flag") & (state != "given")).sum().alias("without"),
        )
        .collect()
        .row(0, named=True)
    )
    return ConsentResult(
        dataset=ds.name,
        purpose=rule.purpose,
        records=row["records"],
        given=row["given"],
        withdrawn=row["withdrawn"],
        expired=row["expired"],
        missing=row["missing"],
        flagged=row["flagged"],
        processed_without_consent=row["without"],
    )


def evaluate(ds: Dataset, *, as_of: date, lf: pl.LazyFrame | None = None) -> RetentionReport:
    """Judge every retention and consent rule of `ds` on `as_of`."""
    lf = lf if lf is not None else sources.scan(ds)
    rules = [evaluate_rule(ds, rule, lf, as_of) for rule in ds.retention]
    consent = []
    for rule in ds.consent:
        events = sources.scan(ds.catalog.dataset(rule.events.dataset)) if rule.events else None
        consent.append(evaluate_consent(ds, rule, lf, as_of, events))
    return RetentionReport(ds.name, as_of.isoformat(), rules, consent)


# -- applying rules: plans, cascades, the erasure log ------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedAction:
    """What one rule (or an erasure request) does to one dataset: counts only."""

    dataset: str
    rule: str
    action: str
    rows: int
    cascade: bool = False  # rows that go because a row they point at goes

    def to_dict(self) -> dict[str, object]:
        """The action as a plain dict."""
        return asdict(self)


@dataclass(slots=True)
class Plan:
    """Rows to delete or anonymise per dataset, and the subjects they belong to.

    `deletes` and `anonymise` map a dataset to a boolean mask over its rows; `subjects` lists,
    per rule, the subject keys affected (kept in memory only: the log holds pseudonyms).
    """

    as_of: date
    frames: dict[str, pl.DataFrame]
    deletes: dict[str, pl.Series] = field(default_factory=dict)
    anonymise: dict[str, pl.Series] = field(default_factory=dict)
    actions: list[PlannedAction] = field(default_factory=list)
    subjects: list[tuple[str, str, str, object]] = field(
        default_factory=list
    )  # ds, rule, action, id

    @property
    def changes(self) -> int:
        """Rows deleted or anonymised in all."""
        return sum(a.rows for a in self.actions if a.action != "review")


def _or(mask: pl.Series | None, more: pl.Series) -> pl.Series:
    return more if mask is None else (mask | more)


def plan_retention(
    catalog: Catalog, name: str, *, as_of: date, frames: dict[str, pl.DataFrame] | None = None
) -> Plan:
    """Which rows each retention rule of `name` deletes or anonymises on `as_of`."""
    frames = frames or sources.load_all(catalog)
    ds = catalog.dataset(name)
    plan = Plan(as_of=as_of, frames=frames)
    frame = frames[name]
    key = ds.subject_key or (ds.primary_key[0] if ds.primary_key else None)
    for rule in ds.retention:
        left = (expiry(rule) - pl.lit(as_of)).dt.total_days()
        anchor = pl.col(rule.anchor).cast(pl.Date)
        due = condition(rule.where) & anchor.is_not_null() & (anchor <= as_of) & (left < 0)
        mask = frame.select(due.fill_null(False)).to_series()
        if rule.action == "anonymise":
            already = _anonymised(ds, frame)
            mask = mask & ~already & ~plan.deletes.get(name, pl.Series([False] * frame.height))
        elif rule.action == "delete":
            plan.deletes[name] = _or(plan.deletes.get(name), mask)
        if rule.action == "anonymise":
            plan.anonymise[name] = _or(plan.anonymise.get(name), mask)
        plan.actions.append(PlannedAction(name, rule.name, rule.action, int(mask.sum())))
        if key is not None:
            for subject in frame.filter(mask)[key].to_list():
                plan.subjects.append((name, rule.name, rule.action, subject))
    _cascade(catalog, plan, name)
    return plan


def plan_erasure(catalog: Catalog, subject_ids: list[object], *, as_of: date, frames=None) -> Plan:
    """Delete every row of the given subjects, in every dataset that holds them."""
    frames = frames or sources.load_all(catalog)
    plan = Plan(as_of=as_of, frames=frames)
    for name in catalog.names():
        ds = catalog.dataset(name)
        key = ds.subject_key
        if key is None:
            continue
        mask = frames[name][key].is_in(subject_ids).fill_null(False)
        plan.deletes[name] = _or(plan.deletes.get(name), mask)
        plan.actions.append(PlannedAction(name, "erasure_request", "delete", int(mask.sum())))
    root = _root_dataset(catalog)
    for subject in subject_ids:
        plan.subjects.append((root, "erasure_request", "delete", subject))
    _cascade(catalog, plan, root)
    return plan


def _root_dataset(catalog: Catalog) -> str:
    """The dataset others point at (customers, in the sample)."""
    targets = [rel.target[0] for ds in catalog.datasets.values() for rel in ds.relationships]
    return max(set(targets), key=targets.count) if targets else catalog.names()[0]


def _cascade(catalog: Catalog, plan: Plan, root: str) -> None:
    """Delete rows that point at deleted rows, following relationships transitively."""
    pending = [root]
    while pending:
        target = pending.pop()
        gone = plan.deletes.get(target)
        if gone is None or not gone.any():
            continue
        for name in catalog.names():
            for rel in catalog.dataset(name).relationships:
                ref_ds, ref_col = rel.target
                if ref_ds != target or name == target:
                    continue
                removed = plan.frames[target].filter(gone)[ref_col]
                mask = plan.frames[name][rel.column].is_in(removed.implode()).fill_null(False)
                before = plan.deletes.get(name)
                new = mask if before is None else (mask & ~before)
                if new.any():
                    plan.deletes[name] = _or(before, mask)
                    plan.actions.append(
                        PlannedAction(
                            name, f"cascade from {target}", "delete", int(new.sum()), True
                        )
                    )
                    pending.append(name)


def _anonymised(ds: Dataset, frame: pl.DataFrame) -> pl.Series:
    """Rows whose direct identifiers are all null already (nothing left to anonymise)."""
    direct = [
        c
        for c, spec in ds.columns.items()
        if spec.category == Category.DIRECT_IDENTIFIER
        and spec.pii is not PiiKind.PERSON_ID
        and c in frame.columns
    ]
    if not direct:
        return pl.Series([False] * frame.height)
    return frame.select(pl.all_horizontal(pl.col(c).is_null() for c in direct)).to_series()


def anonymise_rows(ds: Dataset, frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """Null direct identifiers and free text; generalise quasi-identifiers; keep the key.

    Dates of birth become the first of January of their year and postcodes keep their first
    two characters. The subject key stays so related records remain consistent.
    """
    m = pl.lit(mask)
    exprs = []
    for column, spec in ds.columns.items():
        if column not in frame.columns or not spec.personal or spec.pii is PiiKind.PERSON_ID:
            continue
        col = pl.col(column)
        if spec.pii is PiiKind.DATE_OF_BIRTH:
            new = col.dt.truncate("1y")
        elif spec.pii is PiiKind.POSTCODE:
            new = col.str.slice(0, 2)
        else:
            new = pl.lit(None, dtype=frame.schema[column])
        exprs.append(pl.when(m).then(new).otherwise(col).alias(column))
    return frame.with_columns(exprs) if exprs else frame


def apply_plan(catalog: Catalog, plan: Plan) -> dict[str, pl.DataFrame]:
    """The new copy of every affected dataset."""
    out = {}
    for name in sorted(set(plan.deletes) | set(plan.anonymise)):
        frame = plan.frames[name]
        ds = catalog.dataset(name)
        if name in plan.anonymise:
            frame = anonymise_rows(ds, frame, plan.anonymise[name])
        if name in plan.deletes:
            frame = frame.filter(~plan.deletes[name])
        out[name] = frame
    return out


def execute(
    catalog: Catalog,
    plan: Plan,
    out_dir: str | Path,
    *,
    key: bytes,
    run_at: datetime,
    kind: str,
) -> dict[str, object]:
    """Write the new copy and the erasure log into `out_dir`, atomically and idempotently.

    Both are restricted outputs (see `govlib.restricted`): 0600, encrypted when recipients are
    configured, and refused where a declared source would read them. Running the same plan on
    the same inputs again finds `out_dir/<kind>.json` with the same fingerprint and the files
    with their recorded hashes, and changes nothing (see `outputs.write_bundle`).
    """
    inputs = sources.content_hashes(catalog)
    fingerprint = {
        "kind": kind,
        "as_of": plan.as_of.isoformat(),
        "inputs": inputs,
        "actions": [a.to_dict() for a in plan.actions],
        "subjects": hashlib.sha256(  # one digest: the list itself stays in the log only
            "\n".join(sorted(privacy.pseudonym(s[3], key) for s in plan.subjects)).encode()
        ).hexdigest(),
    }
    log = "".join(
        json.dumps(
            {
                "subject": privacy.pseudonym(subject, key),
                "dataset": dataset,
                "rule": rule,
                "action": action,
                "as_of": plan.as_of.isoformat(),
                "run_at": run_at.isoformat(timespec="seconds"),
                "inputs_sha256": inputs,
            },
            sort_keys=True,
        )
        + "\n"
        for dataset, rule, action, subject in plan.subjects
    )
    files: dict[str, outputs.Writer] = {
        f"{name}.parquet": (lambda fh, f=frame: f.write_parquet(fh))
        for name, frame in apply_plan(catalog, plan).items()
    }
    files[f"{kind}_log.ndjson"] = lambda fh: fh.write(log.encode("utf-8"))
    return restricted.write_bundle(
        catalog, out_dir, files, manifest=f"{kind}.json", fingerprint=fingerprint,
        extra={"run_at": run_at.isoformat(timespec="seconds"), "log_entries": len(plan.subjects)},
    )  # fmt: skip


def write_report(
    report: RetentionReport, path: str | Path, *, catalog: Catalog | None = None
) -> None:
    """Write a retention report (counts only) as JSON, atomically; never over a source."""
    path = Path(path)
    restricted.check_out(catalog, path.parent, [path.name])
    outputs.write_json(path, report.to_dict())
