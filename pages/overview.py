"""Overview: the headline gaps a director brings to a meeting, and rates by the chosen split.

Queries: referrals_by_group (through parity.measures.overview_view: by the chosen split and for the two
headlines; the summary CLI runs the same query), referrals_by_group_period and load_meta (the icon summary of
the headline indicators' trends, as on the Trends page).
"""

import streamlit as st

from parity import charts, contract, formats, tables, ui, wording
from parity.measures import overview_view
from parity.settings import get_settings

ctx = ui.page_context()

view = overview_view(
    ctx.runner,
    ctx.filters,
    ctx.split,
    ctx.reference,
    viewer=ctx.viewer,
    rule=ctx.rule,
    target=get_settings().trend_target,
)
summary, minority, graduates = view.summary, view.minority, view.graduates

ui.page_header(
    "Overview",
    "Who is referred with a performance concern, relative to the practitioners employed: the headline gaps, "
    "with their 95% confidence intervals.",
    ctx.selection,
    query="referrals_by_group",
)

if summary.empty or summary["cases"].fillna(0).sum() == 0:
    ui.no_cases(ctx.filters)
    st.stop()
ui.protection_note(view.protected)

st.subheader("Trends at a glance")
st.caption(
    "Each headline indicator's latest financial year, with Making Data Count's icons: is it a signal of change, "
    f"and will it meet the target ({get_settings().trend_target:g} for the ratios)? Open an indicator for its chart."
)
ui.icon_summary(view.icons)

st.subheader("Headlines")
left, right = st.columns(2)
for column, table, group, label in (
    (left, minority, contract.ETHNIC_MINORITY, "Ethnic minority vs White"),
    (right, graduates, contract.PMQ_REGIONS["IMG"], "IMGs vs UK graduates"),
):
    row = table[table["group"] == group]
    with column.container(border=True):
        st.markdown(f"**{ui.words(label)}**")
        if row.empty:
            st.markdown(ui.words("No practitioners in this group under these filters."))
            continue
        row = row.iloc[0]
        st.metric(
            "Relative likelihood of referral",
            formats.ratio2(row["rl"]),
            help="Referral rate of the group divided by that of the reference group.",
        )
        st.markdown(ui.words(wording.rl_sentence(row, table.loc[table["is_reference"], "group"].iloc[0])))
        if row["small_numbers"]:
            st.caption(wording.small_numbers_note())

highest = summary[~summary["is_reference"]].dropna(subset=["rl"]).sort_values("rl", ascending=False)
if not highest.empty:
    top = highest.iloc[0]
    title = f"{top['group']}: referred {wording.times_as_often(float(top['rl']))} {ctx.reference} practitioners"
else:
    title = f"Referral rates by {ctx.split_phrase}"

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
ui.chart_block(
    charts.forest_plot(
        summary,
        f"Relative likelihood of referral against {ctx.reference}",
        f"Ratio of referral rates, 95% CI, log scale; shaded: the 0.80–1.25 non-adverse band · {ctx.period}",
    ),
    display,
    key="overview_forest",
    alt=f"Forest plot of relative likelihoods of referral by {ctx.split_phrase} against "
    f"{ctx.reference}, with 95% confidence intervals and the 0.80 to 1.25 band shaded.",
    method="Relative likelihood = group rate ÷ reference rate, 95% interval by the log (Katz) method. Judged two "
    "ways: outside the 0.80–1.25 band (the four-fifths rule used by WRES), and significant (interval excludes 1).",
    file_name=f"relative_likelihood_by_{ctx.split}.csv",
)
