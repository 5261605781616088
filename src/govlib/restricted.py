"""Restricted outputs: rows of people, written only on request, private, and never over a source.

Every restricted file (subject exports, quarantine, retention, erasure and cleanse copies, the
erasure and change logs) is created 0600 in 0700 folders. When age recipients are configured
(`GOVLIB_RECIPIENTS`, comma-separated, or the catalog's `restricted.recipients`), each is
encrypted to them with age and written as `NAME.age`: the plaintext is streamed from the writer
through a pipe into the encryption and never touches disk, and the machine that runs govlib
holds no key that reads it back. `decrypt` is for the data owner, with an identity file.

No output is written where a declared source would read it: not over a source file, and not
under a name that a source's path or glob matches.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pyrage
from pyrage import x25519

from govlib import outputs
from govlib.errors import GovlibError, ParameterError
from govlib.outputs import OutputError, Writer

if TYPE_CHECKING:
    from govlib.catalog import Catalog

RECIPIENTS_ENV = "GOVLIB_RECIPIENTS"
SUFFIX = ".age"
log = logging.getLogger("govlib")


# -- recipients -------------------------------------------------------------------------------


def recipient_keys(catalog: Catalog | None) -> tuple[str, ...]:
    """The age public keys restricted outputs are encrypted to; empty: written plain.

    `GOVLIB_RECIPIENTS` (comma-separated), when set, replaces the catalog's list. A key that
    is not an age public key is an error naming its position.
    """
    env = os.environ.get(RECIPIENTS_ENV, "").strip()
    if env:
        keys = [key.strip() for key in env.split(",")]
        for position, key in enumerate(keys, 1):
            try:
                x25519.Recipient.from_str(key)
            except pyrage.RecipientError:
                raise ParameterError(
                    f"{RECIPIENTS_ENV}: entry {position} is not an age public key (age1..., as "
                    "printed by `age-keygen -y`); fix or remove it"
                ) from None
        return tuple(keys)
    if catalog is not None and catalog.restricted is not None:
        return tuple(catalog.restricted.recipients)  # checked when the catalog was loaded
    return ()


def _warn_plain() -> None:
    log.warning(
        "restricted outputs are written unencrypted (0600): no age recipients are configured; "
        "set %s or the catalog's restricted.recipients (see README, encryption at rest)",
        RECIPIENTS_ENV,
    )


def sealed(writer: Writer, keys: Iterable[str]) -> Writer:
    """A writer that encrypts `writer`'s bytes to the age `keys` as they are produced.

    The plaintext goes from a thread through an OS pipe into age; only ciphertext is written.
    """
    recipients = [x25519.Recipient.from_str(key) for key in keys]

    def write(fh: BinaryIO) -> None:
        read_fd, write_fd = os.pipe()
        failures: list[BaseException] = []

        def produce() -> None:
            try:
                with os.fdopen(write_fd, "wb") as pipe:
                    writer(pipe)
            except BaseException as exc:  # handed to the caller below
                failures.append(exc)

        thread = threading.Thread(target=produce, name="govlib-seal", daemon=True)
        thread.start()
        try:
            with os.fdopen(read_fd, "rb") as pipe:
                pyrage.encrypt_io(pipe, fh, recipients)
        finally:
            thread.join()
        if failures:
            raise failures[0]

    return write


# -- where outputs may go ---------------------------------------------------------------------


def _match(pattern: tuple[str, ...], parts: tuple[str, ...]) -> bool:
    """Path-segment glob matching as `Path.glob` reads it (`**`: any number of folders)."""
    if not pattern:
        return not parts
    if pattern[0] == "**":
        return any(_match(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return (
        bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and _match(pattern[1:], parts[1:])
    )


def _pattern(catalog: Catalog, source: str) -> tuple[str, ...]:
    """A source path as absolute segments, its literal leading folders resolved."""
    parts = Path(os.path.normpath(catalog.data_dir / source)).parts
    glob = next((i for i, p in enumerate(parts) if any(ch in p for ch in "*?[")), len(parts))
    head = Path(*parts[:glob]).resolve() if glob else Path(parts[0])
    return (*head.parts, *parts[glob:])


def _reader_of(catalog: Catalog, path: Path) -> tuple[str, str] | None:
    """(dataset, how) when a declared source reads `path` or a file at `path` would be read."""
    from govlib import sources

    resolved = path.resolve()
    for name in catalog.names():
        ds = catalog.dataset(name)
        try:
            existing = {p.resolve() for p in sources.files(ds)}
        except GovlibError:
            existing = set()
        if resolved in existing:
            return name, "would overwrite its source file"
        if ds.source.path is not None and _match(_pattern(catalog, ds.source.path), resolved.parts):
            return name, "would be read by its source pattern"
    return None


def check_out(catalog: Catalog | None, out_dir: str | Path, names: Iterable[str]) -> Path:
    """Refuse (exit 2) an output a declared source reads, or one that leaves `out_dir`."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; give --out a folder")
    for name in names:
        target = outputs.inside(out, name)
        reader = _reader_of(catalog, target) if catalog is not None else None
        if reader is not None:
            raise OutputError(
                f"refusing to write into {out}: a file there {reader[1]} (dataset "
                f"{reader[0]}); choose an --out folder apart from the catalog's sources"
            )
    return out


def is_source(catalog: Catalog | None, path: Path) -> bool:
    """True when a declared source reads `path` (it must never be written or removed)."""
    return catalog is not None and _reader_of(catalog, path) is not None


def stored_names(catalog: Catalog | None, names: Iterable[str]) -> list[str]:
    """The names restricted files get on disk: with `.age` when they are encrypted."""
    suffix = SUFFIX if recipient_keys(catalog) else ""
    return [name + suffix for name in names]


# -- writing ----------------------------------------------------------------------------------


def _prepare(catalog: Catalog | None, files: dict[str, Writer]) -> tuple[dict[str, Writer], tuple]:
    keys = recipient_keys(catalog)
    if not keys:
        _warn_plain()
        return files, keys
    return {name + SUFFIX: sealed(writer, keys) for name, writer in files.items()}, keys


def write_files(
    catalog: Catalog | None, out_dir: str | Path, files: dict[str, Writer], *, prefix: str
) -> list[Path]:
    """Write restricted files into `out_dir` (checked, private, encrypted when configured)."""
    stored, _ = _prepare(catalog, files)
    out = check_out(catalog, out_dir, stored)
    outputs.write_files(out, stored, private=True, prefix=prefix)
    return [out / name for name in stored]


def write_bundle(
    catalog: Catalog,
    out_dir: str | Path,
    files: dict[str, Writer],
    *,
    manifest: str,
    fingerprint: dict,
    extra: dict,
) -> dict:
    """`outputs.write_bundle` for restricted files: checked, private, encrypted when configured.

    The manifest (hashes, counts, pseudonyms) stays plain and 0600: govlib reads it to skip
    work already done. A change of recipients writes the set again.
    """
    stored, keys = _prepare(catalog, files)
    out = check_out(catalog, out_dir, [*stored, manifest])
    return outputs.write_bundle(
        out, stored, manifest=manifest, private=True,
        fingerprint=fingerprint | {"recipients": sorted(keys)},
        extra=extra | {"encrypted": bool(keys)},
        protected=lambda path: is_source(catalog, path),
    )  # fmt: skip


# -- decrypting (for the data owner) ----------------------------------------------------------


def _identities(identity_file: Path) -> list[x25519.Identity]:
    try:
        mode = identity_file.stat().st_mode
        lines = identity_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise ParameterError(
            f"cannot read the identity file {identity_file}; pass the age identity file "
            "(AGE-SECRET-KEY-1...) with --identity"
        ) from None
    if mode & 0o077:
        raise ParameterError(
            f"the identity file {identity_file} is readable by group or others; "
            f"run `chmod 600 {identity_file}`"
        )
    identities = []
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            identities.append(x25519.Identity.from_str(line.strip()))
        except pyrage.IdentityError:
            raise ParameterError(
                f"{identity_file}, line {number}: not an age identity (AGE-SECRET-KEY-1...)"
            ) from None
    if not identities:
        raise ParameterError(f"{identity_file} holds no age identity (AGE-SECRET-KEY-1...)")
    return identities


def decrypt(
    path: str | Path,
    identity_file: str | Path,
    out_dir: str | Path | None = None,
    *,
    catalog: Catalog | None = None,
) -> Path:
    """Decrypt a restricted `NAME.age` into `out_dir/NAME` (default: beside it), 0600.

    The plaintext is staged in a 0700 folder and renamed into place only once decrypted whole;
    an existing file is never replaced.
    """
    path = Path(path)
    if path.suffix != SUFFIX or not path.is_file():
        raise ParameterError(f"{path} is not an encrypted restricted file (NAME{SUFFIX})")
    identities = _identities(Path(identity_file))
    out = Path(out_dir) if out_dir is not None else path.parent
    name = path.name.removesuffix(SUFFIX)
    check_out(catalog, out, [name])
    target = outputs.make_dirs(out, private=True) / name
    if target.exists():
        raise ParameterError(f"{target} exists; remove it or choose another --out folder")
    staging = Path(tempfile.mkdtemp(prefix=".decrypt-", dir=out))
    try:
        plain = staging / name
        fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as sink, path.open("rb") as source:
            pyrage.decrypt_io(source, sink, identities)
        plain.replace(target)
    except pyrage.DecryptError:
        raise ParameterError(
            f"{path}: cannot decrypt with {identity_file}: it is not the identity of one of "
            "the file's recipients, or the file is damaged"
        ) from None
    finally:
        for leftover in staging.iterdir():
            leftover.unlink()
        staging.rmdir()
    return target
