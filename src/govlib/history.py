"""The run history: an append-only ledger in SQLite, chained with HMAC, holding aggregates only.

Every run appends one `run` entry and one `dataset` entry per dataset: scores per dimension,
check counts, overdue counts, PII findings, input content hashes, the suite hash, the govlib
version, the (secret-free) parameters, status and timings. Each entry stores an HMAC-SHA256,
under the history key, of its position, the previous entry's MAC and its own canonical JSON; a
head file beside the database records the entry count and the newest MAC, MACed as well. Without
the key nobody can delete, edit, add or renumber an entry and recompute a chain that
`verify()` accepts.

The key is the project key (`GOVLIB_KEY` or `GOVLIB_KEY_FILE`, see `privacy.load_key`). When
neither is set, the first append creates a random key file `.history.key` (0600) beside the
store, so `govlib run` works out of the box; the tamper evidence then rests on that file's
secrecy: whoever can read it can rewrite the history. Rolling the store and the head file back
together to an older copy cannot be noticed from inside the folder; keep a copy of the head
elsewhere when that matters.

Appends run inside `BEGIN IMMEDIATE` transactions: concurrent runs into the same folder queue
up instead of forking the chain. An append first checks that the newest entry and the head
verify under the key, so it never extends a history written under another key and never writes
a fresh head over a truncated store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govlib import outputs, privacy
from govlib.errors import GovlibError

DB_NAME = "history.sqlite"
HEAD_NAME = "history.head"
KEY_NAME = ".history.key"
GENESIS = "0" * 64
CHAIN_LABEL = b"govlib history chain v1"
COLUMNS = "seq, kind, run_id, dataset, payload, prev_hash, hash"
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
    """The history is unreadable, damaged or its key is unavailable (exit 2)."""


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking the chain; `first_bad` is the first entry that fails."""

    entries: int
    ok: bool
    problems: list[str]
    first_bad: int | None = field(default=None)


# -- the key ---------------------------------------------------------------------------------


def _create_key_file(path: Path) -> None:
    """Create `path` (0600) holding a random hex key, unless another process just did."""
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", dir=path.parent)  # 0600 by design
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        pass  # a concurrent first run created it: use theirs
    finally:
        Path(tmp).unlink(missing_ok=True)


def history_key(out_dir: str | Path, *, create: bool = False) -> tuple[bytes, str]:
    """The key that chains the history in `out_dir`, and where it came from.

    The project key when `GOVLIB_KEY` or `GOVLIB_KEY_FILE` is set, else `out_dir/.history.key`,
    created (0600) when `create` is true and it does not exist yet.
    """
    if os.environ.get(privacy.KEY_ENV) or os.environ.get(privacy.KEY_FILE_ENV):
        key, where = privacy.load_key(), privacy.KEY_ENV
    else:
        path = Path(out_dir) / KEY_NAME
        if not path.is_file() and create:
            _create_key_file(path)
        if not path.is_file():
            raise HistoryError(
                f"no key to check the history in {out_dir}: set {privacy.KEY_ENV} (or "
                f"{privacy.KEY_FILE_ENV}) to the key it was written under"
            )
        key, where = privacy.load_key(path), str(path)
    return hmac.new(key, CHAIN_LABEL, hashlib.sha256).digest(), where


def _mac(
    key: bytes, seq: int, prev: str, kind: str, run_id: str, dataset: Any, payload: str
) -> str:
    material = json.dumps([seq, prev, kind, run_id, dataset, payload], separators=(",", ":"))
    return hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest()


def _head_mac(key: bytes, entries: int, head: str) -> str:
    material = json.dumps(["head", entries, head], separators=(",", ":"))
    return hmac.new(key, material.encode("utf-8"), hashlib.sha256).hexdigest()


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)


# -- the store -------------------------------------------------------------------------------


@contextmanager
def _store(db: Path, *, write: bool = False) -> Iterator[sqlite3.Connection]:
    """An open store; a damaged file or a missing table becomes one `HistoryError` line."""
    fresh = not db.is_file() or db.stat().st_size == 0
    try:
        if write:
            conn = sqlite3.connect(db, timeout=60, isolation_level=None)
        else:
            conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        with closing(conn):
            if write and fresh:
                conn.executescript(SCHEMA)
            tables = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if "entries" not in {name for (name,) in tables}:
                raise HistoryError(_damaged(db, "it has no entries table"))
            yield conn
    except sqlite3.DatabaseError as exc:
        raise HistoryError(_damaged(db, f"sqlite: {exc}")) from None


def _damaged(db: Path, why: str) -> str:
    return (
        f"{db}: the run history is damaged ({why}); restore it from a backup, or move it and "
        f"{HEAD_NAME} aside to start a new history"
    )


def _read_head(out: Path) -> dict[str, Any] | None:
    """The head file's record, None when it is missing; garbage is a `HistoryError`."""
    path = out / HEAD_NAME
    if not path.is_file():
        return None
    try:
        head = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        head = None
    valid = isinstance(head, dict) and isinstance(head.get("entries"), int)
    if not valid or not all(isinstance(head.get(k), str) for k in ("head", "mac")):
        raise HistoryError(
            f"{path}: the history head is damaged (expected JSON with entries, head and mac); "
            "restore it from a backup, or run `govlib history verify` to see what is left"
        )
    return head


def _entry_ok(key: bytes, row: tuple) -> bool:
    """Whether a stored entry carries the MAC of its own content under `key`."""
    seq, kind, run_id, dataset, payload, prev_hash, digest = row
    texts = (kind, run_id, payload, prev_hash, digest)
    if not all(isinstance(t, str) for t in texts) or not isinstance(dataset, str | None):
        return False
    expected = _mac(key, seq, prev_hash, kind, run_id, dataset, payload)
    return hmac.compare_digest(digest.encode("utf-8"), expected.encode("utf-8"))


def _head_problem(
    key: bytes, head: dict[str, Any] | None, last_seq: int, newest: str
) -> tuple[str, int | None] | None:
    """What is wrong between the head file and the chain's end (and the entry at fault)."""
    if head is None:
        return f"{HEAD_NAME} is missing", None
    expected = _head_mac(key, head["entries"], head["head"]).encode("utf-8")
    if not hmac.compare_digest(head["mac"].encode("utf-8"), expected):
        return f"{HEAD_NAME} was rewritten without the key", None
    recorded = head["entries"]
    if recorded > last_seq:
        return f"entries {last_seq + 1} to {recorded} were removed from the end", last_seq + 1
    if recorded < last_seq:
        return f"entries {recorded + 1} to {last_seq} were added behind {HEAD_NAME}", recorded + 1
    if head["head"] != newest:
        return f"entry {last_seq} does not match {HEAD_NAME}", last_seq
    return None


def _tail(conn: sqlite3.Connection) -> tuple[int, str, tuple | None]:
    """The newest entry's position and MAC (0 and the genesis value when empty), and its row."""
    row = conn.execute(f"SELECT {COLUMNS} FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[6], row) if row else (0, GENESIS, None)


def _check_tail(conn: sqlite3.Connection, out: Path, *, create: bool) -> tuple[bytes, int, str]:
    """The key, newest position and MAC to chain onto; refuse a chain that does not verify.

    An append never extends a history written under another key, and never writes a new head
    over a store whose end was removed or added to behind the head's back.
    """
    last_seq, newest, row = _tail(conn)
    head = _read_head(out)
    key, where = history_key(out, create=create and row is None and head is None)
    if row is not None and not _entry_ok(key, row):
        raise HistoryError(
            f"{out / DB_NAME}: the newest entry does not verify under the key from {where}; "
            f"use the key this history was written under, or run `govlib history verify --out "
            f"{out}`"
        )
    problem = _head_problem(key, head, last_seq, newest)
    if problem and (row is not None or head is not None):
        raise HistoryError(
            f"{out}: {problem[0]}; nothing appended. Run `govlib history verify --out {out}`"
        )
    return key, last_seq, newest


def preflight(out_dir: str | Path) -> None:
    """Check, writing nothing, that a run could append to the history in `out_dir`.

    Raises `HistoryError` (exit 2) for a damaged store or head, a missing or wrong key, or an
    end of the chain that does not verify. A folder without a history passes.
    """
    out = Path(out_dir)
    db = out / DB_NAME
    if not db.is_file() and not (out / HEAD_NAME).is_file():
        return
    if not db.is_file():
        raise HistoryError(_damaged(db, f"it is missing while {HEAD_NAME} exists"))
    with _store(db) as conn:
        if _tail(conn)[2] is not None or (out / HEAD_NAME).is_file():
            _check_tail(conn, out, create=False)


def append(out_dir: str | Path, run_id: str, run: dict[str, Any], datasets: list[dict]) -> int:
    """Append a run and its datasets to the chain; return the new entry count."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _store(out / DB_NAME, write=True) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            key, seq, prev = _check_tail(conn, out, create=True)
            rows = [("run", None, run)] + [("dataset", d["dataset"], d) for d in datasets]
            for kind, dataset, payload in rows:
                seq += 1
                text = _canonical(payload)
                digest = _mac(key, seq, prev, kind, run_id, dataset, text)
                conn.execute(
                    f"INSERT INTO entries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (seq, kind, run_id, dataset, text, prev, digest),
                )
                prev = digest
            count = conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
            head = {"entries": seq, "head": prev, "mac": _head_mac(key, seq, prev)}
            outputs.write_json(out / HEAD_NAME, head)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return count


def _chain_problems(key: bytes, found: list[tuple]) -> list[tuple[int, str]]:
    """(entry, problem) for every entry deleted, out of place or not MACed under `key`."""
    problems: list[tuple[int, str]] = []
    prev, last_seq = GENESIS, 0
    for row in found:
        seq, kind, run_id, prev_hash, digest = row[0], row[1], row[2], row[5], row[6]
        if seq != last_seq + 1:
            problems.append((last_seq + 1, f"entries {last_seq + 1} to {seq - 1} were deleted"))
        if prev_hash != prev:
            problems.append((seq, f"entry {seq} does not follow the entry before it"))
        if not _entry_ok(key, row):
            problems.append((seq, f"entry {seq} ({kind} {run_id}) was edited or rewritten"))
        prev, last_seq = digest, seq
    return problems


def verify(out_dir: str | Path) -> Verification:
    """Recompute the chain under the key; name every entry edited, removed or added.

    A damaged store or head file, or a missing key, raises `HistoryError` (exit 2); a broken
    chain is a finding: `ok` is false and `first_bad` names the first entry at fault.
    """
    out = Path(out_dir)
    db = out / DB_NAME
    if not db.is_file():
        raise HistoryError(f"{db}: no run history here. Run `govlib run --out {out}` first")
    with _store(db) as conn:
        found = conn.execute(f"SELECT {COLUMNS} FROM entries ORDER BY seq").fetchall()
    head = _read_head(out)
    key, where = history_key(out)
    problems: list[tuple[int | None, str]] = list(_chain_problems(key, found))
    last_seq, newest = (found[-1][0], found[-1][6]) if found else (0, GENESIS)
    if tail := _head_problem(key, head, last_seq, newest):
        problems.append((tail[1], tail[0]))
    if found and not any(_entry_ok(key, row) for row in found):
        problems.append((1, f"no entry verifies under the key from {where}: if the history was "
                            "written under another key, verify with that key"))  # fmt: skip
    first = min((seq for seq, _ in problems if seq is not None), default=None)
    return Verification(len(found), not problems, [p for _, p in problems], first)


def rows(out_dir: str | Path, dataset: str | None = None) -> list[dict[str, Any]]:
    """Dataset entries, oldest first, as dicts (payload plus run id)."""
    db = Path(out_dir) / DB_NAME
    if not db.is_file():
        return []
    query = "SELECT seq, run_id, payload FROM entries WHERE kind = 'dataset'"
    args: tuple = ()
    if dataset:
        query += " AND dataset = ?"
        args = (dataset,)
    with _store(db) as conn:
        found = conn.execute(query + " ORDER BY seq", args).fetchall()
    result = []
    for seq, run_id, payload in found:
        try:
            record = json.loads(payload)
        except (TypeError, json.JSONDecodeError):
            record = None
        if not isinstance(record, dict):
            raise HistoryError(_damaged(db, f"entry {seq} holds no JSON record"))
        result.append({"run": run_id, **record})
    return result


def trend(db_or_dir: str | Path) -> list[dict[str, Any]]:
    """Overall scores per run and dataset, for the trend chart."""
    path = Path(db_or_dir)
    folder = path.parent if path.name == DB_NAME else path
    return [
        {"run": r["run"], "dataset": r["dataset"], "overall": r.get("overall")}
        for r in rows(folder)
        if r.get("overall") is not None
    ]
