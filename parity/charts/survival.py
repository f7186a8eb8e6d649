"""Kaplan–Meier curves: how long cases (or exclusions) stay open, one panel per group beside the reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from parity import formats
from parity.charts.axes import group_label, group_styles, legend_below, rgba
from parity.charts.theme import SECONDARY_TEXT, base_layout, wrap


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
    groups = list(dict.fromkeys(curves["group"]))
    styles = styles or group_styles(groups, reference)
    others = [g for g in groups if g != reference] or [reference]
    columns = max(1, min(columns, len(others)))
    n_rows = math.ceil(len(others) / columns)
    fig = make_subplots(
        rows=n_rows,
        cols=columns,
        shared_xaxes=True,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=min(0.3 / n_rows, 0.1),
        subplot_titles=[wrap(g, max(24, 90 // columns)) for g in others],
    )
    fig.update_annotations(font_size=12)
    steps = {g: _survival_steps(curves[curves["group"] == g]) for g in groups}
    horizon = 0.0
    for k, group in enumerate(others):
        row, col = k // columns + 1, k % columns + 1
        for member in dict.fromkeys([reference, group]):
            if member not in steps:
                continue
            months, survival, lower, upper, at_risk = steps[member]
            is_reference = member == reference
            colour = styles[member][0]
            low = np.flatnonzero(survival <= 0.05)
            horizon = max(horizon, months[low[0]] if len(low) else (months[-1] if len(months) else 0.0))
            band = {"mode": "lines", "line": {"width": 0, "shape": "hv"}, "hoverinfo": "skip", "showlegend": False}
            fig.add_trace(go.Scatter(x=months, y=upper, **band), row=row, col=col)
            fig.add_trace(
                go.Scatter(x=months, y=lower, fill="tonexty", fillcolor=rgba(colour, 0.14), **band), row=row, col=col
            )
            name = group_label(member, is_reference)
            fig.add_trace(
                go.Scatter(
                    x=months,
                    y=survival,
                    mode="lines",
                    name=name,
                    legendgroup=member,
                    showlegend=k == 0 or not is_reference,
                    line={"color": colour, "width": 2.4, "dash": "solid" if is_reference else "dash", "shape": "hv"},
                    customdata=[
                        [member, formats.pct1(s), formats.pct1(lo), formats.pct1(hi), formats.int0(n)]
                        for s, lo, hi, n in zip(survival, lower, upper, at_risk, strict=True)
                    ],
                    hovertemplate=(
                        "<b>%{customdata[0]}</b><br>%{x:.1f} months: %{customdata[1]} "
                        + event_words
                        + " (95% CI %{customdata[2]} to %{customdata[3]})<br>At risk: %{customdata[4]}<extra></extra>"
                    ),
                ),
                row=row,
                col=col,
            )
            rows = curves[curves["group"] == member]
            marks = rows[rows["censored"].fillna(1).astype(float) > 0]
            if len(marks):
                fig.add_trace(
                    go.Scatter(
                        x=marks["months"],
                        y=marks["survival"],
                        mode="markers",
                        name=f"{name}: censored",
                        showlegend=False,
                        marker={"symbol": "line-ns-open", "size": 6, "color": colour, "line": {"width": 1}},
                        customdata=[[member]] * len(marks),
                        hovertemplate="<b>%{customdata[0]}</b><br>Censored (still going on at the extract date) "
                        "at %{x:.1f} months<extra></extra>",
                    ),
                    row=row,
                    col=col,
                )
        fig.add_hline(y=0.5, line_dash="dot", line_color=SECONDARY_TEXT, line_width=1, row=row, col=col)
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name="| censored at the extract date · dotted line: median (50%)",
            marker={"symbol": "line-ns-open", "size": 10, "color": SECONDARY_TEXT, "line": {"width": 1.5}},
            hoverinfo="skip",
        )
    )
    top = max(3.0, math.ceil(horizon / 3) * 3) if horizon else 12.0
    fig.update_xaxes(range=[0, top], dtick=3 if top <= 24 else 6, zeroline=True)
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", dtick=0.25)
    for col in range(1, columns + 1):
        fig.update_xaxes(title_text="Months since the start", row=n_rows, col=col)
    for row in range(1, n_rows + 1):
        fig.update_yaxes(title_text=f"Share {event_words}", row=row, col=1)
    base_layout(fig, title, subtitle, 150 + 250 * n_rows)
    fig.update_layout(margin={"b": 50})
    return legend_below(fig)
