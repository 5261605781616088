"""Data-subject rights: find a person everywhere (Art. 15), export their rows, erase them (Art. 17).

A subject is found by email or phone (normalised before matching) or by subject id, in every
dataset that holds them, following the catalog's relationships. An export of their rows is a
restricted output: it is written only where asked, and its CSV cells are neutralised against
formula injection. Erasure reuses the retention engine: the same cascade, the same erasure log,
and a proof that the subject is findable nowhere in the new copy.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import polars as pl

from govlib import outputs, quality, restricted, retention, sources
from govlib.catalog import Catalog, PiiKind
from govlib.errors import ExecutionError, GovlibError, ParameterError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class UnknownSubjectError(GovlibError):
    """No dataset holds the subject asked for."""


@dataclass(frozen=True, slots=True)
class SubjectMatch:
    """Where a subject's rows are: row counts per dataset (the ids stay in memory only)."""

    rows: dict[str, int]
    subjects: int

    def to_dict(self) -> dict[str, object]:
        """The match as a plain dict: counts only."""
        return asdict(self)


def _ids(
    catalog: Catalog,
    frames: dict[str, pl.DataFrame],
    *,
    email: str | None,
    phone: str | None,
    subject_id: str | None,
) -> list[object]:
    if sum(x is not None for x in (email, phone, subject_id)) != 1:
        raise ParameterError("give exactly one of --email, --phone or --customer-id")
    ids: set[object] = set()
    for name in catalog.names():
        ds = catalog.dataset(name)
        key, frame = ds.subject_key, frames[name]
        if key is None:
            continue
        if subject_id is not None:
            try:
                wanted = pl.Series([subject_id]).cast(frame.schema[key], strict=True)
            except pl.exceptions.InvalidOperationError:
                raise ParameterError(
                    f"--customer-id must be a {frame.schema[key]} value like the data's ids"
                ) from None
            ids |= set(frame.filter(pl.col(key).is_in(wanted.implode()))[key].to_list())
            continue
        country = next((c for c in ("country", "country_code") if c in frame.columns), None)
        for column, spec in ds.columns.items():
            if email is not None and spec.pii is PiiKind.EMAIL:
                target = email.strip().lower()
                hit = pl.col(column).str.strip_chars().str.to_lowercase() == target
            elif phone is not None and spec.pii is PiiKind.PHONE:
                digits = re.sub(r"\D", "", phone)
                digits = digits[2:] if phone.strip().startswith("00") else digits
                if not phone.strip().startswith(("+", "00")):
                    digits = digits.lstrip("0")
                if len(digits) < 7:
                    raise ParameterError("--phone needs at least 7 digits")
                norm = quality.normalised_phone(
                    pl.col(column), pl.col(country) if country else None
                )
                hit = (
                    norm.str.ends_with(digits)
                    if not phone.strip().startswith(("+", "00"))
                    else (norm == digits)
                )
            else:
                continue
            ids |= set(frame.filter(hit.fill_null(False))[key].to_list())
    return sorted(ids, key=str)


def find(
    catalog: Catalog,
    *,
    email: str | None = None,
    phone: str | None = None,
    subject_id: str | None = None,
    as_of: date,
    frames: dict[str, pl.DataFrame] | None = None,
) -> tuple[SubjectMatch, retention.Plan]:
    """Every dataset's rows of the subject, as counts and as a plan (row masks)."""
    frames = frames or sources.load_all(catalog)
    ids = _ids(catalog, frames, email=email, phone=phone, subject_id=subject_id)
    if not ids:
        raise UnknownSubjectError(
            "no dataset holds that subject. Check the value (emails and phones are normalised "
            "before matching)"
        )
    plan = retention.plan_erasure(catalog, ids, as_of=as_of, frames=frames)
    rows = {name: int(mask.sum()) for name, mask in plan.deletes.items()}
    return SubjectMatch(rows=dict(sorted(rows.items())), subjects=len(ids)), plan


def neutralise(value: object) -> object:
    """A CSV cell that spreadsheets will not run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv_writer(rows: pl.DataFrame) -> outputs.Writer:
    """CSV of `rows` with every text cell and every header neutralised against formulas."""
    formula = "^[" + re.escape("".join(FORMULA_START)) + "]"
    safe = rows.with_columns(
        pl.when(pl.col(c).str.contains(formula))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c, t in rows.schema.items()
        if t == pl.String
    )

    def write(fh: BinaryIO) -> None:
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow([neutralise(c) for c in rows.columns])
        fh.write(header.getvalue().encode("utf-8"))
        safe.write_csv(fh, include_header=False)

    return write


def export(
    plan: retention.Plan, out_dir: str | Path, *, catalog: Catalog | None = None
) -> list[Path]:
    """Write the subject's rows per dataset as JSON and CSV into `out_dir` (restricted output).

    The files are 0600 in a 0700 folder, encrypted to the recipients when configured (see
    `govlib.restricted`), and refused where a source of `catalog` would read them.
    """
    files: dict[str, outputs.Writer] = {}
    for name, mask in sorted(plan.deletes.items()):
        rows = plan.frames[name].filter(mask)
        if rows.height == 0:
            continue
        text = json.dumps(rows.to_dicts(), indent=2, default=str, ensure_ascii=False) + "\n"
        files[f"{name}.json"] = lambda fh, t=text: fh.write(t.encode("utf-8"))
        files[f"{name}.csv"] = _csv_writer(rows)
    return restricted.write_files(catalog, out_dir, files, prefix=".export-")


def copy_frames(
    catalog: Catalog,
    out_dir: Path,
    frames: dict[str, pl.DataFrame],
    *,
    written: dict[str, pl.DataFrame] | None = None,
) -> dict:
    """The datasets as they stand after an erasure: new copies where written, else the source.

    A plain copy is read back from `out_dir`. An encrypted one cannot be (this machine holds
    no identity): `written`, the frames that were encrypted into it, stands for it.
    """
    merged = dict(frames)
    for name in catalog.names():
        path = out_dir / f"{name}.parquet"
        if path.is_file():
            merged[name] = pl.read_parquet(path)
        elif path.with_name(path.name + restricted.SUFFIX).is_file():
            if written is None or name not in written:
                raise ExecutionError(
                    f"the encrypted copy of {name} cannot be checked: pass the written frames"
                )
            merged[name] = written[name]
    return merged


def remaining(
    catalog: Catalog,
    frames: dict[str, pl.DataFrame],
    *,
    email: str | None = None,
    phone: str | None = None,
    subject_id: str | None = None,
) -> dict[str, int]:
    """Rows per dataset still matching the subject (the erasure proof: all zeros)."""
    try:
        match, _ = find(
            catalog, email=email, phone=phone, subject_id=subject_id, as_of=date.min, frames=frames
        )
    except UnknownSubjectError:
        return dict.fromkeys(catalog.names(), 0)
    return {name: match.rows.get(name, 0) for name in catalog.names()}
