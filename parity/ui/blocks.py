"""Page furniture: the header, the "no cases" message and the standard chart block."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity.db import get_query
from parity.filters import NOT_APPLICABLE_REASON, Filters
from parity.ui import state
from parity.ui.data import disclosure_rule
from parity.ui.state import Selection


def page_header(title: str, purpose: str, chosen: Selection, *, query: str | None = None) -> None:
    """Title, one line of purpose, the filters in words, and notes on anything not applied."""
    st.title(title)
    st.markdown(purpose)
    st.caption(
        chosen.filters.describe(state.org_names()) + f" · compared by {chosen.split_phrase}"
        f", reference: {chosen.reference}"
    )
    notes = state.url_notes()
    if notes:
        st.info(f"Ignored from the link, as not valid choices: {', '.join(notes)}.", icon=":material/link_off:")
    if query is not None:
        for name in chosen.filters.unapplied(get_query(query).params):
            st.caption(
                f"The {name.replace('_', ' ')} filter is not applied here: {NOT_APPLICABLE_REASON.get(name, '')}."
            )


def protection_note(protected: bool) -> None:
    """The page's caption about its numbers: the rule in one sentence, with the thresholds from settings."""
    if protected:
        st.caption(disclosure_rule().explain(), help="The Data and methods page sets out the rule in full.")


def no_cases(filters: Filters) -> None:
    widen = []
    if filters.orgs or filters.org_types or filters.regions:
        widen.append("include more organisations or regions")
    if filters.professions or filters.grades or filters.concerns:
        widen.append("add professions, grades or concern types")
    widen.append("widen the financial years")
    st.info(f"**No cases match these filters.** Try to {', or '.join(widen)}; or press *Reset filters*.")


# Only the "download as image" button: every other toolbar button is a Tab stop (eight a chart) between a
# keyboard user and the next control, and zooming is not needed to read these charts.
PLOTLY_CONFIG = {
    "displaylogo": False,
    "modeBarButtonsToRemove": [
        "zoom2d",
        "pan2d",
        "select2d",
        "lasso2d",
        "zoomIn2d",
        "zoomOut2d",
        "autoScale2d",
        "resetScale2d",
        "hoverClosestCartesian",
        "hoverCompareCartesian",
        "toggleSpikelines",
        "zoom3d",
        "resetViews",
    ],
}


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
        config=PLOTLY_CONFIG,
        alt=alt,
        theme=None,  # the house template (parity.charts.theme) styles every figure; Streamlit's would override it
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
