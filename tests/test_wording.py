"""Sentences that would change if a number, a threshold or a direction changed: each test pins one."""

from __future__ import annotations

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
    assert wording.ratio_phrase(2.04) == "are referred 2.0 times as often as"
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
