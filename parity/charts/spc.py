"""XmR charts as Making Data Count draws them: the series, its centre line and process limits (broken where the
chart is rebased), each point coloured and shaped by NHSRplotthedots' point type, the target, and, on ratio charts,
the 0.80–1.25 band. Points resting on fewer than 10 referrals are drawn hollow.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import BAND, BAND_FILL, error_bars, interval_arrays, legend, missing, open_symbol
from parity.charts.theme import PALETTE, SECONDARY_TEXT, TEXT_COLOUR, base_layout, figure, merge

COMMON_CAUSE_GREY = "#6F777B"  # 4.6:1 on white
# NHSRplotthedots' point types: legend text, colour (Making Data Count's blue, orange and purple, from the
# Analysis Function palette) and a marker shape of their own, so colour is never the only sign.
POINT_STYLES: dict[str, tuple[str, str, str]] = {
    "common_cause": ("Common cause", COMMON_CAUSE_GREY, "circle"),
    "special_cause_improvement": ("Special cause: improvement", PALETTE[0], "square"),
    "special_cause_concern": ("Special cause: concern", PALETTE[3], "diamond"),
    "special_cause_neutral": ("Special cause: neither better nor worse", PALETTE[5], "triangle-up"),
}
TARGET_COLOUR = PALETTE[1]


def _segment_lines(series: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, tuple[list, list]]:
    """x and y of each limit or centre line in ``columns``: flat within each segment (in segment order, rows in
    table order), broken between segments."""
    segment = series["segment"]
    rows: dict = {}
    for i, (key, charted) in enumerate(zip(segment.tolist(), segment.notna().tolist(), strict=True)):
        if charted:
            rows.setdefault(key, []).append(i)
    periods = series["period"].tolist()
    lines = {}
    for column in columns:
        values = series[column].tolist()
        xs: list[str | None] = []
        ys: list[float | None] = []
        for key in sorted(rows):
            if xs:
                xs.append(None)
                ys.append(None)
            xs += [periods[i] for i in rows[key]]
            ys += [float(values[rows[key][0]])] * len(rows[key])
        lines[column] = (xs, ys)
    return lines


def _hover(series: pd.DataFrame, digits: int) -> list[list[str]]:
    def number(value: object) -> str:
        return formats.SUPPRESSED if missing(value) else f"{float(value):,.{digits}f}"

    columns = (series[c].tolist() for c in ("period", "value", "lower", "upper", "point_type", "small_numbers"))
    rows = []
    for period, value, lower, upper, point_type, small_numbers in zip(*columns, strict=True):
        label = POINT_STYLES.get(point_type or "", ("Not charted: hidden or not estimable",))[0]
        small = " · fewer than 10 referrals" if small_numbers else ""
        rows.append([period, number(value), number(lower), number(upper), label + small])
    return rows


def xmr_chart(
    series: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    measure: str,
    ratio: bool,
    target: float | None = None,
    rebase: str | None = None,
    x_title: str = "Financial year",
) -> go.Figure:
    """An XmR chart of one indicator (``parity.measures.trends`` series: period, value, lower, upper,
    small_numbers, segment, centre, lower_limit, upper_limit, point_type), in time order.

    ``ratio`` shades the 0.80–1.25 band and draws a line at 1; otherwise the y axis starts at zero. ``target`` is
    drawn as a dotted line; ``rebase`` (a period) as a vertical line where the limits are recalculated.
    """
    digits = 2
    shapes: list[dict] = []
    notes: list[dict] = []
    if ratio:
        shapes.append(_across("rect", BAND[0], BAND[1], fillcolor=BAND_FILL, line={"width": 0}, layer="below"))
        shapes.append(_across("line", 1, 1, line={"color": TEXT_COLOUR, "width": 1}))
    plus, minus = interval_arrays(series["value"], series["lower"], series["upper"])
    data: list[dict] = [
        {
            "type": "scatter",
            "x": series["period"],
            "y": series["value"],
            "mode": "lines",
            "line": {"color": COMMON_CAUSE_GREY, "width": 1.5},
            "error_y": error_bars(plus, minus, "#B1B4B6", thickness=1, width=0),
            "name": "Value (bars: 95% confidence interval)",
            "showlegend": False,
            "hoverinfo": "skip",
            "connectgaps": False,
        }
    ]
    lines = _segment_lines(series, ("centre", "upper_limit", "lower_limit"))
    for column, name, dash in (
        ("centre", "Mean", "solid"),
        ("upper_limit", "Process limits", "dash"),
        ("lower_limit", "Process limits", "dash"),
    ):
        xs, ys = lines[column]
        data.append(
            {
                "type": "scatter",
                "x": xs,
                "y": ys,
                "mode": "lines",
                "name": name,
                "legendgroup": name,
                "showlegend": column != "lower_limit",
                "line": {
                    "color": TEXT_COLOUR if column == "centre" else SECONDARY_TEXT,
                    "width": 1.5,
                    "dash": dash,
                },
                "hoverinfo": "skip",
                "connectgaps": False,
            }
        )
    hover = _hover(series, digits)
    kinds = list(zip(series["point_type"].tolist(), series["small_numbers"].astype(bool).tolist(), strict=True))
    periods, values = series["period"].to_numpy(), series["value"].to_numpy()
    for point_type, (name, colour, symbol) in POINT_STYLES.items():
        for small in (False, True):
            rows = [i for i, kind in enumerate(kinds) if kind == (point_type, small)]
            if not rows:
                continue
            data.append(
                {
                    "type": "scatter",
                    "x": periods[rows],
                    "y": values[rows],
                    "mode": "markers",
                    "name": name + (" (fewer than 10 referrals: hollow)" if small else ""),
                    "marker": {
                        "color": colour,
                        "symbol": open_symbol(symbol) if small else symbol,
                        "size": 10,
                        "line": {"width": 2, "color": colour},
                    },
                    "customdata": [hover[i] for i in rows],
                    "hovertemplate": (
                        f"<b>%{{customdata[0]}}</b><br>{measure}: %{{customdata[1]}} "
                        "(95% CI %{customdata[2]} to %{customdata[3]})<br>%{customdata[4]}<extra></extra>"
                    ),
                }
            )
    if target is not None:
        shapes.append(_across("line", target, target, line={"color": TARGET_COLOUR, "width": 2, "dash": "dot"}))
        notes.append(
            {
                "x": 0,
                "xanchor": "left",
                "xref": "x domain",
                "y": target,
                "yanchor": "bottom",
                "yref": "y",
                "text": f"Target {target:g}",
                "showarrow": False,
                "font": {"size": 12, "color": TEXT_COLOUR},
                # Legible where a process limit runs close above the target: the label covers the line behind it.
                "bgcolor": "rgba(255, 255, 255, 0.9)",
            }
        )
    if rebase is not None and rebase in set(series["period"]):
        position = list(series["period"]).index(rebase) - 0.5
        shapes.append(
            {
                "type": "line",
                "x0": position,
                "x1": position,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
                "line": {"color": SECONDARY_TEXT, "width": 1, "dash": "dashdot"},
            }
        )
        notes.append(
            {
                "x": position,
                "y": 1,
                "yref": "paper",
                "yanchor": "bottom",
                "xanchor": "left",
                "text": f"Rebased from {rebase}",
                "showarrow": False,
                "font": {"size": 12, "color": TEXT_COLOUR},
            }
        )
    values = [v for v in [*series["upper"], *series["upper_limit"], target or 0] if not missing(v) and math.isfinite(v)]
    top = max(values, default=1.0)
    y_axis: dict = {"range": [0, top * 1.08], "zeroline": True} if not ratio else {}
    y_axis["title"] = {"text": measure}
    periods = list(series["period"])
    layout = base_layout(title, subtitle + " · vertical bars: 95% confidence intervals", 400)
    layout["yaxis"] = y_axis
    layout["xaxis"] = {
        "title": {"text": x_title},
        "categoryorder": "array",
        "categoryarray": periods,
        "type": "category",
        "tickangle": -45 if len(periods) > 12 else 0,
        "nticks": 20,
        "showgrid": False,
    }
    if shapes:
        layout["shapes"] = shapes
    if notes:
        layout["annotations"] = notes
    # The legend sits at the foot of the figure, below the (possibly slanted) period labels and the axis title.
    merge(
        layout,
        legend(),
        {
            "margin": {"l": 50, "b": 150 if len(periods) > 12 else 110},
            "legend": {"yref": "container", "y": 0.01, "yanchor": "bottom"},
        },
    )
    return figure(data, layout)


def _across(kind: str, y0: float, y1: float, **style) -> dict:
    """A shape across the whole width of the plot, from ``y0`` to ``y1`` (as ``add_hrect`` / ``add_hline``)."""
    return {"type": kind, "x0": 0, "x1": 1, "xref": "x domain", "y0": y0, "y1": y1, "yref": "y", **style}
