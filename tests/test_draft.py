"""Drafting catalog entries from data files."""

import gzip
import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from govlib import catalog, draft, profiling, sources
from govlib.errors import GovlibError, SourceError

AS_OF = date(2025, 1, 31)
CUSTOMERS = "customer_id,email,signed_up,last_seen\n" + "".join(
    f"{i},person{i}@example.org,{(i % 28) + 1:02d}/03/2021,2024-01-{(i % 28) + 1:02d}T10:00Z\n"
    for i in range(1, 41)
)
ORDERS = "order_id,customer_id,total\n" + "".join(
    f"{100 + i},{(i % 40) + 1},{i}.5\n" for i in range(60)
)


@pytest.fixture
def files(tmp_path) -> list[Path]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "customers.csv").write_text(CUSTOMERS)
    (data / "orders.csv").write_text(ORDERS)
    return [data / "customers.csv", data / "orders.csv"]


def test_a_draft_loads_with_every_todo_listed_as_incomplete(tmp_path, files):
    d = draft.draft_catalog(files, catalog_path=tmp_path / "catalog.yaml", as_of=AS_OF)
    draft.write(d)
    cat = catalog.load(tmp_path / "catalog.yaml")
    assert cat.names() == ["customers", "orders"]
    keys = ["owner", "steward", "purpose", "lawful_basis", "data_subjects"]
    assert cat.incomplete() == [(n, k) for n in ("customers", "orders") for k in keys]
    customers = cat.dataset("customers")
    assert {c: (s.type, s.format, s.pii) for c, s in customers.columns.items()} == {
        "customer_id": ("int64", None, "person_id"),
        "email": ("string", None, "email"),
        "signed_up": ("date", "%d/%m/%Y", None),
        "last_seen": ("datetime", None, None),
    }
    assert customers.primary_key == ["customer_id"]
    assert cat.dataset("orders").primary_key == ["order_id"]
    assert [r.model_dump() for r in cat.dataset("orders").relationships] == [
        {"column": "customer_id", "references": "customers.customer_id"}
    ]
    assert sources.scan(customers).collect().height == 40


def test_the_evidence_is_a_comment_of_shares_and_counts_never_a_value(tmp_path, files):
    text = draft.draft_catalog(files, catalog_path=tmp_path / "c.yaml", as_of=AS_OF).text
    assert "  email:  # detected: email, 100% of 40 sampled values\n" in text
    assert "# drafted from customers.csv: 40 rows, 4 columns; PII detected on 40 sampled" in text
    assert "example.org" not in text
    assert "person1" not in text


def test_a_sample_bounds_what_detection_reads(tmp_path, files):
    d = draft.draft_catalog(files, catalog_path=tmp_path / "c.yaml", as_of=AS_OF, sample_rows=7)
    assert [e.sampled_rows for e in d.entries] == [7, 7]
    assert "  email:  # detected: email, 100% of 7 sampled values\n" in d.text


def test_no_relationship_when_a_value_is_missing_from_the_key(tmp_path, files):
    files[1].write_text(ORDERS + "999,41,1.0\n")
    d = draft.draft_catalog(files, catalog_path=tmp_path / "c.yaml", as_of=AS_OF)
    assert [e.relationships for e in d.entries] == [[], []]


def test_appending_keeps_what_a_person_wrote(tmp_path, files):
    path = tmp_path / "catalog.yaml"
    draft.write(draft.draft_catalog(files[:1], catalog_path=path, as_of=AS_OF))
    edited = path.read_text().replace("owner: TODO", "owner: 'Ada'  # asked in May") + (
        "# the gate below is agreed with finance\ngate:\n  overall: 90\n"
    )
    path.write_text(edited)
    d = draft.draft_catalog(files[1:], catalog_path=path, as_of=AS_OF)
    assert not d.created
    assert d.text.startswith(edited.split("# the gate below")[0])
    assert d.text.endswith("# the gate below is agreed with finance\ngate:\n  overall: 90\n")
    draft.write(d)
    cat = catalog.load(path)
    assert (cat.names(), cat.dataset("customers").owner, cat.gate.overall) == (
        ["customers", "orders"],
        "Ada",
        90,
    )
    assert cat.dataset("orders").relationships == []  # only between the files drafted together


def test_a_name_the_catalog_holds_is_refused(tmp_path, files):
    path = tmp_path / "catalog.yaml"
    draft.write(draft.draft_catalog(files, catalog_path=path, as_of=AS_OF))
    before = path.read_text()
    with pytest.raises(GovlibError, match=r"already declares a dataset called 'orders'"):
        draft.draft_catalog(files[1:], catalog_path=path, as_of=AS_OF)
    assert path.read_text() == before


def test_two_files_of_one_name_are_refused(tmp_path, files):
    (tmp_path / "other").mkdir()
    twin = tmp_path / "other" / "Orders.csv"
    twin.write_text(ORDERS)
    with pytest.raises(GovlibError, match=r"two files give a dataset called 'orders'"):
        draft.draft_catalog([files[1], twin], catalog_path=tmp_path / "c.yaml", as_of=AS_OF)


def test_files_outside_the_catalog_folder_set_the_data_root(tmp_path, files):
    (tmp_path / "meta").mkdir()
    path = tmp_path / "meta" / "catalog.yaml"
    draft.write(draft.draft_catalog(files, catalog_path=path, as_of=AS_OF))
    cat = catalog.load(path)
    assert (cat.data_root, cat.dataset("orders").source.path) == ("../data", "orders.csv")
    assert sources.scan(cat.dataset("orders")).collect().height == 60


def test_a_file_outside_an_existing_data_root_is_refused(tmp_path, files):
    (tmp_path / "meta").mkdir()
    path = tmp_path / "meta" / "catalog.yaml"
    draft.write(draft.draft_catalog(files[:1], catalog_path=path, as_of=AS_OF))
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(ORDERS)
    with pytest.raises(GovlibError, match=r"is outside the catalog's data root"):
        draft.draft_catalog([outside], catalog_path=path, as_of=AS_OF)


def test_a_flow_style_datasets_block_is_refused_untouched(tmp_path, files):
    path = tmp_path / "catalog.yaml"
    path.write_text("datasets: {}\n")
    with pytest.raises(GovlibError, match=r"no block 'datasets:' line at the top level"):
        draft.draft_catalog(files, catalog_path=path, as_of=AS_OF)
    assert path.read_text() == "datasets: {}\n"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("la-riots.csv", "la_riots"),
        ("People.parquet", "people"),
        ("2024 sales.csv.gz", "d_2024_sales"),
        ("données.ndjson", "donnees"),
        ("名前.csv", "dataset"),
        ("a.b.c.csv", "a_b_c"),
    ],
)
def test_dataset_names_are_identifiers(name, expected):
    assert draft.dataset_name(name) == expected


def test_gzip_ndjson_and_parquet_are_drafted(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    with gzip.open(data / "events.csv.gz", "wt") as fh:
        fh.write("user_id,at\nab12,2020-01-01 10:00\ncd34,2020-01-02 11:00\n")
    (data / "logins.ndjson").write_text(
        "".join(json.dumps({"user_id": u, "ok": "true"}) + "\n" for u in ("ab12", "cd34"))
    )
    pl.DataFrame({"user_id": ["ab12", "cd34"], "n": [1, 2]}).write_parquet(data / "users.parquet")
    paths = sorted(data.iterdir())
    d = draft.draft_catalog(paths, catalog_path=tmp_path / "catalog.yaml", as_of=AS_OF)
    draft.write(d)
    cat = catalog.load(tmp_path / "catalog.yaml")
    assert {n: cat.dataset(n).source.format for n in cat.names()} == {
        "events": "csv",
        "logins": "ndjson",
        "users": "parquet",
    }
    assert cat.dataset("logins").schema() == {"user_id": "string", "ok": "bool"}
    # Unique columns of one name point one way only: from a later file to an earlier one.
    assert [(e.dataset, [r["references"] for r in e.relationships]) for e in d.entries] == [
        ("events", []),
        ("logins", ["events.user_id"]),
        ("users", ["events.user_id", "logins.user_id"]),
    ]
    assert [(e.dataset, e.key_candidates) for e in d.entries] == [
        ("events", ["user_id"]),
        ("logins", ["user_id"]),
        ("users", ["user_id", "n"]),
    ]


def test_an_unreadable_file_is_one_clear_error(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(GovlibError, match=r"is a zip archive"):
        draft.draft_catalog([tmp_path / "x.csv"], catalog_path=tmp_path / "c.yaml")


# -- generated frames ------------------------------------------------------------------------

_NAMES = (
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp", "Z"]),
        min_size=1,
        max_size=12,
    )
    .filter(lambda s: s.strip() == s and "," not in s and '"' not in s)
    .filter(lambda s: not sources._LOOKS_LIKE_VALUE.match(s))  # a header refused, rightly
)


@st.composite
def frames(draw) -> pl.DataFrame:
    rows = draw(st.integers(min_value=0, max_value=6))
    names = draw(st.lists(_NAMES, min_size=1, max_size=5, unique_by=str.lower))
    kinds = st.sampled_from(["hex", "int", "text", "null", "date", "email"])
    columns = {}
    for i, name in enumerate(names):
        kind = draw(kinds)
        values = {
            "hex": [f"{(i * 7919 + r * 104729):08x}" for r in range(rows)],
            "int": [r * 3 + i for r in range(rows)],
            "text": [draw(st.text(max_size=8)) for _ in range(rows)],
            "null": [None] * rows,
            "date": [f"{(r % 28) + 1:02d}/12/2020 10:0{r % 10}" for r in range(rows)],
            "email": [f"u{r}@example.org" for r in range(rows)],
        }[kind]
        columns[name] = pl.Series(name, values, dtype=pl.Int64 if kind == "int" else pl.String)
    return pl.DataFrame(columns)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(frames(), st.sampled_from(["csv", "parquet", "ndjson"]))
def test_any_generated_frame_drafts_a_catalog_that_loads_and_profiles(tmp_path, frame, fmt):
    folder = tmp_path / f"case{abs(hash((frame.shape, tuple(frame.columns), fmt)))}"
    folder.mkdir(exist_ok=True)
    path = folder / f"generated.{fmt}"
    assume(fmt != "ndjson" or frame.height > 0)  # an empty NDJSON file has no columns
    if fmt == "csv":
        frame.write_csv(path)
    elif fmt == "parquet":
        frame.write_parquet(path)
    else:
        frame.write_ndjson(path)
    cat_path = folder / "catalog.yaml"
    cat_path.unlink(missing_ok=True)
    looks_delimited = (
        fmt == "csv" and frame.width == 1 and any(c in frame.columns[0] for c in ";\t|")
    )
    holds_nul = fmt == "csv" and any(
        "\x00" in str(v) for col in frame.iter_columns() for v in [col.name, *col.to_list()]
    )
    if holds_nul:  # a NUL byte marks a binary file: refused in one line
        with pytest.raises(SourceError, match="holds binary data"):
            draft.draft_catalog([path], catalog_path=cat_path, as_of=AS_OF)
        return
    if any(catalog.reads_as_pattern(n) for n in frame.columns):  # polars cannot address it
        with pytest.raises(SourceError, match=r"read by polars as a wildcard"):
            draft.draft_catalog([path], catalog_path=cat_path, as_of=AS_OF)
        return
    if looks_delimited:  # a lone header holding another delimiter: refused in one line
        with pytest.raises(SourceError, match=r"seems to be .*-delimited"):
            draft.draft_catalog([path], catalog_path=cat_path, as_of=AS_OF)
        return
    d = draft.draft_catalog([path], catalog_path=cat_path, as_of=AS_OF)
    draft.write(d)
    ds = catalog.load(cat_path).dataset("generated")
    assert list(ds.columns) == frame.columns
    lf = sources.scan(ds)
    result = profiling.profile(lf, dataset="generated", as_of=AS_OF, declared=ds)
    assert result.rows == frame.height


def test_file_names_yaml_reads_as_null_or_true_and_names_with_line_breaks_draft_cleanly(tmp_path):
    for stem in ("null", "yes"):
        (tmp_path / f"{stem}.csv").write_text('id,"na\nme",x\n1,a,b\n2,c,d\n')
    cat_path = tmp_path / "catalog.yaml"
    draft.write(draft.draft_catalog(
        [tmp_path / "null.csv", tmp_path / "yes.csv"], catalog_path=cat_path, as_of=AS_OF
    ))  # fmt: skip
    cat = catalog.load(cat_path)
    assert cat.names() == ["null", "yes"]
    assert list(cat.dataset("null").columns) == ["id", "na\nme", "x"]


def test_a_catalog_in_a_missing_folder_is_one_clear_error(tmp_path):
    (tmp_path / "x.csv").write_text("id,name\n1,a\n")
    d = draft.draft_catalog([tmp_path / "x.csv"], catalog_path=tmp_path / "nodir" / "c.yaml")
    with pytest.raises(GovlibError, match="no such folder for the catalog; create it first"):
        draft.write(d)


def test_a_column_name_too_long_for_a_catalog_key_is_one_clear_error(tmp_path):
    (tmp_path / "x.csv").write_text("id," + "n" * 10_000 + "\n1,a\n")
    with pytest.raises(SourceError, match="column 2's name has 10,000 characters; a catalog key"):
        draft.draft_catalog([tmp_path / "x.csv"], catalog_path=tmp_path / "c.yaml")
    assert not (tmp_path / "c.yaml").exists()


def test_columns_named_as_places_and_special_categories_are_drafted_personal(tmp_path):
    from .test_realdata import packaged

    riots = tmp_path / "la-riots.csv"
    riots.write_bytes(packaged("vega_datasets", "_data/la-riots.csv").read_bytes())
    d = draft.draft_catalog([riots], catalog_path=tmp_path / "catalog.yaml")
    draft.write(d)
    columns = catalog.load(tmp_path / "catalog.yaml").dataset("la_riots").columns
    personal = {name: str(spec.category) for name, spec in columns.items() if spec.personal}
    assert personal == {
        "first_name": "direct_identifier", "last_name": "direct_identifier",
        "age": "quasi_identifier", "gender": "quasi_identifier", "race": "sensitive",
        "address": "quasi_identifier", "longitude": "quasi_identifier",
        "latitude": "quasi_identifier",
    }  # fmt: skip
    assert "category: sensitive  # by its name (special-category data): check it" in d.text
