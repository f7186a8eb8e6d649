"""Outcomes: what happens to cases once referred — the stages they reach and how closed cases end — by
group, against the reference group, and the stage at which a group's path diverges.

Queries: outcomes_by_group (through parity.measures.outcomes_view: once, and once per breakdown in a drill; with
the follow-up option, only cases referred at least 12 months before the extract date).
"""

import functools

import streamlit as st

from parity import charts, contract, measures, tables, ui, wording

PAGE = "Outcomes"

ctx = ui.page_context()
drill = ui.drill(ctx.selection)
header = st.container()
raw_followup = st.query_params.get(ui.K_FOLLOWUP)
if raw_followup is not None and raw_followup not in ui.FOLLOWUP_CHOICES:
    ui.add_url_note(f"`{ui.K_FOLLOWUP}={ui.link_value(raw_followup)}`")  # said in the header with the link's others
    st.session_state[ui.K_FOLLOWUP] = ui.FOLLOWUP_CHOICES[0]
followup = st.radio(
    "Follow-up: cases referred at least this long before the extract date",
    ui.FOLLOWUP_CHOICES,
    captions=[
        "every case referred in the period; recent ones have had little time to close",
        f"only cases referred {measures.FOLLOWUP_MONTHS} months or more before the extract date: a year to move "
        "along the pathway and close",
    ],
    horizontal=True,
    key=ui.K_FOLLOWUP,
    bind="query-params",
    help="Outcome shares are among closed cases. Cases that close quickly are over-represented among recent "
    "referrals, so the shares of all closed cases can differ from those of a cohort followed long enough.",
)
followup_months = 0 if followup == ui.FOLLOWUP_CHOICES[0] else measures.FOLLOWUP_MONTHS
view = ctx.view(
    measures.outcomes_view,
    ctx.filters,
    ctx.split,
    ctx.reference,
    drill=drill,
    viewer=ctx.viewer,
    rule=ctx.rule,
    followup_months=followup_months,
)
cohort = f", referred at least {view.followup_months} months before the extract date" if view.followup_months else ""
reference = view.reference
# One colour and marker shape per group of the split, the same in every chart and drill.
styles = charts.group_styles(contract.SPLITS[ctx.split].groups, reference)
purpose = (
    "What happens to cases once referred: the share that reach each stage of the pathway, and how closed "
    "cases end, for each group against the reference group, with 95% intervals and tests."
)

if view.groups.empty or view.groups["cases"].fillna(0).sum() == 0:
    with header:
        ui.page_header(PAGE, purpose, ctx.selection, query="outcomes_by_group")
    ui.no_cases(ctx.filters)
    st.stop()

finding = wording.outcomes_title(view.measures, reference, measures.KEY_OUTCOMES)
with header:
    ui.page_header(
        f"{PAGE}: {finding[:1].lower()}{finding[1:]}",
        purpose,
        ctx.selection,
        query="outcomes_by_group",
    )
    ui.breadcrumb(ctx.selection, drill, PAGE)
if drill is None:
    st.markdown(wording.fdr_sentence(view.family, view.flagged) + " " + wording.DATA_QUALITY_NOTE)
else:
    # A drilled page counts the tests and flags it shows (the drilled group's), and names the family.
    own = view.measures[(~view.measures["is_reference"].astype(bool)) & view.measures["p_value"].notna()]
    st.markdown(
        ui.words(wording.drill_fdr_sentence(drill, len(own), int(own["flagged"].eq(True).sum()), view.family))
        + " "
        + wording.DATA_QUALITY_NOTE
    )
ui.protection_note(view.protected)
st.caption(ui.words(wording.followup_sentence(view.groups, view.followup_months, view.protected)))


clickable = functools.partial(ui.drillable_chart_block, chosen=ctx.selection)


groups_word = ctx.split_phrase

st.subheader("Where the path diverges")
unknown = view.measures["group"].map(contract.is_unknown_group) & (view.measures["group"] != drill)
diverging = view.measures[view.measures["measure"].isin(measures.DIVERGENCE_MEASURES) & ~unknown]
if diverging["is_reference"].all():
    st.info(f"No group other than {reference} has cases under these filters: nothing to compare.")
else:
    clickable(
        charts.divergence_forest(
            diverging,
            wording.divergence_title(view.measures, reference, measures.DIVERGENCE_MEASURES),
            f"Risk ratio against {reference} at each stage and outcome, 95% CI, log scale; shaded: 0.80–1.25; "
            f"filled markers: flagged after Benjamini–Hochberg · {ctx.period}{cohort}",
            reference=reference,
            styles=styles,
        ),
        tables.outcomes_table(view.measures),
        key="outcomes_forest",
        alt=f"Forest plot of risk ratios against {reference} for each stage of the pathway and each restrictive "
        f"outcome, one marker shape per {groups_word} group, with 95% confidence intervals, the 0.80 to 1.25 band "
        "shaded and flagged differences filled.",
        method="Risk ratio = group share ÷ reference share, 95% interval by Katz's log method; not estimable (n/a) "
        "where either side has no cases. p-values: Fisher's exact test where an expected count is below 5, "
        "otherwise chi-square; flags: Benjamini–Hochberg at 5% across every test on this page. Groups whose "
        "ethnicity or qualification is not stated or known are in the table, not the chart.",
        file_name=f"outcomes_by_{ctx.split}{'_followed_up' if view.followup_months else ''}.csv",
    )

st.subheader("Key measures by group")
key_rows = view.measures[view.measures["measure"].isin(measures.KEY_OUTCOMES)]
key_shares = tables.share_panels(view.measures, measures.KEY_OUTCOMES)
clickable(
    charts.interval_panels(
        key_shares,
        wording.flag_count_title(key_rows, reference, "the six key measures"),
        f"Share of cases (outcomes: of closed cases), 95% Wilson interval; dashed line: {reference}; filled: "
        f"flagged · {ctx.period}{cohort}",
        reference=reference,
        styles=styles,
        axis_title="Share of cases",
    ),
    tables.outcomes_table(key_rows),
    key="outcomes_key",
    empty=ui.empty_panels_note(key_shares, "share", view.protected),
    alt=f"Six panels, one per key measure (exclusion or suspension, formal investigation without informal "
    f"resolution first, restriction, assessment, referral to the regulator, dismissed or removed), each showing "
    f"the share of cases for every {groups_word} group with its 95% confidence interval.",
    method="Share = cases reaching the stage ÷ all the group's cases (dismissed or removed: ÷ closed cases); "
    "95% Wilson score interval. 'Formal investigation without informal resolution first': a formal "
    "investigation with no informal resolution starting on or before it.",
    file_name=f"key_outcomes_by_{ctx.split}{'_followed_up' if view.followup_months else ''}.csv",
)

st.subheader("How closed cases ended")
st.markdown(
    ui.words(
        "These shares are **among closed cases only**"
        + (
            f": cases referred at least {view.followup_months} months before the extract date, most of which "
            "have closed."
            if view.followup_months
            else "; recent referrals that close quickly weigh more in them than in the cases still open. Choose "
            f"a follow-up of {measures.FOLLOWUP_MONTHS} months above for a cohort followed long enough."
        )
    )
)
mix = view.measures[view.measures["kind"] == "outcome"]
clickable(
    charts.outcome_mix_chart(
        mix,
        wording.outcomes_title(mix, reference, ("dismissed_or_removed", "formal_sanction")),
        f"Share of each group's closed cases by outcome · {ctx.period}{cohort}",
        reference=reference,
    ),
    tables.outcomes_table(mix),
    key="outcomes_mix",
    alt=f"Stacked bars, one per {groups_word} group, dividing its closed cases among the eight outcomes, each "
    "outcome with its own colour and fill pattern.",
    method="Closed cases only. Each bar sums to 100% unless a share is hidden by disclosure control. The table "
    "gives each share's 95% Wilson interval and its test against the reference group.",
    file_name=f"closed_case_outcomes_by_{ctx.split}{'_followed_up' if view.followup_months else ''}.csv",
)

if drill is not None and not view.breakdown.empty:
    st.subheader(f"{drill}: by organisation type, region and concern type")
    options = list(measures.KEY_OUTCOMES)
    top = wording.main_divergence(view.measures, measures.KEY_OUTCOMES)
    default = options.index(top["measure"]) if top is not None and top["measure"] in options else 0
    # The measure is in the URL (by its label, as the box shows it), so a copied link keeps it.
    held = ui.settle_option(ui.K_MEASURE, options, options[default], measures.OUTCOME_LABELS)
    measure = st.selectbox(
        "Measure",
        options,
        **({} if held else {"index": default}),
        format_func=measures.OUTCOME_LABELS.get,
        key=ui.K_MEASURE,
        bind="query-params",
    )
    rows = view.breakdown[view.breakdown["measure"] == measure]
    label = measures.OUTCOME_LABELS[measure]
    clickable(
        charts.breakdown_dots(
            tables.breakdown_dots(rows, measures.BREAKDOWNS, "proportion"),
            wording.breakdown_gap_title(rows, drill, reference, label, measure),
            f"{label}: share of cases, 95% Wilson interval, {drill} beside {reference} in each organisation "
            f"type, region and concern type · {ctx.period}",
            reference=reference,
            styles=styles,
            axis_title="Share of cases",
        ),
        tables.outcomes_breakdown_table(view.breakdown, measures.BREAKDOWNS),
        key="outcomes_breakdown",
        alt=f"Dot plot of the share of cases reaching {label.lower()} for {drill} and {reference}, within each "
        "organisation type, region and concern type, with 95% confidence intervals.",
        method="Risk ratios in the table compare the two groups within the same level (Katz interval). A case "
        "with several concern types counts under each.",
        file_name=f"outcomes_{ctx.split}_drill.csv",
    )
    # The next level: one organisation type's or region's organisations, on the Organisation page (its profile
    # gives each organisation's outcome shares beside national; an employer sees only its own named).
    ui.organisation_drills(view.breakdown, drill)
elif drill is not None:
    st.info(f"No cases of {drill} under these filters to break down.")
