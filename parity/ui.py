"""Streamlit glue: the cached database, the global sidebar filters and the standard chart block.

The only layer (with pages/ and app.py) that imports Streamlit. Filters are widgets bound to the
URL (``bind="query-params"``) so a copied link reproduces the view; pages read them through
``selection()``, which falls back to defaults so each page also runs on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity import contract
from parity.db import DatabaseMissing, QueryRunner, get_query
from parity.disclosure import Rule
from parity.filters import NOT_APPLICABLE_REASON, Filters
from parity.measures import ADJUSTMENTS, Adjustment, default_reference
from parity.settings import get_settings

# URL keys of the global filters (the widget keys are the same, so the link is readable).
K_FROM, K_TO = "from", "to"
K_PROFESSION, K_GRADE, K_REGION = "profession", "grade", "region"
K_ORG_TYPE, K_ORG, K_CONCERN = "org_type", "org", "concern"
K_SPLIT, K_REFERENCE = "by", "ref"
FILTER_KEYS = (K_FROM, K_TO, K_PROFESSION, K_GRADE, K_REGION, K_ORG_TYPE, K_ORG, K_CONCERN, K_SPLIT, K_REFERENCE)
DEFAULT_SPLIT = "ethnic_group"


@dataclass(frozen=True)
class Selection:
    """What the sidebar has chosen: filters, the split and its reference group."""

    filters: Filters
    split: str
    reference: str

    @property
    def split_label(self) -> str:
        return contract.SPLITS[self.split].label

    @property
    def split_phrase(self) -> str:
        """The split's label inside a sentence, capitals of names and abbreviations kept."""
        return contract.SPLITS[self.split].phrase


# --- Data access -------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _open(path: str, mtime_ns: int) -> QueryRunner:
    # Keyed on the file's mtime: after a new ingest swaps the file in, the next run reopens it.
    return QueryRunner(Path(path))


def database() -> QueryRunner | None:
    """The served database, or None (after saying how to build it) when there is none yet."""
    path = get_settings().db_path
    try:
        return _open(str(path), path.stat().st_mtime_ns)
    except (FileNotFoundError, DatabaseMissing):
        st.warning(
            f"**No database yet.** Parity has no data loaded at `{path}`. Build it from an export with:\n\n"
            f"```\npython -m parity ingest sample_data --db {path}\n```\n\nor run `make run`, which does it for you."
        )
        return None


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_query(path: str, mtime_ns: int, name: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    return _open(path, mtime_ns).run(name, dict(params))


def run_query(name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a named query on the served database, cached per parameters and database version."""
    path = get_settings().db_path
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (params or {}).items()))
    result = _cached_query(str(path), path.stat().st_mtime_ns, name, frozen)
    return result.copy()


class CachedQueryRunner:
    """A stand-in for ``QueryRunner`` whose ``run`` goes through the Streamlit cache (for measures)."""

    def run(self, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        lists = {k: list(v) if isinstance(v, tuple) else v for k, v in (params or {}).items()}
        return run_query(name, lists)


def disclosure_rule() -> Rule:
    settings = get_settings()
    return Rule(settings.suppress_max, settings.round_to)


# --- Sidebar filters ---------------------------------------------------------------------


def _years() -> list[int]:
    return [int(y) for y in run_query("financial_years")["fy_start"]]


def _organisations() -> pd.DataFrame:
    return run_query("organisations_list", {"scope_org": get_settings().viewer_org})


def _reference_options(split: str) -> list[str]:
    return [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]


def _check_url(options: dict[str, list[str]]) -> None:
    """On a session's first run, note URL values that are not valid choices (Streamlit drops them)."""
    if "_url_checked" in st.session_state:
        return
    st.session_state["_url_checked"] = True
    notes = []
    for key, valid in options.items():
        for value in st.query_params.get_all(key):
            if value and value not in valid:
                notes.append(f"`{key}={value}`")
    st.session_state["_url_notes"] = notes


def reset_filters() -> None:
    for key in FILTER_KEYS:
        st.session_state.pop(key, None)


def _choices(org_label: dict[str, str]) -> dict[str, tuple[str, dict[str, str], str]]:
    """Each multi-select filter: URL key -> (label, code -> shown text, what "all" means)."""
    return {
        K_PROFESSION: ("Profession", contract.PROFESSIONS, "All professions"),
        K_GRADE: ("Grade", contract.GRADES, "All grades"),
        K_REGION: ("Region", {r: r for r in contract.REGIONS}, "All regions"),
        K_ORG_TYPE: ("Organisation type", contract.ORG_TYPES, "All organisation types"),
        K_ORG: ("Organisation", org_label, "All organisations"),
        K_CONCERN: ("Concern type", contract.CONCERN_TYPES, "All concern types"),
    }


def sidebar() -> Selection:
    """Draw the global filters in the sidebar and return what they select."""
    years = _years()
    year_labels = {y: contract.financial_year_label(y) for y in years}
    orgs = _organisations()
    org_label = {r.org_code: f"{r.org_name} ({r.org_code})" for r in orgs.itertuples(index=False)}
    choices = _choices(org_label)
    split = st.session_state.get(K_SPLIT, DEFAULT_SPLIT)
    split = split if split in contract.SPLITS else DEFAULT_SPLIT
    url_split = st.query_params.get(K_SPLIT)
    for key, spec in contract.SPLITS.items():
        if url_split == spec.label and "_url_checked" not in st.session_state:
            split = key
    _check_url(
        {
            K_FROM: list(year_labels.values()),
            K_TO: list(year_labels.values()),
            **{key: list(shown.values()) for key, (_, shown, _) in choices.items()},
            K_SPLIT: [s.label for s in contract.SPLITS.values()],
            K_REFERENCE: _reference_options(split),
        }
    )
    bar = st.sidebar
    bar.markdown("### Filters")
    if not years:
        bar.info("No financial years in the data.")
    col_from, col_to = bar.columns(2)
    fy_from = col_from.selectbox(
        "From", years, index=0 if years else None, format_func=year_labels.get, key=K_FROM, bind="query-params"
    )
    fy_to = col_to.selectbox(
        "To", years, index=len(years) - 1 if years else None, format_func=year_labels.get, key=K_TO, bind="query-params"
    )
    chosen_codes = {
        key: tuple(
            bar.multiselect(label, list(shown), format_func=shown.get, key=key, bind="query-params", placeholder=every)
        )
        for key, (label, shown, every) in choices.items()
    }
    bar.markdown("### Compare")
    split = bar.selectbox(
        "Compare by",
        list(contract.SPLITS),
        format_func=lambda k: contract.SPLITS[k].label,
        key=K_SPLIT,
        bind="query-params",
    )
    settings = get_settings()
    ref_options = _reference_options(split)
    default_ref = default_reference(split, settings.ethnicity_reference, settings.pmq_reference)
    if st.session_state.get(K_REFERENCE) not in (None, *ref_options):
        st.session_state.pop(K_REFERENCE)
    reference = bar.selectbox(
        "Reference group", ref_options, index=ref_options.index(default_ref), key=K_REFERENCE, bind="query-params"
    )
    bar.button("Reset filters", on_click=reset_filters, width="stretch")
    if fy_from is not None and fy_to is not None and fy_from > fy_to:
        fy_from, fy_to = fy_to, fy_from
        bar.caption("'From' was after 'To': the two years are read the other way round.")
    filters = Filters(
        fy_from=fy_from,
        fy_to=fy_to,
        professions=chosen_codes[K_PROFESSION],
        grades=chosen_codes[K_GRADE],
        regions=chosen_codes[K_REGION],
        org_types=chosen_codes[K_ORG_TYPE],
        orgs=chosen_codes[K_ORG],
        concerns=chosen_codes[K_CONCERN],
    )
    chosen = Selection(filters, split, reference)
    st.session_state["_selection"] = chosen
    st.session_state["_org_names"] = {r.org_code: r.org_name for r in orgs.itertuples(index=False)}
    return chosen


def selection() -> Selection:
    """The current selection; defaults when the sidebar has not run (a page on its own)."""
    chosen = st.session_state.get("_selection")
    if isinstance(chosen, Selection):
        return chosen
    settings = get_settings()
    return Selection(
        Filters(), DEFAULT_SPLIT, default_reference(DEFAULT_SPLIT, settings.ethnicity_reference, settings.pmq_reference)
    )


# --- Page furniture ----------------------------------------------------------------------


def page_header(title: str, purpose: str, chosen: Selection, *, query: str | None = None) -> None:
    """Title, one line of purpose, the filters in words, and notes on anything not applied."""
    st.title(title)
    st.markdown(purpose)
    st.caption(
        chosen.filters.describe(st.session_state.get("_org_names")) + f" · compared by {chosen.split_phrase}"
        f", reference: {chosen.reference}"
    )
    notes = st.session_state.get("_url_notes") or []
    if notes:
        st.info(f"Ignored from the link, as not valid choices: {', '.join(notes)}.", icon=":material/link_off:")
    if query is not None:
        for name in chosen.filters.unapplied(get_query(query).params):
            st.caption(
                f"The {name.replace('_', ' ')} filter is not applied here: {NOT_APPLICABLE_REASON.get(name, '')}."
            )


def no_cases(filters: Filters) -> None:
    widen = []
    if filters.orgs or filters.org_types or filters.regions:
        widen.append("include more organisations or regions")
    if filters.professions or filters.grades or filters.concerns:
        widen.append("add professions, grades or concern types")
    widen.append("widen the financial years")
    st.info(f"**No cases match these filters.** Try to {', or '.join(widen)}; or press *Reset filters*.")


def chart_block(
    figure: go.Figure,
    table: pd.DataFrame,
    *,
    key: str,
    alt: str,
    method: str,
    file_name: str,
    on_select: str = "ignore",
) -> Any:
    """The standard block: chart, its data table (the accessible alternative), a CSV download, a method note."""
    event = st.plotly_chart(
        figure,
        key=key,
        on_select=on_select,
        selection_mode=("points",),
        config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d", "select2d"]},
        alt=alt,
    )
    with st.expander("Data table", expanded=False):
        st.dataframe(table, hide_index=True, key=f"{key}_table")
    cols = st.columns([1, 3])
    cols[0].download_button(
        "Download CSV",
        table.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_download",
        on_click="ignore",
    )
    cols[1].caption(method)
    return event


# --- Adjustment ----------------------------------------------------------------------------

# URL key of the characteristics that adjusted relative likelihoods hold equal (a page option of the Overview and
# Concern rates, shared by both).
K_ADJUST = "adjust"


def adjustment_choice() -> tuple[str, ...]:
    """Which characteristics the adjusted relative likelihoods hold equal: a multi-select kept in the URL, every
    characteristic by default; none chosen means no adjustment."""
    chosen = st.multiselect(
        "Adjust relative likelihoods for",
        list(ADJUSTMENTS),
        default=list(ADJUSTMENTS),
        format_func=ADJUSTMENTS.get,
        key=K_ADJUST,
        bind="query-params",
        placeholder="No adjustment",
        help="The adjusted relative likelihood compares practitioners alike in these characteristics (a Poisson "
        "regression). The split's own characteristics are never adjusted for.",
    )
    return tuple(chosen)


def adjustment_note(adjustment: Adjustment) -> str:
    """The method note on an adjusted ratio: what the model adjusted for and how it allowed for overdispersion."""
    if not adjustment.adjusted_for:
        return "No adjustment chosen: only the unadjusted relative likelihood is shown."
    if adjustment.method == "quasi-poisson":
        spread = (
            f"referral counts vary more than chance alone would give (Pearson dispersion "
            f"{adjustment.dispersion:.2f}), so the intervals are widened by its square root (quasi-Poisson)"
        )
    else:
        spread = "referral counts vary no more than chance would give, so the intervals are Poisson's"
    left_out = (
        f" {adjustment.cases_left_out:,} referrals in cells with no practitioners recorded are left out of the model."
        if adjustment.cases_left_out
        else ""
    )
    return (
        f"Adjusted relative likelihood: a Poisson regression of referrals with log practitioner-years as offset, "
        f"adjusting for {adjustment.described}; {spread}.{left_out}"
    )


# --- Drill-down ----------------------------------------------------------------------------

K_DRILL = "drill"


def drill(chosen: Selection) -> str | None:
    """The group the page is narrowed to, from the URL (``?drill=``), if it is a group of the split."""
    value = st.query_params.get(K_DRILL)
    if value is None:
        return None
    if value not in contract.SPLITS[chosen.split].groups:
        st.info(f"Ignored from the link: `drill={value}` is not a group of {chosen.split_phrase}.")
        del st.query_params[K_DRILL]
        return None
    return value


def clicked_group(event: Any, key: str) -> str | None:
    """The group of a newly clicked point (every clickable chart puts it in customdata[0])."""
    points = (event or {}).get("selection", {}).get("points", [])
    signature = repr([(p.get("curve_number"), p.get("point_index")) for p in points])
    if st.session_state.get(f"_seen_{key}") == signature:
        return None  # the same selection as last run: already handled (or since cleared)
    st.session_state[f"_seen_{key}"] = signature
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and custom:
            return str(custom[0])
    return None


def apply_click(event: Any, key: str, chosen: Selection) -> None:
    """Narrow the page to a clicked group: put it in the URL and rerun."""
    group = clicked_group(event, key)
    if group and group in contract.SPLITS[chosen.split].groups and group != st.query_params.get(K_DRILL):
        st.query_params[K_DRILL] = group
        st.rerun()


def drillable_chart_block(
    figure: go.Figure, table: pd.DataFrame, *, chosen: Selection, key: str, alt: str, method: str, file_name: str
) -> None:
    """The standard chart block, whose points narrow the page to the clicked group."""
    event = chart_block(figure, table, key=key, alt=alt, method=method, file_name=file_name, on_select="rerun")
    apply_click(event, key, chosen)


def clear_drill() -> None:
    if K_DRILL in st.query_params:
        del st.query_params[K_DRILL]


def breadcrumb(chosen: Selection, group: str | None, page_name: str) -> None:
    """Where the drill is, and a control that clears it."""
    if group is None:
        st.caption("Click a group's point or bar to drill into it by organisation type, region and concern type.")
        return
    cols = st.columns([5, 1])
    cols[0].markdown(f"**{page_name}** › all groups by {chosen.split_phrase} › **{group}**")
    cols[1].button("Clear drill", on_click=clear_drill, key=f"clear_drill_{page_name}", icon=":material/close:")


# --- Navigation ----------------------------------------------------------------------------


def navigation_links(pages: dict[str, list[Any]]) -> None:
    """The links to every page (``st.Page`` objects, by section), drawn in the sidebar.

    Streamlit's own sidebar navigation puts each section's header as a ``<div>`` straight inside
    its ``<ul>``, which assistive technology cannot read as a list (axe: ``list``, ``listitem``).
    Page links carry no list markup, the current page is marked ``aria-current="page"``, and
    each is one Tab stop.
    """
    bar = st.sidebar
    for section, section_pages in pages.items():
        bar.caption(f"**{section}**")
        for page in section_pages:
            bar.page_link(page)
