import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import nbformat
import polars as pl
import pytest
import yaml

from govlib import catalog, history, privacy, publish, reports, sources
from govlib.cli import main
from govlib.privacy import LeakError

from .test_batch import notebook

CARD_ID = 6011111111111117
SURNAME = "Kowalczyk"
BIRTH = date(1961, 4, 23)
POSTCODE = "LS3 6SS"
NOTE = "Diabetic, insulin twice daily; ask before calling"
KIN_PHONE = "07700 900123"


def people() -> pl.DataFrame:
    """Ten people; row 0 carries the values the tests look for."""
    return pl.DataFrame(
        {
            "person_id": list(range(1, 11)),
            "first_name": ["Wilhelmina", *["Ada"] * 9],
            "last_name": [SURNAME, *["Young"] * 9],
            "born": [BIRTH, *[date(1990, 1, 1)] * 9],
            "postcode": [POSTCODE, *["M1 1AE"] * 9],
            "card_id": [CARD_ID, *range(2, 11)],
            "info": [NOTE] * 5 + [None] * 5,
            "kin_phone": [KIN_PHONE, *[None] * 9],
            "status": ["active"] * 10,
            "tier": [1, 2, 3, 1, 2, 3, 1, 2, 3, 1],
        }
    )


DECLARED = {
    "person_id": {"type": "int64", "pii": "person_id"},
    "first_name": {"type": "string", "pii": "person_name"},
    "last_name": {"type": "string", "pii": "person_name"},
    "born": {"type": "date", "pii": "date_of_birth"},
    "postcode": {"type": "string", "pii": "postcode"},
    "status": {"type": "string"},
    "tier": {"type": "int64"},
}  # card_id, info and kin_phone are undeclared


def project(root: Path, purpose: str = "Run the club.", broken: bool = False) -> Path:
    """A catalog of `people` and `things` (and an unreadable `broken`) in `root`."""
    (root / "data").mkdir(parents=True)
    people().select(list(DECLARED)).write_csv(root / "data" / "people.csv")  # reads without drift
    pl.DataFrame({"thing_id": [1, 2, 3], "colour": ["red", "red", "blue"]}).write_csv(
        root / "data" / "things.csv"
    )
    base = {"owner": "o", "steward": "s", "lawful_basis": "contract"}
    datasets = {
        "people": {"source": {"path": "people.csv"}, "purpose": purpose, **base,
                   "columns": DECLARED},
        "things": {"source": {"path": "things.csv"}, "purpose": "Count things.", **base,
                   "columns": {"thing_id": {"type": "int64"}, "colour": {"type": "string"}}},
    }  # fmt: skip
    if broken:
        (root / "data" / "broken.csv").write_bytes(b"PK\x03\x04\x00\x00garbage")
        datasets["broken"] = {"source": {"path": "broken.csv"}, "purpose": "p", **base,
                              "columns": {"a": {"type": "string"}}}  # fmt: skip
    path = root / "catalog.yaml"
    path.write_text(yaml.safe_dump({"data_root": "data", "datasets": datasets}, sort_keys=False))
    return path


@pytest.fixture
def guard(tmp_path) -> privacy.LeakScanner:
    cat = catalog.load(project(tmp_path / "p"))
    return privacy.LeakScanner.from_frames(cat, {"people": people()})


# -- what the scanner guards -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f'"max": {CARD_ID}',
        f'"max": {float(CARD_ID)}',  # 6011111111111117.0
        '"q99": 6.011111111111117e+15',
        "id 6011 1111 1111 1117 on file",
    ],
)
def test_an_undeclared_int_id_is_found_in_every_numeric_rendering(guard, text):
    assert guard.scan(text) == {"value of people column 6 (undeclared)": 1}


@pytest.mark.parametrize(
    "text",
    ["born 1961-04-23", "born 23/04/1961", "on 1961-04-23T00:00:00", "23 April 1961",
     "April 23, 1961", "19610423"],
)  # fmt: skip
def test_a_date_of_birth_is_found_in_common_renderings(guard, text):
    assert guard.scan(text) == {"value of people.born": 1}


def test_a_surname_alone_is_found_but_one_that_is_a_common_word_is_not(guard):
    assert guard.scan(f"<td>{SURNAME.upper()}</td>") == {"value of people.last_name": 1}
    assert guard.scan("young customers churn less") == {}  # "Young" is a surname here too
    assert guard.scan("Ada Young") == {"value of people full names": 1}


def test_a_note_repeated_five_times_in_an_undeclared_column_is_found(guard):
    found = guard.scan(f'{{"top": [{{"value": "{NOTE}", "count": 5}}]}}')
    assert found == {"value of people column 7 (undeclared)": 1}


def test_a_national_format_phone_is_found_in_international_format(guard):
    assert guard.scan("next of kin: +44 7700 900123") == {
        "value of people column 8 (undeclared)": 1
    }


def test_plain_hashes_of_a_name_are_found(guard):
    for algorithm in ("md5", "sha1", "sha256"):
        digest = hashlib.new(algorithm, SURNAME.encode()).hexdigest()
        assert guard.scan(f"key: {digest}") == {"value of people.last_name": 1}, algorithm


def test_short_common_and_small_values_are_not_guarded(guard):
    text = "10 rows, 10 active, tier 1 to 3, 5 notes, true, 2025-01-31, postcode M1 1AE x9"
    assert guard.scan(text) == {"value of people.postcode": 1}
    assert guard.scan(text.replace("M1 1AE", "M1 2AE")) == {}


def test_values_inside_json_strings_and_html_are_found(guard):
    assert guard.scan(json.dumps({"text": [f"line\n{SURNAME}\n"]})) != {}
    assert guard.scan("Mr&nbsp;K&#111;walczyk") == {"value of people.last_name": 1}


def test_a_purpose_naming_a_surname_birth_date_and_postcode_is_found(tmp_path):
    purpose = f"Follow up Mrs {SURNAME} (born 23.04.1961) at {POSTCODE.replace(' ', '')}."
    cat = catalog.load(project(tmp_path, purpose=purpose))
    scanner = privacy.LeakScanner.from_frames(cat, {"people": people()})
    assert scanner.check_catalog(cat) == ["dataset 'people', key 'purpose'"]
    assert scanner.scan(purpose) == {
        "value of people.born": 1, "value of people.last_name": 1, "value of people.postcode": 1
    }  # fmt: skip


def test_a_refusal_names_the_column_and_quotes_no_value(guard, tmp_path):
    target = tmp_path / "r.html"
    text = f"<p>{SURNAME} {CARD_ID}.0 {NOTE}</p>"
    with pytest.raises(LeakError, match=r"people\.last_name") as info:
        reports.publish({target: text}, guard)
    assert not target.exists()
    for value in (SURNAME, str(CARD_ID), "Diabetic", "insulin"):
        assert value.lower() not in str(info.value).lower()


@pytest.fixture(scope="module")
def sample_guard(sample_catalog, frames) -> privacy.LeakScanner:
    return privacy.LeakScanner.from_frames(sample_catalog, frames)


def test_digits_after_a_decimal_point_are_not_a_postcode(sample_guard, frames):
    postcode = frames["customers"].filter(pl.col("postcode").str.contains(r"^\d{5}$"))
    code = postcode["postcode"][0]
    assert sample_guard.scan(f'"duration": 7.{code}, "at": "08:25:54.{code}Z"') == {}
    assert sample_guard.scan(f"zip {code}") == {"value of customers.postcode": 1}


def test_a_suite_bound_equal_to_a_birthday_is_not_a_leak(sample_guard, frames):
    births = frames["customers"]["date_of_birth"]
    assert date(2005, 1, 1) in births.to_list()  # a customer's birthday, and the suite's bound
    assert sample_guard.scan('{"min_value": "2005-01-01T00:00:00"}') == {}
    other = births.filter(births != date(2005, 1, 1)).drop_nulls()[0]
    assert sample_guard.scan(f"born {other}") == {"value of customers.date_of_birth": 1}


def test_the_sample_scanner_is_quick_and_passes_aggregates(sample_catalog, frames):
    privacy.LeakScanner.from_frames(sample_catalog, frames)  # warm the page template
    started = time.perf_counter()
    scanner = privacy.LeakScanner.from_frames(sample_catalog, frames)
    built = time.perf_counter() - started
    aggregates = "<td>3,045</td><td>30 null emails</td><td>j***@e***.com</td><td>Aa9@a.a</td>"
    page = aggregates * 20_000  # 1.4 MB
    started = time.perf_counter()
    assert scanner.scan(page) == {}
    scanned = time.perf_counter() - started
    assert (built < 10, scanned < 5) == (True, True), (built, scanned)
    surname = frames["customers"]["last_name"].drop_nulls()[0]
    assert scanner.scan(page + surname) != {}


# -- publication: withheld, failed and killed runs ------------------------------------------

WRITE = (
    "import pathlib, json\nout = pathlib.Path(output_dir)\nout.mkdir(parents=True, exist_ok=True)"
    "\nstaging = out.parents[1]\n"
    "(out / 'results.json').write_text(json.dumps({'mode': oct(staging.stat().st_mode & 0o777)}))"
)


@pytest.fixture
def club(tmp_path) -> tuple[Path, Path]:
    """A project with people, things and a broken dataset, and small notebooks."""
    path = project(tmp_path / "club", broken=True)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    notebook(nbs, "fine", WRITE)
    leak = "import polars as pl\nrows = pl.read_csv(pathlib.Path(catalog_path).parent / 'data' / "
    leak += "'people.csv')"
    notebook(
        nbs, "leaky", WRITE + f"\n{leak}\nif dataset == 'people':\n    print(rows['last_name'][0])"
    )
    notebook(nbs, "big", WRITE + "\nif dataset == 'things':\n    print('x ' * 1_500_000)")
    notebook(
        nbs,
        "reads",
        "from govlib import catalog, sources\n"
        "sources.scan(catalog.load(catalog_path).dataset(dataset)).collect()\n" + WRITE,
    )
    notebook(nbs, "slow", "import time\ntime.sleep(120)")
    return path, nbs


def run(club, out: Path, datasets: str, notebooks: str, *extra: str) -> int:
    path, nbs = club
    return main(["run", "--catalog", str(path), "--out", str(out), "--datasets", datasets,
                 "--notebooks", notebooks, "--notebook-dir", str(nbs), *extra])  # fmt: skip


def published(out: Path) -> dict:
    return json.loads((out / "latest" / "run.json").read_text())


@pytest.mark.notebook
def test_a_leaking_report_is_withheld_alone_and_the_run_exits_4(club, tmp_path, capsys):
    out = tmp_path / "reports"
    assert run(club, out, "people,things", "leaky") == 4
    assert "outputs withheld" in capsys.readouterr().err
    folder = out / "latest"
    assert not (folder / "people").exists()
    assert sorted(p.name for p in (folder / "things").iterdir()) == [
        "leaky.html", "leaky.ipynb", "leaky.json"
    ]  # fmt: skip
    jobs = {j["dataset"]: j for j in published(out)["jobs"]}
    assert (jobs["people"]["status"], jobs["things"]["status"]) == ("refused", "passed")
    assert jobs["people"]["reason"] == "withheld: 1 value of people.last_name"
    assert published(out)["exit_code"] == 4
    for page in folder.rglob("*"):
        assert SURNAME not in page.read_text() if page.is_file() else True
    assert [(r["dataset"], r["status"]) for r in history.rows(out)] == [
        ("people", "refused"), ("things", "not run")
    ]  # fmt: skip
    assert list(out.glob(".staging-*")) == []


@pytest.mark.notebook
def test_staging_is_private_and_the_published_run_readable(club, tmp_path):
    out = tmp_path / "reports"
    assert run(club, out, "things", "fine") == 0
    results = json.loads((out / "latest" / "things" / "fine.json").read_text())
    assert results == {"mode": "0o700"}  # seen from inside the run
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "latest").resolve().stat().st_mode & 0o777 == 0o777 & ~umask
    assert not (out / "latest" / publish.LOCK_NAME).exists()


@pytest.mark.notebook
def test_a_refused_run_removes_its_staging_folder(club, tmp_path, capsys, monkeypatch):
    out = tmp_path / "reports"
    monkeypatch.setattr(reports, "render_index", lambda summary: f"<p>{SURNAME}</p>")
    assert run(club, out, "people", "fine") == 4
    assert "index.html: holds personal data (1 value of people.last_name)" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in out.iterdir()) == []


def test_only_staging_of_dead_runs_is_removed(tmp_path):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    for name, pid in (("alive", os.getpid()), ("dead", int(gone.stdout))):
        (tmp_path / f".staging-{name}").mkdir()
        (tmp_path / f".staging-{name}" / publish.LOCK_NAME).write_text(f"{pid}\n")
    (tmp_path / ".staging-unlocked").mkdir()  # a run that is just starting
    assert publish.clean_stale_staging(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [".staging-alive", ".staging-unlocked"]


@pytest.mark.notebook
def test_the_staging_of_a_run_killed_with_sigkill_is_removed_by_the_next(club, tmp_path):
    path, nbs = club
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "govlib.cli", "run", "--catalog", str(path), "--out", str(out),
         "--datasets", "things", "--notebooks", "slow", "--notebook-dir", str(nbs)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(out.glob(".staging-*/things/*.ipynb")):
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.2)
    [staging] = out.glob(".staging-*")
    assert (staging / publish.LOCK_NAME).read_text().split()[0] == str(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert staging.is_dir()  # left behind, unpublished
    assert run(club, out, "things", "fine") == 0
    assert not staging.exists()
    assert list(out.glob(".staging-*")) == []


@pytest.mark.notebook
def test_a_dataset_outside_datasets_is_not_read(club, tmp_path, monkeypatch):
    read = []
    original = sources.scan
    monkeypatch.setattr(sources, "scan", lambda ds, **kw: read.append(ds.name) or original(ds))
    out = tmp_path / "reports"
    assert run(club, out, "things", "fine") == 0  # broken sits in the catalog, unread
    assert read == ["things"]
    assert published(out)["inputs_sha256"].keys() == {"things"}
    assert [r["dataset"] for r in history.rows(out)] == ["things"]


@pytest.mark.notebook
def test_an_unreadable_dataset_fails_alone_and_the_others_are_published(club, tmp_path):
    out = tmp_path / "reports"
    assert run(club, out, "broken,things", "reads") == 3
    jobs = {j["dataset"]: j for j in published(out)["jobs"]}
    assert jobs["broken"]["status"] == "failed"
    assert jobs["broken"]["reason"] == "cell [3] raised SourceError"
    assert jobs["things"]["status"] == "passed"
    assert (out / "latest" / "things" / "reads.html").is_file()
    assert [(r["dataset"], r["status"]) for r in history.rows(out)] == [
        ("things", "not run"), ("broken", "failed")
    ]  # fmt: skip


@pytest.mark.notebook
def test_a_report_over_the_size_limit_fails_its_job_only(club, tmp_path):
    out = tmp_path / "reports"
    assert run(club, out, "people,things", "big") == 3
    jobs = {j["dataset"]: j for j in published(out)["jobs"]}
    assert jobs["things"]["status"] == "failed"
    assert jobs["things"]["reason"].startswith("its report was not exported: the report is ")
    assert jobs["things"]["reason"].endswith("over the 2 MiB limit. Show fewer or smaller charts")
    assert not (out / "latest" / "things" / "big.html").exists()
    assert (out / "latest" / "people" / "big.html").is_file()
    assert [r["dataset"] for r in history.rows(out)] == ["people", "things"]


def test_the_overview_verdicts_go_on_past_an_unreadable_dataset(tmp_path):
    from govlib import workbook

    ctx = workbook.open_context(str(project(tmp_path, broken=True)), as_of="2025-01-31")
    found = {v.dataset: v for v in workbook.verdicts(ctx)}
    assert list(found) == ["people", "things", "broken"]
    assert (found["broken"].quality, found["broken"].overdue) == ("unreadable", None)
    # without a suite, govlib's own checks judge it, as in a batch run's quality notebook
    # no retention rule covers things: retention is not judged
    assert (found["things"].quality, found["things"].suite, found["things"].overdue) == (
        "passed", None, None
    )  # fmt: skip


@pytest.mark.notebook
def test_an_overview_showing_a_purpose_that_names_a_customer_is_withheld(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    purpose = f"Call back Mrs {SURNAME}, born 1961-04-23, at {POSTCODE}."
    path = project(tmp_path / "club", purpose=purpose)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    params = new_code_cell('catalog_path: str = ""  # catalog\nas_of: str = ""  # day\n'
                           'output_dir: str = ""  # results')  # fmt: skip
    params.metadata["tags"] = ["parameters"]
    body = new_code_cell("from govlib import workbook\n"
                         "workbook.register(workbook.open_context(catalog_path))")  # fmt: skip
    nb = new_notebook(cells=[params, body])
    nb.metadata["kernelspec"] = {"name": "govlib", "display_name": "govlib", "language": "python"}
    nbformat.write(nb, nbs / "register.ipynb")
    out = tmp_path / "reports"
    assert run((path, nbs), out, "people,things", "register") == 4
    [job] = published(out)["jobs"]
    assert job["status"] == "refused"
    assert job["reason"] == (
        "withheld: 1 value of people.born, 1 value of people.last_name, 1 value of "
        "people.postcode; the catalog's free text holds personal data: dataset 'people', "
        "key 'purpose'"
    )
    assert sorted(p.name for p in (out / "latest").iterdir()) == ["index.html", "run.json"]


def test_a_count_equal_to_a_short_person_id_is_no_leak_but_a_national_id_is(tmp_path):
    cat = catalog.load(project(tmp_path / "p"))
    frame = people().with_columns(
        person_id=pl.Series([21271 + i for i in range(10)]),
        card_id=pl.Series([123456789 + i for i in range(10)]),
    )
    scanner = privacy.LeakScanner.from_frames(cat, {"people": frame})
    assert scanner.scan('{"rows": 21271, "duplicate_keys": 21275}') == {}
    assert scanner.scan('{"max": 123456789.0}') == {"value of people column 6 (undeclared)": 1}
