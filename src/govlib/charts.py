"""Altair charts built from result records, never from raw rows.

A chart embeds every column of its source data in the page, so each chart here is built from a
small list of aggregates (`alt.Data(values=...)`) taken from a record: a profile, a quality
result, a retention report, or the run history. Charts render to static SVG through
vl-convert, offline, in JupyterLab and in exported HTML alike; the specs carry tooltips with
counts for interactive use.

Usage, in a notebook: ``charts.enable()`` once, then ``charts.scorecard(quality_result)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import altair as alt

from govlib.profiling import DatasetProfile
from govlib.quality import DIMENSIONS, QualityResult
from govlib.retention import RetentionReport

PALETTE = {
    "good": "#2a9d8f",
    "warn": "#e9c46a",
    "bad": "#e76f51",
    "neutral": "#8d99ae",
    "ink": "#264653",
}
WIDTH = 420


@alt.theme.register("govlib", enable=False)
def _theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif",
            "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": 220},
            "title": {"anchor": "start", "fontSize": 14, "color": PALETTE["ink"], "offset": 10},
            "axis": {"labelColor": "#4a4a4a", "titleColor": "#4a4a4a", "gridColor": "#eeeeee"},
            "axisY": {"labelLimit": 320},
            "legend": {"columnPadding": 16, "labelLimit": 240},
            "bar": {"color": PALETTE["ink"]},
            "line": {"color": PALETTE["ink"], "strokeWidth": 2},
            "range": {"category": [PALETTE[k] for k in ("ink", "good", "warn", "bad", "neutral")]},
        }
    }


def enable() -> None:
    """Use govlib's theme and render charts as static SVG (offline, in JupyterLab and HTML).

    Altair's theme and renderer are global, so importing this module changes neither: a
    notebook calls this once, after its imports.
    """
    alt.theme.enable("govlib")
    alt.renderers.enable("svg")


def _data(rows: Sequence[dict[str, Any]]) -> alt.Data:
    return alt.Data(values=[dict(r) for r in rows])


def scorecard(result: QualityResult) -> alt.Chart:
    """Score (0-100) per quality dimension, coloured against the gate."""
    rows = [
        {"dimension": d, "score": result.scores[d], "gate": result.gate.get(d)}
        for d in DIMENSIONS
        if result.scores.get(d) is not None
    ]
    for row in rows:
        gate = row["gate"] if row["gate"] is not None else result.gate.get("overall")
        row["verdict"] = "below gate" if gate is not None and row["score"] < gate else "ok"
    return (
        alt.Chart(_data(rows), title=f"{result.dataset}: quality score by dimension")
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
            "check": f"{c.check.removeprefix('expect_')} ({c.column or 'table'})",
            "unexpected": c.unexpected_count,
            "percent": c.unexpected_percent,
            "dimension": c.dimension,
        }
        for c in result.checks
        if c.status == "failed"
    ]
    return (
        alt.Chart(_data(rows), title=f"{result.dataset}: failing checks")
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
        alt.Chart(_data(rows), title=f"{profile.dataset}: completeness by column")
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
        alt.Chart(_data(rows), title=f"{profile.dataset}: personal data by column")
        .mark_rect()
        .encode(
            x=alt.X("kind:N", title="kind"),
            y=alt.Y("column:N", sort=None, title=None),
            color=alt.Color("source:N", legend=alt.Legend(orient="bottom")),
            tooltip=["column:N", "kind:N", "source:N", alt.Tooltip("confidence:Q", format=".2f")],
        )
    )


RETENTION_STATES = ("compliant", "due within 90 days", "overdue", "needs review")


def retention_status(report: RetentionReport) -> alt.Chart:
    """Records per retention rule by state."""
    rows = []
    for r in report.rules:
        counts = {
            "compliant": r.compliant - r.due_within_90,
            "due within 90 days": r.due_within_90,
            "overdue": r.overdue,
            "needs review": r.anchor_missing + r.anchor_future,
        }
        rows += [{"rule": r.rule, "state": s, "records": n} for s, n in counts.items()]
    colours = [PALETTE["good"], PALETTE["warn"], PALETTE["bad"], PALETTE["neutral"]]
    return (
        alt.Chart(_data(rows), title=f"{report.dataset}: retention status on {report.as_of}")
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
        alt.Chart(_data(rows), title=f"{report.dataset}: retention ending, next 12 months")
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
        alt.Chart(_data(rows), title=f"{report.dataset}: consent by purpose")
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
    """Overall quality score per run and dataset (rows: run, dataset, overall)."""
    rows = [
        {"run": str(h["run"]), "dataset": h["dataset"], "overall": h["overall"]}
        for h in history
        if h.get("overall") is not None
    ]
    return (
        alt.Chart(_data(rows), title="overall quality score by run")
        .mark_line(point=True)
        .encode(
            x=alt.X("run:O", title="run"),
            y=alt.Y("overall:Q", scale=alt.Scale(zero=False), title="overall score"),
            color=alt.Color("dataset:N", legend=alt.Legend(orient="bottom")),
            tooltip=["run:O", "dataset:N", alt.Tooltip("overall:Q", format=".2f")],
        )
    )
