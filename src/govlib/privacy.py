"""Keyed pseudonymisation and masking.

A pseudonym is HMAC-SHA256 of a value under a secret key: stable for the same key, so records
can still be joined and counted, and irreversible without the key. A plain hash of an email is
not a pseudonym: anyone can hash a list of known emails and look the results up.

The key comes from the environment (`GOVLIB_KEY`) or a key file; it is never written to any
output.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import html
import itertools
import json
import math
import os
import re
import stat
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from govlib.errors import GovlibError, ProtectionError

if TYPE_CHECKING:
    from govlib.catalog import Catalog, ColumnSpec, Dataset

KEY_ENV = "GOVLIB_KEY"
KEY_FILE_ENV = "GOVLIB_KEY_FILE"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 1024


class PseudonymKeyError(GovlibError):
    """The pseudonymisation key is missing or unusable."""


MIN_KEY_DISTINCT = 8
MIN_KEY_BITS = 48.0
KEY_ADVICE = "use at least 16 random bytes, e.g. `openssl rand -hex 32`"


def key_weakness(key: bytes) -> str | None:
    """Why `key` is too weak to be a secret, or None when it will do.

    A key is refused when it is shorter than 16 bytes, holds fewer than 8 distinct bytes,
    repeats a shorter pattern (``abcdabcd…``), walks (more than three quarters of its neighbouring
    bytes are equal or one apart, as in ``0123456789abcdef``), or its estimated entropy (the Shannon
    entropy of its byte frequencies times its length) is under 48 bits. A random hex key of 32
    or more characters passes every test. The reason never quotes the key.

    >>> key_weakness(b"a" * 16)
    'holds only 1 distinct byte values (at least 8 needed)'
    """
    if len(key) < MIN_KEY_BYTES:
        return f"is {len(key)} bytes"
    distinct = len(set(key))
    if distinct < MIN_KEY_DISTINCT:
        return f"holds only {distinct} distinct byte values (at least {MIN_KEY_DISTINCT} needed)"
    for period in range(1, len(key) // 2 + 1):
        if all(key[i] == key[i - period] for i in range(period, len(key))):
            return f"repeats a pattern of {period} bytes"
    steps = sum(abs(a - b) <= 1 for a, b in itertools.pairwise(key))
    if steps * 4 > 3 * (len(key) - 1):
        return "is a run of neighbouring characters"
    counts = [key.count(b) for b in set(key)]
    bits = -sum(c * math.log2(c / len(key)) for c in counts)
    if bits < MIN_KEY_BITS:
        return f"has an estimated entropy of {bits:.0f} bits (at least {MIN_KEY_BITS:.0f} needed)"
    return None


def _read_key_file(path: Path) -> bytes:
    """The key in a file that only its owner can read."""
    if not path.is_file():
        raise PseudonymKeyError(
            f"key file {path} not found. Create it or point --key-file elsewhere"
        )
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise PseudonymKeyError(
            f"key file {path} can be read or changed by group or others (mode {mode:04o}); "
            f"run `chmod 600 {path}`"
        )
    with path.open("rb") as fh:
        key = fh.read(MAX_KEY_BYTES + 1).strip()
    if len(key) > MAX_KEY_BYTES:
        raise PseudonymKeyError(
            f"key file {path} holds more than {MAX_KEY_BYTES} bytes: point at the key itself"
        )
    return key


def load_key(key_file: str | Path | None = None) -> bytes:
    """The secret key: `key_file`, else `$GOVLIB_KEY_FILE`, else `$GOVLIB_KEY`.

    A key file must be private to its owner (no group or other permission bits: ``chmod
    600``), and the key must pass `key_weakness`. Errors name where the key came from, never
    the key.
    """
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        key = _read_key_file(Path(path))
        where = f"key file {path}"
    elif os.environ.get(KEY_ENV):
        key = os.environ[KEY_ENV].encode("utf-8")
        where = KEY_ENV
    else:
        raise PseudonymKeyError(
            f"no pseudonymisation key: set {KEY_ENV} or pass --key-file FILE "
            f"(at least {MIN_KEY_BYTES} random bytes, e.g. `openssl rand -hex 32`; "
            "keep it out of the repository)"
        )
    if problem := key_weakness(key):
        raise PseudonymKeyError(f"the key in {where} {problem}; {KEY_ADVICE}")
    return key


def pseudonym(value: object, key: bytes) -> str:
    """The keyed pseudonym of one value (`p_` + 32 hex digits)."""
    digest = hmac.new(key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
    return "p_" + digest[:32]


def pseudonymise(values: pl.Series, key: bytes) -> pl.Series:
    """Keyed pseudonyms of a series; nulls stay null. Distinct values are hashed once."""
    unique = values.drop_nulls().unique()
    mapping = {v: pseudonym(v, key) for v in unique.to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


# -- the leak scanner ------------------------------------------------------------------------
#
# What is guarded. A column is guarded when it is personal (a pii kind or a personal category)
# or undeclared (in the data, not in the catalog's `columns`). Of a guarded column, a value is
# guarded when it identifies; short or common values would refuse every report:
#
# - text is folded (Unicode NFKD without accents, case-folded) and cut into alphanumeric tokens,
#   and is guarded as its token sequence when it has at least MIN_CHARS letters and digits;
#   a single word only when it is not in the stop-list and the column is personal or fewer
#   than RARE_ROWS rows hold it; a phrase of words only when the column is personal, fewer
#   than RARE_ROWS rows hold it, it has a digit, or it has LONG_CHARS letters and digits
#   (a free-text note repeated a few times is still guarded);
# - person names whole (and as "last, first") and each part of at least MIN_CHARS letters that
#   is not in the stop-list (a surname alone, but not "Lee", nor "Young" when a report says it);
# - whole numbers of at least MIN_NUMBER_DIGITS digits, in any rendering (`123456789`,
#   `123456789.0`, `1.23456789e+08`), and decimals of at least MIN_DIGITS digits;
#   digit strings of 7 or more digits across separators, and their last 9 digits (phones in
#   national and international format);
# - dates in ISO and common renderings; a timestamp to the second;
# - plain MD5, SHA-1 and SHA-256 hashes of every guarded text value.
#
# Not guarded: values the project's Great Expectations suites name (a bound equal to a birthday).
#
# The stop-list is every word of govlib's report templates and of the catalog's notebooks, the
# catalog's dataset and column names, and a short list of common English words.

EMAIL_TOKEN = (
    r"(?<![A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
DIGIT_RUN = r"(?<![\d+])\+?\d[\d .()/-]{6,22}\d"
NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:e[-+]?\d+)?(?!\w)")
IBAN_TOKEN = r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"
TOKEN = re.compile(r"[^\W_]+")
DECIMAL = re.compile(r"(?<![\d.])\d+\.\d{3,}(?![\d.])")
COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
MIN_CHARS = 4
MIN_DIGITS = 5
# A bare number identifies on its own from this many digits (cards, national ids, accounts).
# Shorter ones (sequential person ids, amounts, years) equal the counts every report prints:
# records are designed never to hold them, and the scanner cannot tell them apart.
MIN_NUMBER_DIGITS = 9
LONG_CHARS = 16
RARE_ROWS = 5
TAIL = 9
_MONTHS = "january february march april may june july august september october november december"
MONTHS = _MONTHS.split()
_COMMON = """able about above after again against also amber among area back bank base bell best
    bird black blue body bond book born brook brown bush call card care case cash chance
    check city clay close cook cost cross date dawn days dean done down duke each early east
    else even ever fair field file find fine first fish ford form found free from frost full
    gold good grace grant gray great green grey hall hand hart have head heart help here high
    hill holly home hope hour house hunt iris item ivy joy just keep kind king knight lake land
    lane last late less lily line list long look lord love made main make mark marsh mason
    may mill miller moon more most much must name near need never next night none north note
    only open over page park part pass penny pool post price read rich rock rose rule
    same seen sent shaw ship short show side sing small some south stone story street such
    summer sure take than that their them then there these they this time total true under
    upon very wall ward water well west what when where which while white will wood word work
    year young your"""
COMMON_WORDS = frozenset(_COMMON.split())


class LeakError(ProtectionError):
    """A shared output holds personal data; it was not published.

    `found` says what was found by kind and column, never by value.
    """

    def __init__(self, label: str, found: str | None = None) -> None:
        self.label, self.found = label, found or "personal data"
        if found is None:
            super().__init__(label)  # a complete message of its own
            return
        super().__init__(
            f"{label}: holds personal data ({found}); not published. Show aggregates only"
        )


def fold(text: str) -> str:
    """Text as the scanner compares it: NFKD without accents, case-folded, `T` of ISO split."""
    if not text.isascii():
        text = COMBINING.sub("", unicodedata.normalize("NFKD", text))
    text = text.casefold()
    return re.sub(r"(?<=\d)t(?=\d)", " ", text)


def tokens(text: str) -> list[str]:
    """The alphanumeric tokens of folded `text`."""
    return TOKEN.findall(fold(text))


def _canon(number: str) -> str | None:
    """One spelling of a number: `12345`, `12345.0` and `1.2345e+04` all give `12345`."""
    if number.isdigit():
        return str(int(number))
    try:
        value = float(number)
    except ValueError:
        return None
    if value.is_integer() and abs(value) < 1e19:
        return str(int(value))
    return repr(value)


def date_forms(day: date) -> list[tuple[str, ...]]:
    """A date as the token sequences of its ISO and common renderings."""
    y, m, d = str(day.year), f"{day.month:02d}", f"{day.day:02d}"
    mm, dd = str(day.month), str(day.day)
    name = MONTHS[day.month - 1]
    short = name[:3]
    return [
        (y, m, d), (d, m, y), (m, d, y), (dd, mm, y), (mm, dd, y), (y + m + d,), (d + m + y,),
        (dd, name, y), (dd, short, y), (name, dd, y), (short, dd, y), (y, mm, dd),
    ]  # fmt: skip


@functools.cache
def _page_words() -> frozenset[str]:
    """The words of an empty report page: the export template's styles and markup."""
    from nbformat.v4 import new_notebook

    from govlib import reports

    return frozenset(tokens(reports.notebook_html(new_notebook(), title="")))


def stop_words(catalog: Catalog) -> set[str]:
    """Words a report writes by itself, which a name part equal to one does not count as.

    They are the words of the report page's template, govlib's templates, the notebooks, the
    catalog's dataset and column names, and a short list of common English words.
    """
    words = set(COMMON_WORDS) | set(MONTHS) | _page_words()
    folders = [Path(__file__).with_name("templates"), catalog.root / "notebooks"]
    for folder in folders:
        for path in folder.rglob("*") if folder.is_dir() else []:
            if path.is_file() and path.suffix in (".j2", ".tpl", ".html", ".css", ".ipynb"):
                words |= set(tokens(path.read_text(encoding="utf-8", errors="replace")))
    for name, ds in catalog.datasets.items():
        words |= set(tokens(name))
        for column in ds.columns:
            words |= set(tokens(column))
    return {w for w in words if w.isalpha()}


class LeakScanner:
    """Finds personal data in text meant for a shared folder, without ever quoting it.

    It knows every identifying value of every personal or undeclared column of the datasets it
    was built from (see the rules above this class), the catalog's free text aside, and looks
    for email, phone, card-number and IBAN patterns anywhere. Values are found inside longer
    text: a name in a sentence, an id in `6011111111111117.0`, a hash in a JSON string.
    A hit is reported by kind and column (`customers.last_name`, or a column's position when it
    is undeclared), never by value.
    """

    def __init__(self, stop: set[str] | None = None) -> None:
        self.stop = stop or set(COMMON_WORDS)
        self.where: list[str] = []  # places: "customers.last_name"
        self.owner: list[int] = []  # guarded value id -> its place
        self.phrases: dict[tuple[str, ...], int] = {}
        self.firsts: dict[str, set[int]] = {}
        self.numbers: dict[str, int] = {}
        self.digits: dict[str, int] = {}
        self.tails: dict[str, int] = {}
        self.hashes: dict[str, int] = {}

    @classmethod
    def from_frames(cls, catalog: Catalog, frames: dict[str, pl.DataFrame]) -> LeakScanner:
        """Guard the personal and undeclared columns of every frame given (name -> frame).

        Phones are guarded as stored and in E.164 form (the region from each record's
        country), so a report holding the international form of a national number is caught.
        """
        from govlib import identity
        from govlib.catalog import PiiKind

        scanner = cls(stop_words(catalog))
        for name, frame in frames.items():
            ds = catalog.dataset(name)
            for position, column in enumerate(frame.columns, start=1):
                spec = ds.columns.get(column)
                if spec is None:
                    where = f"{name} column {position} (undeclared)"
                elif spec.pii is not None or spec.personal:
                    where = f"{name}.{column}"
                else:
                    continue
                scanner.guard_column(frame[column], where, spec)
                if spec is not None and spec.pii is PiiKind.PHONE:
                    e164 = identity.phone_column_keys(ds, frame, column).drop_nulls()
                    scanner.guard_column(e164.str.strip_chars_start("+"), where, spec)
            scanner._guard_full_names(name, ds, frame)
        for suite in sorted(catalog.expectations_dir.glob("*.json")):
            scanner.allow(suite.read_text(encoding="utf-8"))
        return scanner

    def _label(self, where: str) -> int:
        self.where.append(where)
        return len(self.where) - 1

    def _value(self, label: int) -> int:
        """A new guarded value of the column `label`; all its forms share the returned id."""
        self.owner.append(label)
        return len(self.owner) - 1

    def _guard_full_names(self, name: str, ds: Dataset, frame: pl.DataFrame) -> None:
        from govlib.catalog import PiiKind

        columns = [c for c, s in ds.columns.items() if s.pii is PiiKind.PERSON_NAME]
        columns = [c for c in columns if frame.schema.get(c) == pl.String]
        if len(columns) < 2:
            return
        label = self._label(f"{name} full names")
        parts = [pl.col(c).str.strip_chars() for c in columns]
        full = frame.select(pl.concat_str(parts, separator=" ")).to_series().drop_nulls()
        for value in full.unique().to_list():
            self._add_name(value, label)

    def guard_column(self, values: pl.Series, where: str, spec: ColumnSpec | None = None) -> None:
        """Guard the identifying values of one column (`spec`: its declaration, or None)."""
        from govlib.catalog import PiiKind

        label = self._label(where)
        personal = spec is not None
        kind = spec.pii if spec is not None else None
        dtype = values.dtype
        counts = values.drop_nulls().value_counts(name="_rows")
        if dtype == pl.String:
            for value, rows in counts.iter_rows():
                if kind is PiiKind.PERSON_NAME:
                    self._add_name(value, label)
                else:
                    self._add_text(value, rows, label, personal=personal)
        elif dtype.is_integer() or dtype.is_float():
            for value, _ in counts.iter_rows():
                self._add_number(value, label)
        elif dtype == pl.Date or (dtype == pl.Datetime and kind is PiiKind.DATE_OF_BIRTH):
            for value, _ in counts.iter_rows():
                vid = self._value(label)
                for form in date_forms(value):
                    self._add_phrase(form, vid)
        elif dtype == pl.Datetime:
            for value, _ in counts.iter_rows():
                self._add_timestamp(value, label)

    def _add_phrase(self, toks: tuple[str, ...] | list[str], label: int) -> None:
        toks = tuple(toks)
        if toks and toks not in self.phrases:
            self.phrases[toks] = label
            self.firsts.setdefault(toks[0], set()).add(len(toks))

    def _add_hashes(self, value: str, label: int) -> None:
        for form in {value, value.strip(), value.strip().lower()}:
            data = form.encode("utf-8")
            for algorithm in ("md5", "sha1", "sha256"):
                self.hashes.setdefault(hashlib.new(algorithm, data).hexdigest(), label)

    def _add_digits(self, value: str, label: int) -> None:
        digits = re.sub(r"\D", "", value)
        if len(digits) >= 7:
            self.digits.setdefault(digits, label)
            if len(digits) >= TAIL:
                self.tails.setdefault(digits[-TAIL:], label)

    def _add_name(self, value: str, label: int) -> None:
        label = self._value(label)
        toks = tokens(value)
        if len("".join(toks)) < MIN_CHARS:
            return
        self._add_hashes(value, label)
        if len(toks) > 1:
            self._add_phrase(toks, label)
            self._add_phrase([*toks[1:], toks[0]], label)  # "last first", "last, first"
        for tok in toks:
            if len(tok) >= MIN_CHARS and tok.isalpha() and tok not in self.stop:
                self._add_phrase([tok], label)

    def _add_text(self, value: str, rows: int, label: int, *, personal: bool) -> None:
        label = self._value(label)
        toks = tokens(value)
        alnum = "".join(toks)
        if len(alnum) < MIN_CHARS:
            return
        has_digit = any(c.isdigit() for c in alnum)
        if len(toks) == 1:
            word = toks[0]
            guarded = (
                len(word) >= MIN_DIGITS if has_digit
                else word not in self.stop and (personal or rows < RARE_ROWS)
            )  # fmt: skip
        else:
            guarded = personal or rows < RARE_ROWS or has_digit or len(alnum) >= LONG_CHARS
        if not guarded:
            return
        self._add_phrase(toks, label)
        self._add_hashes(value, label)
        self._add_digits(value, label)
        if len(toks) > 1 and has_digit and len(alnum) <= 12:
            self._add_phrase([alnum], label)  # "LS36SS", "+4915121925945" written solid
        if alnum.isdigit() and len(str(int(alnum))) >= MIN_DIGITS:
            self.numbers.setdefault(str(int(alnum)), label)  # "6011111111111117" as text

    def _add_number(self, value: int | float, label: int) -> None:
        label = self._value(label)
        if isinstance(value, float) and not value.is_integer():
            text = repr(value)
            if len(re.sub(r"\D", "", text).lstrip("0")) >= MIN_DIGITS:
                self.numbers.setdefault(text, label)
            return
        whole = int(value)
        if len(str(abs(whole))) < MIN_NUMBER_DIGITS:
            return
        for form in {str(whole), str(int(float(whole)))}:  # a float rendering loses digits
            self.numbers.setdefault(form, label)
        self._add_digits(str(whole), label)

    def _add_timestamp(self, value: datetime, label: int) -> None:
        label = self._value(label)
        self._add_phrase(
            [str(value.year), f"{value.month:02d}", f"{value.day:02d}", f"{value.hour:02d}",
             f"{value.minute:02d}", f"{value.second:02d}"], label,
        )  # fmt: skip

    def scan(self, text: str) -> dict[str, int]:
        """How many distinct guarded values (or patterns) of each place the text holds.

        An empty dict means the text is clean.

        JSON (a notebook, a results file) is read as its strings and numbers, HTML entities
        are decoded, then values are looked up token by token: the cost grows with the text,
        not with the number of guarded values.
        """
        from govlib import pii

        text = html.unescape(_plain_text(text))
        found: dict[str, set] = {}

        def hit(kind: str, key: object) -> None:
            found.setdefault(kind, set()).add(key)

        for token in re.findall(EMAIL_TOKEN, text):
            if tuple(tokens(token)) not in self.phrases:
                hit("email address", token.lower())
        for run in re.findall(DIGIT_RUN, text):
            digits = re.sub(r"\D", "", run)
            vid = self.digits.get(digits, self.tails.get(digits[-TAIL:]))
            if vid is not None:
                hit(f"value of {self.where[self.owner[vid]]}", vid)
            elif pii.valid_card(run):
                hit("card number", digits)
            elif run.startswith("+") and pii.text_has_phone(run):
                hit("phone number", digits)
        for token in re.findall(IBAN_TOKEN, text):
            if pii.valid_iban(token):
                hit("IBAN", token.replace(" ", ""))
        for table, key in self._known(fold(text)):
            vid = table[key]
            hit(f"value of {self.where[self.owner[vid]]}", vid)
        return {kind: len(keys) for kind, keys in found.items()}

    def _known(self, folded: str) -> Iterator[tuple[dict, object]]:
        """The guarded values in folded text, as (table, key): phrases, hashes, numbers.

        Decimals with 3 or more decimal places (durations, fractions of seconds, chart
        coordinates) are left out of the phrase lookup: their digits are not words.
        """
        toks = TOKEN.findall(DECIMAL.sub(" ", folded))
        for i, tok in enumerate(toks):
            for length in self.firsts.get(tok, ()):
                key = tuple(toks[i : i + length])
                if i + length <= len(toks) and key in self.phrases:
                    yield self.phrases, key
            if len(tok) in (32, 40, 64) and tok in self.hashes:
                yield self.hashes, tok
        for number in NUMBER.findall(folded):
            canon = _canon(number)
            if canon in self.numbers:
                yield self.numbers, canon

    def allow(self, text: str) -> None:
        """Stop guarding the values `text` holds: the project's own configuration.

        A suite's bounds (`min_value: 2005-01-01`) are written by a steward, not taken from
        data; the same date as someone's birthday must not withhold a quality report.
        """
        for table, key in list(self._known(fold(html.unescape(_plain_text(text))))):
            table.pop(key, None)

    def check(self, label: str, text: str) -> None:
        """Raise `LeakError` (quoting no value) when `text` holds personal data."""
        hits = self.scan(text)
        if hits:
            found = ", ".join(f"{n} {kind}" for kind, n in sorted(hits.items()))
            raise LeakError(label, found)

    def check_catalog(self, catalog: Catalog) -> list[str]:
        """Where the catalog's free text (purpose, description, owner...) holds guarded values."""
        problems = []
        for name, key, text in catalog_free_text(catalog):
            if self.scan(text):
                problems.append(f"dataset {name!r}, key {key!r}")
        return problems


def catalog_free_text(catalog: Catalog) -> Iterator[tuple[str, str, str]]:
    """Every free-text field of the catalog as (dataset, key, text): what the overview shows."""
    for name, ds in catalog.datasets.items():
        for key in ("description", "purpose", "owner", "steward", "data_subjects"):
            yield name, key, str(getattr(ds, key) or "")
        yield name, "recipients", "\n".join(ds.recipients)
        for column, spec in ds.columns.items():
            yield name, f"columns.{column}.description", spec.description
        for rule in ds.retention:
            yield name, f"retention.{rule.name}.description", rule.description


def _plain_text(text: str) -> str:
    """A JSON document as its strings and numbers, one per line; other text as it is."""
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        document = json.loads(text)
    except ValueError:
        return text
    parts: list[str] = []
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            parts.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None:
            parts.append(str(item))
    return "\n".join(parts)
