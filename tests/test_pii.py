"""PII detection on real identifiers: ids in tables about people, names, postcodes in context."""

from datetime import date

import polars as pl
import pytest

from govlib import pii
from govlib.catalog import PiiKind
from govlib.profiling import profile

AS_OF = date(2025, 1, 31)


def _detected(frame: dict) -> dict[str, str]:
    p = profile(pl.LazyFrame(frame), dataset="t", as_of=AS_OF)
    return {f.column: f.kind for f in p.pii}


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("nameFirst", PiiKind.PERSON_NAME),
        ("nameLast", PiiKind.PERSON_NAME),
        ("nameGiven", PiiKind.PERSON_NAME),
        ("middle_name", PiiKind.PERSON_NAME),
        ("playerID", PiiKind.PERSON_ID),
        ("passenger_id", PiiKind.PERSON_ID),
        ("customerId", PiiKind.PERSON_ID),
        ("nameplate", None),
        ("team_name", None),
    ],
)
def test_name_hints_read_camel_case(column, kind):
    assert pii.name_hint(column) is kind


@pytest.mark.parametrize(
    ("column", "expected"),
    [("ID", True), ("id", True), ("bbrefID", True), ("user_id", True), ("retroId", True),
     ("order_id", False), ("yearID", False), ("teamID", False), ("Idaho", False), ("paid", False)],
)  # fmt: skip
def test_id_like_names(column, expected):
    assert pii.id_like(column) is expected


@pytest.mark.parametrize(
    "value",
    ["Cesar A.", "Jose L.", "Dennis Ray", "Abbott, John Joseph Caldwell",
     "Allen, Miss. Elisabeth Walton", "Brown, Mrs. James Joseph (Margaret Tobin)", "O'Brien",
     "Anne-Marie"],
)  # fmt: skip
def test_real_name_shapes_pass(value):
    assert pii._share(pl.Series([value]), pii.NAME_RE) == 1.0


def test_last_first_names_are_found_without_a_name_column():
    names = ["Macdonald, John Alexander", "Laurier, Wilfrid", "Trudeau, Pierre Elliott"] * 4
    towns = ["St Louis, MO", "New York, NY", "Belfast, NI"] * 4
    assert _detected({"advised_by": names, "home": towns}) == {"advised_by": "person_name"}


def test_ids_identify_people_only_in_a_table_about_people():
    hexes = [f"{i:032x}" for i in range(7_000_000, 7_000_040)]
    people = {
        "customer_unique_id": hexes,
        "ID": list(range(40)),
        "order_id": list(range(40)),
        "bbrefID": [f"smithjo{i:02d}" for i in range(40)],
        "email": [f"p{i}@example.org" for i in range(40)],
    }
    assert _detected(people) == {
        "customer_unique_id": "person_id",
        "ID": "person_id",
        "bbrefID": "person_id",
        "email": "email",
    }
    things = {k: v for k, v in people.items() if k != "email"}
    assert _detected(things) == {}  # no person in the table: ids of things
    shared = {**people, "bbrefID": ["smithjo01"] * 40}
    assert "bbrefID" not in _detected(shared)  # an id every row shares is no person's


def test_tail_numbers_are_not_postcodes_without_a_country_or_the_name():
    tails = ["N516JB", "N3ALAA", "N14228", "N24211", "N619AA", "N804JB"] * 5
    assert _detected({"tailnum": tails}) == {}
    postcodes = ["SW1A 1AA", "N1 9GU", "EC1A 1BB", "M1 1AE", "B33 8TH", "CR2 6XH"] * 5
    assert _detected({"code": postcodes, "country": ["GB"] * 30}) == {"code": "postcode"}
    assert _detected({"code": postcodes}) == {}
    assert _detected({"postcode": postcodes}) == {"postcode": "postcode"}


def test_iso_dates_as_text_are_not_phone_numbers():
    assert _detected({"death_date": ["1992-04-30", "1992-05-01", "1992-04-29"] * 10}) == {}
