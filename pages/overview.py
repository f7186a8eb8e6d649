"""Overview: the headline gaps a director brings to a meeting, and rates by the chosen split.

Queries: referrals_by_group (through parity.measures.overview_view: by the chosen split and for the two
headlines; the summary CLI runs the same query).
"""

import streamlit as st

from parity import charts, contract, formats, tables, ui, wording
from parity.measures import overview_view

chosen = ui.selection()
filters = chosen.filters
rule = ui.disclosure_rule()

view = overview_view(ui.CachedQueryRunner(), filters, chosen.split, chosen.reference, rule=rule)
summary, minority, graduates = view.summary, view.minority, view.graduates

ui.page_header(
    "Overview",
    "Who is referred with a performance concern, relative to the practitioners employed: the headline gaps, "
    "with their 95% confidence intervals.",
    chosen,
    query="referrals_by_group",
)

if summary.empty or summary["cases"].fillna(0).sum() == 0:
    ui.no_cases(filters)
    st.stop()

st.subheader("Headlines")
left, right = st.columns(2)
for column, table, group, label in (
    (left, minority, contract.ETHNIC_MINORITY, "Ethnic minority vs White"),
    (right, graduates, contract.PMQ_REGIONS["IMG"], "IMGs vs UK graduates"),
):
    row = table[table["group"] == group]
    with column.container(border=True):
        st.markdown(f"**{label}**")
        if row.empty:
            st.markdown("No practitioners in this group under these filters.")
            continue
        row = row.iloc[0]
        st.metric(
            "Relative likelihood of referral",
            formats.ratio2(row["rl"]),
            help="Referral rate of the group divided by that of the reference group.",
        )
        st.markdown(wording.rl_sentence(row, table.loc[table["is_reference"], "group"].iloc[0]))
        if row["small_numbers"]:
            st.caption("Small numbers: fewer than 10 referrals, so the interval is wide.")

period = filters.describe(st.session_state.get("_org_names"))
highest = summary[~summary["is_reference"]].dropna(subset=["rl"]).sort_values("rl", ascending=False)
if not highest.empty:
    top = highest.iloc[0]
    title = f"{top['group']}: referred {wording.times_as_often(float(top['rl']))} {chosen.reference} practitioners"
else:
    title = f"Referral rates by {chosen.split_phrase}"

st.subheader(f"Referral rates by {chosen.split_phrase}")
display = tables.referral_table(summary)
ui.chart_block(
    charts.rate_chart(summary, title, f"Referrals per 1,000 practitioners a year, 95% CI · {period}"),
    display,
    key="overview_rates",
    alt=f"Referral rate per 1,000 practitioners by {chosen.split_phrase}, with 95% confidence intervals.",
    method="Rate = referrals ÷ practitioner headcount summed over the years × 1,000. Intervals: exact Poisson below "
    "10 referrals, Byar's method from 10.",
    file_name=f"referral_rates_by_{chosen.split}.csv",
)

st.subheader("Relative likelihood against the reference group")
ui.chart_block(
    charts.forest_plot(
        summary,
        f"Relative likelihood of referral against {chosen.reference}",
        f"Ratio of referral rates, 95% CI, log scale; shaded: the 0.80–1.25 non-adverse band · {period}",
    ),
    display,
    key="overview_forest",
    alt=f"Forest plot of relative likelihoods of referral by {chosen.split_phrase} against "
    f"{chosen.reference}, with 95% confidence intervals and the 0.80 to 1.25 band shaded.",
    method="Relative likelihood = group rate ÷ reference rate, 95% interval by the log (Katz) method. Judged two "
    "ways: outside the 0.80–1.25 band (the four-fifths rule used by WRES), and significant (interval excludes 1).",
    file_name=f"relative_likelihood_by_{chosen.split}.csv",
)
if not filters.is_national:
    st.caption(rule.explain())
