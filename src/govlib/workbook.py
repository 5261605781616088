"""What the notebooks call: open a dataset on a day, show records as tables, save results.

Notebooks stay thin: one call per section. Everything they show comes from result records, so
a table here never holds a raw row; every value is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from govlib import catalog as catalog_mod
from govlib import outputs, views
from govlib import verdicts as verdicts_mod
from govlib.errors import GovlibError, ParameterError
from govlib.verdicts import Verdict


@dataclass(frozen=True, slots=True)
class Context:
    """A catalog, one of its datasets (optional), and the day rules are judged on."""

    catalog: catalog_mod.Catalog
    dataset: catalog_mod.Dataset | None
    as_of: date


def open_context(catalog_path: str, dataset: str = "", as_of: str = "") -> Context:
    """Load the catalog and the dataset; `as_of` defaults to the catalog's, then today."""
    cat = catalog_mod.load(catalog_path)
    ds = cat.dataset(dataset) if dataset else None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            raise ParameterError(f"as_of must be a date as YYYY-MM-DD, got {as_of!r}") from None
    else:
        day = cat.as_of or date.today()
    return Context(cat, ds, day)


class Table:
    """An HTML table of plain values, escaped, that notebooks display and tests read.

    Headings are words ("Unexpected count"), long cells wrap to the page, and a table with
    no rows reads `empty` ("None.") instead of showing an empty frame.
    """

    def __init__(
        self, rows: Iterable[Any], columns: list[str] | None = None, *, empty: str = "None."
    ):
        self.rows = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in rows]
        self.columns = columns or (list(self.rows[0]) if self.rows else [])
        self.empty = empty

    def _repr_html_(self) -> str:
        return views.table(self.rows, self.columns, empty=self.empty).markup

    def __repr__(self) -> str:
        return views.table(self.rows, self.columns, empty=self.empty).text


def table(rows: Iterable[Any], columns: list[str] | None = None, *, empty: str = "None.") -> Table:
    """Records (or plain dicts) as an escaped HTML table, optionally some columns only."""
    return Table(rows, columns, empty=empty)


def register(ctx: Context, findings: Mapping[str, Iterable[str]] | None = None) -> views.Html:
    """The record of processing activities (GDPR Art. 30), one row per dataset.

    `findings` maps a dataset to the kinds of personal data found in it (from profiles). The
    catalog's free text is shown as written: a batch run's leak scanner reads it in the shared
    overview and withholds the page when it names a person (`LeakScanner.check_catalog` says
    which dataset and key).
    """
    rows = []
    for name in ctx.catalog.names():
        ds = ctx.catalog.dataset(name)
        declared = sorted({s.pii.value for s in ds.columns.values() if s.pii})
        found = sorted(set(findings.get(name, ()))) if findings else []
        rows.append(
            {
                "dataset": name,
                "purpose": ds.purpose,
                "lawful basis": ds.lawful_basis.replace("_", " "),
                "owner": ds.owner,
                "steward": ds.steward,
                "data subjects": ds.data_subjects,
                "recipients": ds.recipients or ["-"],
                "personal data (declared)": declared or ["none"],
                "personal data (found)": found or ["none"],
                "retention": [
                    f"{r.name}: {r.action} {views.period(str(r.period))} after {r.anchor}"
                    for r in ds.retention
                ]
                or ["-"],
            }
        )
    return views.definition_cards(rows, "dataset", empty="The catalog declares no dataset.")


def save(output_dir: str | Path, **records: Any) -> views.Html:
    """Write the records (objects with `to_dict()`, or plain values) to `results.json`.

    Returns a note naming what was saved, never where: a path would show a machine's
    folders in every shared report.
    """
    outputs.write_json(Path(output_dir) / "results.json", _plain(records))
    return views.note(f"Saved the {' and '.join(records) or 'empty'} record for the run.")


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def run_date(run_id: str) -> str | None:
    """When a run started, from its id (`20250131T020000Z-ab12`), as ISO; None if not an id.

    >>> run_date("20250131T020304Z-ab12")
    '2025-01-31T02:03:04'
    """
    from datetime import datetime

    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").isoformat()
    except ValueError:
        return None


def trend_rows(
    history_db: str, current: Iterable[Verdict] = (), run_id: str = ""
) -> list[dict[str, Any]]:
    """Overall scores per run and dataset: the history's runs, then the current run's.

    The history is written when a run is published, after its overview ran; the current
    run's verdicts (`current`, under `run_id`) are added so the trend is not a run behind.
    """
    rows = []
    if history_db and Path(history_db).is_file():
        from govlib import history

        rows = [r for r in history.trend(history_db) if r["run"] != run_id]
    if run_id:
        rows += [{"run": run_id, "dataset": v.dataset, "overall": v.overall} for v in current]
    return [r | {"date": run_date(str(r["run"]))} for r in rows if r.get("overall") is not None]


def trend(history_db: str, current: Iterable[Verdict] = (), run_id: str = "") -> Any:
    """The overall-score trend chart by run date, or a note when there is nothing to plot."""
    from IPython.display import Markdown

    from govlib import charts

    rows = trend_rows(history_db, current, run_id)
    if not rows and not (history_db and Path(history_db).is_file()):
        return Markdown("No run history yet: the trend appears after scheduled runs.")
    if not rows:
        return Markdown("The run history holds no scored runs yet.")
    return charts.score_trend(rows)


def chart(figure: Any, empty: str) -> Any:
    """`figure`, or the sentence `empty` when it has no data (no empty axes in a report)."""
    from govlib import charts

    return views.note(empty) if charts.is_empty(figure) else figure


def quality_summary(result: Any) -> views.Html:
    """A quality result's verdict in one sentence, with its status badge."""
    return views.quality_summary(result)


def checks(result: Any) -> views.Html:
    """A quality result's checks as sentences, failing first (same text as the report)."""
    return views.checks(result)


def columns(profile: Any) -> views.Html:
    """A profile's columns as compact cards: figures, distribution or shapes, alerts."""
    return views.column_cards(profile)


def retention_rules(report: Any) -> views.Html:
    """Each retention rule in words, its records in the retention chart's states."""
    return views.retention_rules(report)


def previous_profile(history_db: str, dataset: str) -> Any:
    """The dataset's profile from the last published run beside `history_db`, or None."""
    import json

    from govlib.profiling import DatasetProfile

    if not history_db:
        return None
    saved = Path(history_db).parent / "latest" / dataset / "profile.json"
    if not saved.is_file():
        return None
    found = json.loads(saved.read_text(encoding="utf-8")).get("profile")
    return DatasetProfile.from_dict(found) if isinstance(found, dict) else None


def drift(profile: Any, previous: Any) -> Any:
    """Drift since the previous run's profile as a chart, or a note when there is none."""
    from govlib import charts, drift

    if previous is None:
        return views.note("No previous run to compare with: drift appears from the next run.")
    report = drift.compare(previous, profile)
    changes = report.added_columns + report.removed_columns
    figure = chart(charts.drift(report), "No column to compare with the previous run.")
    if not changes and not report.type_changes:
        return figure
    from IPython.display import display

    display(
        views.note(
            f"Columns added or removed since the previous run: {', '.join(changes)}"
            if changes
            else "Some columns changed type since the previous run."
        )
    )
    return figure


def records(ctx: Context, name: str) -> dict[str, Any]:
    """A dataset's profile, quality result and retention report, each once, from one read.

    The records its notebooks compute in a batch run, keyed as they save them.
    """
    from govlib import profiling, quality, retention, sources

    ds = ctx.catalog.dataset(name)
    frame = sources.scan(ds).collect()
    profile = (
        profiling.profile_dataset(ds, as_of=ctx.as_of)  # inside the database
        if ds.source.is_database
        else profiling.profile(frame.lazy(), dataset=name, as_of=ctx.as_of, declared=ds)
    )
    return {
        "profile": profile,
        "quality": quality.validate(ds, as_of=ctx.as_of, frame=frame),
        "retention": retention.evaluate(ds, as_of=ctx.as_of, lf=frame.lazy()),
    }


def verdict(ctx: Context, name: str) -> Verdict:
    """One dataset's verdict from its records computed here, built as a batch builds it."""
    return verdicts_mod.build(name, records(ctx, name))


def verdicts(ctx: Context, results_dir: str = "") -> list[Verdict]:
    """The verdict of every dataset in the catalog, from a run's records when it has them.

    `results_dir` is a batch run's folder of saved records (`<dataset>/<notebook>.json`): the
    verdicts are then read from them and nothing is computed again. Without it (an analyst
    running the overview) each dataset is read and computed once; one that cannot be read gets
    quality "unreadable" and no figures, so the overview of the others goes on (its own
    notebooks report why it failed).
    """
    if results_dir:
        return verdicts_mod.from_results(results_dir, ctx.catalog.names())
    found = []
    for name in ctx.catalog.names():
        try:
            found.append(verdict(ctx, name))
        except GovlibError:
            found.append(verdicts_mod.unreadable(name))
    return found


def found_kinds(verdicts_: Iterable[Verdict]) -> dict[str, list[str]]:
    """Dataset -> kinds of personal data found, for the register."""
    return {v.dataset: v.pii_found or [] for v in verdicts_}


# -- explore: for an analyst at a keyboard; these show rows and never reach a shared export ---


def failing_rows(ctx: Context, result: Any, check: int | str | None = None, limit: int = 20) -> Any:
    """Rows of the dataset that fail one check of `result`, as a polars DataFrame.

    `check` is a position in `result.checks`, or text found in a check's sentence or column
    (e.g. "email"); by default the first failing check. Shows rows: run it interactively only
    (notebooks tag the cell `explore`, which keeps it out of every shared export).
    """
    from govlib import describe, quality, sources

    chosen = _chosen_check(result, check)
    if chosen is None:
        return views.note("No check failed.")
    sentence = describe.check_sentence(chosen.check, chosen.kwargs, chosen.column)
    entry = {"type": chosen.check, "kwargs": {k: v for k, v in chosen.kwargs.items()
                                              if k != "batch_id"}}  # fmt: skip
    suite = (
        quality.read_suite(quality.suite_path(ctx.catalog, result.suite)) if result.suite else {}
    )
    entry = next((e for e in suite.get("expectations", []) if e["type"] == chosen.check
                  and (e.get("kwargs") or {}).get("column") == chosen.column), entry)  # fmt: skip
    if ctx.dataset is None:
        raise ParameterError("explore a check of a dataset: set the dataset parameter")
    frame = sources.scan(ctx.dataset).collect()
    ok = quality.row_predicate(entry, as_of=ctx.as_of, schema=frame.schema)
    if ok is None:
        return views.note(f"'{sentence}' judges the table as a whole; it has no failing rows.")
    return frame.filter(~ok).head(limit)


def _chosen_check(result: Any, check: int | str | None) -> Any:
    from govlib import describe

    if isinstance(check, int):
        return result.checks[check]
    for c in result.checks:
        sentence = describe.check_sentence(c.check, c.kwargs, c.column)
        if (check is None and c.status == "failed") or (
            isinstance(check, str) and check in (sentence, c.column)
        ):
            return c
    return None


def subject_records(ctx: Context, subject_id: str = "") -> dict[str, Any]:
    """Every dataset's rows of one subject (by subject id), as polars DataFrames.

    Without `subject_id`, the subject of the dataset's first record past retention. Shows
    rows: run it interactively only (notebooks tag the cell `explore`).
    """
    from govlib import identity, retention, rights

    frames = rights.subject_frames(ctx.catalog)
    if not subject_id and ctx.dataset is not None:
        column = identity.subject_id_column(ctx.dataset, ctx.catalog)
        overdue = _overdue(frames[ctx.dataset.name], ctx.dataset, ctx.as_of, retention)
        if column is None or overdue.is_empty():
            return {"note": views.note("No subject to show: give a subject id.")}
        subject_id = str(overdue[column][0])
    _, plan = rights.find(ctx.catalog, subject_id=subject_id, as_of=ctx.as_of, frames=frames)
    return {name: frames[name].filter(mask) for name, mask in plan.deletes.items() if mask.any()}


def _overdue(frame: Any, ds: Any, as_of: date, retention: Any) -> Any:
    """The rows of `frame` past any of the dataset's retention rules."""
    import polars as pl

    past = pl.lit(False)
    for rule in ds.retention:
        expired = retention.expiry(rule) < pl.lit(as_of)
        past = past | (retention.condition(rule.where) & expired).fill_null(False)
    return frame.filter(past)


CONSENT_COLUMNS = ["purpose", "records", "given", "withdrawn", "expired", "missing",
                   "unrecognised", "flagged", "processed_without_consent"]  # fmt: skip


def consent(report: Any) -> Any:
    """Consent by purpose: the chart, then the table; one note when no rule applies."""
    from IPython.display import display

    from govlib import charts

    if not report.consent:
        return views.note("The catalog declares no consent rule for this dataset.")
    display(charts.consent_coverage(report))
    return Table(report.consent, CONSENT_COLUMNS)
