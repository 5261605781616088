"""A corpus of hostile input files, and a catalog that wraps each one.

Every file carries markers where an attacker has control: `VALUE` in cells, `NAME` in column
names, and Rich markup, ANSI escapes and control characters in both. No command may crash on a
file (exit 3), print more than one line of error, print `VALUE` or a control character, or
quote `NAME` in an error.

`corpus(folder)` writes every file and returns a mapping of file name to path.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import polars as pl
import yaml

VALUE = "Zq7value"  # in cells: must never reach the console or an error
NAME = "Zq7name"  # in column names: may be listed in a profile, never quoted in an error
MARKUP = ("[/]", f"[red]{NAME}", f"\x1b[31m{NAME}\x1b[0m")  # names: must print literally


def long_field(folder: Path) -> Path:
    """A field of 200 KiB, above the csv module's default field limit of 128 KiB."""
    path = folder / "long_field.csv"
    path.write_text("id,note\n1," + VALUE * (200 * 1024 // len(VALUE)) + "\n2,short\n")
    return path


def bare_cr(folder: Path) -> Path:
    """Lines ended by a bare carriage return (old Mac style)."""
    path = folder / "bare_cr.csv"
    path.write_bytes(f"id,{NAME}\r1,{VALUE}\r2,{VALUE}b\r".encode())
    return path


def parquet_nested(folder: Path) -> Path:
    """Parquet with a list column and a binary column."""
    path = folder / "nested.parquet"
    pl.DataFrame(
        {
            "id": [1, 2, 3],
            "tags": [[VALUE], [VALUE, "b"], []],
            "blob": [VALUE.encode(), b"\x00\x01", None],
        }
    ).write_parquet(path)
    return path


def quoted_name(folder: Path) -> Path:
    """A column name holding a double quote (escaped as `""` in CSV)."""
    path = folder / "quoted_name.csv"
    path.write_text(f'id,"say ""{NAME}"""\n1,{VALUE}\n2,x\n')
    return path


def markup_names(folder: Path) -> Path:
    """Rich markup and ANSI escapes in column names and values."""
    path = folder / "markup.csv"
    header = ",".join(["id", *MARKUP])
    values = ("[/]", f"[red]{VALUE}", f"\x1b[31m{VALUE}\x1b[0m")
    rows = [",".join([str(i), *values]) for i in range(1, 4)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def control_chars(folder: Path) -> Path:
    """C0 and C1 control characters in a column name and in values."""
    path = folder / "control.csv"
    name = f"a\x07\x08\x9b{NAME}"
    path.write_text(f"id,{name}\n1,\x1b]0;{VALUE}\x07\n2,\x9b31m{VALUE}\n")
    return path


def personal_column_name(folder: Path) -> Path:
    """A column named after a person's e-mail, as exports sometimes do."""
    path = folder / "personal_name.csv"
    path.write_text(f"id,{NAME}@mail.example\n1,5\n2,6\n")
    return path


def ndjson_markup(folder: Path) -> Path:
    """NDJSON with hostile keys and values."""
    path = folder / "hostile.ndjson"
    path.write_text(f'{{"id": 1, "[/]{NAME}": "[red]{VALUE}"}}\n{{"id": 2}}\n')
    return path


def gzip_bomb(folder: Path, *, megabytes: int = 20) -> Path:
    """A small gzip file that decompresses to `megabytes` MiB."""
    path = folder / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"id,pad\n")
        chunk = b"1," + b"0" * (1024 * 1024 - 3) + b"\n"
        for _ in range(megabytes):
            fh.write(chunk)
    return path


def header_only(folder: Path) -> Path:
    """A header with no data rows."""
    path = folder / "header_only.csv"
    path.write_text(f"id,{NAME}\n")
    return path


def sentinel_named(folder: Path) -> Path:
    """A numeric column with sentinels, whose name is the marker (warned about by position)."""
    path = folder / "sentinel.csv"
    path.write_text(f"id,{NAME}\n1,5\n2,N/A\n3,7\n")
    return path


WRITERS: tuple[Callable[[Path], Path], ...] = (
    long_field,
    bare_cr,
    parquet_nested,
    quoted_name,
    markup_names,
    control_chars,
    personal_column_name,
    ndjson_markup,
    header_only,
    sentinel_named,
)


def corpus(folder: Path) -> dict[str, Path]:
    """Write every hostile file into `folder`; returns file name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    return {path.name: path for path in (write(folder) for write in WRITERS)}


def wrapping_catalog(
    path: Path, columns: dict[str, str], *, name: str = "hostile", max_mb: int | None = None
) -> Path:
    """A catalog beside `path` declaring it as one dataset of `columns` (name -> type)."""
    doc: dict = {
        "data_root": ".",
        "datasets": {
            name: {
                "source": {"path": path.name},
                "owner": "o",
                "steward": "s",
                "purpose": "testing hostile input",
                "lawful_basis": "contract",
                "columns": {column: {"type": kind} for column, kind in columns.items()},
            }
        },
    }
    if max_mb is not None:
        doc["limits"] = {"max_decompressed_mb": max_mb}
    target = path.parent / f"{path.name}.catalog.yaml"
    target.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return target
