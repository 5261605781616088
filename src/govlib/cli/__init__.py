"""The `govlib` command: parses arguments, calls the library, renders, maps errors to exit codes.

Exit codes (see `govlib.errors`): 0 success, 1 a gate failed or a finding, 2 a usage or input
error, 3 execution failed (or an internal error), 4 refused to protect personal data. Every error
prints one readable line and no traceback; `--debug` shows the traceback.

Commands and groups::

    govlib catalog check                      govlib retention check|apply DATASET
    govlib sample-data --out DIR              govlib cleanse DATASET
    govlib profile DATASET_OR_PATH            govlib subject find|erase
    govlib validate DATASET                   govlib decrypt FILE.age
    govlib suggest DATASET_OR_PATH            govlib run
                                              govlib history show [DATASET] | verify
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from typing import Annotated

import typer

from govlib import __version__
from govlib.cli import data, governance, runs, subject
from govlib.cli.render import show
from govlib.errors import EXIT_EXECUTION, EXIT_USAGE, GovlibError, printable

app = typer.Typer(
    name="govlib",
    help="Data-governance workbook for customer data: catalog, profiling, quality, retention.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state = {"debug": bool(os.environ.get("GOVLIB_DEBUG"))}


def _version(value: bool) -> None:
    if value:
        show(f"govlib {__version__}")
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


app.add_typer(data.catalog_app, name="catalog")
app.command("sample-data")(data.sample_data_cmd)
app.command("profile")(data.profile_cmd)
app.command("validate")(data.validate_cmd)
app.command("suggest")(data.suggest_cmd)
app.add_typer(governance.retention_app, name="retention")
app.command("cleanse")(governance.cleanse_cmd)
app.add_typer(subject.subject_app, name="subject")
app.command("decrypt")(governance.decrypt_cmd)
app.command("run")(runs.run_cmd)
app.add_typer(runs.history_app, name="history")


class _LineFormatter(logging.Formatter):
    """Log records as one printable line each: a message cannot forge or colour others."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def _error(message: object) -> None:
    """Print one error line on stderr."""
    print(f"govlib: error: {printable(message)}", file=sys.stderr)


def _usage_error(exc: typer.TyperException) -> int:
    """A usage error (bad option, missing argument): one line pointing at the help."""
    message = exc.format_message()
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group without its command: the help
        if message:
            print(message, file=sys.stderr)
    elif message:
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "govlib"
        _error(f"{message} (see '{where} --help')")
    return EXIT_USAGE


def _invoke(argv: list[str] | None) -> int:
    """Run the app and map every outcome to an exit code."""
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
    except typer.TyperException as exc:
        return _usage_error(exc)
    except typer.Abort:
        print("govlib: aborted", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("govlib: interrupted", file=sys.stderr)
        return 130
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # an unexpected internal error: exit 3, never 1
        # BaseException: a Rust panic in polars or pyarrow arrives as pyo3's PanicException
        if _state["debug"]:
            traceback.print_exc()
        print(
            f"govlib: internal error ({type(exc).__name__}); rerun as `govlib --debug ...` "
            "(or with GOVLIB_DEBUG=1) for the traceback and report it",
            file=sys.stderr,
        )
        return EXIT_EXECUTION


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
        return _invoke(argv)
    finally:
        logger.removeHandler(handler)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
