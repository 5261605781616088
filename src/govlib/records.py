"""One protocol for result records: plain, typed, value-free, and easy to explore.

Every step of govlib returns a record: a frozen dataclass whose fields hold only `str`, `int`,
`float`, `bool`, `None`, lists, dicts of those, and other records. Records share this small
base, so each of them

- round-trips through JSON: ``type(r).from_dict(json.loads(json.dumps(r.to_dict()))) == r``;
- shows as a compact table in JupyterLab (``_repr_html_``) and on a console (``__rich__``);
- turns into a polars DataFrame for further exploration (``to_polars()``): one row per item of
  the record's main list (``ROWS``, e.g. a profile's columns or a result's checks), or one row
  of the record's scalar fields when it has none.

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True, slots=True)
... class Count(Record):
...     name: str
...     rows: int
>>> Count.from_dict(Count("orders", 3).to_dict())
Count(name='orders', rows=3)
>>> Count("orders", 3).to_polars().shape
(1, 2)
"""

from __future__ import annotations

import dataclasses
import html
import json
import types
import typing
from functools import cache
from typing import Any, ClassVar, Self

import polars as pl

from govlib.errors import printable

MAX_HTML_ROWS = 50  # a notebook table shows at most this many rows; to_polars() has them all


class Record:
    """Base of govlib's result records (mixed into frozen dataclasses)."""

    __slots__ = ()
    ROWS: ClassVar[str | None] = None  # the field holding the record's main list, if any
    CAPTION: ClassVar[str | None] = None  # the caption of its tables (default: the class name)

    def to_dict(self) -> dict[str, Any]:
        """The record as plain JSON-ready data (nested records become dicts)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a record from `to_dict()` output (e.g. a saved JSON file)."""
        record_type: type = cls  # a class is hashable, as the cache needs
        hints = _hints(record_type)
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: _build(hints[k], v) for k, v in data.items() if k in names})

    def to_json(self) -> str:
        """The record as indented JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    def table_rows(self) -> list[dict[str, Any]]:
        """The record as table rows: its main list, or its scalar fields as one row."""
        if self.ROWS is not None:
            return [_flat(item) for item in getattr(self, self.ROWS)]
        return [_flat(self)]

    def to_polars(self) -> pl.DataFrame:
        """The record's rows as a polars DataFrame, for exploring further."""
        rows = self.table_rows()
        if not rows:
            return pl.DataFrame()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        return pl.DataFrame([{c: row.get(c) for c in columns} for row in rows],
                            infer_schema_length=None)  # fmt: skip

    def title(self) -> str:
        """A one-line caption for tables."""
        name = getattr(self, "dataset", None)
        caption = self.CAPTION or type(self).__name__
        return caption + (f": {name}" if name else "")

    def _repr_html_(self) -> str:
        rows = self.table_rows()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        head = "".join(f"<th>{html.escape(printable(c))}</th>" for c in columns)
        cells = (
            "".join(f"<td>{html.escape(printable(_cell(row.get(c))))}</td>" for c in columns)
            for row in rows[:MAX_HTML_ROWS]
        )
        body = "".join(f"<tr>{tds}</tr>" for tds in cells)
        more = len(rows) - MAX_HTML_ROWS
        note = f"<p>{more:,} more rows: use .to_polars()</p>" if more > 0 else ""
        caption = f"<caption>{html.escape(printable(self.title()))}</caption>"
        return f'<table class="govlib-record">{caption}<tr>{head}</tr>{body}</table>{note}'

    def __rich__(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        rows = self.table_rows()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        table = Table(title=Text(self.title()), title_justify="left")
        for c in columns:
            table.add_column(Text(str(c)), overflow="fold")
        for row in rows:
            table.add_row(*(Text(_cell(row.get(c))) for c in columns))
        return table


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, list | dict):
        return json.dumps(value, default=str)
    return str(value)


def _flat(item: Any) -> dict[str, Any]:
    """A table row: scalar fields as they are, lists and dicts as JSON text."""
    data = item.to_dict() if isinstance(item, Record) else dict(item)
    return {
        k: json.dumps(v, default=str, sort_keys=True) if isinstance(v, list | dict) else v
        for k, v in data.items()
    }


@cache
def _hints(cls: type) -> dict[str, Any]:
    import sys

    module = sys.modules[cls.__module__]
    # The record's module as local names: each base's own annotations (the base's ROWS:
    # ClassVar) still resolve in the base's module, whatever the record's module imports.
    return typing.get_type_hints(cls, localns=vars(module))


def _build(hint: Any, value: Any) -> Any:
    """Rebuild nested records inside `value` as the type hint says."""
    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if isinstance(hint, type) and issubclass(hint, Record) and isinstance(value, dict):
        return hint.from_dict(value)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, Record) and isinstance(value, dict):
                return arg.from_dict(value)
        return value
    if origin is list and args and isinstance(value, list):
        return [_build(args[0], v) for v in value]
    if origin is tuple and isinstance(value, list):
        return tuple(value)
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _build(args[1], v) for k, v in value.items()}
    return value
