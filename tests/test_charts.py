"""Chart builders as pure functions: traces, intervals, the reference marked, the shaded band; and payloads
bounded at any data size (survival curves thinned to the chart's pixels without moving a line by one)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from parity import charts, contract
from parity.charts import survival
from parity.measures import DAYS_PER_MONTH


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
    assert (
        asian.x[0] == 2.0
        and math.isclose(asian.error_x.array[0], 0.7)
        and math.isclose(asian.error_x.arrayminus[0], 0.5)
    )
    assert fig.data[0].error_x.visible is False  # the reference has no interval
    assert fig.data[3].x[0] is None  # a hidden ratio is not drawn


# --- Bounded payloads: survival curves thinned to the chart's pixels ----------------------------------

MAX_FIGURE_BYTES = 300_000
ETHNIC_GROUPS = list(contract.SPLITS["ethnic_group"].groups)


def long_curves(groups: list[str], steps: int = 200_000, seed: int = 8) -> pd.DataFrame:
    """Kaplan–Meier-like curves with ``steps`` distinct times per group (about a million cases' worth), a
    censoring at most of them, bands on both sides."""
    rng = np.random.default_rng(seed)
    frames = []
    for i, group in enumerate(groups):
        days = np.sort(rng.uniform(0, 2000, steps))
        survival = np.exp(-days / (250 + 40 * i))
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "days": days,
                    "months": days / DAYS_PER_MONTH,
                    "survival": survival,
                    "lower": survival**1.08,
                    "upper": survival**0.93,
                    "at_risk": np.linspace(150_000, 5, steps).round(),
                    "events": 1,
                    "censored": rng.integers(0, 3, steps).astype(float),
                    "is_reference": group == contract.WHITE,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def drawn(xs, ys, at: np.ndarray) -> np.ndarray:
    """A step line (each value held until the next point, Plotly's "hv") read at ``at``."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    return ys[np.searchsorted(xs, at, side="right") - 1]


def pixels(fig) -> tuple[float, float]:
    """Data units per pixel of a panel: (x at the widest a chart is drawn, y)."""
    layout = fig.layout
    plot_height = layout.height - layout.margin.t - layout.margin.b
    y_span = layout.yaxis.range[1] - layout.yaxis.range[0]
    y_pixel = y_span / ((layout.yaxis.domain[1] - layout.yaxis.domain[0]) * plot_height)
    x_span = layout.xaxis.range[1] - layout.xaxis.range[0]
    return x_span / ((layout.xaxis.domain[1] - layout.xaxis.domain[0]) * survival.MAX_WIDTH), y_pixel


@pytest.fixture(scope="module")
def long_chart():
    curves = long_curves(ETHNIC_GROUPS)
    return curves, charts.survival_chart(curves, "Time to closure", "s", reference=contract.WHITE)


def test_survival_chart_of_200k_steps_a_group_stays_under_the_payload_bound(long_chart):
    _, fig = long_chart
    assert len(fig.to_json()) < MAX_FIGURE_BYTES
    lines = [t for t in fig.data if t.mode == "lines" and t.line.width and t.meta != survival.TICKS]
    assert len(lines) == 12  # the reference and a group in each of six panels: nothing dropped
    assert all(len(t.x) < 1000 for t in fig.data)  # no per-case (or per-day) points


def test_thinning_moves_no_line_band_or_median_by_a_pixel(long_chart):
    curves, fig = long_chart
    x_pixel, y_pixel = pixels(fig)
    top = fig.layout.xaxis.range[1]
    checked = 0
    for group in ETHNIC_GROUPS:
        truth = curves[curves["group"] == group]
        months = np.concatenate(([0.0], truth["months"].to_numpy()))
        # Read between the true steps (where each step line is flat), within the axis.
        at = (months[1:] + months[:-1]) / 2
        at = at[at < top]
        name = charts.group_label(group, group == contract.WHITE)
        line = next(t for t in fig.data if t.name == name and t.mode == "lines")
        index = next(i for i, t in enumerate(fig.data) if t is line)
        # The band before the line: one closed outline, along the upper limit and back along the lower one.
        band = fig.data[index - 1]
        assert band.fill == "toself" and band.hoverinfo == "skip"
        split = band.meta["upper_points"]
        band_x, band_y = np.asarray(band.x, dtype=float), np.asarray(band.y, dtype=float)
        upper = (band_x[:split], band_y[:split])
        # Back along the lower limit, read left to right: the steps' times, each with the value after it.
        back_x, back_y = band_x[split:][::-1], band_y[split:][::-1]
        lower = (back_x[:-1], back_y[1:])
        for (xs, ys), column in (((line.x, line.y), "survival"), (lower, "lower"), (upper, "upper")):
            true_values = np.concatenate(([1.0], truth[column].to_numpy()))
            error = np.abs(drawn(xs, ys, at) - drawn(months, true_values, at))
            assert error.max() < y_pixel, (group, column, error.max() / y_pixel)
            # The median (and each limit of its interval) is read where the line first reaches 50%.
            true_cross = months[np.flatnonzero(true_values <= 0.5)[0]]
            drawn_cross = np.asarray(xs, dtype=float)[np.flatnonzero(np.asarray(ys) <= 0.5)[0]]
            assert abs(drawn_cross - true_cross) < min(x_pixel, 1e-4)
            # The band and the line start at time 0 and run to the edge of the axis.
            assert xs[0] == 0 and xs[-1] >= top
            checked += 1
    assert checked == 3 * len(ETHNIC_GROUPS)


def test_censoring_ticks_are_thinned_to_the_pixels(long_chart):
    _, fig = long_chart
    x_pixel, _ = pixels(fig)
    marks = [t for t in fig.data if t.meta == survival.TICKS]
    assert marks and all(t.name in ETHNIC_GROUPS for t in marks)
    assert len({(t.xaxis, t.name) for t in marks}) == len(marks)  # one trace a group in each panel
    for trace in marks:
        x = np.asarray(trace.x, dtype=float)[0::3]  # a stroke a tick: bottom, top, break
        gaps = np.diff(np.floor(x / (x_pixel * survival.TICK_PIXELS)))
        assert (gaps > 0).all()  # at most one tick of a group in each few pixels


def test_thin_steps_keeps_ends_and_the_median_crossing():
    values = np.array([0.998, 0.997, 0.996, 0.6, 0.5004, 0.5, 0.5, 0.203, 0.202])
    kept = survival.thin_steps(values, 0.01)
    # The ends; each step into a new hundredth; the first at or below 50% though it moved by less.
    assert list(kept) == [0, 3, 4, 5, 7, 8]
    assert list(survival.thin_steps(values[:2], 0.01)) == [0, 1]


def test_panels_have_values_only_where_something_would_be_drawn():
    """An interval chart with every value and interval end missing (hidden, not estimable) draws empty frames; a
    "not reached" (infinite) median is drawn, as are a lone value or a lone interval end."""
    nan, inf = float("nan"), float("inf")

    def table(value: float, lower: float, upper: float) -> pd.DataFrame:
        rows = {"panel": ["A", "A"], "group": ["White", "Black"], "value": [nan, value], "lower": [nan, lower]}
        return pd.DataFrame({**rows, "upper": [nan, upper]})

    assert not charts.panels_have_values(table(nan, nan, nan))
    assert charts.panels_have_values(table(inf, nan, nan))
    assert charts.panels_have_values(table(0.25, nan, nan))
    assert charts.panels_have_values(table(nan, 3.0, inf))
    assert not charts.panels_have_values(table(nan, nan, nan).iloc[:0])
