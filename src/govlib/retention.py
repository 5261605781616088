"""Retention and consent: evaluate the catalog's rules against the records, and apply them.

`evaluate()` judges every retention rule and consent rule of a dataset on a given day and
returns counts only. `plan_retention()` decides which rows go (delete) or lose their personal data
(anonymise); the erasure engine (`govlib.erasure`, shared with data-subject erasure) follows the
catalog's relationships so that the orders of a deleted customer go too, and writes the result
as a new copy of the datasets with an erasure log, atomically, never touching the sources.

A dataset read from a database is judged inside it: one aggregate query per rule, counts only
(`evaluate_in_database`). Applying rules to it writes the Parquet copy and `apply.sql`, the
change for its data owner to run (see `govlib.applysql`).

Expiry is the anchor's date plus the rule's period (calendar months, then days). A record is
overdue when its expiry is before `as_of`, due within 30 (90) days when it expires on `as_of` or
up to 29 (89) days after. Records whose anchor is missing or in the future need review: they
are never kept or deleted silently, and they fail the check like overdue ones (a record whose
retention cannot be worked out may be kept for ever).

Consent comes from the latest event per subject in an event log, else from the flag and its
timestamp. An event's status is read trimmed and case-insensitively; a status that is neither
the grant nor the withdrawal is `unrecognised` and never valid consent (nor is the flag asked
instead). At equal times a withdrawal wins over anything else, and anything else over a grant,
so the outcome never depends on the order of the log's rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import polars as pl
import polars.selectors as cs

from govlib import applysql, databases, erasure, identity, outputs, restricted, sources
from govlib.catalog import (
    Catalog,
    Condition,
    ConsentEvents,
    ConsentRule,
    Dataset,
    RetentionRule,
    unused_name,
)
from govlib.records import Record

log = logging.getLogger("govlib")

if TYPE_CHECKING:
    import ibis
    import ibis.expr.types as ir

OVERDUE_BUCKETS = ((1, 30), (31, 90), (91, 365), (366, None))
FORECAST_MONTHS = 12
CONSENT_STATES = ("given", "withdrawn", "expired", "missing", "unrecognised")
# An event's status at equal times: the highest wins, so a withdrawal beats a grant.
EVENT_PRECEDENCE = {"granted": 0, "unrecognised": 1, "withdrawn": 2}
STATUS_WHITESPACE = " \t\n\r\x0b\x0c"  # what SQL's TRIM strips as Ibis writes it


@dataclass(frozen=True, slots=True)
class RuleResult(Record):
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


@dataclass(frozen=True, slots=True)
class ConsentResult(Record):
    """One consent purpose judged on `as_of`: how many records may be processed for it."""

    dataset: str
    purpose: str
    records: int
    given: int
    withdrawn: int
    expired: int
    missing: int
    unrecognised: int  # the latest event's status is neither the grant nor the withdrawal
    flagged: int  # records whose flag says they are processed for the purpose
    processed_without_consent: int


@dataclass(frozen=True, slots=True)
class RetentionReport(Record):
    """Every rule of a dataset on one day."""

    ROWS: ClassVar[str | None] = "rules"

    dataset: str
    as_of: str
    rules: list[RuleResult]
    consent: list[ConsentResult]

    @property
    def overdue(self) -> int:
        """Records past any retention period."""
        return sum(r.overdue for r in self.rules)

    @property
    def needs_review(self) -> int:
        """Records whose retention cannot be worked out: anchor missing or in the future."""
        return sum(r.anchor_missing + r.anchor_future for r in self.rules)

    @property
    def exit_code(self) -> int:
        """1 when any record is overdue or needs review (so cron can act), else 0."""
        return 1 if self.overdue or self.needs_review else 0

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain, JSON-serialisable dict, with the overdue and review totals."""
        return Record.to_dict(self) | {"overdue": self.overdue, "needs_review": self.needs_review}


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
    return rule_result(ds, rule, row, forecast)


def _bucket(low: int, high: int | None) -> str:
    return f"{low}+" if high is None else f"{low}-{high}"


def consent_states(
    ds: Dataset, rule: ConsentRule, lf: pl.LazyFrame, as_of: date, events: pl.LazyFrame | None
) -> pl.LazyFrame:
    """Each record's columns the rule reads, with its consent state for the rule's purpose.

    With an event log, the latest event per subject wins (a withdrawal first at equal times);
    without one (or for a subject with no events), the flag and its timestamp decide. A grant
    older than `max_age` is expired; a latest event of another status is `unrecognised`.
    """
    cutoff = pl.lit(as_of).dt.offset_by(f"-{rule.max_age.polars_offset}")
    # only the columns the rule reads, and names of govlib's own that no data column has
    used = _used_columns(ds, rule)
    status_name, when_name = _fresh("__status", used), _fresh("__when", used)
    frame = lf.select(cs.by_name(used["records"]))
    latest_status = pl.lit(None, dtype=pl.String)
    latest_time = pl.lit(None, dtype=pl.Date)
    if rule.events is not None and events is not None:
        ev = rule.events
        subject = ds.subject_key or ev.subject
        latest = (
            events.select(cs.by_name(used["events"]))
            .filter(pl.col(ev.purpose_column) == rule.purpose)
            .filter(pl.col(ev.time_column).cast(pl.Date) <= as_of)
            .with_columns(event_status(ev).alias(status_name))
            .group_by(ev.subject)
            .agg(
                pl.col(status_name)
                .sort_by(ev.time_column, pl.col(status_name).replace_strict(EVENT_PRECEDENCE))
                .last(),
                pl.col(ev.time_column).max().cast(pl.Date).alias(when_name),
            )
            .rename({ev.subject: subject})
        )
        frame = frame.join(latest, on=subject, how="left")
        latest_status, latest_time = pl.col(status_name), pl.col(when_name)
    stamp = pl.col(rule.timestamp).cast(pl.Date) if rule.timestamp else pl.lit(None, pl.Date)
    flag = pl.col(rule.flag).fill_null(False) if rule.flag else pl.lit(False)
    state = (
        pl.when(latest_status == "withdrawn")
        .then(pl.lit("withdrawn"))
        .when(latest_status == "unrecognised")
        .then(pl.lit("unrecognised"))
        .when(latest_status == "granted")
        .then(pl.when(latest_time >= cutoff).then(pl.lit("given")).otherwise(pl.lit("expired")))
        .when(flag & stamp.is_not_null())
        .then(pl.when(stamp >= cutoff).then(pl.lit("given")).otherwise(pl.lit("expired")))
        .otherwise(pl.lit("missing"))
    )
    states = ["__consent", "__flag"]  # a data column of either name gives way (see evaluate)
    kept = [c for c in used["records"] if c not in states]
    return frame.with_columns(state.alias("__consent"), flag.alias("__flag")).select(
        cs.by_name([*kept, *states])
    )


def _used_columns(ds: Dataset, rule: ConsentRule) -> dict[str, list[str]]:
    """The columns a consent rule reads: of the records, and of its event log."""
    ev = rule.events
    subject = (ds.subject_key or ev.subject) if ev is not None else None
    records = [c for c in (subject, rule.flag, rule.timestamp) if c is not None]
    log = [ev.subject, ev.purpose_column, ev.status_column, ev.time_column] if ev else []
    return {"records": list(dict.fromkeys(records)), "events": list(dict.fromkeys(log))}


def _fresh(base: str, used: dict[str, list[str]]) -> str:
    """`base`, or a longer name no column the rule reads has (see `catalog.unused_name`)."""
    return unused_name(base, [name for names in used.values() for name in names])


def event_status(ev: ConsentEvents) -> pl.Expr:
    r"""An event's status as "granted", "withdrawn" or "unrecognised" (trimmed, any case).

    >>> from govlib.catalog import ConsentEvents
    >>> frame = pl.DataFrame({"status": [" Withdrawn", "GRANTED\t", "revoked", None]})
    >>> frame.select(event_status(ConsentEvents(dataset="e"))).to_series().to_list()
    ['withdrawn', 'granted', 'unrecognised', 'unrecognised']
    """
    status = pl.col(ev.status_column).cast(pl.String).str.strip_chars(STATUS_WHITESPACE)
    status = status.str.to_lowercase()
    return (
        pl.when(status == _status_key(ev.granted))
        .then(pl.lit("granted"))
        .when(status == _status_key(ev.withdrawn))
        .then(pl.lit("withdrawn"))
        .otherwise(pl.lit("unrecognised"))
    )


def _status_key(status: str) -> str:
    """A configured status as events are compared with it: trimmed, in lower case."""
    return status.strip(STATUS_WHITESPACE).lower()


def evaluate_consent(
    ds: Dataset, rule: ConsentRule, lf: pl.LazyFrame, as_of: date, events: pl.LazyFrame | None
) -> ConsentResult:
    """Count consent states, and records processed for the purpose without valid consent."""
    state = pl.col("__consent")
    row = (
        consent_states(ds, rule, lf, as_of, events)
        .select(
            pl.len().alias("records"),
            *((state == s).sum().alias(s) for s in CONSENT_STATES),
            pl.col("__flag").sum().alias("flagged"),
            (pl.col("__flag") & (state != "given")).sum().alias("without"),
        )
        .collect()
        .row(0, named=True)
    )
    return consent_result(ds, rule, row)


def evaluate(
    ds: Dataset,
    *,
    as_of: date,
    lf: pl.LazyFrame | None = None,
    engine: str | None = None,
) -> RetentionReport:
    """Judge every retention and consent rule of `ds` on `as_of`.

    A dataset read from a database (and given no frame) is judged inside the database, and one
    whose engine is Spark (`engine`, else the catalog's) by Spark reading its files: only the
    counts travel back (see `evaluate_in_database`, `evaluate_on_spark`).
    """
    if lf is None and ds.source.is_database:
        return evaluate_in_database(ds, as_of=as_of)
    if lf is None and (engine or ds.engine) == "spark":
        return evaluate_on_spark(ds, as_of=as_of)
    lf = lf if lf is not None else sources.scan(ds)
    rules = [evaluate_rule(ds, rule, lf, as_of) for rule in ds.retention]
    consent = []
    for rule in ds.consent:
        events = sources.scan(ds.catalog.dataset(rule.events.dataset)) if rule.events else None
        consent.append(evaluate_consent(ds, rule, lf, as_of, events))
    return RetentionReport(ds.name, as_of.isoformat(), rules, consent)


# -- the same counts inside a database ----------------------------------------------------------
#
# Expiry is the anchor's date plus a period of calendar months (clamped to the month's end) and
# days: a non-decreasing function of the anchor. So "expires on or before day X" is "the anchor
# is on or before the latest anchor that expires by X", a date worked out here with polars'
# calendar; the database only compares anchors with dates, the same way in every dialect.


def last_anchor(rule: RetentionRule, day: date) -> date:
    """The latest anchor date whose expiry under `rule` falls on or before `day`.

    >>> from govlib.catalog import Period
    >>> rule = RetentionRule(name="r", anchor="a", period=Period.parse("P1M"), action="review")
    >>> last_anchor(rule, date(2025, 2, 28)), last_anchor(rule, date(2025, 2, 27))
    (datetime.date(2025, 1, 31), datetime.date(2025, 1, 27))
    """
    offset = rule.period.polars_offset or "0d"
    guess = pl.select(pl.lit(day).dt.offset_by(f"-{offset}")).item()
    width = 7
    while True:
        candidates = pl.date_range(
            guess - timedelta(days=width), guess + timedelta(days=width), eager=True
        )
        expiries = candidates.dt.offset_by(offset)
        if expiries[0] <= day < expiries[-1]:
            found = candidates.filter(expiries <= day).max()
            assert isinstance(found, date)
            return found
        width *= 2


def _day_start(column: ir.Column, day: date) -> ir.Value:
    """The first instant of `day`, typed for comparing with `column` (a date or date-time)."""
    import ibis

    if not column.type().is_timestamp():
        return ibis.literal(day)
    start = datetime.combine(day, time())
    if column.type().timezone is not None:
        start = start.replace(tzinfo=UTC)
    return ibis.literal(start, type=column.type())


def on_or_before(column: ir.Column, day: date) -> ir.BooleanValue:
    """The value's date is `day` or earlier (null: unknown)."""
    if column.type().is_timestamp():
        return column < _day_start(column, day + timedelta(days=1))
    return column <= _day_start(column, day)


def on_or_after(column: ir.Column, day: date) -> ir.BooleanValue:
    """The value's date is `day` or later (null: unknown)."""
    return column >= _day_start(column, day)


def _counts(row: dict[str, Any]) -> dict[str, int]:
    """Counts as Python ints (DuckDB sums arrive as 128-bit decimals)."""
    return {name: int(value) for name, value in row.items()}


def _count(cond: ir.BooleanValue) -> ir.IntegerScalar:
    import ibis

    return ibis.ifelse(cond, 1, 0).sum().fill_null(0)


def db_condition(cond: Condition | None, table: ibis.Table) -> ir.BooleanValue:
    """A catalog condition as an Ibis filter (null counts as false)."""
    import ibis

    if cond is None:
        return ibis.literal(True)
    col = table[cond.column]
    return {
        "eq": lambda: col == cond.value,
        "ne": lambda: col != cond.value,
        "in": lambda: col.isin(cond.value),
        "not_in": lambda: col.notin(cond.value),
        "is_null": col.isnull,
        "not_null": col.notnull,
    }[cond.op]().fill_null(False)


def _rule_counts(rule: RetentionRule, table: ibis.Table, as_of: date) -> dict[str, Any]:
    """The aggregates of one rule as Ibis expressions: anchors compared with dates only."""
    anchor = table[rule.anchor]

    def expires_by(day: date) -> ir.BooleanValue:  # expiry on or before `day`
        return on_or_before(anchor, last_anchor(rule, day))

    valid = anchor.notnull() & on_or_before(anchor, as_of)
    overdue = valid & expires_by(as_of - timedelta(days=1))
    pending = valid & ~expires_by(as_of - timedelta(days=1))
    exprs = {
        "in_scope": table.count(),
        "missing": _count(anchor.isnull()),
        "future": _count(anchor.notnull() & ~on_or_before(anchor, as_of)),
        "overdue": _count(overdue),
        "due30": _count(pending & expires_by(as_of + timedelta(days=29))),
        "due90": _count(pending & expires_by(as_of + timedelta(days=89))),
    }
    for low, high in OVERDUE_BUCKETS:
        band = expires_by(as_of - timedelta(days=low))
        if high is not None:
            band = band & ~expires_by(as_of - timedelta(days=high + 1))
        exprs[_bucket(low, high)] = _count(overdue & band)
    for month in _forecast_months(as_of):
        first = max(as_of, month)
        end = pl.select(pl.lit(month).dt.month_end()).item()
        within = expires_by(end) & ~expires_by(first - timedelta(days=1))
        exprs[month.strftime("m%Y_%m")] = _count(pending & within)
    return exprs


def _forecast_months(as_of: date) -> list[date]:
    start = as_of.replace(day=1)
    last = pl.lit(start).dt.offset_by(f"{FORECAST_MONTHS - 1}mo")
    return pl.select(pl.date_range(start, last, "1mo")).to_series().to_list()


def consent_result(ds: Dataset, rule: ConsentRule, row: dict[str, Any]) -> ConsentResult:
    """A consent rule's result from its counts (`row`), however they were computed."""
    return ConsentResult(
        dataset=ds.name,
        purpose=rule.purpose,
        records=row["records"],
        given=row["given"],
        withdrawn=row["withdrawn"],
        expired=row["expired"],
        missing=row["missing"],
        unrecognised=row["unrecognised"],
        flagged=row["flagged"],
        processed_without_consent=row["without"],
    )


def rule_result(
    ds: Dataset, rule: RetentionRule, row: dict[str, Any], forecast: list[dict[str, Any]]
) -> RuleResult:
    """A rule's result from its counts (`row`), however they were computed."""
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


def rule_in_database(
    ds: Dataset, rule: RetentionRule, table: ibis.Table, as_of: date
) -> RuleResult:
    """`evaluate_rule` as one aggregate query run by the database."""
    scope = table.filter(db_condition(rule.where, table))
    exprs = _rule_counts(rule, scope, as_of)
    row = _counts(databases.one_row(ds, scope.aggregate(**exprs)))
    forecast = [
        {"month": m.strftime("%Y-%m"), "expiring": row[m.strftime("m%Y_%m")]}
        for m in _forecast_months(as_of)
    ]
    return rule_result(ds, rule, row, forecast)


def _latest_events(
    rule: ConsentRule, events: ibis.Table, as_of: date, names: dict[str, str]
) -> ibis.Table:
    """Per subject, the latest event of the purpose up to `as_of`: its status and time.

    The status is "granted", "withdrawn" or "unrecognised" as in `event_status`; at equal
    times the one of highest `EVENT_PRECEDENCE` is the latest. `names`: the result's column
    names ("subject", "status", "when") and the rank's, chosen by `_fresh`.
    """
    import ibis

    ev = rule.events
    assert ev is not None
    events = events.select(*dict.fromkeys([ev.subject, ev.purpose_column, ev.status_column,
                                           ev.time_column]))  # fmt: skip
    status, rank_name = names["status"], names["rank"]
    when = events[ev.time_column]
    mine = events.filter((events[ev.purpose_column] == rule.purpose) & on_or_before(when, as_of))
    raw = mine[ev.status_column].cast("string").strip().lower()
    mine = mine.mutate(
        **{
            status: ibis.cases(
                (raw == _status_key(ev.granted), "granted"),
                (raw == _status_key(ev.withdrawn), "withdrawn"),
                else_="unrecognised",
            )
        }
    )
    rank = ibis.cases(*((mine[status] == s, n) for s, n in EVENT_PRECEDENCE.items()))
    ranked = mine.mutate(
        **{
            rank_name: ibis.row_number().over(
                group_by=mine[ev.subject],
                order_by=[ibis.desc(mine[ev.time_column]), ibis.desc(rank)],
            )
        }
    )
    latest = ranked.filter(ranked[rank_name] == 0)
    return latest.select(
        **{
            names["subject"]: latest[ev.subject],
            status: latest[status],
            names["when"]: latest[ev.time_column],
        }
    )


def consent_in_database(
    ds: Dataset,
    rule: ConsentRule,
    table: ibis.Table,
    as_of: date,
    events: ibis.Table | None,
) -> ConsentResult:
    """`evaluate_consent` as one aggregate query; the event log joined inside the database."""
    import ibis

    cutoff = pl.select(pl.lit(as_of).dt.offset_by(f"-{rule.max_age.polars_offset}")).item()
    # only the columns the rule reads, and names of govlib's own that no data column has
    used = _used_columns(ds, rule)
    names = {k: _fresh(f"__{k}", used) for k in ("subject", "status", "when", "rank")}
    frame, status, when = table.select(*used["records"]), None, None
    if events is not None:
        latest = _latest_events(rule, events, as_of, names)
        subject = ds.subject_key or rule.events.subject  # type: ignore[union-attr]
        frame = frame.left_join(latest, frame[subject] == latest[names["subject"]])
        status, when = frame[names["status"]], frame[names["when"]]
    flag = frame[rule.flag].fill_null(False) if rule.flag else ibis.literal(False)
    stamp = frame[rule.timestamp] if rule.timestamp else None
    given = ibis.literal("given")
    expired = ibis.literal("expired")
    branches = []
    if status is not None and when is not None:
        branches += [
            (status == "withdrawn", ibis.literal("withdrawn")),
            (status == "unrecognised", ibis.literal("unrecognised")),
            (status == "granted", ibis.ifelse(on_or_after(when, cutoff), given, expired)),
        ]
    if stamp is not None:
        branches.append(
            (flag & stamp.notnull(), ibis.ifelse(on_or_after(stamp, cutoff), given, expired))
        )
    state = ibis.cases(*branches, else_="missing") if branches else ibis.literal("missing")
    exprs = {s: _count(state == s) for s in CONSENT_STATES}
    exprs |= {
        "records": frame.count(),
        "flagged": _count(flag),
        "without": _count(flag & (state != "given")),
    }
    row = _counts(databases.one_row(ds, frame.aggregate(**exprs)))
    return consent_result(ds, rule, row)


def evaluate_in_database(ds: Dataset, *, as_of: date) -> RetentionReport:
    """Judge every rule of a database dataset inside the database: only counts travel back.

    A consent rule's event log is joined inside the database when it lives in the same database
    (the same URI). One held elsewhere (a file, another server) cannot be joined there: that
    rule is judged in polars, reading both datasets, as for files.
    """
    events_of = _events_of(ds)
    shared = [e for e in events_of.values() if databases.same_database(ds, e)]
    con, tables = databases.open_tables(ds, *shared)
    try:
        by_name = {e.name: t for e, t in zip(shared, tables[1:], strict=True)}
        return _judge_where_held(ds, tables[0], by_name, as_of)
    finally:
        con.disconnect()


def evaluate_on_spark(ds: Dataset, *, as_of: date) -> RetentionReport:
    """Judge every rule of a file dataset on Spark, which reads the files: counts travel back.

    A consent rule's event log is read by Spark too when it is a file dataset; one held in a
    database is judged in polars, reading both datasets, as for files.
    """
    from govlib.engine import spark

    session = spark.session()
    table = spark.open_dataset(ds, session).table
    by_name = {
        e.name: spark.open_dataset(e, session).table
        for e in _events_of(ds).values()
        if not e.source.is_database
    }
    return _judge_where_held(ds, table, by_name, as_of)


def _events_of(ds: Dataset) -> dict[str, Dataset]:
    """Each consent rule's event log dataset, by the rule's purpose."""
    return {
        rule.purpose: ds.catalog.dataset(rule.events.dataset) for rule in ds.consent if rule.events
    }


def _judge_where_held(
    ds: Dataset, table: ibis.Table, events: dict[str, ibis.Table], as_of: date
) -> RetentionReport:
    """Every rule as aggregates on `table`'s backend; `events`: the event logs it can join."""
    events_of = _events_of(ds)
    rules = [rule_in_database(ds, rule, table, as_of) for rule in ds.retention]
    consent = []
    for rule in ds.consent:
        log = events_of.get(rule.purpose)
        if log is None or log.name in events:
            joined = events.get(log.name) if log is not None else None
            consent.append(consent_in_database(ds, rule, table, as_of, joined))
        else:
            consent.append(evaluate_consent(ds, rule, sources.scan(ds), as_of, sources.scan(log)))
    return RetentionReport(ds.name, as_of.isoformat(), rules, consent)


# -- applying rules: the erasure engine does the rest -----------------------------------------

# The erasure engine's names, kept here for callers of the retention API.
Plan = erasure.Plan
PlannedAction = erasure.PlannedAction
plan_erasure = erasure.delete_subjects
anonymise_rows = erasure.anonymise_rows
apply_plan = erasure.apply
execute = erasure.execute


def plan_retention(
    catalog: Catalog, name: str, *, as_of: date, frames: dict[str, pl.DataFrame] | None = None
) -> erasure.Plan:
    """Which rows each retention rule of `name` deletes or anonymises on `as_of`, and cascade.

    A rule takes the rows it applies to whose expiry is before `as_of`; rows already
    anonymised, or deleted by an earlier rule, are not anonymised again.
    """
    if frames is None:  # only the datasets a change of `name` can touch are read
        touched = applysql.reachable(catalog, name)
        frames = {n: sources.scan(catalog.dataset(n)).collect() for n in touched}
    ds = catalog.dataset(name)
    if any(rule.action == "anonymise" for rule in ds.retention):
        erasure.check_anonymisable(ds)
    plan = erasure.Plan(as_of=as_of, frames=frames)
    frame = frames[name]
    ids = _logged_ids(ds, frame, identity.subject_key(ds, catalog))
    for rule in ds.retention:
        left = (expiry(rule) - pl.lit(as_of)).dt.total_days()
        anchor = pl.col(rule.anchor).cast(pl.Date)
        due = condition(rule.where) & anchor.is_not_null() & (anchor <= as_of) & (left < 0)
        mask = frame.select(due.fill_null(False)).to_series()
        if rule.action == "anonymise":
            mask = plan.mark_anonymise(name, mask & ~erasure.anonymised(ds, frame), rule.name)
        else:
            mask = plan.mark_delete(name, mask, rule.name)
        if ids is not None:
            for subject in ids.filter(mask).to_list():
                plan.subjects.append((name, rule.name, rule.action, subject))
    erasure.cascade(catalog, plan, name)
    return plan


def _logged_ids(ds: Dataset, frame: pl.DataFrame, key: str | None) -> pl.Series | None:
    """What the log names a row by (pseudonymised): its subject, else its primary key.

    A composite key is its values as a JSON list (`[1, "a|b", null]`). With neither, the log
    has no entry per row.
    """
    if key is not None:
        return frame[key]
    columns = [c for c in ds.primary_key if c in frame.columns]
    if not columns or len(columns) < len(ds.primary_key):
        log.warning(
            "%s: no subject_key or primary_key: the retention log cannot name the rows it "
            "changes; declare one in the catalog",
            ds.name,
        )
        return None
    if len(columns) == 1:
        return frame[columns[0]]
    rows = frame.select(columns).iter_rows()
    return pl.Series([json.dumps(list(row), default=str) for row in rows], dtype=pl.String)


def write_report(
    report: RetentionReport, path: str | Path, *, catalog: Catalog | None = None
) -> None:
    """Write a retention report (counts only) as JSON, atomically; never over a source."""
    path = Path(path)
    restricted.check_out(catalog, path.parent, [path.name])
    outputs.write_json(path, report.to_dict())
