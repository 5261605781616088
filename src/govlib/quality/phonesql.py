"""`phonenumbers`' validity of a number, and when its E.164 form is known, as database expressions.

Duplicate phones in a database (`quality.rules`) group rows by a candidate key, `+`, calling
code and national number digits. For most rows the candidate *is* the number's E.164 form, and
this module lets the database decide that, and whether the number is valid, so that only the
rows it cannot decide travel to Python:

- `valid(candidate, codes, backend)`: `phonenumbers.is_valid_number` of the candidate read as an
  international number, for the calling codes `codes` (others: false). It follows the library's
  own steps: the calling code's regions in order (a region is chosen by its leading digits, or,
  without them, by the number being valid there), then the region's general pattern and
  possible lengths and any number type's pattern and lengths, every pattern anchored at both
  ends as the library's full match.
- `spelled(candidate, phone, country, regions, backend)`: the above, and where parsing the
  row's own spelling gives the candidate's digits. A `+`/`00` spelling does unless its national
  number starts with what the region strips as a national prefix. A national spelling the
  library leaves as it is (no calling code, international call prefix or national prefix at
  its start) does, valid or not; one that starts with the region's plain national prefix does
  when the number is valid (the library strips a prefix when what is left is viable).

A candidate the database calls valid, with every row's spelling parsing to it, is the rows'
key; one it calls invalid, with every row's spelling parsing to it whatever the number, has no
key. Anything else is left to `phonenumbers`.
`tests/test_phonesql.py` compares `valid` with the library on every region's example numbers
and on generated digits.
"""

from __future__ import annotations

import functools
from typing import Any

from govlib.engine.regex import translate

TYPES = (
    "premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan",
    "voicemail", "fixed_line", "mobile",
)  # fmt: skip


def calling_code(digits: str) -> int | None:
    """The calling code a string of digits starts with (as `phonenumbers` extracts it).

    >>> calling_code("447416962965"), calling_code("1212"), calling_code("0044")
    (44, 1, None)
    """
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    if not digits or digits[0] == "0":
        return None
    for size in range(1, min(len(digits), 3) + 1):
        if int(digits[:size]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(digits[:size])
    return None


def calling_code_of(region: str) -> int | None:
    """A region's calling code.

    >>> calling_code_of("GB"), calling_code_of("XX")
    (44, None)
    """
    from phonenumbers import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(region)
    return meta.country_code if meta is not None else None


def valid(candidate: Any, codes: list[int], backend: str) -> Any:
    """Whether `+digits` is a valid number (`phonenumbers.is_valid_number`), for `codes` only."""
    import ibis

    branches = []
    for code in sorted(set(codes)):
        nsn = candidate.substr(1 + len(str(code)))
        branches.append((candidate.startswith(f"+{code}"), _valid_for_code(nsn, code, backend)))
    return ibis.cases(*branches, else_=False) if branches else ibis.literal(False)


def spelled(candidate: Any, phone: Any, country: Any, regions: dict[str, str],
            backend: str) -> tuple[Any, Any, Any]:  # fmt: skip
    """Per row: the candidate is valid; the spelling parses to it if valid; and whatever it is.

    `phone` is the row's text; `regions` maps the data's country values to their ISO codes,
    whose calling codes are the ones decided. `identity.phone_key` reads a number as
    international only when its trimmed text starts with `+` or `00` (not `(+44)`, `0-0 44`),
    and `phonenumbers` parses no text longer than 250 characters: any other row is left to it.
    """
    trimmed, compact = phone.strip(), compact_phone(phone)
    codes = sorted({c for c in map(calling_code_of, regions.values()) if c})
    international = trimmed.startswith("+") | trimmed.startswith("00")
    written = compact.startswith("+") | compact.startswith("00")
    exact = _exact_international(candidate, codes, backend)
    if_valid, always = _exact_national(compact, country, regions, backend)
    readable = (trimmed.length() <= MAX_INPUT) & (international == written)
    return (
        valid(candidate, codes, backend),
        readable & international.ifelse(exact, if_valid),
        readable & international.ifelse(exact, always),
    )


SEPARATORS = " -()./"
MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH: a longer text does not parse


def compact_phone(phone: Any) -> Any:
    """A number trimmed, without the usual separators.

    Plain replacements: SQLite has no translate(), and PostgreSQL's took twice as long.
    """
    compact = phone.strip()
    for separator in SEPARATORS:
        compact = compact.replace(separator, "")
    return compact


def _exact_international(candidate: Any, codes: list[int], backend: str) -> Any:
    """Whether parsing `+digits` keeps the digits after the calling code as they are.

    The library strips a national prefix after the calling code when what is left is still a
    possible number: a candidate whose national number starts with what its region would strip
    is not decided here.
    """
    import ibis
    from phonenumbers import PhoneMetadata, region_code_for_country_code

    branches = []
    for code in codes:
        meta = PhoneMetadata.metadata_for_region_or_calling_code(
            code, region_code_for_country_code(code)
        )
        if meta is None:
            continue
        prefix = meta.national_prefix_for_parsing
        nsn = candidate.substr(1 + len(str(code)))
        keeps = ~nsn.re_search(_pattern(prefix, backend, end=False)) if prefix else True
        branches.append((candidate.startswith(f"+{code}"), keeps))
    return ibis.cases(*branches, else_=False) if branches else ibis.literal(False)


def _exact_national(compact: Any, country: Any, regions: dict[str, str],
                    backend: str) -> tuple[Any, Any]:  # fmt: skip
    """Whether a national spelling parses to its candidate: (if the number is valid, always).

    The library reads a national number as it is unless it starts with the region's calling
    code or an international call prefix (it may read either), or with what the region strips
    as a national prefix. The candidate strips the plain national prefix; the library strips it
    too when what is left is viable, as a valid number is, and the region's parsing rule
    strips that prefix first and transforms nothing.
    """
    import ibis
    from phonenumbers import PhoneMetadata

    if country is None:
        return ibis.literal(False), ibis.literal(False)
    if_valid, always = [], []
    for value, area in sorted(regions.items()):
        meta = PhoneMetadata.metadata_for_region(area)
        if meta is None:
            continue
        prefix, parsing = meta.national_prefix or "", meta.national_prefix_for_parsing or ""
        plain = ~compact.startswith(str(meta.country_code))
        if meta.international_prefix:
            plain = plain & ~compact.re_search(_pattern(meta.international_prefix, backend,
                                                        end=False))  # fmt: skip
        kept = plain
        if prefix:
            kept = kept & ~compact.startswith(prefix)
        if parsing:
            kept = kept & ~compact.re_search(_pattern(parsing, backend, end=False))
        alternatives = parsing.split("|")
        strips = (
            prefix.isdigit()
            and not meta.national_prefix_transform_rule
            and all(a.isdigit() for a in alternatives)
            and alternatives[0] == prefix
        )
        here = country == value
        always.append((here, kept))
        if_valid.append((here, kept | (plain & compact.startswith(prefix)) if strips else kept))
    if not always:
        return ibis.literal(False), ibis.literal(False)
    return ibis.cases(*if_valid, else_=False), ibis.cases(*always, else_=False)


def _valid_for_code(nsn: Any, code: int, backend: str) -> Any:
    """`is_valid_number` for a national number under calling code `code`."""
    import ibis
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata

    regions = COUNTRY_CODE_TO_REGION_CODE.get(code, ())
    if len(regions) == 1:
        meta = PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
        return _typed(nsn, meta, backend) if meta is not None else ibis.literal(False)
    branches = []  # the region chosen as `_region_code_for_number_from_list` chooses it
    for area in regions:
        meta = PhoneMetadata.metadata_for_region(area.upper(), None)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            leading = nsn.re_search(_pattern(meta.leading_digits, backend, end=False))
            branches.append((leading, _typed(nsn, meta, backend)))
        else:
            branches.append((_typed(nsn, meta, backend), ibis.literal(True)))
    return ibis.cases(*branches, else_=False) if branches else ibis.literal(False)


def _typed(nsn: Any, meta: Any, backend: str) -> Any:
    """`_number_type_helper(nsn, meta) != UNKNOWN`: the general description and any type."""
    import ibis

    general = _matches(nsn, meta.general_desc, backend)
    kinds = [_matches(nsn, getattr(meta, name, None), backend) for name in TYPES]
    kinds = [k for k in kinds if k is not None]
    if general is None or not kinds:
        return ibis.literal(False)
    return general & ibis.or_(*kinds)


def _matches(nsn: Any, desc: Any, backend: str) -> Any:
    """`_is_number_matching_desc`: a possible length, then the whole pattern (None: never)."""
    if desc is None or not desc.national_number_pattern:
        return None
    found = nsn.re_search(_pattern(desc.national_number_pattern, backend, end=True))
    lengths = list(desc.possible_length or ())
    return nsn.length().isin(lengths) & found if lengths else found


@functools.cache
def _pattern(pattern: str, backend: str, *, end: bool) -> str:
    """A library pattern anchored at the start (and the end: a full match) for `backend`."""
    return translate(f"^(?:{pattern})" + ("$" if end else ""), backend=backend)
