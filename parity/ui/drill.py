"""Drill-down: a clicked group narrows the page, kept in the URL (``?drill=``), with a breadcrumb."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity import contract
from parity.ui import state
from parity.ui.blocks import chart_block
from parity.ui.state import Selection, link_value

K_DRILL = "drill"


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


def clicked_group(event: Any, key: str) -> str | None:
    """The group of a newly clicked point (every clickable chart puts it in customdata[0])."""
    points = (event or {}).get("selection", {}).get("points", [])
    signature = repr([(p.get("curve_number"), p.get("point_index")) for p in points])
    if state.seen_selection(key, signature):
        return None  # the same selection as last run: already handled (or since cleared)
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


def clicked_points(key: str) -> list[dict[str, Any]]:
    """The points selected on the chart with widget key ``key`` (inside its ``on_select`` callback)."""
    event = st.session_state.get(key) or {}
    return list((event.get("selection") or {}).get("points") or [])


def selected_row(key: str) -> int | None:
    """The row picked in a single-row selectable ``st.dataframe`` with widget key ``key``, if any."""
    event = st.session_state.get(key) or {}
    rows = (event.get("selection") or {}).get("rows") or []
    return int(rows[0]) if rows else None
