"""Value-free by construction: shared outputs hold a value only where the catalog allows it."""

from datetime import date

from govlib import catalog

AS_OF = date(2025, 1, 31)


def declared(columns: dict[str, dict], primary_key: list[str] | None = None) -> catalog.Dataset:
    """A catalog dataset declaring `columns` (name -> ColumnSpec fields)."""
    return catalog.Dataset(
        source={"path": "t.csv"},
        owner="o",
        steward="s",
        purpose="p",
        lawful_basis="contract",
        primary_key=primary_key or [],
        columns=columns,
    )
