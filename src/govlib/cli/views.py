"""Console views of govlib's results: each returns renderables for `render.show`.

Views read results only; they compute nothing the library has not computed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from govlib.cli.render import count, styled, table

Views = list[RenderableType]


def catalog(cat: Any, path: Path) -> Views:
    """The catalog's datasets, and the line that says it is valid."""
    rows = []
    for name in cat.names():
        ds = cat.dataset(name)
        pii = ", ".join(ds.pii_columns()) or "-"
        rows.append([name, ds.owner, ds.lawful_basis, pii, ds.suite or "-", str(ds.rule_count)])
    headers = ("dataset", "owner", "lawful basis", "PII columns", "suite", "rules")
    title = f"{path} (as_of {cat.as_of or 'today'})"
    return [table(title, headers, rows), f"catalog OK: {len(cat.datasets)} datasets"]


def profile(p: Any) -> Views:
    """A profile: the summary line, its columns, its PII findings and catalog findings."""
    dup_keys = count(p.duplicate_keys)
    head = styled(
        (p.dataset, "bold"),
        f": {p.rows:,} rows, {p.columns} columns, {p.duplicate_rows:,} duplicate rows, "
        f"{dup_keys} duplicate keys, {p.size_bytes / 2**20:.1f} MiB in memory (as of {p.as_of})",
    )
    columns = table(
        None,
        ("column", "type", "nulls", "distinct", "PII", "category", "alerts"),
        ([c.column, c.dtype, f"{c.null_rate:.1%}", f"{c.distinct:,}", c.pii_kind or "-",
          c.category, "; ".join(c.alerts) or "-"] for c in p.column_profiles),
    )  # fmt: skip
    out: Views = [head, columns]
    if p.pii:
        rows = []
        for f in p.pii:
            embedded = ", ".join(f"{k} in {n:,} rows" for k, n in sorted(f.embedded.items()))
            evidence = f.evidence + (f" ({embedded})" if embedded else "")
            rows.append([f.column, f.kind, f.source, f"{f.confidence:.2f}", evidence])
        headers = ("column", "kind", "source", "confidence", "evidence")
        out.append(table("personal data", headers, rows))
    for f in p.findings:
        number = f" ({f.count:,})" if f.count else ""
        out.append(styled(("finding", "yellow"), f" {f.column}: {f.finding}: {f.detail}{number}"))
    return out


_COLOUR = {"passed": "green", "failed": "red", "error": "magenta"}


def quality(r: Any) -> Views:
    """A validation: every check, the scores and the gate's verdict."""
    rows = (
        [c.check.removeprefix("expect_"), c.column or "-", c.dimension,
         styled((c.status, _COLOUR[c.status])),
         f"{c.unexpected_count:,}" if c.status != "error" else "-",
         f"{c.unexpected_percent:.2f}" if c.status != "error" else c.reason]
        for c in r.checks
    )  # fmt: skip
    title = f"{r.dataset}: suite {r.suite or '-'}, {r.rows:,} rows"
    headers = ("check", "column", "dimension", "status", "unexpected", "%")
    out: Views = [table(title, headers, rows), _scores(r)]
    if r.status == "error":
        broken = f": {r.counts['error']} checks could not run; fix the suite"
        out.append(styled(("error", "magenta"), broken))
    elif r.gate_failures:
        out.append(styled(("gate failed", "red"), f": {'; '.join(r.gate_failures)}"))
    else:
        out.append(styled(("gate passed", "green")))
    return out


def _scores(r: Any) -> Text:
    """The scores, each red below the gate in force and green at or above it.

    The gate in force is the record's `gate`: the declared one, or the default one.
    """
    parts: list[str | tuple[str, str]] = ["scores: "]
    scored = [(d, v) for d, v in [*r.scores.items(), ("overall", r.overall)] if v is not None]
    for i, (dim, value) in enumerate(scored):
        minimum = r.gate.get(dim)
        colour = "" if minimum is None else ("red" if value < minimum else "green")
        sep = "" if i == 0 else ("; " if dim == "overall" else ", ")
        parts += [sep, (f"{dim} {value:.2f}", colour)]
    gated = ", ".join(f"{d} >= {m:g}" for d, m in r.gate.items() if m is not None)
    parts.append(f" (gate: {gated or 'none'})")
    return styled(*parts)


def retention(report: Any) -> Views:
    """A retention report: per rule and per consent purpose, and the overdue verdict."""
    rules = table(
        f"{report.dataset}: retention on {report.as_of}",
        ("rule", "action", "in scope", "compliant", "due 30d", "due 90d", "overdue",
         "anchor missing", "anchor future"),
        ([r.rule, r.action, *(f"{n:,}" for n in (r.in_scope, r.compliant, r.due_within_30,
          r.due_within_90, r.overdue, r.anchor_missing, r.anchor_future))]
         for r in report.rules),
    )  # fmt: skip
    out: Views = [rules]
    if report.consent:
        out.append(table(
            "consent",
            ("purpose", "records", "given", "withdrawn", "expired", "missing", "unrecognised",
             "flagged", "without consent"),
            ([c.purpose, *(f"{n:,}" for n in (c.records, c.given, c.withdrawn, c.expired,
              c.missing, c.unrecognised, c.flagged, c.processed_without_consent))]
             for c in report.consent),
        ))  # fmt: skip
    return [*out, styled(*_retention_line(report))]


def _retention_line(report: Any) -> list[str | tuple[str, str]]:
    """What is overdue and what needs review, in red, or "none overdue, none to review"."""
    review = report.needs_review
    parts: list[str | tuple[str, str]] = [
        (f"{report.overdue:,} records overdue", "red") if report.overdue else "none overdue",
        ", ",
        (f"{review:,} need review (anchor date missing or in the future)", "red")
        if review
        else "none to review",
    ]
    return parts


def plan(p: Any, verb: str) -> Views:
    """An erasure or retention plan: rows per dataset and rule."""
    rows = ([a.dataset, a.rule, a.action, f"{a.rows:,}"] for a in p.actions)
    headers = ("dataset", "rule", "action", "rows")
    return [table(f"plan on {p.as_of}", headers, rows), f"{p.changes:,} rows {verb}"]


def written(summary: dict[str, Any], out: Path, *, log: str = "erasure log") -> Views:
    """What a copy wrote into `out`, or that it already held the result."""
    if summary.get("unchanged"):
        return [f"{out} already holds this result (same inputs): nothing changed"]
    return [
        f"wrote {', '.join(summary['files'])} into {out}",
        f"{log}: {summary['log_entries']:,} entries (pseudonymised subjects)",
    ]


def apply_scripts(summary: dict[str, Any], out: Path) -> Views:
    """The apply.sql scripts among the files written: paths the data owner reviews and runs."""
    return [
        f"{out / name}: the change as SQL for the data owner to review and run on the database "
        "(its header says how it runs and what it checks; restricted: holds keys and values "
        "of people)"
        for name in summary.get("files", [])
        if name.removesuffix(".age").endswith(".sql")
    ]


def cleanse(summary: dict[str, Any]) -> Views:
    """A cleanse plan as counts: standardisation, duplicates, re-pointing, quarantine."""
    rows = ([r["column"], r["rule"], f"{r['changed']:,}", f"{r['unable']:,}"]
            for r in summary["standardisation"])  # fmt: skip
    headers = ("column", "rule", "changed", "could not standardise")
    reasons = ", ".join(f"{k} {v}" for k, v in summary["pairs_by_reason"].items())
    moved = ", ".join(f"{k} {v:,}" for k, v in summary["repointed"].items()) or "none"
    held = ", ".join(f"{k} {v:,}" for k, v in summary["quarantined"].items() if v) or "none"
    return [
        table(f"cleanse of {summary['dataset']}", headers, rows),
        f"duplicate pairs: {summary['duplicate_pairs']} ({reasons}); "
        f"records merged: {summary['records_merged']}",
        f"related rows re-pointed to survivors: {moved}",
        f"quarantined (restricted): {held}",
    ]


def match(m: Any) -> Views:
    """Where a data subject was found: rows per dataset."""
    rows = ([name, f"{n:,}"] for name, n in m.rows.items())
    return [table(f"subject found ({m.subjects} subject id(s))", ("dataset", "rows"), rows)]


def history(rows: list[dict[str, Any]], out: Path) -> Views:
    """Run history entries, oldest first."""
    headers = ("run", "dataset", "status", "failed", "overall", "failed checks", "overdue",
               "without consent", "undeclared PII")  # fmt: skip
    body = (
        [r["run"], r["dataset"], count(r.get("status")),
         "-" if r.get("failed") is None else ", ".join(r["failed"]) or "none",
         "-" if r.get("overall") is None else f"{r['overall']:.2f}",
         count((r.get("checks") or {}).get("failed")), count(r.get("overdue")),
         count(r.get("without_consent")), count(r.get("undeclared_pii"))]
        for r in rows
    )  # fmt: skip
    return [table(f"history in {out}", headers, body)]
