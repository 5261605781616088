import csv
import json
import re
from datetime import UTC, datetime

import polars as pl
import pytest
import yaml

from govlib import catalog, rights
from govlib.cli import main

from .conftest import CATALOG

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def subject(frames):
    """A customer with orders and tickets, and a duplicate-free email."""
    c = frames["customers"]
    with_tickets = frames["support_tickets"]["customer_id"].unique()
    row = c.filter(
        pl.col("customer_id").is_in(with_tickets.implode())
        & pl.col("email").str.contains(r"^[a-z.]+\d+@example\.(com|org)$")
        & (pl.col("country") == "GB")
    ).row(0, named=True)
    return row


def counts(frames, cid):
    return {
        name: frames[name].filter(pl.col("customer_id") == cid).height
        for name in ("consent_events", "customers", "orders", "support_tickets")
    }


def test_find_by_email_phone_and_id_agree(sample_catalog, frames, subject):
    expected = counts(frames, subject["customer_id"])
    by_email, _ = rights.find(
        sample_catalog, email=f"  {subject['email'].upper()} ", as_of=None, frames=frames
    )
    by_id, _ = rights.find(
        sample_catalog, subject_id=str(subject["customer_id"]), as_of=None, frames=frames
    )
    digits = "".join(ch for ch in subject["phone"] if ch.isdigit())
    e164 = "+44" + digits[1:] if subject["phone"].startswith("0") else "+" + digits
    by_phone, _ = rights.find(sample_catalog, phone=e164, as_of=None, frames=frames)
    assert by_email.rows == by_id.rows == by_phone.rows == expected
    assert by_email.subjects == 1


def test_unknown_subject_and_bad_parameters(capsys):
    assert main(["subject", "find", "--email", "nobody@nowhere.example", "--catalog",
                 str(CATALOG)]) == 2  # fmt: skip
    assert "no dataset holds that subject" in capsys.readouterr().err
    assert main(["subject", "find", "--catalog", str(CATALOG)]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["subject", "find", "--customer-id", "abc", "--catalog", str(CATALOG)]) == 2
    assert "--customer-id must be" in capsys.readouterr().err


def test_export_writes_json_and_csv_of_every_row(tmp_path, frames, subject, capsys):
    out = tmp_path / "export"
    cid = subject["customer_id"]
    assert main(["subject", "find", "--customer-id", str(cid), "--catalog", str(CATALOG),
                 "--export", str(out)]) == 0  # fmt: skip
    console = capsys.readouterr().out
    assert subject["email"] not in console
    expected = counts(frames, cid)
    for name, n in expected.items():
        if n:
            assert len(json.loads((out / f"{name}.json").read_text())) == n
            with (out / f"{name}.csv").open() as fh:
                assert len(list(csv.DictReader(fh))) == n


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain", "plain"),
        (12, 12),
    ],
)
def test_formula_injection_is_neutralised(value, safe):
    assert rights.neutralise(value) == safe


def test_export_csv_neutralises_cells(tmp_path):
    pl.DataFrame(
        {"customer_id": [1, 2], "email": ["a@example.com", "b@example.com"],
         "notes": ["=cmd|' /C calc'!A0", "fine"]}
    ).write_csv(tmp_path / "people.csv")  # fmt: skip
    doc = {"data_root": ".", "datasets": {"people": {
        "source": {"path": "people.csv"}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "subject_key": "customer_id",
        "columns": {"customer_id": {"type": "int64", "pii": "person_id"},
                    "email": {"type": "string", "pii": "email"},
                    "notes": {"type": "string", "pii": "free_text"}}}}}  # fmt: skip
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    _, plan = rights.find(catalog.load(path), email="A@example.com", as_of=None)
    [csv_path] = [p for p in rights.export(plan, tmp_path / "out") if p.suffix == ".csv"]
    assert "'=cmd|' /C calc'!A0" in csv_path.read_text()


def test_erase_proves_the_subject_is_gone_and_is_idempotent(tmp_path, monkeypatch, frames,
                                                            subject, capsys):  # fmt: skip
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    out = tmp_path / "erased"
    args = ["subject", "erase", "--email", subject["email"], "--catalog", str(CATALOG),
            "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    console = capsys.readouterr().out
    assert "proof: the subject is findable nowhere in the new copy" in console
    cid = subject["customer_id"]
    for name in ("customers", "orders", "support_tickets", "consent_events"):
        copy = pl.read_parquet(out / f"{name}.parquet")
        assert copy.filter(pl.col("customer_id") == cid).height == 0
        assert copy.height == frames[name].height - counts(frames, cid)[name]
    log = (out / "erasure_log.ndjson").read_text()
    for value in (subject["email"], subject["email"].strip().lower(), subject["phone"]):
        assert value not in log  # inside any string, not only as a whole value
    for entry in map(json.loads, log.splitlines()):  # every field is a pseudonym or our words
        assert set(entry) == {"subject", "dataset", "rule", "action", "as_of", "run_at",
                              "inputs_sha256"}  # fmt: skip
        assert re.fullmatch(r"p_[0-9a-f]{32}", entry["subject"])
        assert entry["dataset"] in counts(frames, cid)
        assert (entry["rule"], entry["action"]) == ("erasure_request", "delete")
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", entry["as_of"])
        assert re.fullmatch(r"[\dT:+-]{25}", entry["run_at"])
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in entry["inputs_sha256"].values())
    assert subject["email"] not in console
    assert main(args) == 0
    assert "nothing changed" in capsys.readouterr().out


def test_erase_returns_a_proven_record_that_round_trips(sample_catalog, frames, subject, tmp_path):
    cid = subject["customer_id"]
    match, plan = rights.find(
        sample_catalog, subject_id=str(cid), as_of=sample_catalog.as_of, frames=frames
    )
    assert rights.SubjectMatch.from_dict(json.loads(json.dumps(match.to_dict()))) == match
    assert match.to_polars().to_dicts() == [
        {"dataset": name, "rows": n} for name, n in sorted(counts(frames, cid).items())
    ]
    run_at = datetime(2025, 2, 1, tzinfo=UTC)
    done = rights.erase(sample_catalog, match, plan, tmp_path / "o", key=KEY.encode(),
                        run_at=run_at)  # fmt: skip
    assert not done.unchanged
    assert {d.dataset: (d.before, d.remaining) for d in done.datasets} == {
        name: (n, 0) for name, n in counts(frames, cid).items()
    }
    assert done.identifiers == len(match.identifiers)
    assert type(done).from_dict(json.loads(json.dumps(done.to_dict()))) == done
    again = rights.erase(sample_catalog, match, plan, tmp_path / "o", key=KEY.encode(),
                         run_at=run_at)  # fmt: skip
    assert again.unchanged
    assert again.datasets == done.datasets


@pytest.mark.parametrize("kind", ["files", "duckdb"])
def test_erasure_finds_ids_by_name_and_national_ids_and_warns_of_names_alone(
    kind, tmp_path, monkeypatch, capsys
):
    """Tickets name the customer by `customer_id` (typed person_id, no relationship declared);
    KYC checks hold the national id as the customer wrote it; a guest book only names."""
    import duckdb

    frames = {
        "customers": pl.DataFrame({"customer_id": [1, 2], "email": ["a@example.com", None],
                                   "national_id": ["AB 12 34 56 C", "ZX 98 76 54 A"]}),
        "tickets": pl.DataFrame({"ticket_id": [10, 11, 12], "customer_id": [1, 2, 1]}),
        "kyc": pl.DataFrame({"check_id": [20, 21], "national_id": ["ab123456c", "zx987654a"]}),
        "guests": pl.DataFrame({"guest_id": [30], "name": ["Ann Lee"]}),
    }  # fmt: skip
    columns = {
        "customers": {"customer_id": {"type": "int64", "pii": "person_id"},
                      "email": {"type": "string", "pii": "email"},
                      "national_id": {"type": "string", "pii": "national_id"}},
        "tickets": {"ticket_id": {"type": "int64"},
                    "customer_id": {"type": "int64", "pii": "person_id"}},
        "kyc": {"check_id": {"type": "int64"},
                "national_id": {"type": "string", "pii": "national_id"}},
        "guests": {"guest_id": {"type": "int64"}, "name": {"type": "string", "pii": "person_name"}},
    }  # fmt: skip
    (tmp_path / "data").mkdir()
    if kind == "duckdb":
        con = duckdb.connect(str(tmp_path / "data" / "crm.duckdb"))
        for name, frame in frames.items():
            con.register("frame", frame.to_arrow())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
        con.close()
    datasets = {}
    for name, frame in frames.items():
        if kind == "files":
            frame.write_parquet(tmp_path / "data" / f"{name}.parquet")
        source = ({"path": f"{name}.parquet"} if kind == "files"
                  else {"uri": "duckdb:///crm.duckdb", "table": name})  # fmt: skip
        datasets[name] = {"source": source, "primary_key": [frame.columns[0]], "owner": "o",
                          "steward": "s", "purpose": "p", "lawful_basis": "contract",
                          "columns": columns[name]}  # fmt: skip
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "as_of": "2025-01-31", "data_root": "data",
                                    "datasets": datasets}))  # fmt: skip
    monkeypatch.setenv("GOVLIB_KEY", "3f9a0c2d7b1e4f6a8c5d2e9b0a7f1c3e")
    out = tmp_path / "out"
    args = ["subject", "erase", "--customer-id", "1", "--yes", "--catalog", str(path)]
    assert main([*args, "--out", str(out)]) == 0
    assert pl.read_parquet(out / "tickets.parquet")["ticket_id"].to_list() == [11]
    assert pl.read_parquet(out / "kyc.parquet")["check_id"].to_list() == [21]
    err = capsys.readouterr().err
    assert "guests: holds personal columns but no e-mail, phone, national id" in err
    assert "Ann" not in err
