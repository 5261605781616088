"""Writing outputs atomically: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    Path(tmp).chmod(0o666 & ~umask)  # as an ordinary file would be, not mkstemp's 0600
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


def write_json(path: str | Path, record: object) -> Path:
    """Write a JSON-serialisable record (sorted keys, indented) atomically."""
    return write_text(path, json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")


def write_bundle(
    out_dir: str | Path,
    files: dict[str, object],
    *,
    manifest: str,
    fingerprint: dict,
    extra: dict | None = None,
) -> dict:
    """Write a set of files and a manifest into `out_dir` as one step; repeat-safe.

    `files` maps a file name to a writer `fn(path)`. Everything is written into a staging
    folder first and renamed into place, the manifest last: a reader sees the old set or the
    new one. When `out_dir/manifest` already records the same `fingerprint`, nothing is written
    and the old manifest comes back with `unchanged: True`.
    """
    import shutil

    out = Path(out_dir)
    target = out / manifest
    if target.is_file():
        previous = json.loads(target.read_text(encoding="utf-8"))
        if previous.get("fingerprint") == fingerprint:
            return previous | {"unchanged": True}
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{Path(manifest).stem}-", dir=out))
    try:
        for name, writer in files.items():
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            writer(staging / name)  # type: ignore[operator]
        summary = {"fingerprint": fingerprint, "files": sorted(files), **(extra or {})}
        (staging / manifest).write_text(
            json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
        for name in [*sorted(files), manifest]:
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).replace(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return summary | {"unchanged": False}
