"""The error types govlib raises on purpose, and the exit codes they map to.

Exit codes, the same for every command:

====  ==========================================================================
0     success
1     a gate failed, or a finding (a dataset failed in quality, retention, consent
      or personal data; a tampered history)
2     a usage, configuration or input error: the user can fix it
3     execution failed: a notebook or dataset could not be processed, or an
      unexpected internal error (one line; ``--debug`` shows the traceback)
4     refused to protect personal data (the leak guard, a failed erasure proof)
====  ==========================================================================

Messages name the file, dataset, column position or line at fault and what to do, and never
quote a cell value or a column name taken from data, since either may be personal data.
"""

from __future__ import annotations

import re
from pathlib import Path

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_USAGE = 2
EXIT_EXECUTION = 3
EXIT_PROTECTED = 4

# C0 and C1 control characters (ESC starts ANSI sequences; U+009B is a one-byte CSI) and the
# line and paragraph separators: none may reach a terminal or a log line from data.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: object) -> str:
    r"""`text` as one terminal-safe line: control characters and line breaks become `?`.

    >>> printable("a\x1b[31mb\nc")
    'a?[31mb?c'
    """
    return _UNPRINTABLE.sub("?", str(text))


class GovlibError(Exception):
    """Base for every error govlib raises on purpose: a user can fix its cause (exit 2)."""

    exit_code = EXIT_USAGE


class ExecutionError(GovlibError):
    """Work that could not be carried out although its input was valid (exit 3)."""

    exit_code = EXIT_EXECUTION


class ProtectionError(GovlibError):
    """govlib refused to go on, to protect personal data (exit 4)."""

    exit_code = EXIT_PROTECTED


class CatalogError(GovlibError):
    """The catalog file is missing, malformed or inconsistent.

    It carries every problem found, so a user fixes them all in one go.
    """

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{self.path}: {count} problem{'s' if count != 1 else ''} in the catalog: "
        if count == 1:
            super().__init__(head + self.problems[0])
        else:
            listed = (f"({i}) {p}" for i, p in enumerate(self.problems, start=1))
            super().__init__(head + "; ".join(listed))


class UnknownDatasetError(GovlibError):
    """A dataset name that the catalog does not declare."""

    def __init__(self, name: str, known: list[str], path: Path | str) -> None:
        self.name = name
        listed = ", ".join(sorted(known)) or "none"
        super().__init__(
            f"unknown dataset {name!r} in {path}; known datasets: {listed}. "
            "Check the spelling or add it to the catalog."
        )


class SourceError(GovlibError):
    """A data file that cannot be read safely (format, encoding, schema, location)."""

    def __init__(self, path: Path | str, problem: str, fix: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        message = f"{self.path}: {problem}"
        if fix:
            message += f". {fix}"
        super().__init__(message)


class ParameterError(GovlibError):
    """A bad command-line or notebook parameter."""
