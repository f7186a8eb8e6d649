"""Shares and medians by group: how closed cases ended, small multiples of values with intervals, and a
drilled group beside the reference within each level of each breakdown.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import (
    axis_key,
    error_bars,
    group_label,
    group_styles,
    interval_arrays,
    legend_below,
    list_top_down,
    missing,
    open_symbol,
    panel_axes,
    panel_grid,
    update_axes,
    value_edge,
)
from parity.charts.theme import REFERENCE_COLOUR, SECONDARY_TEXT, base_layout, figure, merge, wrap

# Pixels between the chart's title block and the plot area, for the panel titles.
PANEL_TITLES = 26
# Closed-case outcomes: a colour and a fill pattern each, so that no two segments differ by colour alone.
OUTCOME_STYLES: dict[str, tuple[str, str]] = {
    "no_case_to_answer": ("#12436D", ""),
    "resolved_informally": ("#28A197", ""),
    "remediation_completed": ("#A285D1", ""),
    "returned_with_restrictions": ("#F46A25", "/"),
    "formal_sanction": ("#801650", ""),
    "dismissed_or_removed": ("#3D3D3D", "x"),
    "left_post": ("#12436D", "."),
    "other": ("#28A197", "\\"),
}


def outcome_mix_chart(mix: pd.DataFrame, title: str, subtitle: str, *, reference: str) -> go.Figure:
    """How closed cases ended, by group: 100% stacked bars, one colour and pattern per outcome.

    ``mix`` has columns group, measure (an outcome code), label, proportion, lower, upper (Wilson: in the
    hover, since a stacked bar cannot carry error bars), events, denominator, is_reference, with groups
    and outcomes in the order to draw. A hidden share (NaN) is left out of its bar, which then does not
    reach 100%. Labels inside solid segments of 6% or more (text over a pattern cannot be read; the
    hover and the table give every share).
    """
    data = []
    groups = list(dict.fromkeys(mix["group"]))
    by_measure = dict(tuple(mix.groupby("measure", sort=False)))
    for measure, (colour, pattern) in OUTCOME_STYLES.items():
        rows = by_measure.get(measure)
        if rows is None or rows.empty:
            continue
        label = rows["label"].iloc[0]
        data.append(
            {
                "type": "bar",
                "x": rows["proportion"],
                "y": [group_label(g, g == reference) for g in rows["group"]],
                "orientation": "h",
                "name": label,
                "marker": {
                    "color": colour,
                    "line": {"color": "white", "width": 1},
                    "pattern": {
                        "shape": pattern,
                        "fgcolor": "white",
                        "size": 7,
                        "solidity": 0.35,
                        "fillmode": "overlay",
                    },
                },
                "text": [
                    formats.pct1(v) if not (missing(v) or pattern) and v >= 0.06 else "" for v in rows["proportion"]
                ],
                "textposition": "inside",
                "insidetextanchor": "middle",
                "textfont": {"color": "white", "size": 11},
                "customdata": [
                    [
                        group,
                        label,
                        formats.pct1(proportion),
                        formats.int0(events),
                        formats.int0(denominator),
                        formats.interval(lower, upper, formats.pct1),
                    ]
                    for group, proportion, events, denominator, lower, upper in zip(
                        *(rows[c].tolist() for c in ("group", "proportion", "events", "denominator", "lower", "upper")),
                        strict=True,
                    )
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}: %{customdata[2]} (95% CI %{customdata[5]})"
                    "<br>%{customdata[3]} of %{customdata[4]} closed cases<extra></extra>"
                ),
            }
        )
    layout = base_layout(title, subtitle, max(320, 190 + 38 * len(groups)))
    merge(
        layout,
        {
            "barmode": "stack",
            "bargap": 0.3,
            "xaxis": {"range": [0, 1], "tickformat": ".0%", "title": {"text": "Share of closed cases"}},
            "yaxis": list_top_down([group_label(g, g == reference) for g in groups]),
            "legend": {"traceorder": "normal"},
        },
    )
    return figure(data, legend_below(layout, data))


def panels_have_values(table: pd.DataFrame) -> bool:
    """Whether ``interval_panels`` would draw anything from ``table``: some value or interval end that is not
    missing (hidden, or not estimable). "Not reached" (infinite) is drawn, as an arrow or a word."""
    return bool(table[["value", "lower", "upper"]].notna().to_numpy().any())


def interval_panels(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
    axis_title: str,
    percent: bool = True,
    columns: int = 3,
) -> go.Figure:
    """Small multiples: one panel per ``panel`` value, a marker per group with its 95% interval.

    ``table`` has columns panel, group, value, lower, upper, is_reference, flagged (True, False or None)
    and detail (hover text), panels and groups in the order to draw. The reference group is a grey
    open diamond with a dashed line at its value; other groups keep one colour and shape throughout,
    filled where flagged. An infinite upper bound ("not reached") runs to the panel's edge with an
    arrow; an infinite value is written "not reached" at the edge.
    """
    panels = list(dict.fromkeys(table["panel"]))
    groups = list(dict.fromkeys(table["group"]))
    styles = styles or group_styles(groups, reference)
    columns = max(1, min(columns, len(panels)))
    n_rows = max(1, math.ceil(len(panels) / columns))
    panel_height = 30 * len(groups) + 110  # pixels: the markers, a panel title and the x ticks
    layout = panel_grid(
        n_rows,
        columns,
        shared_y=True,
        h_spacing=0.04,
        v_spacing=min(0.3, 80 / (n_rows * panel_height)) if n_rows > 1 else 0.0,
        titles=[wrap(p, max(24, 90 // columns)) for p in panels],
    )
    edge = value_edge(table, percent)
    traces, notes, lines = [], [], []
    # Each (panel, group)'s first row, as a plain dict (a row lookup in a DataFrame costs more than a trace).
    wanted = ["panel", "group", "value", "lower", "upper", "is_reference", "flagged", "detail"]
    first = {(r["panel"], r["group"]): r for r in table.drop_duplicates(["panel", "group"])[wanted].to_dict("records")}
    for k, panel in enumerate(panels):
        x_name, y_name = panel_axes(k)
        for group in groups:
            r = first.get((panel, group))
            if r is None:
                continue
            colour, symbol = styles[group]
            label = group_label(group, bool(r["is_reference"]))
            value, lower, upper = float(r["value"]), float(r["lower"]), float(r["upper"])
            reached = not math.isinf(value)
            top = edge if math.isinf(upper) else upper
            has_interval = reached and not (missing(value) or missing(lower) or missing(top))
            filled = r["is_reference"] or r["flagged"] is True
            if not reached:
                marker_symbol = "triangle-right-open"
            elif r["is_reference"]:
                marker_symbol = "diamond-open"
            else:
                marker_symbol = symbol if filled else open_symbol(symbol)
            traces.append(
                {
                    "type": "scatter",
                    "x": [value if reached else edge],
                    "y": [label],
                    "mode": "markers" if reached else "markers+text",
                    "text": None if reached else ["not reached"],
                    "textposition": "middle left",
                    "name": label,
                    "legendgroup": group,
                    "showlegend": False,
                    "marker": {
                        "color": colour,
                        "symbol": marker_symbol,
                        "size": 11,
                        "line": {"width": 2, "color": colour},
                    },
                    "error_x": error_bars(
                        [top - value if has_interval else 0],
                        [value - lower if has_interval else 0],
                        colour,
                        thickness=1.8,
                        width=4,
                        visible=has_interval,
                    ),
                    "customdata": [[group, panel, str(r["detail"])]],
                    "hovertemplate": "<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
                    "xaxis": x_name,
                    "yaxis": y_name,
                }
            )
            if has_interval and math.isinf(upper):
                notes.append(
                    {
                        "x": edge,
                        "y": label,
                        "xref": x_name,
                        "yref": y_name,
                        "text": "▶ not reached",
                        "showarrow": False,
                        "xanchor": "right",
                        "yshift": 10,
                        "font": {"size": 10, "color": SECONDARY_TEXT},
                    }
                )
            if r["is_reference"] and reached and not missing(value):
                lines.append(
                    {
                        "type": "line",
                        "x0": value,
                        "x1": value,
                        "xref": x_name,
                        "y0": 0,
                        "y1": 1,
                        "yref": f"{y_name} domain",
                        "line": {"dash": "dash", "color": REFERENCE_COLOUR, "width": 1},
                    }
                )
    axes = {}
    for k in range(n_rows * columns):
        name = axis_key(panel_axes(k)[0])
        axes[name] = {"range": [0, edge], "zeroline": True, "tickformat": ".0%" if percent else None}
        if k // columns + 1 == n_rows:
            axes[name]["title"] = {"text": axis_title}
    merge(layout, axes, {"annotations": [*layout["annotations"], *notes], **({"shapes": lines} if lines else {})})
    update_axes(layout, "y", list_top_down([group_label(g, g == reference) for g in groups]))
    merge(
        layout,
        base_layout(title, subtitle, 90 + n_rows * panel_height, panel_titles=PANEL_TITLES),
        {"margin": {"b": 50}},
    )
    return figure(traces, layout)


def breakdown_dots(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
    axis_title: str,
    percent: bool = True,
) -> go.Figure:
    """A drilled group beside the reference within each level of each breakdown (organisation type, ...).

    ``table`` has columns dimension_label, level_label, group, value, lower, upper, is_reference,
    detail (hover text). One panel per dimension, stacked; the two groups dodged within each level,
    each with its 95% interval; an infinite value or bound as in ``interval_panels``.
    """
    dimensions = list(dict.fromkeys(table["dimension_label"]))
    groups = list(dict.fromkeys(table["group"]))
    styles = styles or group_styles(groups, reference)
    sizes = [table.loc[table["dimension_label"] == d, "level_label"].nunique() for d in dimensions]
    n_rows = max(len(dimensions), 1)
    # make_subplots's layout (its panel titles at 16 px), without its cost.
    layout = panel_grid(
        n_rows,
        1,
        shared_x=True,
        v_spacing=0.06,
        row_heights=[max(s, 1) for s in sizes] or None,
        titles=dimensions,
        title_size=16,
    )
    data = []
    edge = value_edge(table, percent)
    for k, dimension in enumerate(dimensions, start=1):
        block = table[table["dimension_label"] == dimension]
        for group in [g for g in groups if g != reference] + [g for g in groups if g == reference]:
            rows = block[block["group"] == group]
            colour, symbol = styles[group]
            values = rows["value"].astype(float)
            shown = values.mask(np.isinf(values), edge)  # NaN (hidden or not estimable) is not drawn
            tops = rows["upper"].astype(float).mask(lambda s: np.isinf(s), edge)
            plus, minus = interval_arrays(values.where(np.isfinite(values)), rows["lower"].astype(float), tops)
            x_name, y_name = panel_axes(k - 1)
            data.append(
                {
                    "type": "scatter",
                    "x": shown,
                    "y": rows["level_label"],
                    "mode": "markers",
                    "orientation": "h",
                    "name": group_label(group, group == reference),
                    "legendgroup": group,
                    "showlegend": k == 1,
                    "marker": {
                        "color": colour,
                        "symbol": [symbol if np.isfinite(v) else "triangle-right-open" for v in values],
                        "size": 10,
                        "line": {"width": 2, "color": colour},
                    },
                    "error_x": error_bars(plus, minus, colour, thickness=1.5, width=3),
                    "customdata": [[r.group, r.level_label, str(r.detail)] for r in rows.itertuples(index=False)],
                    "hovertemplate": "<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
                    "xaxis": x_name,
                    "yaxis": y_name,
                }
            )
        merge(layout, {axis_key(panel_axes(k - 1)[1]): list_top_down(list(dict.fromkeys(block["level_label"])))})
    update_axes(layout, "x", {"range": [0, edge], "zeroline": True, "tickformat": ".0%" if percent else None})
    merge(layout, {axis_key(panel_axes(n_rows - 1)[0]): {"title": {"text": axis_title}}})
    merge(
        layout,
        {"scattermode": "group", "scattergap": 0.4},
        base_layout(title, subtitle, max(360, 170 + 30 * sum(sizes) + 40 * len(dimensions)), panel_titles=PANEL_TITLES),
    )
    return figure(data, legend_below(layout, data))
