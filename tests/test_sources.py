import gzip
import io
import zipfile
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib import catalog, sources
from govlib.errors import SourceError

CANARY = "canary.person@leak.example"


def csv_file(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def adhoc(path: Path, **options):
    return sources.load(path, data_root=path.parent, **options)


def declared(tmp_path: Path, source: dict, columns: dict) -> catalog.Dataset:
    doc = {
        "data_root": ".",
        "datasets": {
            "people": {
                "source": source,
                "owner": "o",
                "steward": "s",
                "purpose": "p",
                "lawful_basis": "contract",
                "columns": columns,
            }
        },
    }
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return catalog.load(path).dataset("people")


PEOPLE = {"id": {"type": "int64"}, "email": {"type": "string", "pii": "email"}}


def test_reads_csv_with_inferred_types(tmp_path):
    path = csv_file(tmp_path, "id,score,joined,ok\n1,2.5,2024-01-02,true\n2,,2024-02-03,false\n")
    loaded = adhoc(path)
    frame = loaded.frame.collect()
    assert frame.schema == pl.Schema(
        {"id": pl.Int64, "score": pl.Float64, "joined": pl.Date, "ok": pl.Boolean}
    )
    assert frame["score"].to_list() == [2.5, None]
    assert (loaded.report.rows, loaded.report.warnings) == (2, [])


def test_empty_file(tmp_path):
    with pytest.raises(SourceError, match=r"data.csv: file is empty \(0 bytes\)"):
        adhoc(csv_file(tmp_path, ""))


def test_header_only_file_is_zero_rows_and_says_so(tmp_path, caplog):
    loaded = adhoc(csv_file(tmp_path, "id,email\n"))
    assert loaded.frame.collect().shape == (0, 2)
    assert loaded.report.rows == 0
    assert loaded.report.warnings == [
        f"{tmp_path / 'data.csv'}: 0 rows (the file has a header but no data)"
    ]
    assert "0 rows" in caplog.text


def test_missing_header_adhoc(tmp_path):
    path = csv_file(tmp_path, f"1,{CANARY}\n2,b@example.com\n")
    with pytest.raises(SourceError, match="line 1 looks like data, not a header") as info:
        adhoc(path)
    assert CANARY not in str(info.value)


def test_missing_header_declared(tmp_path):
    csv_file(tmp_path, f"1,{CANARY}\n2,b@example.com\n")
    ds = declared(tmp_path, {"path": "data.csv"}, PEOPLE)
    with pytest.raises(SourceError, match="does not look like a header") as info:
        sources.load(ds)
    assert CANARY not in str(info.value)
    ds = declared(tmp_path, {"path": "data.csv", "has_header": False}, PEOPLE)
    assert sources.scan(ds).collect()["id"].to_list() == [1, 2]


def test_wrong_delimiter(tmp_path):
    path = csv_file(tmp_path, "id;email\n1;a@example.com\n")
    with pytest.raises(SourceError, match=r"seems to be ';'-delimited.*source\.delimiter"):
        adhoc(path)
    ds = declared(tmp_path, {"path": "data.csv", "delimiter": ";"}, PEOPLE)
    assert sources.scan(ds).collect().shape == (1, 2)


def test_invalid_encoding_gives_byte_offset_not_content(tmp_path):
    path = csv_file(tmp_path, "id,name\n1,Zo\xeb Smith\n".encode("latin-1"))
    with pytest.raises(
        SourceError, match="not valid utf-8 text: undecodable byte at offset 12"
    ) as info:
        adhoc(path)
    assert "Smith" not in str(info.value)
    ds = declared(
        tmp_path,
        {"path": "data.csv", "encoding": "latin-1"},
        {"id": {"type": "int64"}, "name": {"type": "string"}},
    )
    assert sources.scan(ds).collect()["name"].to_list() == ["Zoë Smith"]


def test_unknown_declared_encoding_is_a_catalog_error(tmp_path):
    with pytest.raises(catalog.CatalogError, match="unknown text encoding 'klingon'"):
        declared(tmp_path, {"path": "data.csv", "encoding": "klingon"}, PEOPLE)


def test_ragged_rows_give_line_numbers(tmp_path):
    path = csv_file(tmp_path, f"id,email\n1,a@example.com\n2,{CANARY},x\n3\n")
    with pytest.raises(
        SourceError, match=r"line 3 has 3 fields, expected 2 \(and 1 more rows\)"
    ) as info:
        adhoc(path)
    assert CANARY not in str(info.value)


def test_quoted_delimiters_are_not_ragged(tmp_path):
    path = csv_file(tmp_path, 'id,note\n1,"a, b"\n2,"multi\nline"\n')
    assert adhoc(path).frame.collect()["note"].to_list() == ["a, b", "multi\nline"]


def test_duplicate_column_names_are_given_by_position_not_name(tmp_path):
    with pytest.raises(
        SourceError, match="duplicate column names: column 3 repeats column 2"
    ) as info:
        adhoc(csv_file(tmp_path, f"id,{CANARY},{CANARY}\n1,a,b\n"))
    assert CANARY not in str(info.value)


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        ("zip", "a zip archive"),
        ("xlsx", "a zip archive \\(or an xlsx/docx file\\)"),
        ("binary", "binary data \\(a NUL byte at offset 2\\)"),
        ("parquet", "is a Parquet file, not csv"),
    ],
)
def test_files_that_are_not_csv(tmp_path, payload, what):
    path = tmp_path / "data.csv"
    if payload in ("zip", "xlsx"):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("xl/workbook.xml" if payload == "xlsx" else "a.csv", "id\n1\n")
    elif payload == "binary":
        path.write_bytes(b"id\x00\x00\x00\x01\x02")
    else:
        pl.DataFrame({"id": [1]}).write_parquet(path)
    with pytest.raises(SourceError, match=what):
        adhoc(path)


def test_gzip_csv_reads_and_truncated_gzip_fails(tmp_path):
    text = "id,email\n" + "".join(f"{i},p{i}@example.com\n" for i in range(2000))
    good = tmp_path / "data.csv.gz"
    good.write_bytes(gzip.compress(text.encode()))
    assert adhoc(good).frame.collect().height == 2000
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(SourceError, match="gzip file is truncated"):
        adhoc(cut)


def test_gzip_bomb_stops_at_the_limit(tmp_path):
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"id\n" + b"1\n" * 5_000_000))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(SourceError, match="decompresses to more than the 1 MiB limit"):
        adhoc(bomb, max_decompressed_bytes=2**20)


def test_truncated_parquet(tmp_path):
    path = tmp_path / "data.parquet"
    pl.DataFrame({"id": range(1000)}).write_parquet(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(SourceError, match="Parquet file is truncated"):
        adhoc(path)


def test_schema_drift_names_declared_columns_and_gives_found_ones_by_position(tmp_path):
    csv_file(tmp_path, f"id,mail,{CANARY}\n1,a@example.com,1\n")
    ds = declared(tmp_path, {"path": "data.csv"}, PEOPLE)
    with pytest.raises(
        SourceError,
        match=r"schema drift: missing declared columns: email; 2 undeclared columns: "
        r"column 2 \(shaped a\), column 3 \(shaped a\.a@a\.a\)\. Update",
    ) as info:
        sources.load(ds)
    assert CANARY not in str(info.value)
    assert "mail," not in str(info.value)


def test_schema_drift_retyped_csv_column(tmp_path):
    csv_file(tmp_path, f"id,email\n1,a@example.com\n{CANARY},b@example.com\nx,c@example.com\n")
    ds = declared(tmp_path, {"path": "data.csv"}, PEOPLE)
    with pytest.raises(
        SourceError, match=r"column 'id': 2 values are not valid int64 \(first at line 3\)"
    ) as info:
        sources.load(ds)
    assert CANARY not in str(info.value)


def test_schema_drift_retyped_parquet_column(tmp_path):
    pl.DataFrame({"id": ["1"], "email": ["a@example.com"]}).write_parquet(tmp_path / "p.parquet")
    ds = declared(tmp_path, {"path": "p.parquet"}, PEOPLE)
    with pytest.raises(SourceError, match="column 'id' is String, expected int64"):
        sources.load(ds)


def test_parquet_with_declared_schema_is_lazy_and_cast(tmp_path):
    pl.DataFrame({"id": pl.Series([1, 2], dtype=pl.Int32), "email": ["a", None]}).write_parquet(
        tmp_path / "p.parquet"
    )
    ds = declared(tmp_path, {"path": "p.parquet"}, PEOPLE)
    loaded = sources.load(ds)
    assert loaded.report.rows == 2
    assert loaded.frame.collect_schema()["id"] == pl.Int64


SENTINEL_CSV = "id,value\n1,10.5\n2,N/A\n3,-\n4,7\n5,N/A\n"


def test_sentinels_in_declared_numeric_column_are_an_error(tmp_path):
    csv_file(tmp_path, SENTINEL_CSV)
    columns = {"id": {"type": "int64"}, "value": {"type": "float64"}}
    ds = declared(tmp_path, {"path": "data.csv"}, columns)
    with pytest.raises(
        SourceError, match=r"'value' \(float64\): 3 values are sentinel strings.*null_values"
    ):
        sources.load(ds)
    ds = declared(tmp_path, {"path": "data.csv", "null_values": ["", "N/A", "-"]}, columns)
    loaded = sources.load(ds)
    assert loaded.frame.collect()["value"].to_list() == [10.5, None, None, 7.0, None]
    assert loaded.report.null_tokens == {"value": 3}


def test_sentinels_in_adhoc_numeric_column_are_counted_not_stringified(tmp_path):
    loaded = adhoc(csv_file(tmp_path, SENTINEL_CSV))
    frame = loaded.frame.collect()
    assert frame.schema["value"] == pl.Float64
    assert frame["value"].null_count() == 3
    assert loaded.report.null_tokens == {"value": 3}
    assert "holds 3 sentinel strings" in loaded.report.warnings[0]


def test_path_outside_data_root(tmp_path):
    inside = tmp_path / "root"
    inside.mkdir()
    outside = csv_file(tmp_path, "id\n1\n", "secret.csv")
    with pytest.raises(SourceError, match="outside the data root"):
        sources.load(outside, data_root=inside)
    with pytest.raises(SourceError, match="outside the data root"):
        sources.load("../secret.csv", data_root=inside)


def test_symlink_leading_out_of_data_root(tmp_path):
    inside = tmp_path / "root"
    inside.mkdir()
    outside = csv_file(tmp_path, "id\n1\n", "secret.csv")
    (inside / "link.csv").symlink_to(outside)
    with pytest.raises(SourceError, match="symbolic link leads outside the data root"):
        sources.load("link.csv", data_root=inside)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(SourceError, match="file not found"):
        sources.load("nope.csv", data_root=tmp_path)
    csv_file(tmp_path, "x", "data.xlsx")
    with pytest.raises(SourceError, match="unknown file type"):
        sources.load("data.xlsx", data_root=tmp_path)


def test_ndjson_with_declared_schema_and_bad_line(tmp_path):
    path = tmp_path / "e.ndjson"
    path.write_text('{"id": 1, "email": "a@example.com"}\n{"id": 2, "email": null}\n')
    ds = declared(tmp_path, {"path": "e.ndjson"}, PEOPLE)
    assert sources.scan(ds).collect()["id"].to_list() == [1, 2]
    path.write_text(f'{{"id": 1, "email": "{CANARY}"}}\n{{"id": 2, "email": \n')
    with pytest.raises(SourceError, match="line 2 is not valid JSON") as info:
        sources.load(ds)
    assert CANARY not in str(info.value)


def test_glob_source_concatenates_files(tmp_path):
    (tmp_path / "parts").mkdir()
    for i in range(3):
        csv_file(tmp_path / "parts", f"id,email\n{i},p{i}@example.com\n", f"p{i}.csv")
    ds = declared(tmp_path, {"path": "parts/*.csv"}, PEOPLE)
    loaded = sources.load(ds)
    assert sorted(loaded.frame.collect()["id"].to_list()) == [0, 1, 2]
    assert (loaded.report.files, loaded.report.rows) == (3, 3)


def test_sample_datasets_all_load(sample_catalog, manifest):
    for name in sample_catalog.names():
        assert sources.load(sample_catalog.dataset(name)).report.rows == manifest["rows"][name]


def test_bytes_io_unused():
    assert io  # keeps the import honest for the zip helpers above


def test_field_over_128_kib_is_read_whole(tmp_path):
    long = "x" * (200 * 1024)
    frame = adhoc(csv_file(tmp_path, f"id,note\n1,{long}\n2,b\n")).frame.collect()
    assert frame["note"].to_list() == [long, "b"]


def test_bare_cr_line_endings_read_every_row(tmp_path):
    frame = adhoc(csv_file(tmp_path, "id,name\r1,a\r2,b\r")).frame.collect()
    assert frame.rows() == [(1, "a"), (2, "b")]


def test_mixed_line_endings_the_parsers_disagree_on_are_refused(tmp_path):
    with pytest.raises(SourceError, match=r"parsers disagree on the number of rows \(2 or 1\)"):
        adhoc(csv_file(tmp_path, "id\n1\r2\n"))
    path = csv_file(tmp_path, f"id,name\n1,a\r2,{CANARY}\n")
    with pytest.raises(SourceError, match=r"data.csv: cannot be parsed as CSV\. Check") as info:
        adhoc(path)
    assert CANARY not in str(info.value)


def test_column_name_with_double_quote_reads_back_as_written(tmp_path):
    frame = adhoc(csv_file(tmp_path, 'id,"say ""hi"""\n1,a\n')).frame.collect()
    assert frame.columns == ["id", 'say "hi"']


def test_adhoc_parquet_with_list_and_binary_columns_reads(tmp_path):
    path = tmp_path / "nested.parquet"
    pl.DataFrame({"tags": [["a"], []], "blob": [b"\x00", None]}).write_parquet(path)
    assert adhoc(path).frame.collect().shape == (2, 2)


def test_declared_parquet_list_column_is_refused_without_its_values(tmp_path):
    pl.DataFrame({"id": [1], "email": [[CANARY]]}).write_parquet(tmp_path / "p.parquet")
    ds = declared(tmp_path, {"path": "p.parquet"}, PEOPLE)
    with pytest.raises(
        SourceError, match=r"column 'email' holds nested values .*Export flat"
    ) as info:
        sources.load(ds)
    assert CANARY not in str(info.value)


def test_adhoc_sentinel_warning_names_the_column_by_position(tmp_path, caplog):
    loaded = adhoc(csv_file(tmp_path, f"id,{CANARY.split('@')[0]}\n1,5\n2,N/A\n"))
    assert loaded.report.warnings == [
        f"{tmp_path / 'data.csv'}: column 2 (shaped a.a) looks int64 but holds 1 sentinel "
        "strings (such as N/A); they are read as null"
    ]


def test_adhoc_default_limit_is_the_catalogs_default():
    limit = sources.DEFAULT_MAX_DECOMPRESSED
    assert (limit, catalog.Limits().max_decompressed_mb * 2**20) == (512 * 2**20, 512 * 2**20)


def test_uncompressed_file_over_the_limit_is_refused_before_reading(tmp_path):
    path = csv_file(tmp_path, "id\n" + "1\n" * (2**20))
    with pytest.raises(SourceError, match="is larger than the 1 MiB limit"):
        adhoc(path, max_decompressed_bytes=2**20)


def test_zoned_datetimes_times_and_durations_in_parquet_read_as_plain_types(tmp_path, capsys):
    import datetime as dt

    from govlib.cli import main

    path = tmp_path / "events.parquet"
    pl.DataFrame(
        {
            "id": [1, 2, 3],
            "at": [dt.datetime(2024, 1, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))] * 3,
            "t": [dt.time(1, 2)] * 3,
            "took": [dt.timedelta(seconds=90)] * 3,
        }
    ).write_parquet(path)
    frame = sources.load(path, data_root=tmp_path).frame.collect()
    assert frame.schema == pl.Schema(
        {"id": pl.Int64, "at": pl.Datetime("us"), "t": pl.String, "took": pl.Float64}
    )
    assert frame.row(0) == (1, dt.datetime(2024, 1, 1, 10), "01:02:00", 90.0)
    assert main(["profile", str(path)]) == 0


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
@pytest.mark.parametrize("name", ["*", "^id$"])
def test_a_column_polars_reads_as_a_pattern_is_refused_not_read_as_other_columns(
    tmp_path, fmt, name
):
    frame = pl.DataFrame({"id": ["1", "2"], name: [CANARY, CANARY]})
    path = tmp_path / f"data.{fmt}"
    {"csv": frame.write_csv, "parquet": frame.write_parquet, "ndjson": frame.write_ndjson}[fmt](
        path
    )
    with pytest.raises(SourceError, match=r"column 2: a column named '\*' or '\^…\$'") as info:
        adhoc(path)
    assert CANARY not in str(info.value)
    with pytest.raises(catalog.CatalogError, match="column 2: a column named '\\*' or"):
        declared(tmp_path, {"path": path.name}, {"id": {"type": "string"}, name: {}})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_names_equal_but_for_case_are_refused_as_duckdb_and_gx_read_them_as_one(tmp_path, fmt):
    frame = pl.DataFrame({"id": [1, 2], "email": [None, CANARY], "Email": [CANARY, CANARY]})
    path = tmp_path / f"data.{fmt}"
    {"csv": frame.write_csv, "parquet": frame.write_parquet, "ndjson": frame.write_ndjson}[fmt](
        path
    )
    with pytest.raises(SourceError, match="columns 2 and 3 differ only in letter case") as info:
        adhoc(path)
    assert CANARY not in str(info.value)
    columns = {"id": {"type": "int64"}, "email": {}, "EMAIL": {}}
    with pytest.raises(catalog.CatalogError, match="columns 2 and 3 differ only in letter case"):
        declared(tmp_path, {"path": path.name}, columns)


def test_a_nul_in_a_parquet_column_name_is_refused_not_a_panic(tmp_path):
    path = tmp_path / "data.parquet"
    pl.DataFrame({"id": [1], "a\x00b": [CANARY]}).write_parquet(path)
    with pytest.raises(SourceError, match="column 2: its name holds a NUL character"):
        adhoc(path)


def test_names_that_only_casefold_alike_are_read_as_the_engines_keep_them_apart(tmp_path):
    path = csv_file(tmp_path, "id,straße,strasse\n1,a,b\n")  # ß lower-cases to itself
    assert adhoc(path).frame.collect().columns == ["id", "straße", "strasse"]
