"""Profiles computed inside databases: the same records as files, and only aggregates fetched."""

from __future__ import annotations

import json
import math
import os
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib import catalog, profiling, sources
from govlib.cli import main
from govlib.profiling import DatasetProfile

from . import pg
from .conftest import CATALOG, SAMPLE
from .pg import pg_schema  # noqa: F401 (fixture)
from .test_databases import NAMES, db_catalog, file_catalogs, pg_catalog  # noqa: F401 (fixtures)

AS_OF = date(2025, 1, 31)
EDGE_ENV = "GOVLIB_TEST_PG_EDGE_URL"
REL = 1e-9  # floats: the database sums in another order (PostgreSQL's NUMERIC exactly)


def same(got: object, want: object, where: str = "") -> None:
    """Equal records, floats within `REL` (or one unit of the 6th decimal they are rounded to)."""
    if isinstance(got, float) and isinstance(want, float):
        assert math.isclose(got, want, rel_tol=REL, abs_tol=1.01e-6), (where, got, want)
    elif isinstance(got, dict) and isinstance(want, dict):
        assert got.keys() == want.keys(), where
        for key in want:
            same(got[key], want[key], f"{where}.{key}")
    elif isinstance(got, list) and isinstance(want, list):
        assert len(got) == len(want), (where, got, want)
        for i, (x, y) in enumerate(zip(got, want, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


@pytest.fixture(scope="module")
def file_profiles() -> dict[str, dict]:
    cat = catalog.load(CATALOG)
    return {
        n: profiling.profile(
            sources.scan(cat.dataset(n)), dataset=n, as_of=AS_OF, declared=cat.dataset(n)
        ).to_dict()
        for n in NAMES
    }


@pytest.mark.parametrize("name", NAMES)
def test_database_profile_equals_the_file_profile(db_catalog, file_profiles, name):  # noqa: F811
    got = profiling.profile_dataset(catalog.load(db_catalog).dataset(name), as_of=AS_OF)
    same(got.to_dict(), file_profiles[name], name)


def test_an_empty_query_profiles_as_an_empty_file(db_catalog, frames, tmp_path):  # noqa: F811
    raw = yaml.safe_load(db_catalog.read_text())
    source = raw["datasets"]["customers"]["source"]
    source.pop("table")
    source["query"] = "select * from customers where status = 'no such status'"
    (db_catalog.parent / "empty.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    ds = catalog.load(db_catalog.parent / "empty.yaml").dataset("customers")
    got = profiling.profile_dataset(ds, as_of=AS_OF)
    empty = frames["customers"].head(0).lazy()
    want = profiling.profile(empty, dataset="customers", as_of=AS_OF, declared=ds)
    assert got.rows == 0
    same(got.to_dict(), want.to_dict(), "empty")


def publishing(path: Path, out: Path, data_root: Path | None = None) -> Path:
    """Catalog `path` with every numeric and temporal column `publish: values`, written to `out`.

    The sample publishes no such column; published, they get quantiles, histograms and held
    minimum and maximum, which are computed by other queries than the aggregates.
    """
    raw = yaml.safe_load(path.read_text())
    if data_root is not None:
        raw["data_root"] = str(data_root)
    for ds in raw["datasets"].values():
        for spec in ds["columns"].values():
            if spec["type"] in ("int64", "float64", "date", "datetime") and "pii" not in spec:
                spec["publish"] = "values"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_published_values_equal_the_file_profile(db_catalog, tmp_path, name):  # noqa: F811
    files = catalog.load(publishing(CATALOG, tmp_path / "files.yaml", SAMPLE)).dataset(name)
    want = profiling.profile(sources.scan(files), dataset=name, as_of=AS_OF, declared=files)
    published = publishing(db_catalog, db_catalog.parent / "published.yaml")
    got = profiling.profile_dataset(catalog.load(published).dataset(name), as_of=AS_OF)
    shown = [c for c in want.column_profiles if c.quantiles]
    assert shown, "no column publishes its quantiles"
    same(got.to_dict(), want.to_dict(), name)


# -- edge cases: ties, duplicates, whitespace, multi-byte text, future dates, histogram edges ---

LABELS = [*"a" * 10, *"b" * 10, *"é" * 5, *"ß" * 5]  # ties: ß and é, 5 rows each
BLANK = [" ", "\u00a0", "\u3000", " \t", ""]  # what polars strips: empty
CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111\t1111\t1111\u30001111",  # any whitespace separates
    "4111111111111112",  # fails Luhn
    "**** **** **** 1111",
    "5500 0000 0000 0004",
    "12345",
    "4111 1111 1111 1111 0000 00",  # too long
    "6011000990139424",
    "4111x1111111111111",
    None,
]
LAST_MOMENT = datetime(2025, 1, 31, 23, 59, 59, 999_999)  # of as_of: not yet future
EDGE = pl.DataFrame(
    {
        "id": [*range(1, 41), 5],  # a duplicate key
        "label": [*LABELS, *BLANK, None, "x\u200b", "zz", "zz", "zz", "a"],
        "amount": [float(i % 8) - 1.0 for i in range(40)] + [2.5],  # 2.5: a histogram edge
        "flag": [True, False, None] * 13 + [True, True],
        "happened": [LAST_MOMENT + timedelta(hours=i - 30) for i in range(40)]
        + [datetime(2025, 2, 1)],  # 11 after as_of
        "day": [date(2025, 1, 1) + timedelta(days=i) for i in range(40)] + [date(2025, 2, 1)],
        "nothing": pl.Series([None] * 41, dtype=pl.String),
        "constant": [7] * 41,
        "card": CARDS * 3 + CARDS[:1] * 8,
    }
)
EDGE = pl.concat([EDGE, EDGE[39:40]])  # a duplicate row
EDGE_CATALOG = {
    "version": 1,
    "as_of": AS_OF.isoformat(),
    "data_root": "data",
    "datasets": {
        "edge": {
            "description": "Edge cases of every statistic.",
            "source": {"path": "edge.parquet"},
            "primary_key": ["id"],
            "owner": "Tests",
            "steward": "Tests",
            "purpose": "Testing.",
            "lawful_basis": "legitimate_interests",
            "columns": {
                "id": {"type": "int64"},
                "label": {"type": "string", "publish": "values"},
                "amount": {"type": "float64", "publish": "values"},
                "flag": {"type": "bool", "publish": "values"},
                "happened": {"type": "datetime", "publish": "values"},
                "day": {"type": "date", "publish": "values"},
                "nothing": {"type": "string"},
                "constant": {"type": "int64", "publish": "values"},
                "card": {"type": "string", "pii": "payment_card", "masked": True},
            },
        }
    },
}


def edge_catalog(folder: Path, source: dict[str, str]) -> Path:
    raw = json.loads(json.dumps(EDGE_CATALOG))
    raw["datasets"]["edge"]["source"] = source
    (folder / "data").mkdir(parents=True, exist_ok=True)
    path = folder / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def edge_catalogs(tmp_path_factory) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("edge")
    made = {"file": edge_catalog(folder / "file", {"path": "edge.parquet"})}
    EDGE.write_parquet(folder / "file" / "data" / "edge.parquet")
    cat = catalog.load(made["file"])
    for kind in ("sqlite", "duckdb"):
        made[kind] = edge_catalog(folder / kind, {"uri": f"{kind}:///edge.{kind}", "table": "edge"})
    pg.write_sqlite(folder / "sqlite" / "data" / "edge.sqlite", cat, {"edge": EDGE})
    pg.write_duckdb(folder / "duckdb" / "data" / "edge.duckdb", {"edge": EDGE})
    url = pg.postgres_url()
    schema = f"govlib_edge_{secrets.token_hex(4)}"
    pg.load_postgres(url, schema, cat, {"edge": EDGE})
    os.environ[EDGE_ENV] = pg.schema_url(url, schema)
    made["postgres"] = edge_catalog(folder / "postgres", {"uri_env": EDGE_ENV, "table": "edge"})
    try:
        yield made
    finally:
        pg.drop_postgres(url, schema)


@pytest.mark.parametrize("kind", ["sqlite", "duckdb", "postgres"])
def test_edge_cases_equal_the_file_profile(edge_catalogs, kind):
    file = catalog.load(edge_catalogs["file"]).dataset("edge")
    want = profiling.profile(sources.scan(file), dataset="edge", as_of=AS_OF, declared=file)
    got = profiling.profile_dataset(catalog.load(edge_catalogs[kind]).dataset("edge"), as_of=AS_OF)
    assert (want.duplicate_rows, want.duplicate_keys) == (1, 2)
    label, amount = want.column("label"), want.column("amount")
    assert label.empty == len(BLANK)
    assert label.top_values
    assert amount.histogram
    assert amount.quantiles
    assert [f.count for f in want.findings if f.finding == "unmasked_card"] == [24]
    assert (want.column("happened").future, want.column("day").future) == (11, 11)
    same(got.to_dict(), want.to_dict(), kind)


# -- 200,000 generated customers: the profile fetches a bounded sample and aggregates only ------

BIG_ENV = "GOVLIB_TEST_PG_BIG_URL"
SAMPLE_ROWS = 20_000
AGGREGATE_ROWS = 300  # counts, groups of at most 51 values, Ibis' schema look-ups


def copy_csv(url: str, schema: str, name: str, types: dict[str, str], frame: pl.DataFrame) -> None:
    """`frame` as table `schema.name` in PostgreSQL: one COPY of its CSV text, not row by row."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as con, con.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(pg.ddl(f"{schema}.{name}", name, types, postgres=True))
        with cur.copy(f"COPY {schema}.{name} FROM STDIN (FORMAT csv)") as copy:
            copy.write(frame.write_csv(include_header=False))


@pytest.fixture(scope="module")
def big(tmp_path_factory, sample_catalog) -> Iterator[tuple[Path, pl.DataFrame]]:
    """200,000 generated customers (with their planted duplicates) in PostgreSQL."""
    from govlib import sampledata

    frame = sampledata.generate(customers=200_000, seed=11, reference_date=AS_OF).frames[
        "customers"
    ]
    url = pg.postgres_url()
    schema = f"govlib_big_{secrets.token_hex(4)}"
    copy_csv(url, schema, "customers", sample_catalog.dataset("customers").schema(), frame)
    os.environ[BIG_ENV] = pg.schema_url(url, schema)
    folder = tmp_path_factory.mktemp("big")
    path = pg.database_catalog(folder, {"customers": {"uri_env": BIG_ENV, "table": "customers"}})
    try:
        yield path, frame
    finally:
        pg.drop_postgres(url, schema)


def test_the_fetch_counter_sees_a_whole_table_read(big):
    path, frame = big
    with pg.count_fetched() as fetched:
        sources.scan(catalog.load(path).dataset("customers")).collect()
    assert fetched.rows >= frame.height


def test_profile_of_200000_customers_fetches_a_sample_and_aggregates(big, tmp_path):
    path, frame = big
    out = tmp_path / "profile.json"
    with pg.count_fetched() as fetched:
        code = main(["profile", "customers", "--catalog", str(path), "--json", str(out)])
    assert code == 0
    got = DatasetProfile.load(out)
    assert got.rows == frame.height > 200_000
    assert 0.9 * SAMPLE_ROWS <= got.sampled_rows <= SAMPLE_ROWS
    largest = max(fetched.statements, key=lambda s: s[1])
    assert largest[1] == got.sampled_rows  # the sample is the one large result
    assert fetched.rows <= SAMPLE_ROWS + AGGREGATE_ROWS, sorted(fetched.statements)[-10:]
    assert fetched.rows - got.sampled_rows < AGGREGATE_ROWS


def test_the_analyst_api_profiles_inside_the_database_as_polars_does(big):
    import govlib

    path, frame = big
    handle = govlib.open("customers", catalog=path, as_of=AS_OF)
    with pg.count_fetched() as fetched:
        got = handle.profile()
    assert fetched.rows <= got.sampled_rows + AGGREGATE_ROWS  # the table was never loaded
    want = profiling.profile(frame.lazy(), dataset="customers", as_of=AS_OF, declared=handle.spec)
    assert (got.rows, got.size_bytes) == (want.rows, want.size_bytes)
    assert (got.duplicate_rows, got.duplicate_keys) == (want.duplicate_rows, want.duplicate_keys)
    sampled = {"shapes", "suppressed", "alerts", "personal", "pii_kind", "category"}
    for g, w in zip(got.column_profiles, want.column_profiles, strict=True):
        drop = sampled if w.kind == "string" else set()
        g_stats = {k: v for k, v in g.to_dict().items() if k not in drop}
        same(g_stats, {k: v for k, v in w.to_dict().items() if k not in drop}, w.column)
