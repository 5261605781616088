"""Restricted outputs: nothing lost, nothing outside --out, private, encrypted at rest."""

import io
import json
import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyrage
import pytest
import yaml
from pyrage import x25519

from govlib import catalog, cleansing, outputs, restricted, retention, rights, sources
from govlib.cli import main
from govlib.errors import CatalogError
from govlib.outputs import OutputError

from .conftest import CATALOG, SAMPLE

KEY = "test-key-0123456789abcdef"
AS_OF = datetime(2025, 1, 31).date()
RUN_AT = datetime(2025, 2, 1, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("GOVLIB_KEY", KEY)
    monkeypatch.delenv("GOVLIB_KEY_FILE", raising=False)
    monkeypatch.delenv("GOVLIB_RECIPIENTS", raising=False)


@pytest.fixture
def project(tmp_path):
    """A copy of the sample project (catalog and data) that a test may write near."""
    shutil.copy(CATALOG, tmp_path / "catalog.yaml")
    shutil.copytree(SAMPLE, tmp_path / "data" / "sample")
    return tmp_path


def hashes(folder: Path) -> dict[str, str]:
    return {p.name: sources.file_sha256(p) for p in sorted(folder.iterdir())}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def owner(tmp_path):
    """A data owner's age identity (0600 file) and public key."""
    identity = x25519.Identity.generate()
    path = tmp_path / "owner.key"
    path.write_text(f"# the data owner\n{identity}\n")
    path.chmod(0o600)
    return identity, str(identity.to_public()), path


@pytest.fixture(scope="module")
def retention_plan(sample_catalog):
    return retention.plan_retention(sample_catalog, "customers", as_of=AS_OF)


# -- failure 9: nothing lost ------------------------------------------------------------------


def test_retention_apply_into_the_data_folder_is_refused_and_no_source_changes(project, capsys):
    data = project / "data" / "sample"
    before = hashes(data)
    args = ["retention", "apply", "customers", "--catalog", str(project / "catalog.yaml"),
            "--out", str(data)]  # fmt: skip
    for extra in ([], ["--execute"]):
        assert main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "would overwrite its source file (dataset orders)" in err
        assert "Traceback" not in err
    assert hashes(data) == before


def _glob_catalog(tmp_path: Path, pattern: str) -> catalog.Catalog:
    (tmp_path / "parts" / "2025").mkdir(parents=True)
    pl.DataFrame(
        {"customer_id": [1, 2], "email": ["a@example.com", "b@example.com"]}
    ).write_parquet(tmp_path / "parts" / "2025" / "people.parquet")
    doc = {"data_root": ".", "datasets": {"people": {
        "source": {"path": pattern}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "subject_key": "customer_id",
        "columns": {"customer_id": {"type": "int64", "pii": "person_id"},
                    "email": {"type": "string", "pii": "email"}}}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return catalog.load(tmp_path / "catalog.yaml")


@pytest.mark.parametrize(
    ("pattern", "out"),
    [("parts/*/*.parquet", "parts/2026"), ("parts/**/*.parquet", "parts"),
     ("parts/2025/people.parquet", "parts/2025")],
)  # fmt: skip
def test_erasure_copy_where_a_source_glob_would_read_it_is_refused(tmp_path, pattern, out):
    cat = _glob_catalog(tmp_path, pattern)
    before = sources.file_sha256(tmp_path / "parts" / "2025" / "people.parquet")
    plan = retention.plan_erasure(cat, [1], as_of=AS_OF)
    with pytest.raises(OutputError, match=r"people\.parquet|source pattern|source file"):
        retention.execute(cat, plan, tmp_path / out, key=KEY.encode(), run_at=RUN_AT, kind="e")
    assert sources.file_sha256(tmp_path / "parts" / "2025" / "people.parquet") == before
    assert sorted(p.name for p in (tmp_path / "parts").rglob("*")) == ["2025", "people.parquet"]


def test_a_report_beside_the_data_is_allowed_but_never_over_a_source(project, capsys):
    data = project / "data" / "sample"
    before = hashes(data)
    args = ["retention", "check", "customers", "--catalog", str(project / "catalog.yaml"), "--json"]
    assert main([*args, str(data / "customers.csv")]) == 2
    assert "would overwrite its source file (dataset customers)" in capsys.readouterr().err
    assert hashes(data) == before
    assert main([*args, str(data / "retention-customers.json")]) == 1  # records are overdue
    assert json.loads((data / "retention-customers.json").read_text())["dataset"] == "customers"


# -- failure 13: names stay inside --out ------------------------------------------------------


def test_a_dataset_named_like_a_path_is_refused_at_load(tmp_path, capsys):
    doc = yaml.safe_load(CATALOG.read_text())
    doc["datasets"] = {"customers": doc["datasets"]["customers"],
                       "../../escaped": doc["datasets"]["orders"]}  # fmt: skip
    doc["data_root"] = str(SAMPLE)
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(CatalogError, match="dataset name at position 2 is not an identifier"):
        catalog.load(path)
    assert main(["catalog", "check", "--catalog", str(path)]) == 2
    assert "escaped" not in capsys.readouterr().out


@pytest.mark.parametrize("name", ["../x.parquet", "/etc/x", "a/../../x", "link/x.parquet"])
def test_an_output_name_that_leaves_its_folder_is_refused(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / "link").symlink_to(tmp_path)
    with pytest.raises(OutputError, match="leaves the output folder"):
        outputs.write_files(out, {name: lambda fh: fh.write(b"x")}, private=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- failure 14: private whatever the umask ---------------------------------------------------


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


@pytest.fixture(scope="module")
def cleanse_plan(sample_catalog, frames):
    return cleansing.plan(sample_catalog, "customers", frames=frames)


def test_restricted_outputs_are_0600_in_0700_folders_whatever_the_umask(
    umask, tmp_path, sample_catalog, retention_plan, cleanse_plan
):
    key = KEY.encode()
    retention.execute(sample_catalog, retention_plan, tmp_path / "a" / "retained", key=key,
                      run_at=RUN_AT, kind="retention")  # fmt: skip
    cleansing.execute(sample_catalog, cleanse_plan, tmp_path / "clean", key=key, run_at=RUN_AT)
    rights.export(retention_plan, tmp_path / "export", catalog=sample_catalog)
    folders = [tmp_path / "a", tmp_path / "a" / "retained", tmp_path / "clean",
               tmp_path / "clean" / "quarantine", tmp_path / "export"]  # fmt: skip
    assert {str(f.relative_to(tmp_path)): mode(f) for f in folders} == {
        str(f.relative_to(tmp_path)): 0o700 for f in folders
    }
    files = [p for f in folders for p in f.iterdir() if p.is_file()]
    assert sorted(str(p.relative_to(tmp_path)) for p in files) == [
        *(f"a/retained/{n}" for n in ["customers.parquet", "orders.parquet", "retention.json",
                                      "retention_log.ndjson", "support_tickets.parquet"]),
        *(f"clean/{n}" for n in ["cleanse.json", "cleanse_log.ndjson", "consent_events.parquet",
                                 "customers.parquet", "orders.parquet",
                                 "quarantine/orders.parquet",
                                 "support_tickets.parquet"]),
        *(f"export/{n}.{e}" for n in ["customers", "orders", "support_tickets"]
          for e in ["csv", "json"]),
    ]  # fmt: skip
    assert {mode(p) for p in files} == {0o600}


# -- failure 12: idempotence compares content hashes ------------------------------------------


def test_a_deleted_or_corrupted_copy_is_written_again_not_reported_unchanged(tmp_path, capsys):
    out = tmp_path / "copy"
    args = ["retention", "apply", "customers", "--catalog", str(CATALOG), "--out", str(out),
            "--execute"]  # fmt: skip
    assert main(args) == 0
    manifest = json.loads((out / "retention.json").read_text())
    assert manifest["sha256"] == {n: sources.file_sha256(out / n) for n in manifest["files"]}
    capsys.readouterr()
    assert main(args) == 0
    assert "nothing changed" in capsys.readouterr().out
    (out / "orders.parquet").unlink()
    with (out / "customers.parquet").open("ab") as fh:
        fh.write(b"tampered")
    assert main(args) == 0
    assert "wrote customers.parquet, orders.parquet" in capsys.readouterr().out
    again = json.loads((out / "retention.json").read_text())
    assert again["sha256"] == {n: sources.file_sha256(out / n) for n in again["files"]}
    for name in ("customers.parquet", "orders.parquet"):  # the same copy as the first time
        assert again["sha256"][name] == manifest["sha256"][name]


# -- failure 22: header cells are neutralised too ---------------------------------------------


def test_export_neutralises_formula_cells_in_the_header_row(tmp_path):
    pl.DataFrame({"customer_id": [1, 2], "email": ["a@example.com", "b@example.com"],
                  "=HYPERLINK(x)": ["@SUM(A1)", "fine"]}).write_csv(tmp_path / "p.csv")  # fmt: skip
    doc = {"data_root": ".", "datasets": {"people": {
        "source": {"path": "p.csv"}, "owner": "o", "steward": "s", "purpose": "p",
        "lawful_basis": "contract", "subject_key": "customer_id",
        "columns": {"customer_id": {"type": "int64", "pii": "person_id"},
                    "email": {"type": "string", "pii": "email"},
                    "=HYPERLINK(x)": {"type": "string", "pii": "free_text"}}}}}  # fmt: skip
    (tmp_path / "catalog.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    cat = catalog.load(tmp_path / "catalog.yaml")
    _, plan = rights.find(cat, email="a@example.com", as_of=None)
    written = rights.export(plan, tmp_path / "out", catalog=cat)
    [csv_path] = [p for p in written if p.suffix == ".csv"]
    assert csv_path.read_text().splitlines() == [
        "customer_id,email,'=HYPERLINK(x)",
        "1,a@example.com,'@SUM(A1)",
    ]


# -- build 5: encrypted at rest ---------------------------------------------------------------


def test_restricted_file_is_encrypted_and_decrypts_to_the_exact_bytes(tmp_path, owner, capsys,
                                                                        monkeypatch):  # fmt: skip
    identity, public, key_file = owner
    monkeypatch.setenv("GOVLIB_RECIPIENTS", public)
    payload = b"jane.doe@example.com,+44 7700 900123\n" * 5000
    [path] = restricted.write_files(None, tmp_path / "r", {"x.csv": lambda fh: fh.write(payload)},
                                    prefix=".t-")  # fmt: skip
    assert path == tmp_path / "r" / "x.csv.age"
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["x.csv.age"]
    ciphertext = path.read_bytes()
    assert ciphertext.startswith(b"age-encryption.org/v1\n")
    assert b"jane.doe" not in ciphertext
    assert pyrage.decrypt(ciphertext, [identity]) == payload
    assert main(["decrypt", str(path), "--identity", str(key_file), "--out",
                 str(tmp_path / "plain")]) == 0  # fmt: skip
    assert (tmp_path / "plain" / "x.csv").read_bytes() == payload
    assert mode(tmp_path / "plain" / "x.csv") == 0o600
    assert mode(tmp_path / "plain") == 0o700


def test_decrypt_with_a_wrong_or_exposed_identity_fails_in_one_line(tmp_path, owner, capsys):
    _, public, key_file = owner
    path = tmp_path / "x.csv.age"
    path.write_bytes(pyrage.encrypt(b"secret row", [x25519.Recipient.from_str(public)]))
    other = tmp_path / "other.key"
    other.write_text(f"{x25519.Identity.generate()}\n")
    other.chmod(0o600)
    assert main(["decrypt", str(path), "--identity", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot decrypt with" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.key", "owner.key", "x.csv.age"]
    key_file.chmod(0o644)
    assert main(["decrypt", str(path), "--identity", str(key_file)]) == 2
    assert "is readable by group or others" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()


def test_retention_apply_encrypts_copies_and_log_and_removes_plain_ones(
    tmp_path, owner, monkeypatch, capsys, sample_catalog, retention_plan
):
    identity, public, _ = owner
    out = tmp_path / "copy"
    args = ["retention", "apply", "customers", "--catalog", str(CATALOG), "--out", str(out),
            "--execute"]  # fmt: skip
    assert main(args) == 0
    assert "restricted outputs are written unencrypted" in capsys.readouterr().err
    monkeypatch.setenv("GOVLIB_RECIPIENTS", f"{public},{x25519.Identity.generate().to_public()}")
    assert main(args) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "customers.parquet.age", "orders.parquet.age", "retention.json",
        "retention_log.ndjson.age", "support_tickets.parquet.age",
    ]  # fmt: skip
    expected = retention.apply_plan(sample_catalog, retention_plan)["customers"]
    plain = io.BytesIO(pyrage.decrypt((out / "customers.parquet.age").read_bytes(), [identity]))
    assert pl.read_parquet(plain).equals(expected)
    log = pyrage.decrypt((out / "retention_log.ndjson.age").read_bytes(), [identity])
    first = json.loads(log.splitlines()[0])["subject"].encode()
    assert all(first not in p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert json.loads((out / "retention.json").read_text())["encrypted"] is True


@pytest.mark.parametrize("where", ["env", "catalog"])
def test_a_bad_recipient_key_is_refused_naming_its_position(tmp_path, monkeypatch, capsys,
                                                             owner, where):  # fmt: skip
    _, public, _ = owner
    cat_path = CATALOG
    if where == "env":
        monkeypatch.setenv("GOVLIB_RECIPIENTS", f"{public}, age1notakey")
        message = "GOVLIB_RECIPIENTS: entry 2 is not an age public key"
    else:
        doc = yaml.safe_load(CATALOG.read_text()) | {"data_root": str(SAMPLE)}
        doc["restricted"] = {"recipients": ["AGE-SECRET-KEY-1XYZ", public]}
        cat_path = tmp_path / "catalog.yaml"
        cat_path.write_text(yaml.safe_dump(doc, sort_keys=False))
        message = r"key 'restricted.recipients': entry 1 is not an age public key"
    out = tmp_path / "copy"
    assert main(["retention", "apply", "customers", "--catalog", str(cat_path), "--out",
                 str(out), "--execute"]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert message.replace("\\", "") in err
    assert "AGE-SECRET" not in err
    assert not out.exists()


def test_erasure_with_recipients_is_encrypted_and_still_proven(tmp_path, owner, monkeypatch,
                                                                capsys, frames):  # fmt: skip
    _, public, _ = owner
    monkeypatch.setenv("GOVLIB_RECIPIENTS", public)
    cid = frames["customers"]["customer_id"][0]
    out = tmp_path / "erased"
    assert main(["subject", "erase", "--customer-id", str(cid), "--catalog", str(CATALOG),
                 "--out", str(out)]) == 0  # fmt: skip
    assert "findable nowhere" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert "erasure.json" in names
    assert all(n.endswith(".age") for n in names if n != "erasure.json")


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_writer_that_fails_leaves_no_file_behind(tmp_path, owner, monkeypatch, encrypted):
    if encrypted:
        monkeypatch.setenv("GOVLIB_RECIPIENTS", owner[1])

    def broken(fh):
        fh.write(b"first rows of a person\n" * 10_000)
        raise RuntimeError("disk on fire")

    files = {"ok.csv": lambda fh: fh.write(b"fine\n"), "broken.csv": broken}
    with pytest.raises(RuntimeError, match="disk on fire"):
        restricted.write_files(None, tmp_path / "out", files, prefix=".t-")
    assert list((tmp_path / "out").rglob("*")) == []


@pytest.mark.parametrize(
    "args",
    [
        ["profile", "orders", "--json", "data/sample/orders.parquet"],
        ["validate", "customers", "--json", "data/sample/customers.csv"],
        ["profile", "data/sample/customers.csv", "--json", "data/sample/customers.csv"],
    ],
    ids=["profile-json", "validate-json", "adhoc-profile"],
)
def test_json_and_suite_outputs_never_overwrite_a_source(project, monkeypatch, capsys, args):
    monkeypatch.chdir(project)
    before = hashes(project / "data" / "sample")
    assert main([*args, "--catalog", "catalog.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "refusing to write" in err or "is the file this command reads" in err
    assert hashes(project / "data" / "sample") == before
