"""Marketing consent: flags on the customers and the event log behind them.

Most customers who agreed did so recently; some withdrew and agreed again. Three defect pools
break the rule that a flag needs a fresh grant: no event at all, a later withdrawal, a stale
grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from govlib.sampledata.customers import Lifecycle, Plan
from govlib.sampledata.draws import as_us, between, seconds, uniform_days
from govlib.sampledata.vocabulary import CONSENT_SOURCES

EVENT_SCHEMA = {"row": pl.Int64(), "status": pl.String(), "occurred_at": pl.Datetime("us")}


@dataclass(slots=True)
class Consent:
    """Each customer's flag and grant time, a recent grant time for each, and the events."""

    flag: np.ndarray
    at: np.ndarray
    grant_recent: np.ndarray
    opted_in: np.ndarray
    events: list[pl.DataFrame] = field(default_factory=list)

    def add(self, rows: np.ndarray, status: str, when: np.ndarray) -> None:
        """Log a `status` event for each of `rows` at `when`."""
        self.events.append(
            pl.DataFrame(
                {"row": rows, "status": [status] * len(rows), "occurred_at": as_us(when)},
                schema=EVENT_SCHEMA,
            )
        )


def marketing_consent(plan: Plan, life: Lifecycle) -> Consent:
    """Grants and withdrawals of the normal rows, then the three consent defects.

    A stale grant moves its customer's `created_at` back before it.
    """
    rng, n, as_of_s, normal = plan.rng, plan.n, plan.as_of_s, life.normal
    recent_start = np.maximum(life.created_at, as_of_s - np.timedelta64(690, "D"))
    grant_recent = between(rng, recent_start, np.full(n, as_of_s - np.timedelta64(5, "D")))
    opted_in = normal[rng.random(len(normal)) < 0.55]
    c = Consent(
        np.zeros(n, dtype=bool),
        np.full(n, np.datetime64("NaT"), dtype="datetime64[s]"),
        grant_recent,
        opted_in,
    )
    c.flag[opted_in] = True
    c.at[opted_in] = grant_recent[opted_in]
    c.add(opted_in, "granted", grant_recent[opted_in])
    reconsidered = opted_in[rng.random(len(opted_in)) < 0.3]
    created = life.created_at
    earlier = between(rng, created[reconsidered], grant_recent[reconsidered], margin_s=60)
    c.add(reconsidered, "withdrawn", earlier)
    opted_out = np.setdiff1d(normal, opted_in)
    withdrew = opted_out[rng.random(len(opted_out)) < 0.5]
    until_now = np.full(len(withdrew), as_of_s)
    first_grant = between(rng, created[withdrew], until_now, margin_s=7200)
    c.add(withdrew, "granted", first_grant)
    c.add(withdrew, "withdrawn", between(rng, first_grant + 3600, until_now))
    _plant_defects(plan, life, c)
    return c


def _plant_defects(plan: Plan, life: Lifecycle, c: Consent) -> None:
    """Flags with no grant, with a later withdrawal, and on a grant over 24 months old."""
    rng, pools, as_of_s = plan.rng, plan.pools, plan.as_of_s
    c.flag[pools["consent_missing"]] = True
    rows = pools["consent_withdrawn"]
    c.flag[rows], c.at[rows] = True, c.grant_recent[rows]
    c.add(rows, "granted", c.grant_recent[rows])
    later = between(rng, c.grant_recent[rows] + 60, np.full(len(rows), as_of_s))
    c.add(rows, "withdrawn", later)
    rows = pools["consent_stale"]
    stale = as_of_s - uniform_days(rng, len(rows), 760, 1400) - seconds(rng, len(rows))
    c.flag[rows], c.at[rows] = True, stale
    life.created_at[rows] = np.minimum(life.created_at[rows], stale - np.timedelta64(10, "D"))
    c.add(rows, "granted", stale)


def consent_events(rng: np.random.Generator, c: Consent, ids: pl.DataFrame) -> pl.DataFrame:
    """The event log: one row per grant or withdrawal, by customer id, in time order."""
    ev = pl.concat(c.events)
    return (
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
