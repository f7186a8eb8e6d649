"""Kaplan–Meier curves: how long cases (or exclusions) stay open, one panel per group beside the reference.

At a million cases a curve has a step on nearly every day, and every censoring time would be a tick: far more
points than the chart has pixels. Each line (the curve, and each limit of its band) is thinned to the panel's
resolution on its own (``thin_steps``): a step is kept only where the line has moved by most of a pixel since
the last kept step, plus its first and last steps and the step where it first reaches 50% (the median, or a
limit of its interval), so no drawn line or band moves by a pixel and no median moves at all. Censoring
ticks are kept one per few pixels. Coordinates go out as float32 (seven significant digits: far finer than
any axis), hover text is formatted only for the steps drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import axis_key, group_label, group_styles, legend_below, panel_axes, panel_grid, rgba
from parity.charts.theme import SECONDARY_TEXT, base_layout, figure, merge, wrap

Y_TOP = 1.02  # the y axis runs from 0 to just above 100%
# The widest a chart is drawn (pixels): ticks are thinned for this width, so they are no sparser when narrower.
MAX_WIDTH = 1800
# A step is kept once a line has moved this share of a pixel: with float32's rounding, under one pixel in all.
STEP_PIXELS = 0.99
TICK_PIXELS = 8  # at most one censoring tick in this many pixels of x (a tick is 1 pixel wide, 6 tall)
TICK_HEIGHT = 6  # pixels
TICKS = "censoring ticks"  # the ``meta`` of a trace of censoring ticks


def _survival_steps(rows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """A group's curve as months, survival, lower, upper and at-risk arrays, starting from 100% at time 0."""
    rows = rows.sort_values("months", kind="stable")
    months = rows["months"].to_numpy(dtype=float)
    survival, lower, upper, at_risk = (rows[c].to_numpy(dtype=float) for c in ("survival", "lower", "upper", "at_risk"))
    if len(months) and (months[0] > 0 or survival[0] < 1):
        months, survival = np.concatenate(([0.0], months)), np.concatenate(([1.0], survival))
        lower, upper = np.concatenate(([1.0], lower)), np.concatenate(([1.0], upper))
        at_risk = np.concatenate(([at_risk[0]], at_risk))
    return months, survival, lower, upper, at_risk


def thin_steps(values: np.ndarray, tolerance: float) -> np.ndarray:
    """The indices of the steps to draw so that a step line (each value held until the next) moves by less
    than ``tolerance`` anywhere.

    A step is kept where the line enters a new ``tolerance``-wide bin of y: between two kept steps every
    dropped one lies in the bin of the first, so the drawn line is within ``tolerance`` of the true one. The
    first and last steps are kept, and the first at or below 50% (where a median or its limit is read).
    """
    n = len(values)
    if n <= 2 or not tolerance > 0:
        return np.arange(n)
    bins = np.floor(np.nan_to_num(values, nan=-1.0) / tolerance)
    keep = np.ones(n, dtype=bool)
    keep[1:-1] = bins[1:-1] != bins[:-2]
    crossed = np.flatnonzero(values <= 0.5)
    if len(crossed):
        keep[crossed[0]] = True
    return np.flatnonzero(keep)


def thin_ticks(x: np.ndarray, x_pixel: float) -> np.ndarray:
    """The indices of the censoring ticks to draw: the first in each ``TICK_PIXELS`` pixels of x (x sorted)."""
    if len(x) <= 1 or not x_pixel > 0:
        return np.arange(len(x))
    cells = np.floor(x / (x_pixel * TICK_PIXELS))
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = cells[1:] != cells[:-1]
    return np.flatnonzero(keep)


def _rows(rows: list[list]) -> np.ndarray:
    """customdata as an object array: Plotly checks and copies it in one go (a list of lists, item by item)."""
    array = np.empty((len(rows), len(rows[0]) if rows else 0), dtype=object)
    array[:] = rows
    return array


def steps_backwards(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points that draw a step line (each value held until the next point: Plotly's "hv") from its right end
    back to its left, still with "hv": (xn, yn), (xn, yn-1), (xn-1, yn-2), … (x1, y0), (x0, y0). Walking back, a
    level is held from one step to the one before it, then the line drops, or rises, to the level before that.
    Read left to right they are the steps' times with the values shifted by one: ``x[k]``, ``y[k + 1]``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) == 0:
        return x, y
    return np.concatenate((x, x[-1:]))[::-1], np.concatenate((y[:1], y))[::-1]


def _f4(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def survival_chart(
    curves: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
    event_words: str = "still open",
    columns: int = 3,
) -> go.Figure:
    """Kaplan–Meier curves: one panel per group, each against the reference group's curve.

    ``curves`` has columns group, months, survival, lower, upper, at_risk (NaN where hidden), censored (the
    number censored at that time; NaN where hidden, which is never 0), groups in the order to draw. x is
    months since the start, y the share ``event_words``. In each panel the reference is a dark solid step
    line and the group a coloured dashed one, each with a light pointwise 95% band and a vertical tick
    wherever cases were censored (still open at the extract date). Panels keep the groups apart: seven
    overlapping curves with bands cannot be read. With only the reference, one panel.
    """
    groups = list(pd.unique(curves["group"]))
    styles = styles or group_styles(groups, reference)
    others = [g for g in groups if g != reference] or [reference]
    columns = max(1, min(columns, len(others)))
    n_rows = math.ceil(len(others) / columns)
    layout = panel_grid(
        n_rows,
        columns,
        shared_x=True,
        shared_y=True,
        h_spacing=0.03,
        v_spacing=min(0.3 / n_rows, 0.1),
        titles=[wrap(g, max(24, 90 // columns)) for g in others],
    )
    merge(layout, base_layout(title, subtitle, 150 + 250 * n_rows), {"margin": {"b": 50}})
    columns_used = ["group", "months", "survival", "lower", "upper", "at_risk", "censored"]
    by_group = dict(tuple(curves[columns_used].groupby("group", sort=False)))
    steps = {g: _survival_steps(by_group[g]) for g in groups}
    horizon = 0.0
    for months, survival, *_ in steps.values():
        low = np.flatnonzero(survival <= 0.05)
        horizon = max(horizon, months[low[0]] if len(low) else (months[-1] if len(months) else 0.0))
    top = max(3.0, math.ceil(horizon / 3) * 3) if horizon else 12.0
    # One pixel of a panel, in data units (every panel of the grid is the same size).
    plot_height = layout["height"] - layout["margin"]["t"] - layout["margin"]["b"]
    y_pixel = Y_TOP / ((layout["yaxis"]["domain"][1] - layout["yaxis"]["domain"][0]) * plot_height)
    x_pixel = top / ((layout["xaxis"]["domain"][1] - layout["xaxis"]["domain"][0]) * MAX_WIDTH)
    drawn = {
        member: _member_traces(
            member,
            steps[member],
            by_group[member],
            styles[member][0],
            is_reference=member == reference,
            event_words=event_words,
            top=top,
            x_pixel=x_pixel,
            y_pixel=y_pixel,
        )
        for member in groups
    }
    traces, shapes = [], []
    for k, group in enumerate(others):
        x_name, y_name = panel_axes(k)
        members = [m for m in dict.fromkeys([reference, group]) if m in drawn]  # the reference may have no curve
        for member in members:
            for trace in drawn[member][0]:
                trace = {**trace, "xaxis": x_name, "yaxis": y_name}
                if trace.get("legendgroup") == member and member == reference:
                    trace["showlegend"] = k == 0
                traces.append(trace)
        ticks = [drawn[member][1] for member in members if drawn[member][1] is not None]
        traces.extend({**trace, "xaxis": x_name, "yaxis": y_name} for trace in _tick_traces(ticks, y_pixel))
        shapes.append(
            {
                "type": "line",
                "xref": f"{x_name} domain",
                "x0": 0,
                "x1": 1,
                "yref": y_name,
                "y0": 0.5,
                "y1": 0.5,
                "line": {"dash": "dot", "color": SECONDARY_TEXT, "width": 1},
            }
        )
    layout["shapes"] = shapes
    traces.append(
        {
            "type": "scatter",
            "x": [None],
            "y": [None],
            "mode": "markers",
            "name": "| censored at the extract date · dotted line: median (50%)",
            "marker": {"symbol": "line-ns-open", "size": 10, "color": SECONDARY_TEXT, "line": {"width": 1.5}},
            "hoverinfo": "skip",
        }
    )
    # Every axis at once (one layout update, not one per panel): titles on the bottom row and first column.
    axes = {}
    for k in range(n_rows * columns):
        x_key, y_key = (axis_key(name) for name in panel_axes(k))
        axes[x_key] = {"range": [0, top], "dtick": 3 if top <= 24 else 6, "zeroline": True}
        axes[y_key] = {"range": [0, Y_TOP], "tickformat": ".0%", "dtick": 0.25}
        if k // columns + 1 == n_rows:
            axes[x_key]["title"] = {"text": "Months since the start"}
        if k % columns == 0:
            axes[y_key]["title"] = {"text": f"Share {event_words}"}
    merge(layout, axes)
    return figure(traces, legend_below(layout, traces))


def _member_traces(
    member: str,
    steps: tuple[np.ndarray, ...],
    rows: pd.DataFrame,
    colour: str,
    *,
    is_reference: bool,
    event_words: str,
    top: float,
    x_pixel: float,
    y_pixel: float,
) -> tuple[list[dict], tuple | None]:
    """One group's band and line as trace dicts, and its censoring ticks (group, colour, x, y; None: none),
    thinned to the panel's pixels and cut at the right edge of the x axis (``top`` months; the first step beyond
    it is kept, so the lines reach the edge)."""
    inside = int(np.searchsorted(steps[0], top, side="right")) + 1
    months, survival, lower, upper, at_risk = (a[:inside] for a in steps)
    tolerance = STEP_PIXELS * y_pixel
    # The two limits are thinned apart: the band follows each one's own steps.
    high, low, kept = thin_steps(upper, tolerance), thin_steps(lower, tolerance), thin_steps(survival, tolerance)
    name = group_label(member, is_reference)
    # The band is one closed shape: along the upper limit's steps, then back along the lower limit's (one trace
    # where a fill between two would take two: a fifth fewer traces for Plotly to check and draw).
    back_x, back_y = steps_backwards(months[low], lower[low])
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": _f4(np.concatenate((months[high], back_x))),
            "y": _f4(np.concatenate((upper[high], back_y))),
            "line": {"width": 0, "shape": "hv"},
            "fill": "toself",
            "fillcolor": rgba(colour, 0.14),
            "hoverinfo": "skip",
            "showlegend": False,
            "meta": {"upper_points": int(len(high))},  # where the upper limit's outline ends (for readers of the JSON)
        },
        {
            "type": "scatter",
            "x": _f4(months[kept]),
            "y": _f4(survival[kept]),
            "mode": "lines",
            "name": name,
            "legendgroup": member,
            "showlegend": True,
            "line": {"color": colour, "width": 2.4, "dash": "solid" if is_reference else "dash", "shape": "hv"},
            # The share is the point's y; its interval (numbers: Plotly checks and copies a number array at once,
            # a string at a time) and the number at risk as text (it may be hidden: *). The group is the trace's
            # name in the hover and its legendgroup on a click (``ui.drill.clicked_group``).
            "customdata": _f4(np.column_stack((lower[kept], upper[kept]))),
            "text": np.array([formats.int0(n) for n in at_risk[kept].tolist()], dtype=object),
            "hovertemplate": (
                "<b>%{fullData.name}</b><br>%{x:.1f} months: %{y:.1%} "
                + event_words
                + " (95% CI %{customdata[0]:.1%} to %{customdata[1]:.1%})<br>At risk: %{text}<extra></extra>"
            ),
        },
    ]
    # Censoring ticks: where any case was censored (a hidden count, NaN, may be one), up to the right edge; drawn
    # with the panel's other group's in one trace (``_tick_trace``).
    row_months, censored = rows["months"].to_numpy(dtype=float), rows["censored"].to_numpy(dtype=float)
    marked = np.flatnonzero((np.nan_to_num(censored, nan=1.0) > 0) & (row_months <= top))
    marked = marked[np.argsort(row_months[marked], kind="stable")]
    if not len(marked):
        return traces, None
    mark_x, mark_y = row_months[marked], rows["survival"].to_numpy(dtype=float)[marked]
    ticks = thin_ticks(mark_x, x_pixel)
    return traces, (member, colour, mark_x[ticks], mark_y[ticks])


def _tick_traces(ticks: list[tuple], y_pixel: float) -> list[dict]:
    """Each group's censoring ticks in a panel as one line of short vertical strokes (``TICK_HEIGHT`` pixels, in
    its colour), broken between ticks: one path for the browser to draw where markers were one element each
    (about 800 a chart, and about 0.2 s of the browser's time a Durations chart in Chromium). The group is the
    trace's name and legendgroup: the hover names it and a click reads it (``ui.drill.clicked_group``)."""
    half = TICK_HEIGHT / 2 * y_pixel
    out = []
    for member, colour, x, y in ticks:
        xs = np.repeat(np.asarray(x, dtype=np.float32), 3)
        ys = np.repeat(np.asarray(y, dtype=np.float32), 3)
        ys[0::3] -= half
        ys[1::3] += half
        xs[2::3] = ys[2::3] = np.nan  # a break after each stroke
        out.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "name": member,
                "legendgroup": member,
                "meta": TICKS,
                "showlegend": False,
                "line": {"color": colour, "width": 1},
                "connectgaps": False,
                "hovertemplate": "<b>%{fullData.name}</b><br>Censored (still going on at the extract date) "
                "at %{x:.1f} months<extra></extra>",
            }
        )
    return out
