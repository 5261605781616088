"""govlib: a data-governance workbook for customer data on polars.

Start with a dataset of the catalog::

    import govlib

    ds = govlib.open("customers")  # catalog.yaml here, or $GOVLIB_CATALOG
    ds.profile()  # then .validate(), .retention(), .cleanse_plan()

The public names below, and every module (``govlib.charts``, ``govlib.quality``, ...), are
imported on first use, so ``import govlib`` stays fast and loads neither Great Expectations
nor Altair.

>>> import govlib
>>> govlib.datasets().datasets[0].dataset
'customers'
"""

TYPE_CHECKING = False  # typing itself is not imported: it costs more than the rest

__version__ = "0.1.0"

# public name -> the module that defines it; imported on first access
_EXPORTS: dict[str, str] = {
    "open": "govlib.api",
    "datasets": "govlib.api",
    "load_catalog": "govlib.api",
    "find_catalog": "govlib.api",
    "DatasetHandle": "govlib.api",
    "DatasetInfo": "govlib.api",
    "CatalogListing": "govlib.api",
    "Catalog": "govlib.catalog",
    "Record": "govlib.records",
    "DatasetProfile": "govlib.profiling",
    "ColumnProfile": "govlib.profiling",
    "QualityResult": "govlib.quality",
    "CheckResult": "govlib.quality",
    "RetentionReport": "govlib.retention",
    "RuleResult": "govlib.retention",
    "ConsentResult": "govlib.retention",
    "CleansePlan": "govlib.cleansing",
    "GovlibError": "govlib.errors",
    "CatalogError": "govlib.errors",
    "UnknownDatasetError": "govlib.errors",
    "SourceError": "govlib.errors",
    "ParameterError": "govlib.errors",
    "ExecutionError": "govlib.errors",
    "ProtectionError": "govlib.errors",
}

# `open` stays out of `from govlib import *`, which would shadow the built-in
__all__ = sorted(name for name in _EXPORTS if name != "open")

if TYPE_CHECKING:
    from typing import Any

    from govlib.api import CatalogListing as CatalogListing
    from govlib.api import DatasetHandle as DatasetHandle
    from govlib.api import DatasetInfo as DatasetInfo
    from govlib.api import datasets as datasets
    from govlib.api import find_catalog as find_catalog
    from govlib.api import load_catalog as load_catalog
    from govlib.api import open as open
    from govlib.catalog import Catalog as Catalog
    from govlib.cleansing import CleansePlan as CleansePlan
    from govlib.errors import CatalogError as CatalogError
    from govlib.errors import ExecutionError as ExecutionError
    from govlib.errors import GovlibError as GovlibError
    from govlib.errors import ParameterError as ParameterError
    from govlib.errors import ProtectionError as ProtectionError
    from govlib.errors import SourceError as SourceError
    from govlib.errors import UnknownDatasetError as UnknownDatasetError
    from govlib.profiling import ColumnProfile as ColumnProfile
    from govlib.profiling import DatasetProfile as DatasetProfile
    from govlib.quality import CheckResult as CheckResult
    from govlib.quality import QualityResult as QualityResult
    from govlib.records import Record as Record
    from govlib.retention import ConsentResult as ConsentResult
    from govlib.retention import RetentionReport as RetentionReport
    from govlib.retention import RuleResult as RuleResult


def __getattr__(name: str) -> "Any":
    """Import a public name, or a module of govlib, on first access."""
    import importlib

    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later accesses skip this function
        return value
    if not name.startswith("_"):
        from importlib.util import find_spec

        if find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
