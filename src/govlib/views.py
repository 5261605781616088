"""HTML views of result records: what a notebook displays and a shared report carries.

Each view is an `Html` fragment (`_repr_html_` for JupyterLab and nbconvert, a plain-text
`repr` for consoles) built from value-free records. Every text is HTML-escaped here; colours
and layout ride on inline styles so a view reads the same in JupyterLab (which has no govlib
stylesheet) and in a shared report (whose stylesheet adds to them). An empty view says so in
words instead of drawing an empty table.

>>> heading("unexpected_percent")
'Unexpected percent'
>>> note("No check failed.").text
'No check failed.'
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from govlib import describe
from govlib.errors import printable

HEADINGS = {
    "dtype": "Type",
    "pii_kind": "Personal data",
    "null_rate": "Empty",
    "in_scope": "In scope",
    "anchor_missing": "Anchor date missing",
    "anchor_future": "Anchor date in the future",
    "processed_without_consent": "Processed without valid consent",
    "flagged": "Flagged for the purpose",
    "gate_failures": "Gate failures",
    "undeclared_pii": "Undeclared personal data",
    "pii_found": "Personal data found",
    "overall": "Overall score",
    "failing_checks": "Failing checks",
    "without_consent": "Without valid consent",
    "needs_review": "Needs retention review",
}
STATUS_COLOURS = {  # background, text
    "passed": ("#d8f3ee", "#1d6b61"),
    "failed": ("#fde2da", "#a33b1f"),
    "error": ("#efe3f7", "#6b2f8f"),
    "warning": ("#fbf0d0", "#7a5b00"),
}
STATUS_ORDER = {"failed": 0, "error": 1, "passed": 2}


def esc(value: Any) -> str:
    """Any value as escaped HTML text, control characters shown as `?`."""
    return html.escape(printable(value))


LONG_WORD = 24  # characters: a longer word may break anywhere; shorter words stay whole


def td(text: str, style: str = "") -> str:
    """A table cell of plain `text` that wraps between words, or anywhere in a long word.

    Breaking every cell anywhere would squeeze short words ("complete|ness") into narrow
    columns; keeping long ones whole (a column name of 50 characters) would push the table
    wider than the page.
    """
    long = any(len(word) > LONG_WORD for word in str(text).split())
    wrap = ";overflow-wrap:anywhere" if long else ";overflow-wrap:break-word"
    return f'<td style="{TD}{wrap}{style}">{esc(text)}</td>'


def heading(name: str) -> str:
    """A field name as a column heading: words, not snake_case."""
    if name in HEADINGS:
        return HEADINGS[name]
    words = name.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


class Html:
    """An HTML fragment to display, with a plain-text form for consoles and tests."""

    def __init__(self, markup: str, text: str) -> None:
        self.markup = markup
        self.text = text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def note(text: str) -> Html:
    """A sentence standing for an empty section ("None.", "No check failed.")."""
    return Html(
        f'<p class="govlib-none" style="color:#555;font-style:italic">{esc(text)}</p>', text
    )


def cell(value: Any) -> str:
    """A plain value as table text: thousands separators, lists joined, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {cell(v)}" for k, v in value.items()) or "-"
    return str(value)


TABLE = "border-collapse:collapse;width:100%;font-size:13px;margin:8px 0"
TH = "text-align:left;padding:4px 8px;border-bottom:2px solid #ccc;background:#f3f5f7"
TD = "text-align:left;padding:4px 8px;border-bottom:1px solid #e3e3e3;vertical-align:top"


def table(rows: Sequence[Mapping[str, Any]], columns: list[str], *, empty: str = "None.") -> Html:
    """Rows as a table that wraps its cells to fit the page; `empty` when there are none."""
    if not rows:
        return note(empty)
    head = "".join(f'<th style="{TH}">{esc(heading(c))}</th>' for c in columns)
    body = "".join("<tr>" + "".join(td(cell(r.get(c))) for c in columns) + "</tr>" for r in rows)
    text = "\n".join(
        [" | ".join(heading(c) for c in columns)]
        + [" | ".join(cell(r.get(c)) for c in columns) for r in rows]
    )
    markup = (
        f'<table class="govlib" style="{TABLE}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )
    return Html(markup, text)


def badge(status: str, label: str | None = None) -> str:
    """A coloured status label (passed, failed, error; anything else grey)."""
    background, colour = STATUS_COLOURS.get(status, ("#eceff3", "#333"))
    style = (
        f"background:{background};color:{colour};border-radius:4px;padding:1px 7px;"
        "font-weight:600;white-space:nowrap"
    )
    return f'<span class="govlib-badge" style="{style}">{esc(label or status)}</span>'


def _check_row(check: Any, rows: int) -> dict[str, str]:
    """One check as the words of its table row."""
    c = check if isinstance(check, Mapping) else check.to_dict()
    sentence = describe.check_sentence(c["check"], c.get("kwargs") or {}, c.get("column"))
    if c["check"].startswith("expect_table_row_count"):
        observed = f"{rows:,} rows"
    else:
        observed = f"{c['element_count']:,} rows checked"
    unexpected = f"{c['unexpected_count']:,} ({c['unexpected_percent']:.2f}%)"
    if c["status"] == "error":
        unexpected = c.get("reason") or "could not run"
    detail = c["check"] + (" · blocking" if c.get("blocking") else "")
    return {
        "status": c["status"],
        "check": sentence,
        "detail": detail,
        "dimension": c["dimension"],
        "observed": observed,
        "unexpected": unexpected,
        "threshold": describe.threshold(c.get("kwargs") or {}),
    }


def checks(result: Any) -> Html:
    """A quality result's checks in words, failing first: one dense row per check."""
    found = sorted(
        (_check_row(c, result.rows) for c in result.checks),
        key=lambda r: STATUS_ORDER.get(r["status"], 3),
    )
    if not found:
        return note("The suite holds no checks.")
    columns = ["status", "check", "dimension", "observed", "unexpected", "threshold"]
    head = "".join(f'<th style="{TH}">{esc(heading(c))}</th>' for c in columns)
    body = []
    for r in found:
        colour = STATUS_COLOURS.get(r["status"], ("#eceff3", "#333"))[1]
        cells = [
            f'<td style="{TD};border-left:5px solid {colour}">{badge(r["status"])}</td>',
            f'<td style="{TD};overflow-wrap:anywhere">{esc(r["check"])}<br>'
            f'<small style="color:#666">{esc(r["detail"])}</small></td>',
            *(td(r[k]) for k in columns[2:]),
        ]
        body.append(f'<tr class="govlib-{esc(r["status"])}">{"".join(cells)}</tr>')
    text = "\n".join(f"{r['status']}: {r['check']} ({r['unexpected']})" for r in found)
    markup = (
        f'<table class="govlib govlib-checks" style="{TABLE}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )
    return Html(markup, text)


def quality_summary(result: Any) -> Html:
    """The verdict of a quality result in one sentence, with its status badge."""
    counts = result.counts or {}
    total = sum(counts.values())
    text = f"{counts.get('failed', 0):,} of {total:,} checks failed"
    if counts.get("error"):
        text += f", {counts['error']:,} could not run"
    if result.gate_failures:
        text += "; the gate failed: " + "; ".join(result.gate_failures)
    elif result.status == "passed":
        text += "; the gate held"
    overall = f" Overall score {result.overall:.2f}." if result.overall is not None else ""
    sentence = text + "." + overall
    return Html(f"<p>{badge(result.status)} {esc(sentence)}</p>", f"{result.status}: {sentence}")


def bars(items: Iterable[tuple[str, int]], total: int, *, colour: str = "#264653") -> str:
    """Labelled horizontal bars as HTML (no SVG): label, bar, count."""
    out = []
    for label, count in items:
        width = 0 if not total else max(1, round(100 * count / total))
        out.append(
            '<div style="display:flex;gap:6px;align-items:center;font-size:12px">'
            f'<span style="flex:0 0 40%;overflow-wrap:anywhere">{esc(label)}</span>'
            f'<span style="flex:1 1 auto"><span style="display:block;height:9px;'
            f'width:{width}%;background:{colour}"></span></span>'
            f'<span style="flex:0 0 auto">{count:,}</span></div>'
        )
    return "".join(out)


CARD = "border:1px solid #dde1e6;border-radius:6px;padding:8px 10px;min-width:0"
CARDS = "display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px"


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return cell(value)


def _facts(c: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A column profile's figures as (label, text) pairs, where it has them."""
    facts = [
        ("Empty", f"{c['nulls']:,} ({c['null_rate']:.1%})"),
        ("Distinct", f"{c['distinct']:,}"),
    ]
    if c.get("mean") is not None:
        facts.append(("Mean ± std", f"{_number(c['mean'])} ± {_number(c.get('std'))}"))
    if c.get("min") is not None or c.get("max") is not None:
        facts.append(("Range", f"{_number(c.get('min'))} to {_number(c.get('max'))}"))
    if c.get("quantiles"):
        quantiles = [f"{q}: {_number(v)}" for q, v in c["quantiles"].items()]
        facts.append(("Quantiles", ", ".join(quantiles)))
    if c.get("length_min") is not None:
        facts.append(("Length", f"{c['length_min']:,} to {c['length_max']:,} characters"))
    for key, label in (("zeros", "Zeros"), ("negatives", "Negatives"),
                       ("future", "After as of"), ("empty", "Blank strings"),
                       ("true_count", "True")):  # fmt: skip
        if c.get(key):
            facts.append((label, f"{c[key]:,}"))
    return facts


def visible_spaces(shape: str) -> str:
    """A value shape with its leading and trailing spaces shown (`␣a.a9@a.a␣`).

    >>> visible_spaces(" a.a9@a.a ")
    '␣a.a9@a.a␣'
    """
    core = shape.strip(" ")
    if not core:
        return "␣" * len(shape)
    start = shape.index(core)
    return "␣" * start + core + "␣" * (len(shape) - start - len(core))


def _distribution(c: Mapping[str, Any]) -> str:
    """A column's histogram, top values or masked shapes, as HTML bars (what it has)."""
    present = c["rows"] - c["nulls"]
    if c.get("histogram"):
        items = [(f"{_number(b['start'])} to {_number(b['end'])}", int(b["count"]))
                 for b in c["histogram"]]  # fmt: skip
        return "<p><small>Histogram</small></p>" + bars(items, max(n for _, n in items))
    if c.get("top_values"):
        items = [(cell(t["value"]), int(t["count"])) for t in c["top_values"]]
        return "<p><small>Top values</small></p>" + bars(items, present)
    if c.get("shapes"):
        items = [(visible_spaces(str(s["shape"])), int(s["count"])) for s in c["shapes"]]
        legend = "Value shapes (A upper, a lower, 9 digits, ␣ a space at an end)"
        return f"<p><small>{legend}</small></p>" + bars(items, present, colour="#8d99ae")
    return ""


def column_card(column: Any) -> str:
    """One column of a profile as a compact card: type, figures, distribution, alerts."""
    c = column if isinstance(column, Mapping) else column.to_dict()
    kind = [c["dtype"], c["category"].replace("_", " ")]
    if c.get("pii_kind"):
        kind.append(c["pii_kind"].replace("_", " "))
    facts = "".join(
        f'<div style="display:flex;gap:6px;font-size:12px"><span style="flex:0 0 40%;'
        f'color:#555">{esc(k)}</span><span style="overflow-wrap:anywhere">{esc(v)}</span></div>'
        for k, v in _facts(c)
    )
    alerts = "".join(f" {badge('warning', a)}" for a in c.get("alerts") or [])
    return (
        f'<section class="govlib-card" style="{CARD}">'
        f'<h4 style="margin:0;overflow-wrap:anywhere">{esc(c["column"])}</h4>'
        f'<p style="margin:2px 0 6px;color:#555;font-size:12px">{esc(" · ".join(kind))}</p>'
        f"{facts}{_distribution(c)}"
        + (f'<p style="margin:6px 0 0;line-height:1.8">{alerts}</p>' if alerts else "")
        + "</section>"
    )


def column_cards(profile: Any) -> Html:
    """Every column of a profile as a card, in a grid that wraps to the page's width."""
    columns = list(profile.column_profiles)
    if not columns:
        return note("The dataset has no columns.")
    markup = f'<div class="govlib-cards" style="{CARDS}">' + "".join(
        column_card(c) for c in columns
    ) + "</div>"  # fmt: skip
    text = "\n".join(f"{c.column}: {c.dtype}, {c.nulls:,} empty, {c.distinct:,} distinct"
                     for c in columns)  # fmt: skip
    return Html(markup, text)


PERIOD_UNITS = {"Y": "year", "M": "month", "W": "week", "D": "day"}


def period(text: str) -> str:
    """An ISO-8601 period in words: `P2Y` is "2 years", `P1Y6M` "1 year 6 months"."""
    parts = re.findall(r"(\d+)([YMWD])", text)
    if not parts or not text.startswith("P"):
        return text
    return " ".join(f"{n} {PERIOD_UNITS[u]}{'' if n == '1' else 's'}" for n, u in parts)


def retention_state(rule: Any) -> dict[str, int]:
    """A rule's records in disjoint states, as the retention chart draws them.

    A rule result's `compliant` counts every record still within its period, those due within
    90 days included; here "within the period" leaves those out, so the states add up to the
    records in scope.
    """
    r = rule if isinstance(rule, Mapping) else rule.to_dict()
    return {
        "within the period": r["compliant"] - r["due_within_90"],
        "due within 90 days": r["due_within_90"],
        "overdue": r["overdue"],
        "needs review": r["anchor_missing"] + r["anchor_future"],
    }


def retention_rules(report: Any) -> Html:
    """Each retention rule in words, its records in the chart's states (they add up)."""
    rows = []
    for rule in report.rules:
        r = rule.to_dict()
        state = retention_state(r)
        ages = ", ".join(f"{n:,} by {k} days" for k, n in r["overdue_by_age"].items() if n)
        review = [f"{r['anchor_missing']:,} without {r['anchor']}"] if r["anchor_missing"] else []
        review += [f"{r['anchor_future']:,} dated in the future"] if r["anchor_future"] else []
        rows.append({
            "rule": r["rule"],
            "policy": f"{r['action']} {period(r['period'])} after {r['anchor']}",
            "in scope": r["in_scope"],
            "within the period": state["within the period"],
            "due within 90 days": f"{r['due_within_90']:,} ({r['due_within_30']:,} within 30)",
            "overdue": f"{r['overdue']:,}" + (f" ({ages})" if ages else ""),
            "needs review": f"{state['needs review']:,}"
            + (f" ({'; '.join(review)})" if review else ""),
        })  # fmt: skip
    columns = ["rule", "policy", "in scope", "within the period", "due within 90 days",
               "overdue", "needs review"]  # fmt: skip
    return table(rows, columns, empty="The catalog declares no retention rule for this dataset.")


def definition_cards(
    rows: Sequence[Mapping[str, Any]], title: str, *, empty: str = "None."
) -> Html:
    """One card per row, its fields as label and text, titled by the row's `title` field."""
    if not rows:
        return note(empty)
    cards = []
    for r in rows:
        fields = "".join(
            f'<div style="display:flex;gap:8px;font-size:13px;padding:2px 0">'
            f'<span style="flex:0 0 34%;color:#555">{esc(heading(k))}</span>'
            f'<span style="flex:1 1 0;min-width:0;overflow-wrap:anywhere">{esc(cell(v))}</span>'
            "</div>"
            for k, v in r.items()
            if k != title
        )
        cards.append(
            f'<section class="govlib-card" style="{CARD}">'
            f'<h4 style="margin:0 0 6px;overflow-wrap:anywhere">{esc(r[title])}</h4>{fields}'
            "</section>"
        )
    grid = CARDS.replace("260px", "420px")
    text = "\n".join(" | ".join(cell(v) for v in r.values()) for r in rows)
    return Html(f'<div class="govlib-cards" style="{grid}">{"".join(cards)}</div>', text)
