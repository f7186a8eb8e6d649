"""Overview: the headline gaps a director brings to a meeting, before and after allowing for who is employed where
and in what role, and rates by the chosen split.

Queries: referrals_by_group and, at the full level only, referrals_by_cell (through parity.measures.overview_view:
by the chosen split and for the two headlines, the second for the adjusted relative likelihoods; the summary CLI
runs the same queries), referrals_by_group_period and load_meta (the icon summary of the headline indicators'
trends, as on the Trends page), coverage_by_year (the cases the rates leave out: no workforce figures).
"""

import streamlit as st

from parity import charts, contract, formats, tables, ui, wording
from parity.measures import overview_view
from parity.settings import get_settings

ctx = ui.page_context()

ui.page_header(
    "Overview",
    "Who is referred with a performance concern, relative to the practitioners employed: the headline gaps, "
    "with their 95% confidence intervals"
    + ("." if ctx.viewer.protected else ", before and after allowing for who is employed where and in what role."),
    ctx.selection,
    query="referrals_by_group",
)
# Adjusted relative likelihoods are fitted for the full level only (a regression on protected cells means nothing).
adjust_for = ui.adjustment_choice() if not ctx.viewer.protected else ()

view = ctx.view(
    overview_view,
    ctx.filters,
    ctx.split,
    ctx.reference,
    viewer=ctx.viewer,
    rule=ctx.rule,
    adjust_for=adjust_for,
    target=get_settings().trend_target,
)
summary, minority, graduates = view.summary, view.minority, view.graduates

if summary.empty or summary["cases"].fillna(0).sum() == 0:
    ui.no_cases(ctx.filters)
    st.stop()
ui.protection_note(view.protected)
left_out = wording.coverage_note(view.coverage.total, view.coverage.error) if view.coverage else None
if left_out:
    st.warning(ui.words(left_out))
if view.adjustments["summary"].withheld:
    st.info(wording.ADJUSTED_AT_FULL_LEVEL)

st.subheader("Trends at a glance")
st.caption(
    "Each headline indicator's latest financial year, with Making Data Count's icons: is it a signal of change, "
    f"and will it meet the target ({get_settings().trend_target:g} for the ratios)? Open an indicator for its chart."
)
ui.icon_summary(view.icons)

st.subheader("Headlines")
left, right = st.columns(2)
for column, name, group, label in (
    (left, "minority", contract.ETHNIC_MINORITY, "Ethnic minority vs White"),
    (right, "graduates", contract.PMQ_REGIONS["IMG"], "IMGs vs UK graduates"),
):
    table, adjustment = getattr(view, name), view.adjustments[name]
    row = table[table["group"] == group]
    with column.container(border=True):
        st.markdown(f"**{ui.words(label)}**")
        if row.empty:
            st.markdown(ui.words("No practitioners in this group under these filters."))
            continue
        row = row.iloc[0]
        reference = table.loc[table["is_reference"], "group"].iloc[0]
        adjusted = bool(adjustment.adjusted_for)
        st.metric(
            "Relative likelihood of referral",
            formats.ratio2(row["rl"]),
            delta=f"{formats.ratio2(row['adj_rl'])} adjusted" if adjusted else None,
            delta_color="off",
            delta_arrow="off",
            help="Referral rate of the group divided by that of the reference group; below it, the same among "
            "practitioners alike in the characteristics adjusted for.",
        )
        st.markdown(ui.words(wording.rl_sentence(row, reference)))
        if not adjustment.withheld:
            st.markdown(ui.words(wording.adjusted_sentence(row, reference, adjustment.described)))
        if row["small_numbers"]:
            st.caption(wording.small_numbers_note())
        if not adjustment.withheld:
            st.caption(ui.adjustment_note(adjustment))

title = wording.largest_gap_title(summary, ctx.reference)

st.subheader(f"Referral rates by {ctx.split_phrase}")
display = tables.referral_table(summary)
ui.chart_block(
    charts.rate_chart(summary, title, f"Referrals per 1,000 practitioners a year, 95% CI · {ctx.period}"),
    display,
    key="overview_rates",
    alt=f"Referral rate per 1,000 practitioners by {ctx.split_phrase}, with 95% confidence intervals.",
    method="Rate = referrals ÷ practitioner headcount summed over the years × 1,000. " + wording.RATE_INTERVAL_METHOD,
    file_name=f"referral_rates_by_{ctx.split}.csv",
)

st.subheader("Relative likelihood against the reference group")
adjustment = view.adjustments["summary"]


def crude_forest() -> None:
    ui.chart_block(
        charts.forest_plot(
            summary,
            wording.forest_title(summary, ctx.reference),
            f"Ratio of referral rates, 95% CI, log scale; shaded: the 0.80–1.25 non-adverse band · {ctx.period}",
        ),
        display,
        key="overview_forest",
        alt=f"Forest plot of relative likelihoods of referral by {ctx.split_phrase} against "
        f"{ctx.reference}, with 95% confidence intervals and the 0.80 to 1.25 band shaded.",
        method=wording.RL_METHOD,
        file_name=f"relative_likelihood_by_{ctx.split}.csv",
    )


if adjustment.withheld:  # the protected level: unadjusted only (said once, above)
    crude_forest()
else:
    # The open tab's forest plot alone is drawn: the other's is drawn when its tab is opened.
    crude_tab, adjusted_tab = ui.open_tab(
        ["Unadjusted", f"Adjusted for {adjustment.described}" if adjustment.adjusted_for else "Adjusted (none chosen)"],
        key="overview_adjustment_tab",
    )
    if crude_tab is not None:
        with crude_tab:
            crude_forest()
    if adjusted_tab is not None:
        with adjusted_tab:
            ui.adjusted_forest(
                summary,
                display,
                adjustment,
                reference=ctx.reference,
                split=ctx.split,
                split_phrase=ctx.split_phrase,
                period=ctx.period,
                key="overview_forest_adjusted",
            )
