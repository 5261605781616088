"""Altair charts built from result records, never from raw rows.

A chart embeds every column of its source data in the page, so each chart here is built from a
small list of aggregates (`alt.Data(values=...)`) taken from a record: a profile, a quality
result, a retention report, or the run history. Charts render to static SVG through
vl-convert, offline, in JupyterLab and in exported HTML alike; the specs carry tooltips with
counts for interactive use.

Usage, in a notebook: ``charts.enable()`` once, then ``charts.scorecard(quality_result)``.

In a batch run the kernels do not draw: starting vl-convert's JavaScript engine costs each
kernel about 0.7 s of CPU. They show each chart's Vega-Lite spec instead, and the batch
process, whose engine is started once, draws them to the same SVG before anything reads the
executed notebook (`govlib.reports.draw_charts`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

from govlib import describe, views
from govlib.drift import DriftReport
from govlib.errors import printable
from govlib.profiling import DatasetProfile
from govlib.quality import DIMENSIONS, QualityResult
from govlib.reports import CHART_SPEC_ENV, CHART_SPEC_MIME
from govlib.retention import RetentionReport

# jsonschema (under Altair, and Great Expectations) imports the optional `rfc3987_syntax`
# when installed, which builds a parser grammar at import: about 4 s of every notebook's
# start. It only checks the "iri" string format, which neither library asks for; marking it
# absent (unless something already imported it) makes jsonschema skip that format.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import altair as alt  # noqa: E402

PALETTE = {
    "good": "#2a9d8f",
    "warn": "#e9c46a",
    "bad": "#e76f51",
    "neutral": "#8d99ae",
    "ink": "#264653",
}
WIDTH = 420
# Charts are measured where they are rendered (vl-convert) and drawn where they are read (a
# browser): a font as wide as any a reader's browser falls back to keeps every label inside
# its chart. DejaVu Sans and Verdana share metrics; narrower fallbacks only leave room.
FONT = "DejaVu Sans, Verdana, sans-serif"
LABEL_LIMIT = 240  # px: a longer axis or legend label ends in an ellipsis, inside the chart
TITLE_CHARS = 60  # a longer title wraps onto further lines


@alt.theme.register("govlib", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "padding": 8,
            "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": 220},
            "title": {"anchor": "start", "fontSize": 14, "color": PALETTE["ink"], "offset": 10},
            "axis": {
                "labelColor": "#4a4a4a",
                "titleColor": "#4a4a4a",
                "gridColor": "#eeeeee",
                "labelLimit": LABEL_LIMIT,
            },
            "legend": {"columnPadding": 16, "labelLimit": LABEL_LIMIT, "titleLimit": LABEL_LIMIT},
            "bar": {"color": PALETTE["ink"]},
            "line": {"color": PALETTE["ink"], "strokeWidth": 2},
            "range": {"category": [PALETTE[k] for k in ("ink", "good", "warn", "bad", "neutral")]},
        }
    }


def enable() -> None:
    """Use govlib's theme and render charts as static SVG (offline, in JupyterLab and HTML).

    Altair's theme and renderer are global, so importing this module changes neither: a
    notebook calls this once, after its imports. In a kernel a batch run started (its
    environment sets `GOVLIB_CHARTS=spec`), charts show their spec, which the batch draws.
    """
    alt.theme.enable("govlib")
    if os.environ.get(CHART_SPEC_ENV) == "spec":  # a batch run's kernel: the batch draws
        alt.renderers.register("govlib-spec", _spec_renderer)
        alt.renderers.enable("govlib-spec")
    else:
        alt.renderers.enable("svg")


def _spec_renderer(spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    """A chart as its Vega-Lite spec and version, for the batch process to draw as SVG."""
    vl_version = "_".join(alt.SCHEMA_VERSION.split(".")[:2])  # as Altair's SVG renderer asks
    return {CHART_SPEC_MIME: {"spec": spec, "vl_version": vl_version}}


def _data(rows: Sequence[dict[str, Any]]) -> alt.Data:
    """Chart data from record rows, text without control characters.

    Column names come from data, and the SVG renderer aborts on a control character.
    """
    return alt.Data(
        values=[{k: printable(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]
    )


def title(text: str, width: int = TITLE_CHARS) -> list[str]:
    """A chart title as lines of at most `width` characters (a longer word stays whole).

    >>> title("customers: retention ending in each of the next 12 months", 30)
    ['customers: retention ending in', 'each of the next 12 months']
    """
    import textwrap

    return textwrap.wrap(printable(text), width, break_long_words=False) or [""]


def is_empty(chart: alt.Chart) -> bool:
    """Whether a chart has no data to show (it would draw empty axes)."""
    data = chart.data
    return isinstance(data, alt.Data) and not data.values


def scorecard(result: QualityResult) -> alt.Chart:
    """Score (0-100) per quality dimension, coloured against the gate."""
    rows: list[dict[str, Any]] = [
        {"dimension": d, "score": result.scores[d], "gate": result.gate.get(d)}
        for d in DIMENSIONS
        if result.scores.get(d) is not None
    ]
    for row in rows:
        gate = row["gate"] if row["gate"] is not None else result.gate.get("overall")
        row["verdict"] = "below gate" if gate is not None and row["score"] < gate else "ok"
    return (
        alt.Chart(_data(rows), title=title(f"{result.dataset}: quality score by dimension"))
        .mark_bar()
        .encode(
            x=alt.X("score:Q", scale=alt.Scale(domain=[0, 100]), title="score (0-100)"),
            y=alt.Y("dimension:N", sort=list(DIMENSIONS), title=None),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(
                    domain=["ok", "below gate"], range=[PALETTE["good"], PALETTE["bad"]]
                ),
                legend=alt.Legend(title=None, orient="bottom"),
            ),
            tooltip=["dimension:N", alt.Tooltip("score:Q", format=".2f"), "gate:Q"],
        )
    )


def failing_checks(result: QualityResult) -> alt.Chart:
    """Unexpected rows per failing check."""
    rows = [
        {
            "check": describe.check_sentence(c.check, c.kwargs, c.column),
            "unexpected": c.unexpected_count,
            "percent": c.unexpected_percent,
            "dimension": c.dimension,
        }
        for c in result.checks
        if c.status == "failed"
    ]
    return (
        alt.Chart(_data(rows), title=title(f"{result.dataset}: failing checks"))
        .mark_bar(color=PALETTE["bad"])
        .encode(
            x=alt.X("unexpected:Q", title="unexpected rows"),
            y=alt.Y("check:N", sort="-x", title=None),
            tooltip=[
                "check:N",
                "unexpected:Q",
                alt.Tooltip("percent:Q", format=".2f"),
                "dimension:N",
            ],
        )
    )


def completeness(profile: DatasetProfile) -> alt.Chart:
    """Share of non-null values per column."""
    rows = [
        {"column": c.column, "complete": round(1 - c.null_rate, 6), "nulls": c.nulls}
        for c in profile.column_profiles
    ]
    return (
        alt.Chart(_data(rows), title=title(f"{profile.dataset}: completeness by column"))
        .mark_bar()
        .encode(
            x=alt.X(
                "complete:Q",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
                title="non-null",
            ),
            y=alt.Y("column:N", sort=None, title=None),
            tooltip=["column:N", alt.Tooltip("complete:Q", format=".1%"), "nulls:Q"],
        )
    )


def pii_map(profile: DatasetProfile) -> alt.Chart:
    """Which columns hold which kind of personal data, and how it was established."""
    rows = [
        {"column": f.column, "kind": f.kind, "source": f.source, "confidence": f.confidence}
        for f in profile.pii
    ]
    return (
        alt.Chart(_data(rows), title=title(f"{profile.dataset}: personal data by column"))
        .mark_rect()
        .encode(
            x=alt.X("kind:N", title="kind"),
            y=alt.Y("column:N", sort=None, title=None),
            color=alt.Color("source:N", legend=alt.Legend(orient="bottom")),
            tooltip=["column:N", "kind:N", "source:N", alt.Tooltip("confidence:Q", format=".2f")],
        )
    )


RETENTION_STATES = ("within the period", "due within 90 days", "overdue", "needs review")


def retention_status(report: RetentionReport) -> alt.Chart:
    """Records per retention rule by state (the states of `views.retention_state`)."""
    rows = [
        {"rule": r.rule, "state": s, "records": n}
        for r in report.rules
        for s, n in views.retention_state(r).items()
    ]
    colours = [PALETTE["good"], PALETTE["warn"], PALETTE["bad"], PALETTE["neutral"]]
    return (
        alt.Chart(_data(rows), title=title(f"{report.dataset}: retention status on {report.as_of}"))
        .mark_bar()
        .encode(
            x=alt.X("sum(records):Q", title="records"),
            y=alt.Y("rule:N", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=list(RETENTION_STATES), range=colours),
                legend=alt.Legend(orient="bottom"),
            ),
            order=alt.Order("order:Q"),
            tooltip=["rule:N", "state:N", "records:Q"],
        )
        .transform_calculate(order=f"indexof({list(RETENTION_STATES)!r}, datum.state)")
    )


def expiry_forecast(report: RetentionReport) -> alt.Chart:
    """Records whose retention ends in each of the next 12 months, per rule."""
    rows = [
        {"rule": r.rule, "month": f["month"], "expiring": f["expiring"]}
        for r in report.rules
        for f in r.forecast
    ]
    return (
        alt.Chart(_data(rows), title=title(f"{report.dataset}: retention ending, next 12 months"))
        .mark_bar()
        .encode(
            x=alt.X("month:O", title=None),
            y=alt.Y("expiring:Q", title="records"),
            color=alt.Color("rule:N", legend=alt.Legend(orient="bottom")),
            tooltip=["rule:N", "month:O", "expiring:Q"],
        )
    )


def consent_coverage(report: RetentionReport) -> alt.Chart:
    """Records per consent state, per purpose."""
    rows = []
    for c in report.consent:
        for state in ("given", "withdrawn", "expired", "missing"):
            rows.append({"purpose": c.purpose, "state": state, "records": getattr(c, state)})
    colours = [PALETTE["good"], PALETTE["bad"], PALETTE["warn"], PALETTE["neutral"]]
    return (
        alt.Chart(_data(rows), title=title(f"{report.dataset}: consent by purpose"))
        .mark_bar()
        .encode(
            x=alt.X("sum(records):Q", title="records"),
            y=alt.Y("purpose:N", title=None),
            color=alt.Color(
                "state:N",
                scale=alt.Scale(domain=["given", "withdrawn", "expired", "missing"], range=colours),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=["purpose:N", "state:N", "records:Q"],
        )
    )


def score_trend(history: Sequence[dict[str, Any]]) -> alt.Chart:
    """Overall quality score per dataset over time (rows: run, date, dataset, overall).

    `date` is when the run started (ISO); the current run is one of the rows.
    """
    rows = [
        {"run": str(h["run"]), "date": h.get("date"), "dataset": h["dataset"],
         "overall": h["overall"]}
        for h in history
        if h.get("overall") is not None
    ]  # fmt: skip
    return (
        alt.Chart(_data(rows), title=title("overall quality score per dataset, by run date"))
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "date:T", title="run date", axis=alt.Axis(format="%Y-%m-%d %H:%M", labelAngle=-30)
            ),
            y=alt.Y("overall:Q", scale=alt.Scale(zero=False), title="overall score"),
            color=alt.Color("dataset:N", legend=alt.Legend(orient="bottom")),
            tooltip=["run:N", "date:T", "dataset:N", alt.Tooltip("overall:Q", format=".2f")],
        )
    )


def drift(report: DriftReport) -> alt.Chart:
    """Per column, how far it moved since the previous profile: null rate and PSI."""
    rows = []
    for c in report.columns:
        rows.append(
            {
                "column": c.column,
                "measure": "null rate change (points)",
                "value": round(100 * c.null_rate_delta, 4),
                "drifted": c.drifted,
            }
        )
        if c.psi is not None:
            rows.append({"column": c.column, "measure": "population stability index",
                         "value": round(c.psi, 4), "drifted": c.drifted})  # fmt: skip
    return (
        alt.Chart(_data(rows), title=title(f"{report.dataset}: drift since the previous run"))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=None),
            y=alt.Y("column:N", sort=None, title=None),
            color=alt.Color(
                "drifted:N",
                scale=alt.Scale(domain=[False, True], range=[PALETTE["ink"], PALETTE["bad"]]),
                legend=alt.Legend(title="drifted", orient="bottom"),
            ),
            column=alt.Column("measure:N", title=None),
            tooltip=["column:N", "measure:N", alt.Tooltip("value:Q", format=".3f")],
        )
        .properties(width=220)
        .resolve_scale(x="independent")
    )
