"""Executed notebooks become shared HTML reports that open offline and hold no personal data.

`notebook_html()` exports with a template that extends JupyterLab's but carries no script at
all (no require.js, MathJax or widget loaders), declares a Content-Security-Policy that forbids
every network request, and inlines charts as SVG. Code cells, the parameters and the injected
parameters, papermill's error banners and every traceback are left out.

`render_index()` renders a run's index page from its summary. `publish()` is the only way into
a shared folder: it runs the leak scanner over every file first, and writes nothing at all if
any holds personal data.
"""

from __future__ import annotations

import copy
import html
import json
import re
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from govlib import __version__, outputs
from govlib.errors import GovlibError
from govlib.privacy import LeakScanner

if TYPE_CHECKING:
    import nbformat
    from nbconvert import HTMLExporter

TEMPLATES = Path(__file__).with_name("templates")
# A chart a batch run's kernel left for the batch to draw (see govlib.charts): its Vega-Lite
# spec under this type, in kernels whose environment sets CHART_SPEC_ENV to "spec".
CHART_SPEC_MIME = "application/vnd.govlib.vegalite-spec+json"
CHART_SPEC_ENV = "GOVLIB_CHARTS"
MAX_REPORT_BYTES = 2 * 1024 * 1024
HIDDEN_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag", "remove-cell"}
EXPLORE_TAG = "explore"  # a cell for an analyst at a keyboard: never in a shared export


class ReportError(GovlibError):
    """A report that cannot be exported or is too large to share.

    `problem` is the message without the report's title.
    """

    def __init__(self, problem: str, title: str = "") -> None:
        self.problem = problem
        super().__init__(f"{title}: {problem}" if title else problem)


def without_tagged(
    nb: nbformat.NotebookNode, tags: frozenset[str] = frozenset({EXPLORE_TAG})
) -> nbformat.NotebookNode:
    """`nb` without the cells tagged with any of `tags` (by default the explore cells)."""
    nb.cells = [c for c in nb.cells if not set(c.get("metadata", {}).get("tags", [])) & tags]
    return nb


ABSOLUTE_PATH = re.compile(r"^(?:/|[A-Za-z]:[\\/]|~)")


def _name_only(value: Any) -> Any:
    """An absolute path as its last part (a hidden work folder as "."); else the value."""
    if isinstance(value, str) and ABSOLUTE_PATH.match(value):
        name = Path(value).name
        return "." if name.startswith(".") else name
    return value


def without_paths(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` without this machine's folders: path parameters keep their file names only.

    Papermill records where a notebook was read and written, and injects the parameters
    (catalog, staging and history paths) as code; a shared notebook names none of them.
    """
    meta = nb.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        meta.pop(key, None)
    if "parameters" in meta:
        meta["parameters"] = {k: _name_only(v) for k, v in meta["parameters"].items()}
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source = re.sub(
                r'^(\w+) = "([^"\n]*)"',
                lambda m: f"{m[1]} = {json.dumps(_name_only(m[2]))}",
                cell.source,
                flags=re.M,
            )
    return nb


def shareable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without parameters, code, explore cells, error banners or stderr."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & (HIDDEN_TAGS | {EXPLORE_TAG}):
            continue
        if cell.cell_type == "markdown" and "papermill-error-cell" in cell.source:
            continue
        if cell.cell_type == "code":
            cell.source = ""
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if o.output_type != "error"
                and not (o.output_type == "stream" and o.get("name") == "stderr")
            ]
        cells.append(cell)
    nb.cells = cells
    return nb


def notebook_html(
    nb: nbformat.NotebookNode, *, title: str, header: dict[str, Any] | None = None
) -> str:
    """Export a notebook to a self-contained, script-free HTML page.

    `header` (from `header()`) names the dataset, `as_of`, the run and its verdicts at the
    top of the page; without it the header holds the title only.
    """
    page = shareable(nb)
    page.metadata["title"] = title
    resources = {
        "govlib_version": __version__,
        "govlib_header": header or {"heading": title, "as_of": "-", "run_id": "-"},
    }
    body = _export(page, resources)
    if "<script" in body.lower():
        raise ReportError("the export holds a script; shared reports carry none", title)
    size = len(body.encode("utf-8"))
    if size > MAX_REPORT_BYTES:
        raise ReportError(
            f"the report is {size / 2**20:.1f} MiB, over the {MAX_REPORT_BYTES / 2**20:g} MiB "
            "limit. Show fewer or smaller charts",
            title,
        )
    return body


_EXPORTER: list[HTMLExporter] = []  # set up once per process, on first use
_EXPORTER_LOCK = threading.Lock()


def _export(page: nbformat.NotebookNode, resources: dict[str, Any]) -> str:
    """`page` as HTML through govlib's template, with the process's one exporter.

    Setting an exporter up loads and compiles the template chain (about 0.2 s); it keeps no
    state from one notebook to the next, so every report of a run reuses it, one at a time.
    """
    with _EXPORTER_LOCK:
        if not _EXPORTER:
            # nbformat (under nbconvert) validates with jsonschema, which would import the
            # optional `rfc3987_syntax` and build its grammar, seconds; no notebook schema
            # uses the "iri" format it checks (see govlib.charts)
            sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
            from nbconvert import HTMLExporter

            exporter = HTMLExporter(
                template_name="govlib",
                extra_template_basedirs=[str(TEMPLATES)],
                exclude_input=True,
                exclude_input_prompt=True,
                exclude_output_prompt=True,
                skip_svg_encoding=True,
            )
            exporter.register_filter("govlib_svg", inline_svg)
            _EXPORTER.append(exporter)
        body, _ = _EXPORTER[0].from_notebook_node(page, resources=resources)
    return str(body)


def inline_svg(svg: str) -> str:
    """An SVG chart fit to inline: its XML prolog dropped, anything active refused.

    The check is structural (elements and attributes), so text that merely reads like markup,
    escaped inside a label, passes as the inert text it is.
    """
    from defusedxml import ElementTree

    body = re.sub(r"^\s*<\?xml[^>]*>\s*", "", svg)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise ReportError("a chart is not well-formed SVG; not exported") from None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1].lower()
        active = tag in ("script", "foreignobject", "iframe") or any(
            name.rsplit("}", 1)[-1].lower().startswith("on")
            or value.strip().lower().startswith("javascript:")
            for name, value in element.attrib.items()
        )
        if active:
            raise ReportError("a chart holds active content (a script or handler); not exported")
    return body


def draw_charts(executed: Path) -> str | None:
    """Draw the charts an executed notebook left as specs to SVG, in place; why not, if not.

    The SVG is what Altair's SVG renderer draws in a kernel: the same vl-convert call on the
    same spec. vl-convert's engine starts once per process (about 0.7 s of CPU) and each chart
    then takes a few milliseconds, drawn outside the GIL. A notebook without such a chart is
    left untouched.
    """
    if not executed.is_file() or CHART_SPEC_MIME not in executed.read_text(encoding="utf-8"):
        return None
    import nbformat
    import vl_convert

    nb = nbformat.read(executed, as_version=4)
    problem = None
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            found = output.get("data", {}).get(CHART_SPEC_MIME)
            if found is None:
                continue
            try:
                svg = vl_convert.vegalite_to_svg(found["spec"], vl_version=found["vl_version"])
            except (ValueError, KeyError, TypeError) as exc:  # quotes no value: names the kind
                problem = f"a chart could not be drawn ({type(exc).__name__})"
                output.data = {"text/plain": "The chart could not be drawn."}
                continue
            output.data = {"image/svg+xml": svg}
    # private: it is still the staging copy, and 0600 needs no umask change under other threads
    outputs.write_text(executed, nbformat.writes(nb), private=True)
    return problem


BADGE_CLASS = {"passed": "ok", "failed": "bad", "error": "error", "unreadable": "error"}
SIBLINGS = "<!--govlib-siblings-->"


def header(
    *, dataset: str | None, as_of: str, run_id: str, verdict: Any = None, index: str = ""
) -> dict[str, Any]:
    """What a report's header shows: dataset, `as_of`, run, verdict badges and summary.

    `verdict` is the dataset's `govlib.verdicts.Verdict` in this run (None for a catalog
    report); `index` the relative link to the run's index page.
    """
    from govlib import describe

    badges = []
    if verdict is not None:
        if verdict.failed:
            badges.append(("bad", "failed: " + ", ".join(verdict.failed)))
        if verdict.quality:
            badges.append((BADGE_CLASS.get(verdict.quality, "info"), f"quality {verdict.quality}"))
        for figure, label in ((verdict.overdue, "past retention"),
                              (verdict.without_consent, "without valid consent"),
                              (verdict.undeclared_pii, "undeclared personal data")):  # fmt: skip
            if figure is not None:
                badges.append(("bad" if figure else "ok", f"{figure:,} {label}"))
        if verdict.unmasked_cards:
            badges.append(("bad", f"{verdict.unmasked_cards:,} raw card numbers in masked columns"))
        if verdict.personal_data == "warning":
            badges.append(("warn", "personal data: the catalog declares what was not found"))
    return {
        "heading": dataset or "All datasets",
        "dataset": dataset,
        "as_of": as_of,
        "run_id": run_id,
        "index": index,
        "badges": badges,
        "summary": describe.summary(verdict) if verdict is not None else "",
    }


def sibling_links(page: Path, reports: list[Path]) -> str:
    """The nav links from `page` to the other reports of its folder (the same dataset)."""
    items = [f"<span>{html.escape(page.parent.name)}:</span>"] if len(reports) > 1 else []
    for other in sorted(reports):
        name = html.escape(other.stem.replace("_", " ").capitalize())
        if other == page:
            items.append(f'<strong aria-current="page">{name}</strong>')
        else:
            items.append(f'<a href="{html.escape(other.name)}">{name}</a>')
    return "".join(items) if len(reports) > 1 else ""


def link_reports(folder: Path, scanner: LeakScanner) -> list[Path]:
    """Link each report in `folder`'s subfolders to the others of its dataset, then rewrite.

    Runs once every report of a run is written, so a link only ever points at a report that
    exists. The rewritten pages are scanned again like any shared file.
    """
    pages = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        reports = sorted(sub.glob("*.html"))
        for page in reports:
            text = page.read_text(encoding="utf-8")
            if SIBLINGS in text:
                pages[page] = text.replace(SIBLINGS, sibling_links(page, reports), 1)
    return publish(pages, scanner)


def publish(files: dict[Path, str], scanner: LeakScanner) -> list[Path]:
    """Scan every file, then write them all (atomically each), or none if any leaks."""
    for path, text in files.items():
        scanner.check(path.name, text)
    return [outputs.write_text(path, text) for path, text in files.items()]


def render_index(summary: dict[str, Any]) -> str:
    """The run's index page: one row per dataset with its verdicts and links (escaped).

    The summary line and each dataset's badge name the areas that failed, from the same
    verdicts as `run.json` and the exit code.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    from govlib import describe, verdicts

    env = Environment(
        loader=PackageLoader("govlib", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    judged = {name: verdicts.Verdict.from_dict(v) for name, v in summary["datasets"].items()}
    return env.get_template("index.html.j2").render(
        run=summary,
        verdicts=judged,
        headline=verdicts.headline(judged.values()),
        personal=describe.personal_data_findings,
    )
