"""Options shared by the commands, and the checks that refuse a bad output before any work.

`--out` is always a folder and `--json` always a file. Neither may hit a source: a file a
catalog dataset reads (path or glob), or the file the command reads itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from govlib.errors import ParameterError

CatalogOption = Annotated[
    Path, typer.Option("--catalog", help="Catalog file.", envvar="GOVLIB_CATALOG")
]
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
KeyFileOption = Annotated[
    Path | None,
    typer.Option("--key-file", help="Pseudonymisation key file (default: $GOVLIB_KEY)."),
]
ReportsOption = Annotated[Path, typer.Option("--out", help="Folder of runs and history.")]
DEFAULT_CATALOG = Path("catalog.yaml")
DEFAULT_REPORTS = Path("reports")


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_dir(path: Path, option: str, shown: Path) -> None:
    folder = _nearest_existing(path)
    if not folder.is_dir():
        raise ParameterError(f"{option} {shown}: {folder} is a file, not a folder; choose a path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ParameterError(f"{option} {shown}: no permission to write in {folder}")


def writable_file(
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
    _writable_dir(path.parent, option, path)
    if any(Path(i).exists() and path.resolve() == Path(i).resolve() for i in inputs):
        raise ParameterError(f"{option} {path} is the file this command reads; choose another")
    if catalog is not None and catalog.is_file():
        restricted.check_out(catalog_mod.load(catalog), path.parent, [path.name])
    return path


def writable_folder(path: Path, option: str) -> Path:
    """Refuse, before any work, an output folder that is a file or cannot be written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option} {path} is a file, not a folder; give a folder")
    _writable_dir(path, option, path)
    return path


def check_copies(cat: Any, out: Path, kind: str) -> None:
    """Refuse, before any work, an --out where a copy would overwrite or feed a source."""
    from govlib import applysql, restricted

    names = [f"{name}.parquet" for name in cat.names()] + [f"{kind}_log.ndjson"]
    names += applysql.file_names(cat)
    if kind == "cleanse":
        names += [f"quarantine/{name}.parquet" for name in cat.names()]
    restricted.check_out(cat, out, [*restricted.stored_names(cat, names), f"{kind}.json"])


def write_json(path: Path, record: object, option: str = "--json") -> None:
    """Write a record atomically; a file system refusal is a usage error, not a crash."""
    from govlib import outputs

    try:
        outputs.write_json(path, record)
    except OSError as exc:
        raise ParameterError(
            f"{option} {path}: cannot write it ({exc.strerror or type(exc).__name__}); "
            "choose a writable path"
        ) from None
