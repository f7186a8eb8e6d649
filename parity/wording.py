"""Words for people: findings as sentences and chart titles, numbers through the named formats.

Pure functions on DataFrames that have already passed disclosure control. A title states the finding
("Black or Black British practitioners are referred 2.0 times as often as White practitioners"); the
display tables that sit under the charts are in ``parity.tables``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from parity import contract, formats
from parity.contract import is_unknown_group
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import DAYS_PER_MONTH, FOLLOWUP_MONTHS, SMALL_NUMBERS
from parity.stats.intervals import BYAR_FROM

# --- Phrases shared by every page ----------------------------------------------------------------


# How the whole interval sits against the 0.80–1.25 band (``stats.band_judgement``), in words.
BAND_WORDS: dict[str, str] = {
    "outside": "whole interval outside the 0.80–1.25 band",
    "within": "whole interval within the 0.80–1.25 band",
    "inconclusive": "interval crosses an edge of the 0.80–1.25 band, so inconclusive against it",
}


def judgement_words(band: object, significant: object) -> str:
    """ "whole interval outside the 0.80–1.25 band, statistically significant" and the like; "" for the reference
    or where the ratio cannot be computed.

    ``band`` is the three-way reading of the whole interval (``stats.band_judgement``: outside, within,
    inconclusive). A table without it passes ``in_band``, the point estimate against the band, which reads as
    "inside" or "outside the 0.80–1.25 band".
    """
    if band is None or significant is None or pd.isna(band) or pd.isna(significant):
        return ""
    sig = "statistically significant" if significant else "not statistically significant"
    if isinstance(band, (bool, np.bool_)):
        return f"{'inside' if band else 'outside'} the 0.80–1.25 band, {sig}"
    if band not in BAND_WORDS:
        return ""
    return f"{BAND_WORDS[str(band)]}, {sig}"


def _band_of(row: pd.Series) -> object:
    """The three-way band of a row where it has one, else its point-estimate ``in_band``."""
    band = row.get("band")
    return band if isinstance(band, str) else row.get("in_band")


def times_as_often(ratio: float) -> str:
    """ "2.00 times as often as", "1.60 times less often than"; a ratio of 0 has no such phrase (no referrals)."""
    if ratio >= 1:
        return f"{ratio:.2f} times as often as"
    if ratio > 0:
        return f"{1 / ratio:.2f} times less often than"
    raise ValueError("a ratio of 0 means no referrals in the group: say so, not 'times as often'")


def no_referrals_sentence(row: pd.Series, reference: str) -> str:
    """A group with practitioners but no referrals, said plainly."""
    return capitalise(
        f"no {group_noun(row['group'])} were referred under these filters "
        f"(out of {formats.int0(row['headcount'])} practitioner-years), so there is no relative likelihood to "
        f"compare with {group_noun(reference)}."
    )


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
    if group.endswith(" groups"):  # "Mixed or multiple ethnic groups"
        return f"practitioners of {group}"
    return f"{group} practitioners"


# Place of qualification in words that fit a view without doctors: dentists and pharmacists are not
# "international medical graduates". Longest phrases first, so the short ones do not split them.
_NON_MEDICAL_PMQ: tuple[tuple[str, str], ...] = (
    ("International medical graduate (IMG)", "Qualified outside the UK and EEA"),
    ("international medical graduates (IMGs)", "graduates from outside the UK and EEA"),
    ("Non-UK graduate (EEA or IMG)", "Non-UK graduate (EEA or elsewhere)"),
    ("non-UK graduates (EEA or IMG)", "non-UK graduates (EEA or elsewhere)"),
    ("IMGs vs UK graduates", "Qualified outside the UK and EEA vs UK graduates"),
    ("IMGs", "graduates from outside the UK and EEA"),
    ("IMG", "outside the UK and EEA"),
)


def for_professions(text: str, professions: tuple[str, ...]) -> str:
    """The text in the words of the professions in view: "doctors" for a doctors-only view, not
    "practitioners"; no "international medical graduates" in a view without doctors."""
    if not professions:
        return text
    if "doctor" not in professions:
        for medical, plain in _NON_MEDICAL_PMQ:
            text = re.sub(
                rf"\b{re.escape(medical)}(?![\w)])",
                lambda m, plain=plain: capitalise(plain) if m.group(0)[:1].isupper() else plain,
                text,
                flags=re.IGNORECASE,
            )
    if len(professions) == 1:
        noun = contract.PROFESSIONS[professions[0]].lower()
        text = re.sub(r"\bpractitioners\b", noun, text)
        text = re.sub(r"\bPractitioners\b", capitalise(noun), text)
    return text


def capitalise(text: str) -> str:
    """The text with its first letter in capitals (the rest as it is)."""
    return text[:1].upper() + text[1:]


def ratio_phrase(ratio: float) -> str:
    """ "are referred 2.04 times as often as", or "... at 0.62 times the rate of".

    One rounding rule for ratios everywhere (``formats.ratio2``): a heading agrees with the card beside it.
    """
    if ratio >= 1:
        return f"are referred {formats.ratio2(ratio)} times as often as"
    return f"are referred at {formats.ratio2(ratio)} times the rate of"


def months1(days: object) -> str:
    """4.6 months — a duration given in days; "not reached" where infinite."""
    if pd.isna(days):
        return formats.SUPPRESSED
    if math.isinf(float(days)):
        return "not reached"
    return f"{float(days) / DAYS_PER_MONTH:.1f} months"


def median_interval(lower: object, upper: object) -> str:
    """ "4.4 to 4.8 months", "4.4 months to not reached", or "not reached" when even the lower bound is."""
    if not pd.isna(lower) and math.isinf(float(lower)):
        return "not reached"
    return formats.interval(lower, upper, months1)


def median_sentence(row: pd.Series, what: str = "cases") -> str:
    """ "median 4.6 months (95% CI 4.4 months to 4.8 months)"."""
    if pd.isna(row["median"]):
        return f"median {formats.SUPPRESSED}"
    if math.isinf(float(row["median"])):
        return f"median not reached: more than half the {what} are still open"
    return f"median {months1(row['median'])} (95% CI {median_interval(row['median_lower'], row['median_upper'])})"


# --- Overview and Concern rates pages ------------------------------------------------------------


def rl_sentence(row: pd.Series, reference: str, noun: str = "practitioners", verb: str = "were referred") -> str:
    """One headline: "Ethnic minority ... practitioners were referred 1.74 times as often as White (95% CI ...)"."""
    group = row["group"]
    rl = row["rl"]
    if _no_referrals(row):
        return no_referrals_sentence(row, reference)
    if rl is None or (isinstance(rl, float) and math.isnan(rl)):
        return f"{group} {noun}: too few referrals to compare with {reference} (numbers hidden or not estimable)."
    return (
        f"{group} {noun} {verb} **{times_as_often(float(rl))} {reference}** {noun} "
        f"(relative likelihood {formats.ratio2(rl)}, 95% CI {formats.interval(row['rl_lower'], row['rl_upper'])}): "
        f"{judgement_words(_band_of(row), row['significant'])}."
    )


def _no_referrals(row: pd.Series) -> bool:
    """Shown as no referrals at all among practitioners who are there (not hidden, not absent)."""
    cases, headcount = row.get("cases"), row.get("headcount")
    return not pd.isna(cases) and float(cases) == 0 and not pd.isna(headcount) and float(headcount) > 0


# Said once on a page at the protected level, where no adjusted relative likelihood is fitted.
ADJUSTED_AT_FULL_LEVEL = (
    "Adjusted relative likelihoods (practitioners alike in place of qualification, profession, age band and the "
    "rest) are available to analysts at the full level only. They come from a regression on the cells of the "
    "data: on protected (perturbed and rounded) cells it would mean nothing, and fitting it on exact cells would "
    "compute a protected figure from exact counts. The relative likelihoods here are unadjusted."
)


def adjusted_sentence(row: pd.Series, reference: str, adjusted_for: str) -> str:
    """What holding the other characteristics equal does to a gap, for a director.

    "Among practitioners alike in place of qualification, profession, ..., the relative likelihood is 1.37 (95% CI
    1.30 to 1.44), down from 1.75: part of the gap comes from differences in those characteristics, and the rest
    remains between practitioners alike in all of them."
    """
    if not adjusted_for or adjusted_for == "nothing":
        return ""
    adjusted, crude = row.get("adj_rl"), row.get("rl")
    if row.get("is_reference") is True:
        return ""
    if adjusted is None or pd.isna(adjusted) or crude is None or pd.isna(crude):
        return (
            f"Adjusted for {adjusted_for}: the relative likelihood cannot be computed (too few referrals, or numbers "
            "hidden)."
        )
    adjusted, crude = float(adjusted), float(crude)
    interval = formats.interval(row["adj_rl_lower"], row["adj_rl_upper"])
    significant = float(row["adj_rl_lower"]) > 1 or float(row["adj_rl_upper"]) < 1
    head = (
        f"Among practitioners alike in {adjusted_for}, the relative likelihood is **{formats.ratio2(adjusted)}** "
        f"(95% CI {interval}; {BAND_WORDS.get(str(row.get('adj_band')), 'no band reading')})"
    )
    closer = abs(math.log(adjusted)) < abs(math.log(crude)) if adjusted > 0 and crude > 0 else False
    if formats.ratio2(adjusted) == formats.ratio2(crude):
        change = ", the same as without adjustment: those characteristics do not account for the gap"
    elif closer:
        change = (
            f", against {formats.ratio2(crude)} without adjustment: part of the gap comes from differences between "
            "the groups in those characteristics"
        )
        change += (
            ", and the rest remains between practitioners alike in all of them"
            if significant
            else "; what remains is not statistically significant"
        )
    else:
        change = (
            f", against {formats.ratio2(crude)} without adjustment: the gap is wider once those characteristics are "
            "held equal"
        )
    return f"{head}{change}."


def _comparable(table: pd.DataFrame, value: str = "rl") -> pd.DataFrame:
    """Rows that can carry a headline: not the reference, not an unknown group, a ratio shown and above 0."""
    keep = ~table["is_reference"].astype(bool) & ~table["group"].map(is_unknown_group)
    values = pd.to_numeric(table[value], errors="coerce")
    return table[keep & (values > 0)]


def _tested(measures: pd.DataFrame) -> pd.Series:
    """The comparisons with a test: not the reference's own row, and a p-value."""
    return ~measures["is_reference"].astype(bool) & measures["p_value"].notna()


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
    return capitalise(f"{group_noun(row['group'])} {ratio_phrase(float(row['rl']))} {group_noun(reference)}")


def largest_gap_title(table: pd.DataFrame, reference: str) -> str:
    """The widest significant gap, saying how many groups were compared to find it; the no-gap title otherwise.

    "Black or Black British practitioners are referred 2.0 times as often as White practitioners: the widest
    significant gap of 4 groups compared" (groups with a ratio shown, not the reference, "not stated" or "not known").
    """
    top = largest_gap(table)
    if top is None:
        return f"{no_gap_title(reference)} ({groups_compared(table)} compared)"
    return f"{gap_title(top, reference)}: the widest significant gap of {groups_compared(table)} compared"


def groups_compared(table: pd.DataFrame) -> str:
    """ "4 groups": those compared with the reference (a ratio shown; not "not stated" or "not known")."""
    compared = len(_comparable(table))
    return f"{compared} group{'s' if compared != 1 else ''}"


def gap_count_sentence(table: pd.DataFrame, reference: str) -> str:
    """Under a largest-gap headline: how many groups it was the largest of, and which were not compared."""
    unknown = [g for g in table["group"] if is_unknown_group(g)]
    text = f"The widest significant gap of the {groups_compared(table)} compared with {group_noun(reference)}"
    if unknown:
        text += f"; {' and '.join(unknown)} are data quality, left out of this comparison"
    return text + "."


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
    return capitalise(text)


def forest_title(summary: pd.DataFrame, reference: str) -> str:
    """The forest plot's finding: how many groups differ significantly, and the largest gap."""
    rows = _comparable(summary)
    higher = int((rows["direction"] == "higher").sum())
    lower = int((rows["direction"] == "lower").sum())
    top = largest_gap(summary)
    if top is None:
        return no_gap_title(reference)
    if len(rows) == 1:  # one group against the reference: say it of the group, not "1 of 1 groups"
        return capitalise(
            f"{group_noun(top['group'])} are referred significantly {'more' if higher else 'less'} often than "
            f"{group_noun(reference)}: relative likelihood {formats.ratio2(top['rl'])}"
        )
    counts = []
    if higher:
        counts.append(f"{higher} of {len(rows)} groups are referred significantly more often")
    if lower:
        counts.append(f"{lower} significantly less often")
    return (
        f"{' and '.join(counts)} than {group_noun(reference)}; "
        f"the largest gap: {formats.ratio2(top['rl'])} for {group_noun(top['group'])}"
    )


def adjusted_forest_title(summary: pd.DataFrame, reference: str, adjusted_for: str) -> str:
    """The adjusted forest plot's finding: the widest adjusted gap whose interval excludes 1, and how many groups
    were compared."""
    adjusted = summary.assign(
        rl=summary["adj_rl"],
        significant=(summary["adj_rl_lower"].astype(float) > 1) | (summary["adj_rl_upper"].astype(float) < 1),
    )
    top = largest_gap(adjusted)
    compared = len(_comparable(adjusted))
    if top is None:
        return (
            f"Among practitioners alike in {adjusted_for}, no group's referral rate differs significantly from that "
            f"of {group_noun(reference)} ({compared} groups compared)"
        )
    return (
        f"Among practitioners alike in {adjusted_for}, {group_noun(top['group'])} {ratio_phrase(float(top['rl']))} "
        f"{group_noun(reference)}: the widest significant gap of {compared} groups compared"
    )


def intersection_title(crossed: pd.DataFrame, within: pd.DataFrame) -> str:
    """The widest ethnic gap among IMGs and among UK graduates, each against White graduates of the same place.

    ``within`` compares each cell with White practitioners of the same place of qualification;
    ``crossed`` compares every cell with White UK graduates (used when neither column shows a gap).
    """
    gaps = _comparable(within[within["direction"] == "higher"])
    parts, found = [], False
    for pmq in (contract.PMQ_REGIONS["IMG"], contract.PMQ_REGIONS["UK"]):
        rows = gaps[gaps["pmq"] == pmq]
        if rows.empty:
            parts.append(f"no ethnic group of {_PLURAL_PMQ[pmq]} is referred significantly more often than White ones")
        else:
            found = True
            parts.append(gap_title(rows.loc[rows["rl"].astype(float).idxmax()], f"{contract.WHITE} · {pmq}"))
    if not found:
        top = largest_gap(crossed)
        if top is not None:
            parts.append(f"{group_noun(top['group'])} {ratio_phrase(float(top['rl']))} White UK graduates")
    return capitalise("; ".join(parts))


def interaction_sentence(test, adjusted_for: str) -> str:
    """Whether the ethnic gap differs by place of qualification (the interaction test), for a director."""
    if test is None or pd.isna(test.p_value):
        return (
            "Whether the ethnic gap differs by place of qualification cannot be tested under these filters (too few "
            "groups or referrals)."
        )
    among = f", among practitioners alike in {adjusted_for}" if adjusted_for and adjusted_for != "nothing" else ""
    if test.method == "quasi_f":
        statistic = f"F = {test.statistic:.2f} on {test.df} degrees of freedom, allowing for overdispersion"
    else:
        statistic = f"likelihood-ratio χ² = {test.statistic:.1f} on {test.df} degrees of freedom"
    if test.p_value < 0.05:
        verdict = (
            "**The ethnic gap differs by place of qualification**: letting it differ fits the referrals better than "
            "chance alone would"
        )
    else:
        verdict = (
            "**These data do not show that the ethnic gap differs by place of qualification**: a single gap for every "
            "place of qualification fits the referrals about as well"
        )
    p_text = formats.pvalue(test.p_value)
    p_text = p_text if p_text.startswith("<") else f"= {p_text}"
    return (
        f"{verdict}{among} ({statistic}, p {p_text}; practitioners whose ethnicity and place of qualification are "
        "known)."
    )


def concern_title(concerns: pd.DataFrame, reference: str) -> str:
    """The concern type with the largest significant gap against the reference group."""
    top = largest_gap(concerns)
    if top is None:
        return f"For no concern type is a group's rate significantly different from that of {group_noun(reference)}"
    return capitalise(
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
        text += f", and {formats.ratio2(last['rl'])} times in {last['period']}"
    return capitalise(text)


def breakdown_title(rows: pd.DataFrame, dimension: str, group: str, reference: str) -> str:
    """Where, within one breakdown, the drilled group's gap against the reference is widest."""
    if group == reference:
        return capitalise(f"{group_noun(group)} (the reference group) by {dimension}")
    top = largest_gap(rows)
    if top is None:
        return capitalise(
            f"In no {dimension} does the rate for {group_noun(group)} differ significantly from that of "
            f"{group_noun(reference)}"
        )
    return capitalise(
        f"{top['level_label']}: {group_noun(group)} {ratio_phrase(float(top['rl']))} {group_noun(reference)}, "
        f"the widest significant gap by {dimension}"
    )


def drill_sentence(row: pd.Series, reference: str) -> str:
    """ "Black or Black British practitioners were referred **1.96 times as often as White practitioners** (...)"."""
    rl = row["rl"]
    if _no_referrals(row):
        return no_referrals_sentence(row, reference)
    if pd.isna(rl) or float(rl) <= 0:
        return capitalise(f"{group_noun(row['group'])}: too few referrals to compare with {group_noun(reference)}.")
    return capitalise(
        f"{group_noun(row['group'])} were referred **{times_as_often(float(rl))} {group_noun(reference)}** "
        f"(relative likelihood {formats.ratio2(rl)}, 95% CI {formats.interval(row['rl_lower'], row['rl_upper'])}): "
        f"{judgement_words(_band_of(row), row['significant'])}."
    )


# --- Outcomes and Durations pages ----------------------------------------------------------------

# How each measure reads in a sentence about cases: "Cases about X <phrase> 1.6 times as often as ...".
_MEASURE_PHRASES: dict[str, str] = {
    "formal_without_informal": "go to formal investigation without informal resolution first",
    "exclusion_or_suspension": "lead to exclusion or suspension",
    "no_case_to_answer": "end with no case to answer",
    "resolved_informally": "are resolved informally",
    "remediation_completed": "end with remediation completed",
    "returned_with_restrictions": "end with a return to work with restrictions",
    "formal_sanction": "end in a formal sanction",
    "dismissed_or_removed": "end in dismissal or removal",
    "left_post": "end with the practitioner leaving post",
    "other": "end in another outcome",
}


def _measure_phrase(measure: str, label: str) -> str:
    return _MEASURE_PHRASES.get(measure, f"reach {label[:1].lower() + label[1:]}")


def cases_ratio_sentence(group: str, reference: str, measure: str, label: str, ratio: float) -> str:
    """ "Cases about Black or Black British practitioners lead to exclusion or suspension 1.6 times as often as
    those about White practitioners"."""
    how = (
        f"{formats.ratio2(ratio)} times as often as" if ratio >= 1 else f"at {formats.ratio2(ratio)} times the rate of"
    )
    return (
        f"Cases about {group_noun(group)} {_measure_phrase(measure, label)} {how} those about {group_noun(reference)}"
    )


def main_divergence(measures: pd.DataFrame, key: tuple[str, ...]) -> pd.Series | None:
    """The flagged comparison furthest from 1, preferring the key measures and higher-than-reference gaps."""
    rows = _comparable(measures, "rr")
    rows = rows[rows["flagged"].eq(True)]
    if rows.empty:
        return None
    for keep in (rows["measure"].isin(key) & (rows["rr"] > 1), rows["rr"] > 1, rows["rr"] > 0):
        chosen = rows[keep]
        if not chosen.empty:
            distance = chosen["rr"].astype(float).map(lambda v: abs(math.log(v)))
            return chosen.loc[distance.idxmax()]
    return None


def outcomes_title(measures: pd.DataFrame, reference: str, key: tuple[str, ...]) -> str:
    """The Outcomes page's main finding, after Benjamini–Hochberg."""
    top = main_divergence(measures, key)
    if top is None:
        # The tested family: the comparisons the false discovery rate is controlled over (flagged True or False);
        # not stated / not known groups carry p-values but are data quality, outside it.
        if not measures["flagged"].isin([True, False]).any():
            return (
                f"No group's cases could be tested against those about {group_noun(reference)} under these "
                "filters: too few cases"
            )
        # Not flagged is not the same as no difference: say only what the tests found.
        return (
            f"No difference from {group_noun(reference)} is flagged at any stage or outcome, once the number of "
            "comparisons is allowed for"
        )
    return cases_ratio_sentence(top["group"], reference, top["measure"], top["label"], float(top["rr"]))


# Beside a false-discovery sentence: who is outside the tested family, and why.
DATA_QUALITY_NOTE = (
    "'Not stated' and 'not known' groups are data quality: their p-values are shown but they are not flagged "
    "against the reference."
)


def fdr_sentence(tests: int, flagged: int, what: str = "comparison") -> str:
    """What the flags mean, and how many there are."""
    if tests == 0:
        return "No comparison could be tested with these filters."
    return (
        f"This page runs {tests} {what}s against the reference group. **{flagged} "
        f"{'is' if flagged == 1 else 'are'} flagged**: significant after controlling the false discovery rate "
        "at 5% across all of them (Benjamini–Hochberg), so that running many tests does not by itself "
        "produce flags."
    )


def drill_fdr_sentence(group: str, tests: int, flagged: int, family: int, what: str = "comparison") -> str:
    """What the flags mean on a drilled page: its own tests and flags, the family they were corrected in."""
    if tests == 0:
        return f"No comparison of {group_noun(group)} could be tested with these filters."
    return (
        f"This drilled page shows {tests} {what}{'s' if tests != 1 else ''} of {group_noun(group)} against the "
        f"reference group. **{flagged} {'is' if flagged == 1 else 'are'} flagged**: significant after controlling "
        f"the false discovery rate at 5% (Benjamini–Hochberg) across all {family} {what}s of every group."
    )


def drill_family_sentence(group: str, tests: int, flagged: int) -> str:
    """What the flags mean on a drilled page whose tests form their own family (Concern rates): the group against
    the reference overall and within each breakdown level."""
    if tests == 0:
        return f"No comparison of {group_noun(group)} could be tested with these filters."
    return (
        f"This drilled page runs {tests} comparison{'s' if tests != 1 else ''} of {group_noun(group)} against the "
        "reference group: overall, and within each organisation type, region and concern type. "
        f"**{flagged} {'is' if flagged == 1 else 'are'} flagged**: significant after controlling the false "
        f"discovery rate at 5% (Benjamini–Hochberg) across these {tests}, the drill's own family (the main page's "
        "flags are counted across its own comparisons)."
    )


def coverage_note(total: float, error: int = 0, *, data_page: bool = False) -> str | None:
    """What a rate page says about the cases its rates leave out for want of workforce figures (None: none are).
    ``total``: their number, NaN where too few to show; ``error``: at the protected level, how far the number (a
    difference of two protected counts, ``measures.Coverage``) can be from the exact one, 0 where it is exact.
    ``data_page``: the words for the Data page, which lists them."""
    if total == 0:
        return None
    here = "" if data_page else " here"
    why = (
        "their organisation has no workforce figures for the year of referral, so there are no practitioners to "
        "count them against."
    )
    if pd.isna(total):
        said = (
            f"**A few of the cases matching these filters may be left out of every rate{here}**: {why} Too few "
            "cases match to say how many under the disclosure rule."
        )
    else:
        plural = total != 1
        count = f"{formats.int0(total)} case{'s' if plural else ''}"
        said = f"**{'About ' + count if error else count} matching these filters {'are' if plural else 'is'} left "
        said += f"out of every rate{here}**: {why}"
        if error:
            said += (
                " The number is the protected count of these cases less the protected count of those with workforce "
                f"figures, so it can be off by up to {error} either way."
            )
    return said + (" By financial year:" if data_page else " The Data page lists them by year.")


def coverage_complete(error: int = 0) -> str:
    """The Data page's words where no case is left out of the rates (``coverage_note`` gives None)."""
    if not error:
        return (
            "Every case matching these filters has workforce figures for its organisation and financial year: every "
            "case counts in the rates."
        )
    return (
        "The protected counts of the cases matching these filters and of those with workforce figures for their "
        "organisation and financial year are the same: every case counts in the rates, or all but a few (each "
        f"count is protected, so up to {error} cases could be missing workforce figures without showing here)."
    )


def followup_sentence(groups: pd.DataFrame, followup_months: int, protected: bool) -> str:
    """What the Outcomes page's shares are among: stages among all cases, outcomes among closed ones, and the cohort."""
    cases, open_cases = groups["cases"].fillna(0).sum(), groups["open"].fillna(0).sum()
    hidden = (
        " (groups whose count is hidden left out of these totals)" if protected and groups["open"].isna().any() else ""
    )
    cohort = (
        f"Cases referred at least {followup_months} months before the extract date only ({formats.int0(cases)}). "
        if followup_months
        else ""
    )
    return (
        f"{cohort}Stages: share of all these cases that reached the stage (open cases included, as far as they "
        f"have gone). Outcomes: share of **closed cases only**; the {formats.int0(open_cases)} still open{hidden} "
        "have no outcome yet and are left out of those shares."
    )


LOGRANK_WITHHELD = (
    "**No log-rank tests at the protected level.** The curves here are life tables on protected counts, each "
    "perturbed and rounded, and computing the test from exact counts would break the disclosure rule. From the "
    "life tables this page drew before, the test found differences that are not there; from the weekly ones drawn "
    "now it is being checked (on the sample data, of 641 comparisons, 26 came out significant from protected counts "
    "and not from exact ones and 45 the other way round; where there was no difference, 5.9% came out significant, "
    "close to the 5% expected) and is not run yet. So no group is flagged here: compare the medians and the shares "
    "still open by their intervals, which allow for the sampling error but not for the rounding. Analysts at the "
    "full level see the tests."
)


def logrank_choice_sentence(stratified: bool, withheld: bool, suppress_max: int, none: bool = False) -> str:
    """Which log-rank test the Durations page ran; why not the stratified one where it was asked for but withheld;
    why none (``none``: the protected level)."""
    if none:
        return LOGRANK_WITHHELD
    if stratified:
        return (
            "Tests: **log-rank stratified by financial year of referral**: each group is compared with the reference "
            "among cases referred in the same year, and the years are combined, so a group referred mostly in "
            "recent years (less time to close) is not set against one referred earlier."
        )
    if withheld:
        return (
            "Tests: **log-rank, not stratified**. The test stratified by year of referral is not available at the "
            "protected level: split by year, many counts are small, and once each is rounded (and 1 to "
            f"{suppress_max} hidden) the rounding, not the data, would decide the test; computing it from exact "
            "counts instead would break the disclosure rule."
        )
    return (
        "Tests: **log-rank, not stratified**: each group's whole curve against the reference's, over every year of "
        "referral. Choose 'referral year' above to compare cases referred in the same year."
    )


def logrank_method(stratified: bool) -> str:
    """The Durations method note's account of the test."""
    if stratified:
        return (
            "Log-rank test of each group's curve against the reference group's, stratified by financial year of "
            "referral (observed less expected closures and their variance summed over the years)."
        )
    return "Log-rank test of each group's curve against the reference group's (not stratified)."


def durations_title(summary: pd.DataFrame, reference: str, tested: bool = True) -> str:
    """The Durations page's main finding: of the groups flagged on time to closure, the one with the longest median.
    Untested (the protected level): what the page compares, and no finding."""
    closure = summary[summary["measure"] == "closure"]
    ref = closure[closure["is_reference"].astype(bool)]
    if not tested:
        return f"Time from referral to closure for each group against {group_noun(reference)}, not tested at this level"
    rows = closure[closure["flagged"].eq(True) & ~closure["group"].map(is_unknown_group)]
    if rows.empty or ref.empty:
        return (
            f"No group's cases take significantly longer or shorter to close than those about {group_noun(reference)}"
        )
    top = rows.loc[rows["median"].astype(float).idxmax()]
    slower = float(top["median"]) >= float(ref["median"].iloc[0])
    return capitalise(
        f"Cases about {group_noun(top['group'])} take {'longer to close' if slower else 'less time to close'} than "
        f"those about {group_noun(reference)}: median {months1(top['median'])} against {months1(ref['median'].iloc[0])}"
    )


def breakdown_gap_title(rows: pd.DataFrame, group: str, reference: str, label: str, measure: str) -> str:
    """Where the drilled group's risk ratio on one measure is furthest from 1, among significant ones."""
    if group == reference:
        return capitalise(
            f"{group_noun(group)} (the reference group): {label.lower()} by organisation type, region and concern type"
        )
    compared = _comparable(rows, "rr")
    compared = compared[compared["significant"].eq(True)]
    if compared.empty:
        return capitalise(
            f"No organisation type, region or concern type shows a significant gap in {label[:1].lower() + label[1:]} "
            f"between {group_noun(group)} and {group_noun(reference)}"
        )
    top = compared.loc[compared["rr"].astype(float).map(lambda v: abs(math.log(v))).idxmax()]
    sentence = cases_ratio_sentence(group, reference, measure, label, float(top["rr"]))
    return f"{top['level_label']}: {sentence[:1].lower()}{sentence[1:]}, the widest significant gap"


def survival_title(
    summary: pd.DataFrame, reference: str, what: str, test: str = "log-rank", tested: bool = True
) -> str:
    """A Kaplan–Meier chart's finding: the flagged group whose curve sits highest (slowest), by its median; ``test``
    names the test ("stratified log-rank" when stratified by referral year). Untested (the protected level): no
    finding, and it says so."""
    if not tested:
        return capitalise(
            f"{what}: each group's curve beside that of {group_noun(reference)} (not tested at this level)"
        )
    ref = summary[summary["is_reference"].astype(bool)]
    rows = summary[summary["flagged"].eq(True) & ~summary["group"].map(is_unknown_group)]
    if rows.empty:
        return capitalise(
            f"{what}: no group's curve differs significantly from that of {group_noun(reference)} ({test})"
        )
    top = rows.loc[rows["median"].astype(float).idxmax()]
    slower = len(ref) and float(top["median"]) >= float(ref["median"].iloc[0])
    return capitalise(
        f"{what}: {group_noun(top['group'])} {'stay open longer' if slower else 'close sooner'} than "
        f"{group_noun(reference)} ({test} p {formats.pvalue(top['p_value'])}, flagged)"
    )


def open_share_title(summary: pd.DataFrame, reference: str, months: int) -> str:
    """The group most often still open ``months`` after referral, against the reference."""
    column = f"open_{months}m"
    rows = summary[~summary["is_reference"].astype(bool) & ~summary["group"].map(is_unknown_group)]
    rows = rows[pd.to_numeric(rows[column], errors="coerce").notna()]
    ref = summary[summary["is_reference"].astype(bool)]
    if rows.empty or ref.empty:
        return f"Share of cases still open {months} months after referral"
    top = rows.loc[rows[column].astype(float).idxmax()]
    return capitalise(
        f"{formats.pct1(top[column])} of cases about {group_noun(top['group'])} are still open {months} months after "
        f"referral, against {formats.pct1(ref[column].iloc[0])} for {group_noun(reference)}"
    )


def breakdown_median_title(breakdown: pd.DataFrame, group: str, reference: str) -> str:
    """Where the drilled group's median time to closure is furthest from the reference's (no test: "shown")."""
    if group == reference:
        return capitalise(
            f"{group_noun(group)} (the reference group): time to closure by organisation type, region and concern type"
        )
    medians = breakdown.pivot_table(
        index=["dimension", "level_label"], columns="is_reference", values="median", aggfunc="first"
    )
    medians = medians.dropna()
    medians = (
        medians[(medians > 0).all(axis=1) & medians.map(math.isfinite).all(axis=1)] if not medians.empty else medians
    )
    if medians.empty or True not in medians or False not in medians:
        return capitalise(
            f"Time to closure for {group_noun(group)} and {group_noun(reference)} by organisation type, region "
            "and concern type"
        )
    gap = (medians[False] / medians[True]).map(lambda v: abs(math.log(v)))
    (_, level), row = gap.idxmax(), medians.loc[gap.idxmax()]
    return (
        f"{level}: median {months1(row[False])} to closure for {group_noun(group)} against {months1(row[True])} "
        f"for {group_noun(reference)}, the widest gap shown"
    )


def divergence_title(measures: pd.DataFrame, reference: str, order: tuple[str, ...]) -> str:
    """Where paths part: the group flagged higher at most stages, and the first stage (in ``order``) it is."""
    rows = _comparable(measures, "rr")
    rows = rows[rows["measure"].isin(order) & rows["flagged"].eq(True) & (rows["rr"] > 1)]
    if rows.empty:
        return f"No group's path differs significantly from that of {group_noun(reference)} at any stage or outcome"
    counts = rows.groupby("group").agg(n=("measure", "size"), widest=("rr", "max")).sort_values(["n", "widest"])
    group = counts.index[-1]
    flagged = rows[rows["group"] == group]
    first = min(flagged["measure"], key=order.index)
    label = flagged.loc[flagged["measure"] == first, "label"].iloc[0]
    return capitalise(
        f"cases about {group_noun(group)} are flagged as more likely than those about {group_noun(reference)} "
        f"at {counts['n'].iloc[-1]} of {len(order)} stages and outcomes, the first being "
        f"{label[:1].lower() + label[1:]}"
    )


def flag_count_title(measures: pd.DataFrame, reference: str, what: str) -> str:
    """ "9 of 36 comparisons on the key measures are flagged, 8 of them above White practitioners"."""
    rows = measures[_tested(measures)]
    flagged = rows[rows["flagged"].eq(True)]
    higher = int((flagged["rr"] > 1).sum())
    if rows.empty:
        return capitalise(f"no comparison on {what} against {group_noun(reference)} could be tested: too few cases")
    if flagged.empty:
        return capitalise(f"none of the {len(rows)} comparisons on {what} is flagged against {group_noun(reference)}")
    return capitalise(
        f"{len(flagged)} of the {len(rows)} comparisons on {what} are flagged, {higher} of them higher than for "
        f"{group_noun(reference)}"
    )


# --- Employer view -------------------------------------------------------------------------------


def employer_view_label(name: str) -> str:
    return f"Employer view: {name}"


def scope_sentence(filters: Filters, scope_org: str, name: str) -> str:
    """Whose figures an employer is looking at: their own, national ones, or a group of organisations."""
    if filters.orgs == (scope_org,):
        return f"These are **{name}**'s own figures. Clear the *Organisation* filter to see national figures."
    if filters.is_national:
        return (
            "These are **national figures**: every organisation in the data, not yours alone. Pick your organisation "
            "in the *Organisation* filter to see its own figures."
        )
    return (
        "These figures are for **every organisation in the regions and types chosen**, not yours alone; other "
        "organisations are never shown one by one."
    )


# --- Organisation page ---------------------------------------------------------------------------


def _organisations(n: int) -> str:
    return f"{n} organisation{'s' if n != 1 else ''}"


def funnel_title(funnel: pd.DataFrame, group: str) -> str:
    """ "3 organisations are above the 99.8% limit for the referral rate of ... practitioners"."""
    above = int(funnel["significance"].eq("higher_99.8").sum())
    subject = "No organisation is" if above == 0 else f"{_organisations(above)} {'is' if above == 1 else 'are'}"
    return f"{subject} above the 99.8% limit for the referral rate of {group_noun(group)}"


def funnel_chart_title(funnel: pd.DataFrame, group: str) -> str:
    """The funnel's finding with the lower outliers too."""
    below = int(funnel["significance"].eq("lower_99.8").sum())
    tail = f"; {_organisations(below)} below it" if below else "; none is below it"
    return funnel_title(funnel, group) + tail


def funnel_not_drawn(not_drawn: dict[str, int], group: str, suppress_max: int) -> str | None:
    """How many organisations have no point on the funnel, and why, in plain words."""
    people = group_noun(group)

    def reason(key: str, n: int) -> str:
        have = "has" if n == 1 else "have"
        return {
            "hidden": f"had between 1 and {suppress_max} referrals of {people}: too few to show without risking "
            "identifying someone",
            "no_practitioners": f"{have} no {people} in the workforce figures, so no rate can be worked out",
            "more_referrals_than_practitioners": f"{have} more referrals of {people} than {people} in the workforce "
            "figures, which points to an error in the data",
        }[key]

    given = {key: n for key, n in not_drawn.items() if n}
    if not given:
        return None
    total = sum(given.values())
    head = f"{_organisations(total)} {'is' if total == 1 else 'are'} not drawn: "
    if len(given) == 1:
        key, n = next(iter(given.items()))
        return head + f"{'it' if n == 1 else 'they'} {reason(key, n)}."
    return head + "; ".join(f"{_organisations(n)} {reason(key, n)}" for key, n in given.items()) + "."


def isr_sentence(name: str, isr, observed: float, expected: float, centre: str = "national") -> str:
    """The organisation's headline: its referrals against those expected from the comparator's rates."""
    if pd.isna(isr.value):
        return (
            f"**{name}**: too few referrals to compare with {centre} rates (numbers hidden under the disclosure "
            "rule, or none expected)."
        )
    if isr.lower > 1:
        verdict = f"significantly more than expected from {centre} rates"
    elif isr.upper < 1:
        verdict = f"significantly fewer than expected from {centre} rates"
    else:
        verdict = f"not significantly different from what {centre} rates would give"
    return (
        f"**{name}** had about {formats.int0(observed)} referrals where {expected:,.1f} were expected from {centre} "
        f"rates for its practitioners' professions and groups: a standardised ratio of **{formats.ratio2(isr.value)}** "
        f"(95% CI {formats.interval(isr.lower, isr.upper)}), {verdict}."
    )


def group_isr_sentence(row: pd.Series, centre: str = "national") -> str:
    """One group's ISR at the organisation, e.g. for the funnel's group."""
    people = capitalise(group_noun(row["group"]))
    if pd.isna(row["isr"]):
        return f"{people}: too few referrals to compare (numbers hidden or not estimable)."
    interval = formats.interval(row["isr_lower"], row["isr_upper"])
    return (
        f"{people} there were referred **{formats.ratio2(row['isr'])} times** as often as "
        f"{centre} rates for their professions would give (95% CI {interval})."
    )


# --- Organisation profile ----------------------------------------------------------------------


def profile_title(rows: pd.DataFrame, name: str, centre_word: str = "national") -> str:
    """The profile's finding: on how many indicators the organisation differs significantly from the rest."""
    tested = rows[rows["judgement"].isin(["higher", "lower", "similar"])]
    higher = int(tested["judgement"].eq("higher").sum())
    lower = int(tested["judgement"].eq("lower").sum())
    if tested.empty:
        return f"{name}: too few cases to compare any indicator with {centre_word} figures"
    if higher + lower == 0:
        return f"{name} does not differ significantly from the rest on any of {len(tested)} indicators compared"
    parts = [f"higher on {higher}" if higher else "", f"lower on {lower}" if lower else ""]
    return (
        f"{name} differs significantly from the rest on {higher + lower} of {len(tested)} indicators compared: "
        + " and ".join(p for p in parts if p)
    )


def profile_hidden_note(rows: pd.DataFrame) -> str | None:
    """How many of the profile's values are not shown, and why (the reasons, most common first)."""
    hidden = rows["hidden_reason"].dropna()
    if hidden.empty:
        return None
    reasons = hidden.value_counts()
    listed = "; ".join(f"{n} {reason}" for reason, n in reasons.items())
    return f"{len(hidden)} of {len(rows)} values are not shown: {listed}."


def nothing_to_chart(what: str, protected: bool) -> str:
    """In place of a chart of intervals whose every value is hidden or cannot be estimated (an empty frame)."""
    why = (
        "the numbers are too small to show without risk to the people in them, or too few to estimate"
        if protected
        else "too few cases to estimate"
    )
    return (
        f"No group's {what} can be shown under these filters: {why}. The data table below says, group by group, "
        "what can be said; widening the filters (more years, or national figures) gives more to go on."
    )


# --- Rules in words: every threshold from settings or a named constant, never typed into a page ---------

METHODS_PATH = Path(__file__).resolve().parent / "methods.md"
RATE_INTERVAL_METHOD = f"Intervals: exact Poisson below {BYAR_FROM} referrals, Byar's method from {BYAR_FROM}."
RL_METHOD = (
    "Relative likelihood = group rate ÷ reference rate, 95% interval by the log (Katz) method. Judged two ways: "
    "against the 0.80–1.25 band (the four-fifths rule used by WRES) by where the whole interval lies (outside, "
    "within, or inconclusive when it crosses an edge), and significant (interval excludes 1)."
)


def small_numbers_note(what: str = "referrals") -> str:
    return f"Small numbers: fewer than {SMALL_NUMBERS} {what}, so the interval is wide."


def _min_other_orgs() -> int:
    from parity.settings import get_settings

    return get_settings().min_other_orgs


def methods_text(rule: Rule, min_other_orgs: int | None = None) -> str:
    """The Methods text (``methods.md``) with its thresholds filled in from settings and constants.

    The file writes each threshold as a placeholder (``{{suppress_max}}``), so the text cannot say one
    number while the code applies another.
    """
    values = {
        "suppress_max": rule.suppress_max,
        "round_to": rule.round_to,
        "small_numbers": SMALL_NUMBERS,
        "followup_months": FOLLOWUP_MONTHS,
        "byar_from": BYAR_FROM,
        "min_other_orgs": min_other_orgs if min_other_orgs is not None else _min_other_orgs(),
    }
    text = METHODS_PATH.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", str(value))
    return text


# --- Trends: XmR charts and Making Data Count icons ----------------------------------------------

# Making Data Count's icons, in words: what a board member reads beside each indicator.
VARIATION_WORDS: dict[str, str] = {
    "common_cause": "Common cause: no significant change",
    "improvement": "Special cause: improvement",
    "concern": "Special cause: concern",
    "neutral": "Special cause: neither better nor worse",
}
ASSURANCE_WORDS: dict[str, str] = {
    "pass": "Will consistently meet the target",
    "fail": "Will consistently miss the target",
    "inconsistent": "Hit and miss: may or may not meet the target",
}
NO_TARGET = "No target"
# The same, short enough for a badge beside the indicator (the full words are its tooltip).
VARIATION_SHORT: dict[str, str] = {
    "common_cause": "Common cause",
    "improvement": "Improvement",
    "concern": "Concern",
    "neutral": "Special cause",
}
ASSURANCE_SHORT: dict[str, str] = {"pass": "Meets target", "fail": "Misses target", "inconsistent": "Hit and miss"}


def variation_words(icon: object) -> str:
    return VARIATION_WORDS.get(str(icon), "Too few periods to judge")


def assurance_words(icon: object) -> str:
    return ASSURANCE_WORDS.get(str(icon), NO_TARGET) if icon is not None and not pd.isna(icon) else NO_TARGET


def _rule_phrase(label: str) -> str:
    """What NHSRplotthedots' label says happened, for a sentence."""
    if label in ("Above UCL", "Below LCL"):
        return "outside the process limits"
    if label.startswith("7 Point Trend"):
        return "at the end of a run of seven rises or falls in a row"
    if label.startswith("2 in 3"):
        return "two of the last three points near a limit"
    if label.startswith("7 Points"):
        return "seven or more points in a row on one side of the mean"
    return ""


def spc_title(summary_row: pd.Series, series: pd.DataFrame) -> str:
    """The finding of an XmR chart, no stronger than the rules allow: what the last point's signal says.

    "Relative likelihood of referral, ethnic minority vs White, fell to 1.25 in 2024/25, outside the process
    limits: special-cause improvement"; or "...: 2.06 in 2024/25, within common-cause variation".
    """
    label = summary_row["label"]
    if summary_row["latest_period"] is None or pd.isna(summary_row["value"]):
        return f"{label}: no period with a value to chart"
    value, period = formats.ratio2(summary_row["value"]), summary_row["latest_period"]
    if summary_row["kind"] == "rate":
        value = formats.rate2(summary_row["value"])
    icon = summary_row["variation_icon"]
    if icon is None or pd.isna(icon):
        return f"{label}: {value} in {period}; too few periods for control limits"
    if icon == "common_cause":
        return f"{label}: {value} in {period}, within common-cause variation (no significant change)"
    last = series[series["value"].notna()].iloc[-1]
    moved = "rose" if ("Above" in last["special_cause"] or "Increasing" in last["special_cause"]) else "fell"
    verdict = {"improvement": "special-cause improvement", "concern": "special-cause concern"}.get(
        icon, "special-cause variation"
    )
    return f"{label}: {moved} to {value} in {period}, {_rule_phrase(last['special_cause'])}: {verdict}"


def spc_assurance_sentence(summary_row: pd.Series) -> str:
    """The assurance icon against the target, in a sentence ("" where the indicator has no target)."""
    icon, target = summary_row["assurance_icon"], summary_row["target"]
    if target is None or pd.isna(target) or icon is None or pd.isna(icon):
        return ""
    limits = "the process limits"
    return {
        "pass": f"The target of {target:g} lies outside {limits} on the better side: the process will consistently "
        "meet it unless something changes.",
        "fail": f"The target of {target:g} lies outside {limits} on the worse side: the process will consistently "
        "miss it unless something changes.",
        "inconsistent": f"The target of {target:g} lies within {limits}: the process will sometimes meet it and "
        "sometimes miss it.",
    }[str(icon)]


# --- Pathways page -------------------------------------------------------------------------------


def step_phrase(label: str) -> str:
    """A step's label inside a sentence: “referral → formal investigation”."""
    return f"“{label[:1].lower()}{label[1:]}”"


def step_sentence(row: pd.Series, reference: str) -> str:
    """One flagged step in words, with the shares and the ratio's interval."""
    interval = formats.interval(row["rr_lower"], row["rr_upper"])
    return (
        f"cases about {group_noun(row['group'])} took the step {step_phrase(row['label'])} "
        f"{times_as_often(float(row['rr']))} those about {group_noun(reference)} ({formats.pct1(row['share'])} "
        f"against {formats.pct1(row['reference_share'])}; risk ratio 95% CI {interval})"
    )


def pathways_title(top: pd.DataFrame, reference: str) -> str:
    """The page's finding: the largest flagged disparity, or that none is flagged."""
    if top.empty:
        return (
            f"No group's path from referral to outcome differs clearly from that of {group_noun(reference)} at any "
            "step, once the number of comparisons is allowed for"
        )
    row = top.iloc[0]
    return capitalise(
        f"cases about {group_noun(row['group'])} took the step {step_phrase(row['label'])} "
        f"{times_as_often(float(row['rr']))} those about {group_noun(reference)}"
    )


def pathways_summary(transitions: pd.DataFrame, top: pd.DataFrame, reference: str, steps: int) -> str:
    """How many steps and comparisons were made, how many are flagged and the largest, in words."""
    tested = transitions[transitions["p_value"].notna()]
    flagged = int(transitions["flagged"].eq(True).sum())
    groups = tested["group"].nunique()
    head = (
        f"**{steps} steps** were compared, each for {groups} group{'s' if groups != 1 else ''} against "
        f"{group_noun(reference)}: {len(tested)} comparisons. "
    )
    if tested.empty:
        return "No step could be compared with these filters."
    if flagged == 0:
        return head + (
            "**None is flagged**: no difference is both significant after controlling the false discovery rate "
            "across the table (Benjamini–Hochberg, 5%) and clearly outside the 0.80–1.25 band."
        )
    largest = "; ".join(step_sentence(r, reference) for _, r in top.iterrows())
    return head + (
        f"**{flagged} {'is' if flagged == 1 else 'are'} flagged** (significant after Benjamini–Hochberg at 5% "
        f"across the table, with the whole 95% interval outside 0.80–1.25). The largest: {largest}."
    )


def pathway_funnel_title(funnel: pd.DataFrame, label: str, group: str) -> str:
    """ "2 organisations are above the 99.8% limit for “referral → …” among cases about IMGs"."""
    above = int(funnel["significance"].eq("higher_99.8").sum())
    below = int(funnel["significance"].eq("lower_99.8").sum())
    subject = "No organisation is" if above == 0 else f"{_organisations(above)} {'is' if above == 1 else 'are'}"
    tail = f"; {_organisations(below)} below it" if below else ""
    return f"{subject} above the 99.8% limit for {step_phrase(label)} among cases about {group_noun(group)}{tail}"


def pathways_tests_sentence(transitions: pd.DataFrame, family: int, drill: str | None = None) -> str:
    """What the transition table's tests found, saying apart two different things: how many comparisons are
    significant after Benjamini–Hochberg across the table, and how many of those are flagged (significant and
    with the whole ratio interval outside 0.80–1.25), the count the forest plot's title and the summary give.

    ``transitions`` are the rows shown (a drill's group and the reference only); ``family`` is how many
    comparisons the correction ran across (the whole table's)."""
    rows = transitions[_tested(transitions)]
    if rows.empty:
        return "No comparison could be tested with these filters."
    significant = int(rows["significant"].eq(True).sum())
    flagged = int(rows["flagged"].eq(True).sum())
    shown = len(rows)
    what = f"comparison{'s' if shown != 1 else ''}"
    if drill is None:
        head = (
            f"The table makes {shown} {what} against the reference group. **{significant} "
            f"{'is' if significant == 1 else 'are'} significant** after controlling the false discovery rate at 5% "
            "across all of them (Benjamini–Hochberg), so that running many tests does not by itself produce findings"
        )
    else:
        head = (
            f"This drilled table shows {shown} {what} of {group_noun(drill)} against the reference group. "
            f"**{significant} {'is' if significant == 1 else 'are'} significant** after controlling the false "
            f"discovery rate at 5% (Benjamini–Hochberg) across all {family} comparisons of every group"
        )
    if significant == 0:
        return head + ", so none is flagged."
    if flagged == significant:
        tail = "all of them also have" if significant > 1 else "it also has"
        return (
            head + f"; **{flagged} {'is' if flagged == 1 else 'are'} flagged**: {tail} the whole 95% interval of the "
            "risk ratio outside the 0.80–1.25 band."
        )
    return head + (
        f"; of those, **{flagged} {'is' if flagged == 1 else 'are'} flagged**: significant and with the whole 95% "
        "interval of the risk ratio outside the 0.80–1.25 band. The other "
        f"{significant - flagged} {'is' if significant - flagged == 1 else 'are'} significant but not clearly outside "
        "the band: unlikely to be chance alone, but not shown to be large enough to matter."
    )


def overdispersion_sentence(
    phi: float, adjusted: bool, estimated_from: int, organisations: int, minimum: int, protected: bool
) -> str:
    """Whether a funnel's limits allow for overdispersion, and why not when they do not: φ (``phi``, NaN where it
    could not be estimated) from the ``estimated_from`` organisations whose counts are shown, of ``organisations``
    on the funnel; an estimate needs at least ``minimum``. Never prints φ = nan."""
    if adjusted and not math.isnan(phi):
        basis = (
            f"across {_organisations(organisations)}"
            if estimated_from == organisations
            else f"estimated from the {estimated_from} of {_organisations(organisations)} whose counts are shown"
        )
        return (
            f"The limits are widened for overdispersion (Spiegelhalter's method, as FunnelPlotR): organisations vary "
            f"more than chance alone would give (φ = {phi:.2f} {basis})."
        )
    if not math.isnan(phi):
        basis = (
            f"across {_organisations(organisations)}"
            if estimated_from == organisations
            else f"from the {estimated_from} of {_organisations(organisations)} whose counts are shown"
        )
        return (
            "The limits are not adjusted for overdispersion: organisations vary no more than chance alone would give "
            f"(φ = {phi:.2f} ≤ 1, {basis})."
        )
    caveat = (
        " The limits assume organisations differ only by chance, so a point outside them may still be ordinary "
        "variation between organisations."
    )
    if organisations < minimum:
        return (
            f"The limits are not adjusted for overdispersion: estimating it needs at least {minimum} organisations, "
            f"and {_organisations(organisations)} {'has' if organisations == 1 else 'have'} cases at this step."
            + caveat
        )
    if protected and estimated_from < minimum:
        shown = "none" if estimated_from == 0 else f"only {estimated_from}"
        return (
            "The limits are not adjusted for overdispersion, which could not be estimated: that needs the counts of "
            f"at least {minimum} organisations, and {shown} of the {organisations} organisations here "
            f"{'has' if estimated_from == 1 else 'have'} counts large enough to be shown under the protection rule "
            "(the others show as *)." + caveat
        )
    return "The limits are not adjusted for overdispersion: it could not be estimated from these counts." + caveat
