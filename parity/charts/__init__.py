"""Plotly figures from DataFrames: pure functions, testable without a browser.

Every chart has an active title (the finding), a subtitle (measure, population, period) in Plotly's own
``layout.title.subtitle``, intervals drawn as error bars, the reference group marked, marker shapes as
well as colours (Analysis Function palette), a zero baseline for rates and the 0.80–1.25 band shaded on
ratio charts. Styling comes from one registered template, "parity" (``theme``); shared axis, interval
and legend helpers are in ``axes``; each chart family has its module. A builder assembles plain trace and
layout dicts and makes its figure once, validated, through ``theme.figure`` (building it step by step through
Plotly's ``add_trace`` / ``update_layout`` checks and copies the whole figure at every step: three to five times
the time). Input tables have already passed
disclosure control: a suppressed value is NaN and is not drawn. Every clickable trace carries the group
label as ``customdata[0]`` (what the UI's click handler reads).
"""

from parity.charts.axes import BAND, BAND_FILL, SYMBOLS, group_label, group_styles
from parity.charts.funnels import RATE_FUNNEL, FunnelAxes, funnel_chart, org_national_chart
from parity.charts.outcomes import breakdown_dots, interval_panels, outcome_mix_chart, panels_have_values
from parity.charts.quality import missing_data_chart
from parity.charts.rates import concern_rate_chart, rate_chart, trend_chart
from parity.charts.ratios import breakdown_chart, divergence_forest, forest_plot, intersection_heatmap
from parity.charts.spc import POINT_STYLES, xmr_chart
from parity.charts.spine import spine_chart
from parity.charts.survival import survival_chart
from parity.charts.theme import FONT, PALETTE, REFERENCE_COLOUR, TEMPLATE, title_with_subtitle

__all__ = [
    "missing_data_chart",
    "BAND",
    "BAND_FILL",
    "FONT",
    "RATE_FUNNEL",
    "FunnelAxes",
    "PALETTE",
    "POINT_STYLES",
    "REFERENCE_COLOUR",
    "SYMBOLS",
    "TEMPLATE",
    "breakdown_chart",
    "breakdown_dots",
    "concern_rate_chart",
    "divergence_forest",
    "forest_plot",
    "funnel_chart",
    "group_label",
    "group_styles",
    "interval_panels",
    "intersection_heatmap",
    "org_national_chart",
    "outcome_mix_chart",
    "panels_have_values",
    "rate_chart",
    "spine_chart",
    "survival_chart",
    "title_with_subtitle",
    "trend_chart",
    "xmr_chart",
]
