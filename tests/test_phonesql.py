"""The database's phone decisions (`govlib.quality.phonesql`) against `phonenumbers` itself.

Every region's example number of every type, written in E.164, international and national
format and with single digits changed, added or dropped, in every region's calling code: where
the database decides a number (valid, and its spelling parses to the candidate; or invalid and
spelled internationally), `identity.phone_key` of the row must say the same.
"""

import random
from urllib.parse import unquote, urlsplit

import ibis
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from govlib import identity
from govlib.quality import phonesql
from govlib.quality.rules import _compact, phone_candidate

from . import pg
from .pg import pg_schema  # noqa: F401 (fixture)


def spellings() -> pl.DataFrame:
    rng = random.Random(20250131)
    rows = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonesql.TYPES:
            example = phonenumbers.example_number_for_type(
                region, getattr(PhoneNumberType, kind.upper())
            )
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            digits = e164[1:]
            i = rng.randrange(1, len(digits))
            changed = [
                digits[:i] + str(rng.randrange(10)) + digits[i + 1 :],
                digits[:-1],
                digits + "7",
            ]
            national = phonenumbers.format_number(example, PhoneNumberFormat.NATIONAL)
            international = phonenumbers.format_number(example, PhoneNumberFormat.INTERNATIONAL)
            for phone in (e164, international, national, *("+" + d for d in changed)):
                rows.append((phone, region))
            rows.append(("00" + digits, region))
    return pl.DataFrame(rows, schema=["phone", "country"], orient="row").unique(maintain_order=True)


def candidates(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with each row's candidate and compact form (computed once, by DuckDB)."""
    t = ibis.memtable(frame.to_arrow())
    names = frame["country"].unique().to_list()
    cand = phone_candidate(t.phone, t.country, names, "duckdb")
    done = ibis.duckdb.connect().to_pyarrow(t.mutate(cand=cand, compact=_compact(t.phone)))
    return pl.from_arrow(done).filter(pl.col("cand").str.contains("^[+][0-9]+$"))


def check(con, table, frame: pl.DataFrame, backend: str) -> int:
    """Rows the database decides, each checked against `identity.phone_key`."""
    regions = {n: identity.region(n) for n in frame["country"].unique().to_list()}
    regions = {n: r for n, r in regions.items() if r}
    codes = sorted({phonesql.calling_code_of(r) for r in regions.values()} - {None})
    simple = phonesql.simple_regions(regions)
    intl = table.compact.startswith("+") | table.compact.startswith("00")
    national = phonesql.exact_national(table.compact, table.country, simple, backend)
    expr = table.select(
        table.phone, table.country, table.cand, intl=intl,
        valid=phonesql.valid(table.cand, codes, backend),
        exact=intl.ifelse(phonesql.exact_international(table.cand, codes, backend), national),
    )  # fmt: skip
    decided = 0
    for row in con.to_pyarrow(expr).to_pylist():
        key = identity.phone_key(row["phone"], row["country"])
        if row["valid"] and row["exact"]:
            decided += 1
            assert key == row["cand"], row
        elif not row["valid"] and row["intl"] and row["exact"]:
            decided += 1
            assert key is None, row
    return decided


def test_duckdb_decides_phones_as_phonenumbers_does():
    frame = candidates(spellings())
    con = ibis.duckdb.connect()
    decided = check(con, ibis.memtable(frame.to_arrow()), frame, "duckdb")
    assert frame.height > 7000
    assert decided > 0.8 * frame.height  # most spellings are decided in the database


def test_postgres_decides_phones_as_phonenumbers_does(pg_schema):  # noqa: F811
    import psycopg

    url = pg.postgres_url()
    frame = candidates(spellings())
    with psycopg.connect(url, autocommit=True) as raw, raw.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {pg_schema}.phones (phone text, country text, cand text, compact text)"
        )
        with cur.copy(f"COPY {pg_schema}.phones FROM STDIN") as cp:
            for row in frame.iter_rows():
                cp.write_row(row)
    parts = urlsplit(url)
    con = ibis.postgres.connect(
        host=parts.hostname, port=parts.port or 5432, user=unquote(parts.username or ""),
        password=unquote(parts.password or ""), database=parts.path.lstrip("/"),
    )  # fmt: skip
    try:
        decided = check(con, con.table("phones", database=pg_schema), frame, "postgres")
    finally:
        con.disconnect()
    assert decided > 0.8 * frame.height
