"""The `govlib subject` commands: find, export and erase one person's data."""

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
    KeyFileOption,
    check_copies,
)
from govlib.cli.render import show

subject_app = typer.Typer(
    help="Data-subject rights: find, export and erase a person's data.", no_args_is_help=True
)
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
    catalog: CatalogOption = DEFAULT_CATALOG,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Folder to write the subject's rows into (restricted)."),
    ] = None,
    as_of: AsOfOption = None,
    yes: YesOption = False,
) -> None:
    """List every dataset that holds the subject, with its row count there."""
    from govlib import catalog as catalog_mod
    from govlib import restricted, rights, targets

    cat = catalog_mod.load(catalog)
    if export is not None:
        names = [f"{name}.{ext}" for name in cat.names() for ext in ("json", "csv")]
        restricted.check_out(cat, export, restricted.stored_names(cat, names))
    match, plan = rights.find(
        cat, email=email, phone=phone, subject_id=customer_id, country=country,
        as_of=targets.as_of(as_of, cat.as_of),
    )  # fmt: skip
    show(*views.match(match))
    if export is not None:
        rights.require_one(match, yes=yes, by_id=customer_id is not None, verb="export")
        written = rights.export(plan, export, catalog=cat)
        show(f"exported {len(written)} files into {export} (restricted: holds personal data)")


@subject_app.command("erase")
def subject_erase_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for the new copy and the log.")],
    email: EmailOption = None,
    phone: PhoneOption = None,
    customer_id: IdOption = None,
    country: CountryOption = None,
    catalog: CatalogOption = DEFAULT_CATALOG,
    key_file: KeyFileOption = None,
    as_of: AsOfOption = None,
    yes: YesOption = False,
) -> None:
    """Erase the subject everywhere into a new copy, log it, and prove it (exit 4 if not)."""
    from govlib import applysql, privacy, rights, targets
    from govlib import catalog as catalog_mod

    cat = catalog_mod.load(catalog)
    check_copies(cat, out, "erasure")
    key = privacy.load_key(key_file)
    reached = rights.holders(cat)  # the datasets that can hold a person: the others stay unread
    frames = rights.subject_frames(cat, reached)
    match, plan = rights.find(
        cat, email=email, phone=phone, subject_id=customer_id, country=country,
        as_of=targets.as_of(as_of, cat.as_of), frames=frames,
    )  # fmt: skip
    show(*views.match(match))
    rights.require_one(match, yes=yes, by_id=customer_id is not None, verb="erase")
    plan.read = frozenset(reached)  # and are not hashed either
    applysql.check(cat, plan.changed())  # only the tables apply.sql changes must be keyed
    done = rights.erase(cat, match, plan, out, key=key, run_at=datetime.now(UTC))
    show(*views.written(done.to_dict(), out), *views.apply_scripts(done.to_dict(), out))
    for d in done.datasets:
        show(f"proof: {d.dataset}: {d.remaining} rows of the subject remain (were {d.before})")
    show(
        "proof: the subject is findable nowhere in the new copy (every dataset searched by "
        f"all {len(match.identifiers)} of its identifiers)"
    )
