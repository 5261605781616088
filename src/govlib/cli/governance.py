"""Commands that act on personal data: retention, cleanse, subject, decrypt.

Each writes only a new copy (a restricted output) into `--out`, never a source; for a dataset
read from a database, also `apply.sql`, the change for its data owner to review and run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from govlib.cli import views
from govlib.cli.options import (
    DEFAULT_CATALOG,
    AsOfOption,
    CatalogOption,
    JsonOption,
    KeyFileOption,
    check_copies,
    writable_file,
)
from govlib.cli.render import console, show, wrote
from govlib.errors import ParameterError

DatasetArgument = Annotated[str, typer.Argument(metavar="DATASET", help="A catalog dataset.")]
retention_app = typer.Typer(
    help="Retention and consent: judge the rules, or apply them into a new copy.",
    no_args_is_help=True,
)


@retention_app.command("check")
def retention_check_cmd(
    dataset: DatasetArgument,
    catalog: CatalogOption = DEFAULT_CATALOG,
    as_of: AsOfOption = None,
    json_path: JsonOption = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Where files are judged: polars or spark (default: the catalog's, else "
            "polars). A database dataset is always judged inside its database.",
        ),
    ] = None,
) -> int:
    """Judge retention and consent rules; exit 1 if any record is overdue or needs review."""
    from govlib import catalog as catalog_mod
    from govlib import retention, targets

    if engine is not None and engine not in ("polars", "spark"):
        raise ParameterError(f"--engine must be polars or spark, got {engine!r}")
    writable_file(json_path, "--json")
    cat = catalog_mod.load(catalog)
    report = retention.evaluate(
        cat.dataset(dataset), as_of=targets.as_of(as_of, cat.as_of), engine=engine
    )
    show(*views.retention(report))
    if json_path is not None:
        retention.write_report(report, json_path, catalog=cat)
        show(wrote(json_path))
    return report.exit_code


@retention_app.command("apply")
def retention_apply_cmd(
    dataset: DatasetArgument,
    out: Annotated[Path, typer.Option("--out", help="Folder for the new copy and the log.")],
    catalog: CatalogOption = DEFAULT_CATALOG,
    as_of: AsOfOption = None,
    execute: Annotated[
        bool, typer.Option("--execute", help="Write the copy (default: a dry run).")
    ] = False,
    key_file: KeyFileOption = None,
) -> None:
    """Print what applying the rules would change; with --execute write a new copy and a log.

    The copy holds every affected dataset (deletions cascade along relationships) and an
    erasure log with pseudonymised subjects. The source is never modified.
    """
    from govlib import applysql, privacy, retention, targets
    from govlib import catalog as catalog_mod

    cat = catalog_mod.load(catalog)
    ds = cat.dataset(dataset)
    check_copies(cat, out, "retention")
    if execute:
        applysql.check(cat, applysql.reachable(cat, ds.name))
    key = privacy.load_key(key_file) if execute else None  # before the plan: fail fast
    plan = retention.plan_retention(cat, ds.name, as_of=targets.as_of(as_of, cat.as_of))
    show(*views.plan(plan, "to change" if execute else "would change"))
    if key is None:
        show("dry run: nothing written. Add --execute to write the copy.")
        return
    summary = retention.execute(cat, plan, out, key=key, run_at=datetime.now(UTC), kind="retention")
    show(*views.written(summary, out), *views.apply_scripts(summary, out))


def cleanse_cmd(
    dataset: DatasetArgument,
    catalog: CatalogOption = DEFAULT_CATALOG,
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
    from govlib import applysql, cleansing, privacy, sources, targets
    from govlib import catalog as catalog_mod

    cat = catalog_mod.load(catalog)
    cat.dataset(dataset)
    if execute and out is None:
        raise ParameterError("cleanse --execute needs --out DIR for the new copy")
    if out is not None:
        check_copies(cat, out, "cleanse")
    if execute:
        applysql.check(cat, applysql.reachable(cat, dataset))
    key = privacy.load_key(key_file) if execute else None
    day = targets.as_of(as_of, cat.as_of)
    frames = sources.load_all(cat, cleansing.datasets(cat, dataset))
    with console.status(f"planning the cleanse of {dataset}"):
        plan = cleansing.plan(cat, dataset, frames=frames, as_of=day)
    show(*views.cleanse(plan.summary()))
    if key is None or out is None:
        show("dry run: nothing written. Add --out DIR --execute to write the copy.")
        return
    summary = cleansing.execute(cat, plan, out, key=key, run_at=datetime.now(UTC))
    show(*views.written(summary, out, log="change log"), *views.apply_scripts(summary, out))
    with console.status("scoring the copy with the same suite"):
        show(cleansing.score_change(cat, plan, frames, day))


def decrypt_cmd(
    file: Annotated[Path, typer.Argument(metavar="FILE.age")],
    identity: Annotated[
        Path, typer.Option("--identity", help="The data owner's age identity file (0600).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the plain file (default: beside it).")
    ] = None,
    catalog: CatalogOption = DEFAULT_CATALOG,
) -> None:
    """Decrypt a restricted output (NAME.age) with the data owner's identity, into a 0600 file."""
    from govlib import catalog as catalog_mod
    from govlib import restricted

    cat = catalog_mod.load(catalog) if catalog.is_file() else None
    target = restricted.decrypt(file, identity, out, catalog=cat)
    show(wrote(target, "(restricted: holds personal data; delete it after use)"))
