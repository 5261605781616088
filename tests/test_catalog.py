from pathlib import Path

import pytest
import yaml

from govlib import catalog
from govlib.catalog import Category, Period, PiiKind
from govlib.errors import CatalogError, UnknownDatasetError

from .conftest import CATALOG


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def minimal() -> dict:
    return yaml.safe_load(CATALOG.read_text())


def test_sample_catalog_declares_the_sample(sample_catalog):
    assert sample_catalog.names() == ["customers", "orders", "consent_events", "support_tickets"]
    assert str(sample_catalog.as_of) == "2025-01-31"
    customers = sample_catalog.dataset("customers")
    assert customers.name == "customers"
    assert customers.columns["email"].pii is PiiKind.EMAIL
    assert customers.columns["email"].category is Category.DIRECT_IDENTIFIER
    assert customers.columns["postcode"].category is Category.QUASI_IDENTIFIER
    assert customers.columns["status"].category is Category.NON_PERSONAL
    assert customers.pii_columns() == [
        "customer_id", "first_name", "last_name", "email", "phone", "date_of_birth", "postcode",
        "notes",
    ]  # fmt: skip
    assert customers.rule_count == 3
    assert customers.retention[0].period == Period(months=24)
    assert sample_catalog.dataset("orders").relationships[0].target == ("customers", "customer_id")
    assert sample_catalog.dataset("orders").columns["card"].masked is True
    assert sample_catalog.data_dir == CATALOG.parent / "data" / "sample"


@pytest.mark.parametrize(
    ("text", "months", "days"),
    [("P24M", 24, 0), ("P2Y", 24, 0), ("P90D", 0, 90), ("P1Y6M", 18, 0), ("P2W", 0, 14)],
)
def test_period_parses_iso_durations(text, months, days):
    assert Period.parse(text) == Period(months=months, days=days)


@pytest.mark.parametrize("text", ["24 months", "P", "P0M", "-P1M", "PT5H"])
def test_period_rejects_other_text(text):
    with pytest.raises(ValueError, match=r"ISO-8601|longer than zero"):
        Period.parse(text)


def test_every_problem_is_reported_at_once(tmp_path):
    data = minimal()
    customers = data["datasets"]["customers"]
    customers["lawful_basis"] = "because"
    customers["retention"][0]["period"] = "24 months"
    customers["retention"][1]["anchor"] = "last_login"
    customers["colums"] = {}
    del data["datasets"]["orders"]["owner"]
    data["datasets"]["orders"]["relationships"][0]["references"] = "clients.customer_id"
    path = write(tmp_path, data)
    with pytest.raises(CatalogError) as info:
        catalog.load(path)
    problems = info.value.problems
    message = str(info.value)
    assert str(path) in message
    assert any("'customers', key 'lawful_basis'" in p and "'because'" in p for p in problems)
    assert any("key 'retention[0].period'" in p and "ISO-8601" in p for p in problems)
    assert any("key 'colums'" in p and "unknown key" in p for p in problems)
    assert any("'orders', key 'owner'" in p and "missing" in p for p in problems)
    assert len(problems) == 4  # pydantic problems; cross checks run once the shape is valid


def test_cross_checks_name_columns_and_datasets(tmp_path):
    data = minimal()
    data["datasets"]["customers"]["retention"][1]["anchor"] = "last_login"
    data["datasets"]["customers"]["retention"][0]["anchor"] = "status"
    data["datasets"]["orders"]["relationships"][0]["references"] = "clients.customer_id"
    data["datasets"]["orders"]["primary_key"] = ["id"]
    with pytest.raises(CatalogError) as info:
        catalog.load(write(tmp_path, data))
    problems = info.value.problems
    assert len(problems) == 4
    assert any("retention[1].anchor" in p and "'last_login' is not declared" in p for p in problems)
    assert any("retention[0].anchor" in p and "type 'string'" in p for p in problems)
    assert any("'clients' is not in the catalog" in p for p in problems)
    assert any("primary_key[0]" in p for p in problems)


def test_yaml_syntax_error_gives_line(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("datasets:\n  customers: [unclosed\n")
    with pytest.raises(CatalogError, match=r"line \d+, column \d+"):
        catalog.load(path)


def test_missing_file_and_wrong_top_level(tmp_path):
    with pytest.raises(CatalogError, match="file not found"):
        catalog.load(tmp_path / "nope.yaml")
    path = tmp_path / "catalog.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(CatalogError, match="expected a mapping"):
        catalog.load(path)


def test_unknown_dataset_lists_the_known_ones(sample_catalog):
    with pytest.raises(UnknownDatasetError, match=r"unknown dataset 'custmers'.*customers, orders"):
        sample_catalog.dataset("custmers")


def test_gate_merges_dataset_over_catalog(tmp_path):
    data = minimal()
    data["datasets"]["orders"]["gate"] = {"validity": 80}
    cat = catalog.load(write(tmp_path, data))
    gate = cat.gate_for("orders")
    assert (gate.overall, gate.completeness, gate.validity) == (90, 95, 80)
    assert cat.gate_for("customers").validity == 95


def test_duplicate_key_is_an_error_naming_both_lines(tmp_path):
    path = tmp_path / "catalog.yaml"
    text = CATALOG.read_text()
    text = text.replace("      email: {", "      email: {type: string}\n      email: {", 1)
    path.write_text(text)
    line = text.splitlines().index("      email: {type: string}") + 1
    with pytest.raises(
        CatalogError,
        match=rf"line {line + 1}, column 7: duplicate key \(first given at line {line}\)",
    ):
        catalog.load(path)


def test_anchors_and_aliases_are_refused_before_they_expand(tmp_path):
    path = tmp_path / "catalog.yaml"
    laughs = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    laughs += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    path.write_text("\n".join(laughs) + "\ndatasets: *a8\n")
    with pytest.raises(
        CatalogError,
        match=r"line 1, column 5: anchors and aliases \(&name, \*name\) are not allowed",
    ) as info:
        catalog.load(path)
    assert len(str(info.value)) < 300


def test_catalog_over_one_mib_is_refused_unparsed(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("# " + "x" * (1024 * 1024) + "\n")
    with pytest.raises(CatalogError, match=r"more than the 1,048,576-byte limit"):
        catalog.load(path)


def test_impossible_date_is_a_catalog_error_with_its_line(tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG.read_text().replace("as_of: 2025-01-31", "as_of: 2025-02-30", 1))
    with pytest.raises(CatalogError, match=r"line \d+, column 8: not a valid date \(YYYY-MM-DD\)"):
        catalog.load(path)


@pytest.mark.parametrize("codec", ["rot13", "base64", "hex", "idna"])
def test_text_codec_that_is_no_file_encoding_is_refused_at_load(tmp_path, codec):
    data = minimal()
    data["datasets"]["customers"]["source"]["encoding"] = codec
    with pytest.raises(
        CatalogError,
        match=rf"key 'source.encoding': '{codec}' is not a character encoding of text files",
    ):
        catalog.load(write(tmp_path, data))


@pytest.mark.parametrize("text", ["P99999999999999Y", "P1001Y", "P12001M", "P366001D"])
def test_period_longer_than_1000_years_is_refused(text):
    with pytest.raises(ValueError, match="expected a period of at most 1,000 years"):
        Period.parse(text)


def test_period_of_1000_years_is_accepted():
    assert Period.parse("P1000Y") == Period(months=12000)


def test_huge_retention_period_is_a_one_line_catalog_error(tmp_path):
    data = minimal()
    data["datasets"]["customers"]["retention"][0]["period"] = "P99999999999999Y"
    with pytest.raises(CatalogError, match=r"retention\[0\]\.period'.*at most 1,000 years") as info:
        catalog.load(write(tmp_path, data))
    assert "\n" not in str(info.value)


def test_several_problems_fit_on_one_numbered_line(tmp_path):
    data = minimal()
    data["datasets"]["customers"]["lawful_basis"] = "because"
    del data["datasets"]["orders"]["owner"]
    with pytest.raises(CatalogError, match=r"2 problems in the catalog: \(1\) .*; \(2\) ") as info:
        catalog.load(write(tmp_path, data))
    assert "\n" not in str(info.value)


def test_default_decompression_limit_is_512_mib():
    assert catalog.Limits().max_decompressed_mb == 512
