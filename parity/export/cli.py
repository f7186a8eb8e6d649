"""``python -m parity pack``: the meeting pack, headless (so a monthly board pack can be scheduled).

The same Trends View as the page, the same filters as ``python -m parity summary``. Reading the database file
directly, the CLI is at the full level by default (design §5); ``--level protected`` makes a pack to share.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.db import DatabaseMissing, DatabaseOutdated, QueryRunner
from parity.disclosure import Rule
from parity.export.images import ChromiumMissing
from parity.export.meeting import build_pack
from parity.export.pack import write_pdf, write_pptx
from parity.measures import PERIODS, trends_view
from parity.settings import get_settings
from parity.summary import add_filter_arguments, filters_from
from parity.viewer import Viewer


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parity pack",
        description="The meeting pack (PowerPoint, and PDF if asked): the headline indicators as XmR charts.",
    )
    parser.add_argument("--db", type=Path, help="DuckDB file (default: PARITY_DB_PATH)")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.pptx", help="the PowerPoint to write")
    parser.add_argument("--pdf", type=Path, metavar="FILE.pdf", help="also write the pack as a PDF")
    parser.add_argument("--period", choices=list(PERIODS), default="year", help="financial year or quarter")
    parser.add_argument(
        "--rebase", metavar="PERIOD", help="recalculate the limits from this period (2021/22, 2021/22 Q1)"
    )
    parser.add_argument(
        "--level", choices=["full", "protected"], default="full", help="full: exact numbers; protected: to share"
    )
    add_filter_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    db_path = args.db or settings.db_path
    filters = filters_from(args)
    if filters.fy_from is not None and filters.fy_to is not None and filters.fy_from > filters.fy_to:
        print("parity pack: --from is after --to; swap them.", file=sys.stderr)
        return 2
    if args.out.suffix.lower() != ".pptx":
        print("parity pack: --out must name a .pptx file.", file=sys.stderr)
        return 2
    rule = Rule(settings.suppress_max, settings.round_to)
    try:
        db = QueryRunner(db_path)
    except DatabaseMissing:
        print(
            f"parity pack: no database at {db_path}. Build it first:\n  python -m parity ingest sample_data "
            f"--db {db_path}",
            file=sys.stderr,
        )
        return 2
    except DatabaseOutdated as outdated:
        print(f"parity pack: {outdated}", file=sys.stderr)
        return 2
    with db:
        try:
            view = trends_view(
                db,
                filters,
                period=args.period,
                rebase=args.rebase,
                target=settings.trend_target,
                rule=rule,
                viewer=Viewer(args.level, role="analyst" if args.level == "full" else "local"),
            )
        except ValueError as exc:
            print(f"parity pack: {exc}", file=sys.stderr)
            return 2
        org_names = dict(db.run("organisations_list", {"scope_org": None})[["org_code", "org_name"]].values)
    try:
        pack = build_pack(view, filters_text=filters.describe(org_names), rule=rule, browser=settings.chromium_path)
    except ChromiumMissing as exc:
        print(f"parity pack: {exc}", file=sys.stderr)
        return 3
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_pptx(pack, args.out)
    written = [str(args.out)]
    if args.pdf:
        args.pdf.parent.mkdir(parents=True, exist_ok=True)
        write_pdf(pack, args.pdf)
        written.append(str(args.pdf))
    print(f"Wrote {' and '.join(written)}: {1 + len(pack.slides)} slides, {filters.describe(org_names)}.")
    return 0
