"""The check engine: backends, the one-query plan, errors and failures, bad input, no GX import."""

import json
import subprocess
import sys
from datetime import date

import polars as pl
import pytest
import yaml

from govlib import catalog, engine, quality
from govlib.cli import main
from govlib.engine.backends import Data, open_file, open_frame
from govlib.engine.params import Unsupported, parse_condition
from govlib.engine.regex import SPACE, translate
from govlib.engine.run import run_suite
from govlib.quality import SuiteError

from .conftest import CATALOG, ROOT

AS_OF = date(2025, 1, 31)
PARAMS = engine.parameters(AS_OF)
NOT_NULL = "expect_column_values_to_not_be_null"


def plain(result):
    """A validation's figures without the field that says which engine ran each check."""
    return [{k: v for k, v in c.to_dict().items() if k != "engine"} for c in result.checks]


@pytest.fixture(scope="module")
def by_engine(sample_catalog):
    return {
        (name, e): quality.validate(sample_catalog.dataset(name), as_of=AS_OF, engine=e)
        for name in sample_catalog.names()
        for e in ("polars", "duckdb", "gx")
    }


@pytest.mark.parametrize("name", ["customers", "orders", "consent_events", "support_tickets"])
def test_sample_validation_is_identical_on_every_engine(by_engine, name):
    polars, duckdb, gx = (by_engine[name, e] for e in ("polars", "duckdb", "gx"))
    assert plain(polars) == plain(duckdb) == plain(gx)
    assert (polars.scores, polars.overall, polars.status) == (gx.scores, gx.overall, gx.status)
    suite = {c.engine for c in polars.checks if c.source == "gx"}
    assert (suite, {c.engine for c in gx.checks if c.source == "gx"}) == ({"ibis"}, {"gx"})


def test_sample_planted_defects_are_counted_by_the_compiled_engine(by_engine, planted):
    customers = by_engine["customers", "duckdb"]
    [nulls] = [c for c in customers.checks if c.check == NOT_NULL and c.column == "email"]
    assert (nulls.unexpected_count, nulls.engine) == (planted["null_email"], "ibis")
    orders = by_engine["orders", "polars"]
    [amount] = [c for c in orders.checks if c.column == "amount"]
    assert (amount.unexpected_count, amount.status) == (planted["negative_amount"], "failed")


def test_a_suite_runs_as_one_aggregate_query_plus_one_pass_per_uniqueness_check(monkeypatch):
    frame = pl.DataFrame({"a": [1, 2, 2, None], "s": ["x", "y", None, "x"]})
    entries = [
        {"type": NOT_NULL, "kwargs": {"column": "a"}},
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "s", "value_set": ["x"]}},
        {"type": "expect_column_max_to_be_between", "kwargs": {"column": "a", "max_value": 5}},
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "a"}},
    ]  # fmt: skip
    queries = []
    rows = Data.rows
    monkeypatch.setattr(Data, "rows", lambda self, expr: queries.append(expr) or rows(self, expr))
    run = run_suite(open_frame(frame, "polars"), entries, params=PARAMS)
    assert len(queries) == 2
    counts = [(r["success"], r["result"].get("unexpected_count")) for r in run.results]
    assert counts == [(False, 1), (False, 1), (True, None), (True, None), (False, 2)]


@pytest.mark.parametrize("backend", ["polars", "duckdb"])
def test_a_missing_column_is_an_error_and_existence_checks_fail(backend):
    frame = pl.DataFrame({"a": [1, 2]})
    entries = [
        {"type": NOT_NULL, "kwargs": {"column": "gone"}},
        {"type": "expect_column_to_exist", "kwargs": {"column": "gone"}},
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["a", "gone"]}},
        {"type": "expect_column_value_lengths_to_equal", "kwargs": {"column": "a", "value": 1}},
    ]
    run = run_suite(open_frame(frame, backend), entries, params=PARAMS)
    reasons = [(r["success"], r.get("reason")) for r in run.results[:3]]
    assert reasons == [(False, "column 'gone' is not in the data"), (False, None), (False, None)]
    assert run.fallback == [3]  # lengths of numbers: pandas' str() of them, left to GX


@pytest.mark.parametrize("engine_name", ["polars", "duckdb", "gx"])
def test_validate_reports_errors_and_existence_failures_alike_on_every_engine(
    tmp_path, engine_name
):
    suite = {"name": "people", "expectations": [
        {"type": NOT_NULL, "kwargs": {"column": "emial"}},
        {"type": "expect_column_to_exist", "kwargs": {"column": "emial"}},
        {"type": "expect_table_columns_to_match_set",
         "kwargs": {"column_set": ["id", "emial"], "exact_match": False}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "email", "min_value": 0}},
    ]}  # fmt: skip
    path = sandbox(tmp_path, suite, pl.DataFrame({"id": [1, 2], "email": ["a@b.co", "c@d.co"]}))
    r = quality.validate(catalog.load(path).dataset("people"), as_of=AS_OF, engine=engine_name)
    states = [c.status for c in r.checks if c.source == "gx"]
    assert states == ["error", "failed", "failed", "error"]
    assert "column 'emial' is not in the data" in r.checks[0].reason
    assert "a@b.co" not in json.dumps(r.to_dict())


def sandbox(tmp_path, suite: dict, frame: pl.DataFrame, **dataset):
    (tmp_path / "expectations").mkdir(exist_ok=True)
    (tmp_path / "expectations" / "people.json").write_text(json.dumps(suite))
    frame.write_csv(tmp_path / "people.csv")
    columns = {"id": {"type": "int64"}, "email": {"type": "string", "pii": "email"}}
    doc = {"data_root": ".", "datasets": {"people": {
        "source": {"path": "people.csv"}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "suite": "people", "columns": columns, **dataset}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path / "catalog.yaml"


BAD = [
    ({"column": "id", "min_value": None, "max_value": None}, "expect_column_values_to_be_between",
     "cannot both be null"),
    ({"column": "id", "value_set": None}, "expect_column_values_to_be_in_set", "'value_set'"),
    ({"column": "id", "mostly": 1.5}, NOT_NULL, "'mostly'"),
    (["id"], NOT_NULL, "'kwargs' must be an object"),
    ({"column": "id", "strftime_format": "%Q"}, "expect_column_values_to_match_strftime_format",
     "strftime_format"),
    ({"column": "id", "partition_object": [0.5, 0.5], "threshold": 0.1},
     "expect_column_kl_divergence_to_be_less_than", "'partition_object'"),
    ({"column": "id", "min_value": {"$PARAMETER": "as_of"}}, "expect_column_stdev_to_be_between",
     "once its \\$PARAMETER is in place"),
    ({"column": "id", "min_value": {"$PARAMETER": "yesterday"}},
     "expect_column_values_to_be_between", "govlib does not give"),
    ({"column": "id", "value": 1, "colour": "red"}, "expect_column_value_lengths_to_equal",
     "'colour' is not a kwarg"),
    ({"column_list": ["id"]}, "expect_compound_columns_to_be_unique", "at least two columns"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "kind", "message"), BAD, ids=[b[2] for b in BAD])
def test_kwargs_gx_would_refuse_are_refused_at_load_naming_the_entry(
    tmp_path, kwargs, kind, message
):
    path = tmp_path / "s.json"
    entries = [{"type": NOT_NULL, "kwargs": {"column": "id"}}, {"type": kind, "kwargs": kwargs}]
    path.write_text(json.dumps({"name": "s", "expectations": entries}))
    with pytest.raises(SuiteError, match=rf"expectations\[1\] \({kind}\): .*{message}"):
        quality.read_suite(path)


def test_bad_kwargs_exit_2_on_one_line_without_a_traceback(tmp_path, capsys):
    suite = {"name": "people", "expectations": [
        {"type": "expect_column_values_to_be_between", "kwargs": {"column": "id"}}]}  # fmt: skip
    path = sandbox(tmp_path, suite, pl.DataFrame({"id": [1], "email": ["a@b.co"]}))
    assert main(["validate", "people", "--catalog", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "expectations[0] (expect_column_values_to_be_between)" in err[0]
    assert "Traceback" not in err[0]


def test_engine_option_and_catalog_key_choose_the_engine(tmp_path, capsys):
    suite = {"name": "people", "expectations": [{"type": NOT_NULL, "kwargs": {"column": "id"}}]}
    frame = pl.DataFrame({"id": [1, None], "email": ["a@b.co", "c@d.co"]})
    path = sandbox(tmp_path, suite, frame, engine="gx")
    ds = catalog.load(path).dataset("people")
    assert ds.engine == "gx"
    assert quality.validate(ds, as_of=AS_OF).checks[0].engine == "gx"
    assert quality.validate(ds, as_of=AS_OF, engine="duckdb").checks[0].engine == "ibis"
    out = tmp_path / "r.json"
    argv = ["validate", "people", "--catalog", str(path), "--engine", "polars"]
    assert main([*argv, "--json", str(out)]) == 1  # the default gate fails on the null
    assert json.loads(out.read_text())["checks"][0]["engine"] == "ibis"
    assert main(["validate", "people", "--catalog", str(path), "--engine", "pandas"]) == 2
    assert "--engine must be polars, duckdb, gx or spark" in capsys.readouterr().err


def test_catalog_engine_key_takes_only_the_known_engines(tmp_path):
    path = sandbox(tmp_path, {"expectations": []}, pl.DataFrame({"id": [1]}), engine="pandas")
    with pytest.raises(catalog.CatalogError, match="engine"):
        catalog.load(path)


def test_engine_is_chosen_by_size_unless_requested(monkeypatch):
    assert engine.choose(None, size_bytes=engine.DUCKDB_FROM_BYTES - 1) == "polars"
    assert engine.choose(None, size_bytes=engine.DUCKDB_FROM_BYTES) == "duckdb"
    assert engine.choose("gx", size_bytes=engine.DUCKDB_FROM_BYTES) == "gx"
    with pytest.raises(ValueError, match="engine must be one of"):
        engine.choose("pandas", size_bytes=1)


def test_duckdb_reads_parquet_itself(tmp_path):
    frame = pl.DataFrame({"id": [*range(10), 3], "s": ["a"] * 10 + [None]})
    frame.write_parquet(tmp_path / "t.parquet")
    entries = [
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": NOT_NULL, "kwargs": {"column": "s"}},
    ]
    run = run_suite(open_file(tmp_path / "t.parquet"), entries, params=PARAMS)
    assert [r["result"]["unexpected_count"] for r in run.results] == [2, 1]


def test_uncompiled_entries_run_on_gx_and_say_so(tmp_path):
    suite = {"name": "people", "expectations": [
        {"type": NOT_NULL, "kwargs": {"column": "id"}},
        {"type": "expect_column_values_to_match_strftime_format",
         "kwargs": {"column": "email", "strftime_format": "%Y"}},
    ]}  # fmt: skip
    path = sandbox(tmp_path, suite, pl.DataFrame({"id": [1, 2], "email": ["2020", "x"]}))
    r = quality.validate(catalog.load(path).dataset("people"), as_of=AS_OF, engine="polars")
    got = [(c.engine, c.status, c.unexpected_count) for c in r.checks[:2]]
    assert got == [("ibis", "passed", 0), ("gx", "failed", 1)]


def test_a_compiled_suite_never_imports_great_expectations():
    code = (
        "import sys\n"
        "from datetime import date\n"
        "from govlib import catalog, quality\n"
        f"cat = catalog.load({str(CATALOG)!r})\n"
        "r = quality.validate(cat.dataset('customers'), as_of=date(2025, 1, 31))\n"
        "print(r.counts['failed'], {c.engine for c in r.checks if c.source == 'gx'},"
        " 'great_expectations' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split("\n")[0] == "6 {'ibis'} False"


@pytest.mark.parametrize(
    ("text", "column", "op", "value"),
    [('col("a") >= 18', "a", ">=", 18), ("col(\"b\").NotNull()", "b", "notnull", None),
     ('col("c") != \'x y\'', "c", "!=", "x y"), ('col("d") < -1.5e3', "d", "<", -1500.0)],
)  # fmt: skip
def test_row_conditions_parse_as_gx_parses_them(text, column, op, value):
    cond = parse_condition(text)
    assert (cond.column, cond.op, cond.value) == (column, op, value)


def test_row_conditions_gx_refuses_or_reads_in_part_are_told_apart():
    with pytest.raises(ValueError, match="does not accept"):
        parse_condition('COL("a") > 1')
    with pytest.raises(Unsupported, match="text after the condition"):
        parse_condition('col("a") > 1 and col("b") < 2')


@pytest.mark.parametrize(
    ("pattern", "polars", "duckdb"),
    [(r"^\d{4}$", r"^\d{4}(?:\n?\z)", r"^\p{Nd}{4}(?:\n?\z)"), ("[$]", "[$]", "[$]"),
     ("(?s).*", "(?s).*", "(?s).*"), (r"a\s", "a[" + SPACE + "]", "a[" + SPACE + "]")],
)  # fmt: skip
def test_regexes_are_translated_for_each_backend(pattern, polars, duckdb):
    assert (translate(pattern, backend="polars"), translate(pattern, backend="duckdb")) == (
        polars,
        duckdb,
    )


@pytest.mark.parametrize("pattern", [r"\bword", r"(?=a)b", r"(a)\1", "(?i)abc", r"\w+", r"\Z"])
def test_regexes_read_differently_by_the_engines_are_left_to_gx(pattern):
    with pytest.raises(Unsupported):
        translate(pattern, backend="polars")


def test_quarantine_row_predicates_come_from_the_engine():
    frame = pl.DataFrame({"k": [1, 2, 3, 4], "s": ["x", "y", "y", "x\n"]})
    entries = [
        {"type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "s", "value_set": ["x"], "row_condition": 'col("k") > 2',
                    "condition_parser": "great_expectations"}},
        {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "s", "regex": "^x$"}},
    ]  # fmt: skip
    oks = [quality.row_predicate(e, as_of=AS_OF, schema=frame.schema) for e in entries]
    judged = frame.select(ok.alias(f"c{i}") for i, ok in enumerate(oks))
    # rows outside the condition are not judged; Python's `$` matches before a final newline
    assert judged.rows() == [(True, True), (True, False), (False, False), (False, True)]
    run = run_suite(open_frame(frame, "polars"), entries, params=PARAMS)
    counts = [r["result"]["unexpected_count"] for r in run.results]
    assert counts == [judged.height - judged[c].sum() for c in judged.columns] == [2, 2]
