"""Organisations against the country: the funnel plot, and one organisation's rates beside the comparator's."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import (
    error_bars,
    group_labels,
    interval_arrays,
    legend_below,
    row_height,
    zero_range,
)
from parity.charts.theme import PALETTE, REFERENCE_COLOUR, base_layout, figure, merge

# How each organisation's point is drawn by where it falls against the funnel: (legend name, colour, symbol).
FUNNEL_MARKERS: dict[str, tuple[str, str, str]] = {
    "similar": ("Within the 95% limits", PALETTE[0], "circle-open"),
    "higher_95": ("Above the 95% limit", PALETTE[3], "square"),
    "lower_95": ("Below the 95% limit", PALETTE[1], "square"),
    "higher_99.8": ("Above the 99.8% limit (outlier)", PALETTE[2], "diamond"),
    "lower_99.8": ("Below the 99.8% limit (outlier)", PALETTE[1], "triangle-down"),
}
# A lighter zero line than elsewhere: the funnel's baseline is not a comparison.
_FUNNEL_ZERO = "#b1b4b6"
RATE_AXIS_TITLE = "Referrals per 1,000 practitioners a year"


@dataclass(frozen=True)
class FunnelAxes:
    """What a funnel's numbers are: axis titles, hover names of the value, its numerator and denominator, and
    how the value and the centre line read."""

    x_title: str = "Practitioner-years (headcount summed over the financial years)"
    y_title: str = RATE_AXIS_TITLE
    value: str = "Referrals per 1,000"
    numerator: str = "Referrals"
    denominator: str = "Practitioner-years"
    unit: str = " per 1,000"  # after the centre line's value
    value_format: str = ".2f"
    suffix: str = ""  # after a point's value in its hover text
    tickformat: str = ""  # of the value axis (".0%" for shares)


RATE_FUNNEL = FunnelAxes()


def funnel_chart(
    funnel: pd.DataFrame,
    limits: pd.DataFrame,
    average: float,
    title: str,
    subtitle: str,
    *,
    centre: str = "National",
    label_outliers: bool = False,
    axes: FunnelAxes = RATE_FUNNEL,
) -> go.Figure:
    """Funnel plot: each organisation's referral rate per 1,000 against its practitioner-years (or, with other
    ``axes``, another proportion against its denominator, such as a pathway step's share of cases).

    ``funnel`` has columns label (the organisation's name, or "Another organisation" where the viewer may
    not see it), cases, headcount, rate, significance, is_selected; rows with a hidden rate are not drawn.
    ``limits`` has columns headcount, lower_95, upper_95, lower_998, upper_998 (the curves). The centre
    line is ``average``; outliers (beyond 99.8%) have their own marker shape; the selected organisation is
    ringed and labelled. With ``label_outliers`` (a view that names every organisation) each outlier is labelled
    with its name. A point carries its organisation's code as ``customdata[4]`` only where the row has an
    org_name (the viewer may see it named): clicking it opens that organisation. The y axis starts at zero.
    """
    data = []
    for level, dash, width in (("998", "dash", 1.5), ("95", "dot", 1.5)):
        name = "99.8% limits" if level == "998" else "95% limits"
        for side in ("upper", "lower"):
            data.append(
                {
                    "type": "scatter",
                    "x": limits["headcount"],
                    "y": limits[f"{side}_{level}"],
                    "mode": "lines",
                    "name": name,
                    "legendgroup": name,
                    "showlegend": side == "upper",
                    "line": {"color": PALETTE[4], "dash": dash, "width": width},
                    "hoverinfo": "skip",
                }
            )
    if len(limits):
        data.append(
            {
                "type": "scatter",
                "x": [limits["headcount"].min(), limits["headcount"].max()],
                "y": [average, average],
                "mode": "lines",
                "name": f"{centre} average ({average:{axes.value_format}}{axes.unit})",
                "line": {"color": REFERENCE_COLOUR, "width": 2},
                "hoverinfo": "skip",
            }
        )
    shown = funnel[pd.to_numeric(funnel["rate"], errors="coerce").notna()]
    for band, (name, colour, symbol) in FUNNEL_MARKERS.items():
        rows = shown[shown["significance"] == band]
        if rows.empty:
            continue
        named = label_outliers and "99.8" in band
        data.append(
            {
                "type": "scatter",
                "x": rows["headcount"],
                "y": rows["rate"],
                "mode": "markers+text" if named else "markers",
                # The selected organisation is labelled by its ring already.
                "text": [
                    "" if selected else textwrap.shorten(label, 32, placeholder="…")
                    for label, selected in zip(rows["label"], rows["is_selected"].astype(bool), strict=True)
                ]
                if named
                else None,
                "textposition": "middle right",
                "textfont": {"size": 12},
                "name": name,
                "marker": {
                    "color": colour,
                    "symbol": symbol,
                    "size": 11 if "99.8" in band else 8,
                    "line": {"width": 1.5, "color": colour},
                },
                "customdata": [
                    [r.label, formats.int0(r.cases), formats.int0(r.headcount), name, code]
                    for r, code in zip(rows.itertuples(index=False), _codes(rows), strict=True)
                ],
                "hovertemplate": (
                    f"<b>%{{customdata[0]}}</b><br>{axes.value}: %{{y:{axes.value_format}}}{axes.suffix}"
                    f"<br>{axes.numerator}: %{{customdata[1]}}<br>{axes.denominator}: %{{customdata[2]}}"
                    "<br>%{customdata[3]}<extra></extra>"
                ),
            }
        )
    selected = shown[shown["is_selected"].astype(bool)]
    for r in selected.itertuples(index=False):
        data.append(
            {
                "type": "scatter",
                "x": [r.headcount],
                "y": [r.rate],
                "mode": "markers+text",
                "name": f"Selected: {r.label}",
                "text": [textwrap.shorten(r.label, 40, placeholder="…")],
                "textposition": "top center",
                "marker": {
                    "color": REFERENCE_COLOUR,  # an open symbol's ring takes the marker colour
                    "symbol": "circle-open",
                    "size": 22,
                    "line": {"width": 2.5, "color": REFERENCE_COLOUR},
                },
                "hoverinfo": "skip",
            }
        )
    top = (
        np.nanmax(
            np.concatenate(
                [
                    pd.to_numeric(shown["rate"]).to_numpy(dtype=float),
                    limits["upper_95"].to_numpy(dtype=float)[-1:],
                    [average],
                ]
            )
        )
        if len(shown)
        else 1.0
    )
    layout = base_layout(title, subtitle, 520)
    layout["xaxis"] = {
        "title": {"text": axes.x_title},
        "rangemode": "tozero",
        "zeroline": True,
        "zerolinecolor": _FUNNEL_ZERO,
        "separatethousands": True,
    }
    layout["yaxis"] = {
        "title": {"text": axes.y_title},
        "tickformat": axes.tickformat,
        "range": [0, top * 1.12],
        "zeroline": True,
        "zerolinecolor": _FUNNEL_ZERO,
    }
    return figure(data, legend_below(layout, data))


def _codes(rows: pd.DataFrame) -> list[str]:
    """Each point's organisation code where the viewer may see it named, else "" (never another's code)."""
    if "org_code" not in rows or "org_name" not in rows:
        return [""] * len(rows)
    return [
        code if isinstance(name, str) else "" for code, name in zip(rows["org_code"], rows["org_name"], strict=True)
    ]


def org_national_chart(
    org_groups: pd.DataFrame, org_name: str, title: str, subtitle: str, *, centre: str = "National"
) -> go.Figure:
    """Rates per 1,000 by group for one organisation beside the comparator, each with its 95% interval.

    ``org_groups`` has columns group, is_reference, rate, rate_lower, rate_upper, national_rate,
    national_lower, national_upper, cases, headcount; a hidden organisation rate is not drawn.
    """
    labels = group_labels(org_groups)
    data = []
    series = (
        (org_name, ("rate", "rate_lower", "rate_upper"), PALETTE[0], "circle"),
        (centre, ("national_rate", "national_lower", "national_upper"), REFERENCE_COLOUR, "diamond-open"),
    )
    for name, (value, lower, upper), colour, symbol in series:
        short = textwrap.shorten(name, 60, placeholder="…")
        values = org_groups[value]
        plus, minus = interval_arrays(values, org_groups[lower], org_groups[upper])
        data.append(
            {
                "type": "scatter",
                "x": values,
                "y": labels,
                "mode": "markers",
                "name": short,
                "marker": {"color": colour, "symbol": symbol, "size": 11, "line": {"width": 2, "color": colour}},
                "error_x": error_bars(plus, minus, colour, thickness=2, width=5),
                "hovertemplate": f"<b>{short}</b> · %{{y}}<br>Referrals per 1,000: %{{x:.2f}}<extra></extra>",
            }
        )
    layout = base_layout(title, subtitle, row_height(len(org_groups)) + 40)
    merge(
        layout,
        {
            "scattermode": "group",
            "scattergap": 0.5,
            "xaxis": {
                "title": {"text": RATE_AXIS_TITLE},
                "range": zero_range(pd.concat([org_groups["rate_upper"], org_groups["national_upper"]]), 1.08),
                "zeroline": True,
            },
            "yaxis": {"autorange": "reversed", "showgrid": False},
        },
    )
    return figure(data, legend_below(layout, data))
