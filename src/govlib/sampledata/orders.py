"""Orders: a Poisson number per customer, with orphans, future dates, refunds and raw cards."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from govlib.sampledata.customers import Plan
from govlib.sampledata.draws import (
    as_us,
    between,
    defect_count,
    disjoint_pools,
    seconds,
    uniform_days,
)
from govlib.sampledata.vocabulary import CURRENCY, DEFECTS, TEST_CARDS


@dataclass(frozen=True, slots=True)
class Orders:
    """The orders, each customer row's lifetime value, and the orders' defect pools."""

    frame: pl.DataFrame
    lifetime: pl.DataFrame  # row, lifetime_value
    pools: dict[str, np.ndarray]


def orders(plan: Plan, everyone: pl.DataFrame, id_of: np.ndarray) -> Orders:
    """Orders of `everyone` between their creation and last activity, with the order defects."""
    rng, total = plan.rng, everyone.height
    order_row = np.repeat(np.arange(total), rng.poisson(3, total))
    m = len(order_row)
    created = everyone["created_at"].to_numpy().astype("datetime64[s]")
    last = everyone["last_activity_at"].to_numpy().astype("datetime64[s]")
    ordered_at = between(rng, created[order_row], last[order_row])
    amount = np.round(rng.gamma(2.0, 30.0, m) + 1.0, 2)
    currency = pl.Series(everyone["country_iso"].to_numpy()[order_row]).replace_strict(CURRENCY)
    last4 = pl.Series(rng.integers(0, 10_000, m)).cast(pl.String).str.zfill(4)
    card = np.array(("************" + last4).to_list(), dtype=object)
    customer_id = id_of[order_row].copy()
    sizes = {name: defect_count(name, m) for name in DEFECTS if DEFECTS[name][0] == "orders"}
    pools = disjoint_pools(rng, m, sizes)
    rows = pools["orphan_order"]
    customer_id[rows] = id_of.max() + 1 + np.arange(len(rows)) * 7
    rows = pools["future_order"]
    later = uniform_days(rng, len(rows), 1, 300) + seconds(rng, len(rows))
    ordered_at[rows] = plan.as_of_s + later
    amount[pools["negative_amount"]] *= -1
    card[pools["raw_card_number"]] = _raw_cards(len(pools["raw_card_number"]))
    frame = pl.DataFrame(
        {
            "customer_id": customer_id,
            "ordered_at": as_us(ordered_at),
            "amount": amount,
            "currency": currency,
            "card": pl.Series(card.tolist(), dtype=pl.String),
        }
    )
    lifetime = (
        pl.DataFrame({"row": order_row, "amount": np.abs(amount)})
        .group_by("row")
        .agg(lifetime_value=pl.col("amount").sum().round(2))
    )
    return Orders(_numbered(frame), lifetime, pools)


def _raw_cards(count: int) -> list[str]:
    """Public test card numbers, every second one grouped in fours."""
    raw = np.array(TEST_CARDS, dtype=object)[np.arange(count) % len(TEST_CARDS)]
    return [
        c if i % 2 == 0 else " ".join(c[j : j + 4] for j in range(0, len(c), 4))
        for i, c in enumerate(raw)
    ]


def _numbered(frame: pl.DataFrame) -> pl.DataFrame:
    """Orders in time order, numbered from 500001."""
    return (
        frame.with_columns(pl.col("ordered_at").dt.cast_time_unit("us"))
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
