"""What the notebooks call: open a dataset on a day, show records as tables, save results.

Notebooks stay thin: one call per section. Everything they show comes from result records, so
a table here never holds a raw row; every value is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from govlib import catalog as catalog_mod
from govlib import outputs
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
    """An HTML table of plain values, escaped, that notebooks display and tests read."""

    def __init__(self, rows: Iterable[Any], columns: list[str] | None = None):
        self.rows = [r.to_dict() if hasattr(r, "to_dict") else dict(r) for r in rows]
        self.columns = columns or (list(self.rows[0]) if self.rows else [])

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in self.columns) + "</tr>"
            for r in self.rows
        )
        return f'<table class="govlib"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'

    def __repr__(self) -> str:
        lines = [" | ".join(self.columns)]
        lines += [" | ".join(str(r.get(c, "")) for c in self.columns) for r in self.rows]
        return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return html.escape(", ".join(str(v) for v in value))
    if isinstance(value, dict):
        return html.escape(", ".join(f"{k}: {v}" for k, v in value.items()))
    return html.escape(str(value))


def table(rows: Iterable[Any], columns: list[str] | None = None) -> Table:
    """Records (or plain dicts) as an escaped HTML table, optionally some columns only."""
    return Table(rows, columns)


def register(ctx: Context, findings: Mapping[str, Iterable[str]] | None = None) -> Table:
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
                    f"{r.name}: {r.action} {r.period} after {r.anchor}" for r in ds.retention
                ]
                or ["-"],
            }
        )
    return Table(rows)


def save(output_dir: str | Path, **records: Any) -> Path:
    """Write the records (objects with `to_dict()`, or plain values) to `results.json`."""
    return outputs.write_json(Path(output_dir) / "results.json", _plain(records))


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def trend(history_db: str) -> Any:
    """The overall-score trend chart from the run history, or a note when there is none."""
    from IPython.display import Markdown

    from govlib import charts

    if not history_db or not Path(history_db).is_file():
        return Markdown("No run history yet: the trend appears after scheduled runs.")
    from govlib import history

    rows = history.trend(history_db)
    if not rows:
        return Markdown("The run history holds no scored runs yet.")
    return charts.score_trend(rows)


def records(ctx: Context, name: str) -> dict[str, Any]:
    """A dataset's profile, quality result and retention report, each once, from one read.

    The records its notebooks compute in a batch run, keyed as they save them.
    """
    from govlib import profiling, quality, retention, sources

    ds = ctx.catalog.dataset(name)
    frame = sources.scan(ds).collect()
    return {
        "profile": profiling.profile(frame.lazy(), dataset=name, as_of=ctx.as_of, declared=ds),
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


VERDICT_COLUMNS = [
    "dataset", "quality", "overall", "gate_failures", "failing_checks", "overdue",
    "without_consent", "undeclared_pii", "pii_found",
]  # fmt: skip


def verdict_table(verdicts_: Iterable[Verdict]) -> Table:
    """The verdicts as the overview shows them: one row per dataset."""
    rows = [v.to_dict() | {"failing_checks": v.failing_checks} for v in verdicts_]
    return Table(rows, VERDICT_COLUMNS)


def found_kinds(verdicts_: Iterable[Verdict]) -> dict[str, list[str]]:
    """Dataset -> kinds of personal data found, for the register."""
    return {v.dataset: v.pii_found or [] for v in verdicts_}
