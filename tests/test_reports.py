"""Shared reports as a reader opens them: headless Chromium at 1280 px, offline.

One batch run over the sample and one over a wide, real-looking table (40 columns with long
names) are shared by the tests of this module. Screenshots of each report kind land in
`build/reports/` for people to look at.
"""

import json
import re
import statistics
from datetime import date, timedelta
from pathlib import Path

import nbformat
import polars as pl
import pytest
import yaml

from govlib import batch, describe, reports, verdicts, views
from govlib.quality import CheckResult, QualityResult
from govlib.retention import RetentionReport, RuleResult

from .browser import chromium
from .conftest import CATALOG, ROOT

VIEWPORT = {"width": 1280, "height": 900}
SHOTS = ROOT / "build" / "reports"
REPORT_KINDS = ("overview", "profile", "quality", "retention")


def run_batch(catalog: Path, out: Path, datasets: list[str] | None = None) -> Path:
    plan = batch.plan(catalog_path=catalog, datasets=datasets, out=out, workers=2,
                      notebook_dir=ROOT / "notebooks")  # fmt: skip
    outcome = batch.execute(plan)
    assert outcome.exit_code in (0, 1), outcome.summary["jobs"]
    return Path(outcome.folder)


LONG = "customer_preference_attribute_{:02d}_recorded_by_the_crm_integration_layer"


def wide_project(root: Path) -> Path:
    """A catalog over one table of 40 columns with long names: numbers, dates, text, e-mails."""
    rows = 240
    start = date(2023, 1, 1)
    data = {"customer_id": list(range(1, rows + 1))}
    for i in range(39):
        name = LONG.format(i)
        if i % 4 == 0:
            data[name] = [(r * 7 + i) % 50 for r in range(rows)]
        elif i % 4 == 1:
            data[name] = [str(start + timedelta(days=(r * 3 + i) % 700)) for r in range(rows)]
        elif i % 4 == 2:
            data[name] = [["bronze", "silver", "gold", "platinum"][r % 4] for r in range(rows)]
        else:
            data[name] = [f"person{r}.{i}@example.org" if r % 9 else None for r in range(rows)]
    (root / "data").mkdir(parents=True)
    pl.DataFrame(data).write_csv(root / "data" / "wide.csv")
    columns = {"customer_id": {"type": "int64", "pii": "person_id"}}
    columns |= {LONG.format(i): {"type": "int64", "publish": "values"} for i in range(0, 39, 4)}
    columns |= {LONG.format(i): {"type": "string", "publish": "values"} for i in range(2, 39, 4)}
    columns |= {LONG.format(i): {"type": "date"} for i in range(1, 39, 4)}
    columns |= {LONG.format(i): {"type": "string", "pii": "email"} for i in range(3, 39, 4)}
    catalog = {
        "as_of": "2025-01-31",
        "data_root": "data",
        "datasets": {"wide_customer_preferences_export": {
            "source": {"path": "wide.csv"}, "primary_key": ["customer_id"], "owner": "CRM team",
            "steward": "CRM data steward", "purpose": "Tailor offers.", "lawful_basis": "consent",
            "columns": columns,
            "retention": [{"name": "stale_preferences", "anchor": LONG.format(1),
                           "period": "P12M", "action": "delete"}],
        }},
    }  # fmt: skip
    (root / "catalog.yaml").write_text(yaml.safe_dump(catalog, sort_keys=False))
    return root / "catalog.yaml"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("reports")
    wide = wide_project(base / "wide")
    return {
        "sample": run_batch(CATALOG, base / "sample"),
        "wide": run_batch(wide, base / "wide" / "reports"),
    }


def report_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.html"))


# Everything a reader would trip over, measured in the browser.
LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const e of document.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    const style = getComputedStyle(e);
    const clips = style.overflowX !== 'visible';
    if (r.width > 0 && (r.right > width + 1 || (clips && e.scrollWidth > e.clientWidth + 1)))
      wide.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));
  }
  const outside = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (!t.textContent.trim() || r.width === 0) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1
          || r.bottom > box.bottom + 1) outside.push(t.textContent);
    }
  }
  const sections = [];
  let current = null;
  const marks = 'h2, .jp-OutputArea-output, table, svg, .govlib-none, .govlib-cards';
  for (const e of document.querySelectorAll(marks)) {
    if (e.tagName === 'H2') {
      current = {title: e.textContent, content: 0};
      sections.push(current);
    } else if (current && (e.textContent.trim() || e.tagName === 'svg')) current.content += 1;
  }
  return {
    page: [document.documentElement.scrollWidth, width],
    wide, outside,
    empty: sections.filter(s => s.content === 0).map(s => s.title),
    header: (document.querySelector('header') || {innerText: ''}).innerText,
    links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  };
}"""


@pytest.fixture(scope="module")
def seen(runs):
    """Per report (run name, path relative to its run): what Chromium measured."""
    found = {}
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(offline=True, viewport=VIEWPORT)
        page = context.new_page()
        for name, folder in runs.items():
            for path in report_files(folder):
                page.goto(path.as_uri())
                page.wait_for_load_state("load")
                found[name, path.relative_to(folder).as_posix()] = page.evaluate(LAYOUT)
                kind = path.stem if path.stem in (*REPORT_KINDS, "index") else "other"
                page.screenshot(path=str(SHOTS / f"{name}-{kind}.png"), full_page=True)
        context.close()
    return found


@pytest.mark.notebook
@pytest.mark.browser
def test_every_report_of_both_runs_was_measured(seen):
    kinds = {(run, Path(p).stem) for run, p in seen}
    for run in ("sample", "wide"):
        assert {(run, k) for k in (*REPORT_KINDS, "index")} <= kinds
    sample = sorted(p for run, p in seen if run == "sample")
    assert len(sample) == 1 + 1 + 4 * 3  # index, overview, 4 datasets x 3 notebooks


@pytest.mark.notebook
@pytest.mark.browser
def test_nothing_is_wider_than_the_page_at_1280_px(seen):
    for key, found in seen.items():
        assert found["page"][0] <= found["page"][1], key
        assert found["wide"] == [], key


@pytest.mark.notebook
@pytest.mark.browser
def test_no_chart_text_falls_outside_its_chart(seen):
    for key, found in seen.items():
        assert found["outside"] == [], key


@pytest.mark.notebook
@pytest.mark.browser
def test_every_section_has_content_or_says_none(seen):
    for key, found in seen.items():
        assert found["empty"] == [], key


@pytest.mark.notebook
@pytest.mark.browser
def test_every_link_resolves_to_a_file_of_the_run(seen, runs):
    for (run, relative), found in seen.items():
        folder = runs[run]
        page = folder / relative
        for href in found["links"]:
            if href.startswith("#"):
                continue
            target = (page.parent / href).resolve()
            assert target.is_file(), (relative, href)
            assert target.is_relative_to(folder.resolve()), (relative, href)
    customers = seen["sample", "customers/quality.html"]["links"]
    assert {"../index.html", "profile.html", "retention.html"} <= set(customers)


@pytest.mark.notebook
@pytest.mark.browser
def test_each_header_shows_dataset_as_of_and_run_id(seen, runs):
    for (run, relative), found in seen.items():
        run_id = runs[run].name
        assert run_id in found["header"], relative
        assert "2025-01-31" in found["header"], relative
        if "/" in relative and not relative.startswith("catalog/"):
            assert relative.split("/")[0] in found["header"], relative
    header = seen["sample", "customers/profile.html"]["header"]
    assert "6 of 16 checks failed" in header
    assert "120 records are past retention" in header
    assert "90 records are processed without valid consent" in header


@pytest.mark.notebook
def test_no_output_file_names_a_machine_path(runs):
    for folder in runs.values():
        machine = {str(folder.parent), str(ROOT), "PosixPath", ".staging-", "/tmp/"}
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_text(encoding="utf-8")
                for found in machine:
                    assert found not in text, (path.relative_to(folder), found)


@pytest.mark.notebook
def test_explore_cells_never_reach_a_batch_export(runs):
    for folder in runs.values():
        for path in folder.rglob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            tags = {t for c in nb.cells for t in c.get("metadata", {}).get("tags", [])}
            assert reports.EXPLORE_TAG not in tags, path.name
            assert not any("failing_rows" in c.source or "subject_records" in c.source
                           for c in nb.cells), path.name  # fmt: skip
        for path in report_files(folder):
            text = path.read_text(encoding="utf-8")
            assert ">Explore<" not in text, path.name
            assert "interactive" not in text, path.name
    source = nbformat.read(ROOT / "notebooks" / "quality.ipynb", as_version=4)
    assert any(reports.EXPLORE_TAG in c.metadata.get("tags", []) for c in source.cells)


@pytest.mark.notebook
def test_reports_are_small_without_the_lab_stylesheet(runs):
    sizes = [p.stat().st_size for folder in runs.values() for p in report_files(folder)]
    assert max(sizes) <= 2 * 1024 * 1024
    assert statistics.median(sizes) <= 200 * 1024
    page = (runs["sample"] / "customers" / "quality.html").read_text(encoding="utf-8")
    assert "jp-Notebook-cell{" not in page.replace(" ", "")
    assert "--jp-" not in page
    assert "<script" not in page.lower()
    assert "default-src 'none'" in page


@pytest.mark.notebook
def test_the_quality_report_reads_checks_as_sentences_failing_first(runs):
    page = (runs["sample"] / "customers" / "quality.html").read_text(encoding="utf-8")
    rows = re.findall(r'<tr class="govlib-(\w+)">', page)
    assert rows == ["failed"] * 6 + ["passed"] * 10
    for sentence in ("email matches the e-mail pattern", "email is filled in",
                     "country is one of GB, DE, FR, NL, US or IE", "30 (0.99%)", "52 (1.72%)",
                     "lifetime_value is at least a set minimum (withheld)"):  # fmt: skip
        assert sentence in page


@pytest.mark.notebook
def test_the_retention_table_and_chart_count_the_same_states(runs):
    folder = runs["sample"]
    saved = json.loads((folder / "customers" / "retention.json").read_text())["retention"]
    report = RetentionReport.from_dict({k: v for k, v in saved.items() if k != "overdue"})
    closed = views.retention_state(report.rules[0])
    assert closed == {"within the period": 132, "due within 90 days": 30, "overdue": 60,
                      "needs review": 9}  # fmt: skip
    assert sum(closed.values()) == report.rules[0].in_scope == 231
    page = (folder / "customers" / "retention.html").read_text(encoding="utf-8")
    assert "within the period" in page
    assert ">132<" in page
    assert "30 (15 within 30)" in page


@pytest.mark.notebook
def test_the_overview_trend_includes_this_run_by_date(runs):
    nb = nbformat.read(runs["sample"] / "catalog" / "overview.ipynb", as_version=4)
    [svg] = [o["data"]["image/svg+xml"] for c in nb.cells if c.cell_type == "code"
             for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {})]  # fmt: skip
    started = runs["sample"].name[:8]
    assert f"{started[:4]}-{started[4:6]}-{started[6:]}" in svg  # the x axis is the run date
    assert "run date" in svg


# -- words, without a browser ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "kwargs", "expected"),
    [
        ("expect_column_values_to_be_between", {"column": "amount", "min_value": 0},
         "amount is at least 0"),
        ("expect_column_values_to_be_between",
         {"column": "born", "min_value": "<withheld>", "max_value": "<withheld>"},
         "born is between a minimum and a maximum (bounds withheld)"),
        ("expect_column_values_to_be_in_set",
         {"column": "tier", "value_set": "<4 values withheld>"}, "tier is one of 4 allowed values"),
        ("expect_column_values_to_be_in_set", {"column": "c", "value_set": ["GBP", "EUR"]},
         "c is one of GBP or EUR"),
        ("expect_column_value_lengths_to_be_between",
         {"column": "postcode", "min_value": 5, "max_value": 8},
         "postcode is between 5 and 8 characters long"),
        ("expect_table_row_count_to_be_between", {"min_value": 1000},
         "the table has at least 1,000 rows"),
        ("expect_column_values_to_be_funky", {"column": "x"}, "x: column values to be funky"),
    ],
)  # fmt: skip
def test_checks_in_words(kind, kwargs, expected):
    assert describe.check_sentence(kind, kwargs) == expected


def check(status: str, n: int, kwargs: dict | None = None) -> CheckResult:
    return CheckResult("t", "expect_column_values_to_not_be_null", "email", kwargs or {},
                       "completeness", status, 100, n, float(n), 0)  # fmt: skip


def test_the_check_table_puts_failures_first_and_gives_the_threshold():
    result = QualityResult("t", None, "2025-01-31", 100, [check("passed", 0), check("failed", 7),
                           check("error", 0, {"mostly": 0.95})], {}, None, {}, [], "failed",
                           {"passed": 1, "failed": 1, "error": 1})  # fmt: skip
    table = views.checks(result)
    assert table.text.splitlines() == [
        "failed: email is filled in (7 (7.00%))",
        "error: email is filled in (could not run)",
        "passed: email is filled in (0 (0.00%))",
    ]
    assert "at least 95% of rows" in table.markup
    empty = QualityResult("t", None, "2025-01-31", 0, [], {}, None, {}, [], "passed", {})
    assert views.checks(empty).text == "The suite holds no checks."


def test_empty_tables_say_so_and_headings_are_words():
    assert views.table([], ["rule"], empty="No rule.").text == "No rule."
    assert "<th" not in views.table([], ["rule"]).markup
    markup = views.table([{"unexpected_count": 3, "pii_kind": None}],
                         ["unexpected_count", "pii_kind"]).markup  # fmt: skip
    assert ">Unexpected count<" in markup
    assert ">Personal data<" in markup
    assert ">-<" in markup


def test_a_rule_with_every_record_due_soon_is_not_also_within_its_period():
    rule = RuleResult("t", "r", "delete", "at", "P24M", 2000, 2000, 2000, 2000, 0,
                      {"1-30": 0}, 0, 0, [])  # fmt: skip
    assert views.retention_state(rule) == {"within the period": 0, "due within 90 days": 2000,
                                           "overdue": 0, "needs review": 0}  # fmt: skip
    assert views.period("P24M") == "24 months"
    assert views.period("P1Y6M") == "1 year 6 months"


def test_shared_notebooks_keep_file_names_of_path_parameters_only():
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                '# Parameters\ncatalog_path = "/srv/govlib/catalog.yaml"\nas_of = "2025-01-31"\n'
            )
        ]
    )
    nb.cells[0].metadata["tags"] = ["injected-parameters"]
    nb.metadata["papermill"] = {
        "input_path": "/srv/a.ipynb",
        "output_path": "/srv/b.ipynb",
        "parameters": {"catalog_path": "/srv/govlib/catalog.yaml"},
    }
    clean = reports.without_paths(nb)
    assert clean.cells[0].source.splitlines()[1:] == [
        'catalog_path = "catalog.yaml"',
        'as_of = "2025-01-31"',
    ]
    assert clean.metadata["papermill"] == {"parameters": {"catalog_path": "catalog.yaml"}}


def test_drift_against_the_previous_profile_is_a_chart_or_a_note():
    from govlib import profiling, workbook

    day = date(2025, 1, 31)
    before = profiling.profile(pl.LazyFrame({"x": [1, None, 3, 4] * 5}), dataset="t", as_of=day)
    after = profiling.profile(pl.LazyFrame({"x": [1, None, None, 4] * 5}), dataset="t", as_of=day)
    chart = workbook.drift(after, before)
    assert chart.to_dict()["data"]["values"] == [
        {"column": "x", "measure": "null rate change (points)", "value": 25.0, "drifted": True}
    ]
    assert repr(workbook.drift(after, None)).startswith("No previous run to compare with")


def test_a_control_character_in_a_column_name_renders_as_a_question_mark():
    import vl_convert

    from govlib import charts, profiling

    frame = pl.LazyFrame({"\x1b[31mansi": ["a", None, "b"], "id": [1, 2, 3]})
    p = profiling.profile(frame, dataset="hostile", as_of=date(2025, 1, 31))
    svg = vl_convert.vegalite_to_svg(charts.completeness(p).to_dict())  # aborted the process
    assert "\x1b" not in svg
    assert "?[31mansi" in svg


def test_a_report_header_names_the_failed_areas_first_and_counts_raw_card_numbers():
    run_json = json.loads((ROOT / "tests" / "golden" / "run.json").read_text())
    orders = verdicts.Verdict.from_dict(run_json["datasets"]["orders"])
    h = reports.header(dataset="orders", as_of="2025-01-31", run_id="r", verdict=orders)
    assert h["badges"][0] == ("bad", "failed: personal data")
    assert ("bad", "46 raw card numbers in masked columns") in h["badges"]
    assert h["summary"].endswith("2 columns hold personal data, all declared; "
                                 "46 raw card numbers in columns declared masked.")  # fmt: skip
    warned = verdicts.Verdict("orders", undeclared_pii=0, declared_not_found=1)
    badges = reports.header(dataset="orders", as_of="-", run_id="r", verdict=warned)["badges"]
    assert badges == [
        ("ok", "0 undeclared personal data"),
        ("warn", "personal data: the catalog declares what was not found"),
    ]


def test_the_index_names_failed_areas_beside_a_failed_notebook():
    job = {"notebook": "retention", "dataset": "members", "status": "failed", "seconds": 1.0,
           "report": None, "reason": "cell [3] raised ValueError"}  # fmt: skip
    members = verdicts.Verdict("members", quality="passed", without_consent=3, undeclared_pii=1)
    summary = {
        "run_id": "r1", "as_of": "2025-01-31", "started": "-", "seconds": 1.0,
        "govlib_version": "0", "exit_code": 3, "jobs": [job], "failed": members.failed,
        "datasets": {"members": members.to_dict(),
                     "payments": verdicts.Verdict("payments").to_dict()},
    }  # fmt: skip
    page = reports.render_index(summary)
    head = re.search(r'<p class="govlib-badges">(.*?)</p>', page, re.S).group(1)
    assert re.findall(r"govlib-(\w+)\">([^<]*)<", head) == [
        ("error", "a notebook failed to execute"),
        ("bad", "failed: consent, personal data (1 of 2 datasets)"),
    ]
    cells = {name: re.search(rf"<td>{name}</td>\s*<td>(.*?)</td>", page, re.S).group(1)
             for name in ("members", "payments")}  # fmt: skip
    assert re.sub(r"<[^>]+>", "", cells["members"]) == "failed: consent, personal data"
    assert cells["payments"] == "-"  # nothing judged: neither passed nor failed
    assert "1 undeclared personal column</td>" in page
