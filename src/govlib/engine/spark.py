"""Spark: the compiled checks on PySpark through Ibis, for data beyond one machine.

`session` gives the Spark session: Spark Connect when `SPARK_REMOTE` is set (`sc://host:15002`),
else a classic session whose master is `GOVLIB_SPARK_MASTER`, else `SPARK_MASTER`, else
`local[2]`; logs quiet, no web UI, session time zone UTC. `open_dataset` has Spark read a
catalog dataset's Parquet, CSV or NDJSON files itself (a local path or glob below the data root,
or an `s3a://`, `hdfs://` or `file://` URI as given) with the catalog's column types, and wraps
the result as an Ibis table: no row travels to Python, only the aggregates the checks ask for.

PySpark is an optional extra (`pip install govlib[spark]`); without it, asking for the Spark
engine is a usage error (exit 2) saying so.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import itertools
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from govlib.engine.backends import Data
from govlib.errors import GovlibError, SourceError

if TYPE_CHECKING:
    from govlib.catalog import Dataset

INSTALL = "pip install govlib[spark]"
DEFAULT_MASTER = "local[2]"
# Settings of a classic session: small shuffles for one machine, no UI, no network fetches.
CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.adaptive.enabled": "true",
}
SPARK_TYPE = {
    "string": "string",
    "int64": "bigint",
    "float64": "double",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp",
}
# Python's strftime directives as Spark's datetime patterns (those a catalog `format:` uses).
_PATTERN = {
    "%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss",
    "%y": "yy", "%b": "MMM", "%B": "MMMM", "%f": "SSSSSS", "%%": "%",
}  # fmt: skip
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_VIEWS = itertools.count(1)


class SparkMissing(GovlibError):
    """PySpark is not installed: the Spark engine needs the `spark` extra (exit 2)."""

    def __init__(self) -> None:
        super().__init__(f"the Spark engine needs PySpark: {INSTALL}")


def master() -> str:
    """The master URL of a classic session: GOVLIB_SPARK_MASTER, SPARK_MASTER, else local[2]."""
    for name in ("GOVLIB_SPARK_MASTER", "SPARK_MASTER"):
        if os.environ.get(name):
            return os.environ[name]
    return DEFAULT_MASTER


def local_settings(url: str) -> dict[str, str]:
    """Shuffle partitions as many as a local master's cores (a cluster keeps its own).

    >>> local_settings("local[2]"), local_settings("spark://host:7077")
    ({'spark.sql.shuffle.partitions': '2'}, {})
    """
    found = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", url)
    if found is None:
        return {}
    cores = found.group(1)
    count = int(cores) if cores and cores != "*" else (os.cpu_count() or 1)
    return {"spark.sql.shuffle.partitions": str(max(count, 1))}


@functools.cache
def session(**conf: str) -> Any:
    """The Spark session (one per process): Spark Connect with SPARK_REMOTE, else classic.

    `conf` adds settings to a classic session (e.g. `spark.driver.memory`).
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise SparkMissing() from None
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        return _remote(SparkSession, remote)
    url = master()
    logging = Path(__file__).with_name("log4j2.properties").as_uri()
    quiet = {"spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={logging}"}
    settings = {**CONF, **quiet, **local_settings(url), **conf}
    builder = SparkSession.builder.master(url).appName("govlib")
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# retries of the first call to a Spark Connect server: pyspark's default policy waits about ten
# minutes for a server that is not there
HANDSHAKE_RETRIES = 3


def _remote(builder: Any, remote: str) -> Any:
    """A Spark Connect session, its server checked with a few quick tries before any work."""
    try:
        spark = builder.builder.remote(remote).getOrCreate()
        from pyspark.sql.connect.client.retries import DefaultPolicy
    except ImportError:
        raise GovlibError(
            f"SPARK_REMOTE needs the Spark Connect client: {INSTALL} (it brings pyspark[connect])"
        ) from None
    saved = spark.client.get_retry_policies()
    spark.client.set_retry_policies([DefaultPolicy(max_retries=HANDSHAKE_RETRIES)])
    try:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    except Exception as exc:
        with contextlib.suppress(Exception):
            spark.stop()
        raise GovlibError(
            f"cannot reach the Spark Connect server at {remote_address(remote)} "
            f"({type(exc).__name__}): start it, or unset SPARK_REMOTE for a local session"
        ) from None
    finally:
        spark.client.set_retry_policies(saved)  # a job's calls keep their full retries
    return spark


def remote_address(remote: str) -> str:
    """A Spark Connect URL's host and port, without its parameters (a token among them).

    >>> remote_address("sc://spark.example:15002/;token=secret;user_id=me")
    'spark.example:15002'
    >>> remote_address("sc://secret;x@spark.example:15002")
    'spark.example:15002'
    """
    netloc = remote.split("://", 1)[-1].split("/", 1)[0]
    return netloc.rsplit("@", 1)[-1].split(";", 1)[0] or "?"


def connect(spark: Any | None = None) -> Any:
    """An Ibis connection on the Spark session."""
    import ibis

    return ibis.pyspark.connect(spark if spark is not None else session())


def locations(ds: Dataset) -> list[str]:
    """The paths Spark reads for a dataset: a URI as given, else its files below the data root."""
    path = ds.source.path
    if path is None:
        raise SourceError(ds.name, "a database source", "The Spark engine reads files")
    if _URI.match(path):
        return [path]
    from govlib import sources

    return [str(p.resolve()) for p in sources.files(ds)]


def spark_pattern(fmt: str) -> str:
    """A strftime format as a Spark datetime pattern.

    >>> spark_pattern("%d/%m/%Y %H:%M")
    'dd/MM/yyyy HH:mm'
    """
    out, i = [], 0
    while i < len(fmt):
        part = fmt[i : i + 2]
        if part in _PATTERN:
            out.append(_PATTERN[part])
            i += 2
        elif fmt[i].isalpha():
            out.append(f"'{fmt[i]}'")
            i += 1
        else:
            out.append(fmt[i])
            i += 1
    return "".join(out)


def _format_of(ds: Dataset, paths: list[str]) -> str:
    if ds.source.format:
        return ds.source.format
    name = paths[0].lower().removesuffix(".gz").removesuffix(".gzip")
    for suffix, kind in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"),
                         (".tsv", "csv"), (".txt", "csv"), (".ndjson", "ndjson"),
                         (".jsonl", "ndjson"), (".json", "ndjson")):  # fmt: skip
        if name.endswith(suffix):
            return kind
    raise SourceError(ds.name, "a file format Spark is not asked to read here", "Set 'format:'")


def read(ds: Dataset, spark: Any | None = None) -> Any:
    """The dataset as a Spark DataFrame, typed as the catalog declares (read by Spark)."""
    spark = spark if spark is not None else session()
    paths = locations(ds)
    kind = _format_of(ds, paths)
    src = ds.source
    if kind == "parquet":
        frame = spark.read.parquet(*paths)
    elif kind == "csv":
        reader = spark.read.options(
            header=str(src.has_header).lower(), sep=src.delimiter, encoding=src.encoding,
            mode="FAILFAST", inferSchema="false", multiLine="true", escape='"',
        )  # fmt: skip
        frame = reader.csv(paths)
        if not src.has_header:
            frame = frame.toDF(*ds.columns)
    else:
        frame = spark.read.option("mode", "FAILFAST").json(paths)
        # Spark orders inferred JSON fields by name: the catalog's order first, as polars reads
        declared = [c for c in ds.columns if c in frame.columns]
        frame = frame.select(*declared, *(c for c in frame.columns if c not in declared))
    return _typed(ds, frame, text=kind != "parquet")


def _typed(ds: Dataset, frame: Any, *, text: bool) -> Any:
    """Columns cast to their declared types; text sources with null tokens and formats read."""
    from pyspark.sql import functions as F

    nulls = [v for v in ds.source.null_values] if text else []
    present = set(frame.columns)
    out = []
    for name in frame.columns:
        col = F.col(f"`{name}`")
        spec = ds.columns.get(name)
        if spec is not None and text and nulls:
            col = F.when(col.cast("string").isin(nulls), F.lit(None)).otherwise(col)
        if spec is not None:
            col = _cast(col, spec.type, spec.format, text=text)
        out.append(col.alias(name))
    missing = [c for c in ds.columns if c not in present]
    if missing:
        raise SourceError(ds.name, f"{len(missing)} declared columns are not in the data",
                          "Compare the catalog's columns with the files")  # fmt: skip
    return frame.select(*out)


def _cast(col: Any, kind: str, fmt: str | None, *, text: bool) -> Any:
    from pyspark.sql import functions as F

    if kind == "datetime":
        if fmt and text:
            return F.to_timestamp(col.cast("string"), spark_pattern(fmt))
        return col.cast("timestamp")
    if kind == "date":
        if fmt and text:
            return F.to_date(col.cast("string"), spark_pattern(fmt))
        return col.cast("date")
    if kind == "bool" and text:
        return F.lower(F.trim(col.cast("string"))).cast("boolean")
    return col.cast(SPARK_TYPE[kind])


def rows(con: Any, expr: Any) -> list[dict[str, Any]]:
    """A small query's rows as dicts, collected by Spark itself (no pandas in between)."""
    with _sockets():
        return [row.asDict() for row in con.raw_sql(con.compile(expr)).collect()]


def arrow(con: Any, expr: Any) -> Any:
    """A query's result as an Arrow table (the columns asked for only)."""
    with _sockets():
        return con.raw_sql(con.compile(expr)).toArrow()


@contextlib.contextmanager
def _sockets() -> Iterator[None]:
    """Close the local socket PySpark reads results over (it leaves that to the collector).

    Left to a later collection, the socket would raise a ResourceWarning there.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        yield
        gc.collect(0)


def sample(data: Data, ds: Dataset, n: int, columns: list[str]) -> pl.DataFrame:
    """At most `n` rows of `columns`, ordered by primary key (else every column), from Spark.

    A table of at most `n` rows is read whole; a larger one is sampled by Spark (seeded), as
    `govlib.databases.sample` samples a database's.
    """
    from govlib.databases import SAMPLE_SEED

    table = data.table
    order = ds.primary_key or list(ds.columns)
    total = int(rows(data.con, table.aggregate(n=table.count()))[0]["n"] or 0)
    if total > n:  # Spark's own seeded sample: Ibis gives pyspark no seed
        frame = data.con.raw_sql(data.con.compile(table))
        view = _view("sample")
        frame.sample(fraction=n / total, seed=SAMPLE_SEED).createOrReplaceTempView(view)
        table = data.con.table(view)
    keyed = list(dict.fromkeys([*columns, *order]))
    drawn = table.select(*keyed).order_by(*order).limit(n)
    return pl.DataFrame(pl.from_arrow(arrow(data.con, drawn))).select(columns)


def open_frame(frame: pl.DataFrame | pl.LazyFrame, spark: Any | None = None) -> Data:
    """A polars frame handed to Spark as Arrow (for data already in memory: tests, notebooks)."""
    spark = spark if spark is not None else session()
    data = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    view = _view("frame")
    spark.createDataFrame(
        data.to_arrow(compat_level=pl.CompatLevel.oldest())
    ).createOrReplaceTempView(view)
    con = connect(spark)
    return Data(con.table(view), "pyspark", con)


def _view(label: str) -> str:
    """A temporary view's name, unique in the session."""
    return f"govlib_{re.sub(r'[^A-Za-z0-9_]', '_', label)}_{next(_VIEWS)}"


def open_dataset(ds: Dataset, spark: Any | None = None) -> Data:
    """A catalog dataset read by Spark itself, as an Ibis table on the pyspark backend."""
    spark = spark if spark is not None else session()
    con = connect(spark)
    frame = read(ds, spark)
    name = _view(ds.name)
    frame.createOrReplaceTempView(name)
    return Data(con.table(name), "pyspark", con)
