"""Chart builders as pure functions: traces, intervals, the reference marked, the shaded band."""

from __future__ import annotations

import math

import pandas as pd

from parity import charts


def summary() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "group": ["White", "Asian or Asian British", "Black or Black British", "Other ethnic group"],
            "cases": [100, 80, 40, 3],
            "headcount": [40000, 16000, 5000, 900],
            "rate": [2.5, 5.0, 8.0, math.nan],
            "rate_lower": [2.0, 4.0, 5.7, math.nan],
            "rate_upper": [3.0, 6.2, 10.9, math.nan],
            "rl": [1.0, 2.0, 3.2, math.nan],
            "rl_lower": [math.nan, 1.5, 2.2, math.nan],
            "rl_upper": [math.nan, 2.7, 4.6, math.nan],
            "is_reference": [True, False, False, False],
            "small_numbers": [False, False, False, True],
        }
    )


def test_rate_chart_draws_intervals_and_marks_the_reference():
    fig = charts.rate_chart(summary(), "Black practitioners are referred most often", "Referrals per 1,000")
    assert len(fig.data) == 4
    black = fig.data[2]
    assert black.x[0] == 8.0
    assert black.error_x.array[0] == 10.9 - 8.0 and math.isclose(black.error_x.arrayminus[0], 8.0 - 5.7)
    assert black.customdata[0][0] == "Black or Black British"  # the drill reads customdata[0]
    assert fig.data[0].y[0] == "White (reference)"
    assert fig.data[3].y[0].endswith("small numbers")
    assert fig.layout.xaxis.range[0] == 0  # zero baseline
    assert "Black practitioners" in fig.layout.title.text
    symbols = {t.marker.symbol for t in fig.data}
    assert len(symbols) == 4  # shapes as well as colours


def test_suppressed_values_are_not_drawn():
    fig = charts.rate_chart(summary(), "t", "s")
    hidden = fig.data[3]
    assert hidden.x[0] is None or math.isnan(hidden.x[0])
    assert "*" in hidden.customdata[0]


def test_forest_plot_band_reference_line_and_log_axis():
    fig = charts.forest_plot(summary(), "Relative likelihood", "s")
    shapes = fig.layout.shapes
    band = [s for s in shapes if s.type == "rect"]
    assert len(band) == 1 and (band[0].x0, band[0].x1) == (0.8, 1.25)
    assert any(s.type == "line" and s.x0 == 1 for s in shapes)
    assert fig.layout.xaxis.type == "log"
    asian = fig.data[1]
    assert asian.x[0] == 2.0 and math.isclose(asian.error_x.array[0], 0.7) and math.isclose(
        asian.error_x.arrayminus[0], 0.5)
    assert fig.data[0].error_x.visible is False  # the reference has no interval
    assert fig.data[3].x[0] is None  # a hidden ratio is not drawn
