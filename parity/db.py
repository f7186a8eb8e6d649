"""The only module that talks to DuckDB: named queries from ``queries/*.sql`` on a read-only file.

A query file holds one SELECT with ``$name`` parameters and a header comment::

    -- Returns: one row per group: grp, cases, headcount
    -- Params: split, fy_from, fy_to

The header is the contract: ``run`` refuses unknown query names, missing parameters and
unexpected ones, and the tests check that every query returns the columns it promises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from parity.contract import SCHEMA_VERSION

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"

_PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")
_HEADER = re.compile(r"^--\s*(Returns|Params):\s*(.*)$", re.IGNORECASE)


class QueryError(ValueError):
    """A query was asked for by a wrong name or with wrong parameters."""


class DatabaseMissing(FileNotFoundError):
    """No database has been built yet at the configured path."""


class DatabaseOutdated(RuntimeError):
    """The database was written by a Parity whose tables or macros differ from this one's: load it again."""

    def __init__(self, path: Path, found: str | None) -> None:
        self.path, self.found = path, found
        built = f"schema version {found}" if found else "no schema version"
        super().__init__(
            f"The database at {path} was built by another version of Parity ({built}; this version needs "
            f"{SCHEMA_VERSION}). Load the export again: python -m parity ingest DATA_DIR --db {path}"
        )


@dataclass(frozen=True)
class Query:
    name: str
    sql: str
    params: frozenset[str]
    returns: str  # the header's description, ending with the column list after a colon
    columns: tuple[str, ...]


def _parse(path: Path) -> Query:
    text = path.read_text(encoding="utf-8")
    header: dict[str, str] = {}
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if match:
            header[match.group(1).lower()] = match.group(2).strip()
    if "returns" not in header or "params" not in header:
        raise QueryError(f"{path.name}: the header must have '-- Returns:' and '-- Params:' lines")
    declared = frozenset(p.strip() for p in header["params"].split(",") if p.strip() and p.strip() != "none")
    body = "\n".join(line for line in text.splitlines() if not line.strip().startswith("--"))
    used = frozenset(_PARAM.findall(body))
    if declared != used:
        raise QueryError(
            f"{path.name}: the header's params ({', '.join(sorted(declared))}) differ from those the SQL uses "
            f"({', '.join(sorted(used))})"
        )
    columns = tuple(c.strip() for c in header["returns"].rsplit(":", 1)[-1].split(","))
    return Query(path.stem, text, declared, header["returns"], columns)


@cache
def queries(folder: Path = QUERIES_DIR) -> dict[str, Query]:
    """Every named query in the folder, parsed and checked once."""
    return {p.stem: _parse(p) for p in sorted(folder.glob("*.sql"))}


def get_query(name: str) -> Query:
    try:
        return queries()[name]
    except KeyError:
        raise QueryError(f"no query named {name!r}; known: {', '.join(queries())}") from None


def file_version(path: Path) -> tuple[str, int]:
    """Which database a file holds now: its resolved path and when it was written (ingest swaps a new file in
    whole, so a new load is a new version). The key of every cache that depends on the data."""
    return (str(path.resolve()), path.stat().st_mtime_ns)


def _open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection that reads the file at ``path`` as it is now.

    ``duckdb.connect(path)`` would hand back the database this process already has open at that path, if any:
    after an ingest swapped a new file in, a runner opened for it would go on reading the old file's numbers (under
    the new file's version) for as long as any earlier runner stayed open. So each runner has its own in-memory
    database with the file attached read-only, as the catalog every query reads."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH $path AS parity (READ_ONLY)", {"path": str(path)})
        con.execute("USE parity")
    except BaseException:
        con.close()
        raise
    return con


class QueryRunner:
    """A read-only view of one DuckDB file; safe to share across Streamlit sessions.

    Each call runs on its own cursor, because a DuckDB connection is not thread-safe.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Which database this is: its file and when it was written (ingest swaps a new file in whole), read before
        # and after opening it; if a swap came between the two, open the new file.
        while True:
            try:
                version = file_version(self.path)
            except FileNotFoundError:
                raise DatabaseMissing(str(self.path)) from None
            self._con = _open_read_only(self.path)
            if file_version(self.path) == version:
                break
            self._con.close()
        self.data_version: tuple[str, int] = version
        found = self._schema_version()
        if found != SCHEMA_VERSION:
            self._con.close()
            raise DatabaseOutdated(self.path, found)
        # A catalog over Parquet files (parity.ingest.parquet) may read its files and nothing else.
        source = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'parquet_source' AND NOT temporary"
        ).fetchall()[0][0]
        if source:
            locations = [row[0] for row in self._con.execute("SELECT location FROM parquet_source").fetchall()]
            self._con.execute("SET allowed_directories = $locations", {"locations": locations})
        self._con.execute("SET enable_external_access = false")

    def _schema_version(self) -> str | None:
        try:
            found = self._con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        except duckdb.CatalogException:  # not a database ingest wrote
            return None
        return found[0][0] if found else None

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run a named query with exactly the parameters its header declares."""
        query = get_query(name)
        given = dict(params or {})
        missing = query.params - given.keys()
        unexpected = given.keys() - query.params
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing {', '.join(sorted(missing))}")
            if unexpected:
                parts.append(f"unexpected {', '.join(sorted(unexpected))}")
            raise QueryError(f"query {name!r}: {'; '.join(parts)} (it takes: {', '.join(sorted(query.params))})")
        cursor = self._con.cursor()
        try:
            cursor.execute("USE parity")  # a cursor starts in the in-memory catalog (see _open_read_only)
            return cursor.execute(query.sql, given).df()
        finally:
            cursor.close()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> QueryRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
