import hashlib
import json
from datetime import date

import polars as pl

from govlib import profiling, sources
from govlib.cli import main
from govlib.pii import CatalogFinding, PiiFinding
from govlib.profiling import DatasetProfile, profile
from govlib.profiling.kinds import cols
from govlib.profiling.statistics import QUANTILES, Measure, Stat, collect, value_statistics
from tests.test_publish import declared

AS_OF = date(2025, 1, 31)


def test_profile_counts_nulls_and_distinct_non_null():
    lf = pl.LazyFrame({"email": ["a@x.io", None, "a@x.io"]})
    [p] = profiling.profile_columns(lf, dataset="t", as_of=AS_OF)
    assert (p.rows, p.nulls, p.distinct) == (3, 1, 1)


def test_numeric_temporal_and_string_statistics():
    lf = pl.LazyFrame(
        {
            "amount": [-5.0, 0.0, 10.0, 20.0, None],
            "when": [date(2024, 1, 1), date(2025, 3, 1), None, date(2026, 1, 1), date(2020, 5, 5)],
            "code": ["ab", "  ", "abcd", None, "ab"],
        }
    )
    p = profile(lf, dataset="t", as_of=AS_OF)
    amount, when, code = p.column_profiles
    assert (amount.zeros, amount.negatives) == (1, 1)
    # ad hoc: no values, and 4 rows are too few for an aggregate of values
    assert (amount.min, amount.max, amount.mean, amount.quantiles, amount.histogram) == (
        None, None, None, None, None,
    )  # fmt: skip
    assert (when.min, when.max, when.future) == (None, None, 2)
    assert (code.length_min, code.length_max, code.empty) == (2, 4, 1)
    assert p.duplicate_rows == 0


def test_publishable_columns_keep_values_held_by_k_rows():
    lf = pl.LazyFrame(
        {
            "amount": [-5.0] * 5 + [0.0, 10.0] + [20.0] * 6 + [None],
            "when": [date(2020, 5, 5)] * 6 + [date(2019, 1, 1)] + [date(2026, 1, 1)] * 7,
        }
    )
    spec = {"type": "float64", "publish": "values"}
    ds = declared({"amount": spec, "when": {"type": "date", "publish": "values"}})
    p = profile(lf, dataset="t", as_of=AS_OF, declared=ds)
    amount, when = p.column_profiles
    assert (amount.min, amount.max, amount.zeros, amount.negatives) == (-5.0, 20.0, 1, 5)
    assert amount.mean is None  # 4 distinct values: fewer than k
    assert amount.quantiles == {"p05": -5.0, "p25": -5.0, "p50": None, "p75": 20.0, "p95": 20.0}
    assert [b["count"] for b in amount.histogram] == [5, 0, 0, 0, 0, 0, 0, 0, 0, 6]
    assert amount.suppressed == 2  # 0.0 and 10.0: bins below k
    assert (when.min, when.max, when.future) == ("2020-05-05", "2026-01-01", 7)


def test_dataset_level_counts_duplicates():
    lf = pl.LazyFrame({"id": [1, 1, 2, 3], "v": ["x", "x", "y", "y"]})
    p = profile(lf, dataset="t", as_of=AS_OF)
    assert (p.rows, p.columns, p.duplicate_rows) == (4, 2, 1)


def test_alerts():
    lf = pl.LazyFrame(
        {
            "const": ["a"] * 60,
            "empty": pl.Series([None] * 60, dtype=pl.String),
            "order_no": list(range(60)),
            "mixed": [str(i) if i % 2 else f"v{i}" for i in range(60)],
            "skewed": [1.0] * 59 + [1000.0],
        }
    )
    p = profile(lf, dataset="t", as_of=AS_OF)
    assert p.column("const").alerts == ["constant"]
    assert p.column("empty").alerts == ["all null"]
    assert p.column("order_no").alerts == ["id-like numeric (every value distinct)"]
    assert "mixed types (50% of values are numbers)" in p.column("mixed").alerts
    assert p.column("skewed").alerts[0].startswith("skewed")


def test_sample_customers_profile(sample_catalog, planted, manifest):
    ds = sample_catalog.dataset("customers")
    p = profile(sources.scan(ds), dataset="customers", as_of=AS_OF, declared=ds)
    assert p.rows == manifest["rows"]["customers"]
    assert p.duplicate_keys == 0
    assert p.column("email").nulls == planted["null_email"]
    assert p.column("email").top_values is None
    assert p.column("email").min is None
    assert p.column("customer_id").min is None
    assert {t["value"] for t in p.column("status").top_values} == {"active", "closed"}
    notes = next(f for f in p.pii if f.column == "notes")
    assert notes.embedded == {"email": planted["email_in_notes"]}
    assert p.findings == []


def test_sample_orders_finds_raw_cards_and_future_dates(sample_catalog, planted):
    ds = sample_catalog.dataset("orders")
    p = profile(sources.scan(ds), dataset="orders", as_of=AS_OF, declared=ds)
    [finding] = p.findings
    assert (finding.column, finding.finding, finding.count) == (
        "card", "unmasked_card", planted["raw_card_number"],
    )  # fmt: skip
    assert p.column("ordered_at").future == planted["future_order"]
    assert p.column("amount").negatives == planted["negative_amount"]


def test_raw_cards_written_with_dots_or_held_as_integers_are_found(sample_catalog, planted):
    """A masked column hides no raw card behind dots or an integer type; decimals are no cards."""
    ds = sample_catalog.dataset("orders")
    frame = sources.scan(ds).collect()
    dotted = frame.with_columns(pl.col("card").str.replace_all(r"[ -]", "."))
    assert dotted["card"].str.contains(r"^\d{4}\.\d{4}\.\d{4}\.\d{4}$").sum() > 0
    p = profile(dotted.lazy(), dataset="orders", as_of=AS_OF, declared=ds)
    [finding] = p.findings
    assert (finding.column, finding.count) == ("card", planted["raw_card_number"])

    masked = {"type": "int64", "pii": "payment_card", "masked": True}
    lf = pl.LazyFrame(
        {
            "pan": [4111111111111111, 5500000000000004, 4111111111111112, 1234, None],
            "ref": ["4111111111111.111", "5500.0000.0000.0004", "12.5", "x", None],
            "reading": [4111111111111111.0, 0.5, 1.0, 2.0, None],
        }
    )
    columns = {
        "pan": masked,
        "ref": masked | {"type": "string"},
        "reading": masked | {"type": "float64"},
    }
    p = profile(lf, dataset="t", as_of=AS_OF, declared=declared(columns))
    cards = {f.column: f.count for f in p.findings if f.finding == "unmasked_card"}
    assert cards == {"pan": 2, "ref": 1}  # the decimal and the float are not cards


def test_embedded_pii_in_tickets_is_exact(sample_catalog, planted):
    ds = sample_catalog.dataset("support_tickets")
    p = profile(sources.scan(ds), dataset="support_tickets", as_of=AS_OF, sample_rows=500)
    assert p.sampled_rows < p.rows  # embedded counts still cover every row
    message = next(f for f in p.pii if f.column == "message")
    assert message.embedded == {
        "email": planted["email_in_ticket"],
        "phone": planted["phone_in_ticket"],
        "iban": planted["iban_in_ticket"],
    }


def test_detection_precision_and_recall_on_the_sample(sample_catalog):
    truth, predicted = set(), set()
    for name in sample_catalog.names():
        ds = sample_catalog.dataset(name)
        truth |= {(name, c, s.pii.value) for c, s in ds.columns.items() if s.pii}
        p = profile(sources.scan(ds), dataset=name, as_of=AS_OF)  # detection only
        predicted |= {(name, f.column, f.kind) for f in p.pii}
    hits = len(truth & predicted)
    precision, recall = hits / len(predicted), hits / len(truth)
    assert len(truth) == 13
    assert (precision, recall) == (1.0, 1.0), truth ^ predicted


def test_catalog_mismatches_are_findings(sample_catalog):
    ds = sample_catalog.dataset("customers")
    lf = sources.scan(ds).with_columns(contact=pl.col("email"), first_name=pl.lit("x"))
    p = profile(lf, dataset="customers", as_of=AS_OF, declared=ds)
    kinds = {(f.column, f.finding) for f in p.findings}
    assert ("contact", "undeclared_pii") in kinds
    assert ("first_name", "declared_not_found") in kinds


CANARIES = {
    "email": [f"zelda.quark{i}@canary-mail.example" for i in range(8)],
    "phone": [f"+44 7700 90{i:04d}" for i in range(8)],
    "name": [
        "Xanthippe Quillfeather",
        "Zebedee Quarrington",
        "Ottoline Fenwhistle",
        "Barnaby Crumpwell",
        "Perpetua Dunstable",
        "Cornelius Wickstaff",
        "Henrietta Blotchley",
        "Ignatius Pebbleworth",
    ],
}


def test_canaries_never_reach_json_or_console(tmp_path, capsys):
    rows = 8
    frame = pl.DataFrame(
        {
            "email": CANARIES["email"],
            "phone": CANARIES["phone"],
            "full_name": CANARIES["name"],
            "status": ["active"] * rows,
            "notes": [
                f"call {p} or write {e}"
                for p, e in zip(CANARIES["phone"], CANARIES["email"], strict=True)
            ],
        }
    )
    path = tmp_path / "people.csv"
    frame.write_csv(path)
    out_json = tmp_path / "profile.json"
    assert main(["profile", str(path), "--data-root", str(tmp_path), "--json", str(out_json)]) == 0
    console = capsys.readouterr()
    written = out_json.read_text()
    record = json.loads(written)
    assert {f["column"]: f["kind"] for f in record["pii"]} == {
        "email": "email", "phone": "phone", "full_name": "person_name", "notes": "free_text",
    }  # fmt: skip
    haystacks = [written, console.out, console.err]
    for values in CANARIES.values():
        for value in values:
            forms = [value, value.lower(), value.replace(" ", "")]
            forms += [hashlib.new(h, value.encode()).hexdigest() for h in ("md5", "sha1", "sha256")]
            for form in forms:
                for hay in haystacks:
                    assert form not in hay


def test_frequency_tables_suppress_small_groups():
    lf = pl.LazyFrame({"tier": ["gold"] * 7 + ["silver"] * 5 + ["rare"] * 4})
    ds = declared({"tier": {"publish": "values"}})
    [p] = profile(lf, dataset="t", as_of=AS_OF, declared=ds).column_profiles
    assert p.top_values == [{"value": "gold", "count": 7}, {"value": "silver", "count": 5}]
    assert p.suppressed == 4  # 'rare'; all three share the shape 'a', a group of 16


def test_profile_json_round_trips(sample_catalog, tmp_path):
    ds = sample_catalog.dataset("orders")
    p = profile(sources.scan(ds), dataset="orders", as_of=AS_OF, declared=ds)
    path = tmp_path / "p.json"
    path.write_text(p.to_json())
    assert profiling.DatasetProfile.load(path) == p


def test_profile_cli_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.csv").write_text("id;email\n1;a@example.com\n")
    assert main(["profile", str(tmp_path / "bad.csv"), "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "';'-delimited" in err[0]


def test_streaming_engine_gives_the_same_statistics_with_estimated_distinct_counts():
    lf = pl.LazyFrame({"amount": [float(i % 50) for i in range(2000)], "tier": ["a", "b"] * 1000})
    ds = declared(
        {"amount": {"type": "float64", "publish": "values"}, "tier": {"publish": "values"}}
    )
    exact = profile(lf, dataset="t", as_of=AS_OF, declared=ds)
    streamed = profile(lf, dataset="t", as_of=AS_OF, streaming=True, declared=ds)
    assert (exact.approximate, streamed.approximate) == (False, True)
    assert streamed.duplicate_rows == exact.duplicate_rows == 1950
    a, b = exact.column("amount"), streamed.column("amount")
    assert (b.quantiles, b.histogram, b.mean) == (a.quantiles, a.histogram, a.mean)
    assert a.quantiles["p50"] == 25.0
    assert sum(h["count"] for h in a.histogram) == 2000
    assert b.distinct == a.distinct == 50  # small sets are counted exactly
    assert streamed.column("tier").top_values == exact.column("tier").top_values
    assert exact.column("tier").top_values == [
        {"value": "a", "count": 1000}, {"value": "b", "count": 1000},
    ]  # fmt: skip


def test_statistics_are_read_by_column_and_measure_whatever_the_column_names():
    lf = pl.LazyFrame(
        {
            "a": [1, None, 1, 2],
            "a|nulls": [None, None, 3, 4],
            "^a.*$": ["x", None, "y", "y"],
            "*": [None, None, None, 1.5],
        }
    )
    p = profile(lf, dataset="t", as_of=AS_OF)
    assert [(c.column, c.nulls, c.distinct) for c in p.column_profiles] == [
        ("a", 1, 2), ("a|nulls", 2, 2), ("^a.*$", 1, 2), ("*", 3, 1),
    ]  # fmt: skip
    columns = ("a", "a|nulls", "*")
    stats = collect(lf, [Stat(Measure.NEGATIVES, columns, (cols(columns) < 0).sum())])
    assert [stats.get(c, Measure.NEGATIVES) for c in columns] == [0, 0, 0]
    assert (stats.get("a", Measure.MEAN), stats.count("a", Measure.MEAN)) == (None, 0)


def test_a_quantile_is_read_by_its_own_spec():
    lf = pl.LazyFrame({"v": [float(i) for i in range(101)]})
    stats = collect(lf, value_statistics("v", pl.Float64(), k=1))
    assert [stats.number("v", Measure.QUANTILE, q) for q in QUANTILES] == [
        5.0, 25.0, 50.0, 75.0, 95.0,
    ]  # fmt: skip
    assert stats.get("v", Measure.QUANTILE) is None  # no quantile without its q


def test_sample_profiles_round_trip_as_records(sample_catalog, manifest):
    for name in sample_catalog.names():
        ds = sample_catalog.dataset(name)
        p = profile(sources.scan(ds), dataset=name, as_of=AS_OF, declared=ds)
        back = DatasetProfile.from_dict(json.loads(json.dumps(p.to_dict())))
        assert back == p
        assert all(isinstance(f, PiiFinding) for f in back.pii)
        assert all(isinstance(f, CatalogFinding) for f in back.findings)
        frame = p.to_polars()
        assert frame.height == p.columns
        assert frame["rows"].unique().to_list() == [manifest["rows"][name]]
