"""The Trends page's glue: the icon summary (on the Overview and Trends) and links that open one trend chart with
the current filters kept."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from parity import formats, wording

K_SHOW = "show"  # the Trends page shows only this indicator's chart (a link from the icon summary)
TRENDS_PAGE = "pages/trends.py"
_VARIATION_BADGES: dict[str, tuple[str, str]] = {
    "improvement": (":material/thumb_up:", "blue"),
    "concern": (":material/warning:", "orange"),
    "neutral": (":material/swap_vert:", "violet"),
    "common_cause": (":material/horizontal_rule:", "gray"),
}
_ASSURANCE_BADGES: dict[str, tuple[str, str]] = {
    "pass": (":material/check_circle:", "blue"),
    "fail": (":material/cancel:", "orange"),
    "inconsistent": (":material/help:", "gray"),
}


def icon_summary(summary: pd.DataFrame) -> None:
    """One row per headline indicator: a link to its trend chart, its latest value and interval, and Making Data
    Count's variation and assurance icons (as words with an icon and a colour, never colour alone)."""
    widths = [5, 1.1, 1.4, 1.9, 1.9]
    head = st.columns(widths)
    for column, name in zip(head, ["Indicator", "Latest", "95% CI", "Variation", "Assurance"], strict=True):
        column.markdown(f"**{name}**")
    for row in summary.itertuples(index=False):
        number = formats.rate2 if row.kind == "rate" else formats.ratio2
        cells = st.columns(widths, vertical_alignment="center")
        cells[0].page_link(
            TRENDS_PAGE,
            label=row.short,
            icon=":material/show_chart:",
            help=f"{row.label}: open its trend chart",
            # The sidebar's filters are bound to the URL: they come back with the link by themselves.
            query_params={K_SHOW: row.key},
        )
        latest = f"{number(row.value)}" + (" ⚠" if row.small_numbers else "")
        cells[1].markdown(f"{latest}  \n<small>{row.latest_period or ''}</small>", unsafe_allow_html=True)
        cells[2].markdown(formats.interval(row.lower, row.upper, number))
        variation_badge(cells[3], row.variation_icon)
        assurance_badge(cells[4], row.assurance_icon)


def variation_badge(where, icon: object) -> None:  # type: ignore[no-untyped-def]
    """Making Data Count's variation icon as a badge: short words, an icon and a colour; the full words on hover."""
    variation = str(icon)
    symbol, colour = _VARIATION_BADGES.get(variation, (":material/remove:", "gray"))
    where.badge(
        wording.VARIATION_SHORT.get(variation, "Too few periods"),
        icon=symbol,
        color=colour,
        help=wording.variation_words(icon),
    )


def assurance_badge(where, icon: object) -> None:  # type: ignore[no-untyped-def]
    """Making Data Count's assurance icon as a badge, or "No target"."""
    assurance = str(icon)
    if assurance not in _ASSURANCE_BADGES:
        where.markdown(wording.NO_TARGET)
        return
    symbol, colour = _ASSURANCE_BADGES[assurance]
    where.badge(wording.ASSURANCE_SHORT[assurance], icon=symbol, color=colour, help=wording.assurance_words(icon))


def chart_icons(row: pd.Series) -> None:
    """The two icons of one chart, on a line above it."""
    left, right, _ = st.columns([1.4, 1.4, 4], vertical_alignment="center")
    variation_badge(left, row["variation_icon"])
    assurance_badge(right, row["assurance_icon"])
