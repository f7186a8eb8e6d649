"""Plotly figures from DataFrames: pure functions, testable without a browser.

Every chart has an active title (the finding), a subtitle (measure, population, period), intervals
drawn as error bars, the reference group marked, marker shapes as well as colours (Analysis
Function palette), a zero baseline for rates and the 0.80–1.25 band shaded on ratio charts.
Input tables have already passed disclosure control: a suppressed value is NaN and is not drawn.
Every clickable trace carries the group label as ``customdata[0]`` (what ``ui.apply_click`` reads).
"""

from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go

# Analysis Function accessible categorical palette, in order.
PALETTE: tuple[str, ...] = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
SYMBOLS: tuple[str, ...] = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "hexagon")
REFERENCE_COLOUR = "#0B0C0C"
BAND = (0.8, 1.25)
BAND_FILL = "rgba(40, 161, 151, 0.15)"
FONT = "Arial, Helvetica, sans-serif"


# Characters per line of a chart's title and subtitle: Plotly does not wrap titles by itself.
TITLE_WRAP, SUBTITLE_WRAP = 100, 130


def _wrap(text: str, width: int) -> str:
    return "<br>".join(textwrap.wrap(text, width)) or text


def title_with_subtitle(title: str, subtitle: str) -> dict:
    subtitle = _wrap(subtitle, SUBTITLE_WRAP).replace("<br>", "</span><br><span style='font-size:13px;color:#505a5f'>")
    return {
        "text": f"<b>{_wrap(title, TITLE_WRAP)}</b><br><span style='font-size:13px;color:#505a5f'>{subtitle}</span>",
        "x": 0,
        "xanchor": "left",
        "yref": "container",
        "y": 1,
        "yanchor": "top",
        "pad": {"t": 12},
    }


def _title_margin(title: dict) -> int:
    """Top margin that fits a (wrapped) title and subtitle."""
    return max(80, 40 + 19 * (title["text"].count("<br>") + 1))


def _base_layout(fig: go.Figure, title: str, subtitle: str, height: int) -> go.Figure:
    heading = title_with_subtitle(title, subtitle)
    fig.update_layout(
        title=heading,
        font={"family": FONT, "size": 13, "color": "#0b0c0c"},
        plot_bgcolor="white",
        paper_bgcolor="white",
        height=height + _title_margin(heading) - 80,
        margin={"l": 10, "r": 20, "t": _title_margin(heading), "b": 40},
        showlegend=False,
        hoverlabel={"font_family": FONT},
    )
    return fig


def _row_height(n: int) -> int:
    return max(260, 120 + 34 * n)


def _style(i: int) -> tuple[str, str]:
    return PALETTE[i % len(PALETTE)], SYMBOLS[i % len(SYMBOLS)]


def _error_bars(plus, minus, colour: str, *, thickness: float, width: int, visible: bool = True) -> dict:
    """Asymmetric error bars (an interval around the point) in one colour."""
    return {
        "type": "data",
        "symmetric": False,
        "array": plus,
        "arrayminus": minus,
        "color": colour,
        "thickness": thickness,
        "width": width,
        "visible": visible,
    }


def _fmt(value: float, digits: int) -> str:
    return "*" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def group_label(group: str, is_reference: bool, small: bool = False) -> str:
    """The axis label of a group: the reference is marked, and so is a group with small numbers."""
    label = f"{group} (reference)" if is_reference else group
    return f"{label} ⚠ small numbers" if small else label


def _labels(summary: pd.DataFrame) -> list[str]:
    small = summary["small_numbers"] if "small_numbers" in summary else [False] * len(summary)
    rows = zip(summary["group"], summary["is_reference"], small, strict=True)
    return [group_label(g, r, bool(s)) for g, r, s in rows]


def rate_chart(summary: pd.DataFrame, title: str, subtitle: str, *, measure: str = "Referrals per 1,000") -> go.Figure:
    """Referral rate per 1,000 by group, with its 95% interval; one marker shape per group.

    ``summary`` has columns group, cases, headcount, rate, rate_lower, rate_upper, is_reference.
    Groups are drawn top to bottom in the table's order; the x axis starts at zero.
    """
    fig = go.Figure()
    for i, row in enumerate(summary.itertuples(index=False)):
        colour, symbol = (REFERENCE_COLOUR, "line-ns-open") if row.is_reference else _style(i)
        label = group_label(row.group, row.is_reference, bool(getattr(row, "small_numbers", False)))
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
                error_x=_error_bars(
                    [row.rate_upper - row.rate] if not _nan(row.rate) else [0],
                    [row.rate - row.rate_lower] if not _nan(row.rate) else [0],
                    colour,
                    thickness=2,
                    width=6,
                ),
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
        categoryarray=_labels(summary)[::-1],
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
    finite = [1.0, *BAND]
    for i, row in enumerate(summary.itertuples(index=False)):
        ratio, lo, hi = getattr(row, value), getattr(row, lower_col), getattr(row, upper_col)
        label = group_label(row.group, row.is_reference, bool(getattr(row, "small_numbers", False)))
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
                error_x=_error_bars(
                    [hi - ratio] if has_interval else [0],
                    [ratio - lo] if has_interval else [0],
                    colour,
                    thickness=2,
                    width=6,
                    visible=has_interval,
                ),
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
        categoryarray=_labels(summary)[::-1],
    )
    return _base_layout(fig, title, subtitle, _row_height(len(summary)))


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


# --- Concern rates page ------------------------------------------------------------------------

# Diverging scale for ratios on a log scale: blue below 1, white at 1, plum above (Analysis Function colours).
RATIO_SCALE: tuple[tuple[float, str], ...] = ((0.0, "#12436D"), (0.5, "#FFFFFF"), (1.0, "#801650"))
RATIO_TICKS: tuple[float, ...] = (0.25, 0.33, 0.5, 0.8, 1, 1.25, 2, 3, 4, 8)
SHORT_PMQ: dict[str, str] = {
    "UK graduate": "UK graduate",
    "EEA graduate": "EEA graduate",
    "International medical graduate (IMG)": "IMG",
    "Place of qualification not known": "Not known",
}


def group_styles(groups: pd.Series | list[str], reference: str) -> dict[str, tuple[str, str]]:
    """Colour and marker shape per group, as ``rate_chart`` draws them (by position), the reference grey."""
    return {g: (REFERENCE_COLOUR, "diamond-open") if g == reference else _style(i) for i, g in enumerate(list(groups))}


def _interval_arrays(values: pd.Series, lower: pd.Series, upper: pd.Series) -> tuple[list[float], list[float]]:
    """Error-bar lengths above and below each value; 0 where the value or a bound is hidden."""
    plus, minus = [], []
    for v, lo, hi in zip(values, lower, upper, strict=True):
        ok = not (_nan(v) or _nan(lo) or _nan(hi)) and np.isfinite(hi)
        plus.append(hi - v if ok else 0)
        minus.append(v - lo if ok else 0)
    return plus, minus


def _rate_hover(frame: pd.DataFrame, first: str) -> list[list[str]]:
    """customdata rows: group, the category, rate text, its interval, referrals, practitioner-years."""
    return [
        [
            r.group,
            getattr(r, first),
            _fmt(r.rate, 2),
            _fmt(r.rate_lower, 2),
            _fmt(r.rate_upper, 2),
            _fmt(r.cases, 0),
            _fmt(r.headcount, 0),
        ]
        for r in frame.itertuples(index=False)
    ]


_RATE_HOVER = (
    "<b>%{customdata[0]}</b> · %{customdata[1]}<br>{measure}: %{customdata[2]} "
    "(95% CI %{customdata[3]} to %{customdata[4]})<br>Referrals: %{customdata[5]}"
    "<br>Practitioner-years: %{customdata[6]}<extra></extra>"
)


def _legend(fig: go.Figure) -> go.Figure:
    fig.update_layout(
        showlegend=True,
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "xanchor": "left", "x": 0, "title_text": ""},
    )
    return fig


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
    from plotly.subplots import make_subplots

    concerns = list(dict.fromkeys(table["concern_label"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = next(iter(table.loc[table["is_reference"], "group"]), None)
    styles = styles or group_styles(groups, reference)
    labels = {g: group_label(g, g == reference) for g in groups}
    cols = max(1, min(columns, len(concerns)))
    rows = max(1, math.ceil(len(concerns) / cols))
    panel_height = 40 + 24 * len(groups)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        vertical_spacing=min(0.3, 80 / (rows * panel_height + 1)),
        subplot_titles=concerns,
    )
    for k, concern in enumerate(concerns):
        row, col = k // cols + 1, k % cols + 1
        points = table[table["concern_label"] == concern]
        plus, minus = _interval_arrays(points["rate"], points["rate_lower"], points["rate_upper"])
        style = [styles.get(g, _style(len(styles))) for g in points["group"]]
        fig.add_trace(
            go.Scatter(
                x=points["rate"],
                y=[labels[g] for g in points["group"]],
                mode="markers",
                name=concern,
                marker={
                    "color": [c for c, _ in style],
                    "symbol": [m for _, m in style],
                    "size": 9,
                    "line": {"width": 2, "color": [c for c, _ in style]},
                },
                error_x=_error_bars(plus, minus, "#505a5f", thickness=1.2, width=3),
                customdata=_rate_hover(points, "concern_label"),
                hovertemplate=_RATE_HOVER.replace("{measure}", measure),
            ),
            row=row,
            col=col,
        )
        ref_rate = points.loc[points["is_reference"], "rate"]
        if len(ref_rate) and not _nan(ref_rate.iloc[0]):
            fig.add_vline(
                x=float(ref_rate.iloc[0]), line_dash="dot", line_color=REFERENCE_COLOUR, line_width=1, row=row, col=col
            )
        upper = points["rate_upper"].to_numpy(dtype=float)
        top = np.nanmax(upper) if np.isfinite(upper).any() else 1.0
        fig.update_xaxes(range=[0, (top if top > 0 else 1.0) * 1.08], row=row, col=col)
    fig.update_xaxes(showgrid=True, gridcolor="#e5e5e5", zeroline=True, zerolinecolor="#0b0c0c")
    fig.update_xaxes(title_text=measure, row=rows)
    fig.update_yaxes(categoryorder="array", categoryarray=[labels[g] for g in groups][::-1], showgrid=False)
    fig.update_annotations(font_size=12)
    if reference is not None:
        subtitle += f" · dotted line: {reference} (reference)"
    _base_layout(fig, title, subtitle, 60 + rows * panel_height)
    fig.update_layout(margin={"t": fig.layout.margin.t + 20, "b": 50})
    return fig


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
    panel. Rate axes start at zero and share one scale unless a panel's intervals reach beyond twice
    the median panel's (small groups), when each panel has its own.
    """
    from plotly.subplots import make_subplots

    # A window is marked on the axis by its last year ("2022/23 to 2024/25" -> "2024/25").
    table = table.assign(period_end=table["period"].str.split(" to ").str[-1])
    periods = list(dict.fromkeys(table["period_end"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = next(iter(table.loc[table["is_reference"], "group"]), None)
    styles = styles or group_styles(groups, reference)
    panels = [g for g in groups if g != reference] or groups
    cols = max(1, min(columns, len(panels)))
    rows = math.ceil(len(panels) / cols)
    panel_height = 240 if cols > 1 else 380
    fig = make_subplots(
        rows=rows,
        cols=cols,
        shared_xaxes=True,
        horizontal_spacing=0.05,
        vertical_spacing=min(0.3, 70 / (rows * panel_height)),
        subplot_titles=[group_label(g, g == reference).replace(" · ", "<br>") for g in panels],
    )

    def add(group: str, row: int, col: int, legend: bool) -> None:
        points = table[table["group"] == group]
        colour, symbol = styles.get(group, _style(len(styles)))
        plus, minus = _interval_arrays(points["rate"], points["rate_lower"], points["rate_upper"])
        fig.add_trace(
            go.Scatter(
                x=points["period_end"],
                y=points["rate"],
                mode="lines+markers",
                name=group_label(group, group == reference),
                legendgroup=group,
                showlegend=legend,
                line={"color": colour, "width": 2, "dash": "dash" if group == reference else "solid"},
                marker={"color": colour, "symbol": symbol, "size": 8, "line": {"width": 2, "color": colour}},
                error_y=_error_bars(plus, minus, colour, thickness=1.2, width=3),
                customdata=_rate_hover(points, "period"),
                hovertemplate=_RATE_HOVER.replace("{measure}", measure),
                connectgaps=False,
            ),
            row=row,
            col=col,
        )

    tops = []
    for k, group in enumerate(panels):
        row, col = k // cols + 1, k % cols + 1
        if reference is not None and group != reference:
            add(reference, row, col, legend=k == 0)
        add(group, row, col, legend=True)
        upper = table.loc[table["group"].isin([group, reference]), "rate_upper"].to_numpy(dtype=float)
        tops.append(float(np.nanmax(upper)) if np.isfinite(upper).any() and np.nanmax(upper) > 0 else 1.0)
    # One scale for all panels, unless a small group's wide intervals would flatten every other panel.
    shared = max(tops) <= 2 * sorted(tops)[(len(tops) - 1) // 2]  # the (lower) median panel
    for k, top in enumerate(tops):
        fig.update_yaxes(range=[0, (max(tops) if shared else top) * 1.05], row=k // cols + 1, col=k % cols + 1)
    fig.update_yaxes(
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
    )
    fig.update_yaxes(title_text=f"{measure} (95% CI)" if rows == 1 else "Per 1,000", col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=periods, tickangle=-45 if cols > 1 else 0)
    fig.update_xaxes(title_text=x_title, row=rows)
    fig.update_annotations(font_size=12)
    if reference is not None and len(panels) > 1:
        subtitle += f" · dashed, open diamonds: {reference} (reference)"
    _base_layout(fig, title, subtitle, 90 + rows * panel_height)
    fig.update_layout(margin={"t": fig.layout.margin.t + 20, "b": 60})
    return _legend(fig) if len(panels) == 1 else fig


def _ratio_text(row: pd.Series) -> str:
    if row["is_reference"]:
        return "1<br>reference"
    if _nan(row["rl"]):
        return "*" if row.get("suppressed", False) else "n/a"
    interval = (
        ""
        if _nan(row["rl_lower"]) or _nan(row["rl_upper"])
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
    from parity import contract  # the row and column order of the intersection

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
            series = pd.Series(cell._asdict())
            rl = cell.rl
            finite = not _nan(rl) and rl > 0
            if finite:
                extreme = max(extreme, rl, 1 / rl)
            z_row.append(math.log10(rl) if finite else None)
            text_row.append(_ratio_text(series))
            custom_row.append(
                [
                    cell.group,
                    _fmt(cell.cases, 0),
                    _fmt(cell.headcount, 0),
                    _fmt(cell.rate, 2),
                    "*" if _nan(cell.rate_lower) else f"{cell.rate_lower:.2f} to {cell.rate_upper:.2f}",
                    "1 (reference)" if cell.is_reference else _fmt(rl, 2),
                    ""
                    if cell.is_reference or _nan(cell.rl_lower) or _nan(cell.rl_upper)
                    else f" (95% CI {cell.rl_lower:.2f} to {cell.rl_upper:.2f})",
                ]
            )
        z.append(z_row)
        text.append(text_row)
        custom.append(custom_row)
    limit = math.log10(min(extreme, 8.0))
    ticks = [t for t in RATIO_TICKS if abs(math.log10(t)) <= limit + 1e-9]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[SHORT_PMQ.get(c, c) for c in cols],
            y=rows,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 13},
            customdata=custom,
            colorscale=[list(stop) for stop in RATIO_SCALE],
            zmid=0,
            zmin=-limit,
            zmax=limit,
            xgap=2,
            ygap=2,
            colorbar={
                "title": {"text": "Relative<br>likelihood", "side": "top"},
                "tickvals": [math.log10(t) for t in ticks],
                "ticktext": [f"{t:g}" for t in ticks],
                "thickness": 14,
            },
            hovertemplate=(
                "<b>%{customdata[0]}</b><br>Relative likelihood: %{customdata[5]}%{customdata[6]}"
                "<br>Rate per 1,000: %{customdata[3]} (95% CI %{customdata[4]})<br>Referrals: %{customdata[1]}"
                "<br>Practitioner-years: %{customdata[2]}<extra></extra>"
            ),
        )
    )
    for i, eg in enumerate(rows):
        for j, pmq in enumerate(cols):
            cell = cells.get((eg, pmq))
            if cell is not None and cell.is_reference:
                fig.add_shape(
                    type="rect",
                    x0=j - 0.5,
                    x1=j + 0.5,
                    y0=i - 0.5,
                    y1=i + 0.5,
                    line={"color": "#0b0c0c", "width": 3},
                    xref="x",
                    yref="y",
                )
    fig.update_xaxes(side="top", showgrid=False, tickfont_size=13)
    fig.update_yaxes(autorange="reversed", showgrid=False, tickfont_size=13)
    _base_layout(fig, title, subtitle, 140 + 58 * max(len(rows), 1))
    fig.update_layout(margin={"t": fig.layout.margin.t + 30, "b": 20})
    return fig


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
    from plotly.subplots import make_subplots

    levels = list(dict.fromkeys(table["level_label"]))
    groups = list(dict.fromkeys(table["group"]))
    reference = next(iter(table.loc[table["is_reference"], "group"]), None)
    styles = styles or group_styles(groups, reference)
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=(f"{measure} (95% CI)", "Relative likelihood against the reference (log scale, 95% CI)"),
    )
    for group in [g for g in groups if g != reference] + ([reference] if reference in groups else []):
        rows = table[table["group"] == group]
        colour, symbol = styles.get(group, _style(len(styles)))
        plus, minus = _interval_arrays(rows["rate"], rows["rate_lower"], rows["rate_upper"])
        fig.add_trace(
            go.Scatter(
                x=rows["rate"],
                y=rows["level_label"],
                mode="markers",
                orientation="h",
                name=group_label(group, group == reference),
                marker={"color": colour, "symbol": symbol, "size": 10, "line": {"width": 2, "color": colour}},
                error_x=_error_bars(plus, minus, colour, thickness=1.5, width=4),
                customdata=_rate_hover(rows, "level_label"),
                hovertemplate=_RATE_HOVER.replace("{measure}", measure),
            ),
            row=1,
            col=1,
        )
    compared = table[~table["is_reference"]]
    finite = [1.0, *BAND]
    if not compared.empty:
        group = compared["group"].iloc[0]
        colour, symbol = styles.get(group, _style(1))
        drawable = compared["rl"].where(compared["rl"] > 0)
        plus, minus = _interval_arrays(
            drawable, compared["rl_lower"].where(compared["rl_lower"] > 0), compared["rl_upper"]
        )
        finite += [
            v for v in (*drawable, *compared["rl_lower"], *compared["rl_upper"]) if not _nan(v) and 0 < v < math.inf
        ]
        fig.add_trace(
            go.Scatter(
                x=drawable,
                y=compared["level_label"],
                mode="markers",
                name=f"{group}: relative likelihood",
                showlegend=False,
                marker={"color": colour, "symbol": symbol, "size": 10, "line": {"width": 2, "color": colour}},
                error_x=_error_bars(plus, minus, colour, thickness=1.5, width=4),
                customdata=[
                    [r.group, r.level_label, _fmt(r.rl, 2), _fmt(r.rl_lower, 2), _fmt(r.rl_upper, 2)]
                    for r in compared.itertuples(index=False)
                ],
                hovertemplate="<b>%{customdata[0]}</b> · %{customdata[1]}<br>Relative likelihood: %{customdata[2]} "
                "(95% CI %{customdata[3]} to %{customdata[4]})<extra></extra>",
            ),
            row=1,
            col=2,
        )
    fig.add_vrect(x0=BAND[0], x1=BAND[1], fillcolor=BAND_FILL, line_width=0, layer="below", row=1, col=2)
    fig.add_vline(x=1, line_color="#0b0c0c", line_width=1, row=1, col=2)
    lo_axis = max(min(finite) / 1.15, 0.05)
    hi_axis = min(max(finite) * 1.15, 50)
    upper = np.nanmax(table["rate_upper"].to_numpy(dtype=float)) if table["rate_upper"].notna().any() else 1.0
    fig.update_xaxes(
        range=[0, (upper if np.isfinite(upper) and upper > 0 else 1.0) * 1.05],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
        row=1,
        col=1,
    )
    fig.update_xaxes(
        type="log",
        range=[math.log10(lo_axis), math.log10(hi_axis)],
        showgrid=True,
        gridcolor="#e5e5e5",
        row=1,
        col=2,
        tickvals=[v for v in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 8, 20) if lo_axis <= v <= hi_axis],
    )
    fig.update_yaxes(categoryorder="array", categoryarray=levels[::-1])
    fig.update_layout(scattermode="group", scattergap=0.4)
    fig.update_annotations(font_size=12, font_color="#505a5f")
    _base_layout(fig, title, subtitle, max(300, 150 + 40 * len(levels)))
    fig.update_layout(margin={"t": fig.layout.margin.t + 30})
    return _legend(fig)


# --- Outcomes and Durations pages ---------------------------------------------------------------

DASHES: tuple[str, ...] = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
# Closed-case outcomes: a colour and a fill pattern each, so that no two segments differ by colour alone.
OUTCOME_STYLES: dict[str, tuple[str, str]] = {
    "no_case_to_answer": ("#12436D", ""),
    "resolved_informally": ("#28A197", ""),
    "remediation_completed": ("#A285D1", ""),
    "returned_with_restrictions": ("#F46A25", "/"),
    "formal_sanction": ("#801650", ""),
    "dismissed_or_removed": ("#3D3D3D", "x"),
    "left_post": ("#12436D", "."),
    "other": ("#28A197", "\\"),
}


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def _open_symbol(symbol: str) -> str:
    return symbol if symbol.endswith("-open") else f"{symbol}-open"


def _legend_below(fig: go.Figure, pixels: int = 55) -> go.Figure:
    """``_legend``, its top ``pixels`` below the plot area (clear of the x-axis title); the figure grows to fit it."""
    layout = fig.layout
    plot_height = max(layout.height - layout.margin.t - layout.margin.b, 100)
    entries = sum(1 for trace in fig.data if trace.showlegend is not False and trace.name)
    bottom = pixels + 22 * math.ceil(entries / 3) + 10
    fig = _legend(fig)
    return fig.update_layout(
        legend_y=-pixels / plot_height, margin_b=bottom, height=plot_height + layout.margin.t + bottom
    )


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
    fig = go.Figure()
    labels = list(dict.fromkeys(measures["label"]))
    groups = list(dict.fromkeys(measures["group"]))
    styles = styles or group_styles(groups, reference)
    fig.add_vrect(x0=BAND[0], x1=BAND[1], fillcolor=BAND_FILL, line_width=0, layer="below")
    fig.add_vline(x=1, line_color="#0b0c0c", line_width=1.5)
    finite = [1.0, *BAND]
    # Grouped markers stack bottom-up: add the groups in reverse so that the first is on top, as in the legend.
    for group in [g for g in groups if g != reference][::-1]:
        rows = measures[measures["group"] == group]
        colour, symbol = styles[group]
        ratio = rows["rr"].where(rows["rr"] > 0)
        plus, minus = _interval_arrays(ratio, rows["rr_lower"].where(rows["rr_lower"] > 0), rows["rr_upper"])
        finite += [v for v in (*ratio, *rows["rr_lower"], *rows["rr_upper"]) if not _nan(v) and 0 < v < math.inf]
        flagged = rows["flagged"].eq(True).to_list()
        fig.add_trace(
            go.Scatter(
                x=ratio,
                y=rows["label"],
                mode="markers",
                orientation="h",
                name=group,
                marker={
                    "color": colour,
                    "symbol": [symbol if f else _open_symbol(symbol) for f in flagged],
                    "size": 10,
                    "line": {"width": 2, "color": colour},
                },
                error_x=_error_bars(plus, minus, colour, thickness=1.5, width=3),
                customdata=[
                    [
                        r.group,
                        r.label,
                        _fmt(r.rr, 2),
                        "*" if _nan(r.rr_lower) else f"{r.rr_lower:.2f} to {r.rr_upper:.2f}",
                        _pct(r.proportion),
                        _fmt(r.events, 0),
                        _fmt(r.denominator, 0),
                        "flagged (Benjamini–Hochberg)" if r.flagged is True else "not flagged",
                    ]
                    for r in rows.itertuples(index=False)
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b> · %{customdata[1]}<br>Risk ratio: %{customdata[2]} "
                    "(95% CI %{customdata[3]}), %{customdata[7]}<br>%{customdata[4]} "
                    "(%{customdata[5]} of %{customdata[6]})<extra></extra>"
                ),
            )
        )
    lo_axis, hi_axis = max(min(finite) / 1.15, 0.05), min(max(finite) * 1.15, 50)
    fig.update_xaxes(
        type="log",
        range=[math.log10(lo_axis), math.log10(hi_axis)],
        title_text=f"Risk ratio against {reference} (log scale, 95% CI; filled: flagged)",
        showgrid=True,
        gridcolor="#e5e5e5",
        tickvals=[v for v in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 3, 4, 6, 8, 20) if lo_axis <= v <= hi_axis],
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1], showgrid=True, gridcolor="#f3f2f1")
    fig.update_layout(scattermode="group", scattergap=0.3)
    n_groups = max(len(groups) - 1, 1)
    _base_layout(fig, title, subtitle, max(360, 170 + len(labels) * (10 * n_groups + 22)))
    fig.update_layout(legend_traceorder="reversed")
    return _legend_below(fig)


def _pct(value: object) -> str:
    return "*" if _nan(value) else f"{float(value) * 100:.1f}%"


def interval_panels(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
    axis_title: str,
    percent: bool = True,
    columns: int = 3,
) -> go.Figure:
    """Small multiples: one panel per ``panel`` value, a marker per group with its 95% interval.

    ``table`` has columns panel, group, value, lower, upper, is_reference, flagged (True, False or None)
    and detail (hover text), panels and groups in the order to draw. The reference group is a grey
    open diamond with a dashed line at its value; other groups keep one colour and shape throughout,
    filled where flagged. An infinite upper bound ("not reached") runs to the panel's edge with an
    arrow; an infinite value is written "not reached" at the edge.
    """
    from plotly.subplots import make_subplots

    panels = list(dict.fromkeys(table["panel"]))
    groups = list(dict.fromkeys(table["group"]))
    styles = styles or group_styles(groups, reference)
    columns = max(1, min(columns, len(panels)))
    n_rows = max(1, math.ceil(len(panels) / columns))
    panel_height = 30 * len(groups) + 110  # pixels: the markers, a panel title and the x ticks
    fig = make_subplots(
        rows=n_rows,
        cols=columns,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        vertical_spacing=min(0.3, 80 / (n_rows * panel_height)) if n_rows > 1 else 0.0,
        subplot_titles=[_wrap(p, max(24, 90 // columns)) for p in panels],
    )
    fig.update_annotations(font_size=12)
    finite = table[["value", "lower", "upper"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    edge = (float(finite.max()) if finite.size else 1.0) * 1.1 or 1.0
    if percent:
        edge = min(edge, 1.0)
    for k, panel in enumerate(panels):
        row, col = k // columns + 1, k % columns + 1
        block = table[table["panel"] == panel]
        for group in groups:
            rows = block[block["group"] == group]
            if rows.empty:
                continue
            r = rows.iloc[0]
            colour, symbol = styles[group]
            value, lower, upper = float(r["value"]), float(r["lower"]), float(r["upper"])
            reached = not math.isinf(value)
            shown = value if reached else edge
            top = edge if math.isinf(upper) else upper
            has_interval = reached and not (_nan(value) or _nan(lower) or _nan(top))
            filled = r["is_reference"] or r["flagged"] is True
            fig.add_trace(
                go.Scatter(
                    x=[shown],
                    y=[group_label(group, bool(r["is_reference"]))],
                    mode="markers+text" if not reached else "markers",
                    text=["not reached"] if not reached else None,
                    textposition="middle left",
                    name=group_label(group, bool(r["is_reference"])),
                    legendgroup=group,
                    showlegend=False,
                    marker={
                        "color": colour,
                        "symbol": ("diamond-open" if r["is_reference"] else symbol if filled else _open_symbol(symbol))
                        if reached
                        else "triangle-right-open",
                        "size": 11,
                        "line": {"width": 2, "color": colour},
                    },
                    error_x=_error_bars(
                        [top - value if has_interval else 0],
                        [value - lower if has_interval else 0],
                        colour,
                        thickness=1.8,
                        width=4,
                        visible=has_interval,
                    ),
                    customdata=[[group, panel, str(r["detail"])]],
                    hovertemplate="<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
                ),
                row=row,
                col=col,
            )
            if has_interval and math.isinf(upper):
                fig.add_annotation(
                    x=edge,
                    y=group_label(group, bool(r["is_reference"])),
                    text="▶ not reached",
                    showarrow=False,
                    xanchor="right",
                    yshift=10,
                    font={"size": 10, "color": "#505a5f"},
                    row=row,
                    col=col,
                )
            if r["is_reference"] and reached and not _nan(value):
                fig.add_vline(x=value, line_dash="dash", line_color=REFERENCE_COLOUR, line_width=1, row=row, col=col)
    fig.update_xaxes(
        range=[0, edge],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
        tickformat=".0%" if percent else None,
    )
    for col in range(1, columns + 1):
        fig.update_xaxes(title_text=axis_title, title_font_size=11, row=n_rows, col=col)
    labels = [group_label(g, g == reference) for g in groups]
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1])
    height = 90 + n_rows * panel_height
    _base_layout(fig, title, subtitle, height)
    fig.update_layout(margin={"l": 10, "r": 20, "t": 110, "b": 50})
    return fig


def outcome_mix_chart(mix: pd.DataFrame, title: str, subtitle: str, *, reference: str) -> go.Figure:
    """How closed cases ended, by group: 100% stacked bars, one colour and pattern per outcome.

    ``mix`` has columns group, measure (an outcome code), label, proportion, lower, upper (Wilson: in the
    hover, since a stacked bar cannot carry error bars), events, denominator, is_reference, with groups
    and outcomes in the order to draw. A hidden share (NaN) is left out of its bar, which then does not
    reach 100%. Labels inside solid segments of 6% or more (text over a pattern cannot be read; the
    hover and the table give every share).
    """
    fig = go.Figure()
    groups = list(dict.fromkeys(mix["group"]))
    labels = [group_label(g, g == reference) for g in groups]
    for measure, (colour, pattern) in OUTCOME_STYLES.items():
        rows = mix[mix["measure"] == measure]
        if rows.empty:
            continue
        label = rows["label"].iloc[0]
        fig.add_trace(
            go.Bar(
                x=rows["proportion"],
                y=[group_label(g, g == reference) for g in rows["group"]],
                orientation="h",
                name=label,
                marker={
                    "color": colour,
                    "line": {"color": "white", "width": 1},
                    "pattern": {
                        "shape": pattern,
                        "fgcolor": "white",
                        "size": 7,
                        "solidity": 0.35,
                        "fillmode": "overlay",
                    },
                },
                text=[_pct(v) if not (_nan(v) or pattern) and v >= 0.06 else "" for v in rows["proportion"]],
                textposition="inside",
                insidetextanchor="middle",
                textfont={"color": "white", "size": 11},
                customdata=[
                    [
                        r.group,
                        label,
                        _pct(r.proportion),
                        _fmt(r.events, 0),
                        _fmt(r.denominator, 0),
                        "*" if _nan(r.lower) else f"{_pct(r.lower)} to {_pct(r.upper)}",
                    ]
                    for r in rows.itertuples(index=False)
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>%{customdata[1]}: %{customdata[2]} (95% CI %{customdata[5]})"
                    "<br>%{customdata[3]} of %{customdata[4]} closed cases<extra></extra>"
                ),
            )
        )
    fig.update_layout(barmode="stack", bargap=0.3)
    fig.update_xaxes(
        range=[0, 1], tickformat=".0%", title_text="Share of closed cases", showgrid=True, gridcolor="#e5e5e5"
    )
    fig.update_yaxes(categoryorder="array", categoryarray=labels[::-1])
    _base_layout(fig, title, subtitle, max(320, 190 + 38 * len(groups)))
    fig.update_layout(legend={"traceorder": "normal"})
    return _legend_below(fig)


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
    from plotly.subplots import make_subplots

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
        subplot_titles=[_wrap(g, max(24, 90 // columns)) for g in others],
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
                go.Scatter(x=months, y=lower, fill="tonexty", fillcolor=_rgba(colour, 0.14), **band), row=row, col=col
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
                        [member, _pct(s), _pct(lo), _pct(hi), _fmt(n, 0)]
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
        fig.add_hline(y=0.5, line_dash="dot", line_color="#505a5f", line_width=1, row=row, col=col)
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="markers",
            name="| censored at the extract date · dotted line: median (50%)",
            marker={"symbol": "line-ns-open", "size": 10, "color": "#505a5f", "line": {"width": 1.5}},
            hoverinfo="skip",
        )
    )
    top = max(3.0, math.ceil(horizon / 3) * 3) if horizon else 12.0
    fig.update_xaxes(
        range=[0, top],
        dtick=3 if top <= 24 else 6,
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
    )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", showgrid=True, gridcolor="#e5e5e5", dtick=0.25)
    for col in range(1, columns + 1):
        fig.update_xaxes(title_text="Months since the start", title_font_size=11, row=n_rows, col=col)
    for row in range(1, n_rows + 1):
        fig.update_yaxes(title_text=f"Share {event_words}", title_font_size=11, row=row, col=1)
    _base_layout(fig, title, subtitle, 150 + 250 * n_rows)
    fig.update_layout(hovermode="closest", margin={"b": 50})
    return _legend_below(fig)


def breakdown_dots(
    table: pd.DataFrame,
    title: str,
    subtitle: str,
    *,
    reference: str,
    styles: dict[str, tuple[str, str]] | None = None,
    axis_title: str,
    percent: bool = True,
) -> go.Figure:
    """A drilled group beside the reference within each level of each breakdown (organisation type, ...).

    ``table`` has columns dimension_label, level_label, group, value, lower, upper, is_reference,
    detail (hover text). One panel per dimension, stacked; the two groups dodged within each level,
    each with its 95% interval; an infinite value or bound as in ``interval_panels``.
    """
    from plotly.subplots import make_subplots

    dimensions = list(dict.fromkeys(table["dimension_label"]))
    groups = list(dict.fromkeys(table["group"]))
    styles = styles or group_styles(groups, reference)
    sizes = [table.loc[table["dimension_label"] == d, "level_label"].nunique() for d in dimensions]
    fig = make_subplots(
        rows=max(len(dimensions), 1),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[max(s, 1) for s in sizes] or None,
        subplot_titles=dimensions,
    )
    finite = table[["value", "lower", "upper"]].to_numpy(dtype=float)
    finite = finite[np.isfinite(finite)]
    edge = (float(finite.max()) if finite.size else 1.0) * 1.1 or 1.0
    if percent:
        edge = min(edge, 1.0)
    for k, dimension in enumerate(dimensions, start=1):
        block = table[table["dimension_label"] == dimension]
        levels = list(dict.fromkeys(block["level_label"]))
        for group in [g for g in groups if g != reference] + [g for g in groups if g == reference]:
            rows = block[block["group"] == group]
            colour, symbol = styles[group]
            values = rows["value"].astype(float)
            shown = values.mask(np.isinf(values), edge)  # NaN (hidden or not estimable) is not drawn
            tops = rows["upper"].astype(float).mask(lambda s: np.isinf(s), edge)
            plus, minus = _interval_arrays(values.where(np.isfinite(values)), rows["lower"].astype(float), tops)
            fig.add_trace(
                go.Scatter(
                    x=shown,
                    y=rows["level_label"],
                    mode="markers",
                    orientation="h",
                    name=group_label(group, group == reference),
                    legendgroup=group,
                    showlegend=k == 1,
                    marker={
                        "color": colour,
                        "symbol": [symbol if np.isfinite(v) else "triangle-right-open" for v in values],
                        "size": 10,
                        "line": {"width": 2, "color": colour},
                    },
                    error_x=_error_bars(plus, minus, colour, thickness=1.5, width=3),
                    customdata=[[r.group, r.level_label, str(r.detail)] for r in rows.itertuples(index=False)],
                    hovertemplate="<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]}<extra></extra>",
                ),
                row=k,
                col=1,
            )
        fig.update_yaxes(categoryorder="array", categoryarray=levels[::-1], row=k, col=1)
    fig.update_xaxes(
        range=[0, edge],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#0b0c0c",
        tickformat=".0%" if percent else None,
    )
    fig.update_xaxes(title_text=axis_title, row=max(len(dimensions), 1), col=1)
    fig.update_layout(scattermode="group", scattergap=0.4)
    _base_layout(fig, title, subtitle, max(360, 170 + 30 * sum(sizes) + 40 * len(dimensions)))
    fig.update_layout(margin={"l": 10, "r": 20, "t": 110, "b": 40})
    return _legend_below(fig)


# --- Organisation page -------------------------------------------------------------------------

# How each organisation's point is drawn by where it falls against the funnel: (legend name, colour, symbol).
FUNNEL_MARKERS: dict[str, tuple[str, str, str]] = {
    "similar": ("Within the 95% limits", PALETTE[0], "circle-open"),
    "higher_95": ("Above the 95% limit", PALETTE[3], "square"),
    "lower_95": ("Below the 95% limit", PALETTE[1], "square"),
    "higher_99.8": ("Above the 99.8% limit (outlier)", PALETTE[2], "diamond"),
    "lower_99.8": ("Below the 99.8% limit (outlier)", PALETTE[1], "triangle-down"),
}


def funnel_chart(
    funnel: pd.DataFrame, limits: pd.DataFrame, average: float, title: str, subtitle: str, *, centre: str = "National"
) -> go.Figure:
    """Funnel plot: each organisation's referral rate per 1,000 against its practitioner-years.

    ``funnel`` has columns label (the organisation's name, or "Another organisation" where the viewer may
    not see it), cases, headcount, rate, significance, is_selected; rows with a hidden rate are not drawn.
    ``limits`` has columns headcount, lower_95, upper_95, lower_998, upper_998 (the curves). The centre
    line is ``average``; outliers (beyond 99.8%) have their own marker shape; the selected organisation is
    ringed and labelled. The y axis starts at zero.
    """
    fig = go.Figure()
    for level, dash, width in (("998", "dash", 1.5), ("95", "dot", 1.5)):
        name = "99.8% limits" if level == "998" else "95% limits"
        for side in ("upper", "lower"):
            fig.add_trace(
                go.Scatter(
                    x=limits["headcount"],
                    y=limits[f"{side}_{level}"],
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=side == "upper",
                    line={"color": PALETTE[4], "dash": dash, "width": width},
                    hoverinfo="skip",
                )
            )
    if len(limits):
        fig.add_trace(
            go.Scatter(
                x=[limits["headcount"].min(), limits["headcount"].max()],
                y=[average, average],
                mode="lines",
                name=f"{centre} average ({_fmt(average, 2)} per 1,000)",
                line={"color": REFERENCE_COLOUR, "width": 2},
                hoverinfo="skip",
            )
        )
    shown = funnel[pd.to_numeric(funnel["rate"], errors="coerce").notna()]
    for band, (name, colour, symbol) in FUNNEL_MARKERS.items():
        rows = shown[shown["significance"] == band]
        if rows.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=rows["headcount"],
                y=rows["rate"],
                mode="markers",
                name=name,
                marker={
                    "color": colour,
                    "symbol": symbol,
                    "size": 11 if "99.8" in band else 8,
                    "line": {"width": 1.5, "color": colour},
                },
                customdata=[
                    [r.label, _fmt(r.cases, 0), _fmt(r.headcount, 0), name] for r in rows.itertuples(index=False)
                ],
                hovertemplate=(
                    "<b>%{customdata[0]}</b><br>Referrals per 1,000: %{y:.2f}<br>Referrals: %{customdata[1]}"
                    "<br>Practitioner-years: %{customdata[2]}<br>%{customdata[3]}<extra></extra>"
                ),
            )
        )
    selected = shown[shown["is_selected"].astype(bool)]
    for r in selected.itertuples(index=False):
        fig.add_trace(
            go.Scatter(
                x=[r.headcount],
                y=[r.rate],
                mode="markers+text",
                name=f"Selected: {r.label}",
                text=[textwrap.shorten(r.label, 40, placeholder="…")],
                textposition="top center",
                marker={
                    "color": REFERENCE_COLOUR,  # an open symbol's ring takes the marker colour
                    "symbol": "circle-open",
                    "size": 22,
                    "line": {"width": 2.5, "color": REFERENCE_COLOUR},
                },
                hoverinfo="skip",
            )
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
    fig.update_xaxes(
        title_text="Practitioner-years (headcount summed over the financial years)",
        rangemode="tozero",
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#b1b4b6",
        separatethousands=True,
    )
    fig.update_yaxes(
        title_text="Referrals per 1,000 practitioners a year",
        range=[0, top * 1.12],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
        zerolinecolor="#b1b4b6",
    )
    fig = _base_layout(fig, title, subtitle, 520)
    return _legend_below(fig)


def org_national_chart(
    org_groups: pd.DataFrame, org_name: str, title: str, subtitle: str, *, centre: str = "National"
) -> go.Figure:
    """Rates per 1,000 by group for one organisation beside the comparator, each with its 95% interval.

    ``org_groups`` has columns group, is_reference, rate, rate_lower, rate_upper, national_rate,
    national_lower, national_upper, cases, headcount; a hidden organisation rate is not drawn.
    """
    labels = _labels(org_groups)
    fig = go.Figure()
    series = (
        (org_name, ("rate", "rate_lower", "rate_upper"), PALETTE[0], "circle"),
        (centre, ("national_rate", "national_lower", "national_upper"), REFERENCE_COLOUR, "diamond-open"),
    )
    for name, (value, lower, upper), colour, symbol in series:
        short = textwrap.shorten(name, 60, placeholder="…")
        values = org_groups[value]
        plus, minus = _interval_arrays(values, org_groups[lower], org_groups[upper])
        fig.add_trace(
            go.Scatter(
                x=values,
                y=labels,
                mode="markers",
                name=short,
                marker={"color": colour, "symbol": symbol, "size": 11, "line": {"width": 2, "color": colour}},
                error_x=_error_bars(plus, minus, colour, thickness=2, width=5),
                hovertemplate=f"<b>{short}</b> · %{{y}}<br>Referrals per 1,000: %{{x:.2f}}<extra></extra>",
            )
        )
    upper = pd.concat([org_groups["rate_upper"], org_groups["national_upper"]]).astype(float)
    top = float(np.nanmax(upper.to_numpy())) if upper.notna().any() else 1.0
    fig.update_layout(scattermode="group", scattergap=0.5)
    fig.update_xaxes(
        title_text="Referrals per 1,000 practitioners a year",
        range=[0, top * 1.08],
        showgrid=True,
        gridcolor="#e5e5e5",
        zeroline=True,
    )
    fig.update_yaxes(autorange="reversed", showgrid=False)
    fig = _base_layout(fig, title, subtitle, _row_height(len(org_groups)) + 40)
    return _legend_below(fig)
