"""The Trends View as blocks (a chart with its title, table, alt text and method) and as a meeting pack.

The Trends page draws ``indicator_block`` for each indicator and the pack lays out the same blocks, so the
screen and the pack show one computation: a title page (filters in words, data extract date, viewer level and the
disclosure statement), the icon summary, then one slide per indicator with its finding as the title.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from parity import charts, tables, wording
from parity.disclosure import Rule
from parity.export.images import render_pngs
from parity.export.pack import ChartSlide, Pack, TableSlide, TitlePage
from parity.measures import INDICATOR_KEYS, TrendsView

# Charts are drawn narrower than on screen, so that their text stays legible at a slide's size.
IMAGE_WIDTH = 860
PACK_TITLE = "Fairness in the management of performance concerns: trends for the meeting"
# Icon words coloured as Making Data Count colours its icons (pale tints, so text keeps its contrast).
ICON_FILLS: dict[str, str] = {
    wording.VARIATION_WORDS["improvement"]: "D6E2EE",
    wording.VARIATION_WORDS["concern"]: "FDE2D3",
    wording.VARIATION_WORDS["neutral"]: "ECE6F6",
    wording.ASSURANCE_WORDS["pass"]: "D6E2EE",
    wording.ASSURANCE_WORDS["fail"]: "FDE2D3",
}

_MEASURES = {"rl": "Relative likelihood", "rate": "Referrals per 1,000 a year", "rr": "Risk ratio"}
_SUBTITLES = {
    "rl": "Ratio of referral rates, group ÷ reference",
    "rate": "Referrals per 1,000 practitioners a year",
    "rr": "Ratio of the shares of referred cases reaching the stage, group ÷ reference",
}
XMR_METHOD = (
    "XmR chart as Making Data Count and NHSRplotthedots: the mean, and process limits at the mean ± 2.66 × the "
    "mean moving range (moving ranges 3.267 times their mean or more left out). Special cause: a point outside the "
    "limits, seven in a row on one side of the mean, seven rising or falling in a row, or two of three near a limit "
    "on one side. The variation icon reads the latest point; the assurance icon compares the target with the "
    "limits. A rebase recalculates the limits from the chosen period."
)
_KIND_METHODS = {
    "rl": "Relative likelihood = group rate ÷ reference rate, 95% interval by the log (Katz) method; lower is taken "
    "as better, the gap being above parity.",
    "rate": "Rate = referrals ÷ practitioners in the year × 1,000 (a quarter's × 4, against its year's headcount); "
    "exact Poisson interval below 10 referrals, Byar's from 10. Neither direction is better.",
    "rr": "Risk ratio of the shares of referred cases reaching the stage, Katz interval; lower is taken as better. "
    "Recent periods' cases may still be open and reach the stage later.",
}


@dataclass(frozen=True)
class Block:
    """One indicator's chart as the screen and the pack show it."""

    key: str
    title: str
    subtitle: str
    figure: go.Figure
    table: pd.DataFrame
    alt: str
    method: str
    assurance: str
    note: str
    file_name: str


def period_words(view: TrendsView) -> str:
    return "by financial year" if view.period == "year" else "by quarter (Q1: April to June)"


def indicator_block(view: TrendsView, key: str, population: str) -> Block:
    """The chart, its finding as the title, its table, alt text and method note, for one indicator."""
    indicator = INDICATOR_KEYS[key]
    row = view.summary.set_index("key").loc[key]
    row = pd.concat([row, pd.Series({"key": key})])
    series = view.series[key]
    title = wording.spc_title(row, series)
    target = row["target"] if indicator.has_target else None
    subtitle = f"{_SUBTITLES[indicator.kind]}, {period_words(view)} · {population}"
    if target is not None:
        subtitle += f" · target {target:g}, lower is better"
    rebase = row["rebased"] if isinstance(row["rebased"], str) else None
    figure = charts.xmr_chart(
        series,
        title,
        subtitle,
        measure=_MEASURES[indicator.kind],
        ratio=indicator.kind != "rate",
        target=target,
        rebase=rebase,
        x_title="Financial year" if view.period == "year" else "Quarter",
    )
    signals = series["point_type"].fillna("").str.startswith("special").sum()
    alt = (
        f"XmR chart: {indicator.label}, {period_words(view)}, {len(series)} periods, with the mean and "
        f"process limits{', broken at ' + rebase if rebase else ''}; {signals} special-cause points. {title}."
    )
    method = XMR_METHOD + " " + _KIND_METHODS[indicator.kind]
    if row["provisional"] and row["points"] >= 2:
        method += " Fewer than 12 periods since the limits' start: treat them as provisional."
    return Block(
        key=key,
        title=title,
        subtitle=subtitle,
        figure=figure,
        table=tables.spc_table(series, indicator.kind),
        alt=alt,
        method=method,
        assurance=wording.spc_assurance_sentence(row),
        note=str(row["note"] or ""),
        file_name=f"trend_{key}_{view.period}.csv",
    )


def slide_table(table: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The columns of an indicator's table that fit beside its chart: the period, the numerators, the value, its
    interval and the signal."""
    group, _, reference, _ = tables.SPC_COUNT_COLUMNS[kind]  # the group's and the reference's numerators
    numerators = {
        group: "Referrals" if kind != "rr" else "Reaching it",
        **({reference: "Reference"} if reference else {}),
    }
    return table[["Period", *numerators, "Value", "95% CI", "Signal"]].rename(columns=numerators)


def level_words(protected: bool) -> str:
    if protected:
        return "Viewer level: protected (for sharing)"
    return "Viewer level: full (exact numbers, for the national body's analysts only)"


def disclosure_statement(protected: bool, rule: Rule) -> str:
    if protected:
        return (
            f"Protected numbers: counts of 1 to {rule.suppress_max} show as * and other counts are rounded to the "
            f"nearest {rule.round_to}; every rate, ratio, interval and control limit here is computed from those "
            "protected counts, and a figure that rests on a hidden count is not shown."
        )
    return (
        "Exact numbers: this pack is at the full level and may contain small counts. Do not share it beyond the "
        "people entitled to see exact figures; make a protected pack for anyone else."
    )


def build_pack(
    view: TrendsView,
    *,
    filters_text: str,
    rule: Rule,
    browser: Path,
    made_on: date | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> Pack:
    """The meeting pack from a Trends View: a title page, the icon summary, one slide per indicator.

    ``progress(fraction, message)`` is told as each chart is drawn. Raises ``images.ChromiumMissing`` when
    there is no browser to draw the charts.
    """
    population = filters_text
    blocks = [indicator_block(view, key, population) for key in view.series]
    for block in blocks:
        # The slide carries the finding as its title: the image keeps only the measure as its own.
        indicator = INDICATOR_KEYS[block.key]
        block.figure.update_layout(title=charts.title_with_subtitle(indicator.label, ""))

    def drawn(n: int) -> None:
        if progress is not None:
            progress(n / len(blocks), f"Drew chart {n} of {len(blocks)}")

    if progress is not None:
        progress(0.0, "Starting Chromium to draw the charts")
    pngs = render_pngs([b.figure for b in blocks], browser, width=IMAGE_WIDTH, done=drawn)
    title_page = TitlePage(
        title=PACK_TITLE,
        lines=(
            f"Filters: {filters_text}",
            f"Periods: {period_words(view)}" + (f"; limits rebased from {view.rebase}" if view.rebase else ""),
            f"Data extract date: {view.extract_date or 'not recorded'}",
            level_words(view.protected),
            f"Made on {(made_on or date.today()).isoformat()} by Parity",
        ),
        disclosure=disclosure_statement(view.protected, rule),
    )
    summary = TableSlide(
        title="Summary: latest value and Making Data Count icons for each headline indicator",
        table=tables.icon_summary_table(view.summary),
        note="Variation: is the latest period a signal of change? Assurance: will the process meet its target "
        f"({view.target:g}, lower is better) given its limits? ⚠: fewer than 10 referrals. " + XMR_METHOD,
        fills=ICON_FILLS,
    )
    slides = [
        ChartSlide(
            title=b.title,
            image=png,
            table=slide_table(b.table, INDICATOR_KEYS[b.key].kind),
            notes="\n\n".join(p for p in (b.assurance, b.note, b.method, b.alt) if p),
            caption=b.subtitle,
            footnote=" ".join(p for p in (b.assurance, b.note, _KIND_METHODS[INDICATOR_KEYS[b.key].kind]) if p),
        )
        for b, png in zip(blocks, pngs, strict=True)
    ]
    return Pack(title_page, (summary, *slides))
