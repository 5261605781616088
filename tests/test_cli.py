from datetime import date
from pathlib import Path

import pytest
import yaml

from govlib.cli import _batch_file, main

from .conftest import CATALOG


def test_catalog_lists_datasets(capsys):
    assert main(["catalog", "--catalog", str(CATALOG)]) == 0
    out = capsys.readouterr().out
    assert "catalog OK: 4 datasets" in out
    for name in ("customers", "orders", "consent_events", "support_tickets"):
        assert name in out


def test_invalid_catalog_exits_2_with_one_message_and_no_traceback(tmp_path, capsys):
    bad = tmp_path / "catalog.yaml"
    bad.write_text(CATALOG.read_text().replace("lawful_basis: contract", "lawful_basis: vibes", 1))
    assert main(["catalog", "--catalog", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"govlib: error: {bad}: 1 problem in the catalog")
    assert "dataset 'customers', key 'lawful_basis'" in err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["--debug", "catalog", "--catalog", str(tmp_path / "none.yaml")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["catalog", "--catalog"]) == 2
    assert "requires an argument" in capsys.readouterr().err


def test_sample_data_writes_files(tmp_path, capsys):
    assert main(["sample-data", "--out", str(tmp_path), "--customers", "600", "--seed", "2"]) == 0
    assert (tmp_path / "manifest.json").exists()
    assert "customers 6" in capsys.readouterr().out


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
    settings = _batch_file(batch)
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
    target = blocker / "suite.json"
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
    assert main(["catalog", "--catalog", str(path)]) == 0
    out = capsys.readouterr().out
    assert "?[31m[red]x[/]" in out
    assert "\x1b" not in out
