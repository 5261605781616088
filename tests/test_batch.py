import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from govlib import batch, history
from govlib.cli import main
from govlib.errors import ParameterError

from .conftest import CATALOG, ROOT

GOVLIB = [sys.executable, "-m", "govlib.cli"]
PARAMS = """dataset: str = "orders"  # dataset
catalog_path: str = "catalog.yaml"  # catalog
as_of: str = ""  # day
output_dir: str = "out"  # results
threshold: int = 3  # a typed extra parameter
"""


def notebook(folder: Path, name: str, body: str) -> None:
    params = new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "govlib", "display_name": "govlib", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def odd_notebooks(tmp_path):
    folder = tmp_path / "nbs"
    folder.mkdir()
    write = "import pathlib\nout = pathlib.Path(output_dir)\nout.mkdir(parents=True, exist_ok=True)"
    notebook(folder, "fine", write + "\n(out / 'results.json').write_text('{}')")
    # the message quotes a value, as real errors do; the source itself holds none
    notebook(folder, "fails", "raise ValueError('jane.doe' + chr(64) + 'example.com is broken')")
    notebook(folder, "slow", "import time\ntime.sleep(120)")
    notebook(folder, "dies", "import os\nos._exit(1)")
    return folder


@pytest.mark.notebook
def test_failing_timed_out_and_dead_notebooks_are_recorded_and_the_batch_goes_on(
    odd_notebooks, tmp_path
):
    plan = batch.plan(
        catalog_path=CATALOG, datasets=["orders"], notebooks=["fine", "fails", "slow", "dies"],
        out=tmp_path / "reports", timeout=5, workers=2, notebook_dir=odd_notebooks,
    )  # fmt: skip
    started = time.monotonic()
    outcome = batch.execute(plan)
    assert time.monotonic() - started < 90
    jobs = {j["notebook"]: j for j in outcome.summary["jobs"]}
    assert jobs["fine"]["status"] == "passed"
    assert jobs["fails"]["status"] == "failed"
    assert jobs["fails"]["reason"] == "cell [3] raised ValueError"  # as numbered when run
    assert jobs["slow"]["status"] == "timed out"
    assert jobs["dies"]["status"] == "died"
    assert outcome.exit_code == 3
    index = outcome.index.read_text()
    run_json = (outcome.folder / "run.json").read_text()
    for text in (index, run_json, (outcome.folder / "orders" / "fails.html").read_text()):
        assert "jane.doe@example.com" not in text
        assert "Traceback" not in text
    assert "failed" in index


def test_parameters_are_checked_before_anything_runs(odd_notebooks, tmp_path):
    def plan(**params):
        return batch.plan(
            catalog_path=CATALOG, datasets=["orders"], notebooks=["fine"], parameters=params,
            out=tmp_path / "reports", notebook_dir=odd_notebooks,
        )  # fmt: skip

    assert plan(threshold=5).jobs[0].parameters["threshold"] == 5
    cases = {
        "x = 1\nimport os": "is not a Python identifier",
        "import": "is not a Python identifier",
        "unknown": "unknown parameter 'unknown'",
        "api_token": "looks like a secret",
        "dataset": "is set by govlib run",
    }
    for name, message in cases.items():
        with pytest.raises(ParameterError, match=message):
            plan(**{name: "1"})
    with pytest.raises(ParameterError, match="'threshold' of fine is int, got str"):
        plan(threshold="5")
    with pytest.raises(ParameterError, match="must be a string, number or boolean, got list"):
        plan(threshold=[1, 2])
    with pytest.raises(ParameterError, match="looks like a secret"):
        plan(threshold="AKIAABCDEFGHIJKLMNOP")
    with pytest.raises(ParameterError, match="unknown dataset 'nope'"):
        batch.plan(catalog_path=CATALOG, datasets=["nope"], notebooks=["fine"],
                   out=tmp_path / "reports", notebook_dir=odd_notebooks)  # fmt: skip
    assert not (tmp_path / "reports").exists()


def test_cli_rejects_crafted_parameters_in_one_line(capsys, tmp_path):
    code = main(["run", "--catalog", str(CATALOG), "--out", str(tmp_path), "-p",
                 "__import__('os').system('id')=1"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "not a Python identifier" in err[0]
    batch_file = tmp_path / "batch.yaml"
    batch_file.write_text("datasets: [orders]\nparameters: {dataset: evil}\n")
    assert main(["run", "--catalog", str(CATALOG), "--out", str(tmp_path), "--batch",
                 str(batch_file)]) == 2  # fmt: skip
    assert "is set by govlib run" in capsys.readouterr().err


def run_cli(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*GOVLIB, "run", "--catalog", str(CATALOG), "--out", str(out), "--datasets", "orders",
         "--notebooks", "profile", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def finish(proc: subprocess.Popen) -> int:
    """Wait for a run, closing its pipe; fail with its stderr if it did not exit 0 or 1."""
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), err
    return proc.returncode


@pytest.mark.notebook
def test_two_concurrent_runs_into_one_folder(tmp_path):
    out = tmp_path / "reports"
    procs = [run_cli(out), run_cli(out)]
    assert [finish(p) for p in procs] == [0, 0]
    runs = sorted(
        d.name for d in out.iterdir() if d.is_dir() and not d.is_symlink() and d.name[0] != "."
    )
    assert len(runs) == 2
    assert (out / "latest").readlink().name in runs
    check = history.verify(out)
    assert check.ok, check.problems
    assert check.entries == 4  # a run entry and one dataset entry per run
    assert [r["dataset"] for r in history.rows(out)] == ["orders", "orders"]


@pytest.mark.notebook
def test_kill_9_leaves_the_previous_run_intact(tmp_path):
    out = tmp_path / "reports"
    first = run_cli(out)
    assert finish(first) == 0
    before = (out / "latest").readlink().name
    snapshot = {p: p.read_bytes() for p in (out / before).rglob("*") if p.is_file()}
    second = run_cli(out, "--notebooks", "profile,quality,retention")
    deadline = time.monotonic() + 120
    while not list(out.glob(".staging-*/orders/*.ipynb")):
        assert time.monotonic() < deadline, "the second run never started writing"
        time.sleep(0.2)
    os.killpg(second.pid, signal.SIGKILL)
    second.communicate(timeout=30)
    assert (out / "latest").readlink().name == before
    assert {p: p.read_bytes() for p in (out / before).rglob("*") if p.is_file()} == snapshot
    visible = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert visible == sorted([before, "latest", history.DB_NAME, history.HEAD_NAME])
    assert history.verify(out).ok


@pytest.mark.notebook
def test_history_verify_catches_edits_and_deletions(tmp_path, capsys):
    out = tmp_path / "reports"
    assert finish(run_cli(out)) == 0
    assert finish(run_cli(out)) == 0
    assert main(["history", "verify", "--out", str(out)]) == 0
    assert main(["history", "show", "orders", "--out", str(out)]) == 0
    assert capsys.readouterr().out.count("orders") == 2  # one row per run
    db = out / history.DB_NAME
    with sqlite3.connect(db) as conn:
        payload = conn.execute("SELECT payload FROM entries WHERE seq = 2").fetchone()[0]
        edited = json.dumps({**json.loads(payload), "overall": 100.0})
        conn.execute("UPDATE entries SET payload = ? WHERE seq = 2", (edited,))
    assert main(["history", "verify", "--out", str(out)]) == 1
    assert "entry 2 (dataset" in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET payload = ? WHERE seq = 2", (payload,))
        conn.execute("DELETE FROM entries WHERE seq = 3")
    assert main(["history", "verify", "--out", str(out)]) == 1
    assert "entries 3 to 3 were deleted" in capsys.readouterr().err
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM entries WHERE seq > 2")
    result = history.verify(out)
    assert any("were removed from the end" in p for p in result.problems)


def test_history_without_runs_is_a_clear_error(tmp_path, capsys):
    assert main(["history", "verify", "--out", str(tmp_path)]) == 2
    assert "no run history here" in capsys.readouterr().err


def test_make_run_is_the_batch_on_the_sample():
    text = (ROOT / "Makefile").read_text()
    assert "govlib run --catalog catalog.yaml --out reports" in text
