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
import os
from pathlib import Path

import polars as pl

from govlib.errors import GovlibError

KEY_ENV = "GOVLIB_KEY"
KEY_FILE_ENV = "GOVLIB_KEY_FILE"
MIN_KEY_BYTES = 16


class PseudonymKeyError(GovlibError):
    """The pseudonymisation key is missing or unusable."""


def load_key(key_file: str | Path | None = None) -> bytes:
    """The secret key: `key_file`, else `$GOVLIB_KEY_FILE`, else `$GOVLIB_KEY`."""
    path = key_file or os.environ.get(KEY_FILE_ENV)
    if path:
        path = Path(path)
        if not path.is_file():
            raise PseudonymKeyError(
                f"key file {path} not found. Create it or point --key-file elsewhere"
            )
        key = path.read_bytes().strip()
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
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyError(
            f"the key in {where} is {len(key)} bytes; use at least {MIN_KEY_BYTES} random bytes"
        )
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


def mask_email(email: str) -> str:
    """`jane.doe@example.com` -> `j***@e***.com`."""
    local, _, domain = email.strip().partition("@")
    if not domain:
        return "***"
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{(host or tld)[:1]}***.{tld if host else ''}"


def file_sha256(path: str | Path) -> str:
    """Content hash of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
