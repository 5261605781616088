r"""Python regular expressions (what GX's pandas engine runs) for the backends' regex engines.

polars runs Rust's `regex` crate, DuckDB runs RE2, PostgreSQL its own "advanced" regular
expressions and Spark Java's `java.util.regex`: none has look-around or back-references, and all
read `$` otherwise than Python (which also matches before a final newline); PostgreSQL's `.`
also matches a newline, and RE2 and Java read `\d` as ASCII only. SQLite has no regex of its
own: Ibis registers Python's `re.search` on the connection, so a pattern runs there unchanged.
A pattern is translated when its meaning carries over, and refused (`Unsupported`: the check
runs on GX) when it does not.
"""

from __future__ import annotations

import re
import warnings

from govlib.engine.params import Unsupported

# Constructs Python has and the backends lack (or read differently).
_REFUSED = re.compile(
    r"\(\?[=!]|\(\?<[=!]|\(\?P[=>]|\(\?<[A-Za-z_]|\\[1-9]|\\Z|\\[gG]|\(\?[a-zA-Z]*[mxaLu]|"
    r"\(\?\(|\\N\{|\(\?#|\{,|\(\?(?!s\))[a-zA-Z-]+[:)]"
)


def _hex(point: int, backend: str) -> str:
    if backend != "postgres":
        return f"\\x{{{point:x}}}"
    return f"\\u{point:04x}" if point <= 0xFFFF else f"\\U{point:08x}"


def _ranges(points: list[int], backend: str = "polars") -> str:
    out, start = [], None
    for i, point in enumerate(points):
        start = point if start is None else start
        if i + 1 == len(points) or points[i + 1] != point + 1:
            first, last = _hex(start, backend), _hex(point, backend)
            out.append(first + (f"-{last}" if point != start else ""))
            start = None
    return "".join(out)


_SPACES = [c for c in range(0x3001) if chr(c).isspace()]
# what Python's \s matches in a str pattern (str.isspace), for the class body of each engine
SPACE = _ranges(_SPACES)
PG_SPACE = _ranges(_SPACES, "postgres")
# what Python's \d matches in a str pattern (Unicode category Nd), spelled for PostgreSQL
PG_DIGIT = _ranges([c for c in range(0x110000) if chr(c).isdecimal()], "postgres")
# Python constructs PostgreSQL reads otherwise: atomic groups and possessive quantifiers
_PG_REFUSED = re.compile(r"\(\?>|[*+?}]\+")
_QUANTIFIER = re.compile(r"\{\d+(?:,\d*)?\}")


def translate(pattern: str, *, backend: str) -> str:
    r"""The pattern for `backend` ("polars", "duckdb", "postgres", "sqlite" or "pyspark").

    Raises Unsupported when the meaning does not carry over.

    >>> print(translate(r"^\d+$", backend="duckdb"))
    ^\p{Nd}+(?:\n?\z)
    >>> print(translate(r"^a.b$", backend="postgres"))
    ^a[^\n]b(?:\n?\Z)
    """
    try:
        with warnings.catch_warnings():  # "possible nested set": answered below, not printed
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except re.error:
        raise Unsupported("a regex Python does not compile") from None
    if backend == "sqlite":
        return pattern  # Python's own `re`, through the function Ibis registers
    if _REFUSED.search(pattern) or (backend == "postgres" and _PG_REFUSED.search(pattern)):
        raise Unsupported("a regex construct the backends do not share")
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            if backend == "postgres" and pattern[i + 1] == "x":
                out.append("\\u00" + pattern[i + 2 : i + 4])  # \xhh: PostgreSQL reads more digits
                i += 4
                continue
            out.append(_escape(pattern[i + 1], backend=backend, in_class=in_class))
            i += 2
            continue
        if in_class and (ch == "[" or (ch in "&-~" and pattern.startswith(ch * 2, i))):
            # Python reads these literally; Rust, RE2 and Java read nested sets and set
            # operations (`[a-z&&[^aeiou]]`, `--`, `~~`)
            raise Unsupported("a nested set or set operation inside a character class")
        if ch == "[" and not in_class:
            in_class = True
            if pattern.startswith("[[", i) or pattern.startswith("[^[", i):
                raise Unsupported("a nested character class")
        elif ch == "]" and in_class and not (out and out[-1] in ("[", "[^")):
            in_class = False
        elif ch == "^" and in_class and out and out[-1] == "[":
            out[-1] = "[^"
            i += 1
            continue
        elif backend == "pyspark" and (in_class or ch == "."):
            ch = _java(ch, in_class=in_class, dotall=pattern.startswith("(?s)"))
        elif not in_class:
            ch = _outside_class(pattern, i, backend)
        out.append(ch)
        i += 1
    return "".join(out)


def _outside_class(pattern: str, i: int, backend: str) -> str:
    """One character outside a class: `$` and, on PostgreSQL, `.` and a literal `{`."""
    ch = pattern[i]
    postgres = backend == "postgres"
    if ch == "$":
        return r"(?:\n?\Z)" if postgres else r"(?:\n?\z)"
    if postgres and ch == "." and not pattern.startswith("(?s)"):
        return r"[^\n]"  # PostgreSQL's `.` matches a newline; Python's only under (?s)
    if postgres and ch == "{" and not _QUANTIFIER.match(pattern, i):
        return r"\{"  # Python reads a `{` that starts no quantifier as itself
    return ch


def _escape(ch: str, *, backend: str, in_class: bool) -> str:
    r"""One escape sequence: digits and spaces spelled out as Python reads them.

    RE2 and Java read `\d` as ASCII only, and neither engine's `\s` is Python's. Word and boundary
    classes differ between Python, Rust and RE2 on non-ASCII text (and case-folding flags with
    them): such a pattern is left to GX.
    """
    if ch in "wWbB" or (ch == "S" and in_class):
        raise Unsupported("a Unicode class the regex engines define differently")
    if ch.isalnum() and ch not in "dDtnrfvxAsS":
        raise Unsupported("an escape the regex engines read differently")
    if backend == "postgres":
        return _pg_escape(ch, in_class=in_class)
    if ch in "sS":
        # Python's \s is str.isspace(): spelled out, as Rust and RE2 define \s otherwise
        return SPACE if in_class else f"[{'^' if ch == 'S' else ''}{SPACE}]"
    if backend == "pyspark" and ch == "v":
        return r"\x0B"  # Java's \v is any vertical space, Python's the one character
    if backend in ("duckdb", "pyspark") and ch in "dD":
        return r"\p{Nd}" if ch == "d" else r"\P{Nd}"
    return "\\" + ch


def _pg_escape(ch: str, *, in_class: bool) -> str:
    r"""An escape for PostgreSQL: `\d`, `\D`, `\s`, `\S` spelled out as Python reads them."""
    if ch in "sS":
        return PG_SPACE if in_class else f"[{'^' if ch == 'S' else ''}{PG_SPACE}]"
    if ch in "dD":
        if in_class and ch == "D":
            raise Unsupported("a negated class inside a class")
        return PG_DIGIT if in_class else f"[{'^' if ch == 'D' else ''}{PG_DIGIT}]"
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
