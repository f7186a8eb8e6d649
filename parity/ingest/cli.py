"""``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD]``."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from parity.ingest.build import EXIT_REFUSED, FileCounts, ingest, kept_note, rejects_path_for


def _counts_table(files: list[FileCounts]) -> str:
    header = ("file", "read", "loaded", "rejected")
    rows = [(c.file, f"{c.rows_read:,}", f"{c.rows_loaded:,}", f"{c.rows_rejected:,}") for c in files]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m parity ingest",
        description="Validate an export (CSV, gzipped CSV or Parquet) and load it into the DuckDB file.",
        epilog="Exit status: 0 every row loaded; 1 some rows rejected (see the report); 2 load refused.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder holding the export files")
    parser.add_argument("--db", type=Path, help="DuckDB file to write (default: PARITY_DB_PATH)")
    parser.add_argument(
        "--extract-date", type=_parse_date, help="date open cases are censored at (default: latest date in the data)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        from parity.settings import get_settings

        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError names the bad PARITY_* variable
        print(f"parity ingest: the settings are not valid: {exc}\nFix the PARITY_* variables or .env.", file=sys.stderr)
        return EXIT_REFUSED
    db_path = args.db or settings.db_path
    extract_date = args.extract_date or settings.extract_date
    rejects_path = rejects_path_for(db_path)
    try:
        result = ingest(args.data_dir, db_path, extract_date, rejects_path=rejects_path)
    except Exception as exc:  # a bug, not bad input: say so plainly, the old database is still there
        print(
            f"parity ingest failed unexpectedly ({type(exc).__name__}: {exc}).\n"
            f"{kept_note(db_path)} Please report this message.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if result.status == EXIT_REFUSED:
        for warning in result.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(result.message, file=sys.stderr)
        return result.status
    shown_extract = result.extract_date.isoformat() if result.extract_date else "none (no valid dates)"
    source = "given" if extract_date else "latest date in the data"
    print(f"Loaded {args.data_dir} into {db_path} (extract date {shown_extract}, {source}).\n")
    print(_counts_table(result.files))
    print()
    for warning in result.warnings:
        print(f"Warning: {warning}")
    print(result.message)
    print(f"Rejects report: {result.rejects_path}" + (" (also the table rejects)" if result.status else " (empty)"))
    return result.status
