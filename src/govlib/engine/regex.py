"""Python regular expressions (what GX's pandas engine runs) for the backends' regex engines.

polars runs Rust's `regex` crate and DuckDB runs RE2: neither has look-around or
back-references, and both read `$` as the very end of the text, where Python also matches
before a final newline. A pattern is translated when its meaning carries over, and refused
(`Unsupported`: the check runs on GX) when it does not.
"""

from __future__ import annotations

import re

from govlib.engine.params import Unsupported

# Constructs Python has and the backends lack (or read differently).
_REFUSED = re.compile(
    r"\(\?[=!]|\(\?<[=!]|\(\?P[=>]|\(\?<[A-Za-z_]|\\[1-9]|\\Z|\\[gG]|\(\?[a-zA-Z]*[mxaLu]|"
    r"\(\?\(|\\N\{|\(\?#|\{,"
)


def translate(pattern: str, *, backend: str) -> str:
    r"""The pattern for `backend` ("polars" or "duckdb"), or raise Unsupported.

    >>> print(translate(r"^\d+$", backend="duckdb"))
    ^\p{Nd}+(?:\n?\z)
    """
    try:
        re.compile(pattern)
    except re.error:
        raise Unsupported("a regex Python does not compile") from None
    if _REFUSED.search(pattern):
        raise Unsupported("a regex construct the backends do not share")
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(_escape(pattern[i + 1], backend=backend, in_class=in_class))
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
            if pattern.startswith("[[", i) or pattern.startswith("[^[", i):
                raise Unsupported("a nested character class")
        elif ch == "]" and in_class and not (out and out[-1] in ("[", "[^")):
            in_class = False
        elif ch == "$" and not in_class:
            ch = r"(?:\n?\z)"
        elif ch == "^" and in_class and out and out[-1] == "[":
            out[-1] = "[^"
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(ch: str, *, backend: str, in_class: bool) -> str:
    """One escape sequence: Unicode classes spelled out for RE2, which reads them as ASCII."""
    if backend == "duckdb" and ch == "d":
        return r"\p{Nd}"
    if backend == "duckdb" and ch in "wsWSbB":
        raise Unsupported("a Unicode class RE2 reads as ASCII")
    if ch in "wWbB" and backend == "polars":
        raise Unsupported("a Unicode class the backends define differently")
    return "\\" + ch
