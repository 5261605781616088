"""Writing outputs atomically: a reader sees the old file or the new one, never half of one.

A private output (a restricted one: rows of people) is created 0600, and every folder created
for it 0700, whatever the umask. No output path leaves the folder it is written into.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from govlib.errors import GovlibError

if TYPE_CHECKING:
    import polars as pl

Writer = Callable[[BinaryIO], None]
"""Writes one file's bytes into an open binary file."""


def text_writer(text: str) -> Writer:
    """A `Writer` of `text` as UTF-8."""

    def write(fh: BinaryIO) -> None:
        fh.write(text.encode("utf-8"))

    return write


def parquet_writer(frame: pl.DataFrame) -> Writer:
    """A `Writer` of `frame` as Parquet."""

    def write(fh: BinaryIO) -> None:
        frame.write_parquet(fh)

    return write


class OutputError(GovlibError):
    """An output that must not be written there (exit 2): nothing was written."""


def inside(out_dir: str | Path, name: str) -> Path:
    """`out_dir / name`, checked to stay inside `out_dir` once symbolic links are resolved."""
    out = Path(out_dir)
    relative = Path(name)
    target = (out / relative).resolve()
    if relative.is_absolute() or ".." in relative.parts or not target.is_relative_to(out.resolve()):
        raise OutputError(
            f"an output file name leaves the output folder {out}; dataset names must be "
            "identifiers and the folder must not hold links that lead elsewhere"
        )
    return out / relative


def make_dirs(path: str | Path, *, private: bool = False) -> Path:
    """Create `path` and its missing parents; those created here are 0700 when `private`."""
    path = Path(path)
    missing = []
    parent = path
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file, not a folder; give a folder")
    for folder in reversed(missing):
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the folder {folder} ({exc.strerror}); choose a writable folder"
            ) from None
        if private:
            folder.chmod(0o700)
    return path


def _mode(private: bool) -> int:
    if private:
        return 0o600
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask  # as an ordinary file would be, not mkstemp's 0600


def write_text(path: str | Path, text: str, *, private: bool = False) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    make_dirs(path.parent, private=private)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.fchmod(fd, _mode(private))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | Path, record: object, *, private: bool = False) -> Path:
    """Write a JSON-serialisable record (sorted keys, indented) atomically."""
    text = json.dumps(record, indent=2, sort_keys=True, default=str) + "\n"
    return write_text(path, text, private=private)


def sha256(path: str | Path) -> str:
    """Content hash of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _write_one(path: Path, writer: Writer, *, private: bool) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, _mode(private))
    with os.fdopen(fd, "wb") as fh:
        writer(fh)
        fh.flush()
        os.fsync(fh.fileno())
    return sha256(path)


def write_files(
    out_dir: str | Path, files: dict[str, Writer], *, private: bool = False, prefix: str = ".w-"
) -> dict[str, str]:
    """Write every file into a staging folder in `out_dir`, then rename each into place.

    Returns each file's SHA-256. A file that fails leaves the previous set as it was.
    """
    out = make_dirs(out_dir, private=private)
    targets = {name: inside(out, name) for name in files}
    try:
        staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out))  # 0700 by construction
    except OSError as exc:
        raise OutputError(
            f"cannot write into {out} ({exc.strerror}); choose a writable folder"
        ) from None
    try:
        hashes = {}
        for name, writer in files.items():
            path = staging / name
            make_dirs(path.parent, private=private)
            hashes[name] = _write_one(path, writer, private=private)
        for name, target in targets.items():
            make_dirs(target.parent, private=private)
            (staging / name).replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return hashes


def _previous(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing or damaged: write everything again
    return data if isinstance(data, dict) else None


def _intact(out: Path, manifest: dict) -> bool:
    """True when every file the manifest lists is still there with its recorded hash."""
    hashes = manifest.get("sha256")
    if not isinstance(hashes, dict) or sorted(hashes) != manifest.get("files"):
        return False
    for name, digest in hashes.items():
        try:
            path = inside(out, name)
        except OutputError:
            return False
        if not path.is_file() or sha256(path) != digest:
            return False
    return True


def _remove_stale(
    out: Path, previous: dict | None, keep: set[str], protected: Callable[[Path], bool]
) -> None:
    """Remove files an earlier write listed and this one did not (e.g. a plain copy)."""
    names = (previous or {}).get("files") or []
    for name in names if isinstance(names, list) else []:
        if not isinstance(name, str) or name in keep:
            continue
        try:
            path = inside(out, name)
        except OutputError:
            continue
        if path.is_file() and not protected(path):
            path.unlink()


def write_bundle(
    out_dir: str | Path,
    files: dict[str, Writer],
    *,
    manifest: str,
    fingerprint: dict,
    extra: dict | None = None,
    private: bool = False,
    protected: Callable[[Path], bool] = lambda path: False,
) -> dict:
    """Write a set of files and a manifest into `out_dir` as one step; repeat-safe.

    `files` maps a file name to a `Writer`. The files are staged and renamed into place, the
    manifest last; it records each file's SHA-256. When `out_dir/manifest` records the same
    `fingerprint` and every file it lists still has its hash, nothing is written and the old
    manifest comes back with `unchanged: True`; a file missing or changed writes the set again.
    Files an earlier manifest listed that this set does not hold are removed, unless
    `protected(path)` says otherwise.
    """
    out = Path(out_dir)
    previous = _previous(out / manifest)
    if previous and previous.get("fingerprint") == fingerprint and _intact(out, previous):
        return previous | {"unchanged": True}
    hashes = write_files(out, files, private=private, prefix=f".{Path(manifest).stem}-")
    summary = {"fingerprint": fingerprint, "files": sorted(files), "sha256": hashes}
    summary |= extra or {}
    write_json(inside(out, manifest), summary, private=private)
    _remove_stale(out, previous, set(files) | {manifest}, protected)
    return summary | {"unchanged": False}
