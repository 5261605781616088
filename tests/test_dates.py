"""Dates and times as real exports write them: ISO 8601 variants, day-first and month-first."""

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govlib import catalog, sources
from govlib.errors import SourceError


def _one(values: list[str | None]) -> pl.Series:
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    return frame.select(sources.iso_datetime(pl.col("v"))).to_series()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-01-01T01:31:03Z", datetime(2015, 1, 1, 1, 31, 3)),
        ("2016-01-04 11:00", datetime(2016, 1, 4, 11, 0)),
        ("2016-01-04T11:00", datetime(2016, 1, 4, 11, 0)),
        ("2013-10-01 22:20:10.165196", datetime(2013, 10, 1, 22, 20, 10, 165196)),
        ("2013-10-01T22:20:10,5", datetime(2013, 10, 1, 22, 20, 10, 500000)),
        ("2020-06-01T10:00:00+02:00", datetime(2020, 6, 1, 8, 0)),
        ("2020-06-01 10:00+0200", datetime(2020, 6, 1, 8, 0)),
        ("2020-06-01T10:00-01:30", datetime(2020, 6, 1, 11, 30)),
        ("2020-06-01T00:30:00+02", datetime(2020, 5, 31, 22, 30)),
        ("2020-06-01T10:00:00z", datetime(2020, 6, 1, 10, 0)),
    ],
)
def test_iso_datetimes_parse_and_offsets_become_utc(text, expected):
    assert _one([text]).to_list() == [expected]


@pytest.mark.parametrize(
    "text", ["2020-06-01", "01/06/2020 10:00", "2020-13-01 10:00", "2020-06-01T25:00", "soon"]
)
def test_what_is_not_an_iso_datetime_is_null(text):
    assert _one([text]).to_list() == [None]


def _infer(values: list[str | None]) -> sources.Inferred:
    return sources.infer_types(pl.DataFrame({"v": values}, schema={"v": pl.String}))["v"]


@pytest.mark.parametrize(
    ("values", "kind", "fmt"),
    [
        (["2015-01-01T01:31:03Z", "2016-01-04 11:00"], "datetime", None),
        (["2013-10-01 22:20:10.165196", "2020-06-01T10:00+02:00"], "datetime", None),
        (["2020-12-31", "2021-01-01"], "date", None),
        (["31/12/2020", "01/02/2020"], "date", "%d/%m/%Y"),
        (["12/31/2020", "01/02/2020"], "date", "%m/%d/%Y"),
        (["31.12.2020", "1.2.2021"], "date", "%d.%m.%Y"),
        (["2020/12/31", "2021/01/02"], "date", "%Y/%m/%d"),
        (["31/12/2020 23:59", "01/02/2020 00:00"], "datetime", "%d/%m/%Y %H:%M"),
        (["12-31-2020 23:59:59", "N/A"], "datetime", "%m-%d-%Y %H:%M:%S"),
    ],
)
def test_inference_finds_the_type_and_the_format(values, kind, fmt):
    found = _infer(values)
    assert (found.type, found.format, found.note) == (kind, fmt, "")


def test_an_open_day_month_order_stays_text_and_says_which_formats_fit():
    found = _infer(["01/02/2020", "03/04/2020", None])
    assert (found.type, found.format) == ("string", None)
    assert found.note == (
        "holds dates whose day and month order is open (no part is above 12); read as text. "
        "Declare type: date with format: '%d/%m/%Y' (day first) or '%m/%d/%Y' (month first)"
    )


def test_sentinels_in_a_date_column_are_named():
    found = _infer(["31/12/2020", "N/A", "-", "N/A"])
    assert (found.type, found.format, found.sentinels, found.sentinel_count) == (
        "date",
        "%d/%m/%Y",
        ("-", "N/A"),
        3,
    )


def test_two_digit_years_are_not_taken_for_dates():
    assert _infer(["31/12/20", "01/01/21"]).type == "string"


def _declared(tmp_path: Path, kind: str, fmt: str | None, rows: list[str]) -> catalog.Dataset:
    (tmp_path / "t.csv").write_text("id,at\n" + "".join(f"{i},{v}\n" for i, v in enumerate(rows)))
    column = {"type": kind} | ({"format": fmt} if fmt else {})
    cat = tmp_path / "catalog.yaml"
    import yaml

    cat.write_text(
        yaml.safe_dump(
            {
                "datasets": {
                    "t": {
                        "source": {"path": "t.csv"},
                        "owner": "o",
                        "steward": "s",
                        "purpose": "p",
                        "lawful_basis": "contract",
                        "columns": {"id": {"type": "int64"}, "at": column},
                    }
                }
            }
        )
    )
    return catalog.load(cat).dataset("t")


def test_a_declared_datetime_reads_every_iso_form(tmp_path):
    rows = ["2015-01-01T01:31:03Z", "2016-01-04 11:00", "2013-10-01 22:20:10.165196"]
    frame = sources.scan(_declared(tmp_path, "datetime", None, rows)).collect()
    assert frame["at"].to_list() == [
        datetime(2015, 1, 1, 1, 31, 3),
        datetime(2016, 1, 4, 11, 0),
        datetime(2013, 10, 1, 22, 20, 10, 165196),
    ]


def test_a_declared_format_reads_day_first_dates(tmp_path):
    frame = sources.scan(_declared(tmp_path, "date", "%d/%m/%Y", ["01/02/2020"])).collect()
    assert frame["at"].to_list() == [date(2020, 2, 1)]


def test_a_declared_format_with_an_offset_becomes_utc(tmp_path):
    ds = _declared(tmp_path, "datetime", "%d/%m/%Y %H:%M%z", ["01/02/2020 10:00+0200"])
    assert sources.scan(ds).collect()["at"].to_list() == [datetime(2020, 2, 1, 8, 0)]


def test_a_failing_datetime_names_the_formats_tried_and_the_shapes_only(tmp_path):
    rows = ["2015-01-01T01:31:03Z", "31/12/2020 10:00", "31/12/2020 11:00", "Jan 5th"]
    ds = _declared(tmp_path, "datetime", None, rows)
    with pytest.raises(SourceError) as info:
        sources.scan(ds)
    message = str(info.value)
    assert "column 'at': 3 values are not valid datetime (first at line 3)" in message
    assert "tried ISO 8601 (YYYY-MM-DD, T or a space, HH:MM, optional :SS and fraction" in message
    assert "failing values are shaped 99/99/9999 99:99 (2), Aa 9a (1)" in message
    assert "format: '%d/%m/%Y %H:%M'" in message
    assert "31/12" not in message
    assert "Jan" not in message


def test_a_failing_declared_format_is_named(tmp_path):
    ds = _declared(tmp_path, "date", "%m/%d/%Y", ["12/31/2020", "31/12/2020"])
    with pytest.raises(SourceError, match=r"tried the declared format '%m/%d/%Y'; failing .*"):
        sources.scan(ds)


def test_an_adhoc_file_with_ambiguous_dates_loads_them_as_text_with_a_warning(tmp_path):
    (tmp_path / "t.csv").write_text("at,on\n01/02/2020,31/12/2020\n03/04/2020,01/01/2021\n")
    loaded = sources.load(tmp_path / "t.csv", data_root=tmp_path)
    assert loaded.frame.collect_schema() == pl.Schema({"at": pl.String, "on": pl.Date})
    assert loaded.report.inferred["on"].format == "%d/%m/%Y"
    [warning] = loaded.report.warnings
    assert warning.endswith("column 1 (shaped a) holds dates whose day and month order is open "
                            "(no part is above 12); read as text. Declare type: date with format: "
                            "'%d/%m/%Y' (day first) or '%m/%d/%Y' (month first)")  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S.%fZ"]),
)
def test_any_iso_datetime_round_trips(moments, fmt):
    texts = [m.strftime(fmt) for m in moments]
    expected = [datetime.strptime(t.removesuffix("Z"), fmt.removesuffix("Z")) for t in texts]
    assert _one(texts).to_list() == expected
    assert _infer(texts).type == "datetime"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)), min_size=1),
    st.sampled_from(["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y"]),
)
def test_day_month_order_is_inferred_only_when_the_values_settle_it(days, fmt):
    found = _infer([d.strftime(fmt) for d in days])
    settled = any(d.day > 12 for d in days)  # no month is above 12
    if settled:
        assert (found.type, found.format) == ("date", fmt)
    else:
        assert found.type == "string"
        assert "day and month order is open" in found.note
