"""Sentences that would change if a number, a threshold or a direction changed: each test pins one."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from parity import wording
from parity.disclosure import Rule
from parity.measures import SMALL_NUMBERS
from parity.stats.intervals import BYAR_FROM


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [
        (1.0, "1.00 times as often as"),
        (1.745, "1.75 times as often as"),
        (2.5, "2.50 times as often as"),
        (0.5, "2.00 times less often than"),
        (0.8, "1.25 times less often than"),
    ],
)
def test_times_as_often_keeps_the_direction_and_the_number(ratio: float, expected: str) -> None:
    assert wording.times_as_often(ratio) == expected


def test_a_ratio_below_one_is_never_as_often() -> None:
    for ratio in (0.99, 0.5, 0.1):
        assert "as often as" not in wording.times_as_often(ratio)


def test_ratio_phrase_below_one_is_a_rate_not_a_multiple() -> None:
    # One rounding rule for ratios everywhere (issue 15): the heading says what the card says, 2.04.
    assert wording.ratio_phrase(2.04) == "are referred 2.04 times as often as"
    assert wording.ratio_phrase(0.62) == "are referred at 0.62 times the rate of"


@pytest.mark.parametrize(
    ("in_band", "significant", "expected"),
    [
        (True, False, "inside the 0.80–1.25 band, not statistically significant"),
        (False, True, "outside the 0.80–1.25 band, statistically significant"),
        (None, True, ""),
    ],
)
def test_judgement_words(in_band: object, significant: object, expected: str) -> None:
    assert wording.judgement_words(in_band, significant) == expected


def test_fdr_sentence_counts_tests_and_flags() -> None:
    text = wording.fdr_sentence(36, 1)
    assert "36 comparisons" in text and "**1 is flagged**" in text
    assert "**4 are flagged**" in wording.fdr_sentence(36, 4)
    assert wording.fdr_sentence(0, 0) == "No comparison could be tested with these filters."


def test_rl_sentence_of_a_hidden_ratio_says_why_and_gives_no_number() -> None:
    row = pd.Series({"group": "Mixed", "rl": float("nan"), "rl_lower": None, "rl_upper": None})
    text = wording.rl_sentence(row, "White")
    assert "too few referrals" in text and not re.search(r"\d", text)


def test_rl_sentence_states_number_interval_and_judgement() -> None:
    row = pd.Series(
        {"group": "Black", "rl": 1.96, "rl_lower": 1.83, "rl_upper": 2.1, "in_band": False, "significant": True}
    )
    text = wording.rl_sentence(row, "White")
    assert "1.96 times as often as White" in text
    assert "1.83 to 2.10" in text
    assert "outside the 0.80–1.25 band, statistically significant" in text


def test_small_numbers_note_takes_its_threshold_from_the_constant() -> None:
    expected = f"Small numbers: fewer than {SMALL_NUMBERS} referrals, so the interval is wide."
    assert wording.small_numbers_note() == expected
    assert SMALL_NUMBERS == 10


def test_methods_text_fills_every_threshold_from_the_rule() -> None:
    text = wording.methods_text(Rule(suppress_max=9, round_to=10))
    assert "{{" not in text
    assert "counts from 1 to 9" in text and "nearest 10" in text
    assert f"Byar's approximation from {BYAR_FROM}" in text
    other = wording.methods_text(Rule(suppress_max=7, round_to=5))
    assert "counts from 1 to 7" in other and "nearest 5" in other


def test_methods_file_types_no_threshold_of_the_rule() -> None:
    raw = wording.METHODS_PATH.read_text(encoding="utf-8")
    assert not re.search(r"from 1 to \d", raw), "the suppression threshold must be a placeholder"
    assert not re.search(r"nearest \d", raw), "the rounding base must be a placeholder"


def test_three_way_band_in_words_never_calls_an_interval_including_one_similar() -> None:
    assert wording.judgement_words("within", False) == (
        "whole interval within the 0.80–1.25 band, not statistically significant"
    )
    assert wording.judgement_words("inconclusive", False).startswith("interval crosses an edge of the 0.80–1.25 band")
    row = pd.Series({"group": "Mixed", "rl": 1.1, "rl_lower": 0.7, "rl_upper": 1.7, "band": "inconclusive",
                     "in_band": True, "significant": False})  # fmt: skip
    text = wording.rl_sentence(row, "White")
    assert "inconclusive" in text and "similar" not in text and "inside" not in text


def test_a_group_with_no_referrals_reads_plainly() -> None:
    row = pd.Series({"group": "Other ethnic group", "cases": 0, "headcount": 1200, "rl": 0.0, "rl_lower": float("nan"),
                     "rl_upper": float("nan"), "significant": None})  # fmt: skip
    text = wording.rl_sentence(row, "White")
    assert text.startswith("No Other ethnic group practitioners were referred") and "1,200 practitioner-years" in text
    assert "never" not in text and "*" not in text
    assert wording.drill_sentence(row, "White") == text
    with pytest.raises(ValueError, match="no referrals"):
        wording.times_as_often(0.0)


def test_adjusted_sentence_says_what_changed_and_why() -> None:
    row = pd.Series({"group": "Black", "rl": 1.96, "adj_rl": 1.48, "adj_rl_lower": 1.37, "adj_rl_upper": 1.60,
                     "adj_band": "outside", "is_reference": False})  # fmt: skip
    text = wording.adjusted_sentence(row, "White", "place of qualification and profession")
    assert text.startswith("Among practitioners alike in place of qualification and profession")
    assert "**1.48** (95% CI 1.37 to 1.60; whole interval outside the 0.80–1.25 band)" in text
    assert "against 1.96 without adjustment: part of the gap comes from differences" in text
    assert "the rest remains" in text
    gone = row.copy()
    gone[["adj_rl", "adj_rl_lower", "adj_rl_upper", "adj_band"]] = [1.05, 0.9, 1.2, "inconclusive"]
    assert "what remains is not statistically significant" in wording.adjusted_sentence(gone, "White", "age band")
    wider = row.copy()
    wider[["adj_rl", "adj_rl_lower", "adj_rl_upper"]] = [2.3, 2.0, 2.6]
    assert "the gap is wider once those characteristics are held equal" in wording.adjusted_sentence(
        wider, "White", "age band"
    )
    assert wording.adjusted_sentence(row, "White", "nothing") == ""


def test_largest_gap_title_says_how_many_groups_were_compared() -> None:
    table = pd.DataFrame(
        {
            "group": ["White", "Asian", "Black", "Not stated"],
            "rl": [1.0, 1.7, 1.96, 1.3],
            "significant": [False, True, True, True],
            "is_reference": [True, False, False, False],
        }
    )
    title = wording.largest_gap_title(table, "White")
    assert title.endswith("the widest significant gap of 2 groups compared") and title.startswith("Black")
    assert "Not stated are data quality" in wording.gap_count_sentence(table, "White")


def test_interaction_sentence_reads_the_test() -> None:
    from parity.stats import NestedTest

    found = wording.interaction_sentence(NestedTest(30.0, 8, 3.6, 0.0004, "quasi_f", 1.05), "profession")
    assert found.startswith("**The ethnic gap differs by place of qualification**")
    assert "F = 3.60 on 8 degrees of freedom" in found and "p <0.001" in found
    not_found = wording.interaction_sentence(NestedTest(10.0, 8, 10.0, 0.26, "likelihood_ratio", 0.9), "")
    assert not_found.startswith("**These data do not show") and "p = 0.260" in not_found
    assert "cannot be tested" in wording.interaction_sentence(None, "profession")


# --- Pathways: significant is not flagged; φ never "nan" ---------------------------------------------------------


def _steps(*rows: tuple[bool, bool | None, bool | None, float]) -> pd.DataFrame:
    """Transition rows: (is_reference, significant, flagged, p_value)."""
    return pd.DataFrame(rows, columns=["is_reference", "significant", "flagged", "p_value"]).assign(group="G")


def test_pathways_tests_sentence_says_significant_and_flagged_apart() -> None:
    table = _steps(
        (True, None, None, math.nan),
        (False, True, True, 0.001),
        (False, True, False, 0.004),
        (False, True, False, 0.01),
        (False, False, False, 0.4),
    )
    text = wording.pathways_tests_sentence(table, 4)
    assert "The table makes 4 comparisons" in text
    assert "**3 are significant** after controlling the false discovery rate" in text
    assert "**1 is flagged**: significant and with the whole 95% interval" in text
    assert "The other 2 are significant but not clearly outside the band" in text
    # Every flagged one significant: said once, plainly.
    both = wording.pathways_tests_sentence(_steps((False, True, True, 0.001), (False, True, True, 0.002)), 2)
    assert "**2 are significant**" in both and "**2 are flagged**: all of them also have the whole 95%" in both
    assert "so none is flagged" in wording.pathways_tests_sentence(_steps((False, False, False, 0.3)), 1)
    drilled = wording.pathways_tests_sentence(table, 40, drill="Black or Black British")
    assert "This drilled table shows 4 comparisons of Black or Black British practitioners" in drilled
    assert "across all 40 comparisons of every group" in drilled
    assert wording.pathways_tests_sentence(_steps((True, None, None, math.nan)), 0).startswith("No comparison")


def test_overdispersion_sentence_never_prints_nan() -> None:
    widened = wording.overdispersion_sentence(1.49, True, 124, 124, 15, False)
    assert "widened for overdispersion" in widened and "φ = 1.49 across 124 organisations" in widened
    shown = wording.overdispersion_sentence(4.1, True, 23, 143, 15, True)
    assert "φ = 4.10 estimated from the 23 of 143 organisations whose counts are shown" in shown
    assert "φ = 0.94 ≤ 1, across 138 organisations" in wording.overdispersion_sentence(0.94, False, 138, 138, 15, False)
    hidden = wording.overdispersion_sentence(math.nan, False, 5, 124, 15, True)
    assert "could not be estimated" in hidden
    assert (
        "only 5 of the 124 organisations here have counts large enough to be shown under the protection rule" in hidden
    )
    assert "at least 15 organisations" in hidden
    none_shown = wording.overdispersion_sentence(math.nan, False, 0, 43, 15, True)
    assert "none of the 43 organisations here have counts" in none_shown
    few = wording.overdispersion_sentence(math.nan, False, 3, 3, 15, False)
    assert "needs at least 15 organisations, and 3 organisations have cases at this step" in few
    for text in (
        widened,
        shown,
        hidden,
        none_shown,
        few,
        wording.overdispersion_sentence(math.nan, False, 20, 20, 15, False),
    ):
        assert "nan" not in text.lower()


def test_nothing_to_chart_says_what_and_why_by_level():
    protected = wording.nothing_to_chart("median", True)
    full = wording.nothing_to_chart("share still open", False)
    assert protected.startswith("No group's median can be shown under these filters: ")
    assert full.startswith("No group's share still open can be shown under these filters: too few cases")
    # Only the protected level hides numbers, so only it says so.
    assert "too small to show" in protected and "too small to show" not in full
    assert "BAME" not in protected + full


def test_outcome_titles_with_nothing_flagged_or_nothing_tested():
    """No flag is not no difference; and where no comparison could be tested (one small organisation's figures),
    the titles say that, not "none of the 0 comparisons is flagged" or that no group's cases differ."""
    rows = pd.DataFrame(
        {
            "group": ["White", "Asian or Asian British", "Black or Black British"],
            "measure": ["exclusion"] * 3,
            "is_reference": [True, False, False],
            "p_value": [float("nan"), 0.4, 0.03],
            "flagged": [None, False, False],
            "rr": [1.0, 1.2, 1.9],
            "label": ["Exclusion or suspension"] * 3,
        }
    )
    key = ("exclusion",)
    assert wording.outcomes_title(rows, "White", key) == (
        "No difference from White practitioners is flagged at any stage or outcome, once the number of comparisons "
        "is allowed for"
    )
    assert wording.flag_count_title(rows, "White", "the six key measures") == (
        "None of the 2 comparisons on the six key measures is flagged against White practitioners"
    )
    untested = rows.assign(p_value=float("nan"), flagged=None)
    assert wording.outcomes_title(untested, "White", key) == (
        "No group's cases could be tested against those about White practitioners under these filters: too few cases"
    )
    # Unknown groups' p-values are data quality, outside the tested family: still nothing tested.
    unknown = untested.assign(group=["White", "Not stated", "Not known"], p_value=[float("nan"), 0.2, 0.3])
    assert wording.outcomes_title(unknown, "White", key).startswith("No group's cases could be tested")
    assert wording.flag_count_title(untested, "White", "the six key measures") == (
        "No comparison on the six key measures against White practitioners could be tested: too few cases"
    )
