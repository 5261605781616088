import json
import os
import subprocess
import sys
from datetime import date

import polars as pl
import pytest
import yaml

from govlib import catalog, profiling, quality, sources
from govlib.cli import main
from govlib.quality import CheckResult, SuiteError

from .conftest import CATALOG, ROOT

AS_OF = date(2025, 1, 31)


@pytest.fixture(scope="session")
def results(sample_catalog):
    return {
        n: quality.validate(sample_catalog.dataset(n), as_of=AS_OF) for n in sample_catalog.names()
    }


def unexpected(result, check, column=None):
    [c] = [c for c in result.checks if c.check == check and c.column == column]
    return c.unexpected_count


def test_every_suite_in_expectations_loads_strictly():
    paths = sorted((ROOT / "expectations").glob("*.json"))
    assert [p.stem for p in paths] == ["consent_events", "customers", "orders", "support_tickets"]
    kinds = set()
    for path in paths:
        entries = json.loads(path.read_text())["expectations"]
        assert len(quality.load_suite(path).expectations) == len(entries)
        kinds |= {e["type"] for e in entries}
    assert kinds == {
        "expect_table_row_count_to_be_between", "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_unique", "expect_column_values_to_match_regex",
        "expect_column_values_to_be_in_set", "expect_column_value_lengths_to_be_between",
        "expect_column_values_to_be_between", "expect_compound_columns_to_be_unique",
    }  # fmt: skip


def test_misspelled_expectation_is_named_not_dropped(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "s", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "a"}},
        {"type": "expect_column_values_to_be_nulll", "kwargs": {"column": "a"}},
    ]}))  # fmt: skip
    with pytest.raises(SuiteError, match=r"expectations\[1\] \(expect_column_values_to_be_nulll\)"):
        quality.load_suite(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "not valid JSON"), ('{"name": "s"}', "list of 'expectations'")],
)
def test_malformed_suite_files(tmp_path, text, message):
    path = tmp_path / "s.json"
    path.write_text(text)
    with pytest.raises(SuiteError, match=message):
        quality.load_suite(path)
    with pytest.raises(SuiteError, match="suite file not found"):
        quality.load_suite(tmp_path / "missing.json")


def test_customer_counts_equal_the_planted_defects(results, planted, manifest):
    r = results["customers"]
    assert unexpected(r, "expect_column_values_to_not_be_null", "email") == planted["null_email"]
    padded = manifest["details"]["duplicate_email_whitespace"]
    assert unexpected(r, "expect_column_values_to_match_regex", "email") == (
        planted["malformed_email"] + padded
    )
    assert (
        unexpected(r, "expect_column_values_to_be_in_set", "country")
        == planted["country_nonstandard"]
    )
    pairs = planted["duplicate_person"]
    assert unexpected(r, "expect_compound_columns_to_be_unique") == 2 * pairs
    assert unexpected(r, "duplicate_subjects", "email") == 2 * pairs
    assert unexpected(r, "duplicate_subjects", "phone") == 2 * pairs
    assert unexpected(r, "expect_column_values_to_be_between", "date_of_birth") == 0
    assert unexpected(r, "expect_column_values_to_be_between", "created_at") == 0


def test_order_counts_and_dates_compare_correctly(results, planted):
    r = results["orders"]
    assert (
        unexpected(r, "expect_column_values_to_be_between", "amount") == planted["negative_amount"]
    )
    future = [c for c in r.checks if c.column == "ordered_at"]
    assert [(c.dimension, c.unexpected_count) for c in future] == [
        ("timeliness", planted["future_order"])
    ]
    assert (
        unexpected(r, "expect_column_values_to_match_regex", "card") == planted["raw_card_number"]
    )
    assert unexpected(r, "referential_integrity", "customer_id") == planted["orphan_order"]
    assert r.status == "passed"
    assert r.exit_code == 0


def test_date_bounds_on_date_and_datetime_columns(sample_catalog):
    ds = sample_catalog.dataset("customers")
    frame = pl.DataFrame(
        {
            "d": [date(2020, 1, 1), date(2025, 1, 31), date(2025, 2, 1)],
            "t": pl.Series(
                ["2025-01-31T23:00:00", "2025-02-01T00:00:01", "2020-01-01T00:00:00"]
            ).str.to_datetime(),
        }
    )
    path = ds.catalog.root / "build" / "dates.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"name": "dates", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": c,
         "max_value": {"$PARAMETER": "as_of"}}} for c in ("d", "t")
    ]}))  # fmt: skip
    raw, _ = quality.run_gx(frame, quality.load_suite(path), as_of=AS_OF)
    assert [r["result"]["unexpected_count"] for r in raw] == [1, 1]
    entries = json.loads(path.read_text())["expectations"]
    checks = quality.row_checks(entries, as_of=AS_OF, schema=frame.schema)
    assert quality.unexpected_counts(frame, checks) == [1, 1]  # the row checks agree with GX


def test_gate_fails_on_duplicate_customers(results):
    r = results["customers"]
    assert r.scores["uniqueness"] < 99
    assert r.gate_failures == [f"uniqueness {r.scores['uniqueness']:.2f} < 99"]
    assert (r.status, r.exit_code) == ("failed", 1)


def test_scores_follow_the_documented_formula():
    def check(dim, elements, bad, status="failed"):
        return CheckResult("t", "c", None, {}, dim, status, elements, bad, 0.0, 0)

    scores, overall = quality.score(
        [check("validity", 100, 10), check("validity", 50, 0), check("completeness", 10, 5),
         check("timeliness", 0, 0, "error")]
    )  # fmt: skip
    assert scores == {
        "completeness": 50.0, "validity": 95.0, "uniqueness": None, "consistency": None,
        "timeliness": None,
    }  # fmt: skip
    assert overall == 72.5


def sandbox(tmp_path, suite: dict, frame: pl.DataFrame):
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "people.json").write_text(json.dumps(suite))
    frame.write_csv(tmp_path / "people.csv")
    doc = {"data_root": ".", "gate": {"overall": 90}, "datasets": {"people": {
        "source": {"path": "people.csv"}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "suite": "people", "primary_key": ["id"],
        "columns": {"id": {"type": "int64"}, "email": {"type": "string", "pii": "email"},
                    "tier": {"type": "string", "publish": "values"}}}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "catalog.yaml"


CANARY = ["quentin.canary@leak.example", "Quentin.Canary@leak.example", "zz-canary@leak.example"]


def test_error_state_is_not_a_data_failure(tmp_path, capsys):
    suite = {"name": "people", "expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "emial"}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "email", "min_value": 0}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
    ]}  # fmt: skip
    frame = pl.DataFrame({"id": [1, 2, 3], "email": CANARY, "tier": ["a", "b", "a"]})
    path = sandbox(tmp_path, suite, frame)
    r = quality.validate(catalog.load(path).dataset("people"), as_of=AS_OF)
    statuses = [(c.check, c.status) for c in r.checks]
    assert statuses == [
        ("expect_column_values_to_not_be_null", "error"),
        ("expect_column_values_to_be_between", "error"),
        ("expect_column_values_to_be_unique", "passed"),
        ("duplicate_subjects", "failed"),  # two canaries differ only in case
    ]
    assert "column 'emial'" in r.checks[0].reason
    assert r.checks[0].unexpected_count == 0
    assert r.scores["completeness"] is None
    assert (r.status, r.exit_code) == ("error", 2)
    assert main(["validate", "people", "--catalog", str(path)]) == 2
    assert "could not run" in capsys.readouterr().out


def test_no_raw_value_reaches_the_result_json_or_console(tmp_path, capsys):
    suite = {"name": "people", "expectations": [
        {"type": "expect_column_values_to_match_regex",
         "kwargs": {"column": "email", "regex": "^[a-z.]+@example\\.com$"}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "email", "value_set": ["quentin.canary@leak.example"]}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "tier", "value_set": ["a"]}},
    ]}  # fmt: skip
    frame = pl.DataFrame({"id": [1, 2, 3], "email": CANARY, "tier": ["a", "b", "a"]})
    path = sandbox(tmp_path, suite, frame)
    out = tmp_path / "result.json"
    code = main(["validate", "people", "--catalog", str(path), "--json", str(out)])
    assert code == 1
    text = out.read_text()
    record = json.loads(text)
    assert record["checks"][0]["unexpected_count"] == 3
    assert record["checks"][1]["kwargs"]["value_set"] == "<1 values withheld>"
    assert record["checks"][2]["kwargs"]["value_set"] == ["a"]  # publishable: kept
    console = capsys.readouterr()
    for value in CANARY:
        for hay in (text, console.out, console.err):
            assert value.lower() not in hay.lower()


def test_tolerant_suggested_suites_pass_on_their_data_and_hold_no_personal_values(
    sample_catalog, tmp_path
):
    for name in sample_catalog.names():
        ds = sample_catalog.dataset(name)
        frame = sources.scan(ds).collect()
        p = profiling.profile(frame.lazy(), dataset=name, as_of=AS_OF, declared=ds)
        path = tmp_path / f"{name}.json"
        suite = quality.suggest(p, name=name, frame=frame, tolerate_current=True)
        path.write_text(json.dumps(suite))
        raw, _ = quality.run_gx(frame, quality.load_suite(path), as_of=AS_OF)
        assert all(r["success"] for r in raw), name
        text = path.read_text()
        for column in ds.pii_columns():
            if frame[column].dtype == pl.String:
                values = frame[column].drop_nulls().unique().head(500).to_list()
                assert not any(v in text for v in values if len(v) > 3), (name, column)
        kinds = {json.loads(text)["expectations"][i]["type"] for i in range(len(raw))}
        assert "expect_table_row_count_to_be_between" in kinds


def test_suggest_cli_writes_a_loadable_suite(tmp_path, capsys):
    out = tmp_path / "orders.json"  # the catalog's suite name for orders
    assert main(["suggest", "orders", "--catalog", str(CATALOG), "--out", str(tmp_path)]) == 0
    suite = quality.load_suite(out)
    types = {e.expectation_type for e in suite.expectations}
    assert {"expect_column_values_to_be_unique", "expect_column_values_to_be_in_set"} <= types


def test_importing_quality_does_not_import_great_expectations():
    code = "import sys, govlib.quality; print('great_expectations' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)  # fmt: skip
    assert out.stdout == "False\n"


def test_row_checks_count_what_gx_counts_on_every_sample_suite(sample_catalog, frames):
    for name in sample_catalog.names():
        path = quality.suite_path(sample_catalog, name)
        entries = quality.read_suite(path)["expectations"]
        checks = quality.row_checks(entries, as_of=AS_OF, schema=frames[name].schema)
        table_level = [e for e in entries if e["type"].startswith("expect_table_")]
        assert len(checks) == len(entries) - len(table_level), name
        raw, _ = quality.run_gx(frames[name], quality.load_suite(path), as_of=AS_OF)
        by_index = {r["index"]: r["result"].get("unexpected_count") for r in raw}
        expected = [by_index[c.index] for c in checks]
        assert quality.unexpected_counts(frames[name], checks) == expected, name


@pytest.mark.parametrize(
    ("kwargs", "failing"),
    [
        ({"min_value": 1, "max_value": 3}, [0, 4]),
        ({"min_value": 1, "max_value": 3, "strict_min": True}, [0, 1, 4]),
        ({"min_value": 1, "max_value": 3, "strict_max": True}, [0, 3, 4]),
        ({"max_value": 2}, [3, 4]),
    ],
)
def test_between_bounds_and_strictness(kwargs, failing):
    frame = pl.DataFrame({"n": [0.0, 1.0, 2.0, 3.0, 4.0, None, float("nan")]})
    entry = {"type": "expect_column_values_to_be_between", "kwargs": {"column": "n", **kwargs}}
    ok = frame.select(quality.row_predicate(entry, as_of=AS_OF, schema=frame.schema))
    assert [i for i, good in enumerate(ok.to_series()) if not good] == failing


def test_nan_is_missing_and_lengths_count_characters():
    frame = pl.DataFrame({"x": [1.0, None, float("nan")], "s": ["Zoë", "ab", None]})
    entries = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "x"}},
        {"type": "expect_column_value_lengths_to_be_between",
         "kwargs": {"column": "s", "min_value": 3, "max_value": 3}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
    ]  # fmt: skip
    checks = quality.row_checks(entries, as_of=AS_OF, schema=frame.schema)
    assert [(c.check, c.index) for c in checks] == [
        ("expect_column_values_to_not_be_null", 0),
        ("expect_column_value_lengths_to_be_between", 1),
    ]
    assert quality.unexpected_counts(frame, checks) == [2, 1]


def test_quality_records_round_trip_through_json(results, planted):
    for result in results.values():
        data = json.loads(json.dumps(result.to_dict()))
        assert type(result).from_dict(data) == result
        assert data["checks"][0] == result.checks[0].to_dict()
    r = results["orders"]
    table = r.to_polars()
    assert table.height == len(r.checks)
    orphans = table.filter(pl.col("check") == "referential_integrity")["unexpected_count"]
    assert orphans.to_list() == [planted["orphan_order"]]
