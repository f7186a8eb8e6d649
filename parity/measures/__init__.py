"""Measures: named queries turned into the numbers Parity shows, with their intervals, one frozen View per page.

This is the one code path behind the dashboard pages, the summary CLI and the exports: SQL counts and sums,
disclosure control protects the counts, ``parity.stats`` computes every interval, ratio and test, and a View
puts them together and lists the named queries it ran. One module per topic:

- ``common``: the split, drill and reference checks, the drill-down's loop over breakdowns, false discovery
  control, and ``Family``: a view's count tables protected together for its viewer;
- ``referrals``: referral rates and relative likelihoods (the Overview, Concern rates and the summary CLI);
- ``adjusted``: relative likelihoods adjusted for the other characteristics (a Poisson regression), and the
  ethnicity × place-of-qualification interaction test;
- ``outcomes``: stages reached and how cases end (Outcomes);
- ``durations``: Kaplan–Meier times to closure and episode lengths (Durations);
- ``organisations``: funnel plots and standardised ratios (Organisation);
- ``profile``: one organisation's indicators beside national, with the range across organisations (Organisation);
- ``scope``: an employer's scope, enforced on every query (no other organisation through a narrow geography).
- ``trends``: the headline indicators over time as XmR charts with their icons (Trends, the Overview's icon summary
  and the meeting pack).
- ``pathways``: step-to-step conversion by group, the routes to outcome and organisations by step (Pathways).

Every public name is available from the package itself (``from parity.measures import outcomes_view``).
"""

from parity.measures.adjusted import (
    ADJUSTED_COLUMNS,
    ADJUSTMENTS,
    Adjustment,
    adjusted_relative_likelihoods,
    checked_adjustments,
    describe_adjustments,
    ethnicity_pmq_interaction,
)
from parity.measures.common import (
    BREAKDOWNS,
    FALSE_DISCOVERY_RATE,
    SMALL_NUMBERS,
    Coverage,
    Family,
    QueryLog,
    RunsQueries,
    checked_reference,
    default_reference,
    default_viewer,
    order_groups,
    protect_counts,
    protect_coverage,
    uncovered_cases,
)
from parity.measures.durations import (
    DAYS_PER_MONTH,
    DURATION_MEASURES,
    OPEN_AT_MONTHS,
    RISK_TABLE_MONTHS,
    TEST_NAMES,
    DurationsView,
    durations_view,
)
from parity.measures.organisations import (
    ANOTHER_ORGANISATION,
    MIN_ORGS_FOR_OVERDISPERSION,
    OrganisationView,
    default_funnel_group,
    funnel_points,
    organisation_view,
)
from parity.measures.outcomes import (
    COMBINED_STAGES,
    DIVERGENCE_MEASURES,
    KEY_OUTCOMES,
    NESTED_PARTS,
    OUTCOME_LABELS,
    OUTCOME_MEASURES,
    STAGE_ORDER,
    OutcomesView,
    outcomes_view,
)
from parity.measures.pathways import (
    ALL_CASES,
    FOLLOWUP_MONTHS,
    STEP_BY_KEY,
    STEP_LABELS,
    STEPS,
    PathwaysView,
    largest_disparities,
    pathways_view,
)
from parity.measures.profile import PROFILE_OUTCOMES, SECTIONS, ProfileView, profile_view
from parity.measures.referrals import (
    SUMMARY_COLUMNS,
    WINDOWS,
    ConcernRatesView,
    OverviewView,
    adjusted_referral_summary,
    concern_rates_view,
    disclosed_referral_summary,
    overview_view,
    rate_row,
    referral_summary,
    summarise_rates,
)
from parity.measures.trends import (
    INDICATOR_KEYS,
    INDICATORS,
    MIN_POINTS_FOR_LIMITS,
    PERIODS,
    Indicator,
    TrendsView,
    period_label,
    trends_view,
)

__all__ = [
    "Coverage",
    "protect_coverage",
    "uncovered_cases",
    "ADJUSTED_COLUMNS",
    "ADJUSTMENTS",
    "Adjustment",
    "adjusted_referral_summary",
    "adjusted_relative_likelihoods",
    "checked_adjustments",
    "describe_adjustments",
    "ethnicity_pmq_interaction",
    "ALL_CASES",
    "ANOTHER_ORGANISATION",
    "BREAKDOWNS",
    "COMBINED_STAGES",
    "DAYS_PER_MONTH",
    "DIVERGENCE_MEASURES",
    "DURATION_MEASURES",
    "FALSE_DISCOVERY_RATE",
    "INDICATORS",
    "INDICATOR_KEYS",
    "FOLLOWUP_MONTHS",
    "KEY_OUTCOMES",
    "NESTED_PARTS",
    "MIN_ORGS_FOR_OVERDISPERSION",
    "MIN_POINTS_FOR_LIMITS",
    "OPEN_AT_MONTHS",
    "OUTCOME_LABELS",
    "OUTCOME_MEASURES",
    "PERIODS",
    "RISK_TABLE_MONTHS",
    "SMALL_NUMBERS",
    "STEPS",
    "STEP_BY_KEY",
    "STEP_LABELS",
    "STAGE_ORDER",
    "SUMMARY_COLUMNS",
    "WINDOWS",
    "ConcernRatesView",
    "DurationsView",
    "Indicator",
    "OrganisationView",
    "PROFILE_OUTCOMES",
    "ProfileView",
    "SECTIONS",
    "OutcomesView",
    "OverviewView",
    "PathwaysView",
    "QueryLog",
    "TrendsView",
    "RunsQueries",
    "checked_reference",
    "concern_rates_view",
    "default_funnel_group",
    "default_reference",
    "funnel_points",
    "largest_disparities",
    "Family",
    "default_viewer",
    "protect_counts",
    "disclosed_referral_summary",
    "durations_view",
    "TEST_NAMES",
    "order_groups",
    "organisation_view",
    "outcomes_view",
    "overview_view",
    "profile_view",
    "period_label",
    "pathways_view",
    "rate_row",
    "referral_summary",
    "summarise_rates",
    "trends_view",
]
