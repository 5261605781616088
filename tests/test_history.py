import hashlib
import hmac
import json
import os
import sqlite3

import pytest

from govlib import history, privacy, workbook
from govlib.cli import main
from govlib.history import HistoryError

KEY = "67155ebc20f412e6b058d1c362644c9e2f24676f7360388964bb56aff11cff10"
OTHER_KEY = "b2d9c1f0a7e34856c3e1d0f92a4b7c6e5d8f1a0b3c2e4d6f8a9b0c1d2e3f4a5b"


@pytest.fixture(autouse=True)
def project_key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, KEY)
    monkeypatch.delenv(privacy.KEY_FILE_ENV, raising=False)


def three_runs(out):
    for i, failed in enumerate((0, 3, 1)):
        history.append(
            out, f"run{i}", {"exit_code": int(failed > 0)},
            [{"dataset": "customers", "overall": 99.0 - failed, "checks": {"failed": failed}}],
        )  # fmt: skip


def test_trend_has_a_point_per_run_and_the_chart_uses_it(tmp_path):
    for i, score in enumerate((97.5, 98.25)):
        history.append(
            tmp_path, f"run{i}", {"exit_code": 1},
            [{"dataset": "customers", "overall": score}, {"dataset": "orders", "overall": None}],
        )  # fmt: skip
    assert history.trend(tmp_path / history.DB_NAME) == [
        {"run": "run0", "dataset": "customers", "overall": 97.5},
        {"run": "run1", "dataset": "customers", "overall": 98.25},
    ]
    chart = workbook.trend(str(tmp_path / history.DB_NAME))
    spec = chart.to_dict()
    assert [v["overall"] for v in spec["data"]["values"]] == [97.5, 98.25]
    assert "Markdown" in type(workbook.trend(str(tmp_path / "none.sqlite"))).__name__


def test_an_intact_history_verifies_under_the_project_key(tmp_path, capsys):
    three_runs(tmp_path)
    assert history.verify(tmp_path) == history.Verification(6, True, [], None)
    assert main(["history", "verify", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "history OK: 6 entries, chain intact\n"
    assert not (tmp_path / history.KEY_NAME).exists()  # the project key is never written


def test_chain_detects_an_entry_appended_behind_its_back(tmp_path):
    history.append(tmp_path, "run0", {"exit_code": 0}, [{"dataset": "orders", "overall": 99.0}])
    assert history.verify(tmp_path).ok
    head = json.loads((tmp_path / history.HEAD_NAME).read_text())
    (tmp_path / history.HEAD_NAME).write_text(json.dumps({**head, "entries": 1}))
    result = history.verify(tmp_path)
    assert (result.ok, result.problems) == (False, ["history.head was rewritten without the key"])


def plain_sha256(seq, prev, kind, run_id, dataset, payload):
    material = json.dumps([seq, prev, kind, run_id, dataset, payload], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def hmac_under_a_wrong_key(seq, prev, kind, run_id, dataset, payload):
    key = hmac.new(OTHER_KEY.encode(), history.CHAIN_LABEL, hashlib.sha256).digest()
    return history._mac(key, seq, prev, kind, run_id, dataset, payload)


def delete_run1_edit_counts_and_rechain(out, mac):
    """The attack: drop run1, renumber, improve run2's counts, recompute chain and head."""
    with sqlite3.connect(out / history.DB_NAME) as conn:
        conn.execute("DELETE FROM entries WHERE run_id = 'run1'")
        conn.execute("UPDATE entries SET seq = seq - 2 WHERE seq > 4")
        rows = conn.execute("SELECT seq, kind, run_id, dataset, payload FROM entries ORDER BY seq")
        prev = None
        for seq, kind, run_id, dataset, payload in rows.fetchall():
            if seq == 4:
                payload = json.dumps({**json.loads(payload), "checks": {"failed": 0}})
            if prev is None:
                prev = conn.execute("SELECT hash FROM entries WHERE seq = 2").fetchone()[0]
            if seq >= 3:
                digest = mac(seq, prev, kind, run_id, dataset, payload)
                conn.execute(
                    "UPDATE entries SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    (payload, prev, digest, seq),
                )
                prev = digest
            else:
                prev = conn.execute("SELECT hash FROM entries WHERE seq = ?", (seq,)).fetchone()[0]
    fake = mac(0, prev, "head", "", None, "4")
    (out / history.HEAD_NAME).write_text(json.dumps({"entries": 4, "head": prev, "mac": fake}))


@pytest.mark.parametrize("mac", [plain_sha256, hmac_under_a_wrong_key])
def test_deleting_a_run_and_rechaining_without_the_key_fails_verify(tmp_path, capsys, mac):
    three_runs(tmp_path)
    delete_run1_edit_counts_and_rechain(tmp_path, mac)
    assert [r["checks"]["failed"] for r in history.rows(tmp_path)] == [0, 0]
    result = history.verify(tmp_path)
    assert (result.ok, result.entries, result.first_bad) == (False, 4, 3)
    assert main(["history", "verify", "--out", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "govlib: history: NOT intact: the first bad one is entry 3 (4 entries)",
        "govlib: history: entry 3 (run run2) was edited or rewritten",
        "govlib: history: entry 4 (dataset run2) was edited or rewritten",
        "govlib: history: history.head was rewritten without the key",
    ]


def test_removing_the_newest_run_and_keeping_the_head_is_named(tmp_path):
    three_runs(tmp_path)
    with sqlite3.connect(tmp_path / history.DB_NAME) as conn:
        conn.execute("DELETE FROM entries WHERE seq > 4")
    result = history.verify(tmp_path)
    assert (result.ok, result.first_bad) == (False, 5)
    assert result.problems == ["entries 5 to 6 were removed from the end"]


def test_append_refuses_to_write_a_new_head_over_a_truncated_store(tmp_path):
    three_runs(tmp_path)
    with sqlite3.connect(tmp_path / history.DB_NAME) as conn:
        conn.execute("DELETE FROM entries WHERE seq > 4")
    with pytest.raises(HistoryError, match="entries 5 to 6 were removed from the end; nothing"):
        history.append(tmp_path, "run3", {"exit_code": 0}, [])
    assert history.verify(tmp_path).first_bad == 5


def test_append_refuses_to_extend_a_history_written_under_another_key(tmp_path, monkeypatch):
    three_runs(tmp_path)
    monkeypatch.setenv(privacy.KEY_ENV, OTHER_KEY)
    with pytest.raises(HistoryError, match="the newest entry does not verify under the key from"):
        history.append(tmp_path, "run3", {"exit_code": 0}, [])
    result = history.verify(tmp_path)
    assert (result.ok, result.entries, result.first_bad) == (False, 6, 1)
    assert result.problems[-1].startswith("no entry verifies under the key from GOVLIB_KEY")


def test_without_a_project_key_a_private_folder_key_is_created_once(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV)
    three_runs(tmp_path)
    key_file = tmp_path / history.KEY_NAME
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(key_file.read_text().strip()) == 64
    assert history.verify(tmp_path).ok
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [history.KEY_NAME]
    delete_run1_edit_counts_and_rechain(tmp_path, plain_sha256)
    assert history.verify(tmp_path).first_bad == 3


def test_folder_key_readable_by_others_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(privacy.KEY_ENV)
    three_runs(tmp_path)
    (tmp_path / history.KEY_NAME).chmod(0o644)
    assert main(["history", "verify", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.endswith(f"run `chmod 600 {tmp_path / history.KEY_NAME}`\n")


def test_verify_without_any_key_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    three_runs(tmp_path)
    monkeypatch.delenv(privacy.KEY_ENV)
    assert main(["history", "verify", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"govlib: error: no key to check the history in {tmp_path}: set GOVLIB_KEY (or "
        "GOVLIB_KEY_FILE) to the key it was written under\n"
    )
    assert not (tmp_path / history.KEY_NAME).exists()


def random_bytes_in_the_store(out):
    (out / history.DB_NAME).write_bytes(os.urandom(4096))
    return "history.sqlite: the run history is damaged (sqlite: file is not a database)"


def the_table_dropped(out):
    with sqlite3.connect(out / history.DB_NAME) as conn:
        conn.execute("DROP TABLE entries")
    return "history.sqlite: the run history is damaged (it has no entries table)"


def garbage_in_the_head(out):
    (out / history.HEAD_NAME).write_bytes(b"\xff\x00{not json")
    return "history.head: the history head is damaged (expected JSON with entries, head and mac)"


def a_head_of_the_wrong_shape(out):
    (out / history.HEAD_NAME).write_text('{"entries": "6", "head": 1}')
    return "history.head: the history head is damaged (expected JSON with entries, head and mac)"


DAMAGE = [
    random_bytes_in_the_store,
    the_table_dropped,
    garbage_in_the_head,
    a_head_of_the_wrong_shape,
]


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_store_or_head_is_one_line_and_exit_2(tmp_path, capsys, damage):
    three_runs(tmp_path)
    expected = damage(tmp_path)
    assert main(["history", "verify", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"govlib: error: {tmp_path}/{expected}; ")
    assert err.count("\n") == 1
    with pytest.raises(HistoryError, match=r"is damaged \("):
        history.append(tmp_path, "run3", {"exit_code": 0}, [])


@pytest.mark.parametrize("damage", [random_bytes_in_the_store, the_table_dropped])
def test_listing_a_damaged_store_is_one_line_and_exit_2(tmp_path, capsys, damage):
    three_runs(tmp_path)
    expected = damage(tmp_path)
    assert main(["history", "show", "customers", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"govlib: error: {tmp_path}/{expected}; ")


def test_an_entry_edited_to_hold_no_json_is_named_when_listing(tmp_path, capsys):
    three_runs(tmp_path)
    with sqlite3.connect(tmp_path / history.DB_NAME) as conn:
        conn.execute("UPDATE entries SET payload = 'nope' WHERE seq = 4")
    assert main(["history", "show", "--out", str(tmp_path)]) == 2
    assert "(entry 4 holds no JSON record)" in capsys.readouterr().err
    assert history.verify(tmp_path).first_bad == 4


def test_preflight_passes_an_empty_folder_and_stops_a_foreign_key(tmp_path, monkeypatch):
    history.preflight(tmp_path / "new")
    assert not (tmp_path / "new").exists()
    three_runs(tmp_path)
    history.preflight(tmp_path)
    monkeypatch.setenv(privacy.KEY_ENV, OTHER_KEY)
    with pytest.raises(HistoryError, match="the newest entry does not verify under the key"):
        history.preflight(tmp_path)


# -- `make run` reads the run's own run.json before it accepts exit 1 ------------------------

FAKE_GOVLIB = """#!/bin/sh
[ "$1 $2" = "catalog check" ] && exit 0
if [ -n "$RUN_JSON" ]; then
    mkdir -p reports/run-new && printf '%s' "$RUN_JSON" > reports/run-new/run.json
    ln -sfn run-new reports/latest
fi
exit "$RC"
"""
GATE = {"exit_code": 1, "datasets": {"customers": {"quality": "passed", "failed": ["consent"]}}}
NO_GATE = {"exit_code": 1, "datasets": {"customers": {"quality": "passed", "failed": []}}}


def make_run(tmp_path, rc: int, run_json: dict | None, *, old_run: dict | None = None):
    """`make run` from the project's Makefile, with a fake govlib exiting `rc`."""
    import shutil
    import subprocess
    import sys

    from .conftest import ROOT

    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "govlib").write_text(FAKE_GOVLIB)
    (bin_dir / "govlib").chmod(0o755)
    (tmp_path / ".venv" / ".govlib-installed").touch()
    if old_run is not None:
        (tmp_path / "reports" / "run-old").mkdir(parents=True)
        (tmp_path / "reports" / "run-old" / "run.json").write_text(json.dumps(old_run))
        (tmp_path / "reports" / "latest").symlink_to("run-old")
    env = {**os.environ, "RC": str(rc), "RUN_JSON": json.dumps(run_json) if run_json else ""}
    return subprocess.run(
        ["make", "-s", "-o", ".venv/.govlib-installed", "run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_make_run_accepts_exit_1_when_run_json_records_a_failed_gate(tmp_path):
    done = make_run(tmp_path, 1, GATE)
    assert (done.returncode, done.stderr) == (0, "")
    assert (
        done.stdout
        == "make run: gates failed on the sample, as planted: see the index page above\n"
    )


def test_make_run_accepts_a_clean_exit_0(tmp_path):
    done = make_run(tmp_path, 0, {"exit_code": 0, "datasets": {}})
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("run_json", "old_run"),
    [(NO_GATE, None), (None, GATE), (None, None)],
    ids=["run-json-without-a-failed-gate", "stale-latest-of-an-earlier-run", "no-run-json"],
)
def test_make_run_fails_on_exit_1_without_a_failed_gate_of_this_run(tmp_path, run_json, old_run):
    done = make_run(tmp_path, 1, run_json, old_run=old_run)
    assert done.returncode == 2  # make's own code for a failed recipe
    assert done.stderr.splitlines()[0] == (
        "make run: govlib run exited 1, but no reports/latest/run.json of this run records a "
        "failed gate"
    )


@pytest.mark.parametrize(
    ("rc", "says"),
    [
        (2, "a usage, configuration or input error"),
        (3, "a notebook or dataset failed to execute"),
        (4, "it refused to publish, to protect personal data"),
        (130, "130"),
    ],
)
def test_make_run_fails_on_any_other_exit_code_and_says_why(tmp_path, rc, says):
    done = make_run(tmp_path, rc, GATE)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0].startswith(f"make run: govlib run exited {rc}")
    assert says in done.stderr.splitlines()[0]
    assert "as planted" not in done.stdout
