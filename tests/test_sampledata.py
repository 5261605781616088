import unicodedata
from datetime import date, datetime, timedelta

import phonenumbers
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from stdnum import iban, luhn

from govlib import sampledata
from govlib.errors import ParameterError

from .conftest import SAMPLE

AS_OF = date(2025, 1, 31)
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ISO = {"GB", "DE", "FR", "NL", "US", "IE"}
VARIANT_TO_ISO = {v: iso for iso, vs in sampledata.COUNTRY_VARIANTS.items() for v in vs}


def expiry_bucket(df: pl.DataFrame, anchor: str, months: int) -> pl.Series:
    expiry = pl.col(anchor).dt.date().dt.offset_by(f"{months}mo")
    days = (expiry - pl.lit(AS_OF)).dt.total_days()
    return df.select(
        pl.when(pl.col(anchor).is_null())
        .then(pl.lit("missing"))
        .when(days < 0)
        .then(pl.lit("overdue"))
        .when(days < 30)
        .then(pl.lit("due_30"))
        .when(days < 90)
        .then(pl.lit("due_90"))
        .otherwise(pl.lit("later"))
    ).to_series()


def test_manifest_matches_reference_date_and_small_files(manifest):
    assert manifest["reference_date"] == "2025-01-31"
    assert manifest["seed"] == 7
    assert manifest["rows"]["customers"] == 3000 + manifest["defects"]["duplicate_person"]["count"]
    for name in manifest["files"].values():
        assert (SAMPLE / name).stat().st_size < 1_000_000, name


def test_committed_sample_is_what_the_seed_generates(frames):
    fresh = sampledata.generate(customers=3000, seed=7)
    for name, frame in fresh.frames.items():
        assert_frame_equal(frames[name], frame, check_dtypes=True)


def test_emails(frames, planted, manifest):
    c = frames["customers"]
    assert c["email"].null_count() == planted["null_email"]
    raw_bad = c.filter(pl.col("email").is_not_null() & ~pl.col("email").str.contains(EMAIL))
    padded = manifest["details"]["duplicate_email_whitespace"]
    assert raw_bad.height == planted["malformed_email"] + padded
    trimmed_bad = c.filter(
        pl.col("email").is_not_null() & ~pl.col("email").str.strip_chars().str.contains(EMAIL)
    )
    assert trimmed_bad.height == planted["malformed_email"]


def test_phones(frames, planted):
    c = frames["customers"]
    invalid = 0
    for phone, country in c.select("phone", "country").iter_rows():
        region = VARIANT_TO_ISO.get(country, country)
        try:
            ok = phonenumbers.is_valid_number(phonenumbers.parse(phone, region))
        except phonenumbers.NumberParseException:
            ok = False
        invalid += not ok
    assert invalid == planted["malformed_phone"]


def e164(phone: str, country: str) -> str | None:
    try:
        num = phonenumbers.parse(phone, VARIANT_TO_ISO.get(country, country))
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def test_duplicate_people_share_normalised_email_and_phone(frames, planted, manifest):
    c = frames["customers"]
    by_email = (
        c.filter(pl.col("email").is_not_null())
        .group_by(pl.col("email").str.strip_chars().str.to_lowercase())
        .agg(ids=pl.col("customer_id"))
        .filter(pl.col("ids").list.len() > 1)
    )
    assert by_email.height == planted["duplicate_person"]
    assert by_email["ids"].list.len().to_list() == [2] * planted["duplicate_person"]
    phones = c.with_columns(
        e164=pl.struct("phone", "country").map_elements(
            lambda r: e164(r["phone"], r["country"]), return_dtype=pl.String
        )
    )
    by_phone = (
        phones.filter(pl.col("e164").is_not_null()).group_by("e164").len().filter(pl.col("len") > 1)
    )
    assert by_phone.height == planted["duplicate_person"]
    case = manifest["details"]["duplicate_email_case"]
    exact_differs = by_email.height - manifest["details"]["duplicate_email_whitespace"]
    assert case == exact_differs


def test_near_misses_are_different_people(frames, manifest):
    c = frames["customers"].with_columns(norm=pl.col("email").str.strip_chars().str.to_lowercase())
    twins = (
        c.group_by("last_name", "date_of_birth", "postcode")
        .agg(first=pl.col("first_name").n_unique(), emails=pl.col("norm").n_unique(), n=pl.len())
        .filter((pl.col("n") == 2) & (pl.col("first") == 2) & (pl.col("emails") == 2))
    )
    assert twins.height == manifest["near_misses"]["twins"]["pairs"]
    common = (
        c.group_by("first_name", "last_name", "postcode")
        .agg(dob=pl.col("date_of_birth").n_unique(), n=pl.len())
        .filter((pl.col("n") == 2) & (pl.col("dob") == 2))
    )
    assert common.height == manifest["near_misses"]["common_name"]["pairs"]


def test_retention_buckets(frames, planted):
    c = frames["customers"]
    closed = c.filter(pl.col("status") == "closed")
    counts = expiry_bucket(closed, "closed_at", 24).value_counts().to_dict(as_series=False)
    got = dict(zip(counts[next(iter(counts))], counts["count"], strict=True))
    assert got["overdue"] == planted["closed_overdue"]
    assert got["due_30"] == planted["closed_due_30"]
    assert got["due_90"] == planted["closed_due_90"]
    assert got["missing"] == planted["closed_anchor_missing"]
    active = c.filter(pl.col("status") == "active")
    counts = expiry_bucket(active, "last_activity_at", 36).value_counts().to_dict(as_series=False)
    got = dict(zip(counts[next(iter(counts))], counts["count"], strict=True))
    assert got["overdue"] == planted["inactive_overdue"]
    assert got["due_30"] == planted["inactive_due_30"]
    assert "due_90" not in got
    assert set(c["status"].unique()) == {"active", "closed"}


def test_marketing_consent(frames, planted):
    c = frames["customers"]
    latest = (
        frames["consent_events"]
        .filter(pl.col("purpose") == "marketing")
        .sort("occurred_at")
        .group_by("customer_id")
        .agg(latest=pl.col("status").last(), occurred_at=pl.col("occurred_at").last())
    )
    flagged = c.filter(pl.col("marketing_consent")).join(latest, on="customer_id", how="left")
    missing = flagged.filter(pl.col("latest").is_null() & pl.col("marketing_consent_at").is_null())
    assert missing.height == planted["consent_missing"]
    withdrawn = flagged.filter(pl.col("latest") == "withdrawn")
    assert withdrawn.height == planted["consent_withdrawn"]
    cutoff = datetime(2023, 1, 31)
    stale = flagged.filter((pl.col("latest") == "granted") & (pl.col("occurred_at") < cutoff))
    assert stale.height == planted["consent_stale"]
    valid = flagged.filter((pl.col("latest") == "granted") & (pl.col("occurred_at") >= cutoff))
    assert valid.height + missing.height + withdrawn.height + stale.height == flagged.height


def test_countries_names_notes_and_sentinels(frames, planted, sample_catalog):
    c = frames["customers"]
    assert c.filter(~pl.col("country").is_in(ISO)).height == planted["country_nonstandard"]

    def unnormalised(name: str) -> bool:
        tidy = " ".join(unicodedata.normalize("NFC", name).split())
        return tidy != name or (len(name) > 1 and name.isupper())

    assert sum(map(unnormalised, c["first_name"])) == planted["name_unnormalised"]
    with_email = c.filter(pl.col("notes").str.contains(r"[^@\s]+@[^@\s]+\.\w+"))
    assert with_email.height == planted["email_in_notes"]
    assert c["lifetime_value"].null_count() == planted["lifetime_value_sentinel"]
    from govlib import sources

    report = sources.load(sample_catalog.dataset("customers")).report
    assert report.null_tokens == {"lifetime_value": planted["lifetime_value_sentinel"]}


def test_order_defects(frames, planted):
    o, c = frames["orders"], frames["customers"]
    assert o.join(c, on="customer_id", how="anti").height == planted["orphan_order"]
    assert o.filter(pl.col("ordered_at") > datetime(2025, 1, 31)).height == planted["future_order"]
    assert o.filter(pl.col("amount") < 0).height == planted["negative_amount"]
    digits = o["card"].str.replace_all(r"[\s-]", "")
    raw = [d for d in digits if d.isdigit() and 13 <= len(d) <= 19 and luhn.is_valid(d)]
    assert len(raw) == planted["raw_card_number"]
    assert o["order_id"].is_unique().all()


def test_pii_in_ticket_messages(frames, planted):
    messages = frames["support_tickets"]["message"]
    assert messages.str.contains(r"[^@\s]+@[^@\s]+\.\w+").sum() == planted["email_in_ticket"]
    with_phone = [m for m in messages if any(phonenumbers.PhoneNumberMatcher(m, None))]
    assert len(with_phone) == planted["phone_in_ticket"]
    candidates = messages.str.extract(
        r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?)"
    )
    ibans = [x for x in candidates.drop_nulls() if iban.is_valid(x)]
    assert len(ibans) == planted["iban_in_ticket"]


def test_generate_scales_counts_and_rejects_tiny_samples():
    sample = sampledata.generate(customers=1000, seed=3)
    assert sample.defect("null_email").count == 10
    assert sample.defect("closed_overdue").count == 20
    assert sample.frames["customers"]["email"].null_count() == 10
    with pytest.raises(ParameterError, match="at least 500"):
        sampledata.generate(customers=100)


def test_write_is_complete_and_leaves_no_staging(tmp_path):
    written = sampledata.write(sampledata.generate(customers=600, seed=1), tmp_path)
    names = sorted(p.name for p in written)
    assert names == sorted([*sampledata.FILES.values(), "manifest.json", "README.md"])
    assert sorted(p.name for p in tmp_path.iterdir()) == names


def test_reference_date_moves_every_window():
    later = sampledata.generate(customers=600, seed=1, reference_date=AS_OF + timedelta(days=365))
    c = later.frames["customers"]
    closed = c.filter(pl.col("status") == "closed")
    expiry = closed.select(
        (pl.col("closed_at").dt.date().dt.offset_by("24mo") < date(2026, 1, 31)).sum()
    ).item()
    assert expiry == later.defect("closed_overdue").count


def test_defects_round_trip_as_records_and_match_the_manifest(manifest):
    sample = sampledata.generate(customers=3000, seed=7)
    committed = [sampledata.Defect.from_dict(d) for d in manifest["defects"].values()]
    assert committed == sorted(sample.defects, key=lambda d: d.name)
    first = sample.defects[0]
    assert first.to_polars().row(0, named=True) == manifest["defects"][first.name]
