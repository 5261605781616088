"""The check engine: Great Expectations suites compiled to Ibis and run where the data is.

A suite stays a GX 1.x JSON file; GX stays the reference and the fallback. Each expectation the
compiler covers (`SUPPORTED`) becomes Ibis predicates and aggregates, and a table's checks run
as one aggregate query plus a grouped pass per uniqueness check, on polars (in process),
DuckDB (embedded, for data beyond memory), or inside the database a source lives in
(PostgreSQL, SQLite, DuckDB files). Results have GX's shape and semantics, proven
against GX by `tests/test_engine_vs_gx.py`; an entry the compiler does not cover is left to GX,
and every result says which engine ran it. Importing this package imports neither Ibis nor GX;
running it imports Ibis, never GX.

The parts:

- `params`: kwargs as GX reads them (parameters, bound coercion, row conditions);
- `regex`: Python patterns for the backends' regex engines (PostgreSQL's included);
- `compiler`, `multicolumn`, `aggregates`: the expectation types;
- `plan`: a compiled check and GX's result arithmetic;
- `backends`: polars and DuckDB, the choice between them, and a database source's own table;
- `run`: one query per table, and results in GX's shape;
- `kwargs`: strict checks of a suite's kwargs at load.
"""

from __future__ import annotations

from govlib.engine.backends import DUCKDB_FROM_BYTES, ENGINES, Engine, choose
from govlib.engine.params import parameters

__all__ = ["DUCKDB_FROM_BYTES", "ENGINES", "Engine", "choose", "parameters"]
