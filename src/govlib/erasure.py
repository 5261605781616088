"""The erasure engine: plan which rows go or lose their personal data, cascade, apply, write.

Retention (`retention.plan_retention`) and data-subject rights (`rights.find`) decide *which*
rows; this module does the rest for both, the same way:

- a `Plan` holds, per dataset, boolean masks of rows to delete and rows to anonymise, the
  actions as counts (`PlannedAction`), and the subjects affected (in memory only);
- `cascade` deletes the rows that point at deleted rows, following the catalog's relationships
  transitively (the orders of a deleted customer go too);
- `anonymise_rows` nulls direct identifiers and free text and generalises quasi-identifiers;
- `apply` builds the new copy of every affected dataset; `execute` writes it with the erasure
  log as restricted outputs (see `govlib.restricted`), atomically and idempotently.

Sources are never written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from govlib import applysql, identity, outputs, privacy, restricted, sources
from govlib.catalog import Catalog, Category, Dataset, PiiKind
from govlib.errors import ParameterError
from govlib.records import Record


@dataclass(frozen=True, slots=True)
class PlannedAction(Record):
    """What one rule (or an erasure request) does to one dataset: counts only."""

    dataset: str
    rule: str
    action: str  # "delete", "anonymise" or "review"
    rows: int
    cascade: bool = False  # rows that go because a row they point at goes


@dataclass(slots=True)
class Plan:
    """Rows to delete or anonymise per dataset, and the subjects they belong to.

    `deletes` and `anonymise` map a dataset to a boolean mask over its rows; `subjects` lists
    (dataset, rule, action, subject id) per row affected, kept in memory only: the log holds
    pseudonyms.
    """

    as_of: date
    frames: dict[str, pl.DataFrame]
    deletes: dict[str, pl.Series] = field(default_factory=dict)
    anonymise: dict[str, pl.Series] = field(default_factory=dict)
    actions: list[PlannedAction] = field(default_factory=list)
    subjects: list[tuple[str, str, str, object]] = field(default_factory=list)
    read: frozenset[str] | None = None  # the datasets `frames` were read from (None: all)

    @property
    def changes(self) -> int:
        """Rows deleted or anonymised in all."""
        return sum(a.rows for a in self.actions if a.action != "review")

    def changed(self) -> list[str]:
        """The datasets this plan changes: those with a row to delete or anonymise."""
        masks = (*self.deletes.items(), *self.anonymise.items())
        return sorted({name for name, mask in masks if mask.any()})

    def mark_delete(
        self, name: str, mask: pl.Series, rule: str, *, cascade: bool = False
    ) -> pl.Series:
        """Mark the rows of `mask` in dataset `name` for deletion; return those not marked yet."""
        before = self.deletes.get(name)
        new = mask if before is None else mask & ~before
        self.deletes[name] = mask if before is None else before | mask
        self.actions.append(PlannedAction(name, rule, "delete", int(new.sum()), cascade))
        return new

    def mark_anonymise(self, name: str, mask: pl.Series, rule: str) -> pl.Series:
        """Mark the rows of `mask` in dataset `name` for anonymisation, unless deleted.

        Returns the rows marked by this call.
        """
        deleted = self.deletes.get(name)
        if deleted is not None:
            mask = mask & ~deleted
        before = self.anonymise.get(name)
        self.anonymise[name] = mask if before is None else before | mask
        self.actions.append(PlannedAction(name, rule, "anonymise", int(mask.sum())))
        return mask


def delete_subjects(
    catalog: Catalog,
    subject_ids: list[object],
    *,
    as_of: date,
    frames: dict[str, pl.DataFrame] | None = None,
) -> Plan:
    """Delete every row of the given subjects, in every dataset that holds them, and cascade.

    A dataset's subject ids are in its `identity.subject_id_column`; the log names the subjects
    under the root dataset (the one the others point at).
    """
    frames = frames or sources.load_all(catalog)
    plan = Plan(as_of=as_of, frames=frames)
    for name in catalog.names():
        key = identity.subject_id_column(catalog.dataset(name), catalog)
        if key is None or key not in frames[name].columns:
            continue
        mask = frames[name][key].is_in(subject_ids).fill_null(False)
        plan.mark_delete(name, mask, "erasure_request")
    root = identity.root_dataset(catalog)
    for subject in subject_ids:
        plan.subjects.append((root, "erasure_request", "delete", subject))
    cascade(catalog, plan, root)
    return plan


def cascade(catalog: Catalog, plan: Plan, root: str) -> None:
    """Delete rows that point at deleted rows, following relationships transitively.

    It starts from `root` and from every other dataset with deleted rows: rows of a dataset
    deleted for their own sake (orders by the subject's id) take the rows pointing at them too.
    """
    pending = [name for name, gone in plan.deletes.items() if name != root and gone.any()]
    pending.append(root)  # taken first
    while pending:
        target = pending.pop()
        gone = plan.deletes.get(target)
        if gone is None or not gone.any():
            continue
        for name in catalog.names():
            for rel in catalog.dataset(name).relationships:
                ref_ds, ref_col = rel.target
                if ref_ds != target or name == target:
                    continue
                removed = plan.frames[target].filter(gone)[ref_col]
                mask = plan.frames[name][rel.column].is_in(removed.implode()).fill_null(False)
                before = plan.deletes.get(name)
                new = mask if before is None else (mask & ~before)
                if new.any():
                    plan.mark_delete(name, mask, f"cascade from {target}", cascade=True)
                    pending.append(name)


def anonymised(ds: Dataset, frame: pl.DataFrame) -> pl.Series:
    """Rows whose direct identifiers are all null already (nothing left to anonymise)."""
    direct = [
        c
        for c, spec in ds.columns.items()
        if spec.category == Category.DIRECT_IDENTIFIER
        and spec.pii is not PiiKind.PERSON_ID
        and c in frame.columns
    ]
    if not direct:
        return pl.Series([False] * frame.height)
    return frame.select(pl.all_horizontal(pl.col(c).is_null() for c in direct)).to_series()


def anonymised_columns(ds: Dataset) -> list[str]:
    """The columns anonymising a row changes: personal ones, except the subject's id."""
    columns = ds.columns.items()
    return [c for c, spec in columns if spec.personal and spec.pii is not PiiKind.PERSON_ID]


def check_anonymisable(ds: Dataset) -> None:
    """Refuse (exit 2) anonymising rows whose primary key anonymising would change."""
    changed = [c for c in ds.primary_key if c in anonymised_columns(ds)]
    if changed:
        raise ParameterError(
            f"dataset {ds.name!r}: anonymising would change its primary key column "
            f"{changed[0]!r} (a personal column), leaving rows no key can address; key the "
            "dataset by a surrogate id, or make the rule delete"
        )


def anonymise_rows(ds: Dataset, frame: pl.DataFrame, mask: pl.Series) -> pl.DataFrame:
    """Null direct identifiers and free text; generalise quasi-identifiers; keep the key.

    Dates of birth become the first of January of their year and postcodes keep their first
    two characters. The subject key stays so related records remain consistent.
    """
    m = pl.lit(mask)
    exprs = []
    for column in anonymised_columns(ds):
        if column not in frame.columns:
            continue
        spec, col = ds.columns[column], pl.col(column)
        if spec.pii is PiiKind.DATE_OF_BIRTH:
            new = col.dt.truncate("1y")
        elif spec.pii is PiiKind.POSTCODE:
            new = col.str.slice(0, 2)
        else:
            new = pl.lit(None, dtype=frame.schema[column])
        exprs.append(pl.when(m).then(new).otherwise(col).alias(column))
    return frame.with_columns(exprs) if exprs else frame


def apply(catalog: Catalog, plan: Plan) -> dict[str, pl.DataFrame]:
    """The new copy of every affected dataset: rows anonymised, then rows deleted."""
    out = {}
    for name in sorted(set(plan.deletes) | set(plan.anonymise)):
        frame = plan.frames[name]
        ds = catalog.dataset(name)
        if name in plan.anonymise:
            frame = anonymise_rows(ds, frame, plan.anonymise[name])
        if name in plan.deletes:
            frame = frame.filter(~plan.deletes[name])
        out[name] = frame
    return out


def log_lines(plan: Plan, *, key: bytes, run_at: datetime, inputs: object) -> str:
    """The erasure log as NDJSON: one line per subject affected, the subject pseudonymised."""
    return "".join(
        json.dumps(
            {
                "subject": privacy.pseudonym(subject, key),
                "dataset": dataset,
                "rule": rule,
                "action": action,
                "as_of": plan.as_of.isoformat(),
                "run_at": run_at.isoformat(timespec="seconds"),
                "inputs_sha256": inputs,
            },
            sort_keys=True,
        )
        + "\n"
        for dataset, rule, action, subject in plan.subjects
    )


def execute(
    catalog: Catalog,
    plan: Plan,
    out_dir: str | Path,
    *,
    key: bytes,
    run_at: datetime,
    kind: str,
) -> dict[str, Any]:
    """Write the new copy and the erasure log into `out_dir`, atomically and idempotently.

    A dataset read from a database gets its change as a script too (`apply.sql`, see
    `govlib.applysql`) for its data owner to run; govlib itself never writes to a source.

    Both are restricted outputs (see `govlib.restricted`): 0600, encrypted when recipients are
    configured, and refused where a declared source would read them. Running the same plan on
    the same inputs again finds `out_dir/<kind>.json` with the same fingerprint and the files
    with their recorded hashes, and changes nothing (see `outputs.write_bundle`).
    """
    read = plan.frames if plan.read is None else {n: plan.frames[n] for n in plan.read}
    inputs = sources.content_hashes(catalog, read)
    fingerprint = {
        "kind": kind,
        "as_of": plan.as_of.isoformat(),
        "inputs": inputs,
        "actions": [a.to_dict() for a in plan.actions],
        "subjects": hashlib.sha256(  # one digest: the list itself stays in the log only
            "\n".join(sorted(privacy.pseudonym(s[3], key) for s in plan.subjects)).encode()
        ).hexdigest(),
    }
    log = log_lines(plan, key=key, run_at=run_at, inputs=inputs)
    copies = apply(catalog, plan)
    files: dict[str, outputs.Writer] = {
        f"{name}.parquet": outputs.parquet_writer(frame) for name, frame in copies.items()
    }
    files[f"{kind}_log.ndjson"] = outputs.text_writer(log)
    title = f"{kind} as of {plan.as_of.isoformat()}, run at {run_at.isoformat(timespec='seconds')}"
    for name, text in applysql.scripts(catalog, plan.frames, copies, title=title).items():
        files[name] = outputs.text_writer(text)
    return restricted.write_bundle(
        catalog, out_dir, files, manifest=f"{kind}.json", fingerprint=fingerprint,
        extra={"run_at": run_at.isoformat(timespec="seconds"), "log_entries": len(plan.subjects)},
    )  # fmt: skip
