"""The analyst's entry point: open a catalog dataset and run each step on it, once.

``govlib.open(name)`` finds the catalog as the command line does (``catalog=``, else the
``GOVLIB_CATALOG`` environment variable, else ``catalog.yaml`` in the current folder) and
returns a handle. Every step of the handle takes the same keyword, ``as_of=`` (the day rules
are judged on; default: the handle's), returns the library's result record, and is computed
once per handle and day: asking again returns the same object.

>>> import govlib
>>> ds = govlib.open("customers")
>>> ds.as_of
datetime.date(2025, 1, 31)
>>> ds.profile().rows
3045
>>> ds.profile() is ds.profile()
True
>>> ds.retention().overdue
120
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from govlib import catalog as catalog_mod
from govlib.errors import CatalogError, ParameterError, printable
from govlib.records import Record

if TYPE_CHECKING:
    import polars as pl

    from govlib.cleansing import CleansePlan
    from govlib.profiling import DatasetProfile
    from govlib.quality import QualityResult
    from govlib.retention import RetentionReport
    from govlib.sources import Loaded, LoadReport

ENV_CATALOG = "GOVLIB_CATALOG"  # the environment variable the command line reads too

CatalogLike = str | os.PathLike[str] | catalog_mod.Catalog | None
DateLike = date | str | None
T = TypeVar("T")


def find_catalog(catalog: str | os.PathLike[str] | None = None) -> Path:
    """The catalog file the command line would use.

    Parameters
    ----------
    catalog
        A path; default: ``$GOVLIB_CATALOG``, else ``catalog.yaml`` in the current folder.

    Returns
    -------
    Path
        The path as given (relative paths start at the current folder); it may not exist.

    Examples
    --------
    >>> find_catalog("other.yaml")
    PosixPath('other.yaml')
    """
    if catalog is not None:
        return Path(catalog)
    return Path(os.environ.get(ENV_CATALOG) or catalog_mod.DEFAULT_CATALOG)


def load_catalog(catalog: CatalogLike = None) -> catalog_mod.Catalog:
    """Load and validate the catalog found as the command line finds it.

    Parameters
    ----------
    catalog
        A loaded `Catalog` (returned as it is), a path, or None (see `find_catalog`).

    Returns
    -------
    Catalog
        The validated catalog.

    Raises
    ------
    CatalogError
        The file is missing or holds mistakes (all of them are listed).

    Examples
    --------
    >>> load_catalog().names()
    ['customers', 'orders', 'consent_events', 'support_tickets']
    """
    if isinstance(catalog, catalog_mod.Catalog):
        return catalog
    path = find_catalog(catalog)
    if not path.is_file():
        raise CatalogError(
            path,
            [
                "file not found. Pass catalog=PATH, set GOVLIB_CATALOG, or work in the "
                "folder that holds catalog.yaml"
            ],
        )
    return catalog_mod.load(path)


def parse_as_of(value: DateLike, default: date) -> date:
    """The day to judge on: `value` as a date (ISO text accepted), else `default`.

    Examples
    --------
    >>> parse_as_of("2025-06-30", date(2025, 1, 31))
    datetime.date(2025, 6, 30)
    >>> parse_as_of(None, date(2025, 1, 31))
    datetime.date(2025, 1, 31)
    """
    if value is None:
        return default
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ParameterError(
        f"as_of must be a date or YYYY-MM-DD text, got {printable(repr(value))[:40]}; "
        "pass e.g. as_of='2025-01-31'"
    )


@dataclass(frozen=True, slots=True)
class DatasetInfo(Record):
    """What the catalog says about one dataset: who answers for it and why it is kept."""

    dataset: str
    description: str
    owner: str
    steward: str
    purpose: str
    lawful_basis: str
    source: str
    personal_columns: list[str]
    suite: str | None
    rules: int  # retention and consent rules

    @classmethod
    def of(cls, spec: catalog_mod.Dataset) -> DatasetInfo:
        """The catalog's entry for `spec`, as a record."""
        return cls(
            dataset=spec.name,
            description=spec.description,
            owner=spec.owner,
            steward=spec.steward,
            purpose=spec.purpose,
            lawful_basis=str(spec.lawful_basis),
            source=_source(spec),
            personal_columns=spec.pii_columns(),
            suite=spec.suite,
            rules=spec.rule_count,
        )


@dataclass(frozen=True, slots=True)
class CatalogListing(Record):
    """Every dataset a catalog declares, one row each."""

    ROWS: ClassVar[str | None] = "datasets"

    catalog: str
    as_of: str | None
    datasets: list[DatasetInfo]

    def title(self) -> str:
        """A one-line caption for tables."""
        return f"{self.catalog}: {len(self.datasets)} datasets"


def datasets(catalog: CatalogLike = None) -> CatalogListing:
    """List the datasets of the catalog found as the command line finds it.

    Parameters
    ----------
    catalog
        A loaded `Catalog`, a path, or None (see `find_catalog`).

    Returns
    -------
    CatalogListing
        One `DatasetInfo` per dataset; ``.to_polars()`` gives them as a table.

    Examples
    --------
    >>> listing = datasets()
    >>> [d.dataset for d in listing.datasets]
    ['customers', 'orders', 'consent_events', 'support_tickets']
    >>> listing.to_polars().select("dataset", "lawful_basis").row(1)
    ('orders', 'legal_obligation')
    """
    cat = load_catalog(catalog)
    return CatalogListing(
        catalog=str(cat.path),
        as_of=cat.as_of.isoformat() if cat.as_of else None,
        datasets=[DatasetInfo.of(cat.dataset(name)) for name in cat.names()],
    )


def open(name: str, catalog: CatalogLike = None, as_of: DateLike = None) -> DatasetHandle:
    """Open a catalog dataset for analysis.

    Nothing is read yet: the source is read on first use of ``.frame`` or of a step.

    Parameters
    ----------
    name
        The dataset's name in the catalog.
    catalog
        A loaded `Catalog`, a path, or None: ``$GOVLIB_CATALOG``, else ``catalog.yaml`` in the
        current folder, as the command line finds it.
    as_of
        The day rules are judged on (a date or ``YYYY-MM-DD``); default: the catalog's
        ``as_of``, else today.

    Returns
    -------
    DatasetHandle
        The handle: ``.frame``, ``.profile()``, ``.validate()``, ``.retention()``,
        ``.cleanse_plan()``.

    Raises
    ------
    UnknownDatasetError
        The catalog declares no dataset called `name` (the message lists those it does).
    CatalogError
        The catalog file is missing or invalid.

    Examples
    --------
    >>> import govlib
    >>> ds = govlib.open("customers", as_of="2025-06-30")
    >>> ds.name, ds.as_of.isoformat(), ds.spec.owner
    ('customers', '2025-06-30', 'Head of Customer Operations')
    """
    cat = load_catalog(catalog)
    spec = cat.dataset(name)
    return DatasetHandle(spec, as_of=parse_as_of(as_of, cat.as_of or date.today()))


class DatasetHandle:
    """One catalog dataset on one day, with each step's result computed once.

    Make one with `open`. Results are cached per step and keyword arguments: calling a step
    again with the same arguments returns the same record; another ``as_of`` computes anew.
    The records are shared: treat them as read-only.

    Attributes
    ----------
    name : str
        The dataset's name in the catalog.
    spec : govlib.catalog.Dataset
        The catalog's declaration of the dataset.
    catalog : govlib.catalog.Catalog
        The catalog that declares it.
    as_of : datetime.date
        The default day of every step.
    """

    def __init__(self, spec: catalog_mod.Dataset, *, as_of: date) -> None:
        self.spec = spec
        self.catalog: catalog_mod.Catalog = spec.catalog
        self.name: str = spec.name
        self.as_of: date = as_of
        self._results: dict[tuple[Any, ...], Any] = {}

    def _once(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """The cached result under `key`, computing it on first use."""
        if key not in self._results:
            self._results[key] = compute()
        return cast("T", self._results[key])

    def _day(self, as_of: DateLike) -> date:
        return parse_as_of(as_of, self.as_of)

    def _loaded(self) -> Loaded:
        from govlib import sources

        return self._once(("load",), lambda: sources.load(self.spec))

    @property
    def frame(self) -> pl.LazyFrame:
        """The dataset as a checked polars LazyFrame (read once, on first use).

        Examples
        --------
        >>> import govlib
        >>> ds = govlib.open("customers")
        >>> ds.frame.select("customer_id").collect().height
        3045
        """
        return self._loaded().frame

    @property
    def load_report(self) -> LoadReport:
        """What reading the source found: files, rows, null tokens met, warnings."""
        return self._loaded().report

    def info(self) -> DatasetInfo:
        """The catalog's entry for the dataset, as a record (nothing is read)."""
        return DatasetInfo.of(self.spec)

    def computed(self) -> list[str]:
        """The steps computed so far, as ``step@as_of`` in the order they ran."""
        return [
            "@".join(str(part) for part in key if part is not None)
            for key in self._results
            if key[0] != "load"
        ]

    def profile(self, *, as_of: DateLike = None) -> DatasetProfile:
        """Profile the dataset: statistics, PII findings, catalog mismatches, alerts.

        Parameters
        ----------
        as_of
            The day future dates are counted against; default: the handle's.

        Returns
        -------
        DatasetProfile
            Aggregates and masked shapes; values only for publishable columns.

        Examples
        --------
        >>> import govlib
        >>> ds = govlib.open("customers")
        >>> p = ds.profile()
        >>> p.rows, p.column("email").nulls
        (3045, 30)
        """
        day = self._day(as_of)

        def compute() -> DatasetProfile:
            from govlib import profiling

            if self.spec.source.is_database:  # computed inside the database, never read whole
                return profiling.profile_dataset(self.spec, as_of=day)
            return profiling.profile(self.frame, dataset=self.name, as_of=day, declared=self.spec)

        return self._once(("profile", day), compute)

    def validate(self, *, as_of: DateLike = None, suite: str | None = None) -> QualityResult:
        """Validate the dataset with its Great Expectations suite and govlib's own checks.

        Parameters
        ----------
        as_of
            The day relative date bounds are judged on; default: the handle's.
        suite
            A suite name under ``expectations/``; default: the catalog's for the dataset.

        Returns
        -------
        QualityResult
            Every check's counts (never a value), scores per dimension and the gate's verdict.

        Examples
        --------
        >>> import govlib
        >>> result = govlib.open("customers").validate()
        >>> result.status
        'failed'
        >>> [c.unexpected_count for c in result.checks
        ...  if c.check == "expect_column_values_to_not_be_null" and c.column == "email"]
        [30]
        """
        day = self._day(as_of)

        def compute() -> QualityResult:
            from govlib import quality

            return quality.validate(self.spec, as_of=day, suite=suite, frame=self.frame.collect())

        return self._once(("validate", day, suite), compute)

    def retention(self, *, as_of: DateLike = None) -> RetentionReport:
        """Judge every retention and consent rule of the dataset.

        Parameters
        ----------
        as_of
            The day periods are counted to; default: the handle's.

        Returns
        -------
        RetentionReport
            Per rule: records in scope, due, overdue; per consent purpose: the states.

        Examples
        --------
        >>> import govlib
        >>> report = govlib.open("customers").retention()
        >>> [(r.rule, r.overdue) for r in report.rules]
        [('closed_accounts', 60), ('inactive_accounts', 60)]
        """
        day = self._day(as_of)

        def compute() -> RetentionReport:
            from govlib import retention

            return retention.evaluate(self.spec, as_of=day, lf=self.frame)

        return self._once(("retention", day), compute)

    def cleanse_plan(self, *, as_of: DateLike = None) -> CleansePlan:
        """Plan the cleanse of the dataset (a dry run: nothing is written).

        Reads every dataset of the catalog, since merging duplicates re-points the datasets
        that refer to this one.

        Parameters
        ----------
        as_of
            Taken so every step has the same keywords; the plan is cached per day.

        Returns
        -------
        CleansePlan
            Standardisation counts, duplicate pairs, merges and quarantine; ``.summary()``
            gives the counts. It holds rows: keep it in the session, share only the summary.

        Examples
        --------
        >>> import govlib
        >>> govlib.open("customers").cleanse_plan().summary()["records_merged"]
        45
        """
        day = self._day(as_of)

        def compute() -> CleansePlan:
            from govlib import cleansing, sources

            frames = {
                other: (self.frame if other == self.name else sources.scan(cat_ds)).collect()
                for other, cat_ds in self.catalog.datasets.items()
            }
            return cleansing.plan(self.catalog, self.name, frames=frames)

        return self._once(("cleanse_plan", day), compute)

    def _rows(self) -> str:
        """The row count if a step has counted it already; nothing is read for it."""
        for key, value in self._results.items():
            if key[0] == "profile":
                return f"{value.rows:,}"
        return "not counted yet"

    def __repr__(self) -> str:
        spec = self.spec
        return (
            f"<govlib dataset {self.name!r} as of {self.as_of.isoformat()}: owner "
            f"{spec.owner!r}, purpose {spec.purpose!r}, rows {self._rows()}>"
        )

    def _repr_html_(self) -> str:
        spec = self.spec
        fields = {
            "dataset": self.name,
            "as of": self.as_of.isoformat(),
            "owner": spec.owner,
            "steward": spec.steward,
            "purpose": spec.purpose,
            "lawful basis": str(spec.lawful_basis),
            "source": _source(spec),
            "personal columns": ", ".join(spec.pii_columns()) or "-",
            "suite": spec.suite or "-",
            "rows": self._rows(),
            "computed": ", ".join(self.computed()) or "-",
        }
        body = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in fields.items()
        )
        return f'<table class="govlib-dataset">{body}</table>'


def _source(spec: catalog_mod.Dataset) -> str:
    """Where the dataset lives, safe to show (a path, or a database without its password)."""
    from govlib import databases

    return databases.location(spec.source)
