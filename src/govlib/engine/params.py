"""Suite kwargs as GX reads them: parameters resolved, bounds coerced, row conditions parsed.

GX parses an expectation's kwargs with pydantic before it validates: a bound declared as
`float | $PARAMETER | date | datetime` turns `500` into `500.0`, `"5"` into `5.0`,
`"2020-01-01"` into a date and `"2020-01-01T00:00:00"` into a datetime. The compiler applies the
same coercion here, without importing GX, so both engines compare the same bounds.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from datetime import time as dtime
from typing import Any

_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$")
_DATETIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{1,2})"
    r"(?::(\d{1,2})(?:\.(\d{1,6})\d{0,6})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$"
)


class Unsupported(Exception):
    """The compiler does not cover this configuration: the check runs on GX instead."""


class CannotRun(Exception):
    """The check cannot run on this data (a missing column, a type it does not take)."""


class BadBounds(CannotRun):
    """Bounds GX compares with each other before any row (of two kinds, or min above max)."""


def parameters(as_of: date) -> dict[str, str]:
    """The suite parameters: `as_of` is the end of the as_of day, `as_of_date` the day."""
    end_of_day = datetime.combine(as_of, dtime(23, 59, 59)).isoformat()
    return {"as_of": end_of_day, "as_of_date": as_of.isoformat()}


def resolve(value: Any, params: dict[str, Any]) -> Any:
    """A kwarg with every `{"$PARAMETER": name}` replaced by the parameter's value."""
    if isinstance(value, dict):
        if set(value) == {"$PARAMETER"}:
            name = value["$PARAMETER"]
            if name not in params:
                raise Unsupported(f"unknown suite parameter {name!r}")
            return params[name]
        return {k: resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    return value


TRUE = {"1", "on", "t", "true", "y", "yes"}
FALSE = {"0", "off", "f", "false", "n", "no"}


def boolean(value: Any) -> bool | None:
    """A flag as GX's pydantic model reads it, or None when it is not one.

    >>> boolean("yes"), boolean(0), boolean(None), boolean("maybe")
    (True, False, False, None)
    """
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in TRUE | FALSE:
        return value.lower() in TRUE
    return None


def flag(kw: dict[str, Any], key: str) -> bool:
    """A boolean kwarg read as GX reads it (absent or unreadable: false)."""
    return bool(boolean(kw.get(key)))


def comparable(value: Any) -> float | date | datetime | None:
    """A bound as GX's pydantic model coerces it (`float | date | datetime`).

    >>> comparable(500), comparable("5"), comparable("2020-01-02")
    (500.0, 5.0, datetime.date(2020, 1, 2))
    >>> comparable("2020-01-02T03:04:05Z")
    datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    """
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return value
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        if match := _DATE.match(value):
            return date(*(int(g) for g in match.groups()))
        if match := _DATETIME.match(value):
            return _datetime(match)
    raise ValueError("not a number, date or datetime")


def _datetime(match: re.Match[str]) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    tz = None
    if zone == "Z":
        tz = UTC
    elif zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        tz = timezone(sign * offset)
    y, mo, d, h, mi, s = (int(p) for p in (year, month, day, hour, minute, second or "0"))
    return datetime(y, mo, d, h, mi, s, micro, tzinfo=tz)


# GX's legacy `great_expectations` row-condition grammar (`legacy_row_conditions.py`).
_ALPHAS8BIT = "".join(chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7))
_PUNCT = string.punctuation.replace('"', "").replace("'", "")
_VALUE_CHARS = re.escape(string.ascii_letters + string.digits + _ALPHAS8BIT + _PUNCT + " \t._")
_COLUMN = r'col\("(?P<column>[^"]*)"\)'
_CONDITION = re.compile(
    rf"\s*{_COLUMN}\s*(?:(?P<notnull>(?i:\.notnull\(\)))|(?P<op>>=|<=|==|!=|>|<)\s*"
    rf"(?:(?P<number>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)"
    rf"|(?P<quote>[\"'])(?P<text>[{_VALUE_CHARS}]+)(?P=quote)"
    rf"|date\(\s*(?P<dquote>[\"'])(?P<date>[{_VALUE_CHARS}]+)(?P=dquote)\s*\)))"
)


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed row condition: `col("c").notnull()` or `col("c") OP value`."""

    column: str
    op: str  # "notnull", ">", ">=", "<", "<=", "==", "!="
    value: float | int | str | None


def parse_condition(text: str) -> Condition:
    """Parse a `great_expectations` row condition as GX does, or raise ValueError.

    >>> parse_condition('col("age") >= 18')
    Condition(column='age', op='>=', value=18)
    >>> parse_condition('col("email").notnull()')
    Condition(column='email', op='notnull', value=None)
    """
    match = _CONDITION.match(text)
    if match is None:
        raise ValueError("a row condition GX's parser does not accept")
    if text[match.end() :].strip():
        # GX parses a prefix and ignores the rest; leave such a condition to GX
        raise Unsupported("a row condition with text after the condition")
    column = match.group("column")
    if match.group("notnull"):
        return Condition(column, "notnull", None)
    number = match.group("number")
    if number is not None:
        try:
            return Condition(column, match.group("op"), int(number))
        except ValueError:
            return Condition(column, match.group("op"), float(number))
    text_value = match.group("text") if match.group("text") is not None else match.group("date")
    # GX's grammar (pyparsing) skips whitespace before the quoted word: `" >50K"` is `>50K`
    text_value = text_value.lstrip(" \t\n\r")
    if not text_value:
        raise Unsupported("a row condition comparing with blank text")
    return Condition(column, match.group("op"), text_value)
