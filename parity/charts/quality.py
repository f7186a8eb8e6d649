"""The Data page's chart: how often ethnicity and place of qualification are missing, in cases and in the
workforce, by financial year."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from parity.charts.axes import SYMBOLS, legend_below
from parity.charts.theme import PALETTE, base_layout, figure, merge

# Cases solid, workforce dotted: the same colour and marker family for the same item in both.
_SOURCES = (("cases", "solid"), ("workforce", "dot"))


def missing_data_chart(quality: pd.DataFrame, measures: list[str], title: str, subtitle: str) -> go.Figure:
    """Lines of the share (0 to 1) of each item in ``measures`` (columns of ``quality``) missing, by financial
    year (``Financial year``), for cases and workforce (``source``); a share that cannot be computed is a gap."""
    data = []
    for i, (source, dash) in enumerate(_SOURCES):
        part = quality[quality["source"] == source]
        for j, measure in enumerate(measures):
            data.append(
                {
                    "type": "scatter",
                    "x": part["Financial year"].tolist(),
                    "y": [round(v * 100, 2) if pd.notna(v) else None for v in part[measure]],
                    "mode": "lines+markers",
                    "name": f"{measure} ({source})",
                    "line": {"color": PALETTE[j], "dash": dash, "width": 2},
                    "marker": {"symbol": SYMBOLS[j + 3 * i], "size": 8},
                    "hovertemplate": f"{measure}, {source}: %{{y:.1f}}%<extra>%{{x}}</extra>",
                }
            )
    layout = merge(
        base_layout(title, subtitle, 340),
        {
            "xaxis": {"showgrid": False},
            "yaxis": {"title": {"text": "Share missing (%)"}, "rangemode": "tozero"},
            "margin": {"b": 50},
        },
    )
    return figure(data, legend_below(layout, data))
