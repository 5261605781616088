"""Commands that describe and check data: catalog, sample-data, profile, validate, suggest."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from govlib.cli import views
from govlib.cli.options import (
    DEFAULT_CATALOG,
    AsOfOption,
    CatalogOption,
    DataRootOption,
    JsonOption,
    writable_file,
    writable_folder,
    write_json,
)
from govlib.cli.render import console, show, wrote
from govlib.errors import ParameterError

if TYPE_CHECKING:
    from govlib.draft import Draft

log = logging.getLogger("govlib")

catalog_app = typer.Typer(
    help="The catalog: check it, list its datasets, draft entries for data files.",
    no_args_is_help=True,
)


@catalog_app.command("check")
def catalog_check_cmd(catalog: CatalogOption = DEFAULT_CATALOG) -> None:
    """Validate the catalog and list its datasets."""
    from govlib import catalog as catalog_mod

    cat = catalog_mod.load(catalog)
    show(*views.catalog(cat, catalog))
    for dataset, key in cat.incomplete():
        log.warning("dataset %s: %s is still TODO; fill it in before sharing reports", dataset, key)


@catalog_app.command("draft")
def catalog_draft_cmd(
    targets: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="PATH_OR_URI",
            help="Data files, or one database URI (postgresql://, sqlite:///, duckdb:///).",
            show_default=False,
        ),
    ] = None,
    uri_env: Annotated[
        str | None,
        typer.Option(
            "--uri-env",
            help="Environment variable holding the database URI (no password on the command line).",
        ),
    ] = None,
    schema: Annotated[
        str | None,
        typer.Option("--schema", help="Database schema (default: the URI's, else public / main)."),
    ] = None,
    tables: Annotated[
        str | None,
        typer.Option("--tables", help="Tables or views to draft, a,b (default: every table)."),
    ] = None,
    catalog: CatalogOption = DEFAULT_CATALOG,
) -> None:
    """Draft catalog entries for data files or a database's tables: types, PII, keys, relationships.

    Creates the catalog, or appends the new datasets to it without touching what is there.
    Fill in each TODO, then write a suite with `govlib suggest DATASET --out expectations`.
    """
    from govlib import draft

    targets = targets or []
    uris = [t for t in targets if draft.is_uri(t)]
    if uri_env is None and not uris:
        if not targets:
            raise ParameterError("give data files, a database URI, or --uri-env NAME to draft")
        if schema is not None or tables is not None:
            raise ParameterError("--schema and --tables choose database tables: give a URI")
        drafted = draft.draft_catalog([Path(t) for t in targets], catalog_path=catalog)
    else:
        if len(targets) != len(uris) or len(uris) > (0 if uri_env is not None else 1):
            raise ParameterError(
                "give one database URI or --uri-env NAME, and no data files or other URI with it"
            )
        names = None if tables is None else [t.strip() for t in tables.split(",") if t.strip()]
        if names == []:
            raise ParameterError("--tables names no table; give e.g. --tables customers,orders")
        drafted = draft.draft_database(
            uris[0] if uris else None,
            uri_env=uri_env,
            schema=schema,
            tables=names,
            catalog_path=catalog,
        )
    _report_draft(drafted)


def _report_draft(drafted: Draft) -> None:
    from govlib import draft

    for reason in drafted.skipped:
        show(f"left out {reason}")
    if not drafted.entries:
        show(f"nothing to add to {drafted.catalog_path}: it holds every table drafted already")
        return
    written = draft.write(drafted)
    for entry in drafted.entries:
        key = ", ".join(entry.primary_key) or "none found"
        show(f"{entry.dataset}: {entry.rows:,} rows, {len(entry.columns)} columns, key {key}")
    verb = "created" if drafted.created else "appended to"
    show(f"{verb} {written}: {len(drafted.entries)} dataset(s); fill in each TODO")
    if drafted.export:
        log.warning(
            "the URI's password is not written: the drafted datasets read the URI from $%s; "
            "export it there before reading them (next time: --uri-env %s)",
            drafted.export,
            drafted.export,
        )


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
    show(*(wrote(path) for path in written))
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in sample.frames.items())
    show(f"rows: {rows}; {len(sample.defects)} kinds of planted defect")


def profile_cmd(
    target: Annotated[str, typer.Argument(metavar="DATASET_OR_PATH")],
    catalog: CatalogOption = DEFAULT_CATALOG,
    json_path: JsonOption = None,
    as_of: AsOfOption = None,
    data_root: DataRootOption = None,
) -> None:
    """Profile a dataset: statistics, PII detection, catalog findings and alerts."""
    from govlib import profiling, targets

    writable_file(json_path, "--json", catalog=catalog, inputs=(target,))
    # Spark reads the catalog's own files: a --data-root elsewhere is read by polars
    spark = data_root is None
    data = targets.resolve(target, catalog, data_root, read_databases=False, read_spark=not spark)
    day = targets.as_of(as_of, data.catalog_as_of)
    with console.status(f"profiling {data.name}"):
        if data.loaded is None and data.dataset is not None:  # inside the database, or on Spark
            result = profiling.profile_dataset(data.dataset, as_of=day)
        else:
            result = profiling.profile(
                data.loaded.frame, dataset=data.name, as_of=day, declared=data.dataset
            )
    show(*views.profile(result))
    if json_path is not None:
        write_json(json_path, result.to_dict())
        show(wrote(json_path))


def validate_cmd(
    dataset: Annotated[str, typer.Argument(metavar="DATASET")],
    catalog: CatalogOption = DEFAULT_CATALOG,
    suite: Annotated[
        str | None, typer.Option("--suite", help="Suite name (default: the catalog's).")
    ] = None,
    json_path: JsonOption = None,
    as_of: AsOfOption = None,
    engine: Annotated[
        str | None,
        typer.Option(
            "--engine",
            help="Where checks run: polars, duckdb, gx or spark (default: the catalog's, "
            "else by size).",
        ),
    ] = None,
) -> int:
    """Validate a dataset with its Great Expectations suite; exit 1 if the gate fails."""
    from govlib import catalog as catalog_mod
    from govlib import quality, targets

    if engine is not None and engine not in ("polars", "duckdb", "gx", "spark"):
        raise ParameterError(f"--engine must be polars, duckdb, gx or spark, got {engine!r}")
    writable_file(json_path, "--json", catalog=catalog)
    cat = catalog_mod.load(catalog)
    ds = cat.dataset(dataset)
    day = targets.as_of(as_of, cat.as_of)
    with console.status(f"validating {dataset}"):
        result = quality.validate(ds, as_of=day, suite=suite, engine=engine)
    show(*views.quality(result))
    if json_path is not None:
        write_json(json_path, result.to_dict())
        show(wrote(json_path))
    return result.exit_code


def suggest_cmd(
    target: Annotated[str, typer.Argument(metavar="DATASET_OR_PATH")],
    catalog: CatalogOption = DEFAULT_CATALOG,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to write SUITE.json into (default: print it)."),
    ] = None,
    suite: Annotated[
        str | None,
        typer.Option("--suite", help="Suite name (default: the catalog's, else the file's)."),
    ] = None,
    as_of: AsOfOption = None,
    data_root: DataRootOption = None,
    tolerate_current: Annotated[
        bool,
        typer.Option(
            "--tolerate-current",
            help="Accept today's defect rates (mostly) instead of failing on them.",
        ),
    ] = False,
) -> None:
    """Write a starter Great Expectations suite that fails on the data's defects of today.

    Each check that meets defects today prints what it fails on, or with --tolerate-current
    what it accepts ("accepts 2.60% malformed e-mails"): rates, never values.
    """
    from govlib import profiling, quality, targets
    from govlib.quality.suggestions import tolerances

    name = _suite_name(target, catalog, suite)
    path = None
    if out is not None:
        writable_folder(out, "--out")
        path = writable_file(out / f"{name}.json", "--out", catalog=catalog, inputs=(target,))
    data = targets.resolve(target, catalog, data_root, read_databases=False)
    declared = data.dataset
    day = targets.as_of(as_of, data.catalog_as_of)
    key = declared.primary_key if declared else None
    if data.loaded is None and declared is not None:  # counted inside the database
        from govlib.engine.backends import open_database

        result = profiling.profile_dataset(declared, as_of=day)
        table = open_database(declared)
        try:
            record = quality.suggest(
                result, name=name, table=table, tolerate_current=tolerate_current, primary_key=key
            )
        finally:
            table.close()
    else:
        result = profiling.profile(
            data.loaded.frame, dataset=declared.name if declared else name, as_of=day,
            declared=declared,
        )  # fmt: skip
        record = quality.suggest(result, name=name, frame=data.loaded.frame,
                                 tolerate_current=tolerate_current, primary_key=key)  # fmt: skip
    lines = tolerances(record)
    if path is None:
        print(json.dumps(record, indent=2))
        for line in lines:
            log.warning("%s", line)
        return
    write_json(path, record, "--out")
    show(wrote(path, f"({len(record['expectations'])} expectations)"), *lines)
    if lines and not tolerate_current:
        show("the suite fails on today's defects; --tolerate-current accepts their rates")


def _suite_name(target: str, catalog: Path, suite: str | None) -> str:
    """The suite's name: `suite`, else the catalog's suite of the dataset, else the file's stem."""
    from govlib import catalog as catalog_mod

    if suite is None and catalog.is_file():
        cat = catalog_mod.load(catalog)
        if target in cat.datasets:
            suite = cat.dataset(target).suite or target
    name = suite or Path(target).name.split(".")[0]
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name):
        raise ParameterError(
            f"{name!r} is not a suite name: use letters, digits, '_', '-' and '.' (give --suite)"
        )
    return name
