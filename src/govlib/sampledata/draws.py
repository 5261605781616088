"""Seeded draws shared by every section: disjoint row pools, days, seconds, timestamps."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from govlib.errors import ParameterError
from govlib.sampledata.vocabulary import DEFECTS


def defect_count(name: str, n: int) -> int:
    """Rows to plant defect `name` on among `n`: max(minimum, round(rate * n))."""
    _, _, rate, minimum, _ = DEFECTS[name]
    return max(minimum, round(rate * n))


def disjoint_pools(
    rng: np.random.Generator, n: int, sizes: dict[str, int]
) -> dict[str, np.ndarray]:
    """Disjoint random row pools of the given sizes."""
    perm = rng.permutation(n)
    if sum(sizes.values()) > n // 2:
        raise ParameterError(f"too few rows ({n}) to plant every defect; ask for more")
    pools, start = {}, 0
    for name, size in sizes.items():
        pools[name] = np.sort(perm[start : start + size])
        start += size
    return pools


def uniform_days(rng: np.random.Generator, size: int, low: int, high: int) -> np.ndarray:
    """`size` whole-day offsets between `low` and `high` days, both included."""
    return rng.integers(low, high + 1, size).astype("timedelta64[D]")


def as_us(values: np.ndarray) -> np.ndarray:
    """Timestamps in microseconds, polars' unit for the sample."""
    return values.astype("datetime64[us]")


def seconds(rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` random times of day, as second offsets."""
    return rng.integers(0, 86400, size).astype("timedelta64[s]")


def shift_months(day: date, months: int) -> np.datetime64:
    """`day` moved by `months` calendar months."""
    shifted = pl.Series([day]).dt.offset_by(f"{months}mo").item()
    return np.datetime64(shifted, "D")


def between(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, *, margin_s: int = 0
) -> np.ndarray:
    """Uniform timestamps between `start` and `end` (datetime64[s] arrays)."""
    span = np.maximum((end - start).astype("int64") - margin_s, 0)
    offset = (rng.random(len(start)) * span).astype("int64").astype("timedelta64[s]")
    return start + offset
