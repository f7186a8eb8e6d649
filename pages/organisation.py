"""Organisation: one organisation's profile beside national (a spine chart of every indicator, with the range
across organisations and a test against the rest), every organisation's referral rate for one group against the
national rate as a funnel plot, and the organisation's rates beside national with its standardised ratio.
Employers see their own organisation named and every other one unnamed and unclickable; in a national view a
click on a funnel point opens that organisation.

Queries: referrals_by_org, through parity.measures.organisation_view; referrals_by_group, uncovered_cases_by_year,
outcomes_by_group, load_meta, durations_by_group, referrals_by_org_group, outcomes_by_org, durations_by_org, through
parity.measures.profile_view (the Overview's, Outcomes' and Durations' own Views, and one query by organisation).
"""

import functools
import math

import streamlit as st

from parity import charts, contract, tables, ui, wording
from parity.measures import (
    MIN_ORGS_FOR_OVERDISPERSION,
    SECTIONS,
    OrganisationView,
    organisation_view,
    profile_view,
)
from parity.stats.intervals import BYAR_FROM

PAGE = "Organisation"
K_GROUP = ui.K_GROUP
PAGE_FILES = {
    "overview": ("pages/overview.py", "Overview"),
    "concern_rates": ("pages/concern_rates.py", "Concern rates"),
    "outcomes": ("pages/outcomes.py", "Outcomes"),
    "durations": ("pages/durations.py", "Durations"),
}
PROFILE_METHOD = (
    "Each row is scaled on its own: the centre line is the comparator's value, the grey bar the range across "
    "organisations whose value can be shown. Tests compare the organisation with the rest of the comparator: "
    "relative likelihoods by a z-test of the ratio of the two ratios (Altman and Bland); referral rates by the "
    "standardised ratio's exact or Byar interval; shares by Fisher's exact test where an expected count is below 5, "
    "else chi-square; times to closure by the log-rank test on quarters with exact numbers, and with protected "
    "numbers by the share still open at 12 months among cases followed that long (Fisher's exact test or "
    "chi-square): a log-rank test on an organisation's protected times flags differences the exact times do not "
    "have. The range of medians and of shares still open is worked out on quarters. Significance at the 5% level, "
    "each test on its own (no false-discovery control)."
)
FUNNEL_METHOD = (
    "Each point is an organisation: its referrals of practitioners in the group ÷ their headcount summed over the "
    "chosen financial years (practitioner-years), per 1,000. Each is compared with the rest of the country: its "
    "referrals against those expected at every other organisation's rate, with exact Poisson limits below 10 "
    "referrals and Byar's from 10 (as PHEindicatormethods' rate and ratio funnels). The curves are drawn around "
    "the pooled rate of every organisation shown; each organisation's flag uses its own comparison."
)
ISR_METHOD = (
    "Standardised ratio (ISR) = the organisation's referrals ÷ those expected if its practitioners were referred "
    "at the comparator's rates for their profession and group; exact limits below "
    f"{BYAR_FROM} referrals, Byar's from {BYAR_FROM}. "
    "Relative likelihood here compares groups within the organisation."
)

ctx = ui.page_context()
scope_org = ctx.viewer.org
header = st.container()

groups = [g for g in contract.SPLITS[ctx.split].groups if not contract.is_unknown_group(g)]
shown_groups = {g: ui.words(g) for g in groups}  # in the words of the professions in view, as the link carries them
raw_group = st.query_params.get(K_GROUP)
if raw_group is not None and raw_group not in shown_groups.values():
    ui.add_url_note(f"`{K_GROUP}={ui.link_value(raw_group)}`")

org = ctx.filters.orgs[0] if len(ctx.filters.orgs) == 1 else scope_org


def view_for(group: str | None = None) -> OrganisationView:
    """The page's View with the funnel drawn for ``group`` (None: the View's own default group)."""
    return ctx.view(
        organisation_view,
        ctx.filters,
        ctx.split,
        ctx.reference,
        org=org,
        group=group,
        scope_org=scope_org,
        viewer=ctx.viewer,
        rule=ctx.rule,
    )


view = view_for()
default_group = view.group if view.group in groups else groups[0]
# Set, not dropped: after a new split or a reset the box shows exactly the group the funnel is drawn for.
held = ui.settle_option(K_GROUP, groups, default_group, shown_groups)
group = st.selectbox(
    "Group on the funnel",
    groups,
    format_func=shown_groups.get,
    **({} if held else {"index": groups.index(default_group)}),
    key=K_GROUP,
    bind="query-params",
    help="Default: the group with the largest relative likelihood of referral nationally against the reference.",
)
if group != view.group:
    view = view_for(group)

funnel = view.funnel
centre = "National" if view.comparator_national else "All organisations shown"
centre_word = "national" if view.comparator_national else "the organisations shown"
centre_rate = "the national rate" if view.comparator_national else "the rate of the organisations shown"
centre_rates = "the national rates" if view.comparator_national else "the rates of the organisations shown"

name = view.selected_name or view.selected
profile = None
if view.selected is not None and not funnel.empty:
    profile = ctx.view(
        profile_view,
        ctx.filters,
        ctx.split,
        ctx.reference,
        org=view.selected,
        org_name=name,
        viewer=ctx.viewer,
        rule=ctx.rule,
        scope_org=scope_org,
    )

with header:
    ui.page_header(
        wording.profile_title(profile.rows, name, centre_word)
        if profile is not None
        else (wording.funnel_title(funnel, view.group) if not funnel.empty and view.average > 0 else PAGE),
        f"**{PAGE}**: how one organisation compares with the national figures on every indicator, and how each "
        "organisation's referral rate for one group compares with the national rate.",
        ctx.selection,
        query="referrals_by_org",
    )

if funnel.empty or not view.average > 0:
    ui.no_cases(ctx.filters)
    st.stop()

ui.protection_note(view.protected)
left_out = wording.coverage_note(view.coverage.total, ctx.rule.suppress_max) if view.coverage else None
if left_out:
    st.warning(ui.words(left_out))
if scope_org is not None:
    st.caption(
        "Employer view: your organisation is named; every other organisation is shown as “Another organisation” "
        "and cannot be opened."
    )

if profile is not None:
    st.subheader(f"{name} beside {centre_word} figures")
    rows = profile.rows
    ui.chart_block(
        charts.spine_chart(
            rows,
            name,
            wording.profile_title(rows, name, centre_word),
            f"Each indicator against {centre_word}, with the range across organisations · {ctx.period}",
            centre=centre,
        ),
        tables.profile_table(rows, name, centre),
        key="organisation_profile",
        alt=f"Spine chart of {len(rows)} indicators for {name}: for each, the value of the comparator "
        f"({centre_word}) as a centre line, "
        "the range across organisations as a grey bar, and the organisation's value as a triangle pointing up "
        "(significantly higher), down (significantly lower) or a circle (not significantly different).",
        method=PROFILE_METHOD,
        file_name=f"organisation_{view.selected}_profile.csv",
    )
    hidden_note = wording.profile_hidden_note(rows)
    if hidden_note:
        st.caption(hidden_note)
    with st.expander("Open an indicator on its page", expanded=False):
        for section, section_rows in rows.groupby("section", sort=False):
            st.markdown(f"**{SECTIONS[section]}**")
            for row in section_rows.drop_duplicates(["page", "split"]).itertuples(index=False):
                path, title = PAGE_FILES[row.page]
                st.page_link(
                    path,
                    label=f"{title}: {name}, compared by {contract.SPLITS[row.split].phrase}",
                    query_params=ui.link_params(row.split, view.selected),
                    icon=":material/open_in_new:",
                )

st.subheader(
    "All organisations against the national rate"
    if view.comparator_national
    else "All organisations against the rate of the organisations shown"
)
if view.adjusted:
    spread = (
        f"The limits are widened for overdispersion (Spiegelhalter's method on the same observed ÷ expected scale, as "
        f"FunnelPlotR): the organisations vary more than chance alone would give (φ = {view.phi:.2f} across "
        f"{view.organisations} organisations), so each limit's distance from the expected count is multiplied by "
        f"√φ on the log scale."
    )
elif view.organisations < MIN_ORGS_FOR_OVERDISPERSION:
    spread = (
        f"The limits are not adjusted for overdispersion: it needs at least {MIN_ORGS_FOR_OVERDISPERSION} "
        f"organisations, and {view.organisations} are shown."
    )
elif math.isnan(view.phi):  # never "φ = nan"
    spread = "The limits are not adjusted for overdispersion: it could not be estimated from these counts."
else:
    spread = (
        f"The limits are not adjusted for overdispersion: the organisations vary no more than chance would give "
        f"(φ = {view.phi:.2f} ≤ 1)."
    )
st.markdown(spread)
not_drawn = wording.funnel_not_drawn(view.not_drawn, view.group, ctx.rule.suppress_max)
if not_drawn:
    st.caption(not_drawn)
if scope_org is None:
    st.caption("Click an organisation's point to open it on this page.")
ui.chart_block(
    charts.funnel_chart(
        funnel,
        view.limits,
        view.average,
        wording.funnel_chart_title(funnel, view.group),
        f"Referrals per 1,000 {wording.group_noun(view.group)} a year, against practitioner-years; 95% and 99.8% "
        f"limits around {centre_rate} · {ctx.period}",
        centre=centre,
        label_outliers=scope_org is None,
    ),
    tables.funnel_table(funnel),
    key="organisation_funnel",
    alt=f"Funnel plot of referral rates per 1,000 {wording.group_noun(view.group)} for each organisation against its "
    f"practitioner-years, with {centre_rate} as a line and 95% and 99.8% limits as dotted and dashed "
    "curves; organisations beyond the 99.8% limits drawn as diamonds or down-pointing triangles.",
    method=FUNNEL_METHOD + " " + spread,
    file_name=f"organisation_funnel_{ctx.split}.csv",
    # Employers: other organisations stay unclickable (the chart then has no selection at all).
    on_select="ignore" if scope_org is not None else functools.partial(ui.open_organisation, "organisation_funnel"),
)

st.subheader(f"Your organisation beside {centre_word}")
if view.selected is None:
    several = " (you chose several)" if len(ctx.filters.orgs) > 1 else ""
    st.markdown(
        f"Pick one organisation in the sidebar's **Organisation** filter{several}, or click its point on the funnel, "
        f"to see its profile and its rates by {ctx.split_phrase} beside {centre_rates}, with its "
        "standardised ratio."
    )
    st.stop()

org_groups = view.org_groups
if org_groups.empty:
    st.info(f"{name} has no practitioners or referrals under these filters.")
    st.stop()
st.markdown(wording.isr_sentence(name, view.isr, view.observed, view.expected, centre_word))
row = org_groups[org_groups["group"] == view.group]
if not row.empty:
    st.markdown(wording.group_isr_sentence(row.iloc[0], centre_word))
ui.chart_block(
    charts.org_national_chart(
        org_groups,
        name,
        f"{name}: referral rates by {ctx.split_phrase} beside {centre_rates}",
        f"Referrals per 1,000 practitioners a year, 95% CI · {ctx.period}",
        centre=centre,
    ),
    tables.org_groups_table(org_groups, centre),
    key="organisation_groups",
    alt=f"Referral rates per 1,000 at {name} by {ctx.split_phrase}, as filled circles, beside "
    f"{centre_rates}, as open diamonds, each with its 95% confidence interval.",
    method=ISR_METHOD,
    file_name=f"organisation_{view.selected}_by_{ctx.split}.csv",
)
