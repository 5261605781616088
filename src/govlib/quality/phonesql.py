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
- `exact_international(...)` and `exact_national(...)`: where parsing the row's own spelling
  gives the candidate's digits. A `+`/`00` spelling does unless its national number starts
  with what the region strips as a national prefix; a national spelling does in a region whose
  national prefix is a plain prefix without a transform rule, unless it starts with the
  calling code or an international call prefix (the library may read either).

A candidate the database calls valid and exact is the row's key; one it calls invalid and
exact for every row (all international) has no key. Anything else is left to `phonenumbers`.
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


def exact_international(candidate: Any, codes: list[int], backend: str) -> Any:
    """Whether parsing `+digits` keeps the digits after the calling code as they are.

    The library strips a national prefix after the calling code when what is left is still a
    possible number: a candidate whose national number starts with what its region would strip
    is not decided here.
    """
    import ibis
    from phonenumbers import PhoneMetadata, region_code_for_country_code

    branches = []
    for code in sorted(set(codes)):
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


def simple_regions(regions: dict[str, str]) -> dict[str, tuple[str, str, str]]:
    """The regions whose national spelling the candidate reads exactly.

    `regions` maps a country value to its ISO code; the result maps the value to (calling code,
    national prefix, international prefix).
    """
    from phonenumbers import PhoneMetadata

    out = {}
    for value, area in regions.items():
        meta = PhoneMetadata.metadata_for_region(area)
        if meta is None or meta.national_prefix_transform_rule:
            continue
        prefix, parsing = meta.national_prefix or "", meta.national_prefix_for_parsing or ""
        if prefix != parsing or (prefix and not prefix.isdigit()):
            continue
        out[value] = (str(meta.country_code), prefix, meta.international_prefix or "")
    return out


def exact_national(compact: Any, country: Any, simple: dict[str, tuple[str, str, str]],
                   backend: str) -> Any:  # fmt: skip
    """Whether a national spelling (`compact`: trimmed, separators gone) parses to its candidate.

    Its region must be simple (`simple_regions`), and the number must start with neither the
    region's calling code (the library may read it as one) nor an international call prefix.
    """
    import ibis

    if country is None or not simple:
        return ibis.literal(False)
    branches = []
    for value, (code, _, idd) in sorted(simple.items()):
        plain = ~compact.startswith(code)
        if idd:
            plain = plain & ~compact.re_search(_pattern(idd, backend, end=False))
        branches.append((country == value, plain))
    return ibis.cases(*branches, else_=False)


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
