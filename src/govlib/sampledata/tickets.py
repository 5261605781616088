"""Support tickets: canned messages, some holding an email, a phone or an IBAN."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from govlib.sampledata.customers import People, Plan
from govlib.sampledata.draws import as_us, between, defect_count, disjoint_pools
from govlib.sampledata.fields import ibans, international
from govlib.sampledata.vocabulary import DEFECTS, TICKET_CHANNELS, TICKET_MESSAGES


@dataclass(frozen=True, slots=True)
class Tickets:
    """The tickets and their defect pools."""

    frame: pl.DataFrame
    pools: dict[str, np.ndarray]


def tickets(plan: Plan, everyone: pl.DataFrame, id_of: np.ndarray, people: People) -> Tickets:
    """Tickets of random customers since their account opened, with PII planted in messages."""
    rng, total = plan.rng, everyone.height
    t = round(0.6 * total)
    ticket_row = rng.integers(0, total, t)
    created = everyone["created_at"].to_numpy().astype("datetime64[s]")
    opened = between(rng, created[ticket_row], np.full(t, plan.as_of_s))
    message = np.array(TICKET_MESSAGES, dtype=object)[rng.integers(0, len(TICKET_MESSAGES), t)]
    sizes = {
        name: defect_count(name, t) for name in DEFECTS if DEFECTS[name][0] == "support_tickets"
    }
    pools = disjoint_pools(rng, t, sizes)
    emails = everyone["email"].to_numpy()
    rows = pools["email_in_ticket"]
    message[rows] = [
        f"Please reply to {(emails[ticket_row[r]] or f'customer{r}@example.org').strip().lower()}"
        " instead."
        for r in rows
    ]
    rows = pools["phone_in_ticket"]
    valid_phone, iso = people.phone.to_numpy(), people.country.to_numpy()
    message[rows] = [
        f"You can call me on {international(valid_phone[i], iso[i])} after five."
        for i in (ticket_row[r] % plan.n for r in rows)
    ]
    rows = pools["iban_in_ticket"]
    message[rows] = [f"Please refund to my account {x} as agreed." for x in ibans(rng, len(rows))]
    frame = pl.DataFrame(
        {
            "customer_id": id_of[ticket_row],
            "opened_at": as_us(opened),
            "channel": np.array(TICKET_CHANNELS)[rng.integers(0, len(TICKET_CHANNELS), t)],
            "message": pl.Series(message.tolist(), dtype=pl.String),
        }
    )
    return Tickets(_numbered(frame), pools)


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """Tickets in time order, numbered from 90001."""
    return (
        frame.with_columns(pl.col("opened_at").dt.cast_time_unit("us"))
        .with_row_index("pos")
        .sort("opened_at", "pos")
        .with_row_index("ticket_id", offset=90_001)
        .select(
            pl.col("ticket_id").cast(pl.Int64), "customer_id", "opened_at", "channel", "message"
        )
    )
