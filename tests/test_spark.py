"""Spark: the same compiled checks and profile on PySpark, Spark reading the files; same answers.

One local[2] session serves every test here (`govlib.engine.spark.session` is one per process).
"""

import copy
import json
import math
import re
import shutil
import subprocess
import sys
from datetime import date

import polars as pl
import pytest
import yaml

from govlib import catalog, engine, profiling, quality, retention
from govlib.cli import main
from govlib.engine import spark
from govlib.engine.backends import open_frame
from govlib.engine.run import run_suite

from . import pg
from .conftest import CATALOG, ROOT
from .pg import pg_schema  # noqa: F401 (fixture)

pytestmark = pytest.mark.slow  # a Spark session starts in 10-40 s

AS_OF = date(2025, 1, 31)
PARAMS = engine.parameters(AS_OF)
ENGINES = ("polars", "duckdb", "spark")
# Observed floats (percentages, scores) may differ in the last bits between engines' sums.
REL_TOL = 1e-9


def spark_catalog(folder, names=None):
    """The sample catalog in `folder` with `names` (default: every dataset) on `engine: spark`."""
    raw = yaml.safe_load(CATALOG.read_text())
    raw["data_root"] = str(ROOT / "data" / "sample")
    for name, spec in raw["datasets"].items():
        if names is None or name in names:
            spec["engine"] = "spark"
    shutil.copytree(ROOT / "expectations", folder / "expectations")
    (folder / "catalog.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder / "catalog.yaml"


@pytest.fixture(scope="module")
def session():
    return spark.session()


def close(a, b):
    """Records equal, floats within REL_TOL (relative)."""
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture(scope="module")
def by_engine(sample_catalog, session):
    return {
        (name, e): quality.validate(sample_catalog.dataset(name), as_of=AS_OF, engine=e)
        for name in sample_catalog.names()
        for e in ENGINES
    }


@pytest.mark.parametrize("name", ["customers", "orders", "consent_events", "support_tickets"])
def test_sample_validation_is_the_same_on_polars_duckdb_and_spark(by_engine, name):
    records = {e: by_engine[name, e].to_dict() for e in ENGINES}
    assert close(records["spark"], records["polars"]), name
    assert close(records["duckdb"], records["polars"]), name
    assert {c.engine for c in by_engine[name, "spark"].checks if c.source == "gx"} == {"ibis"}


def test_spark_counts_the_planted_defects(by_engine, planted):
    customers, orders = by_engine["customers", "spark"], by_engine["orders", "spark"]

    def unexpected(result, check, column):
        [found] = [c for c in result.checks if c.check == check and c.column == column]
        return found.unexpected_count

    assert (
        unexpected(customers, "expect_column_values_to_not_be_null", "email")
        == planted["null_email"]
    )
    assert (
        unexpected(orders, "expect_column_values_to_be_between", "amount")
        == planted["negative_amount"]
    )
    assert unexpected(orders, "referential_integrity", "customer_id") == planted["orphan_order"]
    assert (customers.rows, customers.status) == (3045, "failed")


def test_spark_reads_the_source_files_itself(sample_catalog, session):
    data = spark.open_dataset(sample_catalog.dataset("support_tickets"), session)
    assert data.backend == "pyspark"
    [view] = [t.name for t in session.catalog.listTables() if t.name == data.table.get_name()]
    files = session.table(view).inputFiles()
    assert [f.rsplit("/", 1)[-1] for f in files] == ["support_tickets.csv.gz"]


# Values where Python, Java and the other engines read a pattern differently.
TRICKY = ["a.b", "axb", "a\nb", "a\rb", "a\u2028b", "\u0661\u0662", "12", "x\n", "x\v", "x\x0c"]


@pytest.mark.parametrize(
    "pattern", [r"^a\.b$", r"^a.b$", r"(?s)^a.b$", r"^\d+$", r"^x$", r"^x\v$", r"^x\s$", r"[&.]"]
)
def test_java_regexes_match_what_python_matches(session, pattern):
    frame = pl.DataFrame({"s": TRICKY})
    entry = {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "s", "regex": pattern},
    }
    [result] = run_suite(spark.open_frame(frame, session), [entry], params=PARAMS).results
    expected = sum(1 for v in TRICKY if not re.search(pattern, v))
    assert result["result"]["unexpected_count"] == expected


def write_catalog(tmp_path, source: dict, columns: dict, suite: list, **dataset) -> catalog.Catalog:
    (tmp_path / "expectations").mkdir(exist_ok=True)
    (tmp_path / "expectations" / "t.json").write_text(
        json.dumps({"name": "t", "expectations": suite})
    )
    doc = {"data_root": ".", "datasets": {"t": {
        "source": source, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "suite": "t", "columns": columns, **dataset}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return catalog.load(tmp_path / "catalog.yaml")


def test_a_parquet_glob_is_read_whole_by_spark(tmp_path, session):
    (tmp_path / "parts").mkdir()
    for part in range(3):
        ids = range(part * 10, part * 10 + 10)
        pl.DataFrame(
            {"id": list(ids), "v": [None if i % 7 == 0 else i * 0.5 for i in ids]}
        ).write_parquet(tmp_path / "parts" / f"p{part}.parquet")
    suite = [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "v"}},
        {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "id"}},
        {"type": "expect_column_mean_to_be_between", "kwargs": {"column": "v", "min_value": 0}},
    ]
    columns = {"id": {"type": "int64"}, "v": {"type": "float64"}}
    cat = write_catalog(tmp_path, {"path": "parts/*.parquet"}, columns, suite)
    results = {e: quality.validate(cat.dataset("t"), as_of=AS_OF, engine=e) for e in ENGINES}
    assert close(results["spark"].to_dict(), results["polars"].to_dict())
    assert [c.unexpected_count for c in results["spark"].checks] == [5, 0, 0]
    assert results["spark"].rows == 30


def test_csv_with_declared_formats_and_null_tokens_reads_as_polars_reads_it(tmp_path, session):
    (tmp_path / "t.csv").write_text(
        "id;born;seen;ok;amount\n"
        "1;31/12/1980;2024-01-02T03:04:05Z;true;1.5\n"
        "2;01/02/1990;2024-01-02 03:04:05+02:00;false;-\n"
        "3;-;2024-01-05T00:00:00;-;2.5\n"
    )
    columns = {"id": {"type": "int64"}, "born": {"type": "date", "format": "%d/%m/%Y"},
               "seen": {"type": "datetime"}, "ok": {"type": "bool"},
               "amount": {"type": "float64"}}  # fmt: skip
    suite = [
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "born", "min_value": "1985-01-01T00:00:00"}},
        {"type": "expect_column_values_to_be_between",
         "kwargs": {"column": "seen", "max_value": "2024-01-02T01:04:05"}},
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "ok"}},
        {"type": "expect_column_sum_to_be_between", "kwargs": {"column": "amount", "min_value": 4}},
    ]  # fmt: skip
    source = {"path": "t.csv", "delimiter": ";", "null_values": ["", "-"]}
    cat = write_catalog(tmp_path, source, columns, suite)
    results = {e: quality.validate(cat.dataset("t"), as_of=AS_OF, engine=e) for e in ENGINES}
    assert close(results["spark"].to_dict(), results["polars"].to_dict())
    # born before 1985: one row (one null); seen after 01:04:05 UTC: 03:04:05Z and the 5th
    # (+02:00 is 01:04:05 UTC, within); ok: one null; amounts sum to 4.0
    got = [(c.status, c.unexpected_count, c.missing_count) for c in results["spark"].checks]
    assert got == [("failed", 1, 1), ("failed", 2, 0), ("failed", 1, 0), ("passed", 0, 0)]


def test_engine_spark_from_the_cli_and_the_catalog(tmp_path, session, planted):
    out = tmp_path / "r.json"
    argv = ["validate", "orders", "--catalog", str(CATALOG), "--engine", "spark"]
    assert main([*argv, "--json", str(out)]) == 0  # orders pass the gate, defects and all
    checks = json.loads(out.read_text())["checks"]
    assert {c["engine"] for c in checks if c["source"] == "gx"} == {"ibis"}
    assert [c["unexpected_count"] for c in checks if c["check"] == "referential_integrity"] == [
        planted["orphan_order"]
    ]
    suite = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]
    # two columns: Spark's CSV reader skips blank lines, a one-column file's nulls among them
    pl.DataFrame({"id": [1, None], "s": ["a", "b"]}).write_csv(tmp_path / "t.csv")
    columns = {"id": {"type": "int64"}, "s": {"type": "string"}}
    cat = write_catalog(tmp_path, {"path": "t.csv"}, columns, suite, engine="spark")
    assert cat.dataset("t").engine == "spark"
    assert quality.validate(cat.dataset("t"), as_of=AS_OF).checks[0].unexpected_count == 1


def test_a_frame_in_memory_runs_on_spark_too(frames, session):
    entries = quality.read_suite(ROOT / "expectations" / "orders.json")["expectations"]
    on_spark = run_suite(open_frame(frames["orders"], "spark"), entries, params=PARAMS)
    on_polars = run_suite(open_frame(frames["orders"], "polars"), entries, params=PARAMS)
    assert on_spark.results == on_polars.results


def test_without_pyspark_the_spark_engine_is_a_usage_error_naming_the_extra():
    code = (
        "import sys\n"
        "sys.modules['pyspark'] = None  # as if the spark extra were not installed\n"
        "from govlib.cli import main\n"
        f"argv = ['validate', 'orders', '--catalog', {str(CATALOG)!r}, '--engine', 'spark']\n"
        "sys.exit(main(argv))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "pip install govlib[spark]" in lines[0]


def test_sample_profiles_are_the_same_on_spark_as_on_polars(tmp_path, sample_catalog, session):
    on_spark = catalog.load(spark_catalog(tmp_path))
    for name in sample_catalog.names():
        polars = profiling.profile_dataset(sample_catalog.dataset(name), as_of=AS_OF)
        spark_profile = profiling.profile_dataset(on_spark.dataset(name), as_of=AS_OF)
        assert close(spark_profile.to_dict(), polars.to_dict()), name


def test_govlib_profile_runs_a_spark_dataset_on_spark(
    tmp_path, sample_catalog, session, monkeypatch
):
    path = spark_catalog(tmp_path, ["orders"])
    opened = []
    real = spark.open_dataset
    monkeypatch.setattr(spark, "open_dataset", lambda *a, **k: opened.append(a) or real(*a, **k))
    out = tmp_path / "orders.json"
    assert main(["profile", "orders", "--catalog", str(path), "--json", str(out)]) == 0
    assert len(opened) == 1  # Spark read the file, not polars
    polars = profiling.profile_dataset(sample_catalog.dataset("orders"), as_of=AS_OF)
    assert close(json.loads(out.read_text()), json.loads(json.dumps(polars.to_dict(), default=str)))


def test_spark_samples_a_larger_table_seeded_in_key_order(sample_catalog, session):
    data = spark.open_dataset(sample_catalog.dataset("customers"), session)
    ds = sample_catalog.dataset("customers")
    first, again = (spark.sample(data, ds, 500, ["email", "customer_id"]) for _ in range(2))
    assert first.equals(again)
    assert 0 < first.height <= 500
    assert first["customer_id"].is_sorted()
    assert spark.sample(data, ds, 5000, ["email"]).height == 3045  # a smaller table: whole


FIVE = ("polars", "duckdb-file", "sqlite", "postgres", "spark")


@pytest.fixture(scope="module")
def five(tmp_path_factory, sample_catalog, frames, pg_schema, session):  # noqa: F811
    """The sample's datasets where each of the five backends reads them."""
    folder = tmp_path_factory.mktemp("five")
    files = pg.file_catalogs(folder, sample_catalog, frames)
    on_pg = pg.postgres_catalog(folder / "pg", pg_schema, "GOVLIB_TEST_PG_FIVE_URL", list(frames))
    on_spark = spark_catalog(folder / "spark")
    return {
        "polars": sample_catalog,
        "duckdb-file": catalog.load(files["duckdb"]),
        "sqlite": catalog.load(files["sqlite"]),
        "postgres": catalog.load(on_pg),
        "spark": catalog.load(on_spark),
    }


@pytest.mark.parametrize("name", ["customers", "orders", "consent_events", "support_tickets"])
def test_suites_and_profiles_agree_on_all_five_backends(five, name):
    """polars, a DuckDB file, SQLite, PostgreSQL and Spark: the same records (floats REL_TOL)."""
    validated = {
        k: quality.validate(c.dataset(name), as_of=AS_OF).to_dict() for k, c in five.items()
    }
    profiled = {
        k: profiling.profile_dataset(c.dataset(name), as_of=AS_OF).to_dict()
        for k, c in five.items()
    }
    judged = {
        k: retention.evaluate(c.dataset(name), as_of=AS_OF).to_dict() for k, c in five.items()
    }
    for backend in FIVE[1:]:
        assert close(validated[backend], validated["polars"]), (name, backend)
        assert close(profiled[backend], profiled["polars"]), (name, backend)
        assert judged[backend] == judged["polars"], (name, backend)
    assert validated["polars"]["checks"]  # the records compared are not empty


def test_retention_on_spark_counts_the_planted_overdue_records(tmp_path, session):
    """Spark reads customers and the consent log itself; the CLI's --engine spark says the same."""
    out = {}
    for engine_name in ("polars", "spark"):
        out[engine_name] = tmp_path / f"{engine_name}.json"
        code = main(["retention", "check", "customers", "--catalog", str(CATALOG),
                     "--engine", engine_name, "--json", str(out[engine_name])])  # fmt: skip
        assert code == 1  # the sample plants overdue records
    on_spark = json.loads(out["spark"].read_text())
    assert on_spark == json.loads(out["polars"].read_text())
    assert [(r["rule"], r["overdue"]) for r in on_spark["rules"]] == [
        ("closed_accounts", 60),
        ("inactive_accounts", 60),
    ]
    assert on_spark["consent"]  # judged from the event log, joined by Spark


def test_duplicate_subjects_on_spark_equal_identitys_on_hostile_values(tmp_path, session):
    """E-mail keys in Spark SQL and phone candidates as in a database: the counts polars gives."""
    from govlib import identity
    from govlib.quality.rules import email_key_expr

    from .test_pushdown import EMAILS, EXOTIC, PEOPLE_CATALOG, PHONES, people

    frames = {"regular": people(EMAILS).vstack(people(PHONES, 100)), "exotic": people(EXOTIC)}
    raw = copy.deepcopy(PEOPLE_CATALOG)
    spec = raw["datasets"].pop("people")
    (tmp_path / "data").mkdir()
    for name, frame in frames.items():
        frame.write_parquet(tmp_path / "data" / f"{name}.parquet")
        raw["datasets"][name] = {
            **copy.deepcopy(spec),  # a copy each: no YAML aliases
            "source": {"path": f"{name}.parquet"},
            "engine": "spark",
        }
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    cat = catalog.load(tmp_path / "catalog.yaml")
    regular = spark.open_dataset(cat.dataset("regular"), session)
    t = regular.table
    rows = regular.rows(t.select("row_id", k=email_key_expr(t.email, regular.backend)))
    want = frames["regular"].select(identity.email_keys(pl.col("email")).alias("k"))["k"]
    assert [r["k"] for r in sorted(rows, key=lambda r: r["row_id"])] == want.to_list()
    on_spark = quality.duplicate_subjects(cat.dataset("regular"), regular)
    assert on_spark == quality.duplicate_subjects(cat.dataset("regular"), frames["regular"])
    assert {c.column: c.unexpected_count for c in on_spark} == {"email": 11, "phone": 9}
    exotic = spark.open_dataset(cat.dataset("exotic"), session)
    missed = quality.duplicate_subjects(cat.dataset("exotic"), exotic)  # as in a database
    assert [c.unexpected_count for c in missed if c.column == "phone"] == [0]
