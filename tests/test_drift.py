import json
from datetime import date

import polars as pl
import pytest

from govlib import drift, profiling, sources
from govlib.drift import DriftReport, compare, psi
from govlib.profiling import profile
from tests.test_publish import declared

AS_OF = date(2025, 1, 31)


def test_compare_reports_drift_and_schema_changes():
    base = pl.LazyFrame({"amount": [float(i % 100) for i in range(1000)], "gone": [1] * 1000})
    shifted = pl.LazyFrame(
        {"amount": [float(i % 100) + 60 for i in range(1000)], "new": ["x"] * 1000}
    )
    ds = declared({"amount": {"type": "float64", "publish": "values"}})
    a = profile(base, dataset="t", as_of=AS_OF, declared=ds)
    b = profile(shifted, dataset="t", as_of=AS_OF, declared=ds)
    report = compare(a, b)
    assert (report.added_columns, report.removed_columns) == (["new"], ["gone"])
    [amount] = report.columns
    assert amount.drifted
    assert amount.psi > 1.0
    assert amount.mean_shift == pytest.approx(60 / a.column("amount").std, rel=1e-6)
    same = compare(a, profile(base, dataset="t", as_of=AS_OF, declared=ds))
    assert same.columns[0].psi == 0.0
    assert not same.columns[0].drifted


def test_compare_flags_type_changes():
    a = profile(pl.LazyFrame({"x": [1, 2]}), dataset="t", as_of=AS_OF)
    b = profile(pl.LazyFrame({"x": ["1", "2"]}), dataset="t", as_of=AS_OF)
    assert compare(a, b).type_changes == [{"column": "x", "before": "int64", "after": "string"}]


def test_psi_of_identical_histograms_is_zero():
    h = [{"start": 0.0, "end": 1.0, "count": 10}, {"start": 1.0, "end": 2.0, "count": 30}]
    assert psi(h, h) == 0.0


def test_profiling_still_offers_drift():
    assert (profiling.compare, profiling.psi) == (drift.compare, drift.psi)
    assert profiling.DriftReport is DriftReport


@pytest.fixture(scope="module")
def customers(sample_catalog, manifest, planted):
    """Profiles of the sample's customers and of a copy with 10% fewer rows and twice the nulls.

    The dropped rows and the newly blanked emails are all rows with an email, so the later copy
    holds exactly twice the planted missing emails.
    """
    ds = sample_catalog.dataset("customers")
    frame = sources.scan(ds).collect()
    rows, nulls = manifest["rows"]["customers"], planted["null_email"]
    with_email = frame.filter(pl.col("email").is_not_null())["customer_id"]
    dropped = with_email.head(rows // 10)
    blanked = with_email.slice(rows // 10, nulls)
    later = frame.filter(~pl.col("customer_id").is_in(dropped.implode())).with_columns(
        email=pl.when(pl.col("customer_id").is_in(blanked.implode())).then(None).otherwise("email")
    )
    before = profile(frame.lazy(), dataset="customers", as_of=AS_OF, declared=ds)
    after = profile(later.lazy(), dataset="customers", as_of=AS_OF, declared=ds)
    return before, after


def test_drift_on_the_sample_gives_the_exact_null_rate_change(customers, manifest, planted):
    before, after = customers
    rows, nulls = manifest["rows"]["customers"], planted["null_email"]
    kept = rows - rows // 10
    report = compare(before, after)
    assert (report.rows_before, report.rows_after) == (rows, kept)
    assert (report.added_columns, report.removed_columns, report.type_changes) == ([], [], [])
    email = next(c for c in report.columns if c.column == "email")
    assert (after.column("email").nulls, after.column("email").null_rate) == (
        2 * nulls, round(2 * nulls / kept, 6),
    )  # fmt: skip
    assert email.null_rate_delta == round(round(2 * nulls / kept, 6) - round(nulls / rows, 6), 6)
    assert email.distinct_delta == -(rows // 10 + nulls)  # every email is distinct
    customer_id = next(c for c in report.columns if c.column == "customer_id")
    assert (customer_id.null_rate_delta, customer_id.distinct_delta) == (0.0, -(rows // 10))
    assert not email.drifted  # about 1.2 points: below the 5-point threshold


def test_drift_report_round_trips_through_json(customers):
    report = compare(*customers)
    assert DriftReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert report.to_polars().height == len(report.columns) == customers[0].columns
