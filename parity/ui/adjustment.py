"""The adjustment set of the adjusted relative likelihoods: a page option of the Overview and Concern rates, kept
in the URL; the method note that says what a model adjusted for; and the adjusted forest plot both pages draw."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from parity import charts, wording
from parity.measures import ADJUSTMENTS, Adjustment
from parity.ui.blocks import chart_block

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


def adjusted_forest(
    summary: pd.DataFrame,
    table: pd.DataFrame,
    adjustment: Adjustment,
    *,
    reference: str,
    split: str,
    split_phrase: str,
    period: str,
    key: str,
) -> None:
    """The adjusted relative likelihoods as a forest plot with its table, downloads and method note; a prompt to
    choose characteristics when none is chosen. ``summary`` carries ``adj_rl`` and its interval."""
    if not adjustment.adjusted_for:
        st.info("Choose characteristics to adjust for above to compare practitioners alike in them.")
        return
    chart_block(
        charts.forest_plot(
            summary,
            wording.adjusted_forest_title(summary, reference, adjustment.described),
            f"Adjusted ratio of referral rates against {reference}, 95% CI, log scale; shaded: the 0.80–1.25 "
            f"non-adverse band · {period}",
            value="adj_rl",
            measure="Adjusted relative likelihood",
        ),
        table,
        key=key,
        alt=f"Forest plot of relative likelihoods of referral by {split_phrase} against {reference}, adjusted for "
        f"{adjustment.described}, with 95% confidence intervals and the 0.80 to 1.25 band shaded.",
        method=adjustment_note(adjustment),
        file_name=f"adjusted_relative_likelihood_by_{split}.csv",
    )
