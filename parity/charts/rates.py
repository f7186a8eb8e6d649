"""Referral rates per 1,000 by group: overall, by concern type, and over time.

Every clickable trace carries the group label as ``customdata[0]`` (what the UI's click handler reads).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import (
    axis_key,
    error_bars,
    group_label,
    group_labels,
    group_styles,
    interval_arrays,
    legend,
    list_top_down,
    missing,
    open_symbol,
    panel_axes,
    panel_grid,
    rate_hover,
    rate_hovertemplate,
    reference_of,
    row_height,
    style_at,
    update_axes,
    zero_range,
)
from parity.charts.theme import REFERENCE_COLOUR, SECONDARY_TEXT, base_layout, figure, merge
from parity.measures import SMALL_NUMBERS


def rate_chart(summary: pd.DataFrame, title: str, subtitle: str, *, measure: str = "Referrals per 1,000") -> go.Figure:
    """Referral rate per 1,000 by group, with its 95% interval; one marker shape per group.

    ``summary`` has columns group, cases, headcount, rate, rate_lower, rate_upper, is_reference.
    Groups are drawn top to bottom in the table's order; the x axis starts at zero.
    """
    data = []
    styles = group_styles(summary["group"], reference_of(summary))
    for row in summary.itertuples(index=False):
        colour, symbol = styles[row.group]
        label = group_label(row.group, row.is_reference, bool(getattr(row, "small_numbers", False)))
        plus, minus = interval_arrays([row.rate], [row.rate_lower], [row.rate_upper])
        data.append(
            {
                "type": "scatter",
                "x": [row.rate],
                "y": [label],
                "mode": "markers",
                "name": label,
                "marker": {"color": colour, "symbol": symbol, "size": 12, "line": {"width": 2, "color": colour}},
                "error_x": error_bars(plus, minus, colour, thickness=2, width=6),
                "customdata": [
                    [
                        row.group,
                        formats.int0(row.cases),
                        formats.int0(row.headcount),
                        formats.rate2(row.rate_lower),
                        formats.rate2(row.rate_upper),
                    ]
                ],
                "hovertemplate": (
                    f"<b>{label}</b><br>{measure}: %{{x:.2f}} (95% CI %{{customdata[3]}} to %{{customdata[4]}})"
                    "<br>Referrals: %{customdata[1]}<br>Practitioner-years: %{customdata[2]}<extra></extra>"
                ),
            }
        )
    layout = base_layout(title, subtitle, row_height(len(summary)))
    layout["xaxis"] = {
        "title": {"text": measure + " (95% confidence interval)"},
        "rangemode": "tozero",
        "range": zero_range(summary["rate_upper"], 1.08),
        "zeroline": True,
    }
    layout["yaxis"] = list_top_down(group_labels(summary))
    return figure(data, layout)


def concern_rate_chart(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    styles: dict[str, tuple[str, str]] | None = None,
    measure: str = "Referrals per 1,000",
    columns: int = 3,
) -> go.Figure:
    """Rate per 1,000 for each group, one panel per concern type, with 95% intervals.

    ``table`` has columns concern_label, group, cases, headcount, rate, rate_lower, rate_upper,
    is_reference, in the order to draw (concern types, then groups top to bottom). Groups share the
    vertical axis; each panel's rate axis starts at zero; a dotted line marks the reference group's
    rate in each panel. Each group keeps its colour and marker shape throughout.
    """
    concerns = list(dict.fromkeys(table["concern_label"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = reference_of(table)
    styles = styles or group_styles(groups, reference)
    labels = {g: group_label(g, g == reference) for g in groups}
    cols = max(1, min(columns, len(concerns)))
    rows = max(1, math.ceil(len(concerns) / cols))
    panel_height = 40 + 24 * len(groups)
    layout = panel_grid(
        rows,
        cols,
        shared_y=True,
        h_spacing=0.03,
        v_spacing=min(0.3, 80 / (rows * panel_height + 1)),
        titles=concerns,
    )
    traces, lines, axes = [], [], {}
    for k, concern in enumerate(concerns):
        points = table[table["concern_label"] == concern]
        plus, minus = interval_arrays(points["rate"], points["rate_lower"], points["rate_upper"])
        style = [styles.get(g, style_at(len(styles))) for g in points["group"]]
        traces.append(
            {
                "type": "scatter",
                "x": points["rate"],
                "y": [labels[g] for g in points["group"]],
                "mode": "markers",
                "name": concern,
                "marker": {
                    "color": [c for c, _ in style],
                    "symbol": [m for _, m in style],
                    "size": 9,
                    "line": {"width": 2, "color": [c for c, _ in style]},
                },
                "error_x": error_bars(plus, minus, SECONDARY_TEXT, thickness=1.2, width=3),
                "customdata": rate_hover(points, "concern_label"),
                "hovertemplate": rate_hovertemplate(measure),
                "xaxis": panel_axes(k)[0],
                "yaxis": panel_axes(k)[1],
            }
        )
        ref_rate = points.loc[points["is_reference"], "rate"]
        x_name, y_name = panel_axes(k)
        if len(ref_rate) and not missing(ref_rate.iloc[0]):
            value = float(ref_rate.iloc[0])
            lines.append(
                {
                    "type": "line",
                    "x0": value,
                    "x1": value,
                    "xref": x_name,
                    "y0": 0,
                    "y1": 1,
                    "yref": f"{y_name} domain",
                    "line": {"dash": "dot", "color": REFERENCE_COLOUR, "width": 1},
                }
            )
        axes[axis_key(x_name)] = {"range": zero_range(points["rate_upper"], 1.08)}
    for k in range(rows * cols):
        axis = axes.setdefault(axis_key(panel_axes(k)[0]), {})
        axis["zeroline"] = True
        if k // cols + 1 == rows:
            axis["title"] = {"text": measure}
    merge(layout, axes, {"shapes": lines})
    update_axes(layout, "y", list_top_down([labels[g] for g in groups]))
    if reference is not None:
        subtitle += f" · dotted line: {reference} (reference)"
    merge(layout, base_layout(title, subtitle, 60 + rows * panel_height, panel_titles=20), {"margin": {"b": 50}})
    return figure(traces, layout)


def trend_chart(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    styles: dict[str, tuple[str, str]] | None = None,
    measure: str = "Referrals per 1,000",
    x_title: str = "Financial year",
    columns: int = 3,
) -> go.Figure:
    """Rate per 1,000 for each group over time (each year, or rolling windows by their last year).

    ``table`` has columns period, group, cases, headcount, rate, rate_lower, rate_upper, is_reference,
    in time order. Small multiples: one panel per group, its line in its colour and marker shape with
    95% intervals as error bars, beside the reference group's line (dashed, open diamonds) in every
    panel. Rate axes start at zero and share one scale; where a small group's intervals would stretch it, the
    scale stops and arrows mark the intervals that run above it. Points from few referrals are drawn open.
    """
    # A window is marked on the axis by its last year ("2022/23 to 2024/25" -> "2024/25").
    table = table.assign(period_end=table["period"].str.split(" to ").str[-1])
    periods = list(dict.fromkeys(table["period_end"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = reference_of(table)
    styles = styles or group_styles(groups, reference)
    panels = [g for g in groups if g != reference] or groups
    cols = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / cols)
    panel_height = 240 if cols > 1 else 380
    layout = panel_grid(
        rows,
        cols,
        shared_x=True,
        h_spacing=0.05,
        v_spacing=min(0.3, 70 / (rows * panel_height)),
        titles=[group_label(g, g == reference).replace(" · ", "<br>") for g in panels],
    )

    traces = []
    # Each group's rows and trace are made once: the reference's line is drawn in every panel.
    by_group = {g: table[table["group"] == g] for g in groups}
    lines: dict[str, dict] = {}

    def line(group: str) -> dict:
        if group not in lines:
            points = by_group[group]
            colour, symbol = styles.get(group, style_at(len(styles)))
            plus, minus = interval_arrays(points["rate"], points["rate_lower"], points["rate_upper"])
            # Small numbers (fewer than SMALL_NUMBERS referrals) are drawn open: their intervals are wide.
            small = pd.to_numeric(points["cases"], errors="coerce").lt(SMALL_NUMBERS)
            symbols = [open_symbol(symbol) if s else symbol for s in small]
            lines[group] = {
                "type": "scatter",
                "x": points["period_end"],
                "y": points["rate"],
                "mode": "lines+markers",
                "name": group_label(group, group == reference),
                "legendgroup": group,
                "line": {"color": colour, "width": 2, "dash": "dash" if group == reference else "solid"},
                "marker": {"color": colour, "symbol": symbols, "size": 8, "line": {"width": 2, "color": colour}},
                "error_y": error_bars(plus, minus, colour, thickness=1.2, width=3),
                "customdata": rate_hover(points, "period"),
                "hovertemplate": rate_hovertemplate(measure),
                "connectgaps": False,
            }
        return lines[group]

    def add(group: str, k: int, in_legend: bool) -> None:
        x_name, y_name = panel_axes(k)
        traces.append({**line(group), "showlegend": in_legend, "xaxis": x_name, "yaxis": y_name})

    tops = []
    for k, group in enumerate(panels):
        if reference is not None and group != reference:
            add(reference, k, in_legend=k == 0)
        add(group, k, in_legend=True)
        members = [group] if reference is None or reference == group else [group, reference]
        tops.append(zero_range([v for m in members for v in by_group[m]["rate_upper"]], 1.0)[1])
    # One scale for all panels, so they read against each other. A small group's wide intervals would flatten
    # every other panel: the scale then stops at twice the highest rate (or the median panel's top), and an
    # interval running beyond it is marked with an arrow at the top (its bounds in the hover and the table).
    rates = pd.to_numeric(table["rate"], errors="coerce")
    median_top = sorted(tops)[(len(tops) - 1) // 2]  # the (lower) median panel
    cap = max(tops)
    if cap > 2 * median_top:
        cap = max(median_top, 2 * float(rates.max()) if rates.notna().any() else median_top)
    off_scale = 0
    arrows: dict[str, dict | None] = {}
    for k, group in enumerate(panels):
        for member in dict.fromkeys([reference, group] if reference is not None else [group]):
            if member not in arrows:
                rows_of = by_group.get(member, table.iloc[:0])
                points = rows_of[pd.to_numeric(rows_of["rate_upper"], errors="coerce").gt(cap)]
                arrows[member] = (
                    None
                    if points.empty
                    else {
                        "type": "scatter",
                        "x": points["period_end"],
                        "y": [cap * 1.03] * len(points),
                        "mode": "markers",
                        "marker": {"symbol": "arrow-up", "size": 10, "color": styles.get(member, style_at(0))[0]},
                        "showlegend": False,
                        "customdata": rate_hover(points, "period"),
                        "hovertemplate": rate_hovertemplate(measure),
                    }
                )
            if arrows[member] is None:
                continue
            off_scale += len(arrows[member]["y"])
            x_name, y_name = panel_axes(k)
            traces.append({**arrows[member], "xaxis": x_name, "yaxis": y_name})
    axes = {}
    for k in range(rows * cols):
        x_name, y_name = panel_axes(k)
        y_axis = {"zeroline": True}
        if k < len(tops):
            y_axis["range"] = [0, cap * 1.05]
        if k % cols == 0:
            y_axis["title"] = {"text": f"{measure} (95% CI)" if rows == 1 else "Per 1,000"}
        x_axis = {
            "categoryorder": "array",
            "categoryarray": periods,
            "tickangle": -45 if cols > 1 else 0,
            "showgrid": False,
        }
        if k // cols + 1 == rows:
            x_axis["title"] = {"text": x_title}
        axes[axis_key(x_name)], axes[axis_key(y_name)] = x_axis, y_axis
    merge(layout, axes)
    if reference is not None and len(panels) > 1:
        subtitle += f" · dashed, open diamonds: {reference} (reference)"
    subtitle += f" · open markers: fewer than {SMALL_NUMBERS} referrals"
    if off_scale:
        subtitle += " · ↑: the interval runs above the scale"
    merge(layout, base_layout(title, subtitle, 90 + rows * panel_height, panel_titles=20), {"margin": {"b": 60}})
    if len(panels) == 1:
        merge(layout, legend())
    return figure(traces, layout)
