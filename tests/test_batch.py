import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
import polars as pl
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_notebook

from govlib import batch, history, verdicts, workbook
from govlib.cli import main
from govlib.errors import ParameterError
from govlib.verdicts import Verdict

from . import golden
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
    run_json = (Path(outcome.folder) / "run.json").read_text()
    for text in (index, run_json, (Path(outcome.folder) / "orders" / "fails.html").read_text()):
        assert "jane.doe@example.com" not in text
        assert "Traceback" not in text
    statuses = {"fine": "passed", "fails": "failed", "slow": "timed out", "dies": "died"}
    for nb, status in statuses.items():  # each job's row in the index: name, dataset, status
        assert re.search(rf">{nb}(</a>)?</td><td>orders</td><td>{status}</td>", index), nb


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
    """Wait for a run, closing its pipe; fail with its stderr if it did not exit 0 or 1.

    A run of `run_cli` profiles orders, whose card column holds the sample's planted raw card
    numbers where the catalog says masked: it exits 1, failing "personal data" only.
    """
    _, err = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), err
    return proc.returncode


@pytest.mark.notebook
def test_two_concurrent_runs_into_one_folder(tmp_path):
    out = tmp_path / "reports"
    procs = [run_cli(out), run_cli(out)]
    assert [finish(p) for p in procs] == [1, 1]
    runs = sorted(
        d.name for d in out.iterdir() if d.is_dir() and not d.is_symlink() and d.name[0] != "."
    )
    assert len(runs) == 2
    assert (out / "latest").readlink().name in runs
    check = history.verify(out)
    assert check.ok, check.problems
    assert check.entries == 4  # a run entry and one dataset entry per run
    assert [(r["dataset"], r["failed"]) for r in history.rows(out)] == [
        ("orders", ["personal data"]), ("orders", ["personal data"])
    ]  # fmt: skip


@pytest.mark.notebook
def test_kill_9_leaves_the_previous_run_intact(tmp_path):
    out = tmp_path / "reports"
    first = run_cli(out)
    assert finish(first) == 1
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
    assert finish(run_cli(out)) == 1
    assert finish(run_cli(out)) == 1
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


FAKE_GOVLIB = """#!/bin/sh
echo "$@" >> calls.txt
[ "$1" = catalog ] && exit 0
mkdir -p reports/run-new && echo '{"exit_code": 0, "datasets": {}}' > reports/run-new/run.json
ln -sfn run-new reports/latest
"""


def test_make_run_runs_the_batch_on_the_sample_catalog(tmp_path):
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "govlib").write_text(FAKE_GOVLIB)
    (bin_dir / "govlib").chmod(0o755)
    (tmp_path / ".venv" / ".govlib-installed").touch()
    done = subprocess.run(["make", "-s", "-o", ".venv/.govlib-installed", "run"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "calls.txt").read_text().splitlines() == [
        "catalog check --catalog catalog.yaml",
        "run --catalog catalog.yaml --out reports",
    ]


# -- the sample run: each result computed once, one verdict, golden run.json ---------------

VOLATILE = {"run_id": "<run id>", "started": "<started>", "seconds": 0,
            "govlib_version": "<version>", "catalog": "catalog.yaml"}  # fmt: skip


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "reports"
    return batch.execute(batch.plan(catalog_path=CATALOG, out=out))


def normalised(summary: dict) -> dict:
    """run.json without what changes from run to run: ids, clock times, paths, version."""
    jobs = [j | {"seconds": 0} for j in summary["jobs"]]
    return summary | VOLATILE | {"jobs": jobs}


@pytest.mark.notebook
def test_the_sample_run_json_matches_the_golden_file(sample_run, request):
    published = json.loads((Path(sample_run.folder) / "run.json").read_text())
    assert published == sample_run.summary
    golden.check(request, "run.json", normalised(published))


@pytest.mark.notebook
def test_the_sample_run_judges_every_dataset_from_the_planted_defects(sample_run, planted):
    summary = sample_run.summary
    assert (sample_run.exit_code, summary["exit_code"]) == (1, 1)  # gates fail, as planted
    assert {j["status"] for j in summary["jobs"]} == {"passed"}
    customers = Verdict.from_dict(summary["datasets"]["customers"])
    assert customers.overdue == planted["closed_overdue"] + planted["inactive_overdue"]
    assert customers.without_consent == (
        planted["consent_missing"] + planted["consent_stale"] + planted["consent_withdrawn"]
    )
    assert (customers.quality, customers.checks) == (
        "failed", {"passed": 10, "failed": 6, "error": 0}
    )  # fmt: skip
    assert customers.gate_failures == ["uniqueness 97.78 < 99"]
    assert sorted(summary["datasets"]) == ["consent_events", "customers", "orders",
                                           "support_tickets"]  # fmt: skip
    orders = Verdict.from_dict(summary["datasets"]["orders"])
    assert (orders.quality, orders.undeclared_pii) == ("passed", 0)  # green, all declared ...
    assert orders.unmasked_cards == planted["raw_card_number"]  # ... but cards left raw


@pytest.mark.notebook
def test_the_sample_run_names_for_each_dataset_exactly_which_areas_failed(sample_run):
    datasets = sample_run.summary["datasets"]
    assert {name: v["failed"] for name, v in datasets.items()} == {
        "customers": ["quality", "retention", "consent"],  # 6 failing checks, 120 overdue, 90
        "orders": ["personal data"],  # 46 raw card numbers in the column declared masked
        "consent_events": [],
        "support_tickets": [],
    }
    assert {name: (v["quality"], v["retention"], v["consent"], v["personal_data"])
            for name, v in datasets.items()} == {
        "customers": ("failed", "failed", "failed", "passed"),
        "orders": ("passed", None, None, "failed"),  # no retention or consent rule covers it
        "consent_events": ("passed", None, None, "passed"),
        "support_tickets": ("passed", None, None, "passed"),
    }  # fmt: skip
    assert sample_run.summary["failed"] == ["quality", "retention", "consent", "personal data"]
    assert sample_run.exit_code == 1
    index = (Path(sample_run.folder) / "index.html").read_text()
    assert "a quality or retention gate failed" not in index
    head = re.search(r'<p class="govlib-badges">(.*?)</p>', index, re.S).group(1)
    assert re.findall(r'<span class="govlib-badge govlib-(\w+)">([^<]*)</span>', head) == [
        ("bad", "failed: quality, retention, consent, personal data (2 of 4 datasets)")
    ]
    for name, badge in (("customers", "failed: quality, retention, consent"),
                        ("orders", "failed: personal data"),
                        ("consent_events", "passed"), ("support_tickets", "passed")):  # fmt: skip
        row = re.search(rf"<tr>\s*<td>{name}</td>\s*<td>(.*?)</td>", index, re.S).group(1)
        assert re.sub(r"<[^>]+>", "", row) == badge, name
    orders = re.search(r"<tr>\s*<td>orders</td>(.*?)</tr>", index, re.S).group(1)
    assert "46 raw card numbers in columns declared masked" in orders


@pytest.mark.notebook
def test_overview_index_and_history_show_the_verdicts_the_run_built(sample_run, planted):
    folder = Path(sample_run.folder)
    run_verdicts = sample_run.summary["datasets"]
    overview = json.loads((folder / "catalog" / "overview.json").read_text())["verdicts"]
    # the overview read the run's records: the same verdicts, without the batch's notebook list
    assert {v["dataset"]: v for v in overview} == {
        name: v | {"notebooks": {}} for name, v in run_verdicts.items()
    }
    executed = nbformat.read(folder / "catalog" / "overview.ipynb", as_version=4)
    [injected] = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert "results_dir = " in injected.source
    rows = {r["dataset"]: r for r in history.rows(folder.parent)}
    for name, v in run_verdicts.items():
        assert (rows[name]["overdue"], rows[name]["overall"], rows[name]["status"]) == (
            v["overdue"], v["overall"], v["quality"]
        )  # fmt: skip
        assert rows[name]["failed"] == v["failed"]
    index = (folder / "index.html").read_text()
    row = re.search(r"<tr>\s*<td>customers</td>(.*?)</tr>", index, re.S).group(1)
    # score, failing checks, overdue, needing review (the closed accounts with no closing
    # date), without consent; then the personal-data findings
    review = str(planted["closed_anchor_missing"])
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["99.27", "6", "120", review, "90"]
    assert re.findall(r"<td>([^<]*)</td>", row)[-1] == "none"


def test_a_verdict_is_built_alike_from_records_and_from_saved_dicts(tmp_path):
    retention = {"overdue": 7, "consent": [{"processed_without_consent": 2},
                                           {"processed_without_consent": 3}]}  # fmt: skip
    quality = {"status": "failed", "overall": 80.5, "scores": {"validity": 80.5},
               "gate_failures": ["overall 80.50 < 90"], "counts": {"passed": 3, "failed": 1,
               "error": 0}, "suite": "orders"}  # fmt: skip
    profile = {"findings": [{"finding": "undeclared_pii"}, {"finding": "declared_not_found"}],
               "pii": [{"kind": "email"}, {"kind": "email"}, {"kind": "phone"}]}  # fmt: skip
    (tmp_path / "orders").mkdir()
    for name, record in (("retention", retention), ("quality", quality), ("profile", profile)):
        (tmp_path / "orders" / f"{name}.json").write_text(json.dumps({name: record}))
    (tmp_path / "orders" / "extra.json").write_text(json.dumps({"mode": "0o700"}))
    [from_files, nothing] = verdicts.from_results(tmp_path, ["orders", "customers"])
    assert from_files == verdicts.build(
        "orders", {"profile": profile, "quality": quality, "retention": retention}
    )
    assert (from_files.overdue, from_files.without_consent, from_files.failing_checks) == (7, 5, 1)
    assert (from_files.undeclared_pii, from_files.pii_findings) == (1, 3)
    assert (from_files.pii_found, from_files.gate_failed) == (["email", "phone"], True)
    assert from_files.failed == ["quality", "retention", "consent", "personal data"]
    assert nothing == Verdict("customers")
    assert (nothing.status, nothing.quality, nothing.gate_failed) == ("not run", None, False)
    assert (nothing.areas, nothing.failed) == (dict.fromkeys(verdicts.AREAS), [])
    assert Verdict.from_dict(json.loads(json.dumps(from_files.to_dict()))) == from_files


QUALITY = {"status": "passed", "overall": 100.0, "scores": {}, "gate_failures": [],
           "counts": {"passed": 4, "failed": 0, "error": 0}, "suite": "s"}  # fmt: skip
RETENTION = {"overdue": 0, "consent": [{"processed_without_consent": 0}]}
PROFILE = {"findings": [], "pii": [{"kind": "email"}]}


def finding(kind: str, count: int = 0) -> dict:
    return {"finding": kind, "count": count}


@pytest.mark.parametrize(
    ("changed", "areas", "failed"),
    [
        ({}, ("passed", "passed", "passed", "passed"), []),
        ({"quality": QUALITY | {"status": "error"}}, ("error", "passed", "passed", "passed"),
         ["quality"]),
        ({"retention": RETENTION | {"overdue": 1}}, ("passed", "failed", "passed", "passed"),
         ["retention"]),
        ({"retention": {"overdue": 0, "consent": [{"processed_without_consent": 0},
                                                  {"processed_without_consent": 1}]}},
         ("passed", "passed", "failed", "passed"), ["consent"]),
        ({"profile": PROFILE | {"findings": [finding("undeclared_pii")]}},
         ("passed", "passed", "passed", "failed"), ["personal data"]),
        ({"profile": PROFILE | {"findings": [finding("unmasked_card", 2)]}},
         ("passed", "passed", "passed", "failed"), ["personal data"]),
        ({"profile": PROFILE | {"findings": [finding("declared_not_found")]}},
         ("passed", "passed", "passed", "warning"), []),
        ({"profile": PROFILE | {"findings": [finding("kind_mismatch")]}},
         ("passed", "passed", "passed", "warning"), []),
        ({"profile": None}, ("passed", "passed", "passed", None), []),
        ({"retention": {"overdue": 0, "consent": []}}, ("passed", "passed", None, "passed"), []),
        ({"retention": {"overdue": 0, "rules": [], "consent": []}},
         ("passed", None, None, "passed"), []),
    ],
    ids=["clean", "quality-error", "overdue", "without-consent", "undeclared", "raw-cards",
         "declared-not-found", "kind-mismatch", "no-profile", "no-consent-rule", "no-rules"],
)  # fmt: skip
def test_each_area_is_judged_apart_and_failed_names_the_failing_ones(changed, areas, failed):
    records = {"quality": QUALITY, "retention": RETENTION, "profile": PROFILE} | changed
    v = verdicts.build("orders", records)
    assert tuple(v.areas.values()) == areas
    assert (v.failed, v.gate_failed) == (failed, bool(failed))
    saved = v.to_dict()
    assert (saved["failed"], saved["personal_data"]) == (failed, areas[3])
    assert Verdict.from_dict(json.loads(json.dumps(saved))) == v


def test_a_dataset_that_could_not_be_read_is_neither_passed_nor_failed():
    [unread, judged] = [verdicts.unreadable("orders"), verdicts.build("customers", {
        "retention": RETENTION})]  # fmt: skip
    assert (unread.failed, unread.judged, judged.judged) == ([], False, True)
    rows = verdicts.overview_rows([unread, judged])
    assert [(r["dataset"], r["failed"], r["quality"]) for r in rows] == [
        ("orders", [], "unreadable"), ("customers", ["none"], None)
    ]  # fmt: skip


def test_raw_card_numbers_in_a_masked_column_fail_personal_data(tmp_path):
    project = members_and_payments(tmp_path)
    ctx = workbook.open_context(str(project / "catalog.yaml"))
    v = verdicts.build("payments", workbook.records(ctx, "payments"))
    # 3 of the 4 raw numbers pass Luhn; the masked and the invalid ones are not cards
    assert (v.unmasked_cards, v.undeclared_pii, v.declared_not_found) == (3, 0, 0)
    assert (v.quality, v.personal_data, v.failed) == ("passed", "failed", ["personal data"])
    assert verdicts.headline([v]) == "failed: personal data (1 of 1 dataset)"


def members_and_payments(root: Path) -> Path:
    """A project of two clean datasets but for one defect each.

    `members`: 3 of 40 members flagged for the newsletter have no consent timestamp.
    `payments`: 3 Luhn-valid raw card numbers (and one invalid) in a column declared masked.
    """
    (root / "data").mkdir(parents=True)
    (root / "expectations").mkdir()
    ids = list(range(1, 41))
    consent_at = [None] * 3 + [datetime(2024, 6, 1)] * 37
    pl.DataFrame({"member_id": ids, "newsletter": [True] * 40, "newsletter_at": consent_at}
                 ).write_csv(root / "data" / "members.csv")  # fmt: skip
    cards = ["4111 1111 1111 1111", "5500-0055-5555-5559", "6011111111111117",
             "4111111111111112"] + ["**** **** **** 1111"] * 36  # fmt: skip
    pl.DataFrame({"payment_id": ids, "card": cards}).write_csv(root / "data" / "payments.csv")
    common = {"owner": "Membership team", "steward": "Membership data steward",
              "lawful_basis": "consent", "gate": {"overall": 90}}  # fmt: skip
    datasets = {
        "members": common | {
            "source": {"path": "members.csv"}, "primary_key": ["member_id"], "suite": "members",
            "purpose": "Send the newsletter to members who agreed.",
            "columns": {"member_id": {"type": "int64", "pii": "person_id"},
                        "newsletter": {"type": "bool", "publish": "values"},
                        "newsletter_at": {"type": "datetime"}},
            "consent": [{"purpose": "newsletter", "flag": "newsletter",
                         "timestamp": "newsletter_at", "max_age": "P24M"}],
        },
        "payments": common | {
            "source": {"path": "payments.csv"}, "primary_key": ["payment_id"],
            "suite": "payments", "purpose": "Take payments for memberships.",
            "columns": {"payment_id": {"type": "int64"},
                        "card": {"type": "string", "pii": "payment_card", "masked": True}},
        },
    }  # fmt: skip
    for name, key in (("members", "member_id"), ("payments", "payment_id")):
        suite = {"name": name, "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": key}},
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": key}},
        ]}  # fmt: skip
        (root / "expectations" / f"{name}.json").write_text(json.dumps(suite))
    catalog = {"as_of": "2025-01-31", "data_root": "data", "datasets": datasets}
    plain = json.loads(json.dumps(catalog))  # no shared objects: the catalog allows no anchors
    (root / "catalog.yaml").write_text(yaml.safe_dump(plain, sort_keys=False))
    return root


@pytest.mark.notebook
def test_green_quality_with_rows_processed_without_consent_fails_consent_and_exits_1(
    tmp_path, capsys
):
    project = members_and_payments(tmp_path)
    code = main(["run", "--catalog", str(project / "catalog.yaml"), "--datasets", "members",
                 "--notebooks", "profile,quality,retention", "--out", str(tmp_path / "reports"),
                 "--notebook-dir", str(ROOT / "notebooks")])  # fmt: skip
    assert code == 1
    assert re.search(r"govlib run: \S+: failed: consent \(", capsys.readouterr().err)
    folder = tmp_path / "reports" / "latest"
    summary = json.loads((folder / "run.json").read_text())
    assert {j["status"] for j in summary["jobs"]} == {"passed"}
    members = summary["datasets"]["members"]
    assert (members["quality"], members["checks"]) == (
        "passed", {"passed": 2, "failed": 0, "error": 0}
    )  # fmt: skip
    # no retention rule covers members: retention is not judged
    assert (members["without_consent"], members["overdue"], members["undeclared_pii"]) == (
        3, None, 0
    )  # fmt: skip
    assert (members["retention"], members["consent"], members["personal_data"]) == (
        None, "failed", "passed"
    )  # fmt: skip
    assert members["failed"] == ["consent"]
    assert (summary["exit_code"], summary["failed"]) == (1, ["consent"])
    index = (folder / "index.html").read_text()
    assert ">failed: consent (1 of 2 datasets)</span>" in index  # payments was not run
    assert ">failed: consent</span>" in index


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({"profile": "passed", "quality": "refused"}, "refused"),
        ({"profile": "passed", "quality": "timed out"}, "failed"),
        ({"profile": "passed", "quality": "passed"}, "failed"),  # the quality record's status
        ({}, "not run"),
    ],
)
def test_the_history_status_of_a_dataset(statuses, expected):
    notebooks = {nb: {"status": s, "report": None, "reason": ""} for nb, s in statuses.items()}
    records = {"quality": {"status": "failed", "overall": 50.0, "scores": {}, "suite": None,
                           "gate_failures": [], "counts": {}}} if statuses else {}  # fmt: skip
    assert verdicts.build("orders", records, notebooks=notebooks).status == expected


def test_a_parallel_run_leaves_the_callers_working_directory_alone(tmp_path, monkeypatch):
    here = tmp_path / "caller"
    here.mkdir()
    monkeypatch.chdir(here)
    p = batch.plan(catalog_path=str(CATALOG), datasets=["orders", "customers"],
                   notebooks=["profile"], out=tmp_path / "reports", workers=2)  # fmt: skip
    outcome = batch.execute(p)
    assert [j["status"] for j in outcome.summary["jobs"]] == ["passed", "passed"]
    assert Path.cwd() == here
