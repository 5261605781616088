"""GX Core's expectation types and the JSON schemas of their kwargs, read without importing GX.

GX ships a JSON schema per expectation model. The engine reads them to know the types GX knows,
to check kwargs at load (`govlib.quality.suites`), and to coerce kwargs the way GX's pydantic
models do (an integer field truncates a float) before compiling.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from pathlib import Path
from typing import Any


def _schemas_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("great_expectations")
    if spec is None or spec.origin is None:  # pragma: no cover - GX is a dependency
        raise RuntimeError("great_expectations is not installed")
    return Path(spec.origin).parent / "expectations" / "core" / "schemas"


def _snake(name: str) -> str:
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


@functools.cache
def gx_schemas() -> dict[str, Path]:
    """Every GX Core expectation type, with the JSON schema of its kwargs."""
    return {_snake(p.stem): p for p in sorted(_schemas_dir().glob("Expect*.json"))}


@functools.cache
def schema(kind: str) -> dict[str, Any]:
    """The JSON schema of one expectation type's model."""
    loaded: dict[str, Any] = json.loads(gx_schemas()[kind].read_text(encoding="utf-8"))
    return loaded


DEFAULTED = ("regex", "match_on", "ignore_row_if", "exact_match")


def coerce(kind: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Kwargs as GX's model holds them: defaults filled, integer fields truncating floats."""
    if kind not in gx_schemas():
        return kwargs
    props = schema(kind).get("properties", {})
    out = dict(kwargs)
    for key in DEFAULTED:
        if out.get(key) is None and props.get(key, {}).get("default") is not None:
            out[key] = props[key]["default"]
    for key, value in kwargs.items():
        options = props.get(key, {}).get("anyOf") or [props.get(key, {})]
        integral = any(o.get("type") == "integer" for o in options)
        if integral and isinstance(value, float | str) and not isinstance(value, bool):
            with contextlib.suppress(ValueError, OverflowError):
                out[key] = int(value)
    return out
