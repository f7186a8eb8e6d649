"""Trends: is the gap real or noise, and is it closing? The headline indicators as XmR charts with Making Data
Count's icons, by financial year or by quarter, rebased from a chosen period; and the meeting pack.

Queries: referrals_by_group_period, load_meta, coverage_by_year (through parity.measures.trends_view: once
per split, the extract date for the pack, and the cases the rates leave out for want of workforce figures).
"""

import dataclasses
import io

import streamlit as st

from parity import measures, tables, ui, wording
from parity.export import images
from parity.export.meeting import build_pack, indicator_block
from parity.export.pack import write_pdf, write_pptx
from parity.settings import get_settings
from parity.ui import trail

PAGE = "Trends"
K_PERIOD, K_REBASE, K_FAMILY = "period", "rebase", "trends_family"
NO_REBASE = ""

ctx = ui.page_context()
filters, rule, population = ctx.filters, ctx.rule, ctx.period
settings = get_settings()

ui.page_header(
    PAGE,
    "Is a gap real or noise, and is it closing? Each headline indicator over time as an XmR chart, with the "
    "Making Data Count icons: variation (is the latest period a signal?) and assurance (will it meet the target?).",
    ctx.selection,
    query="referrals_by_group_period",
)
st.caption(
    "The indicators fix their own groups (ethnic minority vs White, IMGs vs UK graduates): the *Compare by* and "
    "*Reference group* choices do not apply here."
)

# In the URL a period is its label (?period=Quarter), as the sidebar's choices are.
PERIOD_LABELS = {"year": "Financial year", "quarter": "Quarter"}
raw_period = st.query_params.get(K_PERIOD)
if raw_period is not None and raw_period not in PERIOD_LABELS.values():
    st.info(f"Ignored from the link: `period={raw_period}` is not one of {', '.join(PERIOD_LABELS.values())}.")
controls = st.columns([2, 2, 3])
period = controls[0].radio(
    "Periods",
    list(measures.PERIODS),
    format_func=PERIOD_LABELS.get,
    horizontal=True,
    key=K_PERIOD,
    bind="query-params",
    help="Quarters give more points for the limits, each resting on fewer referrals.",
)
unrebased = ctx.view(
    measures.trends_view, filters, period=period, target=settings.trend_target, rule=rule, viewer=ctx.viewer
)
# A rebase leaves at least two periods on each side of it.
rebase_options = [NO_REBASE, *unrebased.periods[2:-1]]
if st.session_state.get(K_REBASE) not in (None, *rebase_options):
    st.session_state.pop(K_REBASE)
raw_rebase = st.query_params.get(K_REBASE)
if raw_rebase and raw_rebase not in rebase_options:
    st.info(f"Ignored from the link: `rebase={raw_rebase}` is not a period that leaves two on each side.")
rebase = controls[1].selectbox(
    "Recalculate the limits from",
    rebase_options,
    format_func=lambda p: "No rebase: one set of limits" if p == NO_REBASE else p,
    key=K_REBASE,
    bind="query-params",
    help="The start of an action plan, say: the limits before and from it are calculated separately.",
)
view = (
    ctx.view(
        measures.trends_view,
        filters,
        period=period,
        rebase=rebase,
        target=settings.trend_target,
        rule=rule,
        viewer=ctx.viewer,
    )
    if rebase
    else unrebased
)

if view.summary["points"].sum() == 0:
    ui.no_cases(filters)
    st.stop()

st.subheader("Summary")
ui.icon_summary(view.summary)
st.caption(
    f"Target for the ratios: {view.target:g} (`PARITY_TREND_TARGET`), lower taken as better. Rates have no target: "
    "neither direction is better. ⚠: the latest value rests on fewer than 10 referrals."
)
if view.protected:
    st.caption(
        "Protected numbers: counts are suppressed or rounded first, and every rate, ratio, interval and limit "
        "here is computed from the protected counts. " + rule.explain()
    )
left_out = wording.coverage_note(view.coverage.total, view.coverage.error) if view.coverage else None
if left_out:
    st.warning(ui.words(left_out))

shown = st.query_params.get(ui.K_SHOW)
keys = list(view.series)
if shown is not None and shown not in keys:
    st.info(f"Ignored from the link: `show={shown}` is not an indicator.")
    shown = None


def indicator_charts(keys: list[str]) -> None:
    """Each indicator's heading, icons, XmR chart with its table and downloads, and the assurance sentence."""
    for key in keys:
        block = indicator_block(view, key, population)
        st.subheader(measures.INDICATOR_KEYS[key].label, anchor=key)
        ui.chart_icons(view.summary.set_index("key").loc[key])
        if block.note:
            st.info(block.note)
        if view.series[key]["value"].notna().sum() == 0:
            st.info("No period has a value to chart under these filters: the numbers are hidden or too few.")
            continue
        ui.chart_block(
            block.figure,
            block.table,
            key=f"trend_{key}",
            alt=block.alt,
            method=block.method,
            file_name=block.file_name,
        )
        if block.assurance:
            st.markdown(block.assurance)


if shown is not None:
    cols = st.columns([5, 2])
    cols[0].markdown(f"Showing one indicator: **{measures.INDICATOR_KEYS[shown].label}**.")
    if cols[1].button("Show every indicator", icon=":material/list:"):
        del st.query_params[ui.K_SHOW]
        st.rerun()
    indicator_charts([shown])
else:
    # One tab per family of indicators, read together; the open tab's charts alone are drawn, the others' when
    # their tab is opened. Every indicator is in the summary above, and its link there opens its chart.
    families: dict[str, list[str]] = {}
    for key in keys:
        families.setdefault(measures.INDICATOR_KEYS[key].family, []).append(key)
    # It opens on the first family with a value to chart: one organisation's ratios are often all hidden or too few.
    charted = [
        name for name, members in families.items() if any(view.series[k]["value"].notna().any() for k in members)
    ]
    st.subheader("Each indicator over time")
    tabs = ui.open_tab(list(families), key=K_FAMILY, default=charted[0] if charted else None)
    for tab, family in zip(tabs, families.values(), strict=True):
        if tab is not None:
            with tab:
                indicator_charts(family)

st.subheader("Meeting pack")
st.markdown(
    "A PowerPoint and a PDF of this view: a title page with the filters, the data extract date and the "
    "disclosure statement, the summary above, then one slide per indicator with its finding, chart and table, "
    "and the method in the speaker notes. The pack is always protected: counts are suppressed or rounded first."
)
problem = images.chromium_problem(settings.chromium_path)
if problem:
    st.warning(problem, icon=":material/image_not_supported:")
signature = (filters, period, rebase or None)
if st.button("Make the meeting pack", icon=":material/slideshow:", disabled=problem is not None, key="make_pack"):
    with st.status("Making the meeting pack…", expanded=True) as status:
        bar = st.progress(0.0, text="Computing the protected numbers")
        pack_view = ctx.view(
            measures.trends_view,
            filters,
            period=period,
            rebase=rebase or None,
            target=settings.trend_target,
            rule=rule,
            viewer=dataclasses.replace(ctx.viewer, level="protected"),
        )
        pack = build_pack(
            pack_view,
            filters_text=population,
            rule=rule,
            browser=settings.chromium_path,
            progress=lambda done, message: bar.progress(done, text=message),
        )
        bar.progress(1.0, text="Writing the PowerPoint and the PDF")
        pptx, pdf = io.BytesIO(), io.BytesIO()
        write_pptx(pack, pptx)
        write_pdf(pack, pdf)
        st.session_state["_pack"] = (signature, pptx.getvalue(), pdf.getvalue(), len(pack.slides) + 1)
        status.update(label="Meeting pack ready", state="complete", expanded=False)
made = st.session_state.get("_pack")
if made is not None and made[0] == signature:
    _, pptx_bytes, pdf_bytes, slides = made
    cols = st.columns([1.4, 1, 3])
    cols[0].download_button(
        "Download PowerPoint",
        pptx_bytes,
        file_name=f"parity_meeting_pack_{period}.pptx",
        mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
        icon=":material/download:",
        on_click=trail.exported,  # the pack leaves the room: the audit log records it
        args=(f"parity_meeting_pack_{period}.pptx",),
    )
    cols[1].download_button(
        "Download PDF",
        pdf_bytes,
        file_name=f"parity_meeting_pack_{period}.pdf",
        mime="application/pdf",
        icon=":material/download:",
        on_click=trail.exported,  # the pack leaves the room: the audit log records it
        args=(f"parity_meeting_pack_{period}.pdf",),
    )
    cols[2].caption(f"{slides} slides, protected numbers.")

# Drawn once opened, as a chart's data table is.
ui.data_table(tables.icon_summary_table(view.summary), key="trends_icon_summary", label="Icon summary as a table")
