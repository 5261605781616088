import pytest

from govlib import privacy
from govlib.cli import main
from govlib.privacy import PseudonymKeyError

from .conftest import CATALOG

# Real outputs of `openssl rand -hex 32` and `openssl rand -base64 32`.
OPENSSL_HEX = "67155ebc20f412e6b058d1c362644c9e2f24676f7360388964bb56aff11cff10"
OPENSSL_BASE64 = "bFdNNHCJ0/q1wp0YdfVsd4bGqcZzbJOxh19QMnB9fN0="


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.delenv(privacy.KEY_FILE_ENV, raising=False)


def key_file(tmp_path, text: str, mode: int):
    path = tmp_path / "govlib.key"
    path.write_text(text + "\n")
    path.chmod(mode)
    return path


@pytest.mark.parametrize("mode", [0o666, 0o644, 0o640, 0o604, 0o620])
def test_key_file_open_to_group_or_others_is_refused_with_chmod_advice(tmp_path, mode):
    path = key_file(tmp_path, OPENSSL_HEX, mode)
    with pytest.raises(PseudonymKeyError, match=rf"mode 0{mode:o}\); run `chmod 600 ") as exc:
        privacy.load_key(path)
    assert OPENSSL_HEX not in str(exc.value)


@pytest.mark.parametrize("key", [OPENSSL_HEX, OPENSSL_BASE64])
def test_private_key_file_from_openssl_is_accepted(tmp_path, key):
    assert privacy.load_key(key_file(tmp_path, key, 0o600)) == key.encode()
    assert privacy.load_key(key_file(tmp_path, key, 0o400)) == key.encode()


@pytest.mark.parametrize("key", [OPENSSL_HEX, OPENSSL_BASE64])
def test_openssl_key_in_the_environment_is_accepted(monkeypatch, key):
    monkeypatch.setenv(privacy.KEY_ENV, key)
    assert privacy.load_key() == key.encode()


WEAK = [
    (" " * 16, r"holds only 1 distinct byte values \(at least 8 needed\)"),
    ("a" * 16, r"holds only 1 distinct byte values \(at least 8 needed\)"),
    ("passwordpassword", r"holds only 7 distinct byte values"),
    ("abcdefghabcdefgh", r"repeats a pattern of 8 bytes"),
    ("k3Yx9Qw!" * 4, r"repeats a pattern of 8 bytes"),
    ("0123456789abcdef", r"is a run of neighbouring characters"),
    ("aqazawaeaxadacar", r"has an estimated entropy of 40 bits \(at least 48 needed\)"),
    ("short", r"is 5 bytes"),
]


@pytest.mark.parametrize(("key", "match"), WEAK)
def test_weak_key_in_the_environment_is_refused_without_quoting_it(monkeypatch, key, match):
    monkeypatch.setenv(privacy.KEY_ENV, key)
    with pytest.raises(PseudonymKeyError, match=rf"the key in GOVLIB_KEY {match}") as exc:
        privacy.load_key()
    assert key not in str(exc.value)
    assert "openssl rand -hex 32" in str(exc.value)


@pytest.mark.parametrize(("key", "match"), WEAK[1:])
def test_weak_key_in_a_private_file_is_refused(tmp_path, key, match):
    path = key_file(tmp_path, key, 0o600)
    with pytest.raises(PseudonymKeyError, match=rf"the key in key file {path} {match}"):
        privacy.load_key(path)


def test_key_file_of_spaces_is_refused_as_empty(tmp_path):
    path = key_file(tmp_path, " " * 16, 0o600)
    with pytest.raises(PseudonymKeyError, match=r"is 0 bytes; use at least 16 random bytes"):
        privacy.load_key(path)


def test_key_file_larger_than_a_key_is_refused(tmp_path):
    path = key_file(tmp_path, OPENSSL_HEX * 20, 0o600)
    with pytest.raises(PseudonymKeyError, match=r"holds more than 1024 bytes: point at the key"):
        privacy.load_key(path)


def test_world_readable_key_file_on_the_command_line_is_one_line_and_exit_2(tmp_path, capsys):
    path = key_file(tmp_path, OPENSSL_HEX, 0o644)
    args = ["retention", "apply", "customers", "--catalog", str(CATALOG), "--out",
            str(tmp_path / "o"), "--execute", "--key-file", str(path)]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (
        f"govlib: error: key file {path} can be read or changed by group or others (mode 0644); "
        f"run `chmod 600 {path}`\n"
    )
    assert not (tmp_path / "o").exists()
