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
