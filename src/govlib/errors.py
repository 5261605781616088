"""The error types govlib raises on purpose.

Every one of them is a user-facing mistake or condition: the CLI prints its message on one line
and exits with code 2. Messages name the file, dataset, column or line at fault and what to do,
and never quote a cell value, since values may be personal data.
"""

from __future__ import annotations

from pathlib import Path


class GovlibError(Exception):
    """Base for every error govlib raises on purpose."""

    exit_code = 2


class CatalogError(GovlibError):
    """The catalog file is missing, malformed or inconsistent.

    It carries every problem found, so a user fixes them all in one go.
    """

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{self.path}: {count} problem{'s' if count != 1 else ''} in the catalog"
        super().__init__(head + ":\n  - " + "\n  - ".join(self.problems))


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
