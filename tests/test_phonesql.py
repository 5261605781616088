"""The database's phone decisions (`govlib.quality.phonesql`) against `phonenumbers` itself.

Every region's example number of every type, written in E.164, international and national
format and with single digits changed, added or dropped, in every region's calling code, and
nationally with and without the national prefix, after what the region strips as one, and cut
short: where the database decides a number (valid, and its spelling parses to the candidate; or
invalid, and its spelling parses to it whatever it is), `identity.phone_key` of the row must
say the same.
"""

import random
from urllib.parse import unquote, urlsplit

import ibis
import phonenumbers
import polars as pl
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from govlib import identity
from govlib.quality import phonesql
from govlib.quality.rules import phone_candidate

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
                rows.append((phone, region, True))
            rows.append(("00" + digits, region, True))
            rows.extend((phone, region, True) for phone in nationally(example, region, rng))
            # read as national by the library: what precedes a `+` or splits a `00` counts, an
            # unknown country gives no region, and no text longer than 250 characters parses
            for phone in (f"({international})", "-" + e164, "0-0" + digits, "(00)" + digits):
                rows.extend((phone, where, False) for where in (region, "Atlantis", None))
            rows.append((e164[:3] + " " * 250 + e164[3:], region, False))
    frame = pl.DataFrame(rows, schema=["phone", "country", "plain"], orient="row", strict=False)
    return frame.unique(["phone", "country"], maintain_order=True)


def nationally(example, region: str, rng: random.Random) -> list[str]:
    """National spellings of `example` that are and are not what the region writes."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    nsn = phonenumbers.national_significant_number(example)
    prefix = meta.national_prefix or ""
    stripped = (meta.national_prefix_for_parsing or "").split("|")
    i = rng.randrange(len(nsn))
    changed = nsn[:i] + str(rng.randrange(10)) + nsn[i + 1 :]
    return [
        nsn, nsn[-5:], nsn[:-1], nsn + "3", prefix + changed, prefix + nsn[-4:],
        *(a + nsn for a in stripped if a.isdigit()),
    ]  # fmt: skip


def candidates(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with each row's candidate and compact form (computed once, by DuckDB)."""
    t = ibis.memtable(frame.to_arrow())
    names = frame["country"].unique().to_list()
    cand = phone_candidate(t.phone, t.country, names, "duckdb")
    done = ibis.duckdb.connect().to_pyarrow(t.mutate(cand=cand))
    return pl.from_arrow(done).filter(pl.col("cand").str.contains("^[+][0-9]+$"))


def check(con, table, frame: pl.DataFrame, backend: str) -> int:
    """Rows the database decides, each checked against `identity.phone_key`."""
    names = frame["country"].drop_nulls().unique().to_list()
    regions = {n: identity.region(n) for n in names}
    regions = {n: r for n, r in regions.items() if r}
    valid, if_valid, always = phonesql.spelled(
        table.cand, table.phone, table.country, regions, backend
    )
    expr = table.select(table.phone, table.country, table.cand, table.plain, valid=valid,
                        if_valid=if_valid, always=always)  # fmt: skip
    decided = invalid = 0
    for row in con.to_pyarrow(expr).to_pylist():
        key = identity.phone_key(row["phone"], row["country"])
        if row["always"]:
            assert row["if_valid"], row
        if row["valid"] and row["if_valid"]:
            decided += row["plain"]
            assert key == row["cand"], row
        elif not row["valid"] and row["always"]:
            decided += row["plain"]
            invalid += row["plain"]
            assert key is None, row
    assert invalid > 0.2 * decided  # the spellings' invalid numbers are decided too
    return decided


def test_duckdb_decides_phones_as_phonenumbers_does():
    frame = candidates(spellings())
    con = ibis.duckdb.connect()
    decided = check(con, ibis.memtable(frame.to_arrow()), frame, "duckdb")
    assert frame["plain"].sum() > 7000
    assert decided > 0.8 * frame["plain"].sum()  # most plain spellings are decided in the database


def test_postgres_decides_phones_as_phonenumbers_does(pg_schema):  # noqa: F811
    import psycopg

    url = pg.postgres_url()
    # every fourth spelling, every region's: PostgreSQL's regular expressions take 3 ms a row
    # here, where invalid numbers walk every region of a shared calling code (DuckDB takes all)
    frame = candidates(spellings()).gather_every(4)
    with psycopg.connect(url, autocommit=True) as raw, raw.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {pg_schema}.phones (phone text, country text, plain boolean, cand text)"
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
    assert decided > 0.8 * frame["plain"].sum()
