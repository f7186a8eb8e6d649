"""Page furniture: the header, the "no cases" message and the standard chart block."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from parity import charts, tables, wording
from parity.db import file_version, get_query
from parity.export import images
from parity.filters import NOT_APPLICABLE_REASON, Filters
from parity.settings import get_settings
from parity.ui import state, trail
from parity.ui.data import disclosure_rule, run_query, viewer
from parity.ui.state import Selection

# The extract date of the served database, by its version (parity.db.file_version): read once per load, not once
# per chart (a page of ten charts asked for it ten times a run).
_EXTRACT_DATE: dict[tuple[str, int], str] = {}


def _extract_date() -> str:
    version = file_version(get_settings().db_path)
    if version not in _EXTRACT_DATE:
        meta = run_query("load_meta")
        dates = meta.loc[meta["key"] == "extract_date", "value"]
        _EXTRACT_DATE.clear()  # only the served version's
        _EXTRACT_DATE[version] = str(dates.iloc[0]) if not dates.empty else "not recorded"
    return _EXTRACT_DATE[version]


def download_about(figure: go.Figure) -> dict[str, str]:
    """What a download shows, for its header block: chart, filters, period, split, extract date, viewer."""
    chosen = state.selection()
    who = viewer()
    level = "full: exact numbers" if not who.protected else "protected: the disclosure rule applies"
    scope = f"; employer scope {who.org}, other organisations unnamed" if who.org else ""
    about = {
        "Parity chart": str(figure.layout.title.text or "").replace("<br>", " "),
        "Filters and period": words(chosen.filters.describe(state.org_names())),
        "Compared by": f"{chosen.split_label}; reference group: {chosen.reference}",
        "Extract date": _extract_date(),
        "Viewer level": level + scope,
    }
    if who.protected:
        about["Disclosure"] = disclosure_rule().explain()
    return about


def download_name(file_name: str) -> str:
    """The file name with the split and the filters in it (whole words kept, never cut mid-word)."""
    chosen = state.selection()
    stem, dot, ext = file_name.rpartition(".")
    stem = stem or file_name
    split = f"by {chosen.split_label}" if f"by_{chosen.split}" not in stem else ""
    return tables.file_stem(stem, split, chosen.filters.describe(state.org_names())) + f".{ext if dot else 'csv'}"


def words(text: str) -> str:
    """Text in the words of the professions in view ("doctors", not "practitioners", in a doctors-only view)."""
    return wording.for_professions(text, state.selection().filters.professions)


def _relabel(figure: go.Figure) -> None:
    """Category labels, legend names, panel titles and category orders of a figure in the words of the
    professions in view."""

    def fit(values: Any) -> Any:
        if values is None or isinstance(values, str) or not all(isinstance(v, str) for v in values):
            return values
        return [words(v) for v in values]

    for trace in figure.data:
        if isinstance(trace.name, str):  # the legend
            trace.name = words(trace.name)
        for axis in ("x", "y"):
            if hasattr(trace, axis):
                trace[axis] = fit(trace[axis])
    for annotation in figure.layout.annotations:
        annotation.text = words(annotation.text or "")
    for name in list(figure.layout):
        if name.startswith(("xaxis", "yaxis")) and figure.layout[name].categoryarray is not None:
            figure.layout[name].categoryarray = fit(figure.layout[name].categoryarray)


def page_header(title: str, purpose: str, chosen: Selection, *, query: str | None = None) -> None:
    """Title, one line of purpose, the filters in words, and notes on anything not applied."""
    st.title(words(title))
    employer_banner()
    st.markdown(words(purpose))
    scope = state.viewer_org()
    if scope is not None:
        st.markdown(wording.scope_sentence(chosen.filters, scope, state.org_names().get(scope, scope)))
    unapplied = chosen.filters.unapplied(get_query(query).params) if query is not None else []
    # The summary line names only the filters that narrow this page's numbers.
    applied = dataclasses.replace(chosen.filters, **{name: () for name in unapplied})
    st.caption(
        words(
            applied.describe(state.org_names()) + f" · compared by {chosen.split_phrase}, reference: {chosen.reference}"
        )
    )
    notes = state.url_notes()
    if notes:
        st.info(f"Ignored from the link, as not valid choices: {', '.join(notes)}.", icon=":material/link_off:")
    if query is not None:
        for name in unapplied:
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


def plain_table(table: pd.DataFrame) -> None:
    """A few rows read at a glance, as a plain table (Markdown, drawn as an HTML table with its header cells).

    Neither the data grid nor ``st.table``: the browser loads and starts the code of each on every visit, and the
    Data page's two small tables cost it about 0.16 s as ``st.table`` (measured in Chromium at 1M cases, median of
    six visits each way: 2,549 ms with them, 2,385 ms without)."""
    st.markdown(tables.markdown_table(table))


# Only the "download as image" button: every other toolbar button is a Tab stop (eight a chart) between a
# keyboard user and the next control, and zooming is not needed to read these charts.
PLOTLY_CONFIG = {
    # No mode bar: its buttons were Tab stops in front of every chart's own controls, and the block's
    # "Download PNG" button gives the image (drawn by kaleido at the chart's size, legend included).
    "displayModeBar": False,
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


def open_tab(labels: list[str], *, key: str, default: str | None = None) -> list[Any]:
    """Tabs whose content is drawn for the open one only: each tab's container if it is open, else None.

    Streamlit draws every tab's content on every run, hidden or not; a tab of charts the visitor never opens cost
    its charts' drawing all the same (in the browser's main thread, on every visit). Here a click on a tab runs
    the page again and draws that tab alone. The open tab is kept in the session under ``key``; ``default`` (the
    first tab when None) is open at first, and again when the labels change so that the kept one is gone.
    """
    tabs = st.tabs(labels, key=key, on_change="rerun", default=default)
    return [tab if tab.open else None for tab in tabs]


@st.fragment
def data_table(
    table: pd.DataFrame,
    *,
    key: str,
    label: str = "Data table",
    pick: Callable[[int], bool] | None = None,
    grid_key: str | None = None,
) -> None:
    """A chart's data table (the accessible alternative) in a closed expander, drawn once the expander is opened.

    The grid (``st.dataframe``) is the heaviest thing a page's browser draws besides its charts: loading and
    starting it took about 0.3 s of the browser's main thread on every visit (``make bench``, browser section),
    for tables most visits never open. Opening the expander reruns only this fragment, which draws the table;
    it then stays open, and drawn, on the page's later runs. The expander's state is ``<key>_table_open``; the
    grid's key is ``grid_key`` (``<key>_table`` by default).

    ``pick``: rows can be picked, one at a time; a newly picked row's position goes to ``pick``, and when it
    returns True (it changed the link, say) the whole page runs again.
    """
    box = st.expander(label, expanded=False, key=f"{key}_table_open", on_change="rerun")
    if not box.open:
        return
    grid_key = grid_key or f"{key}_table"
    if pick is None:
        box.dataframe(table, hide_index=True, key=grid_key)
        return
    box.dataframe(table, hide_index=True, key=grid_key, on_select="rerun", selection_mode="single-row")
    rows = ((st.session_state.get(grid_key) or {}).get("selection") or {}).get("rows") or []
    # Act on a newly picked row only: the same selection stays in the grid after the page has acted on it.
    if not state.seen_selection(grid_key, repr(rows)) and rows and pick(int(rows[0])):
        st.rerun(scope="app")


def empty_panels_note(panels: pd.DataFrame, what: str, protected: bool) -> str | None:
    """``chart_block``'s ``empty`` for a chart of intervals in panels (``charts.interval_panels``): the sentence
    where it would draw nothing (every value hidden or not estimable), else None."""
    return None if charts.panels_have_values(panels) else wording.nothing_to_chart(what, protected)


def chart_block(
    figure: go.Figure,
    table: pd.DataFrame,
    *,
    key: str,
    alt: str,
    method: str,
    file_name: str,
    on_select: str | Callable[[], None] = "ignore",
    table_label: str = "Data table",
    pick: Callable[[int], bool] | None = None,
    grid_key: str | None = None,
    empty: str | None = None,
) -> Any:
    """The standard block: chart, its data table (the accessible alternative), CSV and PNG downloads, a method note.

    ``empty``: where the chart would draw nothing (every value hidden or not estimable), this sentence in its place
    and no PNG; the data table, the CSV and the method note stay, as they say what can be said.

    The PNG is drawn only when asked for (kaleido in Chromium, on the download's own thread); where Chromium is
    missing the button is disabled and says why. ``on_select``: "ignore", "rerun", or a callback run before the
    next script run (it reads the chart's selection with ``drill.clicked_points(key)``). ``table_label``,
    ``pick`` and ``grid_key``: the data table's, as ``data_table`` takes them.
    """
    professions = state.selection().filters.professions
    if professions:
        figure.update_layout(
            title_text=words(figure.layout.title.text or ""),
            title_subtitle_text=words(figure.layout.title.subtitle.text or ""),
        )
        _relabel(figure)
        table = table.map(lambda v: words(v) if isinstance(v, str) else v)
        table.columns = [words(str(c)) for c in table.columns]
        alt, method = words(alt), words(method)
    if empty is not None:
        st.info(words(empty) if professions else empty, icon=":material/visibility_off:")
        event = None
    else:
        event = st.plotly_chart(
            figure,
            key=key,
            on_select=on_select,
            selection_mode=("points",),
            config=PLOTLY_CONFIG,
            alt=alt,
            theme=None,  # the house template (parity.charts.theme) styles every figure; Streamlit's would override it
        )
    data_table(table, key=key, label=table_label, pick=pick, grid_key=grid_key)
    cols = st.columns([1, 1, 4])
    about = download_about(figure)
    cols[0].download_button(
        "Download CSV",
        lambda: tables.csv_export(table, about),  # written when asked for, as the PNG is
        file_name=download_name(file_name),
        mime="text/csv",
        key=f"{key}_download",
        on_click=trail.downloaded,  # the audit log records every file taken away
        args=(file_name,),
    )
    browser = get_settings().chromium_path
    problem = images.chromium_problem(browser)
    if empty is None:
        cols[1].download_button(
            "Download PNG",
            (lambda: images.render_png(figure, browser)) if problem is None else b"",
            file_name=download_name(file_name).removesuffix(".csv") + ".png",
            mime="image/png",
            key=f"{key}_png",
            on_click=trail.downloaded,  # an image leaves the room too
            args=(file_name.removesuffix(".csv") + ".png",),
            disabled=problem is not None,
            help=problem or "The chart as an image, for a slide or a report.",
        )
    cols[2].caption(method)
    return event
