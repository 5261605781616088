import json
import shutil
import subprocess
import sys
from pathlib import Path

import altair as alt
import nbformat
import papermill as pm
import polars as pl
import pytest

from govlib import catalog, charts, privacy, reports, sources, verdicts, workbook
from govlib.privacy import LeakError
from govlib.verdicts import Verdict

from . import golden
from .browser import chromium, load_offline
from .conftest import CATALOG, ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CHARTS = {"overview": 0, "profile": 2, "quality": 2, "retention": 3}


def run(nb: Path, out: Path, **parameters) -> nbformat.NotebookNode:
    out.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(
        nb, out / nb.name, kernel_name="govlib", cwd=str(nb.parent), progress_bar=False,
        parameters={"catalog_path": str(CATALOG), "output_dir": str(out), **parameters},
    )  # fmt: skip
    return nbformat.read(out / nb.name, as_version=4)


@pytest.fixture(scope="session")
def executed(tmp_path_factory):
    base = tmp_path_factory.mktemp("notebooks")
    return {nb.stem: (run(nb, base / nb.stem), base / nb.stem) for nb in NOTEBOOKS}


def results(executed, name):
    return json.loads((executed[name][1] / "results.json").read_text())


def test_every_notebook_has_typed_documented_parameters():
    assert [nb.stem for nb in NOTEBOOKS] == ["overview", "profile", "quality", "retention"]
    for nb in NOTEBOOKS:
        params = pm.inspect_notebook(nb)
        assert {"catalog_path", "as_of", "output_dir"} <= set(params)
        for name, p in params.items():
            assert p["inferred_type_name"] == ("bool" if name == "interactive" else "str")
            assert p["help"]
        cells = nbformat.read(nb, as_version=4).cells
        code = [c for c in cells if c.cell_type == "code"]
        assert all(not c.get("outputs") for c in code)
        assert not any(line.lstrip().startswith(("for ", "while ")) for c in code
                       for line in c.source.splitlines())  # fmt: skip


@pytest.mark.notebook
def test_notebooks_run_on_the_sample(executed, planted):
    quality = results(executed, "quality")["quality"]
    assert (quality["dataset"], quality["status"]) == ("customers", "failed")
    assert quality["counts"] == {"passed": 10, "failed": 6, "error": 0}
    profile = results(executed, "profile")["profile"]
    assert {f["column"] for f in profile["pii"]} >= {"email", "phone", "notes"}
    retention = results(executed, "retention")["retention"]
    assert retention["overdue"] == planted["closed_overdue"] + planted["inactive_overdue"]
    verdicts = {v["dataset"]: v for v in results(executed, "overview")["verdicts"]}
    assert verdicts["customers"]["overdue"] == retention["overdue"]
    assert verdicts["orders"]["quality"] == "passed"
    assert verdicts["customers"]["without_consent"] == 90


@pytest.mark.notebook
def test_the_overview_reads_a_runs_records_instead_of_computing_them(tmp_path):
    records = tmp_path / "records"
    (records / "orders").mkdir(parents=True)
    saved = {"retention": {"overdue": 4242, "consent": [{"processed_without_consent": 17}]}}
    (records / "orders" / "retention.json").write_text(json.dumps(saved))
    nb = run(ROOT / "notebooks" / "overview.ipynb", tmp_path / "out", results_dir=str(records))
    found = {v["dataset"]: v for v in results({"o": (None, tmp_path / "out")}, "o")["verdicts"]}
    assert (found["orders"]["overdue"], found["orders"]["without_consent"]) == (4242, 17)
    assert found["orders"]["quality"] is None  # no quality record saved, none computed
    assert found["orders"]["failed"] == ["retention", "consent"]
    assert found["customers"] == Verdict("customers").to_dict()
    [shown] = [o["data"]["text/plain"] for c in nb.cells if "overview_rows" in c.source
               for o in c.outputs]  # fmt: skip
    rows = {line.split(" | ")[0]: line.split(" | ") for line in shown.splitlines()}
    # dataset, failed areas, then quality, retention, consent and personal data apart
    assert rows["orders"][:6] == ["orders", "retention, consent", "-", "failed", "failed", "-"]
    assert rows["customers"][:6] == ["customers", "-", "-", "-", "-", "-"]  # nothing judged


@pytest.fixture(scope="module")
def sample_records(sample_catalog):
    """Each sample dataset's records, computed as the overview computes them on its own."""
    ctx = workbook.open_context(str(CATALOG))
    return {name: workbook.records(ctx, name) for name in sample_catalog.names()}


CHART_KINDS = {
    "profile": ("completeness", "pii_map"),
    "quality": ("scorecard", "failing_checks"),
    "retention": ("retention_status", "expiry_forecast", "consent_coverage"),
}


def test_the_chart_specs_of_the_sample_match_the_golden_file(sample_records, request):
    with alt.theme.enable("govlib"):
        specs = {
            name: {
                chart: getattr(charts, chart)(found[kind]).to_dict()
                for kind, names in CHART_KINDS.items()
                for chart in names
            }
            for name, found in sample_records.items()
        }
    golden.check(request, "charts.json", specs)


def test_the_overview_on_its_own_judges_as_the_sample_run_did(sample_records):
    run_json = json.loads((golden.GOLDEN / "run.json").read_text())
    for name, found in sample_records.items():
        expected = run_json["datasets"][name] | {"notebooks": {}}
        assert verdicts.build(name, found).to_dict() == expected, name


@pytest.fixture(scope="session")
def shared(executed, tmp_path_factory):
    out = tmp_path_factory.mktemp("shared")
    cat = catalog.load(CATALOG)
    frames = {n: sources.scan(cat.dataset(n)).collect() for n in cat.names()}
    scanner = privacy.LeakScanner.from_frames(cat, frames)
    pages = {out / f"{name}.html": reports.notebook_html(nb, title=name)
             for name, (nb, _) in executed.items()}  # fmt: skip
    return reports.publish(pages, scanner)


@pytest.mark.notebook
def test_shared_reports_hold_no_code_parameters_or_scripts(shared):
    for path in shared:
        html = path.read_text()
        assert "<script" not in html.lower()
        assert "Content-Security-Policy" in html
        assert "default-src 'none'" in html
        assert path.stat().st_size < 2 * 1024 * 1024
        for code in ("import ", "catalog_path", "output_dir", "workbook.", "Traceback"):
            assert code not in html, (path.name, code)
        assert html.count("<svg") == CHARTS[path.stem]


@pytest.mark.notebook
@pytest.mark.browser
def test_reports_render_offline_in_headless_chromium(shared):
    with chromium() as browser:
        for path in shared:
            seen = load_offline(browser, path.as_uri())
            assert seen["charts"] == CHARTS[path.stem], path.name
            assert seen["errors"] == [], path.name
            assert seen["requests"] == [path.as_uri()], path.name


@pytest.mark.notebook
def test_a_failed_notebook_exports_without_traceback_or_banner(tmp_path):
    nb = ROOT / "notebooks" / "quality.ipynb"
    with pytest.raises(pm.PapermillExecutionError, match="UnknownDatasetError"):
        run(nb, tmp_path, dataset="no_such_dataset")
    failed = nbformat.read(tmp_path / nb.name, as_version=4)
    html = reports.notebook_html(failed, title="quality")
    for text in ("Traceback", "UnknownDatasetError", "An Exception was encountered",
                 "no_such_dataset"):  # fmt: skip
        assert text not in html


CANARY_EMAILS = [f"wilhelmina.canary{i}@canary-leak.example" for i in range(6)]
XSS = "</script><img src=x onerror=alert(1)>"


@pytest.fixture
def hostile(tmp_path):
    """A dataset whose values and column names try to leak or to break out of the page."""
    root = tmp_path / "project"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    (root / "data").mkdir()
    pl.DataFrame(
        {
            "customer_id": range(1, 7),
            "email": CANARY_EMAILS,
            "first_name": ["Wilhelmina"] * 6,
            "last_name": ["Canaryfeather"] * 6,
            XSS: ["x"] * 6,
        }
    ).write_csv(root / "data" / "people.csv")
    cat = {
        "data_root": "data",
        "datasets": {"people": {
            "source": {"path": "people.csv"}, "owner": "o", "steward": "s", "purpose": "p",
            "lawful_basis": "contract", "subject_key": "customer_id",
            "columns": {"customer_id": {"type": "int64", "pii": "person_id"},
                        "email": {"type": "string", "pii": "email"},
                        "first_name": {"type": "string", "pii": "person_name"},
                        "last_name": {"type": "string", "pii": "person_name"},
                        XSS: {"type": "string"}}}},
    }  # fmt: skip
    import yaml

    (root / "catalog.yaml").write_text(yaml.safe_dump(cat, sort_keys=False))
    return root


@pytest.mark.notebook
@pytest.mark.browser
def test_canaries_and_markup_stay_inert_through_the_whole_chain(hostile):
    path = hostile / "catalog.yaml"
    nb = run(hostile / "notebooks" / "profile.ipynb", hostile / "out", dataset="people",
             catalog_path=str(path))  # fmt: skip
    cat = catalog.load(path)
    frames = {"people": sources.scan(cat.dataset("people")).collect()}
    scanner = privacy.LeakScanner.from_frames(cat, frames)
    [page] = reports.publish(
        {hostile / "shared" / "profile.html": reports.notebook_html(nb, title="people")}, scanner
    )
    html = page.read_text()
    results_json = (hostile / "out" / "results.json").read_text()
    for canary in CANARY_EMAILS:
        assert canary not in html
        assert canary not in results_json
    assert "<img src=x" not in html
    with chromium() as browser:
        seen = load_offline(browser, page.as_uri())
    assert seen["dialogs"] == []
    assert seen["errors"] == []
    assert XSS in seen["text"]  # shown as text, not run


def test_leak_guard_stops_publication_without_quoting(tmp_path, frames, sample_catalog):
    scanner = privacy.LeakScanner.from_frames(sample_catalog, frames)
    email = frames["customers"]["email"].drop_nulls()[5]
    phone = frames["customers"]["phone"][7]
    first, last = (
        frames["customers"].row(9, named=True)["first_name"],
        frames["customers"].row(9, named=True)["last_name"],
    )
    import hashlib

    cases = {
        "email": f"<td>{email.upper()}</td>",
        "phone": f"call {phone}",
        "name": f"<p>{first} {last}</p>",
        "hash": hashlib.sha256(email.strip().lower().encode()).hexdigest(),
        "card": "pay with 4111 1111 1111 1111",
        "iban": "to GB82 WEST 1234 5698 7654 32",
    }
    for label, text in cases.items():
        target = tmp_path / f"{label}.html"
        with pytest.raises(LeakError, match=rf"^{label}\.html: holds personal data \(") as info:
            reports.publish({target: f"<html>{text}</html>"}, scanner)
        assert not target.exists()
        message = str(info.value)
        for value in (email, phone, first, last, "4111", "GB82"):
            assert value not in message
    clean = tmp_path / "clean.html"
    reports.publish({clean: "<html>3,045 customers; 30 null emails; j***@e***.com</html>"}, scanner)
    assert clean.exists()


ACTIVE = "a chart holds active content"


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', ACTIVE),
        ('<svg xmlns="http://www.w3.org/2000/svg"><rect onclick="alert(1)"/></svg>', ACTIVE),
        ('<svg xmlns="http://www.w3.org/2000/svg"><a href="javascript:alert(1)"/></svg>', ACTIVE),
        ("<svg><unclosed></svg>", "a chart is not well-formed SVG"),
    ],
)
def test_active_or_broken_svg_is_refused(svg, message):
    with pytest.raises(reports.ReportError, match=message):
        reports.inline_svg(svg)


def test_inert_svg_text_passes():
    svg = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
        "<text>&lt;img onerror=x&gt;</text></svg>"
    )
    assert reports.inline_svg(svg).startswith("<svg")


def test_importing_charts_changes_no_global_altair_setting():
    code = (
        "import altair as alt; before = (alt.theme.active, alt.renderers.active); "
        "import govlib.charts; assert (alt.theme.active, alt.renderers.active) == before; "
        "govlib.charts.enable(); print(alt.theme.active, alt.renderers.active)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["govlib", "svg"]
