"""Concern rates: who is referred, relative to the practitioners employed, by the chosen split, by
ethnicity × place of qualification, by concern type and over time. Clicking a group drills into it.

Queries: referrals_by_group, referrals_by_group_concern, referrals_by_group_year, with a drill
referrals_by_group_breakdown, and at the full level only referrals_by_cell (the adjusted relative likelihoods and
the ethnicity × place of qualification interaction test), coverage_by_year (the cases the rates leave out:
no workforce figures); all through parity.measures.concern_rates_view.
"""

import pandas as pd
import streamlit as st

from parity import charts, contract, formats, tables, ui, wording
from parity.measures import BREAKDOWNS, WINDOWS, concern_rates_view

PAGE = "Concern rates"
K_WINDOW = ui.K_WINDOW
RATE_SUBTITLE = "Referrals per 1,000 practitioners a year, 95% CI"
RATE_METHOD = (
    "Rate = referrals ÷ practitioner headcount summed over the same financial years × 1,000. "
    + wording.RATE_INTERVAL_METHOD
)
RL_METHOD = (
    "Relative likelihood = group rate ÷ reference rate, 95% interval by the log (Katz) method. Judged two ways: "
    "against the 0.80–1.25 band (the four-fifths rule used by WRES) by where the whole interval lies (outside, "
    "within, or inconclusive when it crosses an edge), and significant (interval excludes 1)."
)

ctx = ui.page_context()
drilled = ui.drill(ctx.selection)
header = st.container()

raw_window = st.query_params.get(K_WINDOW)
if raw_window is not None and raw_window not in {str(w) for w in WINDOWS}:
    # Said with the other link values the page ignored (in the header), not as a message of its own.
    ui.add_url_note(f"`{K_WINDOW}={ui.link_value(raw_window)}`")
window = st.radio(
    "Window for rates over time (financial years)",
    WINDOWS,
    format_func=str,
    captions=["each year on its own", "rolling, for small groups", "rolling, as the regulator reports"],
    horizontal=True,
    key=K_WINDOW,
    bind="query-params",
    help="Small groups give wide intervals year by year; a 3- or 5-year window ending in each year pools them.",
)
# Adjusted relative likelihoods are fitted for the full level only (a regression on protected cells means nothing).
adjust_for = ui.adjustment_choice() if not ctx.viewer.protected else ()

view = ctx.view(
    concern_rates_view,
    ctx.filters,
    ctx.split,
    ctx.reference,
    window=window,
    drill=drilled,
    viewer=ctx.viewer,
    rule=ctx.rule,
    adjust_for=adjust_for,
)
adjustment = view.adjustment
summary = view.summary
reference = ctx.reference
styles = charts.group_styles(summary["group"], reference)

title_note = ""
no_cases = summary.empty or summary["cases"].fillna(0).sum() == 0
if no_cases:
    title = PAGE  # no finding to state: the page says there are no cases, and nothing above contradicts it
elif drilled is not None:
    row = summary[summary["group"] == drilled]
    comparable = not row.empty and drilled != reference and pd.to_numeric(row["rl"]).gt(0).iloc[0]
    title = wording.gap_title(row.iloc[0], reference) if comparable else f"{PAGE}: {wording.group_noun(drilled)}"
else:
    top_row = wording.largest_gap(summary)
    title = wording.gap_title(top_row, reference) if top_row is not None else wording.no_gap_title(reference)
    title_note = " " + wording.gap_count_sentence(summary, reference)

with header:
    ui.page_header(
        title,
        f"**{PAGE}**: referrals with a performance concern per 1,000 practitioners employed, and the relative "
        "likelihood of referral against the reference group, with 95% confidence intervals." + title_note,
        ctx.selection,
        query="referrals_by_group",
    )
    ui.breadcrumb(ctx.selection, drilled, PAGE)

if no_cases:
    ui.no_cases(ctx.filters)
    st.stop()

ui.protection_note(view.protected)
left_out = wording.coverage_note(view.coverage.total, view.coverage.error) if view.coverage else None
if left_out:
    st.warning(ui.words(left_out))
if adjustment.withheld:
    st.info(wording.ADJUSTED_AT_FULL_LEVEL)


def rate_block(table, chart_title: str, key: str, *, clickable: bool = False) -> None:
    event = ui.chart_block(
        charts.rate_chart(table, chart_title, f"{RATE_SUBTITLE} · {ctx.period}"),
        tables.referral_table(table),
        key=key,
        alt=f"Referral rate per 1,000 practitioners by {ctx.split_phrase}, with 95% confidence intervals; "
        f"reference: {reference}. {chart_title}.",
        method=RATE_METHOD + (" Click a group's point to drill into it." if clickable else ""),
        file_name=f"referral_rates_by_{ctx.split}.csv",
        on_select="rerun" if clickable else "ignore",
    )
    if clickable:
        ui.apply_click(event, key, ctx.selection)


def trend_block(groups: list[str], headline: str | None) -> None:
    st.subheader("Over time")
    trend = view.trend[view.trend["group"].isin(groups)]
    if trend.empty:
        st.info(
            f"No full {window}-year window fits inside the chosen financial years: choose a shorter window or "
            "widen the years."
        )
        return
    noun = "each financial year" if window == 1 else f"rolling {window}-year windows, by their last year"
    if trend["suppressed"].any() and window < max(WINDOWS):
        st.caption(
            "Some points are hidden under the disclosure rule (too few referrals, or a second figure hidden so that a "
            "hidden one cannot be worked out from a total): a longer window pools the years."
        )
    ui.chart_block(
        charts.trend_chart(
            trend,
            wording.trend_title(trend, headline, reference),
            f"{RATE_SUBTITLE}, {noun} · {ctx.period}",
            styles=styles,
            x_title="Financial year" if window == 1 else f"Last financial year of the {window}-year window",
        ),
        tables.referral_table_by(trend, {"period": "Financial years"}),
        key=f"concern_rates_trend_{'drill' if drilled else 'all'}",
        alt=f"Line chart of referral rates per 1,000 for {noun}, one line and marker shape per group, with 95% "
        f"confidence intervals as error bars; the reference group {reference} dashed.",
        method=RATE_METHOD
        + " Windows lie wholly inside the chosen years. Relative likelihoods in the table compare each group with "
        "the reference in the same window.",
        file_name=f"referral_rates_by_{ctx.split}_{window}y_window.csv",
    )


if drilled is None:
    st.subheader(f"Referral rates by {ctx.split_phrase}")
    rate_block(summary, wording.rates_title(summary, reference), "concern_rates_rates", clickable=True)

    st.subheader("Relative likelihood against the reference group")
    top = wording.largest_gap(summary)
    if adjustment.withheld:  # the protected level: unadjusted only (said once, above)
        crude_tab, adjusted_tab = st.container(), None
    else:
        # The open tab's forest plot alone is drawn: the other's is drawn when its tab is opened.
        crude_tab, adjusted_tab = ui.open_tab(
            [
                "Unadjusted",
                f"Adjusted for {adjustment.described}" if adjustment.adjusted_for else "Adjusted (none chosen)",
            ],
            key="concern_rates_adjustment_tab",
        )
    if crude_tab is not None:
        with crude_tab:
            ui.drillable_chart_block(
                charts.forest_plot(
                    summary,
                    wording.forest_title(summary, reference),
                    f"Ratio of referral rates against {reference}, 95% CI, log scale; shaded: the 0.80–1.25 "
                    f"non-adverse band · {ctx.period}",
                ),
                tables.referral_table(summary),
                key="concern_rates_forest",
                alt=f"Forest plot of relative likelihoods of referral by {ctx.split_phrase} against {reference}, "
                "with 95% confidence intervals and the 0.80 to 1.25 band shaded.",
                method=RL_METHOD + " Click a group's point to drill into it.",
                file_name=f"relative_likelihood_by_{ctx.split}.csv",
                chosen=ctx.selection,
            )
    st.caption(
        wording.fdr_sentence(view.tests, view.flags)
        + " 'Not stated' and 'not known' groups are data quality: they are not tested against the reference."
    )
    if top is not None and adjustment.adjusted_for:
        said = wording.adjusted_sentence(top, reference, adjustment.described)
        st.markdown(
            f"{wording.capitalise(wording.group_noun(top['group']))} against {wording.group_noun(reference)}: "
            f"{said[:1].lower()}{said[1:]}"
        )
    if adjusted_tab is not None:
        with adjusted_tab:
            ui.adjusted_forest(
                summary,
                tables.referral_table(summary),
                adjustment,
                reference=reference,
                split=ctx.split,
                split_phrase=ctx.split_phrase,
                period=ctx.period,
                key="concern_rates_forest_adjusted",
            )

    st.subheader("Ethnicity and place of qualification together")
    st.markdown(
        ui.words(
            "Each cell is a group of practitioners by ethnic group and place of primary qualification. Against White "
            "UK graduates, a high ratio may come from ethnicity, from where people qualified, or both; against White "
            "practitioners who qualified in the same place, the ethnic gap among IMGs and among UK graduates can be "
            "told apart."
        )
    )
    if not adjustment.withheld:
        st.markdown(wording.interaction_sentence(view.interaction, adjustment.described))
    crossed_reference = contract.SPLITS["ethnicity_pmq"].default_reference
    # The open tab's heatmap alone is drawn: the other's is drawn when its tab is opened.
    against_uk, within_pmq = ui.open_tab(
        ["Against White UK graduates", "Against White, same place of qualification"], key="concern_rates_crossed"
    )
    heat_alt = (
        "Heatmap of relative likelihoods of referral, ethnic groups in rows and places of primary qualification in "
        "columns; each cell shows the ratio and its 95% interval, blue below 1 and plum above."
    )
    heat_method = (
        RL_METHOD + " Colour: a diverging scale centred on 1 on a log scale; '*': numbers hidden; 'n/a': no "
        "referrals or no practitioners to compare."
    )

    def cells_to_compare(table) -> bool:
        """Whether any cell besides the reference has referrals to compare (else a plain message, no empty box)."""
        rl = pd.to_numeric(table["rl"], errors="coerce")
        return bool((~table["is_reference"].astype(bool) & rl.gt(0)).any())

    no_cells = (
        "Too few referrals under these filters to compare ethnic groups by place of qualification: no cell besides "
        "the reference has referrals. Widen the filters or the financial years."
    )

    def heatmap_block(tab, table, title: str, against: str, reference_words: str, key: str, file_name: str) -> None:
        """One heatmap of the crossed groups in its tab (drawn only when the tab is open), or why there is none."""
        if tab is None:
            return
        with tab:
            if not cells_to_compare(table):
                st.info(no_cells)
                return
            ui.chart_block(
                charts.intersection_heatmap(
                    table, title, f"Relative likelihood of referral against {against} (outlined), 95% CI · {ctx.period}"
                ),
                tables.referral_table_by(table, {"ethnic_group": "Ethnic group", "pmq": "Place of qualification"}),
                key=key,
                alt=f"{heat_alt} Reference: {reference_words}.",
                method=heat_method,
                file_name=file_name,
            )

    crossed, within = view.intersection, view.within_pmq
    top_cell = wording.largest_gap(crossed)
    heatmap_block(
        against_uk,
        crossed,
        wording.gap_title(top_cell, crossed_reference)
        if top_cell is not None
        else wording.no_gap_title(crossed_reference),
        "White UK graduates",
        "White UK graduates",
        "concern_rates_heatmap",
        "relative_likelihood_by_ethnicity_and_pmq.csv",
    )
    heatmap_block(
        within_pmq,
        within,
        wording.intersection_title(crossed, within),
        "White practitioners with the same place of qualification",
        "White practitioners of the same place of qualification (the first row)",
        "concern_rates_heatmap_within",
        "relative_likelihood_by_ethnicity_within_pmq.csv",
    )

    st.subheader("By concern type")
    concerns = view.concerns
    ui.chart_block(
        charts.concern_rate_chart(
            concerns,
            wording.concern_title(concerns, reference),
            f"Referrals with each concern type per 1,000 practitioners a year, 95% CI · {ctx.period}",
            styles=styles,
        ),
        tables.referral_table_by(concerns, {"concern_label": "Concern type"}),
        key="concern_rates_concerns",
        alt=f"Dot plot of referral rates per 1,000 by concern type for each {ctx.split_phrase} group, "
        "one marker shape per group, with 95% confidence intervals.",
        method="A case with several concern types counts once under each. "
        + RATE_METHOD
        + " Relative likelihoods in the table compare each group with the reference for the same concern type.",
        file_name=f"referral_rates_by_{ctx.split}_and_concern.csv",
    )
    trend_block(list(summary["group"]), top["group"] if top is not None else None)
else:
    row = summary[summary["group"] == drilled]
    if row.empty:
        st.info(f"No practitioners or referrals in {drilled} under these filters.")
        st.stop()
    row = row.iloc[0]
    ref_row = summary[summary["is_reference"]]
    cols = st.columns(3)
    per = "Referrals per 1,000 practitioners a year, over the chosen years."
    cols[0].metric(drilled, formats.rate2(row["rate"]), help=per)
    cols[1].metric(
        f"{reference} (reference)", formats.rate2(ref_row["rate"].iloc[0]) if not ref_row.empty else "*", help=per
    )
    cols[2].metric(
        "Relative likelihood",
        "1 (reference)" if drilled == reference else formats.ratio2(row["rl"]),
        help="The group's rate divided by the reference group's.",
    )
    if drilled != reference:
        st.markdown(ui.words(wording.drill_sentence(row, reference)))
        if not adjustment.withheld:
            st.markdown(ui.words(wording.adjusted_sentence(row, reference, adjustment.described)))
        # A drill counts its own tests: the group overall and in each level below, corrected together.
        st.caption(ui.words(wording.drill_family_sentence(drilled, view.drill_tests, view.drill_flags)))
    for dimension, label in BREAKDOWNS.items():
        rows = view.breakdown[view.breakdown["dimension"] == dimension]
        st.subheader(f"By {label}")
        if rows.empty:
            st.info(f"No referrals or practitioners by {label} for these groups under these filters.")
            continue
        ui.chart_block(
            charts.breakdown_chart(
                rows,
                wording.breakdown_title(rows, label, drilled, reference),
                f"{RATE_SUBTITLE}, and relative likelihood against {reference} in the same {label} · {ctx.period}",
                styles=styles,
            ),
            tables.referral_table_by(rows, {"level_label": label.capitalize()}),
            key=f"concern_rates_drill_{dimension}",
            alt=f"Referral rates per 1,000 for {drilled} and {reference} in each {label}, with 95% confidence "
            f"intervals, and the relative likelihood of {drilled} against {reference} in each {label}, with the "
            "0.80 to 1.25 band shaded.",
            method=RATE_METHOD + " " + RL_METHOD,
            file_name=f"referral_rates_{dimension}_drill.csv",
        )
        if dimension in ("org_type", "region"):
            levels = dict(zip(rows["level"], rows["level_label"], strict=True))
            ui.organisation_drill(dimension, levels, drilled, label)
    trend_block(list(dict.fromkeys([reference, drilled])), drilled)
