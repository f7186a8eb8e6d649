"""``python -m parity ingest DATA_DIR`` and ``python -m parity check DATA_DIR``: one report for both."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from parity.ingest.build import (
    EXIT_REFUSED,
    FileCounts,
    IngestResult,
    check,
    ingest,
    kept_note,
    reject_reasons,
    rejects_path_for,
)

EXIT_STATUS = "Exit status: 0 every row loaded; 1 some rows rejected (see the report); 2 load refused."


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


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=EXIT_STATUS)
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder holding the export files")
    parser.add_argument(
        "--extract-date", type=_parse_date, help="date open cases are censored at (default: latest date in the data)"
    )
    parser.add_argument(
        "--accept-rejects",
        action="store_true",
        help="load the good rows even when a file loses more than PARITY_MAX_REJECT_SHARE of its rows",
    )
    return parser


def _settings_or_none(command: str):  # noqa: ANN202 - Settings, imported late to keep --help fast
    try:
        from parity.settings import get_settings

        return get_settings()
    except Exception as exc:  # pydantic's ValidationError names the bad PARITY_* variable
        print(
            f"parity {command}: the settings are not valid: {exc}\nFix the PARITY_* variables or .env.", file=sys.stderr
        )
        return None


def _print_report(result: IngestResult, extract_date: date | None, loaded_into: str) -> None:
    """The report ingest and check share: counts per file, warnings, the commonest reasons, the verdict."""
    if result.status == EXIT_REFUSED:
        if result.files:
            print(_counts_table(result.files), file=sys.stderr)
        for warning in result.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(result.message, file=sys.stderr)
        return
    shown_extract = result.extract_date.isoformat() if result.extract_date else "none (no valid dates)"
    source = "given" if extract_date else "latest date in the data"
    print(f"{loaded_into} (extract date {shown_extract}, {source}).\n")
    print(_counts_table(result.files))
    print()
    for warning in result.warnings:
        print(f"Warning: {warning}")
    reasons = reject_reasons(result.rejects, limit=5)
    if reasons:
        print("Most common reasons:")
        for r in reasons:
            print(f"  - {r}")
    print(result.message)


def main(argv: list[str] | None = None) -> int:
    """``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD] [--accept-rejects]``."""
    parser = _parser(
        "python -m parity ingest", "Validate an export (CSV, gzipped CSV or Parquet) and load it into the DuckDB file."
    )
    parser.add_argument("--db", type=Path, help="DuckDB file to write (default: PARITY_DB_PATH)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    settings = _settings_or_none("ingest")
    if settings is None:
        return EXIT_REFUSED
    db_path = args.db or settings.db_path
    extract_date = args.extract_date or settings.extract_date
    rejects_path = rejects_path_for(db_path)
    limit = None if args.accept_rejects else settings.max_reject_share
    try:
        result = ingest(args.data_dir, db_path, extract_date, rejects_path=rejects_path, max_reject_share=limit)
    except Exception as exc:  # a bug, not bad input: say so plainly, the old database is still there
        print(
            f"parity ingest failed unexpectedly ({type(exc).__name__}: {exc}).\n"
            f"{kept_note(db_path)} Please report this message.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    _print_report(result, extract_date, f"Loaded {args.data_dir} into {db_path}")
    if result.status != EXIT_REFUSED:
        print(f"Rejects report: {result.rejects_path}" + (" (also the table rejects)" if result.status else " (empty)"))
    return result.status


def check_main(argv: list[str] | None = None) -> int:
    """``python -m parity check DATA_DIR [--extract-date YYYY-MM-DD] [--report FILE] [--accept-rejects]``."""
    parser = _parser(
        "python -m parity check",
        "Validate an export exactly as ingest would and print the same report, without writing a database.",
    )
    parser.add_argument("--report", type=Path, help="also write every rejected row to this CSV file")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    settings = _settings_or_none("check")
    if settings is None:
        return EXIT_REFUSED
    extract_date = args.extract_date or settings.extract_date
    limit = None if args.accept_rejects else settings.max_reject_share
    try:
        result = check(args.data_dir, extract_date, max_reject_share=limit)
    except Exception as exc:
        print(
            f"parity check failed unexpectedly ({type(exc).__name__}: {exc}). Please report this message.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    _print_report(result, extract_date, f"Checked {args.data_dir}")
    if args.report is not None and result.files:
        try:
            result.rejects.to_csv(args.report, index=False, lineterminator="\n")
        except OSError as exc:
            print(f"Cannot write the report {args.report} ({exc.strerror}).", file=sys.stderr)
            return EXIT_REFUSED
        print(f"Rejects report: {args.report}", file=sys.stderr if result.status == EXIT_REFUSED else sys.stdout)
    return result.status
