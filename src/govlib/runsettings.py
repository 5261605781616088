"""The settings of a batch run: a batch file, `NAME=VALUE` parameters, and their precedence.

One rule decides every setting: **a setting given on the command line overrides the batch
file, and the batch file overrides environment variables and defaults.** Notebook parameters
merge name by name in the same order.

>>> combine({"workers": 4}, {"workers": 1, "timeout": 60}, {"workers": 2, "timeout": 600})
{'workers': 4, 'timeout': 60, 'parameters': {}}
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from govlib.errors import ParameterError

SETTINGS = ("catalog", "datasets", "notebooks", "as_of", "workers", "timeout", "out", "parameters")


def split_names(value: str | None) -> list[str] | None:
    """A comma-separated list of names, or None when there is none.

    >>> split_names("customers, orders,")
    ['customers', 'orders']
    """
    names = [v.strip() for v in value.split(",") if v.strip()] if value else []
    return names or None


def parse_param(text: str) -> tuple[str, object]:
    """A `NAME=VALUE` notebook parameter; a JSON value is typed, anything else stays a string.

    >>> parse_param("threshold=0.9"), parse_param("id=01234")
    (('threshold', 0.9), ('id', '01234'))
    """
    name, sep, raw = text.partition("=")
    if not sep:
        raise ParameterError(f"-p takes NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a plain string: 01234 stays "01234"
    return name.strip(), value


def _names(value: object) -> object:
    """A batch file's list of names: a list, or one string of comma-separated names."""
    return split_names(value) if isinstance(value, str) else value


def _batch_model() -> Any:
    """The pydantic model of a batch file (built on first use: pydantic is a slow import)."""
    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictStr

    Names = Annotated[list[StrictStr] | None, BeforeValidator(_names)]

    class BatchFile(BaseModel):
        """The settings a batch file may give, with the same meaning as the options."""

        model_config = ConfigDict(extra="forbid", frozen=True)
        catalog: Path | None = None
        datasets: Names = None
        notebooks: Names = None
        as_of: date | None = None
        workers: int | None = Field(default=None, ge=1, le=64)
        timeout: int | None = Field(default=None, ge=1)
        out: Path | None = None
        parameters: dict[str, object] | None = None

    return BatchFile


def read_batch_file(path: Path) -> dict[str, Any]:
    """Read and check a batch file, reporting every problem in it at once (exit 2).

    Returns only the settings the file gives.
    """
    from pydantic import ValidationError

    from govlib.catalog import read_yaml

    try:
        data = read_yaml(path)
    except ValueError as exc:
        raise ParameterError(f"{path}: cannot read the batch file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of settings such as 'datasets:'")
    try:
        settings = _batch_model().model_validate(data)
    except ValidationError as exc:
        problems = [
            f"key {'.'.join(str(p) for p in e['loc'])!r}: {e['msg'].lower()}" for e in exc.errors()
        ]
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise ParameterError(f"{path}: {count} in the batch file: {'; '.join(problems)}") from None
    return settings.model_dump(exclude_none=True)


def combine(
    given: dict[str, Any], batch: dict[str, Any], fallback: dict[str, Any]
) -> dict[str, Any]:
    """The settings of a run: `given` (command line) over `batch` over `fallback`.

    `given` holds only the settings given on the command line; `fallback` holds defaults and
    values from the environment. `parameters` merge name by name in the same order.
    """
    merged = fallback | batch | given
    merged["parameters"] = {
        **(fallback.get("parameters") or {}),
        **(batch.get("parameters") or {}),
        **(given.get("parameters") or {}),
    }
    return merged
