"""Every read-only command over every hostile file: no crash, one line, nothing leaked."""

import re
from pathlib import Path

import polars as pl
import pytest
import yaml

from govlib.cli import main

from . import hostile

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
KNOWN_BROKEN: dict[str, str] = {}  # writer name -> why it still fails (xfail, strict)


def _columns(path: Path) -> dict[str, str]:
    """The file's real column names and types, read without govlib, for its catalog."""
    if path.suffix == ".parquet":
        schema = pl.read_parquet_schema(path)
        return {c: "int64" if t.is_integer() else "string" for c, t in schema.items()}
    if path.suffix == ".ndjson":
        return dict.fromkeys(pl.read_ndjson(path).columns, "string")
    import csv

    text = path.read_text(encoding="utf-8").replace("\r", "\n")
    return {name.strip(): "string" for name in next(csv.reader(text.splitlines()))}


def _cases() -> list:
    cases = []
    for writer in hostile.WRITERS:
        marks = ()
        if writer.__name__ in KNOWN_BROKEN:
            marks = pytest.mark.xfail(strict=True, reason=KNOWN_BROKEN[writer.__name__])
        cases.append(pytest.param(writer, id=writer.__name__, marks=marks))
    return cases


def _commands(path: Path, cat: Path, folder: Path) -> list[list[str]]:
    root = ["--data-root", str(folder)]
    return [
        ["profile", str(path), *root],
        ["suggest", str(path), *root, "--out", str(folder), "--suite", "adhoc-suite"],
        ["catalog", "check", "--catalog", str(cat)],
        ["profile", "hostile", "--catalog", str(cat), "--json", str(folder / "p.json")],
        [
            "suggest",
            "hostile",
            "--catalog",
            str(cat),
            "--out",
            str(folder / "expectations"),
            "--suite",
            "s",
        ],
        ["validate", "hostile", "--catalog", str(cat), "--suite", "s"],
        ["retention", "check", "hostile", "--catalog", str(cat)],
    ]


def check_contract(code: int, out: str, err: str) -> None:
    """The error contract every command keeps on hostile input."""
    assert code in (0, 1, 2), err  # 3 is an internal error: a bug
    assert "Traceback" not in err
    assert hostile.VALUE not in out + err
    assert hostile.NAME not in err
    assert not CONTROL.search(out + err.replace("\n", ""))
    assert all(line.startswith("govlib: ") for line in err.splitlines())
    if code == 2:
        assert len(err.splitlines()) == 1
        assert err.startswith("govlib: error: ")


@pytest.mark.parametrize("writer", _cases())
def test_every_read_only_command_keeps_the_error_contract_on_hostile_files(
    writer, tmp_path, capsys
):
    path = writer(tmp_path)
    cat = hostile.wrapping_catalog(path, _columns(path))
    for args in _commands(path, cat, tmp_path):
        capsys.readouterr()
        code = main(args)
        out, err = capsys.readouterr()
        check_contract(code, out, err)


def test_markup_and_escapes_in_names_print_literally_through_profile(tmp_path, capsys):
    path = hostile.markup_names(tmp_path)
    assert main(["profile", str(path), "--data-root", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    check_contract(0, out, err)
    assert "[/]" in out
    assert f"[red]{hostile.NAME}" in out
    assert f"?[31m{hostile.NAME}?[0m" in out


def test_gzip_bomb_is_refused_at_the_catalogs_limit_for_datasets_and_adhoc_files(tmp_path, capsys):
    bomb = hostile.gzip_bomb(tmp_path, megabytes=20)
    assert bomb.stat().st_size < 100 * 1024
    cat = hostile.wrapping_catalog(bomb, {"id": "int64", "pad": "string"}, max_mb=8)
    for args in (
        ["profile", "hostile", "--catalog", str(cat)],
        ["profile", str(bomb), "--catalog", str(cat), "--data-root", str(tmp_path)],
    ):
        capsys.readouterr()
        assert main(args) == 2
        out, err = capsys.readouterr()
        check_contract(2, out, err)
        assert "decompresses to more than the 8 MiB limit (a possible gzip bomb)" in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"source": {"path": "x.csv", "encoding": "rot13"}}, "'rot13' is not a character encoding"),
        (
            {
                "retention": [
                    {"name": "r", "anchor": "d", "period": "P99999999999999Y", "action": "delete"}
                ],
                "columns": {"d": {"type": "date"}},
            },
            "expected a period of at most 1,000 years",
        ),
    ],
    ids=["rot13", "huge-period"],
)
def test_catalog_mistakes_from_the_attack_exit_2_with_one_line(tmp_path, capsys, edit, message):
    (tmp_path / "x.csv").write_text("d\n2024-01-01\n")
    cat = hostile.wrapping_catalog(tmp_path / "x.csv", {"d": "date"})
    doc = yaml.safe_load(cat.read_text())
    doc["datasets"]["hostile"] |= edit
    cat.write_text(yaml.safe_dump(doc))
    assert main(["catalog", "check", "--catalog", str(cat)]) == 2
    out, err = capsys.readouterr()
    check_contract(2, out, err)
    assert message in err
