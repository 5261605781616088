import pytest

from govlib.cli import main

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
