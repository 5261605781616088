"""The run history: an append-only, hash-chained ledger in SQLite, holding aggregates only.

Every run appends one `run` entry and one `dataset` entry per dataset: scores per dimension,
check counts, overdue counts, PII findings, input content hashes, the suite hash, the govlib
version, the (secret-free) parameters, status and timings. Each entry stores the SHA-256 of the
previous entry's hash and its own canonical JSON, and a head file beside the database records
the newest hash and the entry count, so `verify()` notices an edited, deleted or appended entry.

Appends run inside `BEGIN IMMEDIATE` transactions: concurrent runs into the same folder queue
up instead of forking the chain.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govlib import outputs
from govlib.errors import GovlibError

DB_NAME = "history.sqlite"
HEAD_NAME = "history.head"
GENESIS = "0" * 64
SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('run', 'dataset')),
    run_id TEXT NOT NULL,
    dataset TEXT,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_dataset ON entries (dataset, seq);
"""


class HistoryError(GovlibError):
    """The history is unreadable or its chain is broken."""


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking the chain."""

    entries: int
    ok: bool
    problems: list[str]


def _digest(prev: str, kind: str, run_id: str, dataset: str | None, payload: str) -> str:
    material = json.dumps([prev, kind, run_id, dataset, payload], separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=60, isolation_level=None)
    conn.executescript(SCHEMA)
    return conn


def append(out_dir: str | Path, run_id: str, run: dict[str, Any], datasets: list[dict]) -> int:
    """Append a run and its datasets to the chain; return the new entry count."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with closing(_connect(out / DB_NAME)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            rows = [("run", None, run)] + [("dataset", d["dataset"], d) for d in datasets]
            for kind, dataset, payload in rows:
                text = _canonical(payload)
                digest = _digest(prev, kind, run_id, dataset, text)
                conn.execute(
                    "INSERT INTO entries (kind, run_id, dataset, payload, prev_hash, hash) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (kind, run_id, dataset, text, prev, digest),
                )
                prev = digest
            count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            outputs.write_json(out / HEAD_NAME, {"entries": count, "head": prev})
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return count


def verify(out_dir: str | Path) -> Verification:
    """Recompute the chain; name every entry that was edited, removed or added."""
    out = Path(out_dir)
    db = out / DB_NAME
    if not db.is_file():
        raise HistoryError(f"{db}: no run history here. Run `govlib run --out {out}` first")
    problems = []
    prev, count, last_seq = GENESIS, 0, 0
    with closing(_connect(db)) as conn:
        rows = conn.execute(
            "SELECT seq, kind, run_id, dataset, payload, prev_hash, hash FROM entries ORDER BY seq"
        ).fetchall()
    for seq, kind, run_id, dataset, payload, prev_hash, digest in rows:
        count += 1
        if seq != last_seq + 1:
            problems.append(f"entries {last_seq + 1} to {seq - 1} were deleted")
        if prev_hash != prev:
            problems.append(f"entry {seq} does not follow the entry before it")
        if _digest(prev_hash, kind, run_id, dataset, payload) != digest:
            problems.append(f"entry {seq} ({kind} {run_id}) was edited")
        prev, last_seq = digest, seq
    head_path = out / HEAD_NAME
    if head_path.is_file():
        head = json.loads(head_path.read_text(encoding="utf-8"))
        if head.get("head") != prev or head.get("entries") != count:
            problems.append(
                f"the newest entries do not match {HEAD_NAME} (entries removed or added at the end)"
            )
    else:
        problems.append(f"{HEAD_NAME} is missing")
    return Verification(count, not problems, problems)


def rows(out_dir: str | Path, dataset: str | None = None) -> list[dict[str, Any]]:
    """Dataset entries, oldest first, as dicts (payload plus run id)."""
    db = Path(out_dir) / DB_NAME
    if not db.is_file():
        return []
    query = "SELECT run_id, payload FROM entries WHERE kind = 'dataset'"
    args: tuple = ()
    if dataset:
        query += " AND dataset = ?"
        args = (dataset,)
    with closing(_connect(db)) as conn:
        found = conn.execute(query + " ORDER BY seq", args).fetchall()
    return [{"run": run_id, **json.loads(payload)} for run_id, payload in found]


def trend(db_or_dir: str | Path) -> list[dict[str, Any]]:
    """Overall scores per run and dataset, for the trend chart."""
    path = Path(db_or_dir)
    folder = path.parent if path.name == DB_NAME else path
    return [
        {"run": r["run"], "dataset": r["dataset"], "overall": r.get("overall")}
        for r in rows(folder)
        if r.get("overall") is not None
    ]
