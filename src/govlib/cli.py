"""The `govlib` command: parses arguments, calls the library, maps errors to exit codes.

Exit codes: 0 success, 1 a gate failed (or work found overdue), 2 a usage or input error.
A user mistake prints one readable line and no traceback; `--debug` shows the traceback.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from govlib import __version__
from govlib.errors import GovlibError

app = typer.Typer(
    name="govlib",
    help="Data-governance workbook for customer data: catalog, profiling, quality, retention.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("govlib: %(levelname)s: %(message)s"))
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
        print(f"govlib: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except typer.TyperException as exc:
        exc.show()
        return exc.exit_code
    except typer.Abort:
        print("govlib: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("govlib: interrupted", file=sys.stderr)
        return 130
    finally:
        logger.removeHandler(handler)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
