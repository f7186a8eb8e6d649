"""What every page asks for when it opens, so the server can compute it before anyone visits.

A page opens on the sidebar's defaults (every year, nothing narrowed, the default split and its
reference) and on its own controls' defaults (no drill, a 1-year window, follow-up "all", no
stratification, every adjustment at the full level, financial years on Trends, the funnel's own
default group). ``opening_views`` lists each page's View for that opening as the page asks for it,
with the same arguments, so that ``prepare`` puts it in the cache the pages read (``ui.data``): the
first visit after the server starts then computes nothing the second would not. The list and the
pages cannot drift apart unseen: ``tests/test_prepare.py`` opens every page after ``prepare`` and
fails if one computes a View or runs a query.

The Organisation page's profile is prepared apart (``measures.profile.prepare_comparators``): what an
employer's first profile needs is the national comparator every profile shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity import measures
from parity.disclosure import Rule
from parity.filters import Filters
from parity.settings import get_settings
from parity.ui.data import CachedQueryRunner, cached_view, run_query
from parity.viewer import Viewer

# The Data page's quality query takes only these filters (pages/data.py).
QUALITY_FILTERS = frozenset({"fy_from", "fy_to", "professions", "regions", "org_types", "orgs"})


def opening_views(
    filters: Filters, split: str, reference: str, rule: Rule, viewer: Viewer
) -> list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
    """Each page's View on opening, as ``(measure, args, kwargs)`` exactly as the page passes them to
    ``ctx.view``: positional and keyword alike, since the cache's key tells them apart."""
    adjust_for = () if viewer.protected else tuple(measures.ADJUSTMENTS)
    target = get_settings().trend_target
    same = {"viewer": viewer, "rule": rule}
    question = (filters, split, reference)
    return [
        (measures.overview_view, question, {**same, "adjust_for": adjust_for, "target": target}),
        (
            measures.concern_rates_view,
            question,
            {**same, "window": measures.WINDOWS[0], "drill": None, "adjust_for": adjust_for},
        ),
        (
            measures.outcomes_view,
            question,
            {**same, "drill": None, "followup_months": 0},  # follow-up "all": every case referred in the period
        ),
        (measures.durations_view, question, {**same, "drill": None, "stratified": False}),
        (measures.trends_view, (filters,), {**same, "period": next(iter(measures.PERIODS)), "target": target}),
        (
            measures.pathways_view,
            question,
            {**same, "drill": None, "step": None, "funnel_step": None, "funnel_group": None, "scope_org": None},
        ),
        (
            measures.organisation_view,
            question,
            {**same, "org": None, "group": None, "scope_org": None},
        ),
        (measures.uncovered_cases, (filters, viewer, rule), {}),
    ]


def opening_queries(filters: Filters) -> list[tuple[str, dict[str, Any] | None]]:
    """The queries the sidebar and the pages run themselves on opening (a View's own go through the View)."""
    return [
        ("financial_years", None),
        ("organisations_list", {"scope_org": None}),
        ("load_meta", None),
        ("table_rows", None),
        ("load_summary", None),
        ("rejects", None),
        ("data_quality_by_year", filters.params(QUALITY_FILTERS)),
    ]


def prepare(filters: Filters, split: str, reference: str, rule: Rule, viewers: list[Viewer]) -> int:
    """Compute every page's opening View for each national viewer in ``viewers`` (an employer's pages open on
    their own organisation: left to their first visit), and the queries the pages run themselves. Returns how
    many Views were asked for."""
    for name, params in opening_queries(filters):
        run_query(name, params)
    runner = CachedQueryRunner()
    asked = 0
    for viewer in viewers:
        if viewer.org is not None:
            continue
        for measure, args, kwargs in opening_views(filters, split, reference, rule, viewer):
            cached_view(measure, runner, *args, **kwargs)
            asked += 1
    return asked
