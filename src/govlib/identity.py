"""One notion of "the same person": e-mail and phone keys, regions, and each dataset's subject key.

Duplicate detection (`quality`), merging (`cleansing`), subject search and erasure (`rights`)
and the leak scanner (`privacy`) all call this module, so they agree on who is who.

- An e-mail's key is the address trimmed and lower-cased, kept only when it looks like an
  address (`EMAIL_REGEX`): a shared placeholder is not a shared person.
- A phone's key is its E.164 form (`+49 7416 962965` → `+497416962965`), validated with
  `phonenumbers`. A number written with `+` or `00` needs no region; a number in national format
  takes the region from the record's country, and without a known region it has no key at all
  (it matches nothing: never a match on the last digits). Numbers holding letters
  (`555-CALL-NOW`, `ext. 42`) have no key either.
- A dataset's subject key is its `subject_key`, else its primary key when it holds personal
  columns, else its relationship to the root dataset (the one the others point at).

Frame versions map each distinct value once: `phonenumbers` is slow.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from govlib.catalog import Catalog, Dataset

EMAIL_PATTERN = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_REGEX = f"^{EMAIL_PATTERN}$"
COUNTRY_COLUMNS = ("country", "country_code")
COUNTRY_ALIASES = {
    "uk": "GB", "great britain": "GB", "britain": "GB", "england": "GB", "scotland": "GB",
    "wales": "GB", "northern ireland": "GB", "deutschland": "DE", "holland": "NL",
    "the netherlands": "NL", "america": "US", "united states of america": "US",
    "éire": "IE", "eire": "IE", "españa": "ES", "espana": "ES", "italia": "IT",
}  # fmt: skip


# -- e-mail ----------------------------------------------------------------------------------


def email_key(value: str | None) -> str | None:
    """The matching key of an e-mail: trimmed and lower-cased; None when it is no address.

    Examples
    --------
    >>> email_key("  Jane.Doe@Example.COM ")
    'jane.doe@example.com'
    >>> email_key("jane.doe@example") is None
    True
    """
    if value is None:
        return None
    key = value.strip().lower()
    return key if re.fullmatch(EMAIL_PATTERN, key) else None


def email_keys(values: pl.Expr) -> pl.Expr:
    """`email_key` over a column: trimmed, lower-cased, null where it is no address."""
    key = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    return pl.when(key.str.contains(EMAIL_REGEX)).then(key)


def standard_email(values: pl.Expr) -> pl.Expr:
    """The display form: trimmed, domain lower-cased; null without exactly one `@`."""
    trimmed = values.str.strip_chars()
    parts = trimmed.str.split_exact("@", 1)
    ok = trimmed.str.count_matches("@") == 1
    return pl.when(ok).then(
        parts.struct.field("field_0") + "@" + parts.struct.field("field_1").str.to_lowercase()
    )


# -- countries and phones --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def region(country: str | None) -> str | None:
    """ISO-3166 alpha-2 for a code, a name or a common alias; None when unknown.

    Examples
    --------
    >>> region("Deutschland"), region("gb"), region("Atlantis")
    ('DE', 'GB', None)
    """
    import pycountry

    key = " ".join((country or "").split()).casefold()
    if not key:
        return None
    if key in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[key]
    try:
        return pycountry.countries.lookup(key).alpha_2
    except LookupError:
        return None


def is_international(phone: str) -> bool:
    """Whether a number carries its country code (`+` or `00`), so it needs no region."""
    return phone.strip().startswith(("+", "00"))


@lru_cache(maxsize=65536)
def phone_key(phone: str | None, country: str | None = None) -> str | None:
    """E.164 of a valid number; the region comes from `country` for a national number.

    Examples
    --------
    >>> phone_key("07416 962965", "GB"), phone_key("0049 7416 962965")
    ('+447416962965', '+497416962965')
    >>> phone_key("07416 962965") is None  # national format, no region: no key
    True
    """
    import phonenumbers

    text = (phone or "").strip()
    if not text or any(ch.isalpha() for ch in text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    area = None if text.startswith("+") else region(country)
    if area is None and not text.startswith("+"):
        return None
    try:
        number = phonenumbers.parse(text, area)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _phone_batch(pairs: pl.Series) -> pl.Series:
    """`phone_key` over a struct series of (phone, country), once per distinct pair."""
    frame = pairs.struct.unnest()
    frame.columns = ["p", "c"]
    keys = frame.unique().drop_nulls("p")
    keyed = keys.with_columns(
        pl.Series("k", [phone_key(p, c) for p, c in keys.iter_rows()], dtype=pl.String)
    )
    joined = frame.join(keyed, on=["p", "c"], how="left", nulls_equal=True, maintain_order="left")
    return joined["k"]


def phone_keys(phones: pl.Expr, country: pl.Expr | None = None) -> pl.Expr:
    """`phone_key` over a column, the region from `country` (a column of codes or names)."""
    area = pl.lit(None, dtype=pl.String) if country is None else country.cast(pl.String)
    pairs = pl.struct(phones.cast(pl.String).alias("p"), area.alias("c"))
    return pairs.map_batches(_phone_batch, return_dtype=pl.String)


def country_column(ds: Dataset, columns: list[str]) -> str | None:
    """The column that gives a record's country: declared `standardise: country`, else named so."""
    declared = [c for c, spec in ds.columns.items() if spec.standardise == "country"]
    named = [c for c in columns if c.lower() in COUNTRY_COLUMNS]
    return next((c for c in declared + named if c in columns), None)


def phone_column_keys(ds: Dataset, frame: pl.DataFrame, column: str) -> pl.Series:
    """The E.164 keys of a dataset's phone column, with each record's country as region."""
    country = country_column(ds, frame.columns)
    region_of = pl.col(country) if country else None
    return frame.select(phone_keys(pl.col(column), region_of)).to_series().alias(column)


# -- subject keys ----------------------------------------------------------------------------


def root_dataset(catalog: Catalog) -> str:
    """The dataset others point at (customers, in the sample); else the first one."""
    targets = [rel.target[0] for ds in catalog.datasets.values() for rel in ds.relationships]
    return max(sorted(set(targets)), key=targets.count) if targets else catalog.names()[0]


def subject_key(ds: Dataset, catalog: Catalog | None = None) -> str | None:
    """The column naming the person a row is about.

    The dataset's `subject_key`; else its primary key when it holds personal columns; else,
    given the catalog, its relationship to the root dataset; else None.
    """
    if ds.subject_key:
        return ds.subject_key
    if ds.primary_key and any(spec.pii is not None for spec in ds.columns.values()):
        return ds.primary_key[0]
    return _root_link(ds, catalog) if catalog is not None else None


def subject_id_column(ds: Dataset, catalog: Catalog) -> str | None:
    """The column holding the catalog-wide subject ids (those `--customer-id` names), if any.

    The `subject_key`; for the root dataset its primary key; else the relationship to the root;
    else a column declared `pii: person_id` named as the root's key (`customer_id`, with no
    relationship declared). A dataset's own primary key is not a subject id: its rows are found
    by e-mail or phone.
    """
    if ds.subject_key:
        return ds.subject_key
    root = catalog.dataset(root_dataset(catalog))
    if ds.name == root.name:
        return ds.primary_key[0] if ds.primary_key else None
    linked = _root_link(ds, catalog)
    if linked is not None or not root.primary_key:
        return linked
    from govlib.catalog import PiiKind

    named = ds.columns.get(root.primary_key[0])
    return root.primary_key[0] if named is not None and named.pii is PiiKind.PERSON_ID else None


def national_id_key(values: pl.Expr) -> pl.Expr:
    """A national id as matched: upper case, without spaces, dashes, dots or slashes."""
    return values.cast(pl.String).str.to_uppercase().str.replace_all(r"[\s\-./]", "")


def _root_link(ds: Dataset, catalog: Catalog) -> str | None:
    root = root_dataset(catalog)
    return next((rel.column for rel in ds.relationships if rel.target[0] == root), None)
