"""Publishing a run: a private staging folder, a leak scan of every file, then a rename.

A run writes into `<out>/.staging-<run-id>` (0700, locked with the id and start time of the
process that owns it). Every file bound for the shared folder is scanned for personal data
first; a job whose files leak is withheld whole. When the run is complete the folder is
unlocked, opened to the reader's umask, renamed to `<out>/<run-id>`, and `<out>/latest` is
pointed at it. A killed run leaves the previous one intact and nothing half-written in view;
the next run removes the staging folder it left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govlib import catalog as catalog_mod
from govlib import outputs
from govlib.privacy import LeakError, LeakScanner

if TYPE_CHECKING:
    import nbformat

LOCK_NAME = ".lock"
STALE_UNLOCKED_S = 6 * 3600


# -- staging ---------------------------------------------------------------------------------


def open_staging(out: Path, run_id: str) -> Path:
    """A fresh staging folder for `run_id` in `out`, after removing those of killed runs."""
    out.mkdir(parents=True, exist_ok=True)
    clean_stale_staging(out)
    staging = out / f".staging-{run_id}"
    staging.mkdir(mode=0o700)
    staging.chmod(0o700)  # whatever the umask
    (staging / LOCK_NAME).write_text(f"{os.getpid()} {_started(os.getpid())}\n")
    return staging


def run_id_of(staging: Path) -> str:
    """The run id a staging folder was opened for."""
    return staging.name.removeprefix(".staging-")


def discard(staging: Path) -> None:
    """Remove an unpublished staging folder: it may hold notebooks with personal data."""
    shutil.rmtree(staging, ignore_errors=True)


def release(staging: Path, out: Path, run_id: str) -> Path:
    """Make a complete staging folder the run `<out>/<run_id>` and point `latest` at it."""
    for folder in staging.iterdir():
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()  # every file of its jobs was withheld
    (staging / LOCK_NAME).unlink()
    staging.chmod(0o777 & ~_umask())  # readable as any published folder
    final = out / run_id
    staging.rename(final)
    tmp = out / f".latest-{run_id}"
    tmp.symlink_to(run_id)
    tmp.replace(out / "latest")
    return final


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _started(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), or "" where /proc is missing.

    With the id it tells a live run from a new process that happens to reuse its id.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(lock: Path) -> bool:
    """Whether the run that wrote `lock` is still running."""
    try:
        pid_text, _, started = lock.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's live process
    return not started or _started(pid) in ("", started)


def clean_stale_staging(out: Path, older_than_s: float = STALE_UNLOCKED_S) -> int:
    """Remove staging folders that killed runs left behind (hidden, never published).

    A folder whose lock names a process that is gone goes at once; one without a lock (a run
    of an older govlib, or one that is just starting) only after `older_than_s`.
    """
    removed = 0
    for folder in out.glob(".staging-*"):
        lock = folder / LOCK_NAME
        if lock.is_file():
            stale = not _alive(lock)
        else:
            try:
                stale = time.time() - folder.stat().st_mtime > older_than_s
            except OSError:
                continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


# -- scanning --------------------------------------------------------------------------------


def scanner(cat: catalog_mod.Catalog, datasets: Iterable[str]) -> LeakScanner:
    """A leak scanner over `datasets`; one that cannot be read is skipped.

    A dataset that cannot be read cannot reach a report either: its notebooks fail on it.
    """
    import polars as pl

    from govlib import sources
    from govlib.errors import GovlibError

    frames = {}
    for name in datasets:
        try:
            frames[name] = sources.scan(cat.dataset(name)).collect()
        except (GovlibError, OSError, pl.exceptions.PolarsError):
            continue
    return LeakScanner.from_frames(cat, frames)


def job_files(
    executed: Path, *, title: str, results: dict[str, Any], header: dict[str, Any] | None = None
) -> tuple[dict[Path, str], str | None]:
    """A job's shared files beside its executed notebook, and why its report failed, if it did.

    The files are the notebook without error details, its HTML report (`.html`) and its records
    (`.json`). A report that cannot be exported (e.g. over the size limit) is left out and its
    problem returned; the other files stay. Neither the notebook nor the report holds a cell
    an analyst explores with (tagged `explore`): those may show rows.
    """
    import nbformat

    from govlib import reports

    pages: dict[Path, str] = {}
    problem = None
    if executed.is_file():
        nb = without_error_details(nbformat.read(executed, as_version=4))
        nb = reports.without_paths(reports.without_tagged(nb))
        pages[executed] = nbformat.writes(nb)
        try:
            pages[executed.with_suffix(".html")] = reports.notebook_html(
                nb, title=title, header=header
            )
        except reports.ReportError as exc:
            problem = exc.problem
    if results:
        pages[executed.with_suffix(".json")] = json.dumps(results, indent=2, sort_keys=True)
    return pages, problem


def leak(pages: dict[Path, str], scanner_: LeakScanner) -> str | None:
    """What personal data any of `pages` holds (value-free: counts and columns), or None."""
    try:
        for path, text in pages.items():
            scanner_.check(path.name, text)
    except LeakError as exc:
        return exc.found
    return None


def keep(pages: dict[Path, str], scanner_: LeakScanner) -> str | None:
    """Write `pages` when none holds personal data; else write nothing and say what was found."""
    found = leak(pages, scanner_)
    if found is None:
        for path, text in pages.items():
            outputs.write_text(path, text)
    return found


def withhold(executed: Path) -> None:
    """Delete a withheld job's executed notebook from staging (nothing else was written)."""
    executed.unlink(missing_ok=True)


def write(pages: dict[Path, str], scanner_: LeakScanner) -> list[Path]:
    """Scan every page, then write them all (each atomically), or none if any leaks."""
    from govlib import reports

    return reports.publish(pages, scanner_)


def without_error_details(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook fit for a shared folder: error messages and stderr dropped.

    An exception's message and traceback can quote data; its name is kept, which is enough to
    see what failed where.
    """
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.evalue, output.traceback = "", []
            if output.output_type == "stream" and output.get("name") == "stderr":
                continue
            kept.append(output)
        if cell.cell_type == "code":
            cell.outputs = kept
    return nb
