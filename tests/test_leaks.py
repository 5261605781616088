import hashlib
import json
import time
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib import catalog, privacy, reports
from govlib.privacy import LeakError

CARD_ID = 6011111111111117
SURNAME = "Kowalczyk"
BIRTH = date(1961, 4, 23)
POSTCODE = "LS3 6SS"
NOTE = "Diabetic, insulin twice daily; ask before calling"
KIN_PHONE = "07700 900123"


def people() -> pl.DataFrame:
    """Ten people; row 0 carries the values the tests look for."""
    return pl.DataFrame(
        {
            "person_id": list(range(1, 11)),
            "first_name": ["Wilhelmina", *["Ada"] * 9],
            "last_name": [SURNAME, *["Young"] * 9],
            "born": [BIRTH, *[date(1990, 1, 1)] * 9],
            "postcode": [POSTCODE, *["M1 1AE"] * 9],
            "card_id": [CARD_ID, *range(2, 11)],
            "info": [NOTE] * 5 + [None] * 5,
            "kin_phone": [KIN_PHONE, *[None] * 9],
            "status": ["active"] * 10,
            "tier": [1, 2, 3, 1, 2, 3, 1, 2, 3, 1],
        }
    )


DECLARED = {
    "person_id": {"type": "int64", "pii": "person_id"},
    "first_name": {"type": "string", "pii": "person_name"},
    "last_name": {"type": "string", "pii": "person_name"},
    "born": {"type": "date", "pii": "date_of_birth"},
    "postcode": {"type": "string", "pii": "postcode"},
    "status": {"type": "string"},
    "tier": {"type": "int64"},
}  # card_id, info and kin_phone are undeclared


def project(root: Path, purpose: str = "Run the club.", broken: bool = False) -> Path:
    """A catalog of `people` and `things` (and an unreadable `broken`) in `root`."""
    (root / "data").mkdir(parents=True)
    people().write_csv(root / "data" / "people.csv")
    pl.DataFrame({"thing_id": [1, 2, 3], "colour": ["red", "red", "blue"]}).write_csv(
        root / "data" / "things.csv"
    )
    base = {"owner": "o", "steward": "s", "lawful_basis": "contract"}
    datasets = {
        "people": {"source": {"path": "people.csv"}, "purpose": purpose, **base,
                   "columns": DECLARED},
        "things": {"source": {"path": "things.csv"}, "purpose": "Count things.", **base,
                   "columns": {"thing_id": {"type": "int64"}, "colour": {"type": "string"}}},
    }  # fmt: skip
    if broken:
        (root / "data" / "broken.csv").write_bytes(b"PK\x03\x04\x00\x00garbage")
        datasets["broken"] = {"source": {"path": "broken.csv"}, "purpose": "p", **base,
                              "columns": {"a": {"type": "string"}}}  # fmt: skip
    path = root / "catalog.yaml"
    path.write_text(yaml.safe_dump({"data_root": "data", "datasets": datasets}, sort_keys=False))
    return path


@pytest.fixture
def guard(tmp_path) -> privacy.LeakScanner:
    cat = catalog.load(project(tmp_path / "p"))
    return privacy.LeakScanner.from_frames(cat, {"people": people()})


# -- what the scanner guards -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f'"max": {CARD_ID}',
        f'"max": {float(CARD_ID)}',  # 6011111111111117.0
        '"q99": 6.011111111111117e+15',
        "id 6011 1111 1111 1117 on file",
    ],
)
def test_an_undeclared_int_id_is_found_in_every_numeric_rendering(guard, text):
    assert guard.scan(text) == {"value of people column 6 (undeclared)": 1}


@pytest.mark.parametrize(
    "text",
    ["born 1961-04-23", "born 23/04/1961", "on 1961-04-23T00:00:00", "23 April 1961",
     "April 23, 1961", "19610423"],
)  # fmt: skip
def test_a_date_of_birth_is_found_in_common_renderings(guard, text):
    assert guard.scan(text) == {"value of people.born": 1}


def test_a_surname_alone_is_found_but_one_that_is_a_common_word_is_not(guard):
    assert guard.scan(f"<td>{SURNAME.upper()}</td>") == {"value of people.last_name": 1}
    assert guard.scan("young customers churn less") == {}  # "Young" is a surname here too
    assert guard.scan("Ada Young") == {"value of people full names": 1}


def test_a_note_repeated_five_times_in_an_undeclared_column_is_found(guard):
    found = guard.scan(f'{{"top": [{{"value": "{NOTE}", "count": 5}}]}}')
    assert found == {"value of people column 7 (undeclared)": 1}


def test_a_national_format_phone_is_found_in_international_format(guard):
    assert guard.scan("next of kin: +44 7700 900123") == {
        "value of people column 8 (undeclared)": 1
    }


def test_plain_hashes_of_a_name_are_found(guard):
    for algorithm in ("md5", "sha1", "sha256"):
        digest = hashlib.new(algorithm, SURNAME.encode()).hexdigest()
        assert guard.scan(f"key: {digest}") == {"value of people.last_name": 1}, algorithm


def test_short_common_and_small_values_are_not_guarded(guard):
    text = "10 rows, 10 active, tier 1 to 3, 5 notes, true, 2025-01-31, postcode M1 1AE x9"
    assert guard.scan(text) == {"value of people.postcode": 1}
    assert guard.scan(text.replace("M1 1AE", "M1 2AE")) == {}


def test_values_inside_json_strings_and_html_are_found(guard):
    assert guard.scan(json.dumps({"text": [f"line\n{SURNAME}\n"]})) != {}
    assert guard.scan("Mr&nbsp;K&#111;walczyk") == {"value of people.last_name": 1}


def test_a_purpose_naming_a_surname_birth_date_and_postcode_is_found(tmp_path):
    purpose = f"Follow up Mrs {SURNAME} (born 23.04.1961) at {POSTCODE.replace(' ', '')}."
    cat = catalog.load(project(tmp_path, purpose=purpose))
    scanner = privacy.LeakScanner.from_frames(cat, {"people": people()})
    assert scanner.check_catalog(cat) == ["dataset 'people', key 'purpose'"]
    assert scanner.scan(purpose) == {
        "value of people.born": 1, "value of people.last_name": 1, "value of people.postcode": 1
    }  # fmt: skip


def test_a_refusal_names_the_column_and_quotes_no_value(guard, tmp_path):
    target = tmp_path / "r.html"
    text = f"<p>{SURNAME} {CARD_ID}.0 {NOTE}</p>"
    with pytest.raises(LeakError, match=r"people\.last_name") as info:
        reports.publish({target: text}, guard)
    assert not target.exists()
    for value in (SURNAME, str(CARD_ID), "Diabetic", "insulin"):
        assert value.lower() not in str(info.value).lower()


def test_the_sample_scanner_is_quick_and_passes_aggregates(sample_catalog, frames):
    privacy.LeakScanner.from_frames(sample_catalog, frames)  # warm the page template
    started = time.perf_counter()
    scanner = privacy.LeakScanner.from_frames(sample_catalog, frames)
    built = time.perf_counter() - started
    aggregates = "<td>3,045</td><td>30 null emails</td><td>j***@e***.com</td><td>Aa9@a.a</td>"
    page = aggregates * 20_000  # 1.4 MB
    started = time.perf_counter()
    assert scanner.scan(page) == {}
    scanned = time.perf_counter() - started
    assert (built < 10, scanned < 5) == (True, True), (built, scanned)
    surname = frames["customers"]["last_name"].drop_nulls()[0]
    assert scanner.scan(page + surname) != {}
