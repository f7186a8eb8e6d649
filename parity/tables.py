"""Display tables for people: what sits under each chart (``st.dataframe``) and goes into its CSV, plus the
tables that feed the small-multiple charts. Numbers through the named formats; phrases from ``wording``.

Pure functions on DataFrames that have already passed disclosure control.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from parity import formats
from parity.contract import is_unknown_group
from parity.measures import DAYS_PER_MONTH, NESTED_PARTS
from parity.wording import (
    assurance_words,
    capitalise,
    judgement_words,
    median_interval,
    median_sentence,
    months1,
    variation_words,
)

# --- Overview and Concern rates pages ------------------------------------------------------------


def referral_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The accessible table under a referral chart, and its CSV download.

    "Band" is where the whole 95% interval lies against 0.80–1.25 (outside, within or inconclusive). Where the
    summary has adjusted relative likelihoods, they follow the crude ones, with their own band.
    """
    table = pd.DataFrame(
        {
            "Group": [
                g + (" (reference)" if r else "")
                for g, r in zip(summary["group"], summary["is_reference"], strict=True)
            ],
            "Referrals": summary["cases"].map(formats.int0),
            "Practitioner-years": summary["headcount"].map(formats.int0),
            "Rate per 1,000": summary["rate"].map(formats.rate2),
            "Rate 95% CI": [
                formats.interval(lo, hi, formats.rate2)
                for lo, hi in zip(summary["rate_lower"], summary["rate_upper"], strict=True)
            ],
            "Relative likelihood": [
                ("1 (reference)" if r else formats.ratio2(v))
                for v, r in zip(summary["rl"], summary["is_reference"], strict=True)
            ],
            "RL 95% CI": [
                ("" if r else formats.interval(lo, hi))
                for lo, hi, r in zip(summary["rl_lower"], summary["rl_upper"], summary["is_reference"], strict=True)
            ],
            "Band": _bands(summary, "band"),
            "Judgement": [
                "reference" if r else "no referrals: not compared" if c == 0 else judgement_words(b, s)
                for b, s, r, c in zip(
                    summary.get("band", pd.Series(None, index=summary.index)),
                    summary["significant"],
                    summary["is_reference"],
                    summary["cases"],
                    strict=True,
                )
            ],
            "Small numbers": summary["small_numbers"].map({True: "yes", False: ""}),
        }
    )
    if "flagged" in summary:
        table.insert(
            table.columns.get_loc("Judgement") + 1,
            "Flagged (FDR 5%)",
            [
                "" if r else "yes" if f is True else "no" if f is False else "not tested"
                for f, r in zip(summary["flagged"], summary["is_reference"], strict=True)
            ],
        )
    if "adj_rl" in summary and summary["adj_rl"].notna().any():
        at = table.columns.get_loc("RL 95% CI") + 1
        table.insert(at, "Adjusted RL", [
            ("1 (reference)" if r else formats.ratio2(v))
            for v, r in zip(summary["adj_rl"], summary["is_reference"], strict=True)
        ])  # fmt: skip
        table.insert(at + 1, "Adjusted RL 95% CI", [
            ("" if r else formats.interval(lo, hi))
            for lo, hi, r in zip(
                summary["adj_rl_lower"], summary["adj_rl_upper"], summary["is_reference"], strict=True
            )
        ])  # fmt: skip
        table.insert(table.columns.get_loc("Band") + 1, "Adjusted band", _bands(summary, "adj_band"))
    return table


def _bands(summary: pd.DataFrame, column: str) -> list[str]:
    """outside / within / inconclusive per row; "reference" for the reference; "" where there is no ratio."""
    values = summary[column] if column in summary else pd.Series(None, index=summary.index, dtype=object)
    return [
        "reference" if r else (str(b) if isinstance(b, str) else "")
        for b, r in zip(values, summary["is_reference"], strict=True)
    ]


def referral_table_by(summary: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``referral_table`` with leading columns (e.g. {"concern_label": "Concern type"}) for the breakdown."""
    table = referral_table(summary.reset_index(drop=True))
    for position, (column, header) in enumerate(columns.items()):
        table.insert(position, header, summary[column].reset_index(drop=True))
    return table


# --- Outcomes and Durations pages ----------------------------------------------------------------


def _judgement(row: pd.Series) -> str:
    if row["is_reference"]:
        return "reference"
    if row.get("flagged") is True:
        if pd.isna(row["rr"]):
            # No ratio to give a direction (no cases on one side): the test flags a difference, not its size.
            return "flagged: a difference, ratio not computable"
        return f"flagged: {'higher' if float(row['rr']) > 1 else 'lower'}"
    if row.get("flagged") is False:
        return "not flagged"
    if is_unknown_group(row["group"]) and not pd.isna(row.get("p_value")):
        return "data quality: not flagged against the reference"
    if row.get("measure") in NESTED_PARTS and not pd.isna(row.get("p_value")):
        return "part of exclusion or suspension: tested there"
    return ""


def _groups(table: pd.DataFrame) -> list[str]:
    return [g + (" (reference)" if r else "") for g, r in zip(table["group"], table["is_reference"], strict=True)]


def _pct_interval(lower: object, upper: object) -> str:
    return formats.interval(lower, upper, formats.pct1)


def _intervals(table: pd.DataFrame, lower: str, upper: str, text, *, blank_reference: bool = False) -> list[str]:
    """One interval's ``text(lower, upper)`` per row ("*" where hidden); blank for the reference when asked."""
    return [
        "" if blank_reference and r else text(lo, hi)
        for lo, hi, r in zip(table[lower], table[upper], table["is_reference"], strict=True)
    ]


def _ratios(table: pd.DataFrame) -> list[str]:
    return [
        "1 (reference)" if r else "n/a" if pd.isna(v) and not s else formats.ratio2(v)
        for v, r, s in zip(table["rr"], table["is_reference"], table["suppressed"], strict=True)
    ]


def outcomes_table(measures: pd.DataFrame) -> pd.DataFrame:
    """The accessible table of the Outcomes page (and its CSV): one row per group and measure."""
    return pd.DataFrame(
        {
            "Group": _groups(measures),
            "Measure": measures["label"],
            "Among": measures["kind"].map({"stage": "all cases", "outcome": "closed cases"}),
            "Cases": measures["events"].map(formats.int0),
            "Out of": measures["denominator"].map(formats.int0),
            "Share": measures["proportion"].map(formats.pct1),
            "Share 95% CI": _intervals(measures, "lower", "upper", _pct_interval),
            "Risk ratio": _ratios(measures),
            "RR 95% CI": _intervals(measures, "rr_lower", "rr_upper", formats.interval, blank_reference=True),
            "p-value": [
                ("" if r else formats.pvalue(p))
                for p, r in zip(measures["p_value"], measures["is_reference"], strict=True)
            ],
            "Test": measures["test"].map({"fisher_exact": "Fisher's exact", "chi_square": "chi-square"}).fillna(""),
            "Judgement": [_judgement(row) for _, row in measures.iterrows()],
        }
    )


def outcomes_breakdown_table(breakdown: pd.DataFrame, dimension_labels: dict[str, str]) -> pd.DataFrame:
    """The drill's table: the drilled and reference groups' key measures in each level of each breakdown."""
    return pd.DataFrame(
        {
            "Breakdown": breakdown["dimension"].map(dimension_labels).map(capitalise),
            "Level": breakdown["level_label"],
            "Group": _groups(breakdown),
            "Measure": breakdown["label"],
            "Cases": breakdown["events"].map(formats.int0),
            "Out of": breakdown["denominator"].map(formats.int0),
            "Share": breakdown["proportion"].map(formats.pct1),
            "Share 95% CI": _intervals(breakdown, "lower", "upper", _pct_interval),
            "Risk ratio": _ratios(breakdown),
            "RR 95% CI": _intervals(breakdown, "rr_lower", "rr_upper", formats.interval, blank_reference=True),
        }
    )


def _open_shares(summary: pd.DataFrame, months: int) -> list[str]:
    """The share still open; "n/a" where no one in the group was followed that long (not hidden: "*")."""
    return [
        "n/a" if pd.isna(v) and not s else formats.pct1(v)
        for v, s in zip(summary[f"open_{months}m"], summary["suppressed"], strict=True)
    ]


def durations_table(summary: pd.DataFrame, labels: dict[str, str], *, stratified: bool = False) -> pd.DataFrame:
    """The accessible table of medians, shares still open and log-rank tests (and its CSV); ``stratified``: the
    tests were stratified by referral year, and the column says so."""
    return pd.DataFrame(
        {
            "Measure": summary["measure"].map(labels),
            "Group": _groups(summary),
            "Followed": summary["n"].map(formats.int0),
            "Ended": summary["events"].map(formats.int0),
            "Open at extract date (censored)": summary["censored"].map(formats.int0),
            "Median (days)": [
                "not reached" if not pd.isna(v) and math.isinf(v) else formats.int0(v) for v in summary["median"]
            ],
            "Median": summary["median"].map(months1),
            "Median 95% CI": _intervals(summary, "median_lower", "median_upper", median_interval),
            "Still open at 6 months": _open_shares(summary, 6),
            "6 months 95% CI": _intervals(summary, "open_6m_lower", "open_6m_upper", _pct_interval),
            "Still open at 12 months": _open_shares(summary, 12),
            "12 months 95% CI": _intervals(summary, "open_12m_lower", "open_12m_upper", _pct_interval),
            ("Log-rank p, stratified by referral year" if stratified else "Log-rank p"): [
                ("" if r else formats.pvalue(p))
                for p, r in zip(summary["p_value"], summary["is_reference"], strict=True)
            ],
            "Judgement": [
                "reference" if r else "flagged" if f is True else "not flagged" if f is False else ""
                for f, r in zip(summary["flagged"], summary["is_reference"], strict=True)
            ],
        }
    )


def risk_table(risk: pd.DataFrame) -> pd.DataFrame:
    """The Kaplan–Meier curves in words: share still open and number at risk at set months."""
    return pd.DataFrame(
        {
            "Group": _groups(risk),
            "Months since the start": risk["months"],
            "Share still open": risk["survival"].map(formats.pct1),
            "95% CI": _intervals(risk, "lower", "upper", _pct_interval),
            "At risk": risk["at_risk"].map(formats.int0),
        }
    )


def durations_breakdown_table(breakdown: pd.DataFrame, dimension_labels: dict[str, str]) -> pd.DataFrame:
    """The drill's table: referral to closure for the drilled and reference groups in each level."""
    return pd.DataFrame(
        {
            "Breakdown": breakdown["dimension"].map(dimension_labels).map(capitalise),
            "Level": breakdown["level_label"],
            "Group": _groups(breakdown),
            "Cases": breakdown["n"].map(formats.int0),
            "Closed": breakdown["events"].map(formats.int0),
            "Median": breakdown["median"].map(months1),
            "Median 95% CI": _intervals(breakdown, "median_lower", "median_upper", median_interval),
            "Still open at 12 months": _open_shares(breakdown, 12),
            "12 months 95% CI": _intervals(breakdown, "open_12m_lower", "open_12m_upper", _pct_interval),
        }
    )


# Tables that feed charts.interval_panels and charts.breakdown_dots: value, interval and hover text.


def _share_detail(row: pd.Series) -> str:
    text = f"{formats.pct1(row['proportion'])} (95% CI {_pct_interval(row['lower'], row['upper'])})"
    text += f"<br>{formats.int0(row['events'])} of {formats.int0(row['denominator'])} " + (
        "closed cases" if row["kind"] == "outcome" else "cases"
    )
    if not row["is_reference"] and not pd.isna(row["rr"]):
        text += (
            f"<br>Risk ratio {formats.ratio2(row['rr'])} (95% CI {formats.interval(row['rr_lower'], row['rr_upper'])})"
        )
    if row.get("flagged") is True:
        text += "<br>Flagged (Benjamini–Hochberg)"
    return text


def share_panels(measures: pd.DataFrame, keys: tuple[str, ...]) -> pd.DataFrame:
    """One panel per measure in ``keys``: each group's share with its Wilson interval."""
    rows = measures[measures["measure"].isin(keys)].copy()
    rows["_order"] = rows["measure"].map({m: i for i, m in enumerate(keys)})
    rows = rows.sort_values("_order", kind="stable")
    return pd.DataFrame(
        {
            "panel": rows["label"].where(rows["kind"] != "outcome", rows["label"] + " (of closed cases)"),
            "group": rows["group"],
            "value": rows["proportion"],
            "lower": rows["lower"],
            "upper": rows["upper"],
            "is_reference": rows["is_reference"],
            "flagged": rows["flagged"],
            "detail": [_share_detail(row) for _, row in rows.iterrows()],
        }
    )


def _months_value(days: pd.Series) -> pd.Series:
    return days.astype(float) / DAYS_PER_MONTH


def median_panels(summary: pd.DataFrame, labels: dict[str, str]) -> pd.DataFrame:
    """One panel per duration measure: each group's median in months, with its interval (inf: not reached)."""
    return pd.DataFrame(
        {
            "panel": summary["measure"].map(labels),
            "group": summary["group"],
            "value": _months_value(summary["median"]),
            "lower": _months_value(summary["median_lower"]),
            "upper": _months_value(summary["median_upper"]),
            "is_reference": summary["is_reference"],
            "flagged": summary["flagged"],
            "detail": [
                f"{median_sentence(row)}<br>{formats.int0(row['n'])} followed, {formats.int0(row['censored'])} "
                f"censored<br>Log-rank p {formats.pvalue(row['p_value']) if not row['is_reference'] else '(reference)'}"
                for _, row in summary.iterrows()
            ],
        }
    )


def open_share_panels(summary: pd.DataFrame, months: tuple[int, ...]) -> pd.DataFrame:
    """One panel per time: each group's Kaplan–Meier share still open that long after the start."""
    parts = []
    for m in months:
        parts.append(
            pd.DataFrame(
                {
                    "panel": f"Still open {m} months after referral",
                    "group": summary["group"],
                    "value": summary[f"open_{m}m"],
                    "lower": summary[f"open_{m}m_lower"],
                    "upper": summary[f"open_{m}m_upper"],
                    "is_reference": summary["is_reference"],
                    "flagged": summary["flagged"],
                    "detail": [
                        f"{formats.pct1(v)} still open (95% CI {_pct_interval(lo, hi)})"
                        for v, lo, hi in zip(
                            summary[f"open_{m}m"], summary[f"open_{m}m_lower"], summary[f"open_{m}m_upper"], strict=True
                        )
                    ],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def breakdown_dots(breakdown: pd.DataFrame, dimension_labels: dict[str, str], value: str) -> pd.DataFrame:
    """Rows for charts.breakdown_dots: a share (``value`` "proportion") or a median in months ("median")."""
    if value == "proportion":
        values, lower, upper = breakdown["proportion"], breakdown["lower"], breakdown["upper"]
        details = [_share_detail(row) for _, row in breakdown.iterrows()]
    else:
        values, lower, upper = (_months_value(breakdown[c]) for c in ("median", "median_lower", "median_upper"))
        details = [
            f"{median_sentence(row)}<br>{formats.int0(row['n'])} cases, {formats.int0(row['censored'])} still open"
            for _, row in breakdown.iterrows()
        ]
    return pd.DataFrame(
        {
            "dimension_label": breakdown["dimension"].map(dimension_labels).map(capitalise),
            "level_label": breakdown["level_label"],
            "group": breakdown["group"],
            "value": values,
            "lower": lower,
            "upper": upper,
            "is_reference": breakdown["is_reference"],
            "detail": details,
        }
    )


# --- Organisation page ---------------------------------------------------------------------------

FUNNEL_WORDS: dict[str, str] = {
    "similar": "within the 95% limits",
    "higher_95": "above the 95% limit",
    "lower_95": "below the 95% limit",
    "higher_99.8": "above the 99.8% limit",
    "lower_99.8": "below the 99.8% limit",
}


def funnel_table(
    funnel: pd.DataFrame,
    *,
    numerator: str = "Referrals",
    denominator: str = "Practitioner-years",
    value: str = "Rate per 1,000",
    fmt=formats.rate2,
) -> pd.DataFrame:
    """The accessible table under the funnel plot: outliers first, then by rate, highest first.

    The column names and the value's format follow what the funnel shows (referral rates by default; a
    pathway step's share with ``fmt=formats.pct1``)."""
    rank = {band: i for i, band in enumerate(("higher_99.8", "higher_95", "similar", "lower_95", "lower_99.8"))}
    rows = funnel.assign(
        _band=funnel["significance"].map(rank).fillna(len(rank)), _rate=pd.to_numeric(funnel["rate"])
    ).sort_values(["is_selected", "_band", "_rate"], ascending=[False, True, False], kind="stable")
    return pd.DataFrame(
        {
            "Organisation": [
                label + (" (selected)" if selected else "")
                for label, selected in zip(rows["label"], rows["is_selected"], strict=True)
            ],
            numerator: rows["cases"].map(formats.int0).to_numpy(),
            denominator: rows["headcount"].map(formats.int0).to_numpy(),
            value: rows["rate"].map(fmt).to_numpy(),
            "95% limits": [
                formats.interval(lo, hi, fmt) for lo, hi in zip(rows["lower_95"], rows["upper_95"], strict=True)
            ],
            "99.8% limits": [
                formats.interval(lo, hi, fmt) for lo, hi in zip(rows["lower_998"], rows["upper_998"], strict=True)
            ],
            "Against the funnel": [
                FUNNEL_WORDS.get(s, formats.SUPPRESSED) if isinstance(s, str) else formats.SUPPRESSED
                for s in rows["significance"]
            ],
        }
    )


def org_groups_table(org_groups: pd.DataFrame, centre: str = "National") -> pd.DataFrame:
    """The organisation's rates by group beside the comparator's, its within-organisation RL and each group's ISR."""
    table = referral_table(org_groups.reset_index(drop=True)).drop(columns=["Judgement", "Small numbers"])
    table.insert(5, f"{centre} rate per 1,000", org_groups["national_rate"].map(formats.rate2).to_numpy())
    table.insert(
        6,
        f"{centre} 95% CI",
        [
            formats.interval(lo, hi, formats.rate2)
            for lo, hi in zip(org_groups["national_lower"], org_groups["national_upper"], strict=True)
        ],
    )
    table["Expected referrals"] = [
        f"{e:,.1f}" if not pd.isna(e) else formats.SUPPRESSED for e in org_groups["expected"]
    ]
    table["Standardised ratio (ISR)"] = org_groups["isr"].map(formats.ratio2).to_numpy()
    table["ISR 95% CI"] = [
        formats.interval(lo, hi) for lo, hi in zip(org_groups["isr_lower"], org_groups["isr_upper"], strict=True)
    ]
    return table


# --- Downloads -----------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?[\d,]*\.?\d+$")
_PERCENT = re.compile(r"^-?[\d,]*\.?\d+%$")
_INTERVAL = re.compile(r"^(?P<lo>-?[\d,]*\.?\d+%?|not reached) to (?P<hi>-?[\d,]*\.?\d+%?|not reached)$")
_HIDDEN = {formats.SUPPRESSED, "", "n/a"}


def _number(text: str) -> float:
    if text == "not reached":
        return math.inf
    return float(text.replace(",", "").replace("%", "").replace(" months", ""))


def _kind(values: pd.Series) -> str | None:
    """What a display column holds: numbers, percentages, intervals, or text (None)."""
    shown = [str(v).removesuffix(" months").removesuffix(" (reference)") for v in values if str(v) not in _HIDDEN]
    if not shown:
        return None
    for kind, pattern in (("number", _NUMBER), ("percent", _PERCENT), ("interval", _INTERVAL)):
        if all(pattern.match(v) or (kind == "number" and v == "1") for v in shown):
            return kind
    return None


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """A display table as numbers for a spreadsheet: "73,421" → 73421, "12.3%" → 12.3 in a "(%)" column,
    "4.19 to 5.19" → separate lower and upper columns; hidden (*) and not estimable (n/a) cells left empty."""
    out: dict[str, pd.Series] = {}
    for column in table.columns:
        values = table[column]
        kind = _kind(values) if values.dtype == object else None

        def clean(v: object) -> str:
            return str(v).removesuffix(" months").removesuffix(" (reference)")

        if kind in ("number", "percent"):
            name = f"{column} (%)" if kind == "percent" else column
            numbers = values.map(lambda v: math.nan if str(v) in _HIDDEN else _number(clean(v)))
            whole = not any("." in clean(v) for v in values if str(v) not in _HIDDEN)
            out[name] = numbers.round().astype("Int64") if whole else numbers
        elif kind == "interval":
            parts = values.map(lambda v: _INTERVAL.match(clean(v)) if str(v) not in _HIDDEN else None)
            percent = any(m is not None and m["lo"].endswith("%") for m in parts)
            unit = " (%)" if percent else ""
            out[f"{column} lower{unit}"] = parts.map(lambda m: math.nan if m is None else _number(m["lo"]))
            out[f"{column} upper{unit}"] = parts.map(lambda m: math.nan if m is None else _number(m["hi"]))
        else:
            out[column] = values
    return pd.DataFrame(out)


def csv_export(table: pd.DataFrame, about: dict[str, str]) -> bytes:
    """The CSV a board paper can use: a header block (``# key: value`` lines: filters, period, extract date,
    viewer level) and the table with numbers as numbers. ``pandas.read_csv(..., comment="#")`` reads it."""
    head = "".join(f"# {key}: {value}\n" for key, value in about.items())
    head += "# Empty cells: hidden under the disclosure rule, or not estimable.\n"
    return (head + csv_table(table).to_csv(index=False)).encode("utf-8")


def file_stem(stem: str, *parts: str, limit: int = 150) -> str:
    """A download's file name: what it shows, then the split and filters, in safe characters and short
    enough for every file system (whole words are dropped from the end, never cut mid-word)."""
    words = [re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts if p]
    name = stem
    for word in words:
        if word and len(name) + 1 + len(word) <= limit:
            name += f"_{word}"
    return name


# --- Trends ----------------------------------------------------------------------------------------

SPC_COUNT_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "rl": ("Referrals", "Practitioners", "Reference referrals", "Reference practitioners"),
    "rate": ("Referrals", "Practitioners", "", ""),
    "rr": ("Cases reaching the stage", "Cases", "Reference cases reaching it", "Reference cases"),
}


def spc_table(series: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The table under an XmR chart and its CSV: each period's counts, value, interval, limits and signal."""
    number = formats.rate2 if kind == "rate" else formats.ratio2
    names = SPC_COUNT_COLUMNS[kind]
    columns: dict[str, object] = {"Period": series["period"]}
    for name, column in zip(names, ("events", "denominator", "ref_events", "ref_denominator"), strict=True):
        if name:
            columns[name] = series[column].map(formats.int0)
    columns.update(
        {
            "Value": series["value"].map(number),
            "95% CI": [
                formats.interval(lo, hi, number) for lo, hi in zip(series["lower"], series["upper"], strict=True)
            ],
            "Mean": series["centre"].map(lambda v: "" if pd.isna(v) else number(v)),
            "Lower limit": series["lower_limit"].map(lambda v: "" if pd.isna(v) else number(v)),
            "Upper limit": series["upper_limit"].map(lambda v: "" if pd.isna(v) else number(v)),
            "Signal": [
                "Not charted (hidden or not estimable)"
                if t is None or pd.isna(t)
                else ("Common cause" if t == "common_cause" else f"{label}")
                for t, label in zip(series["point_type"], series["special_cause"], strict=True)
            ],
            "Fewer than 10 referrals": series["small_numbers"].map({True: "yes", False: ""}),
        }
    )
    return pd.DataFrame(columns)


def icon_summary_table(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per headline indicator: its latest value and interval, and Making Data Count's icons in words."""
    values, intervals = [], []
    for row in summary.itertuples(index=False):
        number = formats.rate2 if row.kind == "rate" else formats.ratio2
        values.append(number(row.value) + (" ⚠" if row.small_numbers else ""))
        intervals.append(formats.interval(row.lower, row.upper, number))
    return pd.DataFrame(
        {
            "Indicator": summary["label"],
            "Latest period": summary["latest_period"].fillna(""),
            "Latest value": values,
            "95% CI": intervals,
            "Variation": summary["variation_icon"].map(variation_words),
            "Assurance": summary["assurance_icon"].map(assurance_words),
        }
    )


# --- Pathways page ---------------------------------------------------------------------------------


def _flag(row: pd.Series) -> str:
    if row["is_reference"]:
        return "reference"
    if row.get("flagged") is True:
        return f"flagged: {'higher' if float(row['rr']) > 1 else 'lower'}"
    if row.get("significant") is True:
        return "significant, not clearly outside 0.80–1.25"
    if row.get("flagged") is False:
        return "not flagged"
    return ""


def transitions_table(transitions: pd.DataFrame) -> pd.DataFrame:
    """The transition table: one row per step and group, with the share, the ratio, the test and the flag."""
    return pd.DataFrame(
        {
            "Step": transitions["label"].to_numpy(),
            "Group": _groups(transitions),
            "Took the step": transitions["events"].map(formats.int0).to_numpy(),
            "At its start": transitions["denominator"].map(formats.int0).to_numpy(),
            "Share": transitions["share"].map(formats.pct1).to_numpy(),
            "Share 95% CI": _intervals(transitions, "lower", "upper", _pct_interval),
            "Risk ratio": _ratios(transitions),
            "RR 95% CI": _intervals(transitions, "rr_lower", "rr_upper", formats.interval, blank_reference=True),
            "p-value": [
                "" if r else formats.pvalue(p)
                for p, r in zip(transitions["p_value"], transitions["is_reference"], strict=True)
            ],
            "Test": transitions["test"].map({"fisher_exact": "Fisher's exact", "chi_square": "chi-square"}).fillna(""),
            "Flag": [_flag(row) for _, row in transitions.iterrows()],
        }
    )


def pathway_breakdown_table(breakdown: pd.DataFrame, dimension_labels: dict[str, str]) -> pd.DataFrame:
    """The drill's table: one step for the drilled and reference groups in each level of each breakdown."""
    return pd.DataFrame(
        {
            "Breakdown": breakdown["dimension"].map(dimension_labels).map(capitalise).to_numpy(),
            "Level": breakdown["level_label"].to_numpy(),
            "Group": _groups(breakdown),
            "Step": breakdown["label"].to_numpy(),
            "Took the step": breakdown["events"].map(formats.int0).to_numpy(),
            "At its start": breakdown["denominator"].map(formats.int0).to_numpy(),
            "Share": breakdown["share"].map(formats.pct1).to_numpy(),
            "Share 95% CI": _intervals(breakdown, "lower", "upper", _pct_interval),
            "Risk ratio": _ratios(breakdown),
            "RR 95% CI": _intervals(breakdown, "rr_lower", "rr_upper", formats.interval, blank_reference=True),
        }
    )


def flows_table(flows: pd.DataFrame, groups: list[str]) -> pd.DataFrame:
    """The pathway diagram's links as a table: the accessible alternative to the Sankey."""
    rows = flows[flows["group"].isin(groups)]
    return pd.DataFrame(
        {
            "Group": rows["group"].to_numpy(),
            "From": rows["source"].to_numpy(),
            "To": rows["target"].to_numpy(),
            "Cases": rows["n"].map(formats.int0).to_numpy(),
            "Share of the group's cases": rows["share"].map(formats.pct1).to_numpy(),
            "Share 95% CI": [_pct_interval(lo, hi) for lo, hi in zip(rows["lower"], rows["upper"], strict=True)],
        }
    )


# --- Organisation profile ------------------------------------------------------------------------

PROFILE_JUDGEMENT_WORDS = {
    "higher": "significantly higher than the rest",
    "lower": "significantly lower than the rest",
    "similar": "not significantly different",
}


def profile_table(rows: pd.DataFrame, org_name: str, centre: str = "National") -> pd.DataFrame:
    """The accessible table under the profile's spine chart: one row per indicator, hidden values with why."""

    def range_text(r: pd.Series) -> str:
        if pd.isna(r["range_orgs"]):  # an indicator with no range across organisations (the adjusted ratios)
            return "not computed"
        if not r["range_orgs"] or pd.isna(r["range_low"]):
            return formats.SUPPRESSED
        low, high = formats.in_unit(r["range_low"], r["unit"]), formats.in_unit(r["range_high"], r["unit"])
        return f"{low} to {high} ({int(r['range_orgs'])} organisations)"

    def against(r: pd.Series) -> str:
        if isinstance(r["hidden_reason"], str):
            return f"not shown: {r['hidden_reason']}"
        if r["judgement"] is None or (isinstance(r["judgement"], float) and math.isnan(r["judgement"])):
            return "not tested"
        words = PROFILE_JUDGEMENT_WORDS[r["judgement"]]
        return f"{words} (p {formats.pvalue(r['p_value'])})" if pd.notna(r["p_value"]) else words

    return pd.DataFrame(
        {
            "Indicator": rows["label"].to_numpy(),
            org_name: [
                formats.SUPPRESSED if isinstance(h, str) else formats.in_unit(v, u)
                for v, u, h in zip(rows["value"], rows["unit"], rows["hidden_reason"], strict=True)
            ],
            "95% CI": [
                formats.SUPPRESSED if isinstance(h, str) else formats.interval(lo, hi, formats.UNIT_FORMATS[u])
                for lo, hi, u, h in zip(rows["lower"], rows["upper"], rows["unit"], rows["hidden_reason"], strict=True)
            ],
            centre: [formats.in_unit(v, u) for v, u in zip(rows["national"], rows["unit"], strict=True)],
            "Range across organisations": [range_text(r) for _, r in rows.iterrows()],
            "Against the rest": [against(r) for _, r in rows.iterrows()],
            "Test": rows["test"].fillna("").to_numpy(),
        }
    )


# Markdown's punctuation, escaped in a cell so that a value is read as text: never emphasis, a link, a column
# break, LaTeX ($) or one of Streamlit's directives (:red[…], :material/…:).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


def markdown_table(table: pd.DataFrame, *, align_first_left: bool = True) -> str:
    """``table`` as a Markdown (GitHub) table: a header row, then one row per row, every cell as text with its
    punctuation escaped and empty for a missing value. The first column is aligned left, the others right (the
    numbers of a few rows read at a glance)."""

    def cell(value: object) -> str:
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return "" if missing else _MARKDOWN_PUNCTUATION.sub(r"\\\1", " ".join(str(value).split()))

    columns = list(table.columns)
    align = [":---" if i == 0 and align_first_left else "---:" for i in range(len(columns))]
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)
