"""Customers: who they are (names, birth dates, countries, contacts) and their account dates.

Every function draws from the plan's generator in a fixed order; calling them in the order
`generate` does is what keeps the sample identical for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from govlib.sampledata.draws import seconds, shift_months, uniform_days
from govlib.sampledata.fields import ascii_name, phones, postcodes
from govlib.sampledata.vocabulary import (
    ACCENTED_FIRST_NAMES,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
)


@dataclass(frozen=True, slots=True)
class Plan:
    """The generator, the number of customers, their disjoint defect pools and the date."""

    rng: np.random.Generator
    n: int
    pools: dict[str, np.ndarray]
    reference_date: date

    @property
    def as_of(self) -> np.datetime64:
        """The reference date as a day."""
        return np.datetime64(self.reference_date, "D")

    @property
    def as_of_s(self) -> np.datetime64:
        """The reference date's midnight, in seconds."""
        return self.as_of.astype("datetime64[s]")

    def pairs(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """The two halves of a pool of pairs: first and second of each pair."""
        rows = self.pools[name]
        return rows[0::2], rows[1::2]


@dataclass(slots=True)
class People:
    """Who the customers are; defects are planted into these arrays in place."""

    first_names: np.ndarray
    last_names: np.ndarray
    dob: np.ndarray
    country: pl.Series
    postcode: np.ndarray
    email: pl.Series
    phone: pl.Series


def people(plan: Plan) -> People:
    """Names, birth dates, countries and postcodes, with twins and common names planted."""
    rng, n = plan.rng, plan.n
    first_idx = rng.integers(0, len(FIRST_NAMES), n)
    last_idx = rng.integers(0, len(LAST_NAMES), n)
    country_idx = rng.choice(len(COUNTRIES), size=n, p=COUNTRY_WEIGHTS)
    dob = np.datetime64("1940-01-01") + uniform_days(rng, n, 0, 24_470)  # up to 2006-12-31
    first_names = np.array(FIRST_NAMES + ACCENTED_FIRST_NAMES, dtype=object)[first_idx]
    nfd_rows = plan.pools["name_unnormalised"][::3]
    first_names[nfd_rows] = np.array(ACCENTED_FIRST_NAMES, dtype=object)[
        rng.integers(0, len(ACCENTED_FIRST_NAMES), len(nfd_rows))
    ]
    last_names = np.array(LAST_NAMES, dtype=object)[last_idx]
    a, b = plan.pairs("twins")
    last_names[b], dob[b], country_idx[b] = last_names[a], dob[a], country_idx[a]
    same = first_names[b] == first_names[a]
    first_names[b[same]] = [
        FIRST_NAMES[(FIRST_NAMES.index(x) + 1) % 50] for x in first_names[a[same]]
    ]
    a2, b2 = plan.pairs("common_name")
    first_names[b2], last_names[b2], country_idx[b2] = (
        first_names[a2],
        last_names[a2],
        country_idx[a2],
    )
    dob[b2] = dob[a2] + uniform_days(rng, len(b2), 400, 4000)
    country = pl.Series("country", np.array(COUNTRIES)[country_idx])
    postcode = postcodes(rng, country).to_numpy().copy()
    postcode[b], postcode[b2] = postcode[a], postcode[a2]
    email = _emails(rng, first_names, last_names)
    return People(first_names, last_names, dob, country, postcode, email, phones(rng, country, n))


def _emails(rng: np.random.Generator, first_names: np.ndarray, last_names: np.ndarray) -> pl.Series:
    """Unique addresses `first.lastROW@domain` on reserved example domains."""
    n = len(first_names)
    domains = np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    frame = pl.DataFrame(
        {
            "first_name": first_names.astype(str),
            "last_name": last_names.astype(str),
            "row": np.arange(n),
            "domain": domains,
        }
    )
    ascii_first = {x: ascii_name(x) for x in set(first_names)}
    ascii_last = {x: ascii_name(x) for x in set(last_names)}
    return frame.select(
        pl.format(
            "{}.{}{}@{}",
            pl.col("first_name").replace_strict(ascii_first),
            pl.col("last_name").replace_strict(ascii_last),
            "row",
            "domain",
        )
    ).to_series()


@dataclass(slots=True)
class Lifecycle:
    """Account status and dates; `normal` are the rows no defect pool holds."""

    status: np.ndarray
    closed_at: np.ndarray
    last_activity: np.ndarray
    created_at: np.ndarray
    normal: np.ndarray
    inactive_cut: np.datetime64


CLOSED_WINDOWS = {"closed_overdue": (-700, -2), "closed_due_30": (2, 27), "closed_due_90": (33, 87)}
INACTIVE_WINDOWS = {"inactive_overdue": (-900, -2), "inactive_due_30": (2, 27)}


def lifecycle(plan: Plan) -> Lifecycle:
    """Closed and active accounts, with closures and inactivity planted around the retention cut."""
    rng, n, pools = plan.rng, plan.n, plan.pools
    closed_cut = shift_months(plan.reference_date, -24)
    inactive_cut = shift_months(plan.reference_date, -36)
    status = np.full(n, "active", dtype=object)
    closed_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    in_pool = np.zeros(n, dtype=bool)
    in_pool[np.concatenate(list(pools.values()))] = True
    normal = np.flatnonzero(~in_pool)
    normal_closed = normal[rng.random(len(normal)) < 0.06]
    for name, (low, high) in CLOSED_WINDOWS.items():
        rows = pools[name]
        closed_at[rows] = closed_cut + uniform_days(rng, len(rows), low, high)
    closed_at[normal_closed] = closed_cut + uniform_days(rng, len(normal_closed), 95, 725)
    closed_rows = np.concatenate([*(pools[k] for k in CLOSED_WINDOWS), normal_closed])
    closed_rows = np.sort(np.concatenate([closed_rows, pools["closed_anchor_missing"]]))
    status[closed_rows] = "closed"
    has_close = ~np.isnat(closed_at)
    closed_at[has_close] += seconds(rng, int(has_close.sum()))
    last_activity = (inactive_cut + uniform_days(rng, n, 95, 1090)).astype("datetime64[s]")
    for name, (low, high) in INACTIVE_WINDOWS.items():
        rows = pools[name]
        last_activity[rows] = inactive_cut + uniform_days(rng, len(rows), low, high)
    last_activity[has_close] = closed_at[has_close] - uniform_days(
        rng, int(has_close.sum()), 0, 200
    )
    last_activity += seconds(rng, n)
    last_activity = np.minimum(last_activity, plan.as_of_s - np.timedelta64(1, "h"))
    created_at = last_activity - uniform_days(rng, n, 30, 3000) - seconds(rng, n)
    created_at = np.maximum(created_at, np.datetime64("2010-01-01T00:00:00"))
    return Lifecycle(status, closed_at, last_activity, created_at, normal, inactive_cut)


CUSTOMER_COLUMNS = [
    "customer_id", "first_name", "last_name", "email", "phone", "date_of_birth", "country",
    "postcode", "created_at", "last_activity_at", "closed_at", "status", "marketing_consent",
    "marketing_consent_at", "lifetime_value", "notes",
]  # fmt: skip


def customers_out(
    everyone: pl.DataFrame, ids: pl.DataFrame, lifetime: pl.DataFrame, sentinel_ids: np.ndarray
) -> pl.DataFrame:
    """The customers table as written: by id, with lifetime values; `sentinel_ids` get none."""
    return (
        everyone.join(ids, on="row")
        .join(lifetime, on="row", how="left")
        .with_columns(pl.col("lifetime_value").fill_null(0.0))
        .sort("customer_id")
        .select(CUSTOMER_COLUMNS)
        .with_columns(
            lifetime_value=pl.when(pl.col("customer_id").is_in(sentinel_ids.tolist()))
            .then(None)
            .otherwise("lifetime_value")
        )
    )
