"""Durations: how long cases stay open, and how long exclusions and suspensions last, by group — from
Kaplan–Meier curves, with cases still open (or episodes still going on) censored at the extract date.

Queries: load_meta, durations_by_group, exclusions_by_group (through parity.measures.durations_view, in
that order; durations_by_group again once per breakdown in a drill).
"""

import functools

import streamlit as st

from parity import charts, contract, formats, measures, tables, ui, wording

PAGE = "Durations"

ctx = ui.page_context()
drill = ui.drill(ctx.selection)
header = st.container()
raw_strata = st.query_params.get(ui.K_STRATA)
if raw_strata is not None and raw_strata not in ui.STRATA_CHOICES:
    ui.add_url_note(f"`{ui.K_STRATA}={ui.link_value(raw_strata)}`")  # said in the header with the link's other values
    st.session_state[ui.K_STRATA] = ui.STRATA_CHOICES[0]
# No log-rank test at the protected level (``DurationsView.logrank_withheld``), so nothing to stratify there.
strata = ui.STRATA_CHOICES[0]
if not ctx.viewer.protected:
    strata = st.radio(
        "Log-rank tests stratified by",
        ui.STRATA_CHOICES,
        captions=[
            "one comparison over every year of referral",
            "groups compared within each financial year of referral, then combined",
        ],
        horizontal=True,
        key=ui.K_STRATA,
        bind="query-params",
        help="A group referred mostly in recent years has had less time to close its cases. Stratifying by the year "
        "of referral compares each group with the reference only among cases referred in the same year.",
    )
view = ctx.view(
    measures.durations_view,
    ctx.filters,
    ctx.split,
    ctx.reference,
    drill=drill,
    viewer=ctx.viewer,
    rule=ctx.rule,
    stratified=strata != ui.STRATA_CHOICES[0],
)
test_name = measures.TEST_NAMES[view.stratified]
reference = view.reference
# One colour and marker shape per group of the split, the same in every chart and drill.
styles = charts.group_styles(contract.SPLITS[ctx.split].groups, reference)
purpose = (
    "How long cases take from referral to closure, and how long exclusion and suspension episodes last, for "
    f"each group against the reference group. Cases still open at the extract date ({view.extract_date}) "
    "count as open at least that long (censored), never as finished."
)
closure = view.summary[view.summary["measure"] == "closure"]

if closure.empty or closure["n"].fillna(0).sum() == 0:
    with header:
        ui.page_header(PAGE, purpose, ctx.selection, query="durations_by_group")
    ui.no_cases(ctx.filters)
    st.stop()

finding = wording.durations_title(view.summary, reference, tested=not view.logrank_withheld)
with header:
    ui.page_header(f"{PAGE}: {finding[:1].lower()}{finding[1:]}", purpose, ctx.selection, query="durations_by_group")
    ui.breadcrumb(ctx.selection, drill, PAGE)
st.markdown(
    ui.words(
        wording.logrank_choice_sentence(
            view.stratified, view.stratified_withheld, ctx.rule.suppress_max, none=view.logrank_withheld
        )
    )
)
if view.logrank_withheld:
    pass  # no tests, no flags: nothing to count
elif drill is None:
    st.markdown(wording.fdr_sentence(view.family, view.flagged, what=test_name) + " " + wording.DATA_QUALITY_NOTE)
else:
    # A drilled page counts the tests and flags it shows (the drilled group's), and names the family.
    own = view.summary[(~view.summary["is_reference"].astype(bool)) & view.summary["p_value"].notna()]
    st.markdown(
        ui.words(
            wording.drill_fdr_sentence(drill, len(own), int(own["flagged"].eq(True).sum()), view.family, what=test_name)
        )
        + " "
        + wording.DATA_QUALITY_NOTE
    )
ui.protection_note(view.protected)
if view.protected:
    st.caption(
        "The curves are life tables on a fixed weekly grid, drawn from two protected counts at each week's start: "
        "the cases still at risk and the cases closed before it. A curve stays at 100% until the number closed can "
        f"be shown; the numbers at risk of 1 to {ctx.rule.suppress_max} are hidden, so a curve stops before them. "
        "Medians and shares still open are read between the middles of its flat stretches (a median it stops short "
        f"of shows as {formats.SUPPRESSED}), and a group whose number of cases is hidden has no curve, median or share "
        "still open."
    )


clickable = functools.partial(ui.drillable_chart_block, chosen=ctx.selection)


def survival_block(measure: str, words: str, start: str) -> None:
    """The Kaplan–Meier chart of one duration measure, its at-risk table beneath."""
    curves = view.curves[view.curves["measure"] == measure]
    summary = view.summary[view.summary["measure"] == measure]
    risk = view.risk_table[view.risk_table["measure"] == measure]
    label = measures.DURATION_MEASURES[measure]
    if curves.empty:
        st.info(f"No {label.lower()} under these filters.")
        return
    clickable(
        charts.survival_chart(
            curves,
            wording.survival_title(
                summary, reference, label, test_name.removesuffix(" test"), tested=not view.logrank_withheld
            ),
            f"{'Life-table estimate (protected counts)' if view.protected else 'Kaplan–Meier estimate'} of the share "
            f"{words}, by months since {start}, pointwise 95% bands; "
            f"ticks: censored at the extract date · {ctx.period}",
            reference=reference,
            styles=styles,
            event_words=words,
        ),
        tables.risk_table(risk),
        key=f"durations_km_{measure}",
        alt=f"Kaplan–Meier curves of the share {words} against months since {start}, one line style per "
        f"{ctx.split_phrase} group, with shaded 95% bands and tick marks where cases were censored.",
        method=(
            "Actuarial life table on a fixed weekly grid from protected counts (the number at risk and the number "
            "ended before each week's start; censored cases at risk for half their week)"
            if view.protected
            else "Kaplan–Meier"
        )
        + " with Greenwood's variance and log(−log) pointwise 95% limits; durations are "
        f"counted in days from {start} to the end, or to the extract date ({view.extract_date}) for those still "
        "going on (censored). The table reads the curves every few months, with the number still at risk.",
        file_name=f"{measure}_curves_by_{ctx.split}.csv",
    )


st.subheader("Time from referral to closure")
survival_block("closure", "still open", "referral")

st.subheader("Median durations")
medians = tables.median_panels(view.summary, measures.DURATION_MEASURES)
clickable(
    charts.interval_panels(
        medians,
        finding,
        f"{'Life-table median (protected counts)' if view.protected else 'Kaplan–Meier median'} in months, 95% CI; "
        f"'not reached': over half still open; dashed line: {reference}"
        f"{'' if view.logrank_withheld else '; filled: flagged'} · {ctx.period}",
        reference=reference,
        styles=styles,
        axis_title="Months",
        percent=False,
    ),
    tables.durations_table(view.summary, measures.DURATION_MEASURES, stratified=view.stratified),
    key="durations_medians",
    empty=ui.empty_panels_note(medians, "median", view.protected),
    alt=f"Three panels (referral to closure, exclusion episodes, suspension episodes) showing each "
    f"{ctx.split_phrase} group's median duration in months with its 95% confidence interval.",
    method=(
        "Median: where the protected life table reaches 50%, read by straight lines between the middles of its flat "
        "stretches (rounded counts stay level while exact ones move); its interval: where the pointwise limits do. "
        f"'Not reached' where a curve or limit ends above 50% with no one left at risk; {formats.SUPPRESSED} where "
        "it stops first because the number at risk would be hidden. "
        if view.protected
        else "Median: the first time the Kaplan–Meier curve reaches 50%; its interval: where the pointwise limits "
        "do. 'Not reached' where a curve or limit stays above 50%. "
    )
    + (
        " No log-rank test at the protected level (see above)."
        if view.logrank_withheld
        else wording.logrank_method(view.stratified) + " Flags after Benjamini–Hochberg at 5% across every test on "
        "this page."
    ),
    file_name=f"median_durations_by_{ctx.split}.csv",
)

st.subheader("Cases still open 6 and 12 months after referral")
open_shares = tables.open_share_panels(closure, measures.OPEN_AT_MONTHS)
clickable(
    charts.interval_panels(
        open_shares,
        wording.open_share_title(closure, reference, 12),
        f"Share still open, read from the {'life-table' if view.protected else 'Kaplan–Meier'} curve (1 − share "
        "closed by then), 95% CI; dashed line: "
        f"{reference} · {ctx.period}",
        reference=reference,
        styles=styles,
        axis_title="Share still open",
        columns=2,
    ),
    tables.durations_table(closure, measures.DURATION_MEASURES, stratified=view.stratified),
    key="durations_open",
    empty=ui.empty_panels_note(open_shares, "share still open", view.protected),
    alt=f"Two panels showing, for each {ctx.split_phrase} group, the share of cases still open 6 and "
    "12 months after referral, with 95% confidence intervals.",
    method="From the Kaplan–Meier curve at 6 and 12 months, so recent referrals count for as long as they have "
    "been followed; blank where no case in the group was followed that long. Not a cohort count.",
    file_name=f"still_open_by_{ctx.split}.csv",
)

st.subheader("Exclusion and suspension episodes")
st.markdown(
    "How long each exclusion (secondary care) or suspension (primary care performers list) lasted, from its "
    "start to its end; episodes still going on at the extract date are censored there."
)
# The open tab's chart alone is drawn: the other's is drawn when its tab is opened.
episodes = ui.open_tab(["Exclusion", "Suspension"], key="durations_episodes")
for tab, stage in zip(episodes, ("exclusion", "suspension"), strict=True):
    if tab is not None:
        with tab:
            survival_block(stage, "still ongoing", "the start of the episode")

if drill is not None and not view.breakdown.empty:
    st.subheader(f"{drill}: time to closure by organisation type, region and concern type")
    clickable(
        charts.breakdown_dots(
            tables.breakdown_dots(view.breakdown, measures.BREAKDOWNS, "median"),
            wording.breakdown_median_title(view.breakdown, drill, reference),
            f"Median months from referral to closure, 95% CI, {drill} beside {reference} in each organisation "
            f"type, region and concern type · {ctx.period}",
            reference=reference,
            styles=styles,
            axis_title="Median months to closure",
            percent=False,
        ),
        tables.durations_breakdown_table(view.breakdown, measures.BREAKDOWNS),
        key="durations_breakdown",
        alt=f"Dot plot of the median time to closure for {drill} and {reference} within each organisation type, "
        "region and concern type, with 95% confidence intervals.",
        method="Kaplan–Meier medians within each level; no tests here (see the log-rank tests above). A case with "
        "several concern types counts under each.",
        file_name=f"durations_{ctx.split}_drill.csv",
    )
    # The next level, as on Concern rates and Outcomes: one organisation type's or region's organisations.
    ui.organisation_drills(view.breakdown, drill)
elif drill is not None:
    st.info(f"No cases of {drill} under these filters to break down.")
