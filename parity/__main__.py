"""Command line: ``python -m parity ingest DATA_DIR``, ``check``, ``summary``, ``pack``, ``audit`` and ``parquet``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m parity COMMAND [options]

commands:
  ingest DATA_DIR [--db PATH]   validate an export and load it into the DuckDB file
  check DATA_DIR                validate an export as ingest would, writing nothing
  summary --db PATH --by SPLIT  referral rates and relative likelihoods by group
                                (--org-scope CODE: an employer's view)
  pack --db PATH --out FILE.pptx [--pdf FILE.pdf]
                                the meeting pack: the headline indicators as XmR charts
  audit [--log PATH]            check the audit log's hash chain (exit 1 when it was changed)
  parquet --out DIR             write the database as Parquet files with a catalog that serves them

Run `python -m parity COMMAND --help` for a command's options."""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    from pydantic import ValidationError

    from parity.settings import get_settings, settings_problem

    try:
        get_settings()
    except ValidationError as error:
        print(f"parity: {settings_problem(error)}", file=sys.stderr)
        return 2
    if command == "ingest":
        from parity.ingest import main as ingest_main

        return ingest_main(rest)
    if command == "check":
        from parity.ingest.cli import check_main

        return check_main(rest)
    if command == "parquet":
        from parity.ingest.parquet import main as parquet_main

        return parquet_main(rest)
    if command == "audit":
        return _audit(rest)
    if command == "summary":
        from parity.summary import main as summary_main

        return summary_main(rest)
    if command == "pack":
        from parity.export.cli import main as pack_main

        return pack_main(rest)
    print(f"parity: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


def _audit(args: list[str]) -> int:
    import argparse
    from pathlib import Path

    from parity.audit import AuditLog
    from parity.settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m parity audit", description="Check the audit log's hash chain.")
    parser.add_argument("--log", type=Path, help="the audit log (default: PARITY_AUDIT_PATH)")
    try:
        parsed = parser.parse_args(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    log = AuditLog(parsed.log or get_settings().audit_path)
    result = log.verify()
    print(f"{log.path}: {result.sentence()}")
    for problem in result.problems[5:]:
        print(f"  also: {problem}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
