"""Erasure finds everyone and only them; one identity module for every notion of a person."""

import polars as pl
import pytest
import yaml

from govlib import catalog, cleansing, erasure, identity, quality, rights, sources
from govlib.cli import main
from govlib.errors import ParameterError, ProtectionError

KEY = "9f2c4e7a1b8d3f6e0a5c9b2d7e4f1a8c"
UK_NATIONAL = "07416 962965"
DE_INTERNATIONAL = "+49 7416 962965"


@pytest.mark.parametrize(
    ("value", "country", "key"),
    [
        (UK_NATIONAL, "GB", "+447416962965"),
        (UK_NATIONAL, "United Kingdom", "+447416962965"),
        (UK_NATIONAL, "uk", "+447416962965"),
        (UK_NATIONAL, "DE", "+497416962965"),
        (UK_NATIONAL, None, None),  # national format, no region: no key, never a suffix
        (UK_NATIONAL, "Atlantis", None),
        (DE_INTERNATIONAL, None, "+497416962965"),
        (DE_INTERNATIONAL, "GB", "+497416962965"),  # `+` wins over the record's country
        ("0049 7416 962965", None, "+497416962965"),
        ("555-CALL-NOW", "GB", None),  # phonenumbers would accept the letters
        ("07416 962965 ext. 42", "GB", None),
        ("+44 12", "GB", None),
        (None, "GB", None),
    ],
)
def test_phone_key_is_e164_with_the_region_from_the_country(value, country, key):
    assert identity.phone_key(value, country) == key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("  Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("jane.doe@example", None),
        ("jane doe@example.com", None),
        ("a@b@example.com", None),
        ("", None),
    ],
)
def test_email_key_trims_lower_cases_and_needs_an_address(value, key):
    assert identity.email_key(value) == key
    assert pl.select(identity.email_keys(pl.lit(value))).item() == key


def test_phone_keys_of_a_frame_equal_the_scalar_keys_row_by_row():
    frame = pl.DataFrame(
        {"phone": [UK_NATIONAL, UK_NATIONAL, DE_INTERNATIONAL, None, UK_NATIONAL],
         "country": ["GB", "DE", "GB", "GB", None]}
    )  # fmt: skip
    keys = frame.select(identity.phone_keys(pl.col("phone"), pl.col("country"))).to_series()
    assert keys.to_list() == ["+447416962965", "+497416962965", "+497416962965", None, None]


def _groups(pairs):
    """Connected groups of ids from (a, b) pairs, as a set of frozensets."""
    groups: list[set] = []
    for a, b in pairs:
        linked = [g for g in groups if a in g or b in g]
        merged = {a, b}.union(*linked)
        groups = [g for g in groups if g not in linked] + [merged]
    return {frozenset(g) for g in groups}


def test_duplicates_merging_and_subject_search_agree_on_the_sample(sample_catalog, frames, planted):
    ds = sample_catalog.dataset("customers")
    people = frames["customers"]
    checks = {c.column: c for c in quality.duplicate_subjects(ds, people)}
    std, _, _ = cleansing.standardise(ds, people)
    pairs = cleansing.find_duplicates(ds, std)
    for role in ("email", "phone"):
        merged = _groups((p.a, p.b) for p in pairs if role in p.reason.split(", "))
        assert len(merged) == planted["duplicate_person"]
        assert checks[role].unexpected_count == sum(len(g) for g in merged)
        found = set()
        for group in merged:
            row = people.filter(pl.col("customer_id") == min(group)).row(0, named=True)
            query = {"email": row["email"]} if role == "email" else {"phone": row["phone"]}
            match, _ = rights.find(
                sample_catalog, **query, country=row["country"], as_of=None, frames=frames
            )
            ids = {int(key) for kind, key in match.identifiers if kind == "id"}
            found.add(frozenset(ids))
        assert found == merged


def test_erase_of_a_planted_duplicate_stops_without_yes_and_names_no_value(
    tmp_path, monkeypatch, frames, capsys
):
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    people = frames["customers"]
    twin = people.filter(pl.col("email").str.starts_with(" ")).row(0, named=True)
    out = tmp_path / "erased"
    code = main(["subject", "erase", "--email", twin["email"], "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    assert "2 subjects match" in captured.err
    assert "rerun with --yes to erase all of them, or narrow the search with --customer-id" in (
        captured.err
    )
    text = captured.out + captured.err
    assert twin["email"].strip() not in text
    assert str(twin["customer_id"]) not in text
    assert not out.exists()


# -- a crafted catalog: a mailing list without subject_key, a UK and a German number ---------


@pytest.fixture
def crafted(tmp_path, monkeypatch):
    """People 1 (UK national number), 2 (German +49, same digits), 3 and 4 (a shared number)."""
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    pl.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "email": ["ann@example.com", "bert@example.de", "cara@example.com", "dan@example.com"],
        "phone": [UK_NATIONAL, DE_INTERNATIONAL, "+44 20 7946 0958", "020 7946 0958"],
        "country": ["GB", "DE", "United Kingdom", "uk"],
    }).write_csv(tmp_path / "people.csv")  # fmt: skip
    pl.DataFrame({"order_id": [10, 11, 12], "customer_id": [1, 2, 1]}).write_csv(
        tmp_path / "orders.csv"
    )
    pl.DataFrame({"signup_id": [100, 101], "email": [" ANN@example.com", "eve@example.org"]}
                 ).write_csv(tmp_path / "newsletter.csv")  # fmt: skip
    pl.DataFrame({"call_id": [7, 8], "phone": ["+447416962965", "+497416962966"]}).write_csv(
        tmp_path / "callbacks.csv"
    )
    base = {"owner": "o", "steward": "s", "purpose": "p", "lawful_basis": "contract"}
    doc = {"data_root": ".", "datasets": {
        "people": base | {"source": {"path": "people.csv"}, "primary_key": ["customer_id"],
            "subject_key": "customer_id", "columns": {
                "customer_id": {"type": "int64", "pii": "person_id"},
                "email": {"type": "string", "pii": "email"},
                "phone": {"type": "string", "pii": "phone"},
                "country": {"type": "string"}}},
        "orders": base | {"source": {"path": "orders.csv"}, "primary_key": ["order_id"],
            "subject_key": "customer_id",
            "relationships": [{"column": "customer_id", "references": "people.customer_id"}],
            "columns": {"order_id": {"type": "int64"},
                        "customer_id": {"type": "int64", "pii": "person_id"}}},
        "newsletter": base | {"source": {"path": "newsletter.csv"}, "primary_key": ["signup_id"],
            "columns": {"signup_id": {"type": "int64"},
                        "email": {"type": "string", "pii": "email"}}},
        "callbacks": base | {"source": {"path": "callbacks.csv"}, "primary_key": ["call_id"],
            "columns": {"call_id": {"type": "int64"}, "phone": {"type": "string", "pii": "phone"}}},
    }}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return tmp_path


def erase(*args: str) -> int:
    return main(["subject", "erase", *args, "--out", "out"])


def kept(crafted, name: str, column: str) -> list:
    return sorted(pl.read_parquet(crafted / "out" / f"{name}.parquet")[column].to_list())


def test_erase_by_email_reaches_a_dataset_without_subject_key(crafted, capsys):
    assert erase("--email", "Ann@Example.com") == 0
    console = capsys.readouterr().out
    assert "proof: newsletter: 0 rows of the subject remain (were 1)" in console
    assert "the subject is findable nowhere in the new copy" in console
    assert kept(crafted, "newsletter", "signup_id") == [101]
    assert kept(crafted, "people", "customer_id") == [2, 3, 4]
    assert kept(crafted, "orders", "order_id") == [11]
    assert kept(crafted, "callbacks", "call_id") == [8]  # found by Ann's phone, not her email
    log = (crafted / "out" / "erasure_log.ndjson").read_text()
    assert "ann@example.com" not in log.lower()
    assert log.count('"dataset": "newsletter"') == 1


def test_find_by_id_reaches_the_mailing_list_through_the_subjects_email(crafted, capsys):
    assert main(["subject", "find", "--customer-id", "1"]) == 0
    table = capsys.readouterr().out
    assert "1 subject id(s)" in table
    assert [line.split()[1:4:2] for line in table.splitlines() if "newsletter" in line] == [
        ["newsletter", "1"]
    ]


def test_national_phone_without_country_is_refused_and_writes_nothing(crafted, capsys):
    assert erase("--phone", UK_NATIONAL) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "--phone is in national format: add --country" in err
    assert "962965" not in err
    assert not (crafted / "out").exists()


def test_uk_national_phone_does_not_erase_the_german_customer(crafted):
    assert erase("--phone", UK_NATIONAL, "--country", "GB") == 0
    assert kept(crafted, "people", "customer_id") == [2, 3, 4]
    assert kept(crafted, "orders", "order_id") == [11]


@pytest.mark.parametrize(
    ("phone", "country"), [(DE_INTERNATIONAL, None), ("0049 7416 962965", None),
                           (UK_NATIONAL, "DE"), (UK_NATIONAL, "Deutschland")]
)  # fmt: skip
def test_german_number_erases_only_the_german_customer(crafted, phone, country):
    where = ["--country", country] if country else []
    assert erase("--phone", phone, *where) == 0
    assert kept(crafted, "people", "customer_id") == [1, 3, 4]
    assert kept(crafted, "orders", "order_id") == [10, 12]
    assert not (crafted / "out" / "callbacks.parquet").exists()  # +49…66 is another number


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "ann@example"], "--email is not an address"),
        (["--phone", UK_NATIONAL, "--country", "Atlantis"], "--country is not a country"),
        (["--phone", "555-CALL-NOW", "--country", "GB"], "--phone is not a valid number"),
        (["--phone", "+44 12"], "--phone is not a valid number"),
        (["--customer-id", "one"], "--customer-id must be a Int64 value"),
    ],
)
def test_unusable_queries_exit_2_with_one_line(crafted, capsys, args, message):
    assert erase(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"govlib: error: {message}")
    assert err.count("\n") == 1
    assert not (crafted / "out").exists()


def test_several_subjects_stop_without_yes_and_go_with_it(crafted, capsys):
    assert erase("--email", "cara@example.com") == 2
    err = capsys.readouterr().err
    assert err == (
        "govlib: error: 2 subjects match (their rows share an e-mail or phone); rerun with "
        "--yes to erase all of them, or narrow the search with --customer-id\n"
    )
    assert not (crafted / "out").exists()
    assert erase("--customer-id", "3") == 2
    assert "to erase all of them\n" in capsys.readouterr().err  # by id: nothing narrower
    assert erase("--customer-id", "3", "--yes") == 0
    assert kept(crafted, "people", "customer_id") == [1, 2]


def test_export_of_several_subjects_needs_yes(crafted, capsys):
    assert main(["subject", "find", "--email", "cara@example.com", "--export", "x"]) == 2
    assert "2 subjects match" in capsys.readouterr().err
    assert not (crafted / "x").exists()


def test_proof_searches_by_every_identifier_not_only_the_query(crafted):
    cat = catalog.load(crafted / "catalog.yaml")
    match, plan = rights.find(cat, email="ann@example.com", as_of=None)
    assert sorted(kind for kind, _ in match.identifiers) == ["email", "id", "phone"]
    after = plan.frames | erasure.apply(cat, plan)
    assert rights.prove_erased(cat, after, match) == dict.fromkeys(cat.names(), 0)
    after["callbacks"] = plan.frames["callbacks"]  # holds only Ann's phone
    with pytest.raises(ProtectionError, match=r"still findable in the new copy \(callbacks: 1 "):
        rights.prove_erased(cat, after, match)


def test_failed_proof_exits_4_naming_datasets_and_counts_only(crafted, capsys, monkeypatch):
    monkeypatch.setattr(rights, "copy_frames", lambda cat, out, frames, **_: frames)
    assert erase("--email", "ann@example.com") == 4
    err = capsys.readouterr().err.splitlines(keepends=True)[-1]  # after the plain-output warning
    assert err == (
        "govlib: error: erasure proof failed: the subject is still findable in the new copy "
        "(callbacks: 1 row(s), newsletter: 1 row(s), orders: 2 row(s), people: 1 row(s)). "
        "Do not use this copy; report it with the erasure log\n"
    )


def test_exactly_one_identifier_is_required(crafted):
    cat = catalog.load(crafted / "catalog.yaml")
    with pytest.raises(ParameterError, match="exactly one of --email, --phone or --customer-id"):
        rights.find(cat, email="ann@example.com", subject_id="1", as_of=None)


def test_leak_scanner_knows_the_e164_form_of_a_national_number(crafted):
    import hashlib

    from govlib import privacy

    cat = catalog.load(crafted / "catalog.yaml")
    frames = sources.load_all(cat)
    frames["callbacks"] = frames["callbacks"].clear()  # it holds the number in + form
    scanner = privacy.LeakScanner.from_frames(cat, frames)
    digest = hashlib.sha256(b"447416962965").hexdigest()  # Ann's number, stored as 07416…
    assert scanner.scan(f"<td>{digest}</td>") == {"value of people.phone": 1}


def test_the_engine_deletes_by_subject_id_cascades_and_never_anonymises_a_deleted_row(crafted):
    cat = catalog.load(crafted / "catalog.yaml")
    frames = sources.load_all(cat)
    plan = erasure.delete_subjects(cat, [1], as_of=None, frames=frames)
    assert [a.to_dict() for a in plan.actions] == [
        {
            "dataset": "people",
            "rule": "erasure_request",
            "action": "delete",
            "rows": 1,
            "cascade": False,
        },
        {
            "dataset": "orders",
            "rule": "erasure_request",
            "action": "delete",
            "rows": 2,
            "cascade": False,
        },
    ]  # fmt: skip  the orders hold the subject id: found directly, nothing left to cascade
    assert plan.subjects == [("people", "erasure_request", "delete", 1)]
    everyone = pl.Series([True] * frames["people"].height)
    marked = plan.mark_anonymise("people", everyone, "test")
    assert marked.to_list() == [False, True, True, True]
    new = erasure.apply(cat, plan)
    assert new["people"]["customer_id"].to_list() == [2, 3, 4]
    assert new["people"]["email"].null_count() == 3  # anonymised: direct identifiers nulled
    assert new["orders"]["order_id"].to_list() == [11]
    assert plan.changes == 1 + 2 + 3


def test_cascade_deletes_the_rows_pointing_at_deleted_rows(crafted):
    cat = catalog.load(crafted / "catalog.yaml")
    frames = sources.load_all(cat)
    plan = erasure.Plan(as_of=None, frames=frames)
    plan.mark_delete("people", frames["people"]["customer_id"] == 2, "test")
    erasure.cascade(cat, plan, "people")
    assert [(a.dataset, a.rule, a.rows, a.cascade) for a in plan.actions] == [
        ("people", "test", 1, False),
        ("orders", "cascade from people", 1, True),
    ]


def test_national_phones_without_a_country_are_counted_as_unsearchable(tmp_path):
    (tmp_path / "calls.csv").write_text("call_id,caller_phone\n1,07416962965\n2,+447416962965\n")
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump({"data_root": ".", "datasets": {
        "calls": {"source": {"path": "calls.csv"}, "owner": "o", "steward": "s",
                  "purpose": "p", "lawful_basis": "contract", "primary_key": ["call_id"],
                  "columns": {"call_id": {"type": "int64"},
                              "caller_phone": {"type": "string", "pii": "phone"}}}}}))  # fmt: skip
    cat = catalog.load(tmp_path / "catalog.yaml")
    assert rights.unsearchable_phones(cat, sources.load_all(cat)) == {"calls": 1}
