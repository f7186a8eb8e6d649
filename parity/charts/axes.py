"""What every chart family shares: group styles and labels, intervals as error bars, hover text for rates,
the 0.80–1.25 band on ratio axes, zero-based and log ranges, category order and legend placement.

Inputs have already passed disclosure control: a suppressed value is NaN and is not drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from parity import formats
from parity.charts.theme import PALETTE, REFERENCE_COLOUR, SECONDARY_TEXT, TEXT_COLOUR, merge

SYMBOLS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon")
BAND = (0.8, 1.25)
BAND_FILL = "rgba(40, 161, 151, 0.15)"


def missing(value: object) -> bool:
    """None or NaN: a hidden or not estimable number."""
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- Groups: colour, marker shape and label -----------------------------------------------------


# Group colours: the palette without its dark grey, which beside the black reference (a dashed dark-grey
# curve against a solid black one) cannot be told apart.
GROUP_PALETTE: tuple[str, ...] = tuple(c for c in PALETTE if c.upper() != "#3D3D3D")


def style_at(i: int) -> tuple[str, str]:
    """The colour and marker shape of the ``i``-th group."""
    return GROUP_PALETTE[i % len(GROUP_PALETTE)], SYMBOLS[i % len(SYMBOLS)]


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
    columns = (frame[c].tolist() for c in ("group", first, "rate", "rate_lower", "rate_upper", "cases", "headcount"))
    return [
        [
            group,
            category,
            formats.rate2(rate),
            formats.rate2(lower),
            formats.rate2(upper),
            formats.int0(n),
            formats.int0(py),
        ]
        for group, category, rate, lower, upper, n, py in zip(*columns, strict=True)
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


def log_ratio_axis(values: list[float], ticks: tuple[float, ...], **axis) -> dict:
    """A log x axis (an axis dict) spanning ``values``, 1 and the band (a little beyond, within 0.05 to 50),
    labelled at those of ``ticks`` that fall inside; ``axis`` adds to it."""
    finite = [1.0, *BAND, *values]
    low, high = max(min(finite) / 1.15, 0.05), min(max(finite) * 1.15, 50)
    return {
        "type": "log",
        "range": [math.log10(low), math.log10(high)],
        "tickvals": [v for v in ticks if low <= v <= high],
        **axis,
    }


def ratio_guides(
    *, line_width: float = 1, label: bool = False, x: str = "x", y: str = "y"
) -> tuple[list[dict], list[dict]]:
    """Shapes and annotations: the 0.80–1.25 non-adverse band shaded, and a line at 1 (the reference), on the
    log ratio axis ``x`` (of the panel whose y axis is ``y``); with ``label``, the band named above its left
    edge."""
    shapes = [
        {
            "type": "rect",
            "x0": BAND[0],
            "x1": BAND[1],
            "xref": x,
            "y0": 0,
            "y1": 1,
            "yref": f"{y} domain",
            "fillcolor": BAND_FILL,
            "line": {"width": 0},
            "layer": "below",
        },
        {
            "type": "line",
            "x0": 1,
            "x1": 1,
            "xref": x,
            "y0": 0,
            "y1": 1,
            "yref": f"{y} domain",
            "line": {"color": TEXT_COLOUR, "width": line_width},
        },
    ]
    notes = []
    if label:
        # On a log axis an annotation's x is the log of the value (shapes take the value itself).
        notes.append(
            {
                "x": math.log10(BAND[0]),
                "y": 1,
                "xref": x,
                "yref": f"{y} domain",
                "xanchor": "left",
                "yanchor": "bottom",  # just above the plot area, clear of the markers
                "text": "0.80–1.25 non-adverse band",
                "showarrow": False,
                "font": {"size": 11, "color": SECONDARY_TEXT},
            }
        )
    return shapes, notes


def list_top_down(labels: list[str], **axis) -> dict:
    """A y axis dict: categories in the order given, the first at the top; no grid line through each row."""
    return {"categoryorder": "array", "categoryarray": list(labels)[::-1], **{"showgrid": False, **axis}}


def axis_names(layout: dict, letter: str) -> list[str]:
    """The layout keys of every ``letter`` ("x" or "y") axis of a layout; "xaxis" alone when it has none (what
    Plotly's ``update_xaxes`` updates)."""
    names = [k for k in layout if k.startswith(f"{letter}axis") and k[5:].isdigit() or k == f"{letter}axis"]
    return names or [f"{letter}axis"]


def update_axes(layout: dict, letter: str, update: dict) -> dict:
    """``update`` merged into every ``letter`` axis of ``layout`` (as ``update_xaxes`` / ``update_yaxes``)."""
    for name in axis_names(layout, letter):
        merge(layout, {name: update})
    return layout


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
    row_heights: list[float] | None = None,
    title_size: int = 12,
) -> dict:
    """A layout dict laid out as ``make_subplots`` would lay it out (the same axes, domains and panel titles),
    without its cost: ``make_subplots`` takes about ten times as long. Panel ``k`` (row by row, from 0)
    draws on the axes ``panel_axes(k)``; with ``shared_x`` each column's panels follow its bottom one, with
    ``shared_y`` each row's follow its first, and only those show tick labels. ``row_heights`` (top to
    bottom, relative) as ``make_subplots`` takes them; ``title_size`` the panel titles' font size."""
    widths = [(1.0 - h_spacing * (cols - 1)) / cols] * cols
    share = [1.0] * rows if row_heights is None else [float(h) for h in row_heights]
    heights = [(1.0 - v_spacing * (rows - 1)) * h / sum(share) for h in share][::-1]  # bottom row first
    layout: dict = {}
    tops: list[tuple[float, float]] = []
    for r in range(rows):
        up = rows - 1 - r  # rows are stacked from the bottom of the paper
        y_start = sum(heights[:up]) + up * v_spacing
        y_end = y_start + heights[up]
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
            "font": {"size": title_size},
            "xanchor": "center",
            "yanchor": "bottom",
        }
        for text, (x, y) in zip(titles, tops, strict=False)
        if text
    ]
    return layout


def panel_axes(k: int) -> tuple[str, str]:
    """The x and y axis names of panel ``k`` of a grid (row by row, from 0): "x", "y", then "x2", "y2" …"""
    return ("x", "y") if k == 0 else (f"x{k + 1}", f"y{k + 1}")


def axis_key(axis: str) -> str:
    """The layout key of an axis name: "x2" -> "xaxis2"."""
    return f"{axis[0]}axis{axis[1:]}"


# --- Legends ------------------------------------------------------------------------------------------


def legend() -> dict:
    """A layout update: a horizontal legend under the plot, left-aligned."""
    return {
        "showlegend": True,
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0, "title": {"text": ""}},
    }


_LEGEND_ROW = 25


def legend_below(layout: dict, data: list[dict], pixels: int = 55) -> dict:
    """``layout`` (with its height and margins set) given ``legend``, its top ``pixels`` below the plot area
    (clear of the x-axis title), and grown to fit it; ``data`` are the figure's traces."""
    margin = layout["margin"]
    plot_height = max(layout["height"] - margin["t"] - margin["b"], 100)
    entries = sum(1 for trace in data if trace.get("showlegend") is not False and trace.get("name"))
    # Rows of about three entries, 25 pixels each as Plotly draws them at the template's size (a shorter
    # guess made Plotly grow the margin and draw the chart again: charts.margins).
    bottom = pixels + _LEGEND_ROW * math.ceil(entries / 3) + 12
    return merge(
        layout,
        legend(),
        {
            "legend": {"y": -pixels / plot_height},
            "margin": {"b": bottom},
            "height": plot_height + margin["t"] + bottom,
        },
    )
