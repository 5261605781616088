"""Python regular expressions (what GX's pandas engine runs) for the backends' regex engines.

polars runs Rust's `regex` crate, DuckDB runs RE2 and Spark runs Java's `java.util.regex`;
the patterns kept are those all three read alike (no look-around or back-references), with
`$` spelled out, as each reads it differently from Python (which also matches before a final
newline), and digits spelled out where RE2 and Java read them as ASCII only. A pattern is
translated when its meaning carries over, and refused (`Unsupported`: the check runs on GX)
when it does not.
"""

from __future__ import annotations

import re

from govlib.engine.params import Unsupported

# Constructs Python has and the backends lack (or read differently).
_REFUSED = re.compile(
    r"\(\?[=!]|\(\?<[=!]|\(\?P[=>]|\(\?<[A-Za-z_]|\\[1-9]|\\Z|\\[gG]|\(\?[a-zA-Z]*[mxaLu]|"
    r"\(\?\(|\\N\{|\(\?#|\{,|\(\?(?!s\))[a-zA-Z-]+[:)]"
)


def _ranges(points: list[int]) -> str:
    out, start = [], None
    for i, point in enumerate(points):
        start = point if start is None else start
        if i + 1 == len(points) or points[i + 1] != point + 1:
            out.append(f"\\x{{{start:x}}}" + (f"-\\x{{{point:x}}}" if point != start else ""))
            start = None
    return "".join(out)


# what Python's \s matches in a str pattern (str.isspace), for the class body of both engines
SPACE = _ranges([c for c in range(0x3001) if chr(c).isspace()])


def translate(pattern: str, *, backend: str) -> str:
    r"""The pattern for `backend` ("polars", "duckdb" or "pyspark"), or raise Unsupported.

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
        elif backend == "pyspark":
            ch = _java(ch, in_class=in_class, dotall=pattern.startswith("(?s)"))
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(ch: str, *, backend: str, in_class: bool) -> str:
    r"""One escape sequence: digits and spaces spelled out as Python reads them.

    RE2 and Java read `\d` as ASCII only, and neither engine's `\s` is Python's. Word and boundary
    classes differ between Python, Rust and RE2 on non-ASCII text (and case-folding flags with
    them): such a pattern is left to GX.
    """
    if ch == "s" or (ch == "S" and not in_class):
        # Python's \s is str.isspace(): spelled out, as Rust and RE2 define \s otherwise
        return SPACE if in_class else f"[{'^' if ch == 'S' else ''}{SPACE}]"
    if ch in "wWSbB":
        raise Unsupported("a Unicode class the regex engines define differently")
    if ch.isalnum() and ch not in "dDtnrfvxA":
        raise Unsupported("an escape the regex engines read differently")
    if backend == "pyspark" and ch == "v":
        return r"\x0B"  # Java's \v is any vertical space, Python's the one character
    if backend in ("duckdb", "pyspark") and ch in "dD":
        return r"\p{Nd}" if ch == "d" else r"\P{Nd}"
    return "\\" + ch


def _java(ch: str, *, in_class: bool, dotall: bool) -> str:
    r"""A plain character as Java reads Python's meaning of it.

    Java's `.` also stops at `\r`, U+0085, U+2028 and U+2029; inside a class Java reads `[` as a
    nested class and `&&` as an intersection, where Python reads plain characters.

    >>> _java(".", in_class=False, dotall=False), _java("[", in_class=True, dotall=False)
    ('[^\\n]', '\\[')
    """
    if ch == "." and not in_class and not dotall:
        return r"[^\n]"
    if in_class and ch in "[&":
        return "\\" + ch
    return ch
