"""``python -m parity summary``: referral rates and relative likelihoods by group, headless.

The numbers come from ``parity.measures.referral_summary``, the same code path as the Overview.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from parity import contract
from parity.db import DatabaseMissing, DatabaseOutdated, QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import (
    ADJUSTMENTS,
    SUMMARY_COLUMNS,
    adjusted_referral_summary,
    default_reference,
)
from parity.measures.scope import ScopeGuard, ScopeRefused
from parity.settings import get_settings
from parity.viewer import LEVELS, Viewer


def _financial_year(text: str) -> int:
    try:
        return contract.parse_financial_year(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m parity summary",
        description="Referral rate per 1,000 practitioners and relative likelihood of referral, by group.",
    )
    parser.add_argument("--db", type=Path, help="DuckDB file (default: PARITY_DB_PATH)")
    parser.add_argument("--by", required=True, choices=list(contract.SPLITS), help="how to split practitioners")
    add_filter_arguments(parser)
    parser.add_argument("--reference", help="reference group label (default: White, UK graduate, ...)")
    parser.add_argument(
        "--adjust",
        action="store_true",
        help="add the relative likelihood adjusted for the other characteristics (adj_rl, adj_rl_lower, "
        "adj_rl_upper): a Poisson regression with log practitioner-years as offset",
    )
    parser.add_argument(
        "--adjust-for",
        nargs="+",
        choices=list(ADJUSTMENTS),
        metavar="COL",
        help=f"adjust for these characteristics only (implies --adjust; default: all of {', '.join(ADJUSTMENTS)})",
    )
    parser.add_argument(
        "--level",
        choices=LEVELS,
        default="full",
        help="full: exact numbers (the default: this command reads the database file directly); protected: the "
        "numbers every shared view and export shows (the disclosure rule)",
    )
    parser.add_argument(
        "--org-scope",
        metavar="ORG_CODE",
        help="an employer's view (always at the protected level): figures for this organisation alone or for "
        "geographies holding at least PARITY_MIN_OTHER_ORGS other organisations; anything narrower is refused",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list of objects")
    return parser


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The global filters as options (shared by ``summary`` and ``pack``)."""
    parser.add_argument("--from", dest="fy_from", type=_financial_year, metavar="YYYY/YY", help="first year")
    parser.add_argument("--to", dest="fy_to", type=_financial_year, metavar="YYYY/YY", help="last year")
    parser.add_argument("--profession", action="append", choices=list(contract.PROFESSIONS), default=[])
    parser.add_argument("--region", action="append", choices=list(contract.REGIONS), default=[])
    parser.add_argument("--org-type", action="append", choices=list(contract.ORG_TYPES), default=[])
    parser.add_argument("--org", action="append", default=[], metavar="ORG_CODE")
    parser.add_argument("--concern", action="append", choices=list(contract.CONCERN_TYPES), default=[])


def filters_from(args: argparse.Namespace) -> Filters:
    """The Filters the options of ``add_filter_arguments`` chose."""
    return Filters(
        fy_from=args.fy_from,
        fy_to=args.fy_to,
        professions=tuple(args.profession),
        regions=tuple(args.region),
        org_types=tuple(args.org_type),
        orgs=tuple(args.org),
        concerns=tuple(args.concern),
    )


def _json_value(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value  # numpy scalars to plain Python


def _text(value: object, column: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "*" if column in ("cases", "headcount", "rate", "rl", "adj_rl") else "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in ("cases", "headcount"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.2f}" if column.startswith(("rl", "adj_rl")) else f"{value:.3f}"
    return str(value)


ADJUSTED_KEYS: tuple[str, ...] = ("adj_rl", "adj_rl_lower", "adj_rl_upper")


def output_columns(adjusted: bool) -> tuple[str, ...]:
    """The columns printed: SUMMARY_COLUMNS, with the adjusted ratio and its bounds after ``rl_upper``."""
    if not adjusted:
        return SUMMARY_COLUMNS
    at = SUMMARY_COLUMNS.index("rl_upper") + 1
    return (*SUMMARY_COLUMNS[:at], *ADJUSTED_KEYS, *SUMMARY_COLUMNS[at:])


def format_text(table: pd.DataFrame, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> str:
    rows = [
        [_text(v, c) for c, v in zip(columns, rec, strict=True)] for rec in table[list(columns)].itertuples(index=False)
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(columns, widths, strict=True)))
    ]
    for r in rows:
        lines.append(
            "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
        )
    return "\n".join(lines)


def _variance_note(adjustment) -> str:
    if adjustment.method == "quasi-poisson":
        return f"intervals widened for overdispersion, Pearson dispersion {adjustment.dispersion:.2f}"
    return "no overdispersion to allow for"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    db_path = args.db or settings.db_path
    filters = filters_from(args)
    if filters.fy_from is not None and filters.fy_to is not None and filters.fy_from > filters.fy_to:
        print("parity summary: --from is after --to; swap them.", file=sys.stderr)
        return 2
    adjusting = args.adjust or args.adjust_for is not None
    adjust_for = (args.adjust_for or None) if adjusting else ()
    if adjusting and args.level == "protected":
        print(
            "parity summary: --adjust works at --level full only. An adjusted relative likelihood is a regression "
            "on the cells of the data; on protected (perturbed and rounded) cells it would mean nothing, and on "
            "exact cells it would compute a protected number from exact counts. Drop --adjust, or ask for "
            "--level full.",
            file=sys.stderr,
        )
        return 2
    split = args.by
    reference = args.reference or default_reference(split, settings.ethnicity_reference, settings.pmq_reference)
    if reference not in contract.SPLITS[split].groups or contract.is_unknown_group(reference):
        choices = [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]
        print(
            f"parity summary: {reference!r} is not a reference group for --by {split}; choose one of: "
            f"{'; '.join(choices)}",
            file=sys.stderr,
        )
        return 2
    try:
        db = QueryRunner(db_path)
    except DatabaseMissing:
        print(
            f"parity summary: no database at {db_path}. Build it first:\n"
            f"  python -m parity ingest sample_data --db {db_path}",
            file=sys.stderr,
        )
        return 2
    except DatabaseOutdated as outdated:
        print(f"parity summary: {outdated}", file=sys.stderr)
        return 2
    rule = Rule(settings.suppress_max, settings.round_to)
    # An employer's scope is never exact: it is the protected level whatever --level says.
    level = "protected" if args.org_scope else args.level
    viewer = Viewer(level=level, org=args.org_scope, role="employer" if args.org_scope else "command line")
    with db:
        try:
            table, adjustment = adjusted_referral_summary(
                ScopeGuard(db, viewer.org), filters, split, reference, rule, adjust_for, viewer=viewer
            )
        except ScopeRefused as refused:
            print(f"parity summary: no figures for these filters. {refused}", file=sys.stderr)
            return 3
    columns = output_columns(adjusting)
    if args.json:
        records = [{c: _json_value(rec[c]) for c in columns} for rec in table.to_dict("records")]
        print(json.dumps(records, indent=2))
    elif table.empty:
        print("No cases match these filters.")
    else:
        print(f"Referral rate per 1,000 and relative likelihood against {reference}; {filters.describe()}.")
        print(
            "band: the whole 95% interval of rl outside the 0.80-1.25 band, within it, or inconclusive "
            "(it crosses an edge of the band)."
        )
        if adjusting:
            print(
                f"adj_rl: adjusted for {adjustment.described} (Poisson regression, log practitioner-years "
                f"offset; {_variance_note(adjustment)})."
            )
        print(format_text(table, columns))
        if viewer.protected:
            print(rule.explain())
    return 0
