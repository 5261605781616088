"""PII detection that works offline: patterns, validators and column names.

Each string column is tested on a systematic sample of its values: vectorised regular
expressions first, then validators where a pattern alone would lie (Luhn for cards, mod-97 for
IBANs, `phonenumbers` for phones). Free-text columns are scanned whole for embedded emails,
phones, card numbers and IBANs: a vectorised pre-filter keeps validation to candidate rows.

Results are records holding shares, counts and evidence: never a value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
import polars as pl
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.us import ssn as stdnum_ssn

from govlib.catalog import DEFAULT_CATEGORY, Dataset, PiiKind
from govlib.records import Record

MATCH_SHARE = 0.5  # share of sampled values that must match for a value-based detection
SAMPLE_ROWS = 20_000
VALIDATE_AT_MOST = 1_000  # distinct pattern matches checked by a validator per column

EMAIL_RE = r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
EMAIL_IN_TEXT = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
PHONE_CHARS = r"^\+?[\d\s().-]{7,20}$"
PHONE_IN_TEXT = r"(?:\+|\b0|\()\d[\d\s().-]{6,18}\d"
CARD_IN_TEXT = r"\b\d(?:[ -]?\d){12,18}\b"
DECIMAL = r"^\d*\.\d*$"  # a decimal number: digits, one dot, digits
MASKED_CARD_RE = r"^(?:[*Xx•#]{4}[ -]?){2,3}[*Xx•#]{0,4}[ -]?\d{4}$|^[*Xx•#]{8,15}\d{4}$"
IBAN_RE = r"^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}$"
IBAN_IN_TEXT = r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"
IPV4_RE = r"^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$"
IPV6_RE = r"^(?:[0-9A-Fa-f]{1,4}:){2,7}[0-9A-Fa-f]{0,4}$|^::1$"
SSN_RE = r"^\d{3}-\d{2}-\d{4}$"
NINO_RE = r"^[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]$"
_NINO_STRICT = re.compile(
    r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$"
)
POSTCODE_RE = (
    r"^(?:[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"  # UK
    r"|\d{5}(?:-\d{4})?"  # US, DE, FR
    r"|\d{4} ?[A-Z]{2}"  # NL
    r"|[A-Z]\d{2} ?[A-Z\d]{4})$"  # IE Eircode
)
ANY_EMBEDDED = "|".join(
    f"(?:{p})" for p in (EMAIL_IN_TEXT, PHONE_IN_TEXT, CARD_IN_TEXT, IBAN_IN_TEXT)
)
# A name: capitalised words, initials with a dot ("Cesar A."), "Last, First" with titles and a
# maiden name in brackets ("Allen, Miss. Elisabeth Walton", "Brown, Mrs. J. (Margaret Tobin)").
NAME_RE = r"^\p{Lu}[\p{L}'’.-]*(?:,? \(?[\p{L}\"][\p{L}'’.\"-]*\)?){0,7}$"
# "Last, First": a strong enough shape to need no column name (a state code is not a name).
LAST_FIRST_RE = (
    r"^\p{Lu}[\p{L}'’-]+(?: \p{Lu}[\p{L}'’-]+)?, "
    r"\p{Lu}\p{Ll}[\p{L}'’.-]*(?: \p{Lu}[\p{L}'’.-]*)*$"
)
HEX_ID_RE = (  # a uuid, or 12-64 hex digits in one case
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-f]{12,64}|[0-9A-F]{12,64})$"
)
ISO_DATE_RE = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$"
# Id columns: `id`, `*_id`, `*Id`, `*ID` (`playerID`, `bbrefID`); entities that are not people
# are left out. In a table about people, a nearly unique id column identifies a person.
ID_NAME = r"(?i:(?:^|_)id)$|[a-z0-9]I[dD]$"
NOT_PEOPLE = (
    r"(?i)^(?:order|invoice|product|item|sku|ticket|transaction|txn|event|session|payment|"
    r"shipment|line|year|team|lg|league|game|match|file|row|record|batch|run|job|request|"
    r"message|store|shop|country|region|city|state|category|type|status|currency|lang|org|"
    r"company|vendor|supplier|campaign|device|page|version|flight|tail|route|carrier|park)"
)
ABOUT_PEOPLE = {"person_name", "email", "phone", "date_of_birth", "national_id"}
ID_DISTINCT = 0.9  # share of sampled values that are distinct, for an id to identify people

NAME_HINTS: list[tuple[PiiKind, str]] = [
    (PiiKind.EMAIL, r"e-?mail"),
    (PiiKind.PHONE, r"phone|mobile|\btel\b|telephone|msisdn|fax"),
    (PiiKind.PAYMENT_CARD, r"card|\bpan\b|cc_?num"),
    (PiiKind.IBAN, r"iban|bank_?account"),
    (PiiKind.IP_ADDRESS, r"\bip\b|ip_?addr|ipv[46]"),
    (PiiKind.NATIONAL_ID, r"ssn|social_?security|nino|national_?(id|insurance)|passport|tax_?id"),
    (PiiKind.DATE_OF_BIRTH, r"birth|\bdob\b"),
    (PiiKind.POSTCODE, r"post_?code|zip|postal"),
    (
        PiiKind.PERSON_NAME,
        r"(first|last|given|family|full|middle|maiden|nick)_?name|surname|^name$"
        r"|^name_?(first|last|given|full|middle)$",
    ),
    (
        PiiKind.PERSON_ID,
        r"(customer|client|user|person|member|subject|patient|employee|account|player"
        r"|passenger|student|voter|athlete|driver|contact|guest|visitor|author)_?id",
    ),
    (PiiKind.FREE_TEXT, r"note|comment|message|description|remark|free_?text|body"),
]


@dataclass(frozen=True, slots=True)
class PiiFinding(Record):
    """A column that holds (or is declared to hold) personal data."""

    dataset: str
    column: str
    kind: str
    category: str
    share: float  # share of sampled non-null values matching the kind's pattern and validator
    confidence: float
    evidence: str
    source: str  # "detected", "declared" or "both"
    embedded: dict[str, int] = field(default_factory=dict)  # free text: rows holding each kind


@dataclass(frozen=True, slots=True)
class CatalogFinding(Record):
    """A mismatch between what the catalog declares and what the data holds."""

    dataset: str
    column: str
    finding: str  # undeclared_pii, declared_not_found, kind_mismatch, unmasked_card
    detail: str
    count: int = 0


@dataclass(frozen=True, slots=True)
class Detection:
    """What detection alone concluded about one column."""

    kind: PiiKind | None
    share: float
    confidence: float
    evidence: str
    embedded: dict[str, int]
    weak: bool = False  # an id or postcode shape that needs the table's context to count


def id_like(column: str) -> bool:
    """Whether a column is named like an id of something that may be a person.

    >>> [id_like(c) for c in ("playerID", "customerId", "id", "order_id", "yearID", "Idaho")]
    [True, True, True, False, False, False]
    """
    return bool(re.search(ID_NAME, column)) and not re.match(NOT_PEOPLE, column)


def name_hint(column: str) -> PiiKind | None:
    """The PII kind a column name suggests, if any."""
    lowered = column.lower()
    for kind, pattern in NAME_HINTS:
        if re.search(pattern, lowered):
            return kind
    return None


def _valid_phone(value: str) -> bool:
    if re.match(ISO_DATE_RE, value):  # 1992-04-30 is a date, not a number
        return False
    try:
        number = phonenumbers.parse(value, None if value.startswith("+") else "GB")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_possible_number(number)


def _digits(value: str) -> str:
    return re.sub(r"[\s-]", "", value)


def valid_card(value: str) -> bool:
    """True for 13-19 digits (separators allowed) that pass the Luhn check."""
    digits = _digits(value)
    return digits.isdigit() and 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def _valid_nino(value: str) -> bool:
    return bool(_NINO_STRICT.match(value.replace(" ", "").upper()))


def valid_iban(value: str) -> bool:
    """True for an IBAN whose country format and mod-97 check hold."""
    return stdnum_iban.is_valid(value)


def _share(
    values: pl.Series, pattern: str, validator: Callable[[str], bool] | None = None
) -> float:
    """Share of values matching `pattern` (and `validator`, run on the matches only).

    The validator runs on at most `VALIDATE_AT_MOST` distinct matches, spread evenly; the share
    of those that pass scales the pattern's share.
    """
    if values.len() == 0:
        return 0.0
    matches = values.filter(values.str.contains(pattern))
    share = matches.len() / values.len()
    if validator is None or matches.len() == 0:
        return share
    unique = matches.unique(maintain_order=True)
    checked = unique.gather_every(max(1, unique.len() // VALIDATE_AT_MOST)).to_list()
    return share * sum(1 for v in checked if validator(v)) / len(checked)


def long_values(frame: pl.DataFrame) -> pl.DataFrame:
    """Every value of `frame` as one row: its column's name (`column`) and the value (`v`).

    Works whatever the columns are called (a column may itself be named `v`).
    """
    names = frame.columns
    positional = frame.rename({name: str(i) for i, name in enumerate(names)})
    return positional.unpivot(variable_name="i", value_name="v").select(
        pl.col("i").replace_strict({str(i): n for i, n in enumerate(names)}).alias("column"),
        "v",
    )


def candidates(sample: pl.DataFrame) -> set[str]:
    """String columns of `sample` that `detect_strings` could find personal data in.

    One vectorised pass over every column at once, so wide data costs one query, not one per
    column. A column is left out only when its name hints at nothing, no pattern matches
    `MATCH_SHARE` of its values (validators can only lower a share), and it does not read
    like free text: `detect_strings` would find nothing there.
    """
    if sample.width == 0 or sample.height == 0:
        return {c for c in sample.columns if name_hint(c) is not None}
    v = pl.col("v")
    upper = v.str.to_uppercase()
    shares = [
        v.str.contains(EMAIL_RE).mean(),
        v.str.contains(r"^[\d\s-]{13,23}$").mean() + v.str.contains(MASKED_CARD_RE).mean(),
        upper.str.contains(IBAN_RE).mean(),
        v.str.contains(SSN_RE).mean(),
        upper.str.contains(NINO_RE).mean(),
        v.str.contains(IPV4_RE).mean(),
        v.str.contains(IPV6_RE).mean(),
        v.str.contains(PHONE_CHARS).mean(),
        upper.str.contains(POSTCODE_RE).mean(),
        v.str.contains(HEX_ID_RE).mean(),
        v.str.contains(LAST_FIRST_RE).mean(),
    ]
    long = long_values(sample).with_columns(v.str.strip_chars()).filter(v.is_not_null() & (v != ""))
    screened = long.group_by("column").agg(
        pl.max_horizontal(shares).alias("share"),
        v.str.len_chars().mean().alias("length"),
        v.str.count_matches(r"\S+").mean().alias("words"),
    )
    suspect = screened.filter(
        (pl.col("share") >= MATCH_SHARE) | ((pl.col("words") >= 3) & (pl.col("length") >= 15))
    )
    return set(suspect["column"].to_list()) | {
        c for c in sample.columns if name_hint(c) is not None or id_like(c)
    }


_VALUE_TESTS: list[tuple[PiiKind, Callable[[pl.Series], float]]] = [
    (PiiKind.EMAIL, lambda v: _share(v, EMAIL_RE)),
    (
        PiiKind.PAYMENT_CARD,
        lambda v: _share(v, r"^[\d\s-]{13,23}$", valid_card) + _share(v, MASKED_CARD_RE),
    ),
    (PiiKind.IBAN, lambda v: _share(v.str.to_uppercase(), IBAN_RE, valid_iban)),
    (
        PiiKind.NATIONAL_ID,
        lambda v: max(
            _share(v, SSN_RE, stdnum_ssn.is_valid),
            _share(v.str.to_uppercase(), NINO_RE, _valid_nino),
        ),
    ),
    (PiiKind.IP_ADDRESS, lambda v: max(_share(v, IPV4_RE), _share(v, IPV6_RE))),
    (PiiKind.PHONE, lambda v: _share(v, PHONE_CHARS, _valid_phone)),
    (PiiKind.POSTCODE, lambda v: _share(v.str.to_uppercase(), POSTCODE_RE)),
]


def detect_strings(column: str, values: pl.Series) -> Detection:
    """Detect the PII kind of a string column from a sample of its non-null values."""
    values = values.drop_nulls().str.strip_chars()
    values = values.filter(values != "")
    hint = name_hint(column)
    if values.len() == 0:
        return Detection(hint, 0.0, 0.3 if hint else 0.0, "name only (no values)", {})
    kind, share = _best_pattern(values, hint)
    if kind is PiiKind.POSTCODE and hint is not PiiKind.POSTCODE and share >= MATCH_SHARE:
        evidence = f"{share:.0%} of sampled values are shaped like postcodes"
        return Detection(kind, round(share, 4), 0.4, evidence, {}, weak=True)
    if kind is not None and share >= MATCH_SHARE:
        confidence = min(1.0, share + (0.2 if hint is kind else 0.0))
        evidence = f"{share:.0%} of sampled values match the {kind} pattern" + (
            " and validator" if kind in (PiiKind.PAYMENT_CARD, PiiKind.IBAN, PiiKind.PHONE) else ""
        )
        if hint is kind:
            evidence += "; the column name agrees"
        return Detection(kind, round(share, 4), round(confidence, 3), evidence, {})
    named = _names(values, hint)
    if named is not None:
        return named
    text = _text_stats(values)
    if text["mean_words"] >= 3 and text["mean_length"] >= 15:
        return _free_text(values, hint)
    if hint is PiiKind.PERSON_ID or id_like(column) or _share(values, HEX_ID_RE) >= ID_DISTINCT:
        return _identifier(column, values, hint)
    if hint is not None and hint not in (PiiKind.FREE_TEXT, PiiKind.PERSON_NAME):
        return Detection(hint, round(share, 4), 0.4, "the column name suggests it", {})
    return Detection(None, round(max(share, 0.0), 4), 0.0, "no pattern matched", {})


def _names(values: pl.Series, hint: PiiKind | None) -> Detection | None:
    """Person names: name-shaped values under a name-like column name, or "Last, First"."""
    if hint is PiiKind.PERSON_NAME:
        share = _share(values, NAME_RE)
        if share >= MATCH_SHARE:
            evidence = f"{share:.0%} of sampled values look like names; the column name agrees"
            return Detection(hint, round(share, 4), round(min(1.0, share), 3), evidence, {})
    share = _share(values, LAST_FIRST_RE)
    if share >= 0.8:
        evidence = f'{share:.0%} of sampled values are shaped "Last, First"'
        return Detection(PiiKind.PERSON_NAME, round(share, 4), round(share, 3), evidence, {})
    return None


def _identifier(column: str, values: pl.Series, hint: PiiKind | None) -> Detection:
    """A person id: named after a person, or (weakly) a nearly unique id or hex-shaped column.

    A weak id counts only in a table about people (`classify` decides).
    """
    distinct = values.n_unique() / values.len()
    if hint is PiiKind.PERSON_ID:
        return Detection(hint, 1.0, 0.8, "a key named after a person", {})
    if distinct < ID_DISTINCT:
        return Detection(None, 0.0, 0.0, "an id column shared by many rows", {})
    shape = "hex or uuid values" if _share(values, HEX_ID_RE) >= ID_DISTINCT else "an id column"
    evidence = f"{shape}, {distinct:.0%} of sampled values distinct"
    return Detection(PiiKind.PERSON_ID, round(distinct, 4), 0.4, evidence, {}, weak=True)


def _best_pattern(values: pl.Series, hint: PiiKind | None) -> tuple[PiiKind | None, float]:
    """The kind whose pattern (and validator) most values match, and their share."""
    best: tuple[PiiKind | None, float] = (None, 0.0)
    for candidate, test in _VALUE_TESTS:
        if candidate is PiiKind.POSTCODE and hint not in (None, PiiKind.POSTCODE):
            continue
        share = test(values)
        if share > best[1]:
            best = (candidate, share)
        if share >= 0.9:
            break
    kind, share = best
    # Five-digit codes are also order numbers: postcodes need the name or a share of letters
    # (and, without the name, a country column: see `classify`).
    if kind is PiiKind.POSTCODE and hint is not PiiKind.POSTCODE:
        lettered = _share(values.str.to_uppercase(), r"[A-Z]")
        if lettered < 0.2:
            return None, 0.0
    return kind, share


def _free_text(values: pl.Series, hint: PiiKind | None) -> Detection:
    """Free text: personal when it embeds PII or its name says so."""
    embedded = embedded_counts(values)
    if embedded or hint is PiiKind.FREE_TEXT:
        rows = sum(embedded.values())
        evidence = "free text" + (" with personal data embedded" if rows else "")
        if hint is PiiKind.FREE_TEXT:
            evidence += "; the column name agrees"
        conf = 0.9 if embedded else 0.6
        return Detection(PiiKind.FREE_TEXT, 0.0, conf, evidence, embedded)
    return Detection(None, 0.0, 0.0, "free text without personal data", {})


def detect_other(column: str, dtype: pl.DataType, stats: dict[str, object]) -> Detection:
    """Detect PII in a non-string column from its name and summary statistics."""
    hint = name_hint(column)
    if hint is PiiKind.DATE_OF_BIRTH and dtype in (pl.Date, pl.Datetime):
        return Detection(hint, 1.0, 0.9, "a date column named like a birth date", {})
    if hint is PiiKind.PERSON_ID and dtype.is_integer():
        return Detection(hint, 1.0, 0.8, "an integer key named after a person", {})
    if hint is None and dtype.is_integer() and id_like(column):
        return Detection(PiiKind.PERSON_ID, 1.0, 0.4, "an integer id column", {}, weak=True)
    if hint in (PiiKind.PHONE, PiiKind.PAYMENT_CARD, PiiKind.NATIONAL_ID) and dtype.is_integer():
        return Detection(hint, 0.0, 0.5, "a numeric column named like personal data", {})
    if dtype == pl.Date and isinstance(stats.get("birth_like"), float):
        share = float(stats["birth_like"])  # type: ignore[arg-type]
        if share >= 0.95 and hint is None:
            return Detection(
                PiiKind.DATE_OF_BIRTH, share, 0.5, "dates whose ages fall between 16 and 110", {}
            )
    return Detection(None, 0.0, 0.0, "", {})


def _text_stats(values: pl.Series) -> dict[str, float]:
    frame = pl.DataFrame({"v": values})
    row = frame.select(
        mean_length=pl.col("v").str.len_chars().mean(),
        mean_words=pl.col("v").str.count_matches(r"\S+").mean(),
    ).row(0, named=True)
    return {k: float(v or 0.0) for k, v in row.items()}


def embedded_counts(values: pl.Series) -> dict[str, int]:
    """Rows of free text holding an email, phone, card number or IBAN, by kind.

    A vectorised pattern picks candidate rows; validators (phonenumbers, Luhn, mod-97) confirm.
    """
    frame = pl.DataFrame({"v": values}).filter(pl.col("v").is_not_null())
    counts: dict[str, int] = {}
    email = frame.select(pl.col("v").str.contains(EMAIL_IN_TEXT).sum()).item()
    if email:
        counts[PiiKind.EMAIL.value] = int(email)

    def confirmed(pattern: str, check: Callable[[str], bool]) -> int:
        candidates = frame.filter(pl.col("v").str.contains(pattern))["v"]
        return sum(1 for text in candidates.to_list() if check(text))

    phones = confirmed(PHONE_IN_TEXT, text_has_phone)
    if phones:
        counts[PiiKind.PHONE.value] = phones
    cards = confirmed(CARD_IN_TEXT, lambda t: any(map(valid_card, re.findall(CARD_IN_TEXT, t))))
    if cards:
        counts[PiiKind.PAYMENT_CARD.value] = cards
    ibans = confirmed(
        IBAN_IN_TEXT, lambda t: any(map(valid_iban, re.findall(IBAN_IN_TEXT, t.upper())))
    )
    if ibans:
        counts[PiiKind.IBAN.value] = ibans
    return counts


def text_has_phone(text: str) -> bool:
    """True when free text holds a valid phone number that is not a card or an IBAN."""
    for match in phonenumbers.PhoneNumberMatcher(text, "GB"):
        raw = match.raw_string
        if valid_iban(raw) or valid_card(raw):
            continue
        if phonenumbers.is_valid_number(match.number):
            return True
    return False


def classify(
    dataset: str,
    detections: dict[str, Detection],
    declared: Dataset | None,
) -> tuple[list[PiiFinding], list[CatalogFinding]]:
    """Merge detection with the catalog: the catalog wins, every mismatch is a finding.

    Weak detections count only in context: an id in a table about people (one with names,
    e-mails, phones, birth dates or national ids), a postcode shape beside a country column.
    """
    detections = in_context(detections, declared)
    findings: list[PiiFinding] = []
    mismatches: list[CatalogFinding] = []
    for column, det in detections.items():
        spec = declared.columns.get(column) if declared is not None else None
        declared_kind = spec.pii if spec is not None else None
        declared_personal = spec is not None and spec.personal
        detected = det.kind is not None and det.confidence >= 0.5
        if declared_personal:
            kind = declared_kind.value if declared_kind else "personal"
            category = spec.category.value  # type: ignore[union-attr]
            agrees = detected and det.kind == declared_kind
            source = "both" if agrees else "declared"
            findings.append(
                PiiFinding(
                    dataset, column, kind, category, det.share, det.confidence,
                    det.evidence or "declared in the catalog", source, det.embedded,
                )
            )  # fmt: skip
            if declared_kind is not None and not detected and det.kind is None:
                mismatches.append(
                    CatalogFinding(
                        dataset, column, "declared_not_found",
                        f"declared {declared_kind} but no {declared_kind} values were found",
                    )
                )  # fmt: skip
            elif detected and declared_kind is not None and det.kind != declared_kind:
                mismatches.append(
                    CatalogFinding(
                        dataset, column, "kind_mismatch",
                        f"declared {declared_kind} but the values look like {det.kind}",
                    )
                )  # fmt: skip
        elif detected:
            assert det.kind is not None
            category = DEFAULT_CATEGORY[det.kind].value
            findings.append(
                PiiFinding(
                    dataset, column, det.kind.value, category, det.share, det.confidence,
                    det.evidence, "detected", det.embedded,
                )
            )  # fmt: skip
            if declared is not None:
                where = "declared non-personal" if spec is not None else "not declared"
                mismatches.append(
                    CatalogFinding(
                        dataset, column, "undeclared_pii",
                        f"holds {det.kind} data but is {where} in the catalog",
                    )
                )  # fmt: skip
    return findings, mismatches


def in_context(detections: dict[str, Detection], declared: Dataset | None) -> dict[str, Detection]:
    """Weak detections confirmed by the table around them; the others dropped to nothing."""
    kinds = {d.kind.value for d in detections.values() if d.kind and d.confidence >= 0.5}
    if declared is not None:
        kinds |= {s.pii.value for s in declared.columns.values() if s.pii is not None}
    people = bool(kinds & ABOUT_PEOPLE)
    country = any(re.search(r"(?i)country", c) for c in detections)
    out = {}
    for column, det in detections.items():
        if det.weak:
            agrees = people if det.kind is PiiKind.PERSON_ID else country
            why = "the table is about people" if people else "a country column gives context"
            det = (
                Detection(det.kind, det.share, 0.7, f"{det.evidence}; {why}", {})
                if agrees
                else Detection(None, det.share, 0.0, f"{det.evidence}; no context agrees", {})
            )
        out[column] = det
    return out


def raw_card_count(values: pl.Series) -> int:
    """How many values are raw (unmasked) card numbers: 13-19 digits passing Luhn.

    The digits may be grouped by whitespace, dashes or dots; a value with a single dot and
    digits only around it is a decimal number, not a card.

    >>> cards = ["4111.1111.1111.1111", "4111 1111 1111 1111", "4111-1111-1111-1111"]
    >>> not_cards = ["411111111111.1111", "4111.1111.1111.1112", "4111111111", None]
    >>> raw_card_count(pl.Series(cards + not_cards))
    3
    """
    values = values.drop_nulls()
    values = values.filter(~values.str.contains(DECIMAL))
    digits = values.str.replace_all(r"[\s.-]", "")
    candidates = digits.filter(digits.str.contains(r"^\d{13,19}$"))
    return sum(1 for value in candidates.to_list() if luhn.is_valid(value))
