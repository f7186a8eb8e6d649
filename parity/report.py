"""Words and display tables for people: findings as sentences, numbers through the named formats.

Pure functions on DataFrames that have already passed disclosure control.
"""

from __future__ import annotations

import math

import pandas as pd

from parity import formats


def judgement_words(in_band: object, significant: object) -> str:
    """ "outside the 0.80–1.25 band, significant" and the like; "" for the reference or unknown."""
    if in_band is None or significant is None or pd.isna(in_band) or pd.isna(significant):
        return ""
    band = "inside" if in_band else "outside"
    sig = "statistically significant" if significant else "not statistically significant"
    return f"{band} the 0.80–1.25 band, {sig}"


def times_as_often(ratio: float) -> str:
    if ratio >= 1:
        return f"{ratio:.2f} times as often as"
    return f"{1 / ratio:.2f} times less often than" if ratio > 0 else "never, unlike"


def rl_sentence(row: pd.Series, reference: str, noun: str = "practitioners", verb: str = "were referred") -> str:
    """One headline: "Ethnic minority ... practitioners were referred 1.74 times as often as White (95% CI ...)"."""
    group = row["group"]
    rl = row["rl"]
    if rl is None or (isinstance(rl, float) and math.isnan(rl)):
        return f"{group} {noun}: too few referrals to compare with {reference} (numbers hidden or not estimable)."
    return (
        f"{group} {noun} {verb} **{times_as_often(float(rl))} {reference}** {noun} "
        f"(relative likelihood {formats.ratio2(rl)}, 95% CI {formats.interval(row['rl_lower'], row['rl_upper'])}): "
        f"{judgement_words(row['in_band'], row['significant'])}."
    )


def referral_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The accessible table under a referral chart, and its CSV download."""
    return pd.DataFrame(
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
            "Judgement": [
                ("reference" if r else judgement_words(b, s))
                for b, s, r in zip(summary["in_band"], summary["significant"], summary["is_reference"], strict=True)
            ],
            "Small numbers": summary["small_numbers"].map({True: "yes", False: ""}),
        }
    )


# --- Concern rates page ------------------------------------------------------------------------

_PLURAL_PMQ: dict[str, str] = {
    "UK graduate": "UK graduates",
    "EEA graduate": "EEA graduates",
    "International medical graduate (IMG)": "international medical graduates (IMGs)",
    "Non-UK graduate (EEA or IMG)": "non-UK graduates (EEA or IMG)",
}
_SHORT_PMQ: dict[str, str] = {**_PLURAL_PMQ, "International medical graduate (IMG)": "IMGs"}


def group_noun(group: str) -> str:
    """The people in a group, for a sentence: "Black or Black British practitioners", "White UK graduates"."""
    if " · " in group:
        ethnic, pmq = group.split(" · ", 1)
        if pmq in _SHORT_PMQ:
            return f"{ethnic} {_SHORT_PMQ[pmq]}"
        return f"{ethnic} practitioners whose place of qualification is not known"
    if group in _PLURAL_PMQ:
        return _PLURAL_PMQ[group]
    if group[:1].isdigit() or group.startswith(("Under", "65")):
        return f"practitioners aged {group.lower() if group.startswith('Under') else group}"
    return f"{group} practitioners"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def ratio_phrase(ratio: float) -> str:
    """ "are referred 2.0 times as often as" (one decimal, for titles), or "... at 0.62 times the rate of"."""
    if ratio >= 1:
        return f"are referred {ratio:.1f} times as often as"
    return f"are referred at {ratio:.2f} times the rate of"


def _comparable(table: pd.DataFrame, value: str = "rl") -> pd.DataFrame:
    """Rows that can carry a headline: not the reference, not an unknown group, a ratio shown and above 0."""
    from parity.contract import is_unknown_group

    keep = ~table["is_reference"].astype(bool) & ~table["group"].map(is_unknown_group)
    values = pd.to_numeric(table[value], errors="coerce")
    return table[keep & (values > 0)]


def largest_gap(table: pd.DataFrame) -> pd.Series | None:
    """The row furthest from 1 (on the log scale) among those whose interval excludes 1; None if none does."""
    rows = _comparable(table)
    rows = rows[rows["significant"].eq(True)]
    if rows.empty:
        return None
    distance = rows["rl"].astype(float).map(lambda v: abs(math.log(v)))
    return rows.loc[distance.idxmax()]


def gap_title(row: pd.Series, reference: str) -> str:
    """ "Black or Black British practitioners are referred 2.0 times as often as White practitioners"."""
    return _capital(f"{group_noun(row['group'])} {ratio_phrase(float(row['rl']))} {group_noun(reference)}")


def no_gap_title(reference: str, what: str = "No group's referral rate") -> str:
    return f"{what} differs significantly from that of {group_noun(reference)}"


def rates_title(summary: pd.DataFrame, reference: str) -> str:
    """The rate chart's finding: the highest rate shown, against the reference group's."""
    rows = _comparable(summary, "rate")
    ref = summary[summary["is_reference"].astype(bool)]
    if rows.empty:
        return "Referral rates by group"
    top = rows.loc[rows["rate"].astype(float).idxmax()]
    text = f"{group_noun(top['group'])} have the highest referral rate shown: {formats.rate2(top['rate'])} per 1,000"
    if not ref.empty and not pd.isna(ref["rate"].iloc[0]):
        text += f", against {formats.rate2(ref['rate'].iloc[0])} for {group_noun(reference)}"
    return _capital(text)


def forest_title(summary: pd.DataFrame, reference: str) -> str:
    """The forest plot's finding: how many groups differ significantly, and the largest gap."""
    rows = _comparable(summary)
    higher = int((rows["direction"] == "higher").sum())
    lower = int((rows["direction"] == "lower").sum())
    top = largest_gap(summary)
    if top is None:
        return no_gap_title(reference)
    counts = []
    if higher:
        counts.append(f"{higher} of {len(rows)} groups are referred significantly more often")
    if lower:
        counts.append(f"{lower} significantly less often")
    return (
        f"{' and '.join(counts)} than {group_noun(reference)}; "
        f"the largest gap: {formats.ratio2(top['rl'])} for {group_noun(top['group'])}"
    )


def intersection_title(crossed: pd.DataFrame, within: pd.DataFrame) -> str:
    """Whether the ethnic gap is among UK graduates, among those qualified abroad, or both.

    ``within`` compares each cell with White practitioners of the same place of qualification;
    ``crossed`` compares every cell with White UK graduates (used when no ethnic gap is found).
    """
    uk = "UK graduate"
    gaps = within[within["direction"] == "higher"]
    gaps = _comparable(gaps)
    at_home = gaps[gaps["pmq"] == uk]
    abroad = gaps[gaps["pmq"] != uk]

    def widest(rows: pd.DataFrame) -> pd.Series:
        return rows.loc[rows["rl"].astype(float).idxmax()]

    if at_home.empty and abroad.empty:
        top = largest_gap(crossed)
        if top is None:
            return "No ethnic group's rate differs significantly from White practitioners' with the same qualification"
        return _capital(
            f"The gap follows place of qualification, not ethnicity: {group_noun(top['group'])} "
            f"{ratio_phrase(float(top['rl']))} White UK graduates"
        )
    parts = []
    if not abroad.empty:
        top = widest(abroad)
        pmq_group = _PLURAL_PMQ.get(top["pmq"], top["pmq"])
        parts.append(f"among {pmq_group}, {top['ethnic_group']} {ratio_phrase(float(top['rl']))} White ones")
    if not at_home.empty:
        top = widest(at_home)
        parts.append(f"among UK graduates, {top['ethnic_group']} {ratio_phrase(float(top['rl']))} White ones")
    else:
        parts.append("among UK graduates no ethnic group differs significantly from White")
    return _capital("; ".join(parts))


def concern_title(concerns: pd.DataFrame, reference: str) -> str:
    """The concern type with the largest significant gap against the reference group."""
    top = largest_gap(concerns)
    if top is None:
        return f"For no concern type is a group's rate significantly different from that of {group_noun(reference)}"
    return _capital(
        f"{top['concern_label']} concerns: {group_noun(top['group'])} {ratio_phrase(float(top['rl']))} "
        f"{group_noun(reference)}"
    )


def trend_title(trend: pd.DataFrame, group: str | None, reference: str) -> str:
    """The group's relative likelihood in the first and the last window shown."""
    if group is None or group == reference:
        return f"Referral rates over time; reference: {group_noun(reference)}"
    rows = trend[(trend["group"] == group) & pd.to_numeric(trend["rl"], errors="coerce").gt(0)]
    if rows.empty:
        return f"Referral rates over time for {group_noun(group)}: too few referrals to compare each period"
    first, last = rows.iloc[0], rows.iloc[-1]
    text = f"{group_noun(group)} {ratio_phrase(float(first['rl']))} {group_noun(reference)} in {first['period']}"
    if last["period"] != first["period"]:
        text += f", and {float(last['rl']):.1f} times in {last['period']}"
    return _capital(text)


def breakdown_title(rows: pd.DataFrame, dimension: str, group: str, reference: str) -> str:
    """Where, within one breakdown, the drilled group's gap against the reference is widest."""
    if group == reference:
        return _capital(f"{group_noun(group)} (the reference group) by {dimension}")
    top = largest_gap(rows)
    if top is None:
        return _capital(
            f"In no {dimension} does the rate for {group_noun(group)} differ significantly from that of "
            f"{group_noun(reference)}"
        )
    return _capital(
        f"{top['level_label']}: {group_noun(group)} {ratio_phrase(float(top['rl']))} {group_noun(reference)}, "
        f"the widest significant gap by {dimension}"
    )


def referral_table_by(summary: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """``referral_table`` with leading columns (e.g. {"concern_label": "Concern type"}) for the breakdown."""
    table = referral_table(summary.reset_index(drop=True))
    for position, (column, header) in enumerate(columns.items()):
        table.insert(position, header, summary[column].reset_index(drop=True))
    return table
