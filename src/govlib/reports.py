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
import re
from pathlib import Path
from typing import Any

import nbformat

from govlib import __version__, outputs
from govlib.errors import GovlibError
from govlib.privacy import LeakScanner

TEMPLATES = Path(__file__).with_name("templates")
MAX_REPORT_BYTES = 2 * 1024 * 1024
HIDDEN_TAGS = {"parameters", "injected-parameters", "papermill-error-cell-tag", "remove-cell"}


class ReportError(GovlibError):
    """A report that cannot be exported or is too large to share.

    `problem` is the message without the report's title.
    """

    def __init__(self, problem: str, title: str = "") -> None:
        self.problem = problem
        super().__init__(f"{title}: {problem}" if title else problem)


def shareable(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of `nb` without parameters, code, error banners, tracebacks or stderr."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & HIDDEN_TAGS:
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


def notebook_html(nb: nbformat.NotebookNode, *, title: str) -> str:
    """Export a notebook to a self-contained, script-free HTML page."""
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
    page = shareable(nb)
    page.metadata["title"] = title
    body, _ = exporter.from_notebook_node(page, resources={"govlib_version": __version__})
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


def publish(files: dict[Path, str], scanner: LeakScanner) -> list[Path]:
    """Scan every file, then write them all (atomically each), or none if any leaks."""
    for path, text in files.items():
        scanner.check(path.name, text)
    return [outputs.write_text(path, text) for path, text in files.items()]


def render_index(summary: dict[str, Any]) -> str:
    """The run's index page: one row per dataset with its verdicts and links (escaped)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("govlib", "templates"), autoescape=select_autoescape(["html", "j2"])
    )
    return env.get_template("index.html.j2").render(run=summary)
