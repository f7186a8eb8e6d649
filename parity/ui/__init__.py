"""Streamlit glue: the only layer (with pages/ and app.py) that imports Streamlit.

``context`` (the page context), ``state`` (session-state accessors and the selection), ``data``
(the cached query runner), ``sidebar`` (filters bound to the URL), ``blocks`` (header, chart block),
``drill`` (drill-down and breadcrumb), ``navigation`` (page links), ``trends`` (the icon summary and links to a
trend chart), ``adjustment`` (the adjustment set of adjusted relative likelihoods, kept in the URL).
"""

from parity.ui.adjustment import K_ADJUST, adjustment_choice, adjustment_note
from parity.ui.blocks import chart_block, no_cases, page_header, protection_note
from parity.ui.context import PageContext, page_context
from parity.ui.data import CachedQueryRunner, check_settings, database, disclosure_rule, run_query, viewer
from parity.ui.drill import (
    K_DRILL,
    apply_click,
    breadcrumb,
    clear_drill,
    clicked_group,
    clicked_points,
    drill,
    drillable_chart_block,
    selected_row,
)
from parity.ui.navigation import navigation_links
from parity.ui.sidebar import link_params, open_organisation, reset_filters, sidebar
from parity.ui.state import (
    DEFAULT_SPLIT,
    FILTER_KEYS,
    K_CONCERN,
    K_FROM,
    K_GRADE,
    K_ORG,
    K_ORG_TYPE,
    K_PROFESSION,
    K_REFERENCE,
    K_REGION,
    K_SPLIT,
    K_TO,
    Selection,
    link_value,
    org_names,
    selection,
)
from parity.ui.trends import K_SHOW, TRENDS_PAGE, chart_icons, icon_summary

__all__ = [
    "K_ADJUST",
    "adjustment_choice",
    "adjustment_note",
    "DEFAULT_SPLIT",
    "FILTER_KEYS",
    "K_CONCERN",
    "K_DRILL",
    "K_FROM",
    "K_GRADE",
    "K_ORG",
    "K_ORG_TYPE",
    "K_PROFESSION",
    "K_REFERENCE",
    "K_REGION",
    "K_SHOW",
    "K_SPLIT",
    "K_TO",
    "CachedQueryRunner",
    "PageContext",
    "Selection",
    "TRENDS_PAGE",
    "apply_click",
    "breadcrumb",
    "chart_block",
    "chart_icons",
    "check_settings",
    "clear_drill",
    "clicked_group",
    "clicked_points",
    "database",
    "disclosure_rule",
    "drill",
    "drillable_chart_block",
    "link_params",
    "icon_summary",
    "link_value",
    "navigation_links",
    "open_organisation",
    "no_cases",
    "org_names",
    "page_context",
    "page_header",
    "protection_note",
    "reset_filters",
    "run_query",
    "selected_row",
    "selection",
    "sidebar",
    "viewer",
]
