"""Scheduled work: `govlib run` (notebooks over datasets) and `govlib history show|verify`.

Settings of `run` follow one rule (see `govlib.runsettings`): a flag given on the command line
overrides the `--batch` file, and the batch file overrides environment variables and defaults.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from govlib import runsettings
from govlib.cli import views
from govlib.cli.options import (
    DEFAULT_CATALOG,
    DEFAULT_REPORTS,
    AsOfOption,
    CatalogOption,
    ReportsOption,
    writable_folder,
)
from govlib.cli.render import show
from govlib.errors import EXIT_FINDING, ParameterError

_VERDICT = {
    0: "all gates passed",
    1: "a dataset failed",
    3: "a notebook failed to execute",
    4: "outputs withheld: they hold personal data",
}


def _settings(ctx: typer.Context, values: dict[str, Any], batch: Path | None) -> dict[str, Any]:
    """The run's settings: flags given on the command line, then the batch file, then the rest."""
    options = {"parameters": "param"}  # settings named apart from their option's parameter
    given = {
        k: v
        for k, v in values.items()
        if (source := ctx.get_parameter_source(options.get(k, k))) and source.name == "COMMANDLINE"
    }
    fallback = {k: v for k, v in values.items() if k not in given}
    return runsettings.combine(given, runsettings.read_batch_file(batch) if batch else {}, fallback)


def run_cmd(
    ctx: typer.Context,
    catalog: CatalogOption = DEFAULT_CATALOG,
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
    out: ReportsOption = DEFAULT_REPORTS,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "-p", "--param", metavar="NAME=VALUE", help="Notebook parameter (JSON values typed)."
        ),
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help="YAML file of settings; flags given here override it."),
    ] = None,
    notebook_dir: Annotated[
        Path | None,
        typer.Option("--notebook-dir", help="Folder of notebooks (default: beside the catalog)."),
    ] = None,
) -> int:
    """Run notebooks over datasets and publish the reports atomically to OUT/<run-id>.

    Exit codes: 0 all passed, 1 a dataset failed in quality, retention, consent or personal
    data, 2 a usage or configuration error, 3 a notebook failed to execute, 4 outputs withheld
    to protect personal data.
    """
    from govlib import batch as batch_mod
    from govlib.sampledata import parse_date

    values = {
        "catalog": catalog, "datasets": runsettings.split_names(datasets),
        "notebooks": runsettings.split_names(notebooks),
        "as_of": parse_date(as_of) if as_of else None, "workers": workers, "timeout": timeout,
        "out": out, "parameters": dict(runsettings.parse_param(p) for p in param or []),
    }  # fmt: skip
    s = _settings(ctx, values, batch)
    p = batch_mod.plan(
        catalog_path=s["catalog"], datasets=s["datasets"], notebooks=s["notebooks"],
        as_of=s["as_of"], parameters=s["parameters"], out=writable_folder(s["out"], "--out"),
        workers=s["workers"], timeout=s["timeout"], notebook_dir=notebook_dir,
    )  # fmt: skip
    print(f"govlib run: {len(p.jobs)} notebooks on {p.workers} workers, as of {p.as_of}",
          file=sys.stderr)  # fmt: skip
    outcome = batch_mod.execute(p)
    verdict = _VERDICT[outcome.exit_code]
    if outcome.summary["failed"]:  # the areas that failed, whatever else ended the run
        failed = "failed: " + ", ".join(outcome.summary["failed"])
        verdict = failed if outcome.exit_code == EXIT_FINDING else f"{verdict}; {failed}"
    print(f"govlib run: {outcome.run_id}: {verdict} ({outcome.summary['seconds']} s)",
          file=sys.stderr)  # fmt: skip
    show(str(outcome.index))
    return outcome.exit_code


history_app = typer.Typer(
    help="The run history: trends across runs, and a check of its keyed chain.",
    no_args_is_help=True,
)


@history_app.command("show")
def history_show_cmd(
    dataset: Annotated[
        str | None, typer.Argument(metavar="DATASET", help="Only this dataset (default: all).")
    ] = None,
    out: ReportsOption = DEFAULT_REPORTS,
) -> None:
    """Print quality and retention trends across runs, oldest first."""
    from govlib import history

    rows = history.rows(out, dataset)
    if not rows and not (out / history.DB_NAME).is_file():
        raise ParameterError(f"no run history in {out}; run `govlib run --out {out}` first")
    show(*views.history(rows, out))


@history_app.command("verify")
def history_verify_cmd(out: ReportsOption = DEFAULT_REPORTS) -> int:
    """Verify the keyed chain of the history.

    Exits 0 when the chain is intact, 1 naming the first bad entry when it is not, and 2 when
    the store or its head file is damaged or the key is missing or unusable.
    """
    from govlib import history

    result = history.verify(out)
    if result.ok:
        show(f"history OK: {result.entries} entries, chain intact")
        return 0
    first = f"entry {result.first_bad}" if result.first_bad else history.HEAD_NAME
    print(f"govlib: history: NOT intact: the first bad one is {first} "
          f"({result.entries} entries)", file=sys.stderr)  # fmt: skip
    for problem in result.problems:
        print(f"govlib: history: {problem}", file=sys.stderr)
    return EXIT_FINDING
