"""The global filters in the sidebar, bound to the URL so a copied link reproduces the view."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from parity import contract, wording
from parity.filters import Filters
from parity.measures import default_reference
from parity.settings import get_settings
from parity.ui import state
from parity.ui.data import run_query, viewer
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
)


def _years() -> list[int]:
    return [int(y) for y in run_query("financial_years")["fy_start"]]


def _organisations() -> pd.DataFrame:
    return run_query("organisations_list", {"scope_org": viewer().org})


def _reference_options(split: str) -> list[str]:
    return [g for g in contract.SPLITS[split].groups if not contract.is_unknown_group(g)]


def _link_professions() -> tuple[str, ...]:
    """The professions a link chooses (codes), before the sidebar has drawn them."""
    codes = {name: code for code, name in contract.PROFESSIONS.items()}
    return tuple(codes[name] for name in st.query_params.get_all(K_PROFESSION) if name in codes)


def _check_url(options: dict[str, list[str]]) -> None:
    """On a session's first run, note URL values that are not valid choices (Streamlit drops them)."""
    if state.url_checked():
        return
    notes = []
    for key, valid in options.items():
        for value in st.query_params.get_all(key):
            if value and value not in valid:
                notes.append(f"`{link_value(key, 30)}={link_value(value)}`")
    state.note_url(notes)


def _defaults() -> dict[str, object]:
    """Every filter's default value: all years, nothing narrowed, the default split and its reference."""
    years = _years()
    settings = get_settings()
    return {
        K_FROM: years[0] if years else None,
        K_TO: years[-1] if years else None,
        **{key: [] for key in (K_PROFESSION, K_GRADE, K_REGION, K_ORG_TYPE, K_ORG, K_CONCERN)},
        K_SPLIT: DEFAULT_SPLIT,
        K_REFERENCE: default_reference(DEFAULT_SPLIT, settings.ethnicity_reference, settings.pmq_reference),
    }


def reset_filters() -> None:
    """Every filter, the split, the reference, drills and page options back to their defaults, and the URL too.

    Widgets bound to the URL read their value back from it when their key is only dropped, so each key is
    set to its default (a callback runs before the widgets are drawn), and the URL is cleared with them.
    """
    for key, value in _defaults().items():
        st.session_state[key] = value
    state.clear_page_options()
    state.forget_url_notes()


def _split_changed() -> None:
    """A new split: its default reference, and no drill, funnel group or measure of the old split's groups."""
    settings = get_settings()
    split = st.session_state.get(K_SPLIT, DEFAULT_SPLIT)
    st.session_state[K_REFERENCE] = default_reference(split, settings.ethnicity_reference, settings.pmq_reference)
    state.clear_page_options(state.SPLIT_DEPENDENT_KEYS)


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
        if url_split == spec.label and not state.url_checked():
            split = key
    _check_url(
        {
            K_FROM: list(year_labels.values()),
            K_TO: list(year_labels.values()),
            **{key: list(shown.values()) for key, (_, shown, _) in choices.items()},
            K_SPLIT: [s.label for s in contract.SPLITS.values()],
            K_REFERENCE: [wording.for_professions(g, _link_professions()) for g in _reference_options(split)],
        }
    )
    bar = st.sidebar
    bar.markdown("### Filters")
    if not years:
        bar.info("No financial years in the data.")
    years_note = bar.empty()
    col_from, col_to = bar.columns(2)
    fy_from = col_from.selectbox(
        "From", years, index=0 if years else None, format_func=year_labels.get, key=K_FROM, bind="query-params"
    )
    fy_to = col_to.selectbox(
        "To", years, index=len(years) - 1 if years else None, format_func=year_labels.get, key=K_TO, bind="query-params"
    )
    # An employer's view opens on their own organisation; clearing the filter shows national figures.
    own = state.viewer_org()
    defaults = {K_ORG: [own]} if own in org_label else {}
    chosen_codes = {
        key: tuple(
            bar.multiselect(
                label,
                list(shown),
                default=defaults.get(key),
                format_func=shown.get,
                key=key,
                bind="query-params",
                placeholder=every,
            )
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
        on_change=_split_changed,
    )
    settings = get_settings()
    ref_options = _reference_options(split)
    default_ref = default_reference(split, settings.ethnicity_reference, settings.pmq_reference)
    professions = chosen_codes[K_PROFESSION]
    from_link = {wording.for_professions(g, professions): g for g in ref_options}.get(st.query_params.get(K_REFERENCE))
    current_ref = st.session_state.get(K_REFERENCE, from_link)
    if current_ref not in ref_options:
        # Set, not dropped: the box then shows exactly the reference the page computes with.
        st.session_state[K_REFERENCE] = default_ref
    reference = bar.selectbox(
        "Reference group",
        ref_options,
        # In the words of the professions in view: dentists and pharmacists are not "medical graduates".
        format_func=lambda group: wording.for_professions(group, professions),
        **({} if K_REFERENCE in st.session_state else {"index": ref_options.index(default_ref)}),
        key=K_REFERENCE,
        bind="query-params",
    )
    bar.button("Reset filters", on_click=reset_filters, width="stretch")
    if fy_from is not None and fy_to is not None and fy_from > fy_to:
        fy_from, fy_to = fy_to, fy_from
        years_note.warning(
            f"'From' ({year_labels[fy_to]}) is after 'To' ({year_labels[fy_from]}): the years are read the other "
            f"way round, {year_labels[fy_from]} to {year_labels[fy_to]}.",
            icon=":material/swap_horiz:",
        )
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
    state.remember_selection(chosen, {r.org_code: r.org_name for r in orgs.itertuples(index=False)})
    return chosen


def link_params(split: str, org: str | None) -> dict[str, list[str]]:
    """The URL of the current view on another page: the same filters, compared by ``split`` (its default
    reference), narrowed to ``org`` when given; no drill."""
    params = {key: st.query_params.get_all(key) for key in FILTER_KEYS if key not in (K_SPLIT, K_REFERENCE, K_ORG)}
    params = {key: values for key, values in params.items() if values}
    params[K_SPLIT] = [contract.SPLITS[split].label]
    if org is not None:
        params[K_ORG] = [f"{state.org_names().get(org, org)} ({org})"]
    return params


def open_organisation(chart_key: str) -> None:
    """A funnel click's callback: narrow the organisation filter to the clicked point's organisation.

    Only points the viewer may see named carry a code (``customdata[4]``); a click on another point does nothing.
    """
    event = st.session_state.get(chart_key) or {}
    points = (event.get("selection") or {}).get("points") or []
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and len(custom) > 4 and custom[4]:
            st.session_state[K_ORG] = [str(custom[4])]
            return
