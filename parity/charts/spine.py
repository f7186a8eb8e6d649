"""An organisation's profile as a spine chart (as Fingertips draws one): one row per indicator, the comparator's
value on the centre line, the range across organisations as a grey bar, the organisation's value as a marker whose
shape and colour say whether it differs significantly from the rest.

Each row is scaled on its own: the centre line is the comparator's value and the bar reaches as far on each side
as the range (or the organisation's value) does, so rows of different units share one picture; the numbers are in
the hover text and the table beneath.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import legend_below, list_top_down
from parity.charts.theme import GRID_COLOUR, PALETTE, REFERENCE_COLOUR, SECONDARY_TEXT, base_layout, figure, merge

# The organisation's marker by judgement against the rest: (legend name, colour, symbol).
SPINE_MARKERS: dict[str, tuple[str, str, str]] = {
    "higher": ("Significantly higher than the rest", PALETTE[2], "triangle-up"),
    "lower": ("Significantly lower than the rest", PALETTE[0], "triangle-down"),
    "similar": ("Not significantly different", PALETTE[1], "circle"),
    "untested": ("Not tested", PALETTE[4], "circle-open"),
}
RANGE_FILL = "#d9d9d9"
ROW_PIXELS = 26


def _scaled(rows: pd.DataFrame) -> pd.DataFrame:
    """Each row's positions on a -1..1 scale around the comparator's value."""
    centre = rows["national"].astype(float)
    value = rows["value"].astype(float)
    reach = pd.concat(
        [
            (centre - rows["range_low"].astype(float)).abs(),
            (rows["range_high"].astype(float) - centre).abs(),
            (value.where(np.isfinite(value)) - centre).abs(),
        ],
        axis=1,
    ).max(axis=1)
    reach = reach.where(np.isfinite(reach) & (reach > 0), 1.0)
    out = pd.DataFrame(index=rows.index)
    for column in ("value", "range_low", "range_high"):
        out[column] = (rows[column].astype(float) - centre) / reach
    return out.clip(-1, 1)


def spine_chart(rows: pd.DataFrame, org_name: str, title: str, subtitle: str, *, centre: str = "National") -> go.Figure:
    """The profile's rows (``parity.measures.ProfileView.rows``) as a spine chart, top to bottom in table order.

    A row without a comparator value has no bar; a hidden value has no marker and says "not shown" (the table
    beneath gives the reason).
    """
    labels = list(rows["label"])
    scaled = _scaled(rows)
    has_range = scaled["range_low"].notna() & scaled["range_high"].notna()
    data = [
        {
            "type": "bar",
            "x": (scaled["range_high"] - scaled["range_low"])[has_range],
            "base": scaled["range_low"][has_range].tolist(),  # a list, as Plotly's checks would make it
            "y": [labels[i] for i, ok in enumerate(has_range) if ok],
            "orientation": "h",
            "name": "Range across organisations",
            "marker": {"color": RANGE_FILL, "line": {"width": 0}},
            "width": 0.55,
            "customdata": [
                [
                    formats.in_unit(r.range_low, r.unit),
                    formats.in_unit(r.range_high, r.unit),
                    int(r.range_orgs or 0),
                    formats.in_unit(r.national, r.unit),
                ]
                for r in rows[has_range].itertuples(index=False)
            ],
            "hovertemplate": (
                "<b>%{y}</b><br>Range: %{customdata[0]} to %{customdata[1]} across %{customdata[2]} organisations"
                f"<br>{centre}: %{{customdata[3]}}<extra></extra>"
            ),
        }
    ]
    judgement = rows["judgement"].where(rows["judgement"].notna(), "untested")
    has_value = scaled["value"].notna() & rows["hidden_reason"].isna()
    for key, (name, colour, symbol) in SPINE_MARKERS.items():
        picked = has_value & (judgement == key)
        if not picked.any():
            continue
        data.append(
            {
                "type": "scatter",
                "x": scaled["value"][picked],
                "y": [labels[i] for i, ok in enumerate(picked) if ok],
                "mode": "markers",
                "name": name,
                "marker": {"color": colour, "symbol": symbol, "size": 13, "line": {"width": 1.5, "color": colour}},
                "customdata": [
                    [formats.in_unit(r.value, r.unit), formats.in_unit(r.national, r.unit), r.test or ""]
                    for r in rows[picked].itertuples(index=False)
                ],
                "hovertemplate": (
                    f"<b>%{{y}}</b><br>{org_name}: %{{customdata[0]}}<br>{centre}: %{{customdata[1]}}"
                    "<br>Test: %{customdata[2]}<extra></extra>"
                ),
            }
        )
    hidden = ~has_value
    if hidden.any():
        data.append(
            {
                "type": "scatter",
                "x": [-1.0] * int(hidden.sum()),
                "y": [labels[i] for i, ok in enumerate(hidden) if ok],
                "mode": "text",
                "text": ["not shown (see table)"] * int(hidden.sum()),
                "textposition": "middle right",
                # A white halo: the words sit over the grey range bar where the range is shown.
                "textfont": {"color": SECONDARY_TEXT, "size": 12, "shadow": "0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff"},
                "name": "Not shown",
                "showlegend": False,
                "hoverinfo": "skip",
            }
        )
    layout = base_layout(title, subtitle, ROW_PIXELS * len(rows) + 80)
    merge(
        layout,
        {
            "shapes": [
                {
                    "type": "line",
                    "x0": 0,
                    "x1": 0,
                    "xref": "x",
                    "y0": 0,
                    "y1": 1,
                    "yref": "y domain",
                    "line": {"color": REFERENCE_COLOUR, "width": 2},
                }
            ],
            "barmode": "overlay",
            "bargap": 0.4,
            "xaxis": {
                "range": [-1.08, 1.08],
                "tickvals": [-1, 0, 1],
                "ticktext": ["lowest", centre.lower() if centre != "National" else "national", "highest"],
                "showgrid": False,
                "zeroline": False,
            },
            "yaxis": list_top_down(labels, showgrid=True, gridcolor=GRID_COLOUR),
        },
    )
    return figure(data, legend_below(layout, data))
