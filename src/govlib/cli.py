"""The `govlib` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes (see `govlib.errors`): 0 success, 1 a gate failed or a finding, 2 a usage or input
error, 3 execution failed (or an internal error), 4 refused to protect personal data. Every error
prints one readable line and no traceback; `--debug` shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from govlib import __version__
from govlib.errors import EXIT_EXECUTION, EXIT_USAGE, GovlibError, ParameterError, printable

app = typer.Typer(
    name="govlib",
    help="Data-governance workbook for customer data: catalog, profiling, quality, retention.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


class _SafeConsole(Console):
    """A console that prints every string literally: no markup, no emoji codes, no controls.

    Strings reach the terminal through `render_str` (table cells and titles too), so a column
    name such as `[/]` or one holding ANSI escapes prints as text. Styled words are `Text`
    objects built by `_styled`.
    """

    def render_str(self, text: str, **options: object) -> Text:
        options |= {"markup": False, "emoji": False, "highlight": False}
        return super().render_str(printable(text), **options)  # type: ignore[arg-type]


def _styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text and (text, style) pairs, each made printable; nothing is markup."""
    line = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        line.append(printable(text), style=style)
    return line


console = _SafeConsole(
    highlight=False,
    markup=False,
    emoji=False,
    soft_wrap=True,
    width=None if sys.stdout.isatty() else 120,
)
_state = {"debug": bool(os.environ.get("GOVLIB_DEBUG"))}

CatalogOption = Annotated[
    Path, typer.Option("--catalog", help="Catalog file.", envvar="GOVLIB_CATALOG")
]


def _version(value: bool) -> None:
    if value:
        console.print(f"govlib {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """Data-governance workbook for customer data."""
    _state["debug"] = _state["debug"] or debug


@app.command("catalog")
def catalog_cmd(catalog: CatalogOption = Path("catalog.yaml")) -> None:
    """Validate the catalog and list its datasets."""
    from govlib import catalog as catalog_mod

    cat = catalog_mod.load(catalog)
    table = Table(title=f"{catalog} (as_of {cat.as_of or 'today'})", title_justify="left")
    for header in ("dataset", "owner", "lawful basis", "PII columns", "suite", "rules"):
        table.add_column(header, overflow="fold")
    for name in cat.names():
        ds = cat.dataset(name)
        table.add_row(
            name,
            ds.owner,
            ds.lawful_basis,
            ", ".join(ds.pii_columns()) or "-",
            ds.suite or "-",
            str(ds.rule_count),
        )
    console.print(table)
    console.print(f"catalog OK: {len(cat.datasets)} datasets")


@app.command("sample-data")
def sample_data_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the sample into.")],
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    customers: Annotated[int, typer.Option(help="Number of distinct customers.")] = 3000,
    reference_date: Annotated[
        str, typer.Option("--reference-date", help="Anchor date of the data, YYYY-MM-DD.")
    ] = "2025-01-31",
) -> None:
    """Generate seeded synthetic customer data with planted, counted defects."""
    from govlib import sampledata

    ref = sampledata.parse_date(reference_date)
    with console.status(f"generating {customers:,} customers"):
        sample = sampledata.generate(customers=customers, seed=seed, reference_date=ref)
        written = sampledata.write(sample, out)
    for path in written:
        console.print(f"wrote {path}")
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in sample.frames.items())
    console.print(f"rows: {rows}; {len(sample.defects)} kinds of planted defect")


def _as_of(text: str | None, cat_as_of: date | None) -> date:
    from govlib.sampledata import parse_date

    if text:
        return parse_date(text)
    return cat_as_of or date.today()


def _resolve(target: str, catalog_path: Path, data_root: Path | None):
    """A catalog dataset by name, or an ad-hoc file path (detection only)."""
    from govlib import catalog as catalog_mod
    from govlib import sources

    limit = None  # ad-hoc files: the catalog's limit, else the default one
    if catalog_path.is_file():
        cat = catalog_mod.load(catalog_path)
        if target in cat.datasets:
            ds = cat.dataset(target)
            return sources.load(ds, data_root=data_root), ds, cat.as_of
        if not Path(target).exists() and not any(ch in target for ch in "/\\."):
            cat.dataset(target)  # raises: unknown dataset, with the known names
        limit = cat.limits.max_decompressed_mb * 1024 * 1024
    elif not Path(target).exists():
        raise ParameterError(
            f"{target!r} is neither a file nor a dataset (no catalog at {catalog_path}); "
            "pass a file path or --catalog PATH"
        )
    root = data_root if data_root is not None else Path.cwd()
    return sources.load(target, data_root=root, max_decompressed_bytes=limit), None, None


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_file(
    path: Path | None, option: str, *, catalog: Path | None = None, inputs: tuple[str, ...] = ()
) -> Path | None:
    """Refuse, before any work, an output file that cannot be written or would hit a source.

    A source is a file any dataset of the `catalog` reads (path or glob), or one of the
    `inputs` the command reads itself: govlib never writes either.
    """
    if path is None:
        return None
    from govlib import catalog as catalog_mod
    from govlib import restricted

    if path.is_dir():
        raise ParameterError(f"{option} {path} is a folder; give a file path inside it")
    folder = _nearest_existing(path.parent)
    if not folder.is_dir():
        raise ParameterError(f"{option} {path}: {folder} is a file, not a folder; choose a path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {path}: no permission to write in {folder}")
    if any(Path(i).exists() and path.resolve() == Path(i).resolve() for i in inputs):
        raise ParameterError(f"{option} {path} is the file this command reads; choose another")
    if catalog is not None and catalog.is_file():
        restricted.check_out(catalog_mod.load(catalog), path.parent, [path.name])
    return path


def _writable_folder(path: Path, option: str) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option} {path} is a file, not a folder; give a folder")
    folder = _nearest_existing(path)
    if not folder.is_dir():
        raise ParameterError(f"{option} {path}: {folder} is a file, not a folder; choose a path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {path}: no permission to write in {folder}")
    return path


def _write_json(path: Path, record: object, option: str = "--json") -> None:
    """Write a record atomically; a file system refusal is a usage error, not a crash."""
    from govlib import outputs

    try:
        outputs.write_json(path, record)
    except OSError as exc:
        raise ParameterError(
            f"{option} {path}: cannot write it ({exc.strerror or type(exc).__name__}); "
            "choose a writable path"
        ) from None


DataRootOption = Annotated[
    Path | None,
    typer.Option("--data-root", help="Folder ad-hoc files must sit below (default: here)."),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Judge dates on this day, YYYY-MM-DD (default: catalog, today)."),
]
JsonOption = Annotated[
    Path | None, typer.Option("--json", help="Also write the result record to this JSON file.")
]


@app.command("profile")
def profile_cmd(
    target: Annotated[str, typer.Argument(metavar="DATASET_OR_PATH")],
    catalog: CatalogOption = Path("catalog.yaml"),
    json_path: JsonOption = None,
    as_of: AsOfOption = None,
    data_root: DataRootOption = None,
) -> None:
    """Profile a dataset: statistics, PII detection, catalog findings and alerts."""
    from govlib import profiling

    _writable_file(json_path, "--json", catalog=catalog, inputs=(target,))
    loaded, ds, cat_as_of = _resolve(target, catalog, data_root)
    day = _as_of(as_of, cat_as_of)
    name = ds.name if ds is not None else Path(target).name
    with console.status(f"profiling {name}"):
        result = profiling.profile(loaded.frame, dataset=name, as_of=day, declared=ds)
    _print_profile(result)
    if json_path is not None:
        _write_json(json_path, result.to_dict())
        console.print(f"wrote {json_path}")


def _print_profile(p) -> None:
    dup_keys = "-" if p.duplicate_keys is None else f"{p.duplicate_keys:,}"
    console.print(
        _styled(
            (p.dataset, "bold"),
            f": {p.rows:,} rows, {p.columns} columns, {p.duplicate_rows:,} duplicate rows, "
            f"{dup_keys} duplicate keys, {p.size_bytes / 2**20:.1f} MiB in memory "
            f"(as of {p.as_of})",
        )
    )
    table = Table(title_justify="left")
    for header in ("column", "type", "nulls", "distinct", "PII", "category", "alerts"):
        table.add_column(header, overflow="fold")
    for c in p.column_profiles:
        table.add_row(
            c.column,
            c.dtype,
            f"{c.null_rate:.1%}",
            f"{c.distinct:,}",
            c.pii_kind or "-",
            c.category,
            "; ".join(c.alerts) or "-",
        )
    console.print(table)
    if p.pii:
        pii_table = Table(title="personal data", title_justify="left")
        for header in ("column", "kind", "source", "confidence", "evidence"):
            pii_table.add_column(header, overflow="fold")
        for f in p.pii:
            embedded = ", ".join(f"{k} in {n:,} rows" for k, n in sorted(f.embedded.items()))
            evidence = f.evidence + (f" ({embedded})" if embedded else "")
            pii_table.add_row(f.column, f.kind, f.source, f"{f.confidence:.2f}", evidence)
        console.print(pii_table)
    for f in p.findings:
        count = f" ({f.count:,})" if f.count else ""
        console.print(
            _styled(("finding", "yellow"), f" {f.column}: {f.finding}: {f.detail}{count}")
        )


@app.command("validate")
def validate_cmd(
    dataset: Annotated[str, typer.Argument(metavar="DATASET")],
    catalog: CatalogOption = Path("catalog.yaml"),
    suite: Annotated[
        str | None, typer.Option("--suite", help="Suite name (default: the catalog's).")
    ] = None,
    json_path: JsonOption = None,
    as_of: AsOfOption = None,
) -> int:
    """Validate a dataset with its Great Expectations suite; exit 1 if the gate fails."""
    from govlib import catalog as catalog_mod
    from govlib import quality

    _writable_file(json_path, "--json", catalog=catalog)
    cat = catalog_mod.load(catalog)
    ds = cat.dataset(dataset)
    day = _as_of(as_of, cat.as_of)
    with console.status(f"validating {dataset}"):
        result = quality.validate(ds, as_of=day, suite=suite)
    _print_quality(result)
    if json_path is not None:
        _write_json(json_path, result.to_dict())
        console.print(f"wrote {json_path}")
    return result.exit_code


def _print_quality(r) -> None:
    table = Table(
        title=f"{r.dataset}: suite {r.suite or '-'}, {r.rows:,} rows", title_justify="left"
    )
    for header in ("check", "column", "dimension", "status", "unexpected", "%"):
        table.add_column(header, overflow="fold")
    colour = {"passed": "green", "failed": "red", "error": "magenta"}
    for c in r.checks:
        table.add_row(
            c.check.removeprefix("expect_"),
            c.column or "-",
            c.dimension,
            _styled((c.status, colour[c.status])),
            f"{c.unexpected_count:,}" if c.status != "error" else "-",
            f"{c.unexpected_percent:.2f}" if c.status != "error" else c.reason,
        )
    console.print(table)
    scores = ", ".join(f"{d} {v:.2f}" for d, v in r.scores.items() if v is not None)
    console.print(f"scores: {scores}; overall {r.overall}")
    if r.status == "error":
        console.print(
            _styled(
                ("error", "magenta"), f": {r.counts['error']} checks could not run; fix the suite"
            )
        )
    elif r.gate_failures:
        console.print(_styled(("gate failed", "red"), f": {'; '.join(r.gate_failures)}"))
    else:
        console.print(_styled(("gate passed", "green")))


@app.command("suggest")
def suggest_cmd(
    target: Annotated[str, typer.Argument(metavar="DATASET_OR_PATH")],
    catalog: CatalogOption = Path("catalog.yaml"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the suite here (default: print it).")
    ] = None,
    as_of: AsOfOption = None,
    data_root: DataRootOption = None,
) -> None:
    """Write a starter Great Expectations suite from a profile of the data."""
    import json

    from govlib import profiling, quality

    _writable_file(out, "--out", catalog=catalog, inputs=(target,))
    loaded, ds, cat_as_of = _resolve(target, catalog, data_root)
    name = ds.name if ds is not None else Path(target).name.split(".")[0]
    result = profiling.profile(
        loaded.frame, dataset=name, as_of=_as_of(as_of, cat_as_of), declared=ds
    )
    suite = quality.suggest(result, name=out.stem if out else name, frame=loaded.frame)
    if out is None:
        print(json.dumps(suite, indent=2))
        return
    _write_json(out, suite, "--out")
    console.print(f"wrote {out}: {len(suite['expectations'])} expectations")


KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", help="Pseudonymisation key file (default: $GOVLIB_KEY)."),
]


@app.command("retention")
def retention_cmd(
    words: Annotated[list[str], typer.Argument(metavar="[apply] DATASET")],
    catalog: CatalogOption = Path("catalog.yaml"),
    as_of: AsOfOption = None,
    json_path: JsonOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="apply: folder for the new copy and the log.")
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="apply: write the copy (default: a dry run).")
    ] = False,
    key_file: KeyFileOption = None,
) -> int:
    """Judge retention and consent rules (exit 1 if any record is overdue), or apply them.

    `govlib retention DATASET` prints what is overdue and due; `govlib retention apply DATASET
    --out DIR` prints what applying the rules would change, and with --execute writes a new copy
    of the affected datasets and an erasure log into DIR. The source is never modified.
    """
    from govlib import catalog as catalog_mod
    from govlib import retention

    _writable_file(json_path, "--json")
    if words[0] == "apply":
        if len(words) != 2:
            raise ParameterError("usage: govlib retention apply DATASET --out DIR [--execute]")
        cat = catalog_mod.load(catalog)
        return _apply(cat, cat.dataset(words[1]), _as_of(as_of, cat.as_of), out, execute, key_file)
    if len(words) != 1:
        raise ParameterError("usage: govlib retention DATASET (or: retention apply DATASET)")
    cat = catalog_mod.load(catalog)
    ds = cat.dataset(words[0])
    report = retention.evaluate(ds, as_of=_as_of(as_of, cat.as_of))
    _print_retention(report)
    if json_path is not None:
        retention.write_report(report, json_path, catalog=cat)
        console.print(f"wrote {json_path}")
    return report.exit_code


def _print_retention(report) -> None:
    table = Table(title=f"{report.dataset}: retention on {report.as_of}", title_justify="left")
    for header in ("rule", "action", "in scope", "compliant", "due 30d", "due 90d", "overdue",
                   "anchor missing", "anchor future"):  # fmt: skip
        table.add_column(header)
    for r in report.rules:
        table.add_row(
            r.rule, r.action, *(f"{n:,}" for n in (r.in_scope, r.compliant, r.due_within_30,
            r.due_within_90, r.overdue, r.anchor_missing, r.anchor_future)),
        )  # fmt: skip
    console.print(table)
    if report.consent:
        consent = Table(title="consent", title_justify="left")
        for header in ("purpose", "records", "given", "withdrawn", "expired", "missing",
                       "flagged", "without consent"):  # fmt: skip
            consent.add_column(header)
        for c in report.consent:
            consent.add_row(
                c.purpose, *(f"{n:,}" for n in (c.records, c.given, c.withdrawn, c.expired,
                c.missing, c.flagged, c.processed_without_consent)),
            )  # fmt: skip
        console.print(consent)
    verdict = (f"{report.overdue:,} records overdue", "red") if report.overdue else "none overdue"
    console.print(_styled(verdict))


def _apply(cat, ds, day: date, out: Path | None, execute: bool, key_file: Path | None) -> int:
    from datetime import UTC, datetime

    from govlib import privacy, retention

    if out is None:
        raise ParameterError("retention apply needs --out DIR for the new copy")
    _check_copies(cat, out, "retention")
    key = privacy.load_key(key_file) if execute else None
    plan = retention.plan_retention(cat, ds.name, as_of=day)
    _print_plan(plan, "would change" if not execute else "to change")
    if not execute:
        console.print("dry run: nothing written. Add --execute to write the copy.")
        return 0
    summary = retention.execute(cat, plan, out, key=key, run_at=datetime.now(UTC), kind="retention")
    _print_written(summary, out)
    return 0


def _check_copies(cat, out: Path, kind: str) -> None:
    """Refuse, before any work, an --out where a copy would overwrite or feed a source."""
    from govlib import restricted

    names = [f"{name}.parquet" for name in cat.names()] + [f"{kind}_log.ndjson"]
    if kind == "cleanse":
        names += [f"quarantine/{name}.parquet" for name in cat.names()]
    restricted.check_out(cat, out, [*restricted.stored_names(cat, names), f"{kind}.json"])


def _print_plan(plan, verb: str) -> None:
    table = Table(title=f"plan on {plan.as_of}", title_justify="left")
    for header in ("dataset", "rule", "action", "rows"):
        table.add_column(header)
    for a in plan.actions:
        table.add_row(a.dataset, a.rule, a.action, f"{a.rows:,}")
    console.print(table)
    console.print(f"{plan.changes:,} rows {verb}")


def _print_written(summary: dict, out: Path, *, log: str = "erasure log") -> None:
    if summary.get("unchanged"):
        console.print(f"{out} already holds this result (same inputs): nothing changed")
        return
    console.print(f"wrote {', '.join(summary['files'])} into {out}")
    console.print(f"{log}: {summary['log_entries']:,} entries (pseudonymised subjects)")


@app.command("cleanse")
def cleanse_cmd(
    dataset: Annotated[str, typer.Argument(metavar="DATASET")],
    catalog: CatalogOption = Path("catalog.yaml"),
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the cleansed copy (with --execute).")
    ] = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Write the copy (default: a dry run).")
    ] = False,
    as_of: AsOfOption = None,
    key_file: KeyFileOption = None,
) -> None:
    """Standardise values, merge duplicate people and quarantine corrupted rows, into a copy.

    A dry run (the default) prints the plan as counts; --execute writes a new copy of the
    dataset and the datasets that point at it, a quarantine (restricted) and a change log with
    pseudonymised subjects into OUT. The source is never modified.
    """
    from datetime import UTC, datetime

    from govlib import catalog as catalog_mod
    from govlib import cleansing, privacy, sources

    cat = catalog_mod.load(catalog)
    cat.dataset(dataset)
    if execute and out is None:
        raise ParameterError("cleanse --execute needs --out DIR for the new copy")
    if out is not None:
        _check_copies(cat, out, "cleanse")
    key = privacy.load_key(key_file) if execute else None
    frames = sources.load_all(cat)
    with console.status(f"planning the cleanse of {dataset}"):
        plan = cleansing.plan(cat, dataset, frames=frames)
    _print_cleanse(plan.summary())
    if not execute:
        console.print("dry run: nothing written. Add --out DIR --execute to write the copy.")
        return
    summary = cleansing.execute(cat, plan, out, key=key, run_at=datetime.now(UTC))
    _print_written(summary, out, log="change log")
    with console.status("scoring the copy with the same suite"):
        scores = cleansing.scores_before_after(cat, plan, frames, _as_of(as_of, cat.as_of))
    table = Table(title="quality before and after", title_justify="left")
    for header in ("dimension", "before", "after"):
        table.add_column(header)
    for dim, pair in scores.items():
        table.add_row(dim, *("-" if v is None else f"{v:.2f}" for v in pair.values()))
    console.print(table)


def _print_cleanse(summary: dict) -> None:
    table = Table(title=f"cleanse of {summary['dataset']}", title_justify="left")
    for header in ("column", "rule", "changed", "could not standardise"):
        table.add_column(header)
    for r in summary["standardisation"]:
        table.add_row(r["column"], r["rule"], f"{r['changed']:,}", f"{r['unable']:,}")
    console.print(table)
    reasons = ", ".join(f"{k} {v}" for k, v in summary["pairs_by_reason"].items())
    console.print(f"duplicate pairs: {summary['duplicate_pairs']} ({reasons}); "
                  f"records merged: {summary['records_merged']}")  # fmt: skip
    moved = ", ".join(f"{k} {v:,}" for k, v in summary["repointed"].items()) or "none"
    console.print(f"related rows re-pointed to survivors: {moved}")
    held = ", ".join(f"{k} {v:,}" for k, v in summary["quarantined"].items() if v) or "none"
    console.print(f"quarantined (restricted): {held}")


subject_app = typer.Typer(help="Data-subject rights: find, export and erase a person's data.")
app.add_typer(subject_app, name="subject")
EmailOption = Annotated[str | None, typer.Option("--email", help="The subject's email.")]
PhoneOption = Annotated[str | None, typer.Option("--phone", help="The subject's phone.")]
IdOption = Annotated[
    str | None, typer.Option("--customer-id", help="The subject's id (the catalog's subject_key).")
]


CountryOption = Annotated[
    str | None,
    typer.Option("--country", help="Country of a --phone in national format (GB, DE, ...)."),
]
YesOption = Annotated[
    bool, typer.Option("--yes", help="Go on when more than one subject id matches.")
]


@subject_app.command("find")
def subject_find_cmd(
    email: EmailOption = None,
    phone: PhoneOption = None,
    customer_id: IdOption = None,
    country: CountryOption = None,
    catalog: CatalogOption = Path("catalog.yaml"),
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write the subject's rows here (restricted output)."),
    ] = None,
    yes: YesOption = False,
) -> None:
    """List every dataset that holds the subject, with its row count there."""
    from govlib import catalog as catalog_mod
    from govlib import restricted, rights

    cat = catalog_mod.load(catalog)
    if export is not None:
        names = [f"{name}.{ext}" for name in cat.names() for ext in ("json", "csv")]
        restricted.check_out(cat, export, restricted.stored_names(cat, names))
    match, plan = rights.find(
        cat, email=email, phone=phone, subject_id=customer_id, country=country,
        as_of=date.today(),
    )  # fmt: skip
    _print_match(match)
    if export is not None:
        rights.require_one(match, yes=yes, by_id=customer_id is not None, verb="export")
        written = rights.export(plan, export, catalog=cat)
        console.print(
            f"exported {len(written)} files into {export} (restricted: holds personal data)"
        )


def _print_match(match) -> None:
    table = Table(title=f"subject found ({match.subjects} subject id(s))", title_justify="left")
    table.add_column("dataset")
    table.add_column("rows")
    for name, rows in match.rows.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


@subject_app.command("erase")
def subject_erase_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the new copy and the log.")],
    email: EmailOption = None,
    phone: PhoneOption = None,
    customer_id: IdOption = None,
    country: CountryOption = None,
    catalog: CatalogOption = Path("catalog.yaml"),
    key_file: KeyFileOption = None,
    yes: YesOption = False,
) -> None:
    """Erase the subject everywhere into a new copy, log it, and prove it."""
    from datetime import UTC, datetime

    from govlib import catalog as catalog_mod
    from govlib import privacy, retention, rights, sources

    cat = catalog_mod.load(catalog)
    _check_copies(cat, out, "erasure")
    key = privacy.load_key(key_file)
    frames = sources.load_all(cat)
    match, plan = rights.find(
        cat, email=email, phone=phone, subject_id=customer_id, country=country,
        as_of=date.today(), frames=frames,
    )  # fmt: skip
    _print_match(match)
    rights.require_one(match, yes=yes, by_id=customer_id is not None, verb="erase")
    summary = retention.execute(cat, plan, out, key=key, run_at=datetime.now(UTC), kind="erasure")
    _print_written(summary, out)
    after = rights.copy_frames(cat, Path(out), frames, written=retention.apply_plan(cat, plan))
    for name, rows in rights.prove_erased(cat, after, match).items():
        console.print(
            f"proof: {name}: {rows} rows of the subject remain (were {match.rows.get(name, 0)})"
        )
    console.print(
        "proof: the subject is findable nowhere in the new copy (every dataset searched by "
        f"all {len(match.identifiers)} of its identifiers)"
    )


@app.command("decrypt")
def decrypt_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE.age")],
    identity: Annotated[
        Path, typer.Option("--identity", help="The data owner's age identity file (0600).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the plain file (default: beside it).")
    ] = None,
    catalog: CatalogOption = Path("catalog.yaml"),
) -> None:
    """Decrypt a restricted output (NAME.age) with the data owner's identity, into a 0600 file."""
    from govlib import catalog as catalog_mod
    from govlib import restricted

    cat = catalog_mod.load(catalog) if catalog.is_file() else None
    target = restricted.decrypt(file, identity, out, catalog=cat)
    console.print(f"wrote {target} (restricted: holds personal data; delete it after use)")


def _csv(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _param(text: str) -> tuple[str, object]:
    import json

    name, sep, raw = text.partition("=")
    if not sep:
        raise ParameterError(f"-p takes NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a plain string: 01234 stays "01234"
    return name.strip(), value


def _names(value: object) -> object:
    """A batch file's list of names: a list, or one string of comma-separated names."""
    return _csv(value) if isinstance(value, str) else value


def _batch_model():
    """The pydantic model of a batch file (built on first use: pydantic is a slow import)."""
    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

    Names = Annotated[list[StrictStr] | None, BeforeValidator(_names)]

    class BatchFile(BaseModel):
        """The settings a batch file may give, with the same meaning as the options."""

        model_config = ConfigDict(extra="forbid", frozen=True)
        catalog: Path | None = None
        datasets: Names = None
        notebooks: Names = None
        as_of: date | None = None
        workers: int | None = Field(default=None, ge=1, le=64)
        timeout: int | None = Field(default=None, ge=1)
        out: Path | None = None
        parameters: dict[str, object] | None = None

    return BatchFile


def _batch_file(path: Path) -> dict:
    """Read and check a batch file, reporting every problem in it at once."""
    from pydantic import ValidationError

    from govlib.catalog import read_yaml

    try:
        data = read_yaml(path)
    except ValueError as exc:
        raise ParameterError(f"{path}: cannot read the batch file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of settings such as 'datasets:'")
    try:
        settings = _batch_model().model_validate(data)
    except ValidationError as exc:
        problems = [
            f"key {'.'.join(str(p) for p in e['loc'])!r}: {e['msg'].lower()}" for e in exc.errors()
        ]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise ParameterError(f"{path}: {count} in the batch file: {'; '.join(problems)}") from None
    return settings.model_dump(exclude_none=True)


@app.command("run")
def run_cmd(
    catalog: CatalogOption = Path("catalog.yaml"),
    datasets: Annotated[
        str | None, typer.Option("--datasets", help="Comma-separated datasets (default: all).")
    ] = None,
    notebooks: Annotated[
        str | None,
        typer.Option("--notebooks", help="Comma-separated notebooks (default: all four)."),
    ] = None,
    as_of: AsOfOption = None,
    workers: Annotated[int, typer.Option("--workers", help="Notebooks run at once.")] = 2,
    timeout: Annotated[
        int, typer.Option("--timeout", help="Seconds any one cell may run before its kernel stops.")
    ] = 600,
    out: Annotated[Path, typer.Option("--out", help="Folder of runs and history.")] = Path(
        "reports"
    ),
    param: Annotated[
        list[str] | None,
        typer.Option("-p", "--param", help="Notebook parameter NAME=VALUE (JSON values typed)."),
    ] = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="YAML file with the same settings.")
    ] = None,
    notebook_dir: Annotated[
        Path | None,
        typer.Option("--notebook-dir", help="Folder of notebooks (default: beside the catalog)."),
    ] = None,
) -> int:
    """Run notebooks over datasets and publish the reports atomically to OUT/<run-id>.

    Exit codes: 0 all passed, 1 a quality or retention gate failed, 2 a usage or
    configuration error, 3 a notebook failed to execute.
    """
    from govlib import batch as batch_mod

    settings = _batch_file(batch) if batch else {}
    params = dict(settings.get("parameters") or {})
    params |= dict(_param(p) for p in param or [])
    day = _as_of(as_of, None) if as_of else settings.get("as_of")
    out = _writable_folder(settings.get("out", out), "--out")
    p = batch_mod.plan(
        catalog_path=settings.get("catalog", catalog),
        datasets=_csv(datasets) or settings.get("datasets"),
        notebooks=_csv(notebooks) or settings.get("notebooks"),
        as_of=day,
        parameters=params,
        out=out,
        workers=settings.get("workers", workers),
        timeout=settings.get("timeout", timeout),
        notebook_dir=notebook_dir,
    )
    batch_mod.clean_stale_staging(p.out)
    print(f"govlib run: {len(p.jobs)} notebooks on {p.workers} workers, as of {p.as_of}",
          file=sys.stderr)  # fmt: skip
    outcome = batch_mod.execute(p)
    verdict = {
        0: "all gates passed",
        1: "a gate failed",
        3: "a notebook failed to execute",
        4: "outputs withheld: they hold personal data",
    }
    print(f"govlib run: {outcome.run_id}: {verdict[outcome.exit_code]} "
          f"({outcome.summary['seconds']} s)", file=sys.stderr)  # fmt: skip
    console.print(str(outcome.index))
    return outcome.exit_code


def _dash(value: object) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


@app.command("history")
def history_cmd(
    words: Annotated[list[str] | None, typer.Argument(metavar="[DATASET | verify]")] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder of runs and history.")] = Path(
        "reports"
    ),
) -> int:
    """Print quality and retention trends across runs, or verify the keyed chain.

    `verify` exits 0 when the chain is intact, 1 naming the first bad entry when it is not, and
    2 when the store or its head file is damaged or the key is missing or unusable.
    """
    from govlib import history

    words = words or []
    if words == ["verify"]:
        result = history.verify(out)
        if result.ok:
            console.print(f"history OK: {result.entries} entries, chain intact")
            return 0
        first = f"entry {result.first_bad}" if result.first_bad else history.HEAD_NAME
        print(f"govlib: history: NOT intact: the first bad one is {first} "
              f"({result.entries} entries)", file=sys.stderr)  # fmt: skip
        for problem in result.problems:
            print(f"govlib: history: {problem}", file=sys.stderr)
        return 1
    if len(words) > 1:
        raise ParameterError("usage: govlib history [DATASET] | govlib history verify")
    rows = history.rows(out, words[0] if words else None)
    if not rows and not (out / history.DB_NAME).is_file():
        raise ParameterError(f"no run history in {out}; run `govlib run --out {out}` first")
    table = Table(title=f"history in {out}", title_justify="left")
    for header in ("run", "dataset", "status", "overall", "failed checks", "overdue",
                   "without consent", "undeclared PII"):  # fmt: skip
        table.add_column(header)
    for r in rows:
        checks = r.get("checks") or {}
        table.add_row(
            r["run"], r["dataset"], _dash(r.get("status")),
            "-" if r.get("overall") is None else f"{r['overall']:.2f}",
            _dash(checks.get("failed")), _dash(r.get("overdue")),
            _dash(r.get("without_consent")), _dash(r.get("undeclared_pii")),
        )  # fmt: skip
    console.print(table)
    return 0


class _LineFormatter(logging.Formatter):
    """Log records as one printable line each: a message cannot forge or colour others."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _error(message: object) -> None:
    """Print one error line on stderr."""
    print(f"govlib: error: {printable(message)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    _state["debug"] = bool(os.environ.get("GOVLIB_DEBUG"))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LineFormatter("govlib: %(levelname)s: %(message)s"))
    logger = logging.getLogger("govlib")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        result = app(args=argv, standalone_mode=False, prog_name="govlib")
        return result if isinstance(result, int) else 0
    except GovlibError as exc:
        if _state["debug"]:
            traceback.print_exc()
        _error(exc)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:  # a usage error: bad option, missing argument
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "govlib"
        _error(f"{exc.format_message()} (see '{where} --help')")
        return EXIT_USAGE
    except typer.Abort:
        print("govlib: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("govlib: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # an unexpected internal error: exit 3, never 1
        if _state["debug"]:
            traceback.print_exc()
        print(
            f"govlib: internal error ({type(exc).__name__}); rerun with --debug for the "
            "traceback and report it",
            file=sys.stderr,
        )
        return EXIT_EXECUTION
    finally:
        logger.removeHandler(handler)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
