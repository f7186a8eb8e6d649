"""What every chart family shares: group styles and labels, intervals as error bars, hover text for rates,
the 0.80–1.25 band on ratio axes, zero-based and log ranges, category order and legend placement.

Inputs have already passed disclosure control: a suppressed value is NaN and is not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.theme import PALETTE, REFERENCE_COLOUR, SECONDARY_TEXT, TEXT_COLOUR

SYMBOLS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon")
BAND = (0.8, 1.25)
BAND_FILL = "rgba(40, 161, 151, 0.15)"


def missing(value: object) -> bool:
    """None or NaN: a hidden or not estimable number."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- Groups: colour, marker shape and label -----------------------------------------------------


def style_at(i: int) -> tuple[str, str]:
    """The colour and marker shape of the ``i``-th group."""
    return PALETTE[i % len(PALETTE)], SYMBOLS[i % len(SYMBOLS)]


def group_styles(groups: pd.Series | list[str], reference: str | None) -> dict[str, tuple[str, str]]:
    """Colour and marker shape per group, as ``rate_chart`` draws them (by position), the reference grey."""
    return {
        g: (REFERENCE_COLOUR, "diamond-open") if g == reference else style_at(i) for i, g in enumerate(list(groups))
    }


def open_symbol(symbol: str) -> str:
    return symbol if symbol.endswith("-open") else f"{symbol}-open"


def rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def group_label(group: str, is_reference: bool, small: bool = False) -> str:
    """The axis label of a group: the reference is marked, and so is a group with small numbers."""
    label = f"{group} (reference)" if is_reference else group
    return f"{label} ⚠ small numbers" if small else label


def group_labels(summary: pd.DataFrame) -> list[str]:
    """``group_label`` of each row of a table with columns group, is_reference and maybe small_numbers."""
    small = summary["small_numbers"] if "small_numbers" in summary else [False] * len(summary)
    rows = zip(summary["group"], summary["is_reference"], small, strict=True)
    return [group_label(g, r, bool(s)) for g, r, s in rows]


def reference_of(table: pd.DataFrame) -> str | None:
    """The reference group of a table with columns group and is_reference, if it has one."""
    return next(iter(table.loc[table["is_reference"], "group"]), None)


# --- Intervals and hover text ---------------------------------------------------------------------


def error_bars(plus, minus, colour: str, *, thickness: float, width: int, visible: bool = True) -> dict:
    """Asymmetric error bars (an interval around the point) in one colour."""
    return {
        "type": "data",
        "symmetric": False,
        "array": plus,
        "arrayminus": minus,
        "color": colour,
        "thickness": thickness,
        "width": width,
        "visible": visible,
    }


def interval_arrays(values: pd.Series, lower: pd.Series, upper: pd.Series) -> tuple[list[float], list[float]]:
    """Error-bar lengths above and below each value; 0 where the value or a bound is hidden."""
    plus, minus = [], []
    for v, lo, hi in zip(values, lower, upper, strict=True):
        ok = not (missing(v) or missing(lo) or missing(hi)) and np.isfinite(hi)
        plus.append(hi - v if ok else 0)
        minus.append(v - lo if ok else 0)
    return plus, minus


def rate_hover(frame: pd.DataFrame, first: str) -> list[list[str]]:
    """customdata rows for ``rate_hovertemplate``: group, the category, rate, its interval, referrals,
    practitioner-years."""
    return [
        [
            r.group,
            getattr(r, first),
            formats.rate2(r.rate),
            formats.rate2(r.rate_lower),
            formats.rate2(r.rate_upper),
            formats.int0(r.cases),
            formats.int0(r.headcount),
        ]
        for r in frame.itertuples(index=False)
    ]


def rate_hovertemplate(measure: str) -> str:
    return (
        f"<b>%{{customdata[0]}}</b> · %{{customdata[1]}}<br>{measure}: %{{customdata[2]}} "
        "(95% CI %{customdata[3]} to %{customdata[4]})<br>Referrals: %{customdata[5]}"
        "<br>Practitioner-years: %{customdata[6]}<extra></extra>"
    )


# --- Axes ---------------------------------------------------------------------------------------------


def zero_range(values: Iterable[float], pad: float) -> list[float]:
    """An axis range from zero to a little beyond the largest finite positive value (1 when there is none)."""
    array = np.asarray(list(values), dtype=float)
    shown = array[np.isfinite(array) & (array > 0)]
    return [0, (float(shown.max()) if shown.size else 1.0) * pad]


def value_edge(table: pd.DataFrame, percent: bool) -> float:
    """The right edge of a value axis over columns value, lower, upper: a tenth beyond the largest finite
    number, at most 100% for shares. Infinite values and bounds ("not reached") are drawn at this edge."""
    finite = table[["value", "lower", "upper"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    edge = (float(finite.max()) if finite.size else 1.0) * 1.1 or 1.0
    return min(edge, 1.0) if percent else edge


def drawable_ratios(*columns: Iterable[float]) -> list[float]:
    """The values that can sit on a log axis: finite and above 0."""
    return [v for column in columns for v in column if not missing(v) and 0 < v < math.inf]


def log_ratio_axis(fig: go.Figure, values: list[float], ticks: tuple[float, ...], **axis) -> go.Figure:
    """A log x axis spanning ``values``, 1 and the band (a little beyond, within 0.05 to 50), labelled at
    those of ``ticks`` that fall inside."""
    finite = [1.0, *BAND, *values]
    low, high = max(min(finite) / 1.15, 0.05), min(max(finite) * 1.15, 50)
    return fig.update_xaxes(
        type="log",
        range=[math.log10(low), math.log10(high)],
        tickvals=[v for v in ticks if low <= v <= high],
        **axis,
    )


def ratio_guides(fig: go.Figure, *, line_width: float = 1, label: bool = False, **subplot) -> go.Figure:
    """The 0.80–1.25 non-adverse band shaded, and a line at 1 (the reference), on a log ratio axis; with
    ``label``, the band named above its left edge."""
    fig.add_vrect(x0=BAND[0], x1=BAND[1], fillcolor=BAND_FILL, line_width=0, layer="below", **subplot)
    if label:
        # On a log axis an annotation's x is the log of the value (shapes take the value itself).
        fig.add_annotation(
            x=math.log10(BAND[0]),
            y=1,
            xref="x",
            yref="y domain",
            xanchor="left",
            yanchor="bottom",  # just above the plot area, clear of the markers
            text="0.80–1.25 non-adverse band",
            showarrow=False,
            font={"size": 11, "color": SECONDARY_TEXT},
            **subplot,
        )
    return fig.add_vline(x=1, line_color=TEXT_COLOUR, line_width=line_width, **subplot)


def list_top_down(fig: go.Figure, labels: list[str], **axis) -> go.Figure:
    """Categories on the y axis in the order given, the first at the top; no grid line through each row."""
    return fig.update_yaxes(categoryorder="array", categoryarray=list(labels)[::-1], **{"showgrid": False, **axis})


def row_height(n: int) -> int:
    """Plot height for ``n`` rows of one marker each."""
    return max(260, 120 + 34 * n)


# --- Panels ---------------------------------------------------------------------------------------------


def panel_grid(
    rows: int,
    cols: int,
    *,
    titles: list[str] | tuple[str, ...] = (),
    h_spacing: float = 0.2,
    v_spacing: float = 0.3,
    shared_x: bool = False,
    shared_y: bool = False,
) -> go.Figure:
    """An empty figure laid out as ``make_subplots`` would lay it out (the same axes, domains and panel titles,
    size 12), without its cost: ``make_subplots`` takes about ten times as long. Panel ``k`` (row by row,
    from 0) draws on the axes ``panel_axes(k)``; with ``shared_x`` each column's panels follow its bottom
    one, with ``shared_y`` each row's follow its first, and only those show tick labels."""
    widths = [(1.0 - h_spacing * (cols - 1)) / cols] * cols
    heights = [(1.0 - v_spacing * (rows - 1)) / rows] * rows
    layout: dict = {}
    tops: list[tuple[float, float]] = []
    for r in range(rows):
        up = rows - 1 - r  # rows are stacked from the bottom of the paper
        y_start = sum(heights[:up]) + up * v_spacing
        y_end = y_start + heights[-1 - r]
        y_domain = [min(max(y_start, 0.0), 1.0), min(max(y_end, 0.0), 1.0)]
        for c in range(cols):
            x_name, y_name = panel_axes(r * cols + c)
            x_start = sum(widths[:c]) + c * h_spacing
            x_end = x_start + widths[c]
            x_axis = {"anchor": y_name, "domain": [x_start, x_end]}
            y_axis = {"anchor": x_name, "domain": y_domain}
            if shared_x and r < rows - 1:
                x_axis.update(matches=panel_axes((rows - 1) * cols + c)[0], showticklabels=False)
            if shared_y and c > 0:
                y_axis.update(matches=panel_axes(r * cols)[1], showticklabels=False)
            layout[axis_key(x_name)], layout[axis_key(y_name)] = x_axis, y_axis
            tops.append(((x_start + x_end) / 2.0, y_domain[1]))
    layout["annotations"] = [
        {
            "y": y,
            "xref": "paper",
            "x": x,
            "yref": "paper",
            "text": text,
            "showarrow": False,
            "font": {"size": 12},
            "xanchor": "center",
            "yanchor": "bottom",
        }
        for text, (x, y) in zip(titles, tops, strict=False)
        if text
    ]
    return go.Figure(layout=layout)


def panel_axes(k: int) -> tuple[str, str]:
    """The x and y axis names of panel ``k`` of a grid (row by row, from 0): "x", "y", then "x2", "y2" …"""
    return ("x", "y") if k == 0 else (f"x{k + 1}", f"y{k + 1}")


def axis_key(axis: str) -> str:
    """The layout key of an axis name: "x2" -> "xaxis2"."""
    return f"{axis[0]}axis{axis[1:]}"


# --- Legends ------------------------------------------------------------------------------------------


def legend(fig: go.Figure) -> go.Figure:
    """A horizontal legend under the plot, left-aligned."""
    return fig.update_layout(
        showlegend=True,
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0, "title_text": ""},
    )


def legend_below(fig: go.Figure, pixels: int = 55) -> go.Figure:
    """``legend``, its top ``pixels`` below the plot area (clear of the x-axis title); the figure grows to fit it."""
    layout = fig.layout
    plot_height = max(layout.height - layout.margin.t - layout.margin.b, 100)
    entries = sum(1 for trace in fig.data if trace.showlegend is not False and trace.name)
    bottom = pixels + 22 * math.ceil(entries / 3) + 10
    fig = legend(fig)
    return fig.update_layout(
        legend_y=-pixels / plot_height, margin_b=bottom, height=plot_height + layout.margin.t + bottom
    )
