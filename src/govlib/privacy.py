"""Keyed pseudonymisation and masking.

A pseudonym is HMAC-SHA256 of a value under a secret key: stable for the same key, so records
can still be joined and counted, and irreversible without the key. A plain hash of an email is
not a pseudonym: anyone can hash a list of known emails and look the results up.

The key comes from the environment (`GOVLIB_KEY`) or a key file; it is never written to any
output.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import os
import stat
from pathlib import Path

import polars as pl

from govlib import identity
from govlib.errors import GovlibError, ProtectionError

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

EMAIL_TOKEN = identity.EMAIL_PATTERN
DIGIT_RUN = r"\+?\d[\d .()-]{6,22}\d"
HEX_TOKEN = r"\b[0-9a-f]{32}\b|\b[0-9a-f]{40}\b|\b[0-9a-f]{64}\b"
IBAN_TOKEN = r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"


class LeakError(ProtectionError):
    """A shared output holds personal data; it was not published."""


class LeakScanner:
    """Finds personal data in text meant for a shared folder, without ever quoting it.

    It knows the raw values of the catalog's personal columns (emails, phones, names) in exact
    and normalised forms and as plain MD5/SHA-1/SHA-256 hashes, and it looks for email, phone,
    card-number and IBAN patterns anywhere. Subject ids are left to the records' design: they
    hold counts, and a bare number is too common in a report to call it an id.
    """

    def __init__(self, emails: set[str], phones: set[str], names: set[str]) -> None:
        self.emails, self.phones, self.names = emails, phones, names
        self.phone_tails = {p[-9:] for p in phones if len(p) >= 9}
        self.hashes: set[str] = set()
        for value in emails | phones:
            for algorithm in ("md5", "sha1", "sha256"):
                self.hashes.add(hashlib.new(algorithm, value.encode()).hexdigest())

    @classmethod
    def from_frames(cls, catalog, frames: dict[str, pl.DataFrame]) -> LeakScanner:
        """Collect the personal values of every catalog dataset."""
        from govlib.catalog import PiiKind

        emails: set[str] = set()
        phones: set[str] = set()
        names: set[str] = set()
        for name in catalog.names():
            ds, frame = catalog.dataset(name), frames[name]
            name_columns = []
            for column, spec in ds.columns.items():
                if column not in frame.columns or frame.schema[column] != pl.String:
                    continue
                values = frame[column].drop_nulls().str.strip_chars()
                if spec.pii is PiiKind.EMAIL:
                    emails |= set(values.str.to_lowercase().to_list())
                elif spec.pii is PiiKind.PHONE:
                    digits = values.str.replace_all(r"\D", "")
                    phones |= {d for d in digits.to_list() if len(d) >= 7}
                    e164 = identity.phone_column_keys(ds, frame, column).drop_nulls()
                    phones |= {k.lstrip("+") for k in e164.to_list()}
                elif spec.pii is PiiKind.PERSON_NAME:
                    name_columns.append(column)
            if len(name_columns) >= 2:
                parts = [pl.col(c).str.strip_chars() for c in name_columns]
                full = frame.select(pl.concat_str(parts, separator=" ")).to_series()
                names |= {n.lower() for n in full.drop_nulls().to_list()}
        return cls(emails, phones, names)

    def scan(self, text: str) -> dict[str, int]:
        """Counts of hits by kind; an empty dict means the text is clean."""
        import re

        from govlib import pii

        hits: dict[str, int] = {}

        def hit(kind: str, n: int = 1) -> None:
            hits[kind] = hits.get(kind, 0) + n

        for token in re.findall(EMAIL_TOKEN, text):
            hit("known email" if token.lower() in self.emails else "email pattern")
        for run in re.findall(DIGIT_RUN, text):
            digits = re.sub(r"\D", "", run)
            if digits in self.phones or (len(digits) >= 9 and digits[-9:] in self.phone_tails):
                hit("known phone")
            elif pii._valid_card(run):
                hit("card number")
            elif run.startswith("+") and pii._text_has_phone(run):
                hit("phone pattern")
        for token in re.findall(IBAN_TOKEN, text):
            if pii._valid_iban(token):
                hit("iban")
        for token in re.findall(HEX_TOKEN, text):
            if token in self.hashes:
                hit("hash of a known value")
        words = re.findall(r"\w[\w'’-]*", text.lower())
        grams = {" ".join(words[i : i + n]) for n in (2, 3, 4) for i in range(len(words) - n + 1)}
        if found := len(grams & self.names):
            hit("known name", found)
        return hits

    def check(self, label: str, text: str) -> None:
        """Raise `LeakError` (quoting no value) when `text` holds personal data."""
        hits = self.scan(text)
        if hits:
            found = ", ".join(f"{n} {kind}" for kind, n in sorted(hits.items()))
            raise LeakError(
                f"{label}: holds personal data ({found}); not published. Show aggregates only"
            )
