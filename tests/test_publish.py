"""Value-free by construction: shared outputs hold a value only where the catalog allows it."""

import json
from datetime import date

import polars as pl
import pytest

from govlib import catalog, quality
from govlib.cli import main
from govlib.profiling import profile

AS_OF = date(2025, 1, 31)


def declared(columns: dict[str, dict], primary_key: list[str] | None = None) -> catalog.Dataset:
    """A catalog dataset declaring `columns` (name -> ColumnSpec fields)."""
    return catalog.Dataset(
        source={"path": "t.csv"},
        owner="o",
        steward="s",
        purpose="p",
        lawful_basis="contract",
        primary_key=primary_key or [],
        columns=columns,
    )


def forms(value: object) -> list[str]:
    """The ways a value can appear in JSON or on a console."""
    out = {str(value), json.dumps(value, default=str)}
    if isinstance(value, int):
        out |= {f"{value}.0", repr(float(value)), f"{float(value):.6g}"}
    if isinstance(value, date):
        out.add(value.isoformat())
    return sorted(out)


def leaked(values: list[object], *texts: str) -> list[str]:
    return [f for v in values for f in forms(v) if any(f in t for t in texts)]


def profile_file(tmp_path, frame: pl.DataFrame, capsys, name: str = "people.csv") -> tuple:
    """Profile `frame` written as a CSV through the CLI, ad hoc; the JSON and the console."""
    path = tmp_path / name
    frame.write_csv(path)
    out = tmp_path / "profile.json"
    assert main(["profile", str(path), "--data-root", str(tmp_path), "--json", str(out)]) == 0
    console = capsys.readouterr()
    return json.loads(out.read_text()), out.read_text(), console.out + console.err


def column(record: dict, name: str) -> dict:
    return next(c for c in record["column_profiles"] if c["column"] == name)


STAFF = [f"Jane Roe-{i}" for i in range(4)]


def sandbox(tmp_path, frame: pl.DataFrame, columns: dict, suite: list | None = None):
    """A catalog declaring `columns` of one dataset `people`, its CSV and a suite."""
    frame.write_csv(tmp_path / "people.csv")
    (tmp_path / "expectations").mkdir()
    doc = {"name": "people", "expectations": suite or []}
    (tmp_path / "expectations" / "people.json").write_text(json.dumps(doc))
    cat = {"data_root": ".", "datasets": {"people": {
        "source": {"path": "people.csv"}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "suite": "people", "primary_key": ["id"],
        "columns": columns}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(json.dumps(cat))
    return tmp_path / "catalog.yaml"


def test_staff_names_in_a_non_personal_column_reach_no_profile_suite_or_quality_json(
    tmp_path, capsys
):
    frame = pl.DataFrame({"id": range(40), "handled_by": STAFF * 10, "tier": ["a", "b"] * 20})
    in_set = {"type": "expect_column_values_to_be_in_set"}
    suite = [
        in_set | {"kwargs": {"column": "handled_by", "value_set": STAFF}},
        in_set | {"kwargs": {"column": "tier", "value_set": ["a", "b"]}},
    ]
    columns = {
        "id": {"type": "int64"},
        "handled_by": {"type": "string"},
        "tier": {"type": "string", "publish": "values"},
    }
    path = sandbox(tmp_path, frame, columns, suite)
    out = {n: tmp_path / f"{n}.json" for n in ("profile", "suite", "quality")}
    args = ["--catalog", str(path)]
    assert main(["profile", "people", *args, "--json", str(out["profile"])]) == 0
    assert main(["suggest", "people", *args, "--out", str(tmp_path), "--suite", "suite"]) == 0
    assert main(["validate", "people", *args, "--json", str(out["quality"])]) == 0
    console = capsys.readouterr()
    texts = [p.read_text() for p in out.values()]
    assert leaked(STAFF, *texts, console.out, console.err) == []
    record = json.loads(out["profile"].read_text())
    assert column(record, "handled_by")["top_values"] is None
    assert column(record, "tier")["top_values"] == [
        {"value": "a", "count": 20}, {"value": "b", "count": 20},
    ]  # fmt: skip
    quality_record = json.loads(out["quality"].read_text())
    kwargs = [c["kwargs"].get("value_set") for c in quality_record["checks"][:2]]
    assert kwargs == ["<4 values withheld>", ["a", "b"]]
    value_sets = [
        e["kwargs"] for e in json.loads(texts[1])["expectations"] if "value_set" in e["kwargs"]
    ]
    assert value_sets == [{"column": "tier", "value_set": ["a", "b"]}]


def test_undeclared_birth_dates_publish_no_min_or_max(tmp_path, capsys):
    births = [date(1950 + i, 1 + i % 12, 1 + i) for i in range(20)]
    record, text, console = profile_file(tmp_path, pl.DataFrame({"when": births * 3}), capsys)
    when = column(record, "when")
    assert (when["min"], when["max"], when["future"]) == (None, None, 0)
    assert leaked(births, text, console) == []


def test_card_numbers_and_national_ids_as_integers_publish_no_min_max_or_quantiles(
    tmp_path, capsys
):
    cards = [6011111111111117, 4111111111111111, 5500005555555559, 378282246310005]
    ids = [123456789 + 1111 * i for i in range(8)]
    frame = pl.DataFrame({"ref": cards * 2, "code": ids})
    record, text, console = profile_file(tmp_path, frame, capsys)
    for name in ("ref", "code"):
        c = column(record, name)
        assert (c["min"], c["max"], c["quantiles"], c["histogram"]) == (None, None, None, None)
    assert column(record, "ref")["mean"] is None  # 4 distinct values: fewer than k
    assert column(record, "code")["mean"] == 123460677.5  # 8 distinct: an aggregate
    assert leaked(cards + ids, text, console) == []


def test_repeated_health_note_in_an_undeclared_column_is_not_a_top_value(tmp_path, capsys):
    note = "HIV positive, on medication"
    frame = pl.DataFrame({"info": [note] * 5 + ["none"] * 5, "status": ["a"] * 10})
    record, text, console = profile_file(tmp_path, frame, capsys)
    assert column(record, "info")["top_values"] is None
    assert column(record, "status")["top_values"] is None  # ad hoc: nothing is publishable
    assert note not in text
    assert note not in console
    assert column(record, "info")["shapes"] == [
        {"shape": "A a, a a", "count": 5}, {"shape": "a", "count": 5},
    ]  # fmt: skip


def test_undeclared_phones_in_national_format_are_not_published(tmp_path, capsys):
    phones = ["07416 962965", "020 7946 0018", "0161 496 0471"]
    # under half of the rows hold a phone: too few for detection to call the column personal
    frame = pl.DataFrame({"kin": phones * 5 + ["none"] * 20, "x": range(35)})
    record, text, console = profile_file(tmp_path, frame, capsys)
    assert record["pii"] == []
    assert column(record, "kin")["top_values"] is None
    digits = [p.replace(" ", "") for p in phones]
    assert [v for v in phones + digits if v in text or v in console] == []


def test_header_only_csv_profiles_to_zero_rows_with_a_warning(tmp_path, capsys):
    (tmp_path / "empty.csv").write_text("id,email,joined\n")
    out = tmp_path / "p.json"
    args = ["profile", str(tmp_path / "empty.csv"), "--data-root", str(tmp_path)]
    assert main([*args, "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert (record["rows"], record["columns"], record["alerts"]) == (0, 3, ["dataset has 0 rows"])
    assert [c["distinct"] for c in record["column_profiles"]] == [0, 0, 0]
    assert "0 rows" in capsys.readouterr().err


def test_zero_row_parquet_profiles_to_zero_rows_with_a_warning(tmp_path, capsys):
    schema = {"id": pl.Int64, "amount": pl.Float64, "at": pl.Datetime("us"), "ok": pl.Boolean}
    pl.DataFrame(schema=schema).write_parquet(tmp_path / "empty.parquet")
    out = tmp_path / "p.json"
    args = ["profile", str(tmp_path / "empty.parquet"), "--data-root", str(tmp_path)]
    assert main([*args, "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert (record["rows"], record["columns"], record["alerts"]) == (0, 4, ["dataset has 0 rows"])
    assert record["duplicate_rows"] == 0


@pytest.mark.parametrize("streaming", [False, True], ids=["in-memory", "streaming"])
def test_a_two_thousand_column_file_profiles_every_column(tmp_path, streaming):
    frame = pl.DataFrame(
        {
            f"c{i}": [f"v{(i + r) % 7}" if i % 2 else (i * r) % 13 for r in range(50)]
            for i in range(2000)
        },
        strict=False,
    )
    path = tmp_path / "wide.csv"
    frame.write_csv(path)
    p = profile(pl.scan_csv(path), dataset="wide", as_of=AS_OF, streaming=streaming)
    assert (p.rows, p.columns, len(p.column_profiles)) == (50, 2000, 2000)
    assert p.column("c1").shapes == [{"shape": "a9", "count": 50}]
    assert p.column("c2").distinct == 13


def test_a_personal_column_cannot_be_declared_publishable():
    with pytest.raises(ValueError, match="a personal column cannot publish its values"):
        declared({"email": {"pii": "email", "publish": "values"}})


def test_aggregates_of_fewer_than_k_rows_are_withheld():
    ds = declared({"score": {"type": "float64"}, "flag": {"type": "bool"}})
    lf = pl.LazyFrame({"score": [712.0, None, None], "flag": [True, None, None]})
    score, flag = profile(lf, dataset="t", as_of=AS_OF, declared=ds).column_profiles
    assert (score.mean, score.std, score.min) == (None, None, None)
    assert flag.true_count is None
    assert (score.nulls, flag.nulls) == (2, 2)


def test_a_publishable_column_keeps_only_values_held_by_k_rows():
    ds = declared({"tier": {"publish": "values"}, "size": {"type": "int64", "publish": "values"}})
    lf = pl.LazyFrame({"tier": ["gold"] * 6 + ["vip"] * 2, "size": [3] * 5 + [1, 9, 9]})
    tier, size = profile(lf, dataset="t", as_of=AS_OF, declared=ds).column_profiles
    assert tier.top_values == [{"value": "gold", "count": 6}]
    assert (size.min, size.max, size.histogram) == (3.0, 3.0, None)
    assert size.quantiles == {"p05": None, "p25": 3.0, "p50": 3.0, "p75": 3.0, "p95": None}


def test_suggest_writes_complete_value_sets_only_for_publishable_columns():
    ds = declared({"tier": {"publish": "values"}, "team": {}, "n": {"type": "int64"}})
    frame = pl.LazyFrame({"tier": ["gold"] * 6 + ["vip"] * 2, "team": ["x"] * 8, "n": range(8)})
    p = profile(frame, dataset="t", as_of=AS_OF, declared=ds)
    suite = quality.suggest(p, name="t", frame=frame)
    kwargs = [e["kwargs"] for e in suite["expectations"] if "column" in e["kwargs"]]
    assert {"column": "tier", "value_set": ["gold", "vip"]} in kwargs
    assert {"column": "n", "min_value": 0} in kwargs
    assert not any("value_set" in k for k in kwargs if k["column"] != "tier")
    alone = quality.suggest(p, name="t")  # the profile alone kept only values held by k rows
    assert not any("value_set" in e["kwargs"] for e in alone["expectations"])


def test_literal_bounds_of_a_private_column_are_withheld_from_quality_json(tmp_path):
    card = 6011111111111117
    frame = pl.DataFrame({"id": range(10), "card": [card + i for i in range(10)]})
    between = {"type": "expect_column_values_to_be_between"}
    suite = [
        between | {"kwargs": {"column": "card", "min_value": card, "max_value": card + 9}},
        between | {"kwargs": {"column": "id", "min_value": 0, "max_value": 9}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 5}},
    ]
    columns = {"id": {"type": "int64", "publish": "values"}, "card": {"type": "int64"}}
    path = sandbox(tmp_path, frame, columns, suite)
    out = tmp_path / "quality.json"
    assert main(["validate", "people", "--catalog", str(path), "--json", str(out)]) == 0
    checks = json.loads(out.read_text())["checks"][:3]
    kwargs = [{k: v for k, v in c["kwargs"].items() if k != "batch_id"} for c in checks]
    assert kwargs == [
        {"column": "card", "min_value": "<withheld>", "max_value": "<withheld>"},
        {"column": "id", "min_value": 0, "max_value": 9},
        {"min_value": 5},
    ]
    assert leaked([card, card + 9], out.read_text()) == []


def test_a_suite_pattern_spelling_a_personal_value_is_withheld_from_quality_json(tmp_path):
    canary = "quuxcanary@zorblat.example"
    frame = pl.DataFrame({"id": range(6), "email": [canary] + [f"user{i}@x.io" for i in range(5)]})
    regex = {"type": "expect_column_values_to_match_regex"}
    suite = [
        regex | {"kwargs": {"column": "email", "regex": r"^(quuxcanary@zorblat\.example|user.*)$"}},
        regex | {"kwargs": {"column": "email", "regex": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"}},
    ]
    columns = {"id": {"type": "int64"}, "email": {"type": "string", "pii": "email"}}
    out = tmp_path / "quality.json"
    path = sandbox(tmp_path, frame, columns, suite)
    main(["validate", "people", "--catalog", str(path), "--json", str(out)])
    patterns = [c["kwargs"]["regex"] for c in json.loads(out.read_text())["checks"][:2]]
    assert patterns == ["<pattern withheld>", r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"]
    assert "quuxcanary" not in out.read_text()
