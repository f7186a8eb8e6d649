"""Drill-down: a clicked group narrows the page, kept in the URL (``?drill=``), with a breadcrumb."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity import contract
from parity.ui import state
from parity.ui.blocks import chart_block, words
from parity.ui.state import K_DRILL, K_GROUP, K_ORG_TYPE, K_REGION, Selection, link_value

_GOTO_ORGANISATIONS = "_goto_organisations"
ORGANISATION_PAGE = "pages/organisation.py"


def drill(chosen: Selection) -> str | None:
    """The group the page is narrowed to, from the URL (``?drill=``), if it is a group of the split."""
    value = st.query_params.get(K_DRILL)
    if value is None:
        return None
    if value not in contract.SPLITS[chosen.split].groups:
        st.info(f"Ignored from the link: `drill={link_value(value)}` is not a group of {chosen.split_phrase}.")
        del st.query_params[K_DRILL]
        return None
    return value


def new_points(event: Any, key: str) -> list[dict[str, Any]]:
    """The points of a chart's selection (``event``, from the chart with widget key ``key``) when it is new; none
    when it is the same selection as last run (already handled, or since cleared)."""
    points = list((event or {}).get("selection", {}).get("points", []))
    signature = repr([(p.get("curve_number"), p.get("point_index")) for p in points])
    return [] if state.seen_selection(key, signature) else points


def clicked_group(event: Any, key: str) -> str | None:
    """The group of a newly clicked point: its customdata[0], or, where a trace's points carry numbers there
    (the survival curves), the trace's legendgroup."""
    for point in new_points(event, key):
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and custom and isinstance(custom[0], str):
            return custom[0]
        if point.get("legendgroup"):
            return str(point["legendgroup"])
    return None


def apply_click(event: Any, key: str, chosen: Selection) -> None:
    """Narrow the page to a clicked group: put it in the URL and rerun."""
    group = clicked_group(event, key)
    if group and group in contract.SPLITS[chosen.split].groups and group != st.query_params.get(K_DRILL):
        st.query_params[K_DRILL] = group
        st.rerun()


def drillable_chart_block(
    figure: go.Figure,
    table: pd.DataFrame,
    *,
    chosen: Selection,
    key: str,
    alt: str,
    method: str,
    file_name: str,
    empty: str | None = None,
) -> None:
    """The standard chart block, whose points narrow the page to the clicked group (``empty``: as ``chart_block``)."""
    event = chart_block(
        figure, table, key=key, alt=alt, method=method, file_name=file_name, on_select="rerun", empty=empty
    )
    apply_click(event, key, chosen)


def clear_drill() -> None:
    if K_DRILL in st.query_params:
        del st.query_params[K_DRILL]


def _drill_chosen(key: str) -> None:
    """The keyboard route into a drill: the group chosen in the box goes into the URL, the box empties."""
    group = st.session_state.get(key)
    if group:
        st.query_params[K_DRILL] = group
    st.session_state[key] = None


def breadcrumb(chosen: Selection, group: str | None, page_name: str) -> None:
    """Where the drill is, each level a link back to it; with no drill, a box that opens one by keyboard."""
    if group is None:
        groups = list(contract.SPLITS[chosen.split].groups)
        key = f"drill_into_{page_name}"
        cols = st.columns([2, 3], vertical_alignment="bottom")
        cols[0].selectbox(
            "Drill into a group",
            groups,
            index=None,
            format_func=words,
            placeholder="Choose a group…",
            key=key,
            on_change=_drill_chosen,
            args=(key,),
            help="Narrows the page to one group, by organisation type, region and concern type. Clicking a "
            "group's point or bar on a chart does the same.",
        )
        cols[1].caption(
            "Or click a group's point or bar to drill into it by organisation type, region and concern type."
        )
        return
    cols = st.columns([5, 1])
    cols[0].markdown(f"**{page_name}** › all groups by {chosen.split_phrase} › **{group}**")
    cols[1].button("Clear drill", on_click=clear_drill, key=f"clear_drill_{page_name}", icon=":material/close:")
    # Each level above the current one as a link back to it (a button: the filters stay in the URL).
    st.button(
        f"↩ {page_name}: all groups by {chosen.split_phrase}",
        on_click=clear_drill,
        key=f"crumb_all_{page_name}",
        type="tertiary",
    )


def _to_organisations(dimension: str, key: str, group: str) -> None:
    """Narrow the filters to the chosen organisation type or region, and open its organisations for the group."""
    level = st.session_state.get(key)
    if level is None:
        return
    st.session_state[K_ORG_TYPE if dimension == "org_type" else K_REGION] = [level]
    st.session_state[K_GROUP] = group
    st.session_state[key] = None
    st.session_state[_GOTO_ORGANISATIONS] = True


def organisation_drill(dimension: str, levels: dict[str, str], group: str, noun: str) -> None:
    """The next level of a drill: from an organisation type or region to its organisations (on the Organisation
    page's funnel, for the drilled group; an employer sees only its own organisation named, as there)."""
    key = f"organisation_drill_{dimension}"
    st.selectbox(
        f"Drill into the organisations of one {noun}",
        list(levels),
        index=None,
        format_func=levels.get,
        placeholder=f"Choose a{'n' if noun[:1] in 'aeiou' else ''} {noun}…",
        key=key,
        on_change=_to_organisations,
        args=(dimension, key, group),
        help=f"Opens the Organisation page for {group}, filtered to that {noun}.",
    )


def organisation_drills(breakdown: pd.DataFrame, group: str) -> None:
    """Below a drill's breakdown: one box for organisation types and one for regions, each opening the
    Organisation page for ``group`` filtered to the level chosen (``breakdown`` has dimension, level and
    level_label columns, as the Views' breakdowns)."""
    for column, (dimension, noun) in zip(
        st.columns(2), (("org_type", "organisation type"), ("region", "region")), strict=True
    ):
        rows = breakdown[breakdown["dimension"] == dimension]
        with column:
            organisation_drill(dimension, dict(zip(rows["level"], rows["level_label"], strict=True)), group, noun)


def follow_organisation_drill() -> None:
    """After an organisation drill was chosen (in a callback), go to the Organisation page."""
    if st.session_state.pop(_GOTO_ORGANISATIONS, False):
        # The link keeps its filters (the drill itself belongs to the page left behind).
        keep: dict[str, list[str]] = {}  # bound filters carry themselves over; the drill stays behind
        st.switch_page(ORGANISATION_PAGE, query_params=keep)


def clicked_points(key: str) -> list[dict[str, Any]]:
    """The points selected on the chart with widget key ``key`` (inside its ``on_select`` callback)."""
    event = st.session_state.get(key) or {}
    return list((event.get("selection") or {}).get("points") or [])
