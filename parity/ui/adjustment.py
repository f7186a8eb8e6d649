"""The adjustment set of the adjusted relative likelihoods: a page option of the Overview and Concern rates, kept
in the URL, and the method note that says what a model adjusted for."""

from __future__ import annotations

import streamlit as st

from parity.measures import ADJUSTMENTS, Adjustment

# URL key of the characteristics adjusted relative likelihoods hold equal (shared by both pages).
K_ADJUST = "adjust"


def adjustment_choice() -> tuple[str, ...]:
    """Which characteristics the adjusted relative likelihoods hold equal: a multi-select kept in the URL, every
    characteristic by default; none chosen means no adjustment."""
    chosen = st.multiselect(
        "Adjust relative likelihoods for",
        list(ADJUSTMENTS),
        default=list(ADJUSTMENTS),
        format_func=ADJUSTMENTS.get,
        key=K_ADJUST,
        bind="query-params",
        placeholder="No adjustment",
        help="The adjusted relative likelihood compares practitioners alike in these characteristics (a Poisson "
        "regression). The split's own characteristics are never adjusted for.",
    )
    return tuple(chosen)


def adjustment_note(adjustment: Adjustment) -> str:
    """The method note on an adjusted ratio: what the model adjusted for and how it allowed for overdispersion."""
    if not adjustment.adjusted_for:
        return "No adjustment chosen: only the unadjusted relative likelihood is shown."
    if adjustment.method == "quasi-poisson":
        spread = (
            f"referral counts vary more than chance alone would give (Pearson dispersion "
            f"{adjustment.dispersion:.2f}), so the intervals are widened by its square root (quasi-Poisson)"
        )
    else:
        spread = "referral counts vary no more than chance would give, so the intervals are Poisson's"
    left_out = (
        f" {adjustment.cases_left_out:,} referrals in cells with no practitioners recorded are left out of the model."
        if adjustment.cases_left_out
        else ""
    )
    return (
        f"Adjusted relative likelihood: a Poisson regression of referrals with log practitioner-years as offset, "
        f"adjusting for {adjustment.described}; {spread}.{left_out}"
    )
