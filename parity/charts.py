"""Plotly figures from DataFrames: pure functions, testable without a browser.

Every chart has an active title (the finding), a subtitle (measure, population, period), intervals
drawn as error bars, the reference group marked, marker shapes as well as colours (Analysis
Function palette), a zero baseline for rates and the 0.80–1.25 band shaded on ratio charts.
Input tables have already passed disclosure control: a suppressed value is NaN and is not drawn.
Every clickable trace carries the group label as ``customdata[0]`` (what ``ui.apply_click`` reads).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# Analysis Function accessible categorical palette, in order.
PALETTE: tuple[str, ...] = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
SYMBOLS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon")
REFERENCE_COLOUR = "#3D3D3D"
BAND = (0.8, 1.25)
BAND_FILL = "rgba(40, 161, 151, 0.15)"
FONT = "Arial, Helvetica, sans-serif"


def title_with_subtitle(title: str, subtitle: str) -> dict:
    return {
        "text": f"<b>{title}</b><br><span style='font-size:13px;color:#505a5f'>{subtitle}</span>",
        "x": 0,
        "xanchor": "left",
    }


def _base_layout(fig: go.Figure, title: str, subtitle: str, height: int) -> go.Figure:
    fig.update_layout(
        title=title_with_subtitle(title, subtitle),
        font={"family": FONT, "size": 13, "color": "#0b0c0c"},
        plot_bgcolor="white",
        paper_bgcolor="white",
        height=height,
        margin={"l": 10, "r": 20, "t": 80, "b": 40},
        showlegend=False,
        hoverlabel={"font_family": FONT},
    )
    return fig


def _row_height(n: int) -> int:
    return max(260, 120 + 34 * n)


def _style(i: int) -> tuple[str, str]:
    return PALETTE[i % len(PALETTE)], SYMBOLS[i % len(SYMBOLS)]


def _fmt(value: float, digits: int) -> str:
    return "*" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def group_label(group: str, is_reference: bool) -> str:
    return f"{group} (reference)" if is_reference else group


def rate_chart(summary: pd.DataFrame, title: str, subtitle: str, *, measure: str = "Referrals per 1,000") -> go.Figure:
    """Referral rate per 1,000 by group, with its 95% interval; one marker shape per group.

    ``summary`` has columns group, cases, headcount, rate, rate_lower, rate_upper, is_reference.
    Groups are drawn top to bottom in the table's order; the x axis starts at zero.
    """
    fig = go.Figure()
    groups = list(summary["group"])
    for i, row in enumerate(summary.itertuples(index=False)):
        colour, symbol = (REFERENCE_COLOUR, "line-ns-open") if row.is_reference else _style(i)
        label = group_label(row.group, row.is_reference)
        fig.add_trace(
            go.Scatter(
                x=[row.rate],
                y=[label],
                mode="markers",
                name=label,
                marker={
                    "color": colour,
                    "symbol": symbol if not row.is_reference else "diamond-open",
                    "size": 12,
                    "line": {"width": 2, "color": colour},
                },
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [row.rate_upper - row.rate] if not _nan(row.rate) else [0],
                    "arrayminus": [row.rate - row.rate_lower] if not _nan(row.rate) else [0],
                    "color": colour,
                    "thickness": 2,
                    "width": 6,
                },
                customdata=[
                    [
                        row.group,
                        _fmt(row.cases, 0),
                        _fmt(row.headcount, 0),
                        _fmt(row.rate_lower, 2),
                        _fmt(row.rate_upper, 2),
                    ]
                ],
                hovertemplate=(
                    f"<b>{label}</b><br>{measure}: %{{x:.2f}} (95% CI %{{customdata[3]}} to %{{customdata[4]}})"
                    "<br>Referrals: %{customdata[1]}<br>Practitioner-years: %{customdata[2]}<extra></extra>"
                ),
            )
        )
    upper = np.nanmax(summary["rate_upper"].to_numpy(dtype=float)) if len(summary) else 1.0
    fig.update_xaxes(
        title_text=measure + " (95% confidence interval)",
        rangemode="tozero",
        range=[0, (upper if np.isfinite(upper) and upper > 0 else 1.0) * 1.08],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
    )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[group_label(g, r) for g, r in zip(groups, summary["is_reference"], strict=True)][::-1],
    )
    return _base_layout(fig, title, subtitle, _row_height(len(summary)))


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
    fig = go.Figure()
    fig.add_vrect(
        x0=BAND[0],
        x1=BAND[1],
        fillcolor=BAND_FILL,
        line_width=0,
        layer="below",
        annotation_text="0.80–1.25 non-adverse band",
        annotation_position="top left",
        annotation_font_size=11,
        annotation_font_color="#505a5f",
    )
    fig.add_vline(x=1, line_color="#0b0c0c", line_width=1)
    groups = list(summary["group"])
    finite = [1.0, *BAND]
    for i, row in enumerate(summary.itertuples(index=False)):
        ratio, lo, hi = getattr(row, value), getattr(row, lower_col), getattr(row, upper_col)
        label = group_label(row.group, row.is_reference)
        colour, symbol = (REFERENCE_COLOUR, "diamond-open") if row.is_reference else _style(i)
        drawable = not _nan(ratio) and ratio > 0
        has_interval = drawable and not _nan(lo) and not _nan(hi) and lo > 0
        if has_interval:
            finite += [lo, hi]
        elif drawable:
            finite.append(ratio)
        fig.add_trace(
            go.Scatter(
                x=[ratio if drawable else None],
                y=[label],
                mode="markers",
                name=label,
                marker={"color": colour, "symbol": symbol, "size": 12, "line": {"width": 2, "color": colour}},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [hi - ratio] if has_interval else [0],
                    "arrayminus": [ratio - lo] if has_interval else [0],
                    "color": colour,
                    "thickness": 2,
                    "width": 6,
                    "visible": has_interval,
                },
                customdata=[[row.group, _fmt(lo, 2), _fmt(hi, 2)]],
                hovertemplate=(
                    f"<b>{label}</b><br>{measure}: %{{x:.2f}} (95% CI %{{customdata[1]}} to %{{customdata[2]}})"
                    "<extra></extra>"
                ),
            )
        )
    lo_axis = max(min(finite) / 1.15, 0.05)
    hi_axis = min(max(finite) * 1.15, 50)
    fig.update_xaxes(
        type="log",
        range=[math.log10(lo_axis), math.log10(hi_axis)],
        title_text=f"{measure} against the reference group (log scale, 95% confidence interval)",
        showgrid=True,
        gridcolor="#e5e5e5",
        tickvals=[v for v in (0.25, 0.5, 0.8, 1, 1.25, 1.5, 2, 3, 4, 6, 8, 10, 20) if lo_axis <= v <= hi_axis],
    )
    fig.update_yaxes(
        categoryorder="array",
        categoryarray=[group_label(g, r) for g, r in zip(groups, summary["is_reference"], strict=True)][::-1],
    )
    return _base_layout(fig, title, subtitle, _row_height(len(summary)))


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
