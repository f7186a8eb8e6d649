"""Pathways: the routes cases take from referral to outcome as a Sankey diagram, for one group or two side by side."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from parity import formats
from parity.charts.axes import missing, rgba
from parity.charts.theme import PALETTE, REFERENCE_COLOUR, SECONDARY_TEXT, base_layout, figure

REFERRED = "Referred"
# Node colours by the node's label (others: the outcome grey). Links take their source node's colour, lighter.
NODE_COLOURS: dict[str, str] = {
    REFERRED: REFERENCE_COLOUR,
    "Informal resolution first": PALETTE[1],
    "Formal investigation first": PALETTE[2],
    "No stage recorded": PALETTE[4],
    "Informal only": PALETTE[1],
    "Formal investigation": PALETTE[0],
    "Exclusion or suspension": PALETTE[3],
    "Hearing": PALETTE[5],
    "Still open": "#b1b4b6",
}
OUTCOME_COLOUR = PALETTE[4]


def _node_order(flows: pd.DataFrame) -> list[str]:
    """Every node once: sources in the order they first appear, then the targets that are never a source."""
    sources = list(dict.fromkeys(flows["source"]))
    targets = [t for t in dict.fromkeys(flows["target"]) if t not in sources]
    return sources + targets


def _link_text(row: pd.Series, group: str) -> str:
    share = formats.pct1(row["share"])
    interval = formats.interval(row["lower"], row["upper"], formats.pct1)
    return (
        f"<b>{row['source']} → {row['target']}</b><br>{group}<br>Cases: {formats.int0(row['n'])}"
        f"<br>Share of the group's cases: {share} (95% CI {interval})"
    )


def _sankey(flows: pd.DataFrame, group: str, *, as_share: bool, domain: dict | None = None) -> dict:
    rows = flows[(flows["group"] == group)].reset_index(drop=True)
    value = rows["share"] * 100 if as_share else rows["n"]
    drawn = rows[value.notna() & (value > 0)]
    value = value[drawn.index]
    nodes = _node_order(drawn)
    index = {n: i for i, n in enumerate(nodes)}
    colours = [NODE_COLOURS.get(n, OUTCOME_COLOUR) for n in nodes]
    unit = "% of the group's cases" if as_share else " cases"
    number = ".1f" if as_share else ",.0f"
    return {
        "type": "sankey",
        "domain": domain or {"x": [0, 1], "y": [0, 1]},
        "arrangement": "snap",
        "textfont": {"size": 12},
        "valueformat": number,
        "valuesuffix": unit,
        "node": {
            "label": nodes,
            "color": colours,
            "pad": 12,
            "thickness": 16,
            "line": {"color": "white", "width": 0.5},
            "hovertemplate": f"<b>%{{label}}</b><br>%{{value:{number}}}{unit}<extra></extra>",
        },
        "link": {
            "source": [index[s] for s in drawn["source"]],
            "target": [index[t] for t in drawn["target"]],
            "value": value.to_list(),
            "color": [rgba(NODE_COLOURS.get(s, OUTCOME_COLOUR), 0.35) for s in drawn["source"]],
            "customdata": [_link_text(r, group) for _, r in drawn.iterrows()],
            "hovertemplate": "%{customdata}<extra></extra>",
        },
    }


def sankey_chart(flows: pd.DataFrame, group: str, title: str, subtitle: str) -> go.Figure:
    """One group's cases from referral to outcome: ``flows`` as ``PathwaysView.flows`` (group, source, target, n,
    share, lower, upper); link widths are cases, hover gives the count and the share with its Wilson interval.
    Hidden links (a count under the disclosure rule) are not drawn."""
    return figure([_sankey(flows, group, as_share=False)], base_layout(title, subtitle, 560))


def sankey_pair(flows: pd.DataFrame, groups: tuple[str, str], title: str, subtitle: str) -> go.Figure:
    """Two groups side by side, each link as a share of its group's cases, so both diagrams are on one scale
    (each sums to 100% at every layer)."""
    data, notes = [], []
    for i, group in enumerate(groups):
        left = i * 0.53
        data.append(_sankey(flows, group, as_share=True, domain={"x": [left, left + 0.47], "y": [0, 0.94]}))
        notes.append(
            {
                "text": f"<b>{group}</b>",
                "x": left,
                "xanchor": "left",
                "y": 1.0,
                "yanchor": "bottom",
                "xref": "paper",
                "yref": "paper",
                "showarrow": False,
                "font": {"color": SECONDARY_TEXT},
            }
        )
    return figure(data, {**base_layout(title, subtitle, 720), "annotations": notes})


def hidden_links(flows: pd.DataFrame, groups: list[str]) -> int:
    """How many links of the groups shown are hidden under the disclosure rule."""
    rows = flows[flows["group"].isin(groups)]
    return int(sum(1 for v, s in zip(rows["n"], rows["suppressed"], strict=True) if s and missing(v)))
