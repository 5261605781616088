"""Plausible identity fields: phones, postcodes, IBANs, and their reformatting."""

from __future__ import annotations

import unicodedata

import numpy as np
import polars as pl
from stdnum import iban as stdnum_iban

from govlib.sampledata.vocabulary import COUNTRY_CODES, IBAN_BANKS


def phones(rng: np.random.Generator, country: pl.Series, n: int) -> pl.Series:
    """Unique, valid phone numbers for each row's country, in mixed formats."""
    unique = (np.arange(n, dtype=np.int64) * 7_654_321 + 1_234_567) % 8_000_000
    df = pl.DataFrame(
        {
            "country": country,
            "u7": pl.Series(unique).cast(pl.String).str.zfill(7),
            "us7": pl.Series(unique + 2_000_000).cast(pl.String),
            "style": rng.integers(0, 3, n),
        }
    )
    c, u = pl.col("country"), pl.col("u7")
    nat = (
        pl.when(c == "GB")
        .then(pl.lit("741") + u)
        .when(c == "DE")
        .then(pl.lit("1512") + u)
        .when(c == "US")
        .then(pl.lit("212") + pl.col("us7"))
        .when(c == "IE")
        .then(pl.lit("87") + u)
        .otherwise(pl.lit("61") + u)  # FR and NL mobiles
    )
    code = pl.col("country").replace_strict(COUNTRY_CODES)
    s = pl.col("nat").str.slice
    intl = (
        pl.when(c == "GB")
        .then(pl.format("+44 {} {}", s(0, 4), s(4)))
        .when(c == "DE")
        .then(pl.format("+49 {} {}", s(0, 3), s(3)))
        .when(c == "FR")
        .then(pl.format("+33 {} {} {} {} {}", s(0, 1), s(1, 2), s(3, 2), s(5, 2), s(7, 2)))
        .when(c == "NL")
        .then(pl.format("+31 {} {}", s(0, 1), s(1)))
        .when(c == "US")
        .then(pl.format("+1 {}-{}-{}", s(0, 3), s(3, 3), s(6)))
        .otherwise(pl.format("+353 {} {} {}", s(0, 2), s(2, 3), s(5)))
    )
    national = (
        pl.when(c == "US")
        .then(pl.format("({}) {}-{}", s(0, 3), s(3, 3), s(6)))
        .when(c == "FR")
        .then(pl.format("0{} {} {} {} {}", s(0, 1), s(1, 2), s(3, 2), s(5, 2), s(7, 2)))
        .otherwise(pl.format("0{} {}", s(0, 3), s(3)))
    )
    e164 = pl.format("+{}{}", code, pl.col("nat"))
    return (
        df.with_columns(nat=nat)
        .select(
            pl.when(pl.col("style") == 0)
            .then(intl)
            .when(pl.col("style") == 1)
            .then(national)
            .otherwise(e164)
            .alias("phone")
        )
        .to_series()
    )


def postcodes(rng: np.random.Generator, country: pl.Series) -> pl.Series:
    """Plausible postcodes in each country's format."""
    n = len(country)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    areas = np.array(["SW", "N", "E", "M", "B", "LS", "EH", "G", "CF", "BS", "NW", "SE"])
    df = pl.DataFrame(
        {
            "country": country,
            "area": areas[rng.integers(0, len(areas), n)],
            "district": rng.integers(1, 20, n),
            "sector": rng.integers(0, 10, n),
            "l1": letters[rng.integers(0, len(letters), n)],
            "l2": letters[rng.integers(0, len(letters), n)],
            "five": pl.Series(rng.integers(1000, 99999, n)).cast(pl.String).str.zfill(5),
            "four": rng.integers(1000, 9999, n),
            "three": pl.Series(rng.integers(0, 999, n)).cast(pl.String).str.zfill(3),
        }
    )
    c = pl.col("country")
    return df.select(
        pl.when(c == "GB")
        .then(pl.format("{}{} {}{}{}", "area", "district", "sector", "l1", "l2"))
        .when(c == "NL")
        .then(pl.format("{} {}{}", "four", "l1", "l2"))
        .when(c == "IE")
        .then(pl.format("D{} {}{}", pl.col("district").cast(pl.String).str.zfill(2), "l1", "three"))
        .otherwise(pl.col("five"))
        .alias("postcode")
    ).to_series()


def ibans(rng: np.random.Generator, count: int) -> list[str]:
    """Valid IBANs (mod-97 check digits) from a few countries, some grouped in fours."""
    out = []
    for i in range(count):
        country = ["GB", "DE", "NL"][i % 3]
        bank, sort_len, acct_len = IBAN_BANKS[country]
        digits = "".join(map(str, rng.integers(0, 10, sort_len + acct_len)))
        bban = bank + digits
        check = stdnum_iban.calc_check_digits(country + "00" + bban)
        number = f"{country}{check}{bban}"
        out.append(
            " ".join(number[j : j + 4] for j in range(0, len(number), 4)) if i % 2 else number
        )
    return out


def international(phone: str, country: str) -> str:
    """`phone` in the international format, read as a number of `country`."""
    import phonenumbers

    number = phonenumbers.parse(phone, country)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def ascii_name(name: str) -> str:
    """`name` in lower-case ASCII letters and digits, as an email's local part uses it."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed if ch.isalnum()).lower()


def reformat_same_phone(phone: pl.Series, country: pl.Series) -> pl.Series:
    """The same number in another format: E.164 becomes spaced, anything else becomes E.164."""
    code = country.replace_strict(COUNTRY_CODES)
    df = pl.DataFrame({"phone": phone, "code": code})
    digits = pl.col("phone").str.replace_all(r"[^0-9+]", "")
    national = (
        pl.when(digits.str.starts_with("+"))
        .then(digits.str.slice(1).str.slice(pl.col("code").str.len_chars()))
        .when(pl.col("code") == "1")
        .then(digits)
        .otherwise(digits.str.slice(1))
    )
    return df.select(
        pl.when(pl.col("phone").str.contains(" "))
        .then(pl.format("+{}{}", "code", national))
        .otherwise(pl.format("+{} {}", "code", national))
        .alias("phone")
    ).to_series()
