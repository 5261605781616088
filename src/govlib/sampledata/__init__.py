"""Seeded synthetic customer data with planted, counted defects.

`generate()` builds four related datasets of a small fictional company (customers, orders,
consent events, support tickets), anchored at a fixed reference date, and plants defects at exact
counts: every planted row is drawn from a disjoint pool, so the counts never overlap and every
number a test asserts is known in advance. Generation is vectorised with numpy and polars:
a million customers take seconds, not minutes.

>>> from datetime import date
>>> sample = generate(customers=1000, seed=1, reference_date=date(2025, 1, 31))
>>> sample.defect("null_email").count
10
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar  # noqa: F401  (Record's ROWS annotation resolves here)

import numpy as np
import polars as pl
from stdnum import iban as stdnum_iban

from govlib.errors import ParameterError
from govlib.records import Record

REFERENCE_DATE = date(2025, 1, 31)
DEFAULT_SEED = 7
DEFAULT_CUSTOMERS = 3000
FILES = {
    "customers": "customers.csv",
    "orders": "orders.parquet",
    "consent_events": "consent_events.ndjson",
    "support_tickets": "support_tickets.csv.gz",
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

FIRST_NAMES = [
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Sophia", "Grace", "Lily", "Freya", "Emily",
    "Noah", "Oliver", "George", "Arthur", "Leo", "Harry", "Oscar", "Jack", "Charlie", "Henry",
    "Lukas", "Emma", "Hannah", "Lea", "Paul", "Ben", "Lina", "Louis", "Chloe", "Camille",
    "Hugo", "Jules", "Sem", "Daan", "Julia", "Tess", "Liam", "Ethan", "Mason", "Harper",
    "Aoife", "Cian", "Saoirse", "Conor", "Priya", "Arjun", "Yusuf", "Fatima", "Wei", "Mei",
]  # fmt: skip
ACCENTED_FIRST_NAMES = ["José", "Zoë", "Chloé", "Léa", "Renée", "Björn", "Siân", "Inès"]
LAST_NAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Wright", "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "de Jong",
    "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Murphy", "Kelly", "O'Sullivan",
    "Walsh", "O'Brien", "Byrne", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Lee",
    "Nguyen", "Khan", "Ali", "Chen", "Kowalski", "Novak",
]  # fmt: skip
COUNTRIES = ["GB", "DE", "FR", "NL", "US", "IE"]
COUNTRY_WEIGHTS = [0.40, 0.20, 0.15, 0.10, 0.10, 0.05]
COUNTRY_VARIANTS = {
    "GB": ["United Kingdom", "UK", "gb", "Great Britain"],
    "DE": ["Germany", "Deutschland", "de"],
    "FR": ["France", "fr"],
    "NL": ["Netherlands", "Holland", "nl"],
    "US": ["USA", "United States", "us"],
    "IE": ["Ireland", "ie"],
}
COUNTRY_CODES = {"GB": "44", "DE": "49", "FR": "33", "NL": "31", "US": "1", "IE": "353"}
CURRENCY = {"GB": "GBP", "US": "USD", "DE": "EUR", "FR": "EUR", "NL": "EUR", "IE": "EUR"}
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]
MALFORMED_PHONES = ["12345", "+44 12", "call me", "0000", "+1 (212)", "ext. 42"]
TEST_CARDS = [
    "4111111111111111", "4242424242424242", "5555555555554444", "5105105105105100",
    "378282246310005", "6011111111111117", "4000056655665556", "2223003122003222",
]  # fmt: skip
IBAN_BANKS = {"GB": ("NWBK", 6, 8), "DE": ("", 8, 10), "NL": ("ABNA", 0, 10)}
TICKET_CHANNELS = ["email", "phone", "chat", "web"]
TICKET_MESSAGES = [
    "Question about my last order.",
    "The delivery arrived late and the box was damaged.",
    "Please update my delivery preferences.",
    "How do I reset my password?",
    "I would like a refund for a returned item.",
    "The discount code did not work at checkout.",
    "Can you tell me when my parcel will arrive?",
    "I was charged twice for the same order.",
]
NOTES = [
    "Prefers contact by email.",
    "VIP customer since the loyalty launch.",
    "Asked not to receive paper catalogues.",
    "Requested large-print invoices.",
    "Account reviewed by support.",
]
CONSENT_SOURCES = ["web", "app", "call_centre", "email", "store"]

# name: (dataset, column, rate, minimum, description). Counts are max(minimum, round(rate * n)),
# n being customers for customer defects, orders for order defects, tickets for ticket defects.
DEFECTS: dict[str, tuple[str, str, float, int, str]] = {
    "null_email": ("customers", "email", 0.01, 5, "email is missing"),
    "malformed_email": (
        "customers", "email", 0.01, 5,
        "email is not a valid address (no @, two @, no domain, a space, no TLD)",
    ),
    "malformed_phone": (
        "customers", "phone", 0.01, 5, "phone cannot be parsed as a valid number for its country"
    ),
    "duplicate_person": (
        "customers", "email", 0.015, 6,
        "the same person under a second customer_id: same name, date of birth, postcode and "
        "phone (formatted differently); the email differs only in case or surrounding whitespace",
    ),
    "closed_overdue": (
        "customers", "closed_at", 0.02, 6,
        "closed accounts whose 24-month retention after closed_at has passed",
    ),
    "closed_due_30": (
        "customers", "closed_at", 0.005, 3, "closed accounts whose retention ends within 30 days"
    ),
    "closed_due_90": (
        "customers", "closed_at", 0.005, 3,
        "closed accounts whose retention ends in 30 to 90 days",
    ),
    "closed_anchor_missing": (
        "customers", "closed_at", 0.003, 2, "closed accounts with no closed_at date"
    ),
    "inactive_overdue": (
        "customers", "last_activity_at", 0.02, 6,
        "active accounts with no activity for more than 36 months",
    ),
    "inactive_due_30": (
        "customers", "last_activity_at", 0.005, 3,
        "active accounts reaching 36 months without activity within 30 days",
    ),
    "consent_missing": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set with no consent timestamp and no consent event",
    ),
    "consent_withdrawn": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set although the latest marketing consent event is a withdrawal",
    ),
    "consent_stale": (
        "customers", "marketing_consent", 0.01, 4,
        "marketing flag set on a grant older than 24 months",
    ),
    "country_nonstandard": (
        "customers", "country", 0.01, 4, "country written as a name or in lower case"
    ),
    "name_unnormalised": (
        "customers", "first_name", 0.01, 4,
        "first name upper-cased, padded with whitespace, or in Unicode NFD form",
    ),
    "email_in_notes": ("customers", "notes", 0.005, 3, "an email address inside the notes"),
    "lifetime_value_sentinel": (
        "customers", "lifetime_value", 0.005, 3, "lifetime_value is the sentinel string 'N/A'"
    ),
    "orphan_order": (
        "orders", "customer_id", 0.005, 5, "order for a customer_id that does not exist"
    ),
    "future_order": ("orders", "ordered_at", 0.003, 3, "order timestamp after the reference date"),
    "negative_amount": ("orders", "amount", 0.003, 3, "negative order amount"),
    "raw_card_number": (
        "orders", "card", 0.005, 5, "a raw Luhn-valid test card number where policy says masked"
    ),
    "email_in_ticket": ("support_tickets", "message", 0.01, 3, "an email address in the message"),
    "phone_in_ticket": ("support_tickets", "message", 0.01, 3, "a phone number in the message"),
    "iban_in_ticket": ("support_tickets", "message", 0.01, 3, "a valid IBAN in the message"),
}  # fmt: skip
NEAR_MISSES: dict[str, str] = {
    "twins": "pairs with the same last name, date of birth and postcode but another first name, "
    "email and phone: different people",
    "common_name": "pairs with the same first and last name and postcode but another date of "
    "birth, email and phone: different people",
}
NEAR_MISS_RATE, NEAR_MISS_MIN = 0.005, 3
CUSTOMER_POOLS = [
    *(name for name, spec in DEFECTS.items() if spec[0] == "customers"),
    "twins",
    "common_name",
]
MIN_CUSTOMERS = 500


@dataclass(frozen=True, slots=True)
class Defect(Record):
    """One kind of planted defect and exactly how many rows carry it."""

    name: str
    dataset: str
    column: str
    count: int
    description: str


@dataclass(frozen=True, slots=True)
class Sample:
    """The generated frames, their planted defects and the reference date."""

    frames: dict[str, pl.DataFrame]
    defects: list[Defect]
    near_misses: dict[str, int]
    reference_date: date
    seed: int
    customers: int
    details: dict[str, int] = field(default_factory=dict)

    def defect(self, name: str) -> Defect:
        """The planted defect called `name`."""
        return next(d for d in self.defects if d.name == name)

    def manifest(self) -> dict[str, object]:
        """The machine-readable manifest written beside the data."""
        return {
            "reference_date": self.reference_date.isoformat(),
            "seed": self.seed,
            "customers_requested": self.customers,
            "files": {name: FILES[name] for name in self.frames},
            "rows": {name: frame.height for name, frame in self.frames.items()},
            "defects": {d.name: d.to_dict() for d in self.defects},
            "near_misses": {
                name: {"pairs": count, "description": NEAR_MISSES[name]}
                for name, count in self.near_misses.items()
            },
            "details": dict(sorted(self.details.items())),
        }


def _count(name: str, n: int) -> int:
    _, _, rate, minimum, _ = DEFECTS[name]
    return max(minimum, round(rate * n))


def _pools(rng: np.random.Generator, n: int, sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Disjoint random row pools of the given sizes."""
    perm = rng.permutation(n)
    if sum(sizes.values()) > n // 2:
        raise ParameterError(f"too few rows ({n}) to plant every defect; ask for more")
    pools, start = {}, 0
    for name, size in sizes.items():
        pools[name] = np.sort(perm[start : start + size])
        start += size
    return pools


def _uniform_days(rng: np.random.Generator, size: int, low: int, high: int) -> np.ndarray:
    return rng.integers(low, high + 1, size).astype("timedelta64[D]")


def _us(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[us]")


def _seconds(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.integers(0, 86400, size).astype("timedelta64[s]")


def _shift_months(day: date, months: int) -> np.datetime64:
    shifted = pl.Series([day]).dt.offset_by(f"{months}mo").item()
    return np.datetime64(shifted, "D")


def _between(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, *, margin_s: int = 0
) -> np.ndarray:
    """Uniform timestamps between `start` and `end` (datetime64[s] arrays)."""
    span = np.maximum((end - start).astype("int64") - margin_s, 0)
    offset = (rng.random(len(start)) * span).astype("int64").astype("timedelta64[s]")
    return start + offset


def _phones(rng: np.random.Generator, country: pl.Series, n: int) -> pl.Series:
    """Unique, valid phone numbers for each row's country, in mixed formats."""
    unique = (np.arange(n, dtype=np.int64) * 7_654_321 + 1_234_567) % 8_000_000
    df = pl.DataFrame(
        {
            "country": country,
            "u7": pl.Series(unique).cast(pl.String).str.zfill(7),
            "us7": pl.Series(unique + 2_000_000).cast(pl.String),
            "style": rng.integers(0, 3, n),
        }
    )
    c, u = pl.col("country"), pl.col("u7")
    nat = (
        pl.when(c == "GB")
        .then(pl.lit("741") + u)
        .when(c == "DE")
        .then(pl.lit("1512") + u)
        .when(c == "US")
        .then(pl.lit("212") + pl.col("us7"))
        .when(c == "IE")
        .then(pl.lit("87") + u)
        .otherwise(pl.lit("61") + u)  # FR and NL mobiles
    )
    code = pl.col("country").replace_strict(COUNTRY_CODES)
    s = pl.col("nat").str.slice
    intl = (
        pl.when(c == "GB")
        .then(pl.format("+44 {} {}", s(0, 4), s(4)))
        .when(c == "DE")
        .then(pl.format("+49 {} {}", s(0, 3), s(3)))
        .when(c == "FR")
        .then(pl.format("+33 {} {} {} {} {}", s(0, 1), s(1, 2), s(3, 2), s(5, 2), s(7, 2)))
        .when(c == "NL")
        .then(pl.format("+31 {} {}", s(0, 1), s(1)))
        .when(c == "US")
        .then(pl.format("+1 {}-{}-{}", s(0, 3), s(3, 3), s(6)))
        .otherwise(pl.format("+353 {} {} {}", s(0, 2), s(2, 3), s(5)))
    )
    national = (
        pl.when(c == "US")
        .then(pl.format("({}) {}-{}", s(0, 3), s(3, 3), s(6)))
        .when(c == "FR")
        .then(pl.format("0{} {} {} {} {}", s(0, 1), s(1, 2), s(3, 2), s(5, 2), s(7, 2)))
        .otherwise(pl.format("0{} {}", s(0, 3), s(3)))
    )
    e164 = pl.format("+{}{}", code, pl.col("nat"))
    return (
        df.with_columns(nat=nat)
        .select(
            pl.when(pl.col("style") == 0)
            .then(intl)
            .when(pl.col("style") == 1)
            .then(national)
            .otherwise(e164)
            .alias("phone")
        )
        .to_series()
    )


def _postcodes(rng: np.random.Generator, country: pl.Series) -> pl.Series:
    """Plausible postcodes in each country's format."""
    n = len(country)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    areas = np.array(["SW", "N", "E", "M", "B", "LS", "EH", "G", "CF", "BS", "NW", "SE"])
    df = pl.DataFrame(
        {
            "country": country,
            "area": areas[rng.integers(0, len(areas), n)],
            "district": rng.integers(1, 20, n),
            "sector": rng.integers(0, 10, n),
            "l1": letters[rng.integers(0, len(letters), n)],
            "l2": letters[rng.integers(0, len(letters), n)],
            "five": pl.Series(rng.integers(1000, 99999, n)).cast(pl.String).str.zfill(5),
            "four": rng.integers(1000, 9999, n),
            "three": pl.Series(rng.integers(0, 999, n)).cast(pl.String).str.zfill(3),
        }
    )
    c = pl.col("country")
    return df.select(
        pl.when(c == "GB")
        .then(pl.format("{}{} {}{}{}", "area", "district", "sector", "l1", "l2"))
        .when(c == "NL")
        .then(pl.format("{} {}{}", "four", "l1", "l2"))
        .when(c == "IE")
        .then(pl.format("D{} {}{}", pl.col("district").cast(pl.String).str.zfill(2), "l1", "three"))
        .otherwise(pl.col("five"))
        .alias("postcode")
    ).to_series()


def _ibans(rng: np.random.Generator, count: int) -> list[str]:
    """Valid IBANs (mod-97 check digits) from a few countries, some grouped in fours."""
    out = []
    for i in range(count):
        country = ["GB", "DE", "NL"][i % 3]
        bank, sort_len, acct_len = IBAN_BANKS[country]
        digits = "".join(map(str, rng.integers(0, 10, sort_len + acct_len)))
        bban = bank + digits
        check = stdnum_iban.calc_check_digits(country + "00" + bban)
        number = f"{country}{check}{bban}"
        out.append(
            " ".join(number[j : j + 4] for j in range(0, len(number), 4)) if i % 2 else number
        )
    return out


def _international(phone: str, country: str) -> str:
    import phonenumbers

    number = phonenumbers.parse(phone, country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _ascii(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isalnum()).lower()


def generate(
    *,
    customers: int = DEFAULT_CUSTOMERS,
    seed: int = DEFAULT_SEED,
    reference_date: date = REFERENCE_DATE,
) -> Sample:
    """Generate the sample datasets with every planted defect at an exact count."""
    if customers < MIN_CUSTOMERS:
        raise ParameterError(
            f"--customers must be at least {MIN_CUSTOMERS} to plant every defect, got {customers}"
        )
    rng = np.random.default_rng(seed)
    n = customers
    sizes = {
        name: (2 * max(NEAR_MISS_MIN, round(NEAR_MISS_RATE * n)) if name in NEAR_MISSES else 0)
        or _count(name, n)
        for name in CUSTOMER_POOLS
    }
    pools = _pools(rng, n, sizes)
    details: dict[str, int] = {}

    # -- who they are ------------------------------------------------------------------------
    first_idx = rng.integers(0, len(FIRST_NAMES), n)
    last_idx = rng.integers(0, len(LAST_NAMES), n)
    country_idx = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    dob = np.datetime64("1940-01-01") + _uniform_days(rng, n, 0, 24_470)  # up to 2006-12-31
    first_names = np.array(FIRST_NAMES + ACCENTED_FIRST_NAMES, dtype=object)[first_idx]
    nfd_rows = pools["name_unnormalised"][::3]
    first_names[nfd_rows] = np.array(ACCENTED_FIRST_NAMES, dtype=object)[
        rng.integers(0, len(ACCENTED_FIRST_NAMES), len(nfd_rows))
    ]
    last_names = np.array(LAST_NAMES, dtype=object)[last_idx]

    def pairs(name: str) -> tuple[np.ndarray, np.ndarray]:
        rows = pools[name]
        return rows[0::2], rows[1::2]

    a, b = pairs("twins")
    last_names[b], dob[b], country_idx[b] = last_names[a], dob[a], country_idx[a]
    same = first_names[b] == first_names[a]
    first_names[b[same]] = [
        FIRST_NAMES[(FIRST_NAMES.index(x) + 1) % 50] for x in first_names[a[same]]
    ]
    a2, b2 = pairs("common_name")
    first_names[b2], last_names[b2], country_idx[b2] = (
        first_names[a2],
        last_names[a2],
        country_idx[a2],
    )
    dob[b2] = dob[a2] + _uniform_days(rng, len(b2), 400, 4000)
    country = pl.Series("country", np.array(COUNTRIES)[country_idx])
    postcode = _postcodes(rng, country).to_numpy().copy()
    postcode[b], postcode[b2] = postcode[a], postcode[a2]

    domains = np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    people = pl.DataFrame(
        {
            "first_name": first_names.astype(str),
            "last_name": last_names.astype(str),
            "row": np.arange(n),
            "domain": domains,
        }
    )
    ascii_first = {x: _ascii(x) for x in set(first_names)}
    ascii_last = {x: _ascii(x) for x in set(last_names)}
    email = people.select(
        pl.format(
            "{}.{}{}@{}",
            pl.col("first_name").replace_strict(ascii_first),
            pl.col("last_name").replace_strict(ascii_last),
            "row",
            "domain",
        )
    ).to_series()
    phone = _phones(rng, country, n)

    # -- lifecycle dates ----------------------------------------------------------------------
    as_of = np.datetime64(reference_date, "D")
    closed_cut = _shift_months(reference_date, -24)
    inactive_cut = _shift_months(reference_date, -36)
    status = np.full(n, "active", dtype=object)
    closed_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    in_pool = np.zeros(n, dtype=bool)
    in_pool[np.concatenate(list(pools.values()))] = True
    normal = np.flatnonzero(~in_pool)
    normal_closed = normal[rng.random(len(normal)) < 0.06]
    windows = {
        "closed_overdue": (-700, -2),
        "closed_due_30": (2, 27),
        "closed_due_90": (33, 87),
    }
    for name, (low, high) in windows.items():
        rows = pools[name]
        closed_at[rows] = closed_cut + _uniform_days(rng, len(rows), low, high)
    closed_at[normal_closed] = closed_cut + _uniform_days(rng, len(normal_closed), 95, 725)
    closed_rows = np.concatenate([*(pools[k] for k in windows), normal_closed])
    closed_rows = np.sort(np.concatenate([closed_rows, pools["closed_anchor_missing"]]))
    status[closed_rows] = "closed"
    has_close = ~np.isnat(closed_at)
    closed_at[has_close] += _seconds(rng, int(has_close.sum()))

    last_activity = (inactive_cut + _uniform_days(rng, n, 95, 1090)).astype("datetime64[s]")
    for name, (low, high) in {"inactive_overdue": (-900, -2), "inactive_due_30": (2, 27)}.items():
        rows = pools[name]
        last_activity[rows] = inactive_cut + _uniform_days(rng, len(rows), low, high)
    last_activity[has_close] = closed_at[has_close] - _uniform_days(
        rng, int(has_close.sum()), 0, 200
    )
    last_activity += _seconds(rng, n)
    last_activity = np.minimum(
        last_activity, as_of.astype("datetime64[s]") - np.timedelta64(1, "h")
    )
    created_at = last_activity - _uniform_days(rng, n, 30, 3000) - _seconds(rng, n)
    created_at = np.maximum(created_at, np.datetime64("2010-01-01T00:00:00"))

    # -- marketing consent --------------------------------------------------------------------
    consent = np.zeros(n, dtype=bool)
    consent_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    as_of_s = as_of.astype("datetime64[s]")
    recent_start = np.maximum(created_at, as_of_s - np.timedelta64(690, "D"))
    grant_recent = _between(rng, recent_start, np.full(n, as_of_s - np.timedelta64(5, "D")))
    events: list[pl.DataFrame] = []

    def add_events(rows: np.ndarray, status_: str, when: np.ndarray) -> None:
        events.append(
            pl.DataFrame(
                {"row": rows, "status": [status_] * len(rows), "occurred_at": _us(when)},
                schema={"row": pl.Int64, "status": pl.String, "occurred_at": pl.Datetime("us")},
            )
        )

    opted_in = normal[rng.random(len(normal)) < 0.55]
    consent[opted_in] = True
    consent_at[opted_in] = grant_recent[opted_in]
    add_events(opted_in, "granted", grant_recent[opted_in])
    reconsidered = opted_in[rng.random(len(opted_in)) < 0.3]
    add_events(
        reconsidered,
        "withdrawn",
        _between(rng, created_at[reconsidered], grant_recent[reconsidered], margin_s=60),
    )
    opted_out = np.setdiff1d(normal, opted_in)
    withdrew = opted_out[rng.random(len(opted_out)) < 0.5]
    first_grant = _between(
        rng, created_at[withdrew], np.full(len(withdrew), as_of_s), margin_s=7200
    )
    add_events(withdrew, "granted", first_grant)
    add_events(
        withdrew, "withdrawn", _between(rng, first_grant + 3600, np.full(len(withdrew), as_of_s))
    )

    consent[pools["consent_missing"]] = True
    rows = pools["consent_withdrawn"]
    consent[rows], consent_at[rows] = True, grant_recent[rows]
    add_events(rows, "granted", grant_recent[rows])
    add_events(
        rows, "withdrawn", _between(rng, grant_recent[rows] + 60, np.full(len(rows), as_of_s))
    )
    rows = pools["consent_stale"]
    stale = as_of_s - _uniform_days(rng, len(rows), 760, 1400) - _seconds(rng, len(rows))
    consent[rows], consent_at[rows] = True, stale
    created_at[rows] = np.minimum(created_at[rows], stale - np.timedelta64(10, "D"))
    add_events(rows, "granted", stale)

    # -- defects on identity fields ------------------------------------------------------------
    email_arr = email.to_numpy().astype(object)
    phone_arr = phone.to_numpy().astype(object)
    email_arr[pools["null_email"]] = None
    rows = pools["malformed_email"]
    for i, r in enumerate(rows):
        local, domain = email_arr[r].split("@")
        email_arr[r] = [
            f"{local}{domain}",
            f"{local}@@{domain}",
            f"{local}@",
            f"{local.replace('.', ' ', 1)}@{domain}",
            f"{local}@{domain.split('.')[0]}",
        ][i % 5]
    rows = pools["malformed_phone"]
    phone_arr[rows] = np.array(MALFORMED_PHONES, dtype=object)[np.arange(len(rows)) % 6]
    rows = pools["country_nonstandard"]
    country_out = country.to_numpy().astype(object)
    country_out[rows] = [
        COUNTRY_VARIANTS[c][i % len(COUNTRY_VARIANTS[c])] for i, c in enumerate(country_out[rows])
    ]
    rows = pools["name_unnormalised"]
    for i, r in enumerate(rows):
        name = first_names[r]
        first_names[r] = [unicodedata.normalize("NFD", name), name.upper(), f"  {name} "][i % 3]
    notes = np.full(n, None, dtype=object)
    with_note = normal[rng.random(len(normal)) < 0.15]
    notes[with_note] = np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), len(with_note))]
    rows = pools["email_in_notes"]
    notes[rows] = [
        f"Alternative contact: {_ascii(first_names[r])}{_ascii(last_names[r])}@example.net"
        for r in rows
    ]

    customers_df = pl.DataFrame(
        {
            "row": np.arange(n),
            "first_name": first_names.astype(str),
            "last_name": last_names.astype(str),
            "email": pl.Series(email_arr.tolist(), dtype=pl.String),
            "phone": pl.Series(phone_arr.tolist(), dtype=pl.String),
            "date_of_birth": dob,
            "country": pl.Series(country_out.tolist(), dtype=pl.String),
            "country_iso": country,
            "postcode": postcode.astype(str),
            "created_at": _us(created_at),
            "last_activity_at": _us(last_activity),
            "closed_at": _us(closed_at),
            "status": status.astype(str),
            "marketing_consent": consent,
            "marketing_consent_at": _us(consent_at),
            "notes": pl.Series(notes.tolist(), dtype=pl.String),
        }
    ).with_columns(pl.col(pl.Datetime).dt.cast_time_unit("us"))

    # -- duplicates of the same person ---------------------------------------------------------
    src = pools["duplicate_person"]
    k = len(src)
    dup = customers_df[src.tolist()]
    padded = np.arange(k) % 2 == 1
    dup_created = _between(
        rng,
        dup["created_at"].to_numpy().astype("datetime64[s]") + np.timedelta64(30, "D"),
        np.full(k, as_of_s - np.timedelta64(20, "D")),
    )
    recent = (inactive_cut + np.timedelta64(95, "D")).astype("datetime64[s]")
    dup_last = _between(
        rng, np.maximum(dup_created + np.timedelta64(1, "D"), recent), np.full(k, as_of_s - 3600)
    )
    dup = dup.with_columns(
        row=pl.Series(np.arange(n, n + k)),
        email=pl.when(pl.Series(padded))
        .then(pl.format(" {} ", "email"))
        .otherwise(pl.col("email").str.to_uppercase()),
        phone=_reformat_same_phone(dup["phone"], dup["country_iso"]),
        created_at=pl.Series(_us(dup_created)),
        last_activity_at=pl.Series(_us(dup_last)),
        closed_at=None,
        status=pl.lit("active"),
        marketing_consent=False,
        marketing_consent_at=None,
        notes=None,
    )
    withdraw_dup = np.arange(k)[np.arange(k) % 3 == 0]
    # their source rows keep a recent grant, the duplicate carries a withdrawal
    src_w = src[withdraw_dup]
    customers_df = customers_df.with_columns(
        marketing_consent=pl.when(pl.col("row").is_in(src_w.tolist()))
        .then(True)
        .otherwise("marketing_consent"),
        marketing_consent_at=pl.when(pl.col("row").is_in(src_w.tolist()))
        .then(pl.Series(_us(grant_recent)))
        .otherwise("marketing_consent_at"),
    )
    already = set(opted_in.tolist())
    fresh = np.array([r for r in src_w if r not in already], dtype=np.int64)
    add_events(fresh, "granted", grant_recent[fresh])
    dup_rows = n + withdraw_dup
    dup_first = _between(rng, dup_created[withdraw_dup], dup_last[withdraw_dup], margin_s=7200)
    add_events(dup_rows, "granted", dup_first)
    add_events(dup_rows, "withdrawn", _between(rng, dup_first + 3600, dup_last[withdraw_dup]))
    details["duplicate_email_case"] = int((~padded).sum())
    details["duplicate_email_whitespace"] = int(padded.sum())
    details["duplicate_with_withdrawal"] = len(withdraw_dup)

    everyone = pl.concat([customers_df, dup])
    total = everyone.height
    ids = everyone.select(
        "row", customer_id=pl.col("created_at").rank("ordinal").cast(pl.Int64) + 10_000
    )
    id_of = ids.sort("row")["customer_id"].to_numpy()

    # -- orders --------------------------------------------------------------------------------
    per = rng.poisson(3, total)
    order_row = np.repeat(np.arange(total), per)
    m = len(order_row)
    created_all = everyone["created_at"].to_numpy().astype("datetime64[s]")
    last_all = everyone["last_activity_at"].to_numpy().astype("datetime64[s]")
    ordered_at = _between(rng, created_all[order_row], last_all[order_row])
    amount = np.round(rng.gamma(2.0, 30.0, m) + 1.0, 2)
    iso_all = everyone["country_iso"].to_numpy()
    currency = pl.Series(iso_all[order_row]).replace_strict(CURRENCY)
    last4 = pl.Series(rng.integers(0, 10_000, m)).cast(pl.String).str.zfill(4)
    card = np.array(("************" + last4).to_list(), dtype=object)
    customer_id = id_of[order_row].copy()
    order_sizes = {name: _count(name, m) for name in DEFECTS if DEFECTS[name][0] == "orders"}
    opools = _pools(rng, m, order_sizes)
    rows = opools["orphan_order"]
    customer_id[rows] = id_of.max() + 1 + np.arange(len(rows)) * 7
    rows = opools["future_order"]
    ordered_at[rows] = as_of_s + _uniform_days(rng, len(rows), 1, 300) + _seconds(rng, len(rows))
    amount[opools["negative_amount"]] *= -1
    rows = opools["raw_card_number"]
    raw = np.array(TEST_CARDS, dtype=object)[np.arange(len(rows)) % len(TEST_CARDS)]
    card[rows] = [
        c if i % 2 == 0 else " ".join(c[j : j + 4] for j in range(0, len(c), 4))
        for i, c in enumerate(raw)
    ]
    orders = (
        pl.DataFrame(
            {
                "customer_id": customer_id,
                "ordered_at": _us(ordered_at),
                "amount": amount,
                "currency": currency,
                "card": pl.Series(card.tolist(), dtype=pl.String),
            }
        )
        .with_columns(pl.col("ordered_at").dt.cast_time_unit("us"))
        .with_row_index("pos")
        .sort("ordered_at", "pos")
        .with_row_index("order_id", offset=500_001)
        .select(
            pl.col("order_id").cast(pl.Int64),
            "customer_id",
            "ordered_at",
            "amount",
            "currency",
            "card",
        )
    )

    lifetime = (
        pl.DataFrame({"row": order_row, "amount": np.abs(amount)})
        .group_by("row")
        .agg(lifetime_value=pl.col("amount").sum().round(2))
    )

    # -- consent events ------------------------------------------------------------------------
    ev = pl.concat(events)
    consent_events = (
        ev.with_columns(
            customer_id=pl.col("row").replace_strict(ids["row"], ids["customer_id"]),
            purpose=pl.lit("marketing"),
            source=pl.Series(
                np.array(CONSENT_SOURCES)[rng.integers(0, len(CONSENT_SOURCES), ev.height)]
            ),
        )
        .sort("occurred_at", "customer_id", "status")
        .with_row_index("event_id", offset=1)
        .select(
            pl.col("event_id").cast(pl.Int64),
            "customer_id",
            "purpose",
            "status",
            "occurred_at",
            "source",
        )
    )

    # -- support tickets -----------------------------------------------------------------------
    t = round(0.6 * total)
    ticket_row = rng.integers(0, total, t)
    opened = _between(rng, created_all[ticket_row], np.full(t, as_of_s))
    message = np.array(TICKET_MESSAGES, dtype=object)[rng.integers(0, len(TICKET_MESSAGES), t)]
    tsizes = {name: _count(name, t) for name in DEFECTS if DEFECTS[name][0] == "support_tickets"}
    tpools = _pools(rng, t, tsizes)
    emails_all = everyone["email"].to_numpy()
    rows = tpools["email_in_ticket"]
    fallback = [f"customer{r}@example.org" for r in rows]
    message[rows] = [
        f"Please reply to {(emails_all[ticket_row[r]] or fb).strip().lower()} instead."
        for r, fb in zip(rows, fallback, strict=True)
    ]
    rows = tpools["phone_in_ticket"]
    valid_phone, iso = phone.to_numpy(), country.to_numpy()
    message[rows] = [
        f"You can call me on {_international(valid_phone[i], iso[i])} after five."
        for i in (ticket_row[r] % n for r in rows)
    ]
    rows = tpools["iban_in_ticket"]
    message[rows] = [f"Please refund to my account {x} as agreed." for x in _ibans(rng, len(rows))]
    tickets = (
        pl.DataFrame(
            {
                "customer_id": id_of[ticket_row],
                "opened_at": _us(opened),
                "channel": np.array(TICKET_CHANNELS)[rng.integers(0, len(TICKET_CHANNELS), t)],
                "message": pl.Series(message.tolist(), dtype=pl.String),
            }
        )
        .with_columns(pl.col("opened_at").dt.cast_time_unit("us"))
        .with_row_index("pos")
        .sort("opened_at", "pos")
        .with_row_index("ticket_id", offset=90_001)
        .select(
            pl.col("ticket_id").cast(pl.Int64), "customer_id", "opened_at", "channel", "message"
        )
    )

    customers_out = (
        everyone.join(ids, on="row")
        .join(lifetime, on="row", how="left")
        .with_columns(pl.col("lifetime_value").fill_null(0.0))
        .sort("customer_id")
        .select(
            "customer_id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "date_of_birth",
            "country",
            "postcode",
            "created_at",
            "last_activity_at",
            "closed_at",
            "status",
            "marketing_consent",
            "marketing_consent_at",
            "lifetime_value",
            "notes",
        )
    )
    sentinel_ids = id_of[pools["lifetime_value_sentinel"]]
    customers_out = customers_out.with_columns(
        lifetime_value=pl.when(pl.col("customer_id").is_in(sentinel_ids.tolist()))
        .then(None)
        .otherwise("lifetime_value")
    )

    defects = [
        Defect(
            name=name,
            dataset=spec[0],
            column=spec[1],
            count=len(src)
            if name == "duplicate_person"
            else len(
                {"customers": pools, "orders": opools, "support_tickets": tpools}[spec[0]][name]
            ),
            description=spec[4],
        )
        for name, spec in DEFECTS.items()
    ]
    near = {name: len(pools[name]) // 2 for name in NEAR_MISSES}
    return Sample(
        frames={
            "customers": customers_out,
            "orders": orders,
            "consent_events": consent_events,
            "support_tickets": tickets,
        },
        defects=defects,
        near_misses=near,
        reference_date=reference_date,
        seed=seed,
        customers=customers,
        details=details,
    )


def _reformat_same_phone(phone: pl.Series, country: pl.Series) -> pl.Series:
    """The same number in another format: E.164 becomes spaced, anything else becomes E.164."""
    code = country.replace_strict(COUNTRY_CODES)
    df = pl.DataFrame({"phone": phone, "code": code})
    digits = pl.col("phone").str.replace_all(r"[^0-9+]", "")
    national = (
        pl.when(digits.str.starts_with("+"))
        .then(digits.str.slice(1).str.slice(pl.col("code").str.len_chars()))
        .when(pl.col("code") == "1")
        .then(digits)
        .otherwise(digits.str.slice(1))
    )
    return df.select(
        pl.when(pl.col("phone").str.contains(" "))
        .then(pl.format("+{}{}", "code", national))
        .otherwise(pl.format("+{} {}", "code", national))
        .alias("phone")
    ).to_series()


def write(sample: Sample, out_dir: str | Path) -> list[Path]:
    """Write the sample, its manifest and README into `out_dir`, replacing files atomically.

    Everything is written into a temporary folder beside `out_dir` first, so a failure leaves
    the previous files untouched.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".sample-", dir=out))
    try:
        frames = dict(sample.frames)
        customers = frames["customers"].with_columns(
            pl.col("lifetime_value").cast(pl.String).fill_null("N/A")
        )
        customers.write_csv(
            staging / FILES["customers"], datetime_format=DATETIME_FORMAT, date_format="%Y-%m-%d"
        )
        frames["orders"].write_parquet(staging / FILES["orders"], statistics=True)
        frames["consent_events"].with_columns(
            pl.col("occurred_at").dt.strftime(DATETIME_FORMAT)
        ).write_ndjson(staging / FILES["consent_events"])
        _write_gzip_csv(frames["support_tickets"], staging / FILES["support_tickets"])
        manifest = sample.manifest()
        (staging / "manifest.json").write_text(
            json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        (staging / "README.md").write_text(_readme(sample), encoding="utf-8")
        written = []
        for item in sorted(staging.iterdir()):
            target = out / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _write_gzip_csv(frame: pl.DataFrame, path: Path) -> None:
    import gzip

    data = frame.write_csv(datetime_format=DATETIME_FORMAT).encode("utf-8")
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)


def _readme(sample: Sample) -> str:
    lines = [
        "# Sample customer data",
        "",
        "Synthetic data of a small fictional company, generated by",
        f"`govlib sample-data --out data/sample --seed {sample.seed} "
        f"--customers {sample.customers}`. Every name, email, phone and card number is fake;",
        "emails use reserved example domains and card numbers are public test numbers.",
        "",
        f"Reference date: **{sample.reference_date.isoformat()}**. Retention and consent are",
        "judged on this date (the sample catalog pins it as `as_of`), so every count is exact.",
        "",
        "| dataset | file | rows |",
        "| --- | --- | --- |",
        *(
            f"| {name} | `{FILES[name]}` | {frame.height} |"
            for name, frame in sample.frames.items()
        ),
        "",
        "## Planted defects",
        "Each defect sits on its own rows: no row carries two planted defects of the customers",
        "table, so the counts add up. `manifest.json` holds the same table for tests.",
        "",
        "| defect | dataset.column | count | what |",
        "| --- | --- | --- | --- |",
        *(
            f"| `{d.name}` | {d.dataset}.{d.column} | {d.count} | {d.description} |"
            for d in sample.defects
        ),
        "",
        "## Near misses (not duplicates)",
        "",
        "| kind | pairs | what |",
        "| --- | --- | --- |",
        *(
            f"| `{name}` | {count} | {NEAR_MISSES[name]} |"
            for name, count in sample.near_misses.items()
        ),
        "",
        "## Details",
        "",
        *(f"- `{key}`: {value}" for key, value in sorted(sample.details.items())),
        "",
    ]
    return "\n".join(lines)


def parse_date(text: str) -> date:
    """Parse an ISO date (`YYYY-MM-DD`) with a clear error."""
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise ParameterError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
