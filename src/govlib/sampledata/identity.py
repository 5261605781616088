"""Defects on who a customer is: bad emails and phones, odd countries and names, duplicates.

`plant` damages the identity fields of the drawn customers; `duplicates` adds the same people
again under new customer ids, with the email changed in case or padding and the phone
reformatted, some of them carrying a consent withdrawal their original does not.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import polars as pl

from govlib.sampledata.consent import Consent
from govlib.sampledata.customers import Lifecycle, People, Plan
from govlib.sampledata.draws import as_us, between
from govlib.sampledata.fields import ascii_name, reformat_same_phone
from govlib.sampledata.vocabulary import COUNTRY_VARIANTS, MALFORMED_PHONES, NOTES


@dataclass(frozen=True, slots=True)
class Planted:
    """The identity fields as written, defects included."""

    email: np.ndarray
    phone: np.ndarray
    country: np.ndarray
    notes: np.ndarray


def plant(plan: Plan, p: People, normal: np.ndarray) -> Planted:
    """Missing and malformed emails and phones, country names, unnormalised names, notes.

    Unnormalised first names are written into `p.first_names`.
    """
    pools = plan.pools
    email = p.email.to_numpy().astype(object)
    phone = p.phone.to_numpy().astype(object)
    email[pools["null_email"]] = None
    for i, r in enumerate(pools["malformed_email"]):
        local, domain = email[r].split("@")
        email[r] = [
            f"{local}{domain}",
            f"{local}@@{domain}",
            f"{local}@",
            f"{local.replace('.', ' ', 1)}@{domain}",
            f"{local}@{domain.split('.')[0]}",
        ][i % 5]
    rows = pools["malformed_phone"]
    phone[rows] = np.array(MALFORMED_PHONES, dtype=object)[np.arange(len(rows)) % 6]
    rows = pools["country_nonstandard"]
    country = p.country.to_numpy().astype(object)
    country[rows] = [
        COUNTRY_VARIANTS[c][i % len(COUNTRY_VARIANTS[c])] for i, c in enumerate(country[rows])
    ]
    for i, r in enumerate(pools["name_unnormalised"]):
        name = p.first_names[r]
        p.first_names[r] = [unicodedata.normalize("NFD", name), name.upper(), f"  {name} "][i % 3]
    return Planted(email, phone, country, _notes(plan, p, normal))


def _notes(plan: Plan, p: People, normal: np.ndarray) -> np.ndarray:
    """Notes on some normal customers, and an email address in the notes of a pool."""
    rng = plan.rng
    notes = np.full(plan.n, None, dtype=object)
    with_note = normal[rng.random(len(normal)) < 0.15]
    notes[with_note] = np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), len(with_note))]
    notes[plan.pools["email_in_notes"]] = [
        f"Alternative contact: {ascii_name(p.first_names[r])}{ascii_name(p.last_names[r])}"
        "@example.net"
        for r in plan.pools["email_in_notes"]
    ]
    return notes


def customers_frame(p: People, life: Lifecycle, consent: Consent, planted: Planted) -> pl.DataFrame:
    """The customers as drawn, one row per `row`, before duplicates and ids."""
    return pl.DataFrame(
        {
            "row": np.arange(len(p.first_names)),
            "first_name": p.first_names.astype(str),
            "last_name": p.last_names.astype(str),
            "email": pl.Series(planted.email.tolist(), dtype=pl.String),
            "phone": pl.Series(planted.phone.tolist(), dtype=pl.String),
            "date_of_birth": p.dob,
            "country": pl.Series(planted.country.tolist(), dtype=pl.String),
            "country_iso": p.country,
            "postcode": p.postcode.astype(str),
            "created_at": as_us(life.created_at),
            "last_activity_at": as_us(life.last_activity),
            "closed_at": as_us(life.closed_at),
            "status": life.status.astype(str),
            "marketing_consent": consent.flag,
            "marketing_consent_at": as_us(consent.at),
            "notes": pl.Series(planted.notes.tolist(), dtype=pl.String),
        }
    ).with_columns(pl.col(pl.Datetime).dt.cast_time_unit("us"))


def duplicates(
    plan: Plan, customers: pl.DataFrame, life: Lifecycle, consent: Consent
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Everyone: `customers` and their planted duplicates; and the duplicates' details.

    A third of the duplicates carry a consent withdrawal while their original keeps a recent
    grant.
    """
    rng, n, as_of_s = plan.rng, plan.n, plan.as_of_s
    src = plan.pools["duplicate_person"]
    k = len(src)
    dup = customers[src.tolist()]
    padded = np.arange(k) % 2 == 1
    dup_created = between(
        rng,
        dup["created_at"].to_numpy().astype("datetime64[s]") + np.timedelta64(30, "D"),
        np.full(k, as_of_s - np.timedelta64(20, "D")),
    )
    recent = (life.inactive_cut + np.timedelta64(95, "D")).astype("datetime64[s]")
    dup_last = between(
        rng, np.maximum(dup_created + np.timedelta64(1, "D"), recent), np.full(k, as_of_s - 3600)
    )
    dup = dup.with_columns(
        row=pl.Series(np.arange(n, n + k)),
        email=pl.when(pl.Series(padded))
        .then(pl.format(" {} ", "email"))
        .otherwise(pl.col("email").str.to_uppercase()),
        phone=reformat_same_phone(dup["phone"], dup["country_iso"]),
        created_at=pl.Series(as_us(dup_created)),
        last_activity_at=pl.Series(as_us(dup_last)),
        closed_at=None,
        status=pl.lit("active"),
        marketing_consent=False,
        marketing_consent_at=None,
        notes=None,
    )
    withdraw_dup = np.arange(k)[np.arange(k) % 3 == 0]
    customers = _keep_recent_grant(customers, src[withdraw_dup], consent)
    dup_rows = n + withdraw_dup
    dup_first = between(rng, dup_created[withdraw_dup], dup_last[withdraw_dup], margin_s=7200)
    consent.add(dup_rows, "granted", dup_first)
    consent.add(dup_rows, "withdrawn", between(rng, dup_first + 3600, dup_last[withdraw_dup]))
    details = {
        "duplicate_email_case": int((~padded).sum()),
        "duplicate_email_whitespace": int(padded.sum()),
        "duplicate_with_withdrawal": len(withdraw_dup),
    }
    return pl.concat([customers, dup]), details


def _keep_recent_grant(customers: pl.DataFrame, rows: np.ndarray, consent: Consent) -> pl.DataFrame:
    """`customers` with `rows` flagged on their recent grant, logged where it was not yet."""
    chosen = pl.col("row").is_in(rows.tolist())
    customers = customers.with_columns(
        marketing_consent=pl.when(chosen).then(True).otherwise("marketing_consent"),
        marketing_consent_at=pl.when(chosen)
        .then(pl.Series(as_us(consent.grant_recent)))
        .otherwise("marketing_consent_at"),
    )
    already = set(consent.opted_in.tolist())
    fresh = np.array([r for r in rows if r not in already], dtype=np.int64)
    consent.add(fresh, "granted", consent.grant_recent[fresh])
    return customers
