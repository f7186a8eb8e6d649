"""The served database as Parquet files, and a catalog that serves them (``python -m parity parquet``).

For several replicas, or object storage: every table of a built database is written to
``<table>.parquet``, and a small DuckDB catalog file holds a view over each file (and the macros the
queries use), so ``PARITY_DB_PATH=<catalog>`` serves the same numbers from the Parquet files. The
files can sit in a shared folder or in object storage (give ``--location s3://bucket/prefix``;
DuckDB reads it directly, with its httpfs extension and credentials from the environment). The
catalog records the location in ``parquet_source``: the query runner allows reading there and
nowhere else (``allowed_directories``) before it turns external access off.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from parity.ingest.build import MACROS


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary "
        "ORDER BY table_name"
    ).fetchall()
    return [name for (name,) in rows]


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def export_parquet(db_path: Path, out_dir: Path, location: str | None = None) -> Path:
    """Write every table of ``db_path`` to ``out_dir/<table>.parquet`` and the catalog
    ``out_dir/catalog.duckdb`` whose views read them from ``location`` (default: ``out_dir``).
    Returns the catalog's path. The catalog is built beside and swapped in whole, like a load."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    base = (location or str(out_dir)).rstrip("/") + "/"
    # A fresh in-memory instance that attaches the file: ``duckdb.connect(path)`` would hand back an instance
    # already open in this process (the app's, with file access switched off) and COPY would be refused.
    with duckdb.connect() as con:
        con.execute(f"ATTACH {_quoted(str(Path(db_path).resolve()))} AS source (READ_ONLY)")
        con.execute("USE source")
        tables = _tables(con)
        for table in tables:
            target = out_dir / f".{table}.parquet.writing"
            # table names come from the database's own catalogue, never from input
            con.execute(f"COPY {table} TO {_quoted(str(target))} (FORMAT parquet, COMPRESSION zstd)")
            os.replace(target, out_dir / f"{table}.parquet")
    catalog = out_dir / "catalog.duckdb"
    building = out_dir / f".catalog.duckdb.building-{os.getpid()}"
    building.unlink(missing_ok=True)
    with duckdb.connect(str(building)) as con:
        for table in tables:
            con.execute(f"CREATE VIEW {table} AS FROM read_parquet({_quoted(base + table + '.parquet')})")
        con.execute("CREATE TABLE parquet_source (location VARCHAR)")
        con.execute("INSERT INTO parquet_source VALUES ($location)", {"location": base})
        con.execute(MACROS.read_text(encoding="utf-8"))
        con.execute("CHECKPOINT")
    os.replace(building, catalog)
    return catalog


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m parity parquet",
        description="Write a built database as Parquet files with a catalog that serves them (PARITY_DB_PATH).",
    )
    parser.add_argument("--db", type=Path, help="the built database (default: PARITY_DB_PATH)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the Parquet files and catalog.duckdb")
    parser.add_argument(
        "--location", help="where the replicas read the files (default: --out), e.g. s3://bucket/parity"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    from parity.settings import get_settings

    db_path = args.db or get_settings().db_path
    if not Path(db_path).exists():
        print(f"parity parquet: no database at {db_path}; build one with python -m parity ingest.")
        return 2
    catalog = export_parquet(db_path, args.out, args.location)
    print(f"Wrote the tables of {db_path} to {args.out}; serve them with PARITY_DB_PATH={catalog}")
    return 0
