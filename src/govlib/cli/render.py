"""Console rendering for the `govlib` command: one safe console and one `show` helper.

Text from data and catalogs prints literally: no Rich markup, no emoji codes, and control
characters (ANSI escapes, line breaks) print as `?`. Views turn a result into renderables;
`show` prints them, and prints any `Record` as a table of its rows.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from govlib.errors import printable
from govlib.records import Record


class SafeConsole(Console):
    """A console that prints every string literally: no markup, no emoji codes, no controls.

    Strings reach the terminal through `render_str` (table cells and titles too), so a column
    name such as `[/]` or one holding ANSI escapes prints as text. Styled words are `Text`
    objects built by `styled`, which makes them printable too.
    """

    def render_str(self, text: str, **options: object) -> Text:
        """Render `text` literally, control characters as `?`."""
        options |= {"markup": False, "emoji": False, "highlight": False}
        return super().render_str(printable(text), **options)  # type: ignore[arg-type]


console = SafeConsole(
    highlight=False,
    markup=False,
    emoji=False,
    soft_wrap=True,
    width=None if sys.stdout.isatty() else 120,
)


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line of text and (text, style) pairs, each made printable; nothing is markup."""
    line = Text()
    for part in parts:
        text, style = (part, "") if isinstance(part, str) else part
        line.append(printable(text), style=style)
    return line


def table(title: str | None, headers: Iterable[str], rows: Iterable[Iterable[Any]]) -> Table:
    """A left-titled table; every cell goes through the safe console as literal text."""
    out = Table(title=title, title_justify="left")
    for header in headers:
        out.add_column(header, overflow="fold")
    for row in rows:
        out.add_row(*(cell if isinstance(cell, Text) else str(cell) for cell in row))
    return out


def show(*items: RenderableType | Record) -> None:
    """Print each item: a `Record` as a table of its rows, anything else as it is."""
    for item in items:
        console.print(record_table(item) if isinstance(item, Record) else item)


def record_table(record: Record) -> Table:
    """A record's rows as a table (its main list, or its scalar fields as one row)."""
    rows = record.table_rows()
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return table(record.title(), columns, ([_cell(row.get(c)) for c in columns] for row in rows))


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def count(value: object) -> str:
    """A number with thousands separators, `-` for None."""
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def wrote(path: Path, note: str = "") -> str:
    """The line that says a file was written."""
    return f"wrote {path}" + (f" {note}" if note else "")
