import json
import re

import polars as pl
import pytest

from govlib import cleansing, quality, retention
from govlib.cleansing import standard_country, standard_email, standard_name, standard_phone
from govlib.cli import main

from .conftest import CATALOG

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def plan(sample_catalog, frames):
    return cleansing.plan(sample_catalog, "customers", frames=frames)


@pytest.mark.parametrize(
    ("fn", "value", "expected"),
    [
        (standard_name, "  OLIVIA ", "Olivia"),
        (standard_name, "Jose\u0301", "José"),
        (standard_name, "de Vries", "de Vries"),
        (standard_name, "mary  ann", "Mary Ann"),
        (standard_name, "O'BRIEN", "O'Brien"),
        (standard_name, "jean-paul", "Jean-Paul"),
        (standard_name, "CC", "CC"),  # initials: no vowel
        (standard_name, "R.E. LEE", "R.E. Lee"),
        (standard_name, "ÉMILE ZOLA", "Émile Zola"),
        (standard_country, "United Kingdom", "GB"),
        (standard_country, "uk", "GB"),
        (standard_country, "Deutschland", "DE"),
        (standard_country, "Atlantis", None),
        (lambda p: standard_phone(p, "GB"), "07412 345678", "+447412345678"),
        (lambda p: standard_phone(p, "US"), "(212) 555-0123", "+12125550123"),
        (lambda p: standard_phone(p, "GB"), "+44 12", None),
    ],
)
def test_standard_forms(fn, value, expected):
    assert fn(value) == expected


def test_email_keeps_the_local_part_and_lowers_the_domain():
    out = pl.select(standard_email(pl.lit(" Jane.Doe@Example.COM "))).item()
    assert out == "Jane.Doe@example.com"
    assert pl.select(standard_email(pl.lit("no-at-sign"))).item() is None


def test_standardisation_counts_equal_the_planted_ones(plan, planted, manifest):
    rules = {r.column: r for r in plan.rules}
    assert rules["country"].changed == planted["country_nonstandard"]
    assert rules["first_name"].changed == planted["name_unnormalised"]
    assert rules["email"].changed == planted["duplicate_person"]  # padded + upper-cased
    assert rules["email"].unable == 2 * planted["malformed_email"] // 5  # no @, and @@
    assert rules["phone"].unable == planted["malformed_phone"]
    assert rules["last_name"].changed == 0


def test_duplicates_found_and_near_misses_left_alone(plan, frames, planted, manifest):
    c = frames["customers"]
    truth = (
        c.filter(pl.col("email").is_not_null())
        .group_by(pl.col("email").str.strip_chars().str.to_lowercase())
        .agg(pl.col("customer_id").sort())
        .filter(pl.col("customer_id").list.len() == 2)["customer_id"]
        .to_list()
    )
    found = {tuple(sorted((p.a, p.b))) for p in plan.pairs}
    truth = {tuple(t) for t in truth}
    precision, recall = len(found & truth) / len(found), len(found & truth) / len(truth)
    assert (precision, recall) == (1.0, 1.0)
    assert len(truth) == planted["duplicate_person"]
    assert plan.summary()["pairs_by_reason"] == dict.fromkeys(
        ("email", "phone", "name+dob+postcode"), planted["duplicate_person"]
    )
    twins = (
        c.group_by("last_name", "date_of_birth", "postcode")
        .agg(pl.col("customer_id").sort(), pl.col("first_name").n_unique().alias("names"))
        .filter((pl.col("customer_id").list.len() == 2) & (pl.col("names") == 2))
    )
    assert twins.height == manifest["near_misses"]["twins"]["pairs"]
    assert not {tuple(t) for t in twins["customer_id"].to_list()} & found


def test_survivor_is_most_recent_and_consent_most_restrictive(plan, frames, manifest):
    c = frames["customers"]
    for merged, survivor in plan.merges.items():
        a = c.filter(pl.col("customer_id") == merged).row(0, named=True)
        b = c.filter(pl.col("customer_id") == survivor).row(0, named=True)
        assert b["last_activity_at"] >= a["last_activity_at"]
    cleaned = plan.frames["customers"]
    events = frames["consent_events"]
    withdrew = set(events.filter(pl.col("status") == "withdrawn")["customer_id"].to_list())
    granted = set(c.filter(pl.col("marketing_consent"))["customer_id"].to_list())
    mixed = [s for m, s in plan.merges.items() if ({m, s} & withdrew) and ({m, s} & granted)]
    assert len(mixed) == manifest["details"]["duplicate_with_withdrawal"]
    assert not cleaned.filter(pl.col("customer_id").is_in(mixed))["marketing_consent"].any()


def test_related_rows_follow_the_survivor(plan, frames):
    merged = list(plan.merges)
    orders = plan.frames["orders"]
    assert orders.filter(pl.col("customer_id").is_in(merged)).height == 0
    before = frames["orders"].filter(pl.col("customer_id").is_in(merged)).height
    assert plan.repointed["orders.customer_id"] == before
    assert plan.frames["customers"].height == frames["customers"].height - len(merged)


def test_quarantine_holds_blocking_failures_with_reasons(plan, planted):
    held = plan.quarantine["orders"]
    assert held.height == planted["negative_amount"]
    assert set(held["_reason"]) == {"column_values_to_be_between (amount)"}
    assert plan.frames["orders"].filter(pl.col("amount") < 0).height == 0


def test_cleansing_the_copy_changes_nothing_more(plan, sample_catalog):
    again = cleansing.plan(sample_catalog, "customers", frames=dict(plan.frames))
    assert [r.changed for r in again.rules] == [0] * len(again.rules)
    assert (again.pairs, again.merges) == ([], {})
    assert all(f.height == 0 for f in again.quarantine.values())
    assert again.changes == []


def test_scores_rise_after_cleansing(plan, sample_catalog, frames):
    change = cleansing.score_change(sample_catalog, plan, frames, sample_catalog.as_of)
    scores = {s.dimension: s for s in change.scores}
    assert list(scores) == [*quality.DIMENSIONS, "overall"]
    assert scores["uniqueness"].after == 100.0
    assert scores["uniqueness"].after > scores["uniqueness"].before
    assert scores["overall"].after > scores["overall"].before
    assert type(change).from_dict(json.loads(json.dumps(change.to_dict()))) == change
    assert change.to_polars().columns == ["dimension", "before", "after"]
    as_dict = {s.dimension: {"before": s.before, "after": s.after} for s in change.scores}
    assert cleansing.scores_before_after(sample_catalog, plan, frames, sample_catalog.as_of) == (
        as_dict
    )


def test_cleanse_records_round_trip_and_keep_the_summary_shape(plan, planted):
    summary = plan.record()
    data = json.loads(json.dumps(summary.to_dict()))
    assert type(summary).from_dict(data) == summary
    assert plan.summary() == data
    assert list(data) == ["dataset", "standardisation", "duplicate_pairs", "pairs_by_reason",
                          "records_merged", "repointed", "quarantined", "changes"]  # fmt: skip
    assert data["records_merged"] == planted["duplicate_person"]
    assert summary.to_polars().height == len(plan.rules)
    for record in (plan.rules[0], plan.pairs[0]):
        assert type(record).from_dict(json.loads(json.dumps(record.to_dict()))) == record


def test_cli_dry_run_execute_idempotence_and_no_raw_values(
    tmp_path, monkeypatch, capsys, frames, planted
):
    out = tmp_path / "clean"
    assert main(["cleanse", "customers", "--catalog", str(CATALOG)]) == 0
    assert "dry run" in capsys.readouterr().out
    assert main(["cleanse", "customers", "--catalog", str(CATALOG), "--execute"]) == 2
    assert "needs --out" in capsys.readouterr().err
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    args = ["cleanse", "customers", "--catalog", str(CATALOG), "--out", str(out), "--execute"]
    assert main(args) == 0
    console = capsys.readouterr().out
    assert "quality scores before and after the cleanse: customers" in console
    log = (out / "cleanse_log.ndjson").read_text()
    entries = [json.loads(line) for line in log.splitlines()]
    assert {e["subject"][:2] for e in entries} == {"p_"}
    c = frames["customers"]
    canaries = [*c["email"].drop_nulls().to_list()[:300], *c["phone"].drop_nulls().to_list()[:300]]
    for value in canaries + [str(i) for i in c["customer_id"].to_list()[:300]]:
        assert value not in console
    for value in (v.strip() for v in canaries):
        if len(value) >= 7:  # a placeholder like "0000" is no person's value
            assert value not in log  # inside any string, not only as a whole value
    columns = {*c.columns, "*", "orders.customer_id", "consent_events.customer_id",
               "support_tickets.customer_id", "orders"}  # fmt: skip
    for entry in entries:  # every field is a pseudonym, a timestamp or govlib's own words
        assert set(entry) == {"subject", "rule", "field", "change", "run_at"}
        assert re.fullmatch(r"p_[0-9a-f]{32}", entry["subject"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", entry["run_at"])
        assert entry["field"] in columns
        assert re.fullmatch(r"(standardise:\w+|merge_duplicates|quarantine|repoint)", entry["rule"])
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    assert main(args) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    copy = pl.read_parquet(out / "customers.parquet")
    assert copy.height == c.height - planted["duplicate_person"]
    report = retention.evaluate(
        _catalog_dataset(), as_of=_catalog_dataset().catalog.as_of, lf=copy.lazy()
    )
    assert report.rules[0].overdue > 0  # retention is not cleansing's business


def _catalog_dataset():
    from govlib import catalog

    return catalog.load(CATALOG).dataset("customers")


def test_twins_with_similar_first_names_are_not_merged(sample_catalog):
    from datetime import date

    ds = sample_catalog.dataset("customers")
    people = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "first_name": ["Liam", "Lina", "Leo"],
            "last_name": ["Davis", "Davis", "Davis"],
            "email": ["l1@example.com", "l2@example.com", "l3@example.com"],
            "phone": ["+447412000001", "+447412000002", "+447412000003"],
            "date_of_birth": [date(2002, 10, 6)] * 3,
            "postcode": ["23169"] * 3,
        }
    )
    assert cleansing.find_duplicates(ds, people) == []
    typo = people.with_columns(first_name=pl.Series(["Jon", "Lina", "John"]))
    [pair] = cleansing.find_duplicates(ds, typo)
    assert ((pair.a, pair.b), pair.reason) == ((1, 3), "name+dob+postcode")


def test_quarantine_counts_per_check_equal_validation_counts(sample_catalog, frames, planted):
    as_of = sample_catalog.as_of
    held_by = {}
    for name in ("customers", "orders"):
        ds = sample_catalog.dataset(name)
        _, held = cleansing.quarantine(sample_catalog, ds, frames[name], as_of=as_of)
        reasons = held["_reason"].str.split("; ").explode()
        result = quality.validate(ds, as_of=as_of, frame=frames[name])
        blocking = [c for c in result.checks if c.blocking]
        assert len(blocking) == 3, name
        for c in blocking:
            label = f"{c.check.removeprefix('expect_')} ({c.column})"
            held_by[(name, label)] = (reasons == label).sum()
            assert held_by[(name, label)] == c.unexpected_count, (name, label)
    assert held_by[("orders", "column_values_to_be_between (amount)")] == planted["negative_amount"]


def test_a_table_level_blocking_check_is_refused_by_name(tmp_path, sample_catalog, frames):
    suite = {"name": "orders", "expectations": [
        {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1},
         "meta": {"blocking": True}},
    ]}  # fmt: skip
    (tmp_path / "expectations").mkdir()
    (tmp_path / "expectations" / "orders.json").write_text(json.dumps(suite))
    ds = sample_catalog.dataset("orders")
    schema = frames["orders"].schema
    with pytest.raises(cleansing.CleanseError, match="expect_table_row_count_to_be_between has no"):
        cleansing.blocking_checks(_Suites(tmp_path), ds, as_of=None, schema=schema)


class _Suites:
    """A stand-in catalog whose suites live in another folder."""

    def __init__(self, root):
        self.expectations_dir = root / "expectations"


def _riots_with_a_string_key(root):
    """The 1992 LA riots deaths (vega-datasets) with a text case id, one person entered twice."""
    from .test_realdata import packaged

    riots = pl.read_csv(packaged("vega_datasets", "_data/la-riots.csv"))
    riots = riots.with_row_index("n").select(
        pl.format("LA-{}", pl.col("n").cast(pl.String).str.zfill(3)).alias("case_id"),
        pl.exclude("n"),
    )
    again = riots.head(1).with_columns(
        case_id=pl.lit("LA-900"), first_name=pl.col("first_name").str.to_uppercase()
    )
    (root / "data").mkdir()
    pl.concat([riots, again]).write_csv(root / "data" / "riots.csv")
    (root / "expectations").mkdir()
    (root / "expectations" / "riots.json").write_text('{"name": "riots", "expectations": []}')
    columns = {c: "{type: string}" for c in ("gender", "race", "address", "type")}
    columns |= {
        "case_id": "{type: string}",
        "first_name": "{type: string, pii: person_name}",
        "last_name": "{type: string, pii: person_name}",
        "age": "{type: int64}",
        "death_date": "{type: date, pii: date_of_birth}",  # the blocking date
        "neighborhood": "{type: string, pii: postcode}",  # the blocking place
        "longitude": "{type: float64}",
        "latitude": "{type: float64}",
    }
    lines = "".join(f"      {c}: {spec}\n" for c, spec in columns.items())
    (root / "catalog.yaml").write_text(
        "as_of: 2025-01-31\ndata_root: data\ndatasets:\n  riots:\n"
        "    source: {path: riots.csv}\n    primary_key: [case_id]\n    subject_key: case_id\n"
        "    owner: o\n    steward: s\n    purpose: p\n    lawful_basis: public_task\n"
        "    suite: riots\n    columns:\n" + lines
    )
    return root / "catalog.yaml", riots.height


def test_cleanse_merges_people_under_a_text_key_without_an_activity_column(
    tmp_path, monkeypatch, capsys
):
    path, people = _riots_with_a_string_key(tmp_path)
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    out = tmp_path / "clean"
    args = ["cleanse", "riots", "--catalog", str(path), "--out", str(out), "--execute"]
    assert main(args) == 0
    console, err = capsys.readouterr()
    assert "records merged: 1" in console
    assert "Traceback" not in err
    assert err.count("declares no quality gate") == 1  # for the source, not again for the copy
    copy = pl.read_parquet(out / "riots.parquet")
    assert copy.height == people
    assert "LA-900" not in copy["case_id"].to_list()  # the lowest id survives a tie
    assert copy.filter(pl.col("case_id") == "LA-000")["first_name"].to_list() == ["Cesar A."]


def test_cleanse_reads_only_the_dataset_and_those_pointing_at_it(tmp_path, monkeypatch, capsys):
    path, people = _riots_with_a_string_key(tmp_path)
    # an unrelated dataset whose file no longer matches its columns: a cleanse of riots that
    # read the whole catalog stopped on it
    (tmp_path / "data" / "weather.csv").write_text("day,rain\n2025-01-01,lots\n")
    path.write_text(
        path.read_text() + "  weather:\n    source: {path: weather.csv}\n"
        "    owner: o\n    steward: s\n    purpose: p\n    lawful_basis: public_task\n"
        "    columns:\n      day: {type: date}\n      rain: {type: float64}\n"
    )
    assert main(["profile", "weather", "--catalog", str(path)]) == 2  # it is unreadable
    capsys.readouterr()
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    out = tmp_path / "clean"
    args = ["cleanse", "riots", "--catalog", str(path), "--out", str(out), "--execute"]
    assert main(args) == 0
    assert "records merged: 1" in capsys.readouterr().out
    assert pl.read_parquet(out / "riots.parquet").height == people
    assert not (out / "weather.parquet").exists()
    # nor does it stop a subject's search or erasure, even gone: it cannot hold anyone
    (tmp_path / "data" / "weather.csv").unlink()
    capsys.readouterr()
    assert main(["subject", "find", "--customer-id", "LA-001", "--catalog", str(path)]) == 0
    assert "riots" in capsys.readouterr().out
    erased = tmp_path / "erased"
    args = ["subject", "erase", "--customer-id", "LA-001", "--catalog", str(path)]
    assert main([*args, "--out", str(erased)]) == 0
    assert pl.read_parquet(erased / "riots.parquet").height == people
    # a dataset with no subject key is refused before anything is read
    assert main(["cleanse", "weather", "--catalog", str(path)]) == 2
    err = capsys.readouterr().err
    assert "'weather' has no subject key to merge on" in err
    assert "rain" not in err


def test_data_columns_named_like_cleansings_helpers_survive_the_merge(plan, sample_catalog, frames):
    ds = sample_catalog.dataset("customers")
    ids = pl.col("customer_id").cast(pl.String)
    hostile = frames["customers"].with_columns(
        ("g" + ids).alias("__group"), ("s" + ids).alias("__survivor")
    )
    merged = cleansing.merge(ds, hostile, plan.merges)
    plain = cleansing.merge(ds, frames["customers"], plan.merges)
    assert merged.drop("__group", "__survivor").equals(plain)
    assert merged["__survivor"].to_list() == ("s" + merged["customer_id"].cast(pl.String)).to_list()


def test_a_data_column_named_reason_is_kept_beside_the_quarantine_reason(sample_catalog, frames):
    orders = frames["orders"].with_columns(pl.lit("theirs").alias("_reason"))
    ds = sample_catalog.dataset("orders")
    good, held = cleansing.quarantine(sample_catalog, ds, orders, as_of=sample_catalog.as_of)
    assert good.columns == orders.columns
    assert set(good["_reason"]) == {"theirs"}
    assert set(held["_reason"]) == {"theirs"}
    assert set(held["_reason_"]) == {"column_values_to_be_between (amount)"}
    assert good.height + held.height == orders.height
