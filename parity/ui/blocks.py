"""Page furniture: the header, the "no cases" message and the standard chart block."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity import wording
from parity.db import get_query
from parity.export import images
from parity.filters import NOT_APPLICABLE_REASON, Filters
from parity.settings import get_settings
from parity.ui import state, trail
from parity.ui.data import disclosure_rule
from parity.ui.state import Selection


def page_header(title: str, purpose: str, chosen: Selection, *, query: str | None = None) -> None:
    """Title, one line of purpose, the filters in words, and notes on anything not applied."""
    st.title(title)
    employer_banner()
    st.markdown(purpose)
    scope = state.viewer_org()
    if scope is not None:
        st.markdown(wording.scope_sentence(chosen.filters, scope, state.org_names().get(scope, scope)))
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


def employer_banner() -> None:
    """ "Employer view: <organisation>" on every page of an employer's view."""
    scope = state.viewer_org()
    if scope is not None:
        name = state.org_names().get(scope, scope)
        st.markdown(f":material/badge: **{wording.employer_view_label(name)}**")


def scope_refused(message: str) -> None:
    """An employer's filters would single out other organisations: say so plainly and draw nothing else."""
    st.title("No figures for these filters")
    employer_banner()
    st.warning(message, icon=":material/visibility_off:")
    st.stop()


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
    on_select: str | Callable[[], None] = "ignore",
) -> Any:
    """The standard block: chart, its data table (the accessible alternative), CSV and PNG downloads, a method note.

    The PNG is drawn only when asked for (kaleido in Chromium, on the download's own thread); where Chromium is
    missing the button is disabled and says why. ``on_select``: "ignore", "rerun", or a callback run before the
    next script run (it reads the chart's selection with ``drill.clicked_points(key)``).
    """
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
    cols = st.columns([1, 1, 4])
    cols[0].download_button(
        "Download CSV",
        table.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=f"{key}_download",
        on_click=trail.downloaded,  # the audit log records every file taken away
        args=(file_name,),
    )
    browser = get_settings().chromium_path
    problem = images.chromium_problem(browser)
    cols[1].download_button(
        "Download PNG",
        (lambda: images.render_png(figure, browser)) if problem is None else b"",
        file_name=file_name.removesuffix(".csv") + ".png",
        mime="image/png",
        key=f"{key}_png",
        on_click=trail.downloaded,  # an image leaves the room too
        args=(file_name.removesuffix(".csv") + ".png",),
        disabled=problem is not None,
        help=problem or "The chart as an image, for a slide or a report.",
    )
    cols[2].caption(method)
    return event
