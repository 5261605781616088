"""The compiled engine against Great Expectations itself, on generated frames and kwargs.

Each example builds a small frame (nulls, NaN, infinities, empty and one-row frames, Unicode and
emoji, mixed case, huge and tiny numbers, dates, naive and zoned datetimes) and one entry per
supported expectation type with generated kwargs, runs the suite through GX (pandas, as
`quality.run_gx` does) and through the compiler on polars and on DuckDB, and requires the same
success, element, unexpected and missing counts and observed values (floats within
`REL_TOL`). A check that cannot run must be an error on both sides.

Deliberate deviations, each tested below by name:
- integers beyond 2**53 in a column with nulls: pandas holds that column as float64 and compares
  rounded values; the engine compares the integers exactly;
- the minimum or maximum of a date or time column with no values: GX reports the text "NaT",
  the engine None (success is false on both);
- the standard deviation of floats whose squares overflow (beyond 1e154): pandas may report
  inf where the backends report no value, so such frames are not compared for that check;
- entries left to GX: regexes with word or boundary classes or inline flags, value sets
  mixing types, float uniqueness, row conditions across types (see `govlib.engine`).
"""

from __future__ import annotations

import json
import math
import warnings
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from govlib.engine import parameters
from govlib.engine.backends import open_frame
from govlib.engine.run import SUPPORTED, run_suite
from govlib.engine.schemas import schema
from govlib.quality import EMAIL_REGEX, PHONE_REGEX, suite_checks
from govlib.quality.gx import gx_suite, run_gx
from govlib.quality.suites import kwargs_problem

AS_OF = date(2025, 1, 31)
REL_TOL = 1e-9
PATH = Path("generated.json")
EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # shrinking a whole suite takes minutes
)

UNICODE = ["ß", "İ", "😀", "٣", "中", "\u2003", "\x1c", "\n"]
TEXT = st.text(alphabet=st.sampled_from([*"aAbBzZ09 _-.@é()+", *UNICODE]), max_size=8)
INTS = st.integers(min_value=-(2**53), max_value=2**53)
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 1.5, 1e300, -1e-300, 5e-324]),
    st.integers(-5, 5).map(float),
)
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1))
TIMES = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))


def _column(values: st.SearchStrategy[Any], rows: int) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows)


@st.composite
def frames(draw: st.DrawFn) -> pl.DataFrame:
    rows = draw(st.integers(min_value=0, max_value=7))
    zoned = [t.replace(tzinfo=UTC) if t else None for t in draw(_column(TIMES, rows))]
    return pl.DataFrame(
        {
            "i": pl.Series(draw(_column(st.integers(-3, 3), rows)), dtype=pl.Int64),
            "j": pl.Series(draw(_column(INTS, rows)), dtype=pl.Int64),
            "f": pl.Series(draw(_column(FLOATS, rows)), dtype=pl.Float64),
            "s": pl.Series(draw(_column(TEXT, rows)), dtype=pl.String),
            "s2": pl.Series(
                draw(_column(st.sampled_from(["a", "A", "b", ""]), rows)), dtype=pl.String
            ),
            "d": pl.Series(draw(_column(DATES, rows)), dtype=pl.Date),
            "t": pl.Series(draw(_column(TIMES, rows)), dtype=pl.Datetime("us")),
            "tz": pl.Series(zoned, dtype=pl.Datetime("us", "UTC")),
        }
    )


NUMBER_COLUMNS = ["i", "j", "f"]
TEXT_COLUMNS = ["s", "s2"]
TIME_COLUMNS = ["d", "t", "tz"]
ALL_COLUMNS = NUMBER_COLUMNS + TEXT_COLUMNS + TIME_COLUMNS
BOUND = st.one_of(
    st.integers(-4, 4),
    st.floats(-5, 5, allow_nan=False),
    st.sampled_from(["1990-01-01T00:00:00", "2020-06-01T12:00:00", "2000-01-01T00:00:00Z"]),
    st.just({"$PARAMETER": "as_of"}),
)
REGEX = st.sampled_from(
    ["^[a-z]+$", "a", "^$", r"\d", "^.{2,4}$", "[^a]", "é|😀", "^A", "Z$", r"\s", r"^\S+$",
     EMAIL_REGEX, PHONE_REGEX]
)  # fmt: skip
CONDITION = st.sampled_from(
    ['col("i") > 0', 'col("i") != 1', 'col("s2") == "a"', 'col("s2") != "b"', 'col("f").notnull()',
     'col("j") <= 100']
)  # fmt: skip


def _common(draw: st.DrawFn, kw: dict[str, Any], *, mostly: bool = True) -> dict[str, Any]:
    if mostly and draw(st.booleans()):
        kw["mostly"] = draw(st.sampled_from([0.0, 0.5, 0.75, 0.9, 1.0]))
    if draw(st.integers(0, 3)) == 0:
        kw["row_condition"] = draw(CONDITION)
        kw["condition_parser"] = "great_expectations"
    return kw


def _bounds(draw: st.DrawFn, kw: dict[str, Any], *, need_one: bool = True) -> dict[str, Any]:
    low, high = draw(st.one_of(st.none(), BOUND)), draw(st.one_of(st.none(), BOUND))
    if need_one and low is None and high is None:
        low = draw(BOUND)
    kw.update(min_value=low, max_value=high)
    if draw(st.booleans()):
        kw["strict_min"] = draw(st.booleans())
        kw["strict_max"] = draw(st.booleans())
    return kw


@st.composite
def entry(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    column = draw(st.sampled_from(ALL_COLUMNS))
    pair = draw(st.lists(st.sampled_from(ALL_COLUMNS), min_size=2, max_size=2))
    kw: dict[str, Any] = {"column": column}
    if kind in ("expect_column_values_to_be_between",):
        kw = _common(draw, _bounds(draw, kw))
    elif "to_be_in_set" in kind and "values" in kind:
        pool = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "A", "b", ""]))
        kw = _common(draw, {**kw, "value_set": draw(st.lists(pool, max_size=4))})
    elif kind == "expect_column_value_lengths_to_be_between":
        low, high = draw(st.one_of(st.none(), st.integers(0, 4))), draw(st.integers(0, 6))
        kw = _common(draw, {**kw, "column": draw(st.sampled_from(TEXT_COLUMNS)), "min_value": low,
                       "max_value": high})  # fmt: skip
    elif kind == "expect_column_value_lengths_to_equal":
        kw = _common(draw, {**kw, "column": draw(st.sampled_from(TEXT_COLUMNS)),
                       "value": draw(st.integers(0, 3))})  # fmt: skip
    elif kind.endswith("match_regex"):
        kw = _common(
            draw, {**kw, "column": draw(st.sampled_from(TEXT_COLUMNS)), "regex": draw(REGEX)}
        )
    elif kind.endswith("regex_list"):
        kw.update(column=draw(st.sampled_from(TEXT_COLUMNS)))
        kw["regex_list"] = draw(st.lists(REGEX, min_size=1, max_size=3))
        if "not" not in kind:
            kw["match_on"] = draw(st.sampled_from(["any", "all"]))
        _common(draw, kw)
    elif kind.startswith("expect_column_values_to") or kind == "expect_column_values_to_be_unique":
        _common(draw, kw)
    elif kind.startswith("expect_column_pair"):
        kw = {"column_A": pair[0], "column_B": pair[1]}
        if "greater" in kind:
            kw["or_equal"] = draw(st.booleans())
        kw["ignore_row_if"] = draw(
            st.sampled_from(["both_values_are_missing", "either_value_is_missing", "neither"])
        )
        _common(draw, kw)
    elif kind in ("expect_compound_columns_to_be_unique",
                  "expect_select_column_values_to_be_unique_within_record",
                  "expect_multicolumn_sum_to_equal"):  # fmt: skip
        kw = {"column_list": draw(st.lists(st.sampled_from(ALL_COLUMNS), min_size=1, max_size=3,
                                           unique=True))}  # fmt: skip
        kw["ignore_row_if"] = draw(
            st.sampled_from(["all_values_are_missing", "any_value_is_missing", "never"])
        )
        if kind == "expect_multicolumn_sum_to_equal":
            kw["sum_total"] = draw(st.integers(-3, 3))
        _common(draw, kw)
    elif kind.startswith("expect_column_") and kind.endswith("_between"):
        kw = _common(draw, _bounds(draw, kw, need_one=False), mostly=False)
    elif kind.startswith(("expect_table_", "expect_column_to_exist")):
        kw = _table_kwargs(draw, kind)
    return {"type": kind, "kwargs": kw}


def _table_kwargs(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """Kwargs of the table expectations: counts, column existence, the column set."""
    if kind in ("expect_table_row_count_to_be_between", "expect_table_column_count_to_be_between"):
        high = draw(st.one_of(st.none(), st.integers(0, 9)))
        return {"min_value": draw(st.integers(0, 9)), "max_value": high}
    if kind in ("expect_table_row_count_to_equal", "expect_table_column_count_to_equal"):
        return {"value": draw(st.integers(0, 8))}
    if kind == "expect_column_to_exist":
        return {"column": draw(st.sampled_from([*ALL_COLUMNS, "absent"]))}
    cols = draw(st.lists(st.sampled_from([*ALL_COLUMNS, "absent"]), max_size=9, unique=True))
    if "ordered" in kind:
        return {"column_list": cols}
    return {"column_set": cols, "exact_match": draw(st.booleans())}


def _suite(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = [draw(entry(kind)) for kind in SUPPORTED]
    return [e for e in entries if kwargs_problem(e) is None]


def _same_value(ours: Any, theirs: Any) -> bool:
    if isinstance(ours, float) and isinstance(theirs, int | float):
        if math.isnan(ours) or math.isnan(theirs):
            return math.isnan(ours) and math.isnan(theirs)
        return math.isclose(ours, theirs, rel_tol=REL_TOL, abs_tol=1e-12)
    if isinstance(ours, int) and isinstance(theirs, float):
        return math.isclose(ours, theirs, rel_tol=REL_TOL)
    return bool(ours == theirs)


COUNTS = ("element_count", "unexpected_count", "missing_count")


def compare(ours: dict[str, Any], theirs: dict[str, Any]) -> str | None:
    """Why a compiled result differs from GX's, or None."""
    gx_error = bool(theirs["exception_info"].get("raised_exception")) or any(
        isinstance(v, dict) and v.get("raised_exception") for v in theirs["exception_info"].values()
    )
    if "reason" in ours or gx_error:
        both = "reason" in ours and gx_error
        info = str(theirs["exception_info"])[-300:] if gx_error else ""
        return None if both else f"error: ours {ours.get('reason')!r}, GX raised {gx_error} {info}"
    mine, gx = ours["result"], theirs["result"]
    for key in COUNTS:
        if mine.get(key) != gx.get(key):
            return f"{key}: ours {mine.get(key)}, GX {gx.get(key)}"
    theirs_observed = None if gx.get("observed_value") == "NaT" else gx.get("observed_value")
    if not _same_value(mine.get("observed_value"), theirs_observed):
        return (
            f"observed_value: ours {mine.get('observed_value')!r}, GX {gx.get('observed_value')!r}"
        )
    if ours["success"] != theirs["success"]:
        return f"success: ours {ours['success']}, GX {theirs['success']}"
    return None


def overflows(frame: pl.DataFrame, entry: dict[str, Any]) -> bool:
    """A standard deviation whose squares overflow: a documented deviation, not compared."""
    column = entry["kwargs"].get("column")
    if entry["type"] != "expect_column_stdev_to_be_between" or column not in frame.columns:
        return False
    values = frame[column].cast(pl.Float64).abs()
    return bool(values.filter(values.is_finite()).max() or 0) and (values > 1e154).any()


def differences(frame: pl.DataFrame, entries: list[dict[str, Any]]) -> list[str]:
    """Every compiled result (both backends) that differs from GX's on the same entries."""
    data = {"name": "generated", "expectations": entries}
    with warnings.catch_warnings():
        # numpy warns on inf - inf inside GX's statistics; outside pytest that is no error
        warnings.simplefilter("ignore", RuntimeWarning)
        gx_rows, _ = run_gx(frame, gx_suite(data, PATH), as_of=AS_OF)
    gx_by_index = {row["index"]: row for row in gx_rows}
    out = []
    for backend in ("polars", "duckdb"):
        run = run_suite(open_frame(frame, backend), entries, params=parameters(AS_OF))
        for ours in run.results:
            if overflows(frame, entries[ours["index"]]):
                continue
            problem = compare(ours, gx_by_index[ours["index"]])
            if problem:
                e = entries[ours["index"]]
                out.append(f"{backend} {e['type']} {json.dumps(e['kwargs'])}: {problem}")
    return out


@EXAMPLES
@given(data=st.data())
def test_every_supported_type_agrees_with_gx(data):
    frame = data.draw(frames())
    entries = _suite(data.draw)
    assert differences(frame, entries) == []


@pytest.mark.parametrize("kind", SUPPORTED)
def test_each_supported_type_compiles_on_plain_columns(kind):
    """On text and integer columns without conditions, every supported type compiles."""
    frame = pl.DataFrame({"s": ["a", "b", None], "i": [1, 2, 2], "k": [3, 1, 2]})
    kwargs: dict[str, Any] = {
        "column": "s" if "length" in kind or "regex" in kind else "i",
        "min_value": 0, "max_value": 5, "value_set": [1, 2], "regex": "^a$",
        "regex_list": ["^a$"], "value": 1, "column_A": "k", "column_B": "i",
        "column_list": ["i", "k"], "sum_total": 4, "column_set": ["s", "i", "k"],
    }  # fmt: skip
    props = schema(kind)["properties"]
    problem_free = {k: v for k, v in kwargs.items() if k in props}
    entry = {"type": kind, "kwargs": problem_free}
    assert kwargs_problem(entry) is None
    run = run_suite(open_frame(frame, "polars"), [entry], params=parameters(AS_OF))
    assert (run.fallback, [r["engine"] for r in run.results]) == ([], ["ibis"])
    assert differences(frame, [entry]) == []


def test_sample_customers_suite_agrees_with_gx_row_for_row(frames):
    suite = json.loads(Path("expectations/customers.json").read_text(encoding="utf-8"))
    assert differences(frames["customers"], suite["expectations"]) == []


def test_deviation_an_empty_time_column_observes_none_where_gx_says_nat():
    frame = pl.DataFrame({"t": [None, None]}, schema={"t": pl.Datetime("us")})
    entry = {"type": "expect_column_max_to_be_between",
             "kwargs": {"column": "t", "min_value": "1990-01-01T00:00:00"}}  # fmt: skip
    run = run_suite(open_frame(frame, "duckdb"), [entry], params=parameters(AS_OF))
    gx_rows, _ = run_gx(frame, gx_suite({"expectations": [entry]}, PATH), as_of=AS_OF)
    assert (run.results[0]["success"], run.results[0]["result"]) == (
        False,
        {"observed_value": None},
    )
    assert (gx_rows[0]["success"], gx_rows[0]["result"]) == (False, {"observed_value": "NaT"})


def test_deviation_a_standard_deviation_that_overflows_is_not_compared():
    """Squares that overflow give infinity (pandas, DuckDB, polars' streaming engine in one
    morsel) or no value (NaN, as polars' in-memory engine sums them): never compared."""
    frame = pl.DataFrame({"f": [3.0, 1.7976931348623157e308, -2.0, 4.0, 1e300]})
    entry = {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "f"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gx_rows, _ = run_gx(frame, gx_suite({"expectations": [entry]}, PATH), as_of=AS_OF)
    assert gx_rows[0]["result"]["observed_value"] == math.inf
    for backend in ("polars", "duckdb"):
        run = run_suite(open_frame(frame, backend), [entry], params=parameters(AS_OF))
        assert run.results[0]["result"]["observed_value"] in (None, math.inf), backend
    assert overflows(frame, entry)


def test_deviation_big_integers_with_nulls_compare_exactly():
    """pandas rounds a nullable integer column to float64; the engine compares integers."""
    big = 2**53 + 1
    frame = pl.DataFrame({"n": [big, None]}, schema={"n": pl.Int64})
    entry = {"type": "expect_column_values_to_be_in_set",
             "kwargs": {"column": "n", "value_set": [2**53]}}  # fmt: skip
    run = run_suite(open_frame(frame, "polars"), [entry], params=parameters(AS_OF))
    gx_rows, _ = run_gx(frame, gx_suite({"expectations": [entry]}, PATH), as_of=AS_OF)
    ours, theirs = run.results[0]["result"], gx_rows[0]["result"]
    assert (ours["unexpected_count"], theirs["unexpected_count"]) == (1, 0)


@pytest.mark.parametrize("engine_name", ["polars", "duckdb", "gx"])
def test_a_date_columns_stdev_left_to_gx_is_an_error_not_a_crash(engine_name):
    """GX's stdev of dates is a time span it cannot write out: that check errors, alone."""
    frame = pl.DataFrame({"id": [1, 2, 3], "signed_up": [date(2020, 1, 1), date(2020, 1, 5), None]})
    suite = {"expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_column_stdev_to_be_between", "kwargs": {"column": "signed_up"}},
    ]}  # fmt: skip
    checks = suite_checks("x", frame, suite, PATH, as_of=AS_OF, publishable=set(),
                          engine=engine_name)  # fmt: skip
    assert [c.status for c in checks] == ["passed", "error"]
    assert "TypeError" in checks[1].reason


@pytest.mark.parametrize("condition", ['col("s") == " b"', 'col("s") != "\tb"', 'col("s") == "b "'])
def test_a_quoted_value_is_read_as_gxs_parser_reads_it(condition):
    """GX's parser skips the blanks a quoted value starts with, not those it ends with."""
    frame = pl.DataFrame({"s": [" b", "b", "b ", "b", None], "n": [1, 2, 3, 4, 5]})
    entry = {"type": "expect_column_values_to_be_between",
             "kwargs": {"column": "n", "max_value": 3, "row_condition": condition,
                        "condition_parser": "great_expectations"}}  # fmt: skip
    assert differences(frame, [entry]) == []


@pytest.mark.parametrize("regex", ["[a-z&&[^aeiou]]", "[a-c--b]", "^[A-Z~~M]", "[a[b]"])
def test_set_operations_inside_a_class_are_left_to_gx(regex):
    """Rust's regex reads `&&`, `--`, `~~` and `[` in a class as set syntax; Python, literally."""
    frame = pl.DataFrame({"s": ["abc", "a&b", "M", "[", "b-c", None]})
    entry = {
        "type": "expect_column_values_to_match_regex",
        "kwargs": {"column": "s", "regex": regex},
    }
    run = run_suite(open_frame(frame, "polars"), [entry], params=parameters(AS_OF))
    assert run.fallback == [0]
    assert differences(frame, [entry]) == []


def test_quarantine_judges_an_untranslatable_regex_as_gx_does():
    from govlib.quality.predicates import row_predicate

    frame = pl.DataFrame({"s": ["abc", "a&b]", "M", None]})
    entry = {"type": "expect_column_values_to_match_regex",
             "kwargs": {"column": "s", "regex": "[a-z&&[^aeiou]]"}}  # fmt: skip
    ok = frame.select(row_predicate(entry, as_of=AS_OF, schema=frame.schema)).to_series()
    with warnings.catch_warnings():  # Python warns of a possible nested set when GX compiles it
        warnings.simplefilter("ignore", FutureWarning)
        gx_rows, _ = run_gx(frame, gx_suite({"expectations": [entry]}, PATH), as_of=AS_OF)
    assert (~ok).sum() == gx_rows[0]["result"]["unexpected_count"] == 2  # abc and M
