"""Command line: ``python -m parity ingest DATA_DIR`` and ``python -m parity summary``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m parity COMMAND [options]

commands:
  ingest DATA_DIR [--db PATH]   validate an export and load it into the DuckDB file
  summary --db PATH --by SPLIT  referral rates and relative likelihoods by group

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
    if command == "summary":
        from parity.summary import main as summary_main

        return summary_main(rest)
    print(f"parity: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
