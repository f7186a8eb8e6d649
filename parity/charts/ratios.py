"""Ratios against the reference group: forest plots, the ethnicity × qualification heatmap, and one group
against the reference within each level of a breakdown.

Ratio axes are logarithmic, with the 0.80–1.25 non-adverse band shaded and a line at 1 (the reference).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from parity import contract, formats
from parity.charts.axes import (
    drawable_ratios,
    error_bars,
    group_label,
    group_labels,
    group_styles,
    interval_arrays,
    legend,
    legend_below,
    list_top_down,
    log_ratio_axis,
    missing,
    open_symbol,
    panel_grid,
    rate_hover,
    rate_hovertemplate,
    ratio_guides,
    reference_of,
    row_height,
    style_at,
    update_axes,
    zero_range,
)
from parity.charts.theme import SECONDARY_TEXT, TEXT_COLOUR, base_layout, figure, merge

# Diverging scale for ratios on a log scale: blue below 1, white at 1, plum above (Analysis Function colours).
RATIO_SCALE: tuple[tuple[float, str], ...] = ((0.0, "#12436D"), (0.5, "#FFFFFF"), (1.0, "#801650"))
RATIO_TICKS: tuple[float, ...] = (0.25, 0.33, 0.5, 0.8, 1, 1.25, 2, 3, 4, 8)
SHORT_PMQ: dict[str, str] = {
    "UK graduate": "UK graduate",
    "EEA graduate": "EEA graduate",
    "International medical graduate (IMG)": "IMG",
    "Place of qualification not known": "Not known",
}
# Labelled values on each chart's log axis (those inside its range are shown).
FOREST_TICKS: tuple[float, ...] = (0.25, 0.5, 0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8, 10, 20)
BREAKDOWN_TICKS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 8, 20)
DIVERGENCE_TICKS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 3, 4, 6, 8, 20)


def forest_plot(
    summary: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    value: str = "rl",
    measure: str = "Relative likelihood",
) -> go.Figure:
    """Ratios against the reference group on a log axis, with intervals and the 0.80–1.25 band.

    ``summary`` has columns group, ``value``, ``value``_lower, ``value``_upper, is_reference. The
    reference group sits at 1 with no interval; a vertical line marks 1.
    """
    lower_col, upper_col = f"{value}_lower", f"{value}_upper"
    data = []
    shapes, notes = ratio_guides(label=True)
    styles = group_styles(summary["group"], reference_of(summary))
    shown: list[float] = []
    for row in summary.itertuples(index=False):
        ratio, lo, hi = getattr(row, value), getattr(row, lower_col), getattr(row, upper_col)
        label = group_label(row.group, row.is_reference, bool(getattr(row, "small_numbers", False)))
        colour, symbol = styles[row.group]
        drawable = not missing(ratio) and ratio > 0
        has_interval = drawable and not missing(lo) and not missing(hi) and lo > 0
        if has_interval:
            shown += [lo, hi]
        elif drawable:
            shown.append(ratio)
        data.append(
            {
                "type": "scatter",
                "x": [ratio if drawable else None],
                "y": [label],
                "mode": "markers",
                "name": label,
                "marker": {"color": colour, "symbol": symbol, "size": 12, "line": {"width": 2, "color": colour}},
                "error_x": error_bars(
                    [hi - ratio] if has_interval else [0],
                    [ratio - lo] if has_interval else [0],
                    colour,
                    thickness=2,
                    width=6,
                    visible=has_interval,
                ),
                "customdata": [[row.group, formats.ratio2(lo), formats.ratio2(hi)]],
                "hovertemplate": (
                    f"<b>{label}</b><br>{measure}: %{{x:.2f}} (95% CI %{{customdata[1]}} to %{{customdata[2]}})"
                    "<extra></extra>"
                ),
            }
        )
    layout = base_layout(title, subtitle, row_height(len(summary)))
    layout["shapes"], layout["annotations"] = shapes, notes
    layout["xaxis"] = log_ratio_axis(
        shown,
        FOREST_TICKS,
        title={"text": f"{measure} against the reference group (log scale, 95% confidence interval)"},
    )
    layout["yaxis"] = list_top_down(group_labels(summary))
    return figure(data, layout)


_DIVERGENCE_HOVER = ("group", "label", "rr", "rr_lower", "rr_upper", "proportion", "events", "denominator", "flagged")


def divergence_forest(
    measures: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
) -> go.Figure:
    """Where the path diverges: each group's risk ratio against the reference, stage by stage.

    ``measures`` has columns group, label, rr, rr_lower, rr_upper, flagged, events, denominator,
    proportion, is_reference, in the order to draw (measures top to bottom). One marker shape and colour
    per group, dodged within each measure; filled where the difference is flagged after
    Benjamini–Hochberg, open otherwise. Log axis, the 0.80–1.25 band shaded, a line at 1 (the reference).
    """
    data = []
    labels = list(dict.fromkeys(measures["label"]))
    groups = list(dict.fromkeys(measures["group"]))
    styles = styles or group_styles(groups, reference)
    shapes, _ = ratio_guides(line_width=1.5)
    shown: list[float] = []
    # Grouped markers stack bottom-up: add the groups in reverse so that the first is on top, as in the legend.
    for group in [g for g in groups if g != reference][::-1]:
        rows = measures[measures["group"] == group]
        colour, symbol = styles[group]
        ratio = rows["rr"].where(rows["rr"] > 0)
        plus, minus = interval_arrays(ratio, rows["rr_lower"].where(rows["rr_lower"] > 0), rows["rr_upper"])
        shown += drawable_ratios(ratio, rows["rr_lower"], rows["rr_upper"])
        flagged = rows["flagged"].eq(True).to_list()
        data.append(
            {
                "type": "scatter",
                "x": ratio,
                "y": rows["label"],
                "mode": "markers",
                "orientation": "h",
                "name": group,
                "marker": {
                    "color": colour,
                    "symbol": [symbol if f else open_symbol(symbol) for f in flagged],
                    "size": 10,
                    "line": {"width": 2, "color": colour},
                },
                "error_x": error_bars(plus, minus, colour, thickness=1.5, width=3),
                "customdata": [
                    [
                        group,
                        label,
                        formats.ratio2(rr),
                        formats.interval(rr_lower, rr_upper),
                        formats.pct1(proportion),
                        formats.int0(events),
                        formats.int0(denominator),
                        "flagged (Benjamini–Hochberg)" if flag is True else "not flagged",
                    ]
                    for group, label, rr, rr_lower, rr_upper, proportion, events, denominator, flag in zip(
                        *(rows[c].tolist() for c in _DIVERGENCE_HOVER), strict=True
                    )
                ],
                "hovertemplate": (
                    "<b>%{customdata[0]}</b> · %{customdata[1]}<br>Risk ratio: %{customdata[2]} "
                    "(95% CI %{customdata[3]}), %{customdata[7]}<br>%{customdata[4]} "
                    "(%{customdata[5]} of %{customdata[6]})<extra></extra>"
                ),
            }
        )
    n_groups = max(len(groups) - 1, 1)
    layout = base_layout(title, subtitle, max(360, 170 + len(labels) * (10 * n_groups + 22)))
    merge(
        layout,
        {
            "shapes": shapes,
            "xaxis": log_ratio_axis(
                shown,
                DIVERGENCE_TICKS,
                title={"text": f"Risk ratio against {reference} (log scale, 95% CI; filled: flagged)"},
            ),
            "yaxis": list_top_down(labels, showgrid=True, gridcolor="#f3f2f1"),
            "scattermode": "group",
            "scattergap": 0.3,
            "legend": {"traceorder": "reversed"},
        },
    )
    return figure(data, legend_below(layout, data))


def _ratio_text(row: pd.Series) -> str:
    """A heatmap cell's text: the ratio in bold over its interval; "*" where hidden, "n/a" where not estimable."""
    if row["is_reference"]:
        return "1<br>reference"
    if missing(row["rl"]):
        return "*" if row.get("suppressed", False) else "n/a"
    if row["rl"] == 0:  # no referrals: a ratio of 0 with no interval, not a finding
        return "no<br>referrals"
    interval = (
        ""
        if missing(row["rl_lower"]) or missing(row["rl_upper"])
        else (f"<br><span style='font-size:11px'>{row['rl_lower']:.2f}–{row['rl_upper']:.2f}</span>")
    )
    return f"<b>{row['rl']:.2f}</b>{interval}"


def intersection_heatmap(table: pd.DataFrame, title: str, subtitle: str) -> go.Figure:
    """Relative likelihood for each ethnic group (rows) × place of qualification (columns), against one cell.

    ``table`` has columns ethnic_group, pmq, group, cases, headcount, rate, rate_lower, rate_upper, rl,
    rl_lower, rl_upper, is_reference, suppressed, and optionally judgement. Colour is a diverging
    scale centred on 1 on a log scale; each cell's text gives the ratio and its 95% interval ("*"
    where hidden, "n/a" where not estimable), so colour is never the only carrier.
    """
    rows = [g for g in contract.ETHNIC_GROUPS if g in set(table["ethnic_group"])]
    cols = [p for p in contract.PMQ_REGIONS.values() if p in set(table["pmq"])]
    cells = {(r.ethnic_group, r.pmq): r for r in table.itertuples(index=False)}
    z, text, custom = [], [], []
    extreme = 2.0
    for eg in rows:
        z_row, text_row, custom_row = [], [], []
        for pmq in cols:
            cell = cells.get((eg, pmq))
            if cell is None:
                z_row.append(None)
                text_row.append("")
                custom_row.append([f"{eg} · {pmq}", "no practitioners", "", "", "", "", ""])
                continue
            rl = cell.rl
            finite = not missing(rl) and rl > 0
            if finite:
                extreme = max(extreme, rl, 1 / rl)
            z_row.append(math.log10(rl) if finite else None)
            text_row.append(_ratio_text(pd.Series(cell._asdict())))
            custom_row.append(
                [
                    cell.group,
                    formats.int0(cell.cases),
                    formats.int0(cell.headcount),
                    formats.rate2(cell.rate),
                    formats.interval(cell.rate_lower, cell.rate_upper, formats.rate2),
                    "1 (reference)" if cell.is_reference else formats.ratio2(rl),
                    ""
                    if cell.is_reference or missing(cell.rl_lower) or missing(cell.rl_upper)
                    else f" (95% CI {formats.interval(cell.rl_lower, cell.rl_upper)})",
                ]
            )
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    limit = math.log10(min(extreme, 8.0))
    ticks = [t for t in RATIO_TICKS if abs(math.log10(t)) <= limit + 1e-9]
    heatmap = {
        "type": "heatmap",
        "z": z,
        "x": [SHORT_PMQ.get(c, c) for c in cols],
        "y": rows,
        "text": text,
        "texttemplate": "%{text}",
        "textfont": {"size": 13},
        "customdata": custom,
        "colorscale": [list(stop) for stop in RATIO_SCALE],
        "zmid": 0,
        "zmin": -limit,
        "zmax": limit,
        "xgap": 2,
        "ygap": 2,
        "colorbar": {
            "title": {"text": "Relative<br>likelihood", "side": "top"},
            "tickvals": [math.log10(t) for t in ticks],
            "ticktext": [f"{t:g}" for t in ticks],
            "thickness": 14,
        },
        "hovertemplate": (
            "<b>%{customdata[0]}</b><br>Relative likelihood: %{customdata[5]}%{customdata[6]}"
            "<br>Rate per 1,000: %{customdata[3]} (95% CI %{customdata[4]})<br>Referrals: %{customdata[1]}"
            "<br>Practitioner-years: %{customdata[2]}<extra></extra>"
        ),
    }
    # The reference cell is outlined.
    shapes = [
        {
            "type": "rect",
            "x0": j - 0.5,
            "x1": j + 0.5,
            "y0": i - 0.5,
            "y1": i + 0.5,
            "line": {"color": TEXT_COLOUR, "width": 3},
            "xref": "x",
            "yref": "y",
        }
        for i, eg in enumerate(rows)
        for j, pmq in enumerate(cols)
        if (cell := cells.get((eg, pmq))) is not None and cell.is_reference
    ]
    layout = base_layout(title, subtitle, 140 + 58 * max(len(rows), 1), panel_titles=30)  # the columns' labels
    merge(
        layout,
        {
            "xaxis": {"side": "top", "showgrid": False},
            "yaxis": {"autorange": "reversed", "showgrid": False},
            "margin": {"b": 20},
        },
    )
    if shapes:
        layout["shapes"] = shapes
    return figure([heatmap], layout)


def breakdown_chart(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    styles: dict[str, tuple[str, str]] | None = None,
    measure: str = "Referrals per 1,000",
) -> go.Figure:
    """One group against the reference within each level of a breakdown (organisation type, region, ...).

    Left: both groups' rates per 1,000 with 95% intervals. Right: the group's relative likelihood
    against the reference in the same level, on a log axis with the 0.80–1.25 band. ``table`` has
    columns level_label, group, cases, headcount, rate, rate_lower, rate_upper, rl, rl_lower,
    rl_upper, is_reference.
    """
    levels = list(dict.fromkeys(table["level_label"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = reference_of(table)
    styles = styles or group_styles(groups, reference)
    layout = panel_grid(
        1,
        2,
        shared_y=True,
        h_spacing=0.03,
        # Two lines each: on one line the two titles ran into each other in a narrow main area.
        titles=(
            f"{measure}<br>(95% CI)",
            "Relative likelihood against the<br>reference (log scale, 95% CI)",
        ),
    )
    for note in layout["annotations"]:
        note["font"] = {"size": 12, "color": SECONDARY_TEXT}
    data = []
    for group in [g for g in groups if g != reference] + ([reference] if reference in groups else []):
        rows = table[table["group"] == group]
        colour, symbol = styles.get(group, style_at(len(styles)))
        plus, minus = interval_arrays(rows["rate"], rows["rate_lower"], rows["rate_upper"])
        data.append(
            {
                "type": "scatter",
                "x": rows["rate"],
                "y": rows["level_label"],
                "mode": "markers",
                "orientation": "h",
                "name": group_label(group, group == reference),
                "marker": {"color": colour, "symbol": symbol, "size": 10, "line": {"width": 2, "color": colour}},
                "error_x": error_bars(plus, minus, colour, thickness=1.5, width=4),
                "customdata": rate_hover(rows, "level_label"),
                "hovertemplate": rate_hovertemplate(measure),
                "xaxis": "x",
                "yaxis": "y",
            }
        )
    compared = table[~table["is_reference"]]
    shown: list[float] = []
    if not compared.empty:
        group = compared["group"].iloc[0]
        colour, symbol = styles.get(group, style_at(1))
        drawable = compared["rl"].where(compared["rl"] > 0)
        plus, minus = interval_arrays(
            drawable, compared["rl_lower"].where(compared["rl_lower"] > 0), compared["rl_upper"]
        )
        shown = drawable_ratios(drawable, compared["rl_lower"], compared["rl_upper"])
        data.append(
            {
                "type": "scatter",
                "x": drawable,
                "y": compared["level_label"],
                "mode": "markers",
                "name": f"{group}: relative likelihood",
                "showlegend": False,
                "marker": {"color": colour, "symbol": symbol, "size": 10, "line": {"width": 2, "color": colour}},
                "error_x": error_bars(plus, minus, colour, thickness=1.5, width=4),
                "customdata": [
                    [
                        r.group,
                        r.level_label,
                        formats.ratio2(r.rl),
                        formats.ratio2(r.rl_lower),
                        formats.ratio2(r.rl_upper),
                    ]
                    for r in compared.itertuples(index=False)
                ],
                "hovertemplate": "<b>%{customdata[0]}</b> · %{customdata[1]}<br>Relative likelihood: %{customdata[2]} "
                "(95% CI %{customdata[3]} to %{customdata[4]})<extra></extra>",
                "xaxis": "x2",
                "yaxis": "y2",
            }
        )
    # The band and the line at 1 only on a panel with points (as Plotly's add_vrect leaves an empty panel bare).
    shapes = ratio_guides(x="x2", y="y2")[0] if not compared.empty else []
    if shapes:
        layout["shapes"] = shapes
    merge(
        layout,
        {
            "xaxis": {"range": zero_range(table["rate_upper"], 1.05), "zeroline": True},
            "xaxis2": log_ratio_axis(shown, BREAKDOWN_TICKS),
        },
    )
    update_axes(layout, "y", list_top_down(levels))
    merge(
        layout,
        {"scattermode": "group", "scattergap": 0.4},
        base_layout(title, subtitle, max(300, 150 + 40 * len(levels)), panel_titles=45),
        legend(),
    )
    return figure(data, layout)
