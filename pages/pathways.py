"""Pathways: how cases move from referral through the stages to their outcome, group by group; the steps where
one group's path diverges from the reference group's; and the organisations where a step's share stands out.

Queries: pathways_by_group, pathway_flows_by_group, organisations_list (through parity.measures.pathways_view:
pathways_by_group for the table, again by organisation for the funnel, and once per breakdown in a drill).
"""

import streamlit as st

from parity import charts, contract, formats, measures, tables, ui, wording
from parity.charts.pathways import hidden_links, sankey_chart, sankey_pair

PAGE = "Pathways"
K_STEP, K_DIAGRAM, K_FIRST, K_SECOND = "step", "diagram", "first", "second"
K_FUNNEL_STEP, K_FUNNEL_GROUP = "funnel_step", "funnel_group"
K_TABLE, K_FUNNEL = "pathways_transitions", "pathways_funnel"
K_DRILL_STEP = "pathways_drill_step"
ALL, ONE, TWO = "All cases", "One group", "Two groups side by side"
SHARE_FUNNEL = charts.FunnelAxes(
    x_title="Cases at the start of the step",
    y_title="Share that took the step",
    value="Share",
    numerator="Took the step",
    denominator="At its start",
    unit="",
    value_format=".1%",
    tickformat=".0%",
)

if st.session_state.pop("_open_org", False):  # a funnel point was clicked on the last run
    # An empty mapping, not None: Streamlit refuses to clear parameters bound to widgets, and the sidebar's bound
    # widgets write the filters (now with the organisation) back into the link on the next run.
    st.switch_page("pages/organisation.py", query_params={})

ctx = ui.page_context()
chosen, filters, rule, period = ctx.selection, ctx.filters, ctx.rule, ctx.period
drill = ui.drill(chosen)
scope_org = ctx.viewer.org
groups = [g for g in contract.SPLITS[chosen.split].groups if not contract.is_unknown_group(g)]


def _valid(key: str, options: list[str], shown: list[str] | None = None) -> None:
    """A URL or session value that is not an option is dropped (with a note), so the widget falls back.

    A widget bound to the URL writes the option as shown (``shown``, when it differs from the option)."""
    raw = st.query_params.get(key)
    if raw is not None and raw not in (shown or options):
        st.info(f"Ignored from the link: `{key}={raw}` is not one of the choices here.")
        del st.query_params[key]
    if st.session_state.get(key) not in (None, *options):
        st.session_state.pop(key)


step_keys = list(measures.STEP_BY_KEY)
_valid(K_STEP, step_keys)
_valid(K_FUNNEL_STEP, step_keys, list(measures.STEP_LABELS.values()))
_valid(K_FUNNEL_GROUP, groups)
step = st.query_params.get(K_STEP) if drill is not None else None


def build(funnel_step: str | None = None, funnel_group: str | None = None) -> measures.PathwaysView:
    return ctx.view(
        measures.pathways_view,
        filters,
        chosen.split,
        chosen.reference,
        drill=drill,
        step=step,
        funnel_step=funnel_step,
        funnel_group=funnel_group,
        scope_org=scope_org,
        viewer=ctx.viewer,
        rule=rule,
    )


# A drill from the table opens the funnel on its step and group, unless the funnel's own choice is set.
view = build(
    st.session_state.get(K_FUNNEL_STEP) or (step if drill else None),
    st.session_state.get(K_FUNNEL_GROUP) or drill,
)
reference = view.reference
purpose = (
    "How cases move from referral through the stages to their outcome, for each group against the reference "
    "group: the steps where a group's path diverges, and the organisations where a step stands out."
)
if view.groups.empty or view.groups["cases"].fillna(0).sum() == 0:
    ui.page_header(PAGE, purpose, chosen, query="pathways_by_group")
    ui.no_cases(filters)
    st.caption(
        f"This page counts only cases referred at least {view.followup_months} months before the extract date: "
        "later ones have not had time to move along their pathway."
    )
    st.stop()

top = measures.largest_disparities(view.transitions)
finding = wording.pathways_title(top, reference)
ui.page_header(f"{PAGE}: {finding[:1].lower()}{finding[1:]}", purpose, chosen, query="pathways_by_group")
ui.breadcrumb(chosen, drill, PAGE)
ui.protection_note(view.protected)
reference_share = view.transitions[view.transitions["is_reference"]].set_index("step")["share"]
top = top.assign(reference_share=top["step"].map(reference_share))
st.markdown(wording.pathways_summary(view.transitions, top, reference, len(measures.STEPS)))
followed = int(view.groups["cases"].fillna(0).sum())
st.caption(
    f"**Follow-up**: every share here is among the {formats.int0(followed)} cases referred at least "
    f"{view.followup_months} months before the extract date, so each has had a year to move along its pathway; "
    "cases referred since are left out rather than counted as not having reached later steps. Steps that start "
    "from a closed case are among those cases that have closed. Stages are those the case reached, in any order, "
    "except “without informal resolution first”, which compares start dates."
)

# --- The pathway diagram -----------------------------------------------------------------------

st.subheader("From referral to outcome")
others = [g for g in groups if g != reference]
default_second = top["group"].iloc[0] if not top.empty else (others[0] if others else reference)
for key, options in ((K_FIRST, groups), (K_SECOND, groups)):
    _valid(key, options)
cols = st.columns([2, 2, 2])
mode = cols[0].radio("Show", [TWO, ONE, ALL], key=K_DIAGRAM, bind="query-params", horizontal=False)
if mode == TWO:
    first = cols[1].selectbox("First group", groups, index=groups.index(reference), key=K_FIRST, bind="query-params")
    second = cols[2].selectbox(
        "Second group",
        groups,
        index=groups.index(default_second) if default_second in groups else 0,
        key=K_SECOND,
        bind="query-params",
    )
    shown = [first, second]
    figure = sankey_pair(
        view.flows,
        (first, second),
        f"How cases about {wording.group_noun(first)} and {wording.group_noun(second)} moved from referral to "
        "outcome, as shares of each group's cases",
        f"Share of each group's cases on each route (link widths on one scale: 100% per group) · cases referred "
        f"at least {view.followup_months} months before the extract date · {period}",
    )
elif mode == ONE:
    one = cols[1].selectbox("Group", groups, index=groups.index(default_second), key=K_FIRST, bind="query-params")
    shown = [one]
    figure = sankey_chart(
        view.flows,
        one,
        f"How cases about {wording.group_noun(one)} moved from referral to outcome",
        f"Cases on each route; hover for the share of the group's cases with its 95% interval · {period}",
    )
else:
    shown = [measures.ALL_CASES]
    figure = sankey_chart(
        view.flows,
        measures.ALL_CASES,
        "How all cases moved from referral to outcome",
        f"Cases on each route; hover for the share of all cases with its 95% interval · {period}",
    )
hidden = hidden_links(view.flows, shown)
if hidden:
    st.caption(f"{hidden} route{'s are' if hidden != 1 else ' is'} not drawn: the count is hidden under the rule.")
ui.chart_block(
    figure,
    tables.flows_table(view.flows, shown),
    key="pathways_sankey",
    alt="Sankey diagram of cases flowing from referral, through informal resolution first or formal investigation "
    "first (without informal resolution), to the furthest interim stage (informal only, formal investigation, "
    "exclusion or suspension), a disciplinary hearing, and the outcome of closed cases or still open, "
    f"for {' and '.join(shown)}.",
    method="Each case follows one route: how it entered the process (informal resolution first, or formal "
    "investigation first: a formal investigation with no informal resolution starting on or before it), the "
    "furthest interim stage it reached (informal only: no formal investigation), whether it had a disciplinary "
    "hearing, and its outcome. Shares are of the group's cases, with 95% Wilson intervals.",
    file_name=f"pathway_routes_{chosen.split}.csv",
)

# --- The transition table ----------------------------------------------------------------------

st.subheader("Step by step: where the paths diverge")
st.markdown(wording.pathways_tests_sentence(view.transitions, view.tests, drill))
transitions = view.transitions
unknown = transitions["group"].map(contract.is_unknown_group) & (transitions["group"] != drill)
styles = charts.group_styles(contract.SPLITS[chosen.split].groups, reference)
# Its own grid key once drilled: the drilled table has other rows, and must not show the old row as picked.
table_key = K_TABLE if drill is None else f"{K_TABLE}_drilled"


def _drill_into(group: str, step_key: str) -> bool:
    """Break ``step_key`` down for ``group`` (a row picked, or a marker clicked): into the link; False if it is
    not a group of the split or a step, or is already the drill."""
    if group not in contract.SPLITS[chosen.split].groups or step_key not in measures.STEP_BY_KEY:
        return False
    if (drill, step) == (group, step_key):
        return False
    st.query_params[ui.K_DRILL] = group
    st.query_params[K_STEP] = step_key
    return True


def _pick_row(row: int) -> bool:
    """A row of the transition table picked: break its step down for its group."""
    if row >= len(transitions):
        return False
    picked = transitions.iloc[row]
    return _drill_into(str(picked["group"]), str(picked["step"]))


event = ui.chart_block(
    charts.divergence_forest(
        transitions[~unknown].rename(columns={"share": "proportion"}),
        wording.flag_count_title(transitions, reference, f"the {len(measures.STEPS)} steps"),
        f"Risk ratio against {reference} at each step, 95% CI, log scale; shaded: 0.80–1.25; filled markers: "
        f"flagged · {period}",
        reference=reference,
        styles=styles,
    ),
    tables.transitions_table(transitions),
    key="pathways_forest",
    alt=f"Forest plot of risk ratios against {reference} for each step of the pathway, one marker shape per group, "
    "with 95% confidence intervals, the 0.80 to 1.25 band shaded and flagged steps filled.",
    method="Share = cases that took the step ÷ cases at its start; 95% Wilson interval. Risk ratio against the "
    "reference group with Katz's log interval. p-values: Fisher's exact test where an expected count is below 5, "
    "otherwise chi-square. Flagged: significant after Benjamini–Hochberg at 5% across the whole table and the "
    "whole 95% interval outside 0.80–1.25. Groups whose qualification or ethnicity is not known are in the table, "
    "not the chart.",
    file_name=f"pathway_steps_by_{chosen.split}.csv",
    on_select="rerun",
    # The transition table: every group's share at every step, with its test; drawn when opened (the grid's code
    # is the heaviest thing a page's browser loads), a row picked breaks its step down.
    table_label="Data table: the transition table, every step and group (pick a row to break its step down)",
    pick=_pick_row,
    grid_key=table_key,
)
# A marker clicked: its group (customdata[0]) and step (customdata[1], the step's label).
step_of_label = {label: key for key, label in measures.STEP_LABELS.items()}
for point in ui.new_points(event, "pathways_forest"):
    custom = point.get("customdata")
    marker = (str(custom[0]), str(custom[1])) if isinstance(custom, list | tuple) and len(custom) > 1 else None
    if marker is not None and _drill_into(marker[0], step_of_label.get(marker[1], "")):
        st.rerun()
st.caption(
    "Click a marker, or open the transition table and pick a row, to break that step down for its group by "
    "organisation type, region and concern type."
)

# --- Drill: one step by organisation type, region and concern type ---------------------------------


def _step_chosen() -> None:
    """The keyboard route to another step of the drill: the step chosen in the box goes into the link."""
    chosen_step = st.session_state.get(K_DRILL_STEP)
    if chosen_step in measures.STEP_BY_KEY:
        st.query_params[K_STEP] = chosen_step


if drill is not None:
    label = measures.STEP_LABELS[view.step]
    st.subheader(f"{drill}: {wording.step_phrase(label)} by organisation type, region and concern type")
    st.session_state[K_DRILL_STEP] = view.step  # the box shows the step drawn (from the link, or the default)
    st.columns([2, 3])[0].selectbox(
        "Step to break down",
        step_keys,
        format_func=measures.STEP_LABELS.get,
        key=K_DRILL_STEP,
        on_change=_step_chosen,
        help="Breaks another step down for the same group. Picking a row of the transition table, or clicking a "
        "marker, does the same.",
    )
    if view.breakdown.empty:
        st.info(f"No cases of {drill} at that step under these filters to break down.")
    else:
        rows = view.breakdown.assign(proportion=view.breakdown["share"], kind="stage")
        ui.drillable_chart_block(
            charts.breakdown_dots(
                tables.breakdown_dots(rows, measures.BREAKDOWNS, "proportion"),
                f"{label}: {drill} beside {reference} in each organisation type, region and concern type",
                f"Share of cases at the step's start that took it, 95% Wilson interval · {period}",
                reference=reference,
                styles=styles,
                axis_title="Share that took the step",
            ),
            tables.pathway_breakdown_table(view.breakdown, measures.BREAKDOWNS),
            chosen=chosen,
            key="pathways_breakdown",
            alt=f"Dot plot of the share of cases taking the step {label} for {drill} and {reference}, within each "
            "organisation type, region and concern type, with 95% confidence intervals.",
            method="Risk ratios in the table compare the two groups within the same level (Katz interval). A case "
            "with several concern types counts under each. Organisation types and regions are below national "
            "level, so their counts follow the disclosure rule and every share is computed from them.",
            file_name=f"pathway_{view.step}_{chosen.split}_drill.csv",
        )

# --- Organisations by step -------------------------------------------------------------------------

st.subheader("Organisations by step")
cols = st.columns(2)
funnel_step = cols[0].selectbox(
    "Step",
    step_keys,
    index=step_keys.index(view.funnel_step),
    format_func=measures.STEP_LABELS.get,
    key=K_FUNNEL_STEP,
    bind="query-params",
)
funnel_group = cols[1].selectbox(
    "Group",
    groups,
    index=groups.index(view.funnel_group) if view.funnel_group in groups else 0,
    key=K_FUNNEL_GROUP,
    bind="query-params",
    help="Default: the group and step of the largest flagged difference.",
)
if (funnel_step, funnel_group) != (view.funnel_step, view.funnel_group):
    view = build(funnel_step, funnel_group)
funnel = view.funnel
step_label = measures.STEP_LABELS[view.funnel_step]
named = {r.label: r.org_code for r in funnel.itertuples(index=False) if isinstance(r.org_name, str)}


def open_organisation() -> None:
    """A funnel point was clicked: open that organisation on the Organisation page, if the viewer may see it."""
    for point in ui.clicked_points(K_FUNNEL):
        custom = point.get("customdata")
        label = custom[0] if isinstance(custom, list | tuple) and custom else None
        if label in named:
            st.session_state["org"] = [named[label]]
            if funnel_group in groups:
                st.session_state["group"] = funnel_group
            st.session_state["_open_org"] = True
        elif label is not None:
            st.session_state["_anonymous_click"] = True
        return


if st.session_state.pop("_anonymous_click", False):
    st.info("Other organisations stay unnamed in an employer's view: that point cannot be opened.")

if funnel.empty or funnel["rate"].notna().sum() == 0:
    st.info(f"No organisation has cases about {wording.group_noun(funnel_group)} at that step under these filters.")
else:
    spread = wording.overdispersion_sentence(
        view.phi,
        view.adjusted,
        view.estimated_from,
        view.organisations,
        measures.MIN_ORGS_FOR_OVERDISPERSION,
        view.protected,
    )
    st.markdown(spread)
    ui.chart_block(
        charts.funnel_chart(
            funnel,
            view.limits,
            view.average,
            wording.pathway_funnel_title(funnel, step_label, funnel_group),
            f"Share of the cases about {wording.group_noun(funnel_group)} at the step's start that took it, against "
            f"the number at its start; 95% and 99.8% limits around the national share · {period}",
            axes=SHARE_FUNNEL,
        ),
        tables.funnel_table(
            funnel, numerator="Took the step", denominator="At its start", value="Share", fmt=formats.pct1
        ),
        key=K_FUNNEL,
        alt=f"Funnel plot of each organisation's share of cases about {wording.group_noun(funnel_group)} taking the "
        f"step {step_label}, against the number of such cases at its start, with the national share as a line "
        "and 95% and 99.8% limits; outliers drawn as diamonds or down-pointing triangles.",
        method="Each point is an organisation, against the pooled share of every organisation (the country); "
        "proportion funnel limits (as PHEindicatormethods). " + spread,
        file_name=f"pathway_{view.funnel_step}_organisations.csv",
        on_select=open_organisation,
    )
    outliers = funnel[funnel["outlier"].astype(bool)].sort_values("rate", ascending=False)
    if outliers.empty:
        st.markdown("**Outliers**: none beyond the 99.8% limits.")
    else:
        lines = [
            f"- {r.label}: {formats.pct1(r.rate)} ({formats.int0(r.cases)} of {formats.int0(r.headcount)}), "
            f"{tables.FUNNEL_WORDS[r.significance]}"
            for r in outliers.itertuples(index=False)
        ]
        st.markdown("**Outliers** (beyond the 99.8% limits):\n" + "\n".join(lines))
    if scope_org is None:
        st.caption("Click an organisation's point to open it on the Organisation page.")
    else:
        st.caption("Employer view: your organisation is named and can be opened; every other one stays unnamed.")
