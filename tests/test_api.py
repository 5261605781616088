import importlib
import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest

import govlib
from govlib import api, cleansing, profiling, quality, retention, sources
from govlib.errors import CatalogError, ParameterError, UnknownDatasetError

from .conftest import CATALOG, ROOT

AS_OF = date(2025, 1, 31)  # the catalog's as_of, the sample's reference date


@pytest.fixture(autouse=True)
def _no_catalog_env(monkeypatch):
    monkeypatch.delenv(api.ENV_CATALOG, raising=False)


@pytest.fixture(scope="module")
def customers():
    """One handle for the module: each step runs once on the sample."""
    return govlib.open("customers", catalog=CATALOG)


def _check(result, check, column):
    [found] = [c for c in result.checks if c.check == check and c.column == column]
    return found


def _rule(report, name):
    [found] = [r for r in report.rules if r.rule == name]
    return found


# -- finding the catalog ---------------------------------------------------------------------


def test_open_finds_catalog_yaml_in_the_current_folder(monkeypatch):
    monkeypatch.chdir(ROOT)
    ds = govlib.open("customers")
    assert (ds.name, ds.spec.owner, ds.catalog.path) == (
        "customers",
        "Head of Customer Operations",
        api.find_catalog(),
    )
    assert ds.catalog.root == ROOT


def test_open_prefers_the_environment_over_the_current_folder(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(api.ENV_CATALOG, str(CATALOG))
    ds = govlib.open("orders")
    assert (ds.catalog.path, ds.spec.owner) == (CATALOG, "Head of Finance")


def test_open_takes_a_path_or_a_loaded_catalog(monkeypatch, tmp_path, sample_catalog):
    monkeypatch.chdir(tmp_path)
    assert govlib.open("orders", catalog=str(CATALOG)).catalog.path == CATALOG
    assert govlib.open("orders", catalog=sample_catalog).catalog is sample_catalog


def test_a_missing_catalog_says_how_to_name_one(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CatalogError, match=r"catalog\.yaml: .*file not found.*GOVLIB_CATALOG"):
        govlib.open("customers")


def test_an_unknown_dataset_is_one_line_listing_the_known_ones():
    with pytest.raises(UnknownDatasetError, match="unknown dataset 'custmers'") as caught:
        govlib.open("custmers", catalog=CATALOG)
    message = str(caught.value)
    assert "\n" not in message
    assert "known datasets: consent_events, customers, orders, support_tickets" in message
    assert caught.value.exit_code == 2


# -- the day ---------------------------------------------------------------------------------


def test_as_of_defaults_to_the_catalog_and_can_be_overridden():
    assert govlib.open("customers", catalog=CATALOG).as_of == AS_OF
    assert govlib.open("customers", catalog=CATALOG, as_of="2025-06-30").as_of == date(2025, 6, 30)


def test_as_of_defaults_to_today_without_one_in_the_catalog(tmp_path):
    text = CATALOG.read_text()
    undated = tmp_path / "catalog.yaml"
    undated.write_text(text.replace("\nas_of: 2025-01-31", "\n# no as_of"))
    assert govlib.datasets(undated).as_of is None
    assert govlib.open("orders", catalog=undated).as_of == date.today()


@pytest.mark.parametrize("bad", ["31/01/2025", "2025-02-30", 20250131])
def test_a_bad_as_of_is_a_one_line_parameter_error(bad):
    with pytest.raises(
        ParameterError, match=r"^as_of must be a date or YYYY-MM-DD text, got "
    ) as e:
        govlib.open("customers", catalog=CATALOG, as_of=bad)
    assert "\n" not in str(e.value)
    assert e.value.exit_code == 2


# -- each step on the sample, with the manifest's figures -------------------------------------


def test_frame_is_the_checked_source(customers, manifest, planted):
    assert customers.frame.collect().height == manifest["rows"]["customers"]
    assert customers.load_report.null_tokens == {
        "lifetime_value": planted["lifetime_value_sentinel"]
    }
    row = customers.load_report.to_polars().select("source", "rows", "null_tokens").row(0)
    assert row == ("customers", manifest["rows"]["customers"], '{"lifetime_value": 15}')


@pytest.mark.parametrize("name", ["customers", "orders", "consent_events", "support_tickets"])
def test_profile_counts_every_row(name, manifest):
    p = govlib.open(name, catalog=CATALOG).profile()
    assert (p.dataset, p.rows, p.as_of) == (name, manifest["rows"][name], AS_OF.isoformat())


def test_profile_counts_the_planted_nulls(customers, planted):
    p = customers.profile()
    assert p.column("email").nulls == planted["null_email"]
    assert p.to_dict()["column_profiles"][3]["column"] == "email"
    assert json.loads(json.dumps(p.to_dict()))["rows"] == 3045


def test_validate_finds_the_planted_defects(customers, planted, manifest):
    result = customers.validate()
    assert (result.dataset, result.suite, result.status) == ("customers", "customers", "failed")
    assert result.rows == manifest["rows"]["customers"]
    not_null = _check(result, "expect_column_values_to_not_be_null", "email")
    assert not_null.unexpected_count == planted["null_email"]
    in_set = _check(result, "expect_column_values_to_be_in_set", "country")
    assert in_set.unexpected_count == planted["country_nonstandard"]
    between = _check(result, "expect_column_values_to_be_between", "lifetime_value")
    assert (between.unexpected_count, between.missing_count) == (
        0,
        planted["lifetime_value_sentinel"],
    )
    assert result.to_dict()["status"] == "failed"


def test_retention_counts_the_planted_overdue_records(customers, planted):
    report = customers.retention()
    closed = _rule(report, "closed_accounts")
    assert (closed.overdue, closed.due_within_30, closed.due_within_90, closed.anchor_missing) == (
        planted["closed_overdue"],
        planted["closed_due_30"],
        planted["closed_due_30"] + planted["closed_due_90"],
        planted["closed_anchor_missing"],
    )
    inactive = _rule(report, "inactive_accounts")
    assert (inactive.overdue, inactive.due_within_30) == (
        planted["inactive_overdue"],
        planted["inactive_due_30"],
    )
    [marketing] = report.consent
    assert marketing.expired == planted["consent_stale"]
    assert marketing.processed_without_consent == (
        planted["consent_missing"] + planted["consent_stale"] + planted["consent_withdrawn"]
    )
    assert report.to_dict()["overdue"] == planted["closed_overdue"] + planted["inactive_overdue"]


def test_retention_on_a_later_day_counts_what_fell_due_meanwhile(customers, planted):
    later = customers.retention(as_of=AS_OF + timedelta(days=30))
    assert later is not customers.retention()
    assert later.as_of == "2025-03-02"
    assert _rule(later, "closed_accounts").overdue == (
        planted["closed_overdue"] + planted["closed_due_30"]
    )
    assert _rule(later, "inactive_accounts").overdue == (
        planted["inactive_overdue"] + planted["inactive_due_30"]
    )


def test_cleanse_plan_merges_the_planted_duplicates(customers, planted):
    summary = customers.cleanse_plan().summary()
    assert summary["records_merged"] == planted["duplicate_person"]
    assert summary["duplicate_pairs"] == planted["duplicate_person"]
    changed = {r["column"]: r["changed"] for r in summary["standardisation"]}
    assert changed["country"] == planted["country_nonstandard"]
    assert changed["first_name"] == planted["name_unnormalised"]


# -- computed once ---------------------------------------------------------------------------


def _counting(monkeypatch, module, name):
    calls = []
    real = getattr(module, name)

    def wrapper(*args, **kwargs):
        calls.append((getattr(args[0], "name", args[0]), kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


def test_each_step_runs_once_per_day(monkeypatch):
    loads = _counting(monkeypatch, sources, "load")
    profiles = _counting(monkeypatch, profiling, "profile")
    reports = _counting(monkeypatch, retention, "evaluate")
    ds = govlib.open("customers", catalog=CATALOG)
    first = ds.profile()
    assert ds.profile() is first
    assert ds.profile(as_of="2025-01-31") is first
    assert ds.retention() is ds.retention(as_of=AS_OF)
    assert [name for name, _ in loads] == ["customers", "consent_events"]  # the rule's events
    assert (len(profiles), len(reports)) == (1, 1)
    other = ds.profile(as_of=date(2025, 6, 30))
    assert other is not first
    assert other.as_of == "2025-06-30"
    assert [kwargs["as_of"] for _, kwargs in profiles] == [AS_OF, date(2025, 6, 30)]
    assert len(loads) == 2
    assert ds.computed() == ["profile@2025-01-31", "retention@2025-01-31", "profile@2025-06-30"]


def test_validate_and_cleanse_are_cached_by_day_and_suite(monkeypatch):
    seen = []

    def fake_validate(spec, *, as_of, suite, frame):
        seen.append((spec.name, as_of, suite, frame.height))
        return object()

    def fake_plan(catalog, name, *, frames):
        seen.append((name, sorted(frames)))
        return object()

    monkeypatch.setattr(quality, "validate", fake_validate)
    monkeypatch.setattr(cleansing, "plan", fake_plan)
    ds = govlib.open("customers", catalog=CATALOG)
    assert ds.validate() is ds.validate(as_of=AS_OF, suite=None)
    assert ds.validate(suite="orders") is not ds.validate()
    assert ds.cleanse_plan() is ds.cleanse_plan()
    assert seen == [
        ("customers", AS_OF, None, 3045),
        ("customers", AS_OF, "orders", 3045),
        ("customers", ["consent_events", "customers", "orders", "support_tickets"]),
    ]


# -- showing the handle and listing datasets ---------------------------------------------------


def test_repr_reads_nothing_and_shows_rows_once_counted(monkeypatch):
    loads = _counting(monkeypatch, sources, "load")
    ds = govlib.open("customers", catalog=CATALOG)
    assert repr(ds) == (
        "<govlib dataset 'customers' as of 2025-01-31: owner 'Head of Customer Operations', "
        "purpose 'Manage customer accounts, deliver orders, and send marketing to those who "
        "agreed.', rows not counted yet>"
    )
    page = ds._repr_html_()
    assert "<th>owner</th><td>Head of Customer Operations</td>" in page
    assert "<th>rows</th><td>not counted yet</td>" in page
    assert loads == []
    ds.profile()
    assert repr(ds).endswith("rows 3,045>")
    assert "<th>computed</th><td>profile@2025-01-31</td>" in ds._repr_html_()


def test_datasets_lists_the_catalog_as_a_record():
    listing = govlib.datasets(CATALOG)
    assert listing.to_polars().select("dataset", "owner", "rules").rows() == [
        ("customers", "Head of Customer Operations", 3),
        ("orders", "Head of Finance", 0),
        ("consent_events", "Data Protection Officer", 0),
        ("support_tickets", "Head of Customer Service", 0),
    ]
    assert type(listing).from_dict(json.loads(listing.to_json())) == listing
    assert listing.title() == f"{CATALOG}: 4 datasets"
    assert govlib.open("orders", catalog=CATALOG).info() == listing.datasets[1]


# -- the package -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(govlib._EXPORTS))
def test_every_public_name_resolves_to_its_module(name):
    module = importlib.import_module(govlib._EXPORTS[name])
    assert getattr(govlib, name) is getattr(module, name)


def test_modules_load_on_first_access_and_unknown_names_fail():
    assert govlib.identity is importlib.import_module("govlib.identity")
    with pytest.raises(AttributeError, match="module 'govlib' has no attribute 'nope'"):
        _ = govlib.nope
    assert "open" not in govlib.__all__
    assert {"DatasetHandle", "QualityResult", "UnknownDatasetError"} <= set(dir(govlib))


def _loaded_modules(code):
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *sys.path])}
    env.pop(api.ENV_CATALOG, None)
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return {m.split(".")[0] for m in done.stdout.split()}


def test_import_govlib_loads_no_heavy_library():
    loaded = _loaded_modules("import govlib")
    assert "govlib" in loaded
    assert not loaded & {"great_expectations", "altair", "polars", "pandas", "pydantic"}


def test_profiling_and_retention_through_the_api_load_neither_gx_nor_altair():
    loaded = _loaded_modules(
        "import govlib\nds = govlib.open('customers')\nds.profile()\nds.retention()"
    )
    assert "polars" in loaded
    assert not loaded & {"great_expectations", "altair"}
