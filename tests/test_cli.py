import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import yaml

from govlib import batch, history, rights, runsettings
from govlib.cli import main, render
from govlib.errors import ParameterError
from govlib.records import Record

from .conftest import CATALOG, SAMPLE

KEY = "67155ebc20f412e6b058d1c362644c9e2f24676f7360388964bb56aff11cff10"


def test_catalog_lists_datasets(capsys):
    assert main(["catalog", "check", "--catalog", str(CATALOG)]) == 0
    out = capsys.readouterr().out
    assert "catalog OK: 4 datasets" in out
    for name in ("customers", "orders", "consent_events", "support_tickets"):
        assert name in out


def test_invalid_catalog_exits_2_with_one_message_and_no_traceback(tmp_path, capsys):
    bad = tmp_path / "catalog.yaml"
    bad.write_text(CATALOG.read_text().replace("lawful_basis: contract", "lawful_basis: vibes", 1))
    assert main(["catalog", "check", "--catalog", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"govlib: error: {bad}: 1 problem in the catalog")
    assert "dataset 'customers', key 'lawful_basis'" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "catalog", "check", "--catalog", str(tmp_path / "none.yaml")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["catalog", "check", "--catalog"]) == 2
    assert "requires an argument" in capsys.readouterr().err


def test_sample_data_prints_the_exact_rows_its_manifest_records(tmp_path, capsys):
    assert main(["sample-data", "--out", str(tmp_path), "--customers", "600", "--seed", "2"]) == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    [line] = [x for x in capsys.readouterr().out.splitlines() if x.startswith("rows: ")]
    counts, kinds = line.removeprefix("rows: ").split("; ")
    printed = dict(item.rsplit(" ", 1) for item in counts.split(", "))
    assert {name: int(n.replace(",", "")) for name, n in printed.items()} == manifest["rows"]
    assert kinds == f"{len(manifest['defects'])} kinds of planted defect"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--customers", "10"], "--customers must be at least 500"),
        (["--reference-date", "31/01/2025"], "expected a date as YYYY-MM-DD, got '31/01/2025'"),
    ],
)
def test_sample_data_bad_parameters(tmp_path, capsys, args, message):
    assert main(["sample-data", "--out", str(tmp_path), *args]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def one_line_error(err: str) -> str:
    assert err.count("\n") == 1
    assert err.startswith("govlib: error: ")
    assert "Traceback" not in err
    return err


def test_usage_error_is_one_line_pointing_at_help(capsys):
    assert main(["run", "--workers", "abc"]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "Invalid value for '--workers': Input should be a valid integer" in err
    assert "(see 'govlib run --help')" in err


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("workers: abc\n", ["key 'workers': input should be a valid integer"]),
        ("timeout: [1]\n", ["key 'timeout': input should be a valid integer"]),
        ("parameters: [1, 2]\n", ["key 'parameters': input should be a valid dictionary"]),
        ("as_of: 2025-02-30\n", ["line 1, column 8: not a valid date (YYYY-MM-DD)"]),
        (
            "workers: 0\ntimeout: x\ncolour: red\n",
            [
                "3 problems in the batch file",
                "key 'workers': input should be greater than or",
                "key 'timeout'",
                "key 'colour': extra inputs are not permitted",
            ],
        ),
        ("a: &x 1\nb: *x\n", ["anchors and aliases (&name, *name) are not allowed"]),
        ("workers: 1\nworkers: 2\n", ["line 2, column 1: duplicate key (first given at line 1)"]),
    ],
)
def test_bad_batch_file_is_one_line_listing_every_problem(tmp_path, capsys, text, problems):
    batch = tmp_path / "batch.yaml"
    batch.write_text(text)
    out = tmp_path / "reports"
    assert main(["run", "--catalog", str(CATALOG), "--batch", str(batch), "--out", str(out)]) == 2
    err = one_line_error(capsys.readouterr().err)
    for problem in problems:
        assert problem in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("customers", ["customers"]),
        ("customers, orders", ["customers", "orders"]),
        (["orders"], ["orders"]),
    ],
)
def test_batch_datasets_may_be_one_name_or_a_comma_list(tmp_path, value, names):
    batch = tmp_path / "batch.yaml"
    batch.write_text(yaml.safe_dump({"datasets": value, "as_of": "2025-01-31", "workers": "3"}))
    settings = runsettings.read_batch_file(batch)
    assert settings == {"datasets": names, "as_of": date(2025, 1, 31), "workers": 3}


def test_batch_dataset_that_is_not_a_name_is_refused(tmp_path, capsys):
    batch = tmp_path / "batch.yaml"
    batch.write_text("datasets: [1, [2]]\n")
    assert main(["run", "--catalog", str(CATALOG), "--batch", str(batch)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "key 'datasets.0': input should be a valid string" in err


def test_json_that_is_a_folder_is_refused_before_profiling(tmp_path, capsys):
    code = main(["profile", "customers", "--catalog", str(CATALOG), "--json", str(tmp_path)])
    assert code == 2
    captured = capsys.readouterr()
    err = one_line_error(captured.err)
    assert f"--json {tmp_path} is a folder; give a file path inside it" in err
    assert captured.out == ""


def test_out_below_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    target = blocker / "suites"
    assert main(["suggest", "customers", "--catalog", str(CATALOG), "--out", str(target)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"--out {target}: {blocker} is a file, not a folder" in err
    assert blocker.read_text() == "x"


def test_run_out_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "reports"
    blocker.write_text("x")
    assert main(["run", "--catalog", str(CATALOG), "--out", str(blocker)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"--out {blocker} is a file, not a folder; give a folder" in err


def test_unwritable_json_is_refused_with_one_line(capsys):
    target = Path("/proc/govlib-profile.json")  # not writable, even for root
    assert main(["profile", "customers", "--catalog", str(CATALOG), "--json", str(target)]) == 2
    err = one_line_error(capsys.readouterr().err.splitlines(keepends=True)[-1])
    assert err.startswith(f"govlib: error: --json {target}")
    assert not target.exists()


def test_catalog_with_control_characters_prints_them_escaped(tmp_path, capsys):
    path = tmp_path / "catalog.yaml"
    hostile = 'owner: "\\e[31m[red]x[/] Head"'
    path.write_text(CATALOG.read_text().replace("owner: Head of Customer Operations", hostile))
    assert main(["catalog", "check", "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    assert "?[31m[red]x[/]" in out
    assert "\x1b" not in out


# -- command groups -----------------------------------------------------------------------------


@pytest.mark.parametrize("group", ["catalog", "retention", "history", "subject"])
def test_a_group_without_its_command_prints_its_commands_and_exits_2(group, capsys):
    assert main([group]) == 2
    captured = capsys.readouterr()
    assert f"Usage: govlib {group} [OPTIONS] COMMAND [ARGS]..." in captured.err
    assert "govlib: error" not in captured.err


def test_help_names_arguments_not_python_types(capsys):
    for args in (["retention", "check"], ["retention", "apply"], ["history", "show"]):
        assert main([*args, "--help"]) == 0
        out = capsys.readouterr().out
        assert "DATASET" in out
        assert "list[str]" not in out


def test_retention_check_exits_1_with_the_planted_overdue_count(planted, capsys):
    assert main(["retention", "check", "customers", "--catalog", str(CATALOG)]) == 1
    overdue = planted["closed_overdue"] + planted["inactive_overdue"]
    assert f"{overdue:,} records overdue" in capsys.readouterr().out
    assert main(["retention", "check", "orders", "--catalog", str(CATALOG)]) == 0
    assert "none overdue" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["retention", "customers", "--execute"], "No such command 'customers'."),
        (["retention", "check", "customers", "--execute"], "No such option: --execute"),
        (
            ["retention", "check", "customers", "orders"],
            "Got unexpected extra argument(s) (orders)",
        ),
        (["retention", "apply", "customers"], "Missing option '--out'"),
        (["history", "show", "a", "b"], "Got unexpected extra argument(s) (b)"),
        (["catalog", "--catalog", "x.yaml"], "No such option: --catalog"),
    ],
)
def test_misused_groups_are_usage_errors_not_silently_ignored(args, message, capsys):
    assert main(args) == 2
    err = one_line_error(capsys.readouterr().err)
    assert message in err


@pytest.mark.parametrize(("command", "name"), [("check", "apply"), ("apply", "apply")])
def test_a_dataset_named_like_a_command_is_reached_as_a_dataset(command, name, tmp_path, capsys):
    args = ["retention", command, name, "--catalog", str(CATALOG), "--out", str(tmp_path / "o")]
    assert main(args if command == "apply" else args[:-2]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"unknown dataset {name!r} in {CATALOG}" in err


def test_history_show_reaches_a_dataset_named_verify(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    entries = [{"dataset": "verify", "overall": 97.5}, {"dataset": "orders", "overall": 99.0}]
    history.append(tmp_path, "run0", {"exit_code": 0}, entries)
    assert main(["history", "show", "verify", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "97.50" in out
    assert "99.00" not in out
    assert main(["history", "verify", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "history OK: 3 entries, chain intact\n"


def test_history_show_without_a_history_exits_2(tmp_path, capsys):
    assert main(["history", "show", "--out", str(tmp_path)]) == 2
    err = one_line_error(capsys.readouterr().err)
    assert f"no run history in {tmp_path}; run `govlib run --out {tmp_path}` first" in err


# -- suggest: --out is a folder -----------------------------------------------------------------


def test_suggest_prints_the_suite_without_out(capsys):
    assert main(["suggest", "orders", "--catalog", str(CATALOG)]) == 0
    suite = json.loads(capsys.readouterr().out)
    assert suite["name"] == "orders"


def test_suggest_writes_the_suite_named_file_into_the_out_folder(tmp_path, capsys):
    args = ["suggest", "orders", "--catalog", str(CATALOG), "--out", str(tmp_path / "suites")]
    assert main(args) == 0
    assert main([*args, "--suite", "orders_v2"]) == 0
    files = sorted(p.name for p in (tmp_path / "suites").iterdir())
    assert files == ["orders.json", "orders_v2.json"]
    suite = json.loads((tmp_path / "suites" / "orders_v2.json").read_text())
    assert suite["name"] == "orders_v2"
    assert f"wrote {tmp_path / 'suites' / 'orders.json'} (" in capsys.readouterr().out


def test_suggest_refuses_a_suite_name_that_is_a_path(tmp_path, capsys):
    args = ["suggest", "orders", "--catalog", str(CATALOG), "--out", str(tmp_path)]
    assert main([*args, "--suite", "../escaped"]) == 2
    assert "'../escaped' is not a suite name" in one_line_error(capsys.readouterr().err)
    assert list(tmp_path.iterdir()) == []


def test_suggest_out_where_a_source_glob_would_read_the_suite_is_refused(tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    (data / "events").mkdir()
    (data / "consent_events.ndjson").rename(data / "events" / "part1.json")
    doc = yaml.safe_load(CATALOG.read_text())
    doc["data_root"] = str(data)
    events = doc["datasets"]["consent_events"]
    events["source"] = {"path": "events/*.json", "format": "ndjson"}
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    args = ["suggest", "orders", "--catalog", str(path), "--out", str(data / "events")]
    assert main(args) == 2
    err = one_line_error(capsys.readouterr().err)
    assert "refusing to write into" in err
    assert "(dataset consent_events)" in err
    assert sorted(p.name for p in (data / "events").iterdir()) == ["part1.json"]


# -- run: flags given on the command line override the batch file ------------------------------


@pytest.fixture
def planned(monkeypatch):
    """The settings `govlib run` plans with; planning stops there (exit 2)."""
    seen = {}

    def fake_plan(**kwargs):
        seen.update(kwargs)
        raise ParameterError("planned")

    monkeypatch.setattr(batch, "plan", fake_plan)
    return seen


BATCH = {
    "catalog": "from-batch.yaml", "datasets": ["orders"], "notebooks": ["quality"],
    "as_of": "2024-06-30", "workers": 3, "timeout": 60, "out": "batch-reports",
    "parameters": {"threshold": 0.5, "note": "batch"},
}  # fmt: skip


def run_planned(tmp_path, monkeypatch, *flags):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "nightly.yaml").write_text(yaml.safe_dump(BATCH))
    assert main(["run", "--batch", "nightly.yaml", *flags]) == 2


def test_run_takes_every_setting_from_the_batch_file_over_defaults(tmp_path, monkeypatch, planned):
    run_planned(tmp_path, monkeypatch)
    assert planned == {
        "catalog_path": Path("from-batch.yaml"), "datasets": ["orders"], "notebooks": ["quality"],
        "as_of": date(2024, 6, 30), "workers": 3, "timeout": 60, "out": Path("batch-reports"),
        "parameters": {"threshold": 0.5, "note": "batch"}, "notebook_dir": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "setting", "value"),
    [
        (["--catalog", "flag.yaml"], "catalog_path", Path("flag.yaml")),
        (["--datasets", "customers,orders"], "datasets", ["customers", "orders"]),
        (["--notebooks", "profile"], "notebooks", ["profile"]),
        (["--as-of", "2025-01-31"], "as_of", date(2025, 1, 31)),
        (["--workers", "2"], "workers", 2),  # the default, given explicitly, still wins
        (["--timeout", "600"], "timeout", 600),
        (["--out", "flag-reports"], "out", Path("flag-reports")),
        (["-p", "note=flag"], "parameters", {"threshold": 0.5, "note": "flag"}),
    ],
)
def test_a_flag_given_on_the_command_line_overrides_the_batch_file(
    tmp_path, monkeypatch, planned, flags, setting, value
):
    run_planned(tmp_path, monkeypatch, *flags)
    assert planned[setting] == value
    others = {k: v for k, v in planned.items() if k not in (setting, "notebook_dir")}
    assert len(others) == 7


def test_the_batch_file_overrides_the_catalog_environment_variable(tmp_path, monkeypatch, planned):
    monkeypatch.setenv("GOVLIB_CATALOG", "from-env.yaml")
    run_planned(tmp_path, monkeypatch)
    assert planned["catalog_path"] == Path("from-batch.yaml")


def test_combine_orders_command_line_over_batch_over_fallback():
    merged = runsettings.combine(
        {"workers": 4, "parameters": {"a": 1}},
        {"workers": 1, "timeout": 60, "parameters": {"a": 2, "b": 2}},
        {"workers": 2, "timeout": 600, "out": "reports", "parameters": {"c": 3}},
    )
    assert merged == {"workers": 4, "timeout": 60, "out": "reports",
                      "parameters": {"a": 1, "b": 2, "c": 3}}  # fmt: skip


# -- subject: as_of from the catalog ------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "day"), [([], date(2025, 1, 31)), (["--as-of", "2024-12-01"], date(2024, 12, 1))]
)
def test_subject_find_judges_on_the_catalogs_as_of(monkeypatch, capsys, frames, flags, day):
    seen = []
    original = rights.find

    def spy(*args, **kwargs):
        seen.append(kwargs["as_of"])
        return original(*args, **kwargs)

    monkeypatch.setattr(rights, "find", spy)
    cid = str(frames["customers"]["customer_id"][0])
    assert main(["subject", "find", "--customer-id", cid, "--catalog", str(CATALOG), *flags]) == 0
    assert seen == [day]
    assert "subject found (1 subject id(s))" in capsys.readouterr().out


def test_subject_erase_without_out_is_a_usage_error(capsys):
    assert main(["subject", "erase", "--customer-id", "1", "--catalog", str(CATALOG)]) == 2
    assert "Missing option '--out'" in one_line_error(capsys.readouterr().err)


# -- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Finding(Record):
    dataset: str
    column: str
    rows: int


def test_show_prints_a_record_as_a_table_with_text_from_data_literal(capsys):
    render.show(Finding("orders", "\x1b[31m[red]x[/]\nforged", 1234))
    out = capsys.readouterr().out
    assert "Finding: orders" in out
    assert "?[31m[red]x[/]?forged" in out
    assert "1,234" in out
    assert "\x1b" not in out


def test_catalog_draft_writes_a_loadable_catalog_and_check_warns_about_each_todo(tmp_path, capsys):
    people = tmp_path / "people.csv"
    people.write_text(
        "person_id,email,signup\n"
        + "".join(f"{i},user{i}@example.org,2024-01-{i:02d}\n" for i in range(1, 21))
    )
    cat = tmp_path / "catalog.yaml"
    assert main(["catalog", "draft", str(people), "--catalog", str(cat)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "people: 20 rows, 3 columns, key person_id",
        f"created {cat}: 1 dataset(s); fill in each TODO",
    ]
    assert main(["catalog", "check", "--catalog", str(cat)]) == 0
    todo = [line for line in capsys.readouterr().err.splitlines() if "TODO" in line]
    assert todo == [
        f"govlib: WARNING: dataset people: {key} is still TODO; fill it in before sharing reports"
        for key in ("owner", "steward", "purpose", "lawful_basis", "data_subjects")
    ]
    assert "user1@example.org" not in cat.read_text()
    assert main(["catalog", "draft", str(people), "--catalog", str(cat)]) == 2  # already there
