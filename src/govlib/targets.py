"""What a command works on: a catalog dataset or an ad-hoc file, and the day it is judged on.

>>> as_of("2025-01-31", None)
datetime.date(2025, 1, 31)
>>> from datetime import date
>>> as_of(None, date(2024, 12, 31))
datetime.date(2024, 12, 31)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govlib.errors import ParameterError

if TYPE_CHECKING:
    from govlib.catalog import Dataset


def as_of(text: str | None, catalog_as_of: date | None) -> date:
    """The day to judge dates on: `text` (YYYY-MM-DD), else the catalog's `as_of`, else today."""
    from govlib.sampledata import parse_date

    if text:
        return parse_date(text)
    return catalog_as_of or date.today()


@dataclass(frozen=True)
class Target:
    """Data to work on: what `sources.load` returned, and its catalog entry if it has one."""

    loaded: Any
    dataset: Dataset | None
    catalog_as_of: date | None
    name: str


def resolve(
    target: str,
    catalog_path: Path,
    data_root: Path | None = None,
    *,
    read_databases: bool = True,
    read_spark: bool = True,
) -> Target:
    """A catalog dataset by name, or an ad-hoc file path (detection only).

    With `read_databases=False` a dataset that lives in a database is not read (`loaded` is
    None): the caller pushes its work down to the database instead; with `read_spark=False`,
    likewise a file dataset whose `engine:` is spark, for Spark to read.

    A name that is not in the catalog and looks like no path is an unknown dataset (exit 2,
    naming the known ones). An ad-hoc file is the user's choice: it is read wherever it is
    (only from below `data_root` when one is given) and within the catalog's decompression
    limit when there is a catalog.
    """
    from govlib import catalog as catalog_mod
    from govlib import sources

    limit = None  # ad-hoc files: the catalog's limit, else the default one
    if catalog_path.is_file():
        cat = catalog_mod.load(catalog_path)
        if target in cat.datasets:
            ds = cat.dataset(target)
            if ds.source.is_database and not read_databases:
                return Target(None, ds, cat.as_of, ds.name)
            if ds.engine == "spark" and not read_spark:
                return Target(None, ds, cat.as_of, ds.name)
            return Target(sources.load(ds, data_root=data_root), ds, cat.as_of, ds.name)
        if not Path(target).expanduser().exists() and not any(ch in target for ch in "/\\."):
            cat.dataset(target)  # raises: unknown dataset, with the known names
        limit = cat.limits.max_decompressed_mb * 1024 * 1024
    elif not Path(target).expanduser().exists():
        raise ParameterError(
            f"{target!r} is neither a file nor a dataset (no catalog at {catalog_path}); "
            "pass a file path or --catalog PATH"
        )
    loaded = sources.load(target, data_root=data_root, max_decompressed_bytes=limit)
    return Target(loaded, None, None, Path(target).name)
