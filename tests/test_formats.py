"""parity.formats: the exact text of every named format, so a change of rounding, separator or threshold fails.

Expected strings are written out by hand, never computed with the function under test or with an f-string.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from parity import disclosure, formats

MISSING = [None, math.nan, np.nan, np.float64("nan"), "*"]


def test_suppressed_is_the_same_star_as_disclosure() -> None:
    assert formats.SUPPRESSED == "*"
    assert formats.SUPPRESSED == disclosure.SUPPRESSED


@pytest.mark.parametrize("fmt", [formats.int0, formats.rate2, formats.ratio2, formats.pct1, formats.pvalue])
@pytest.mark.parametrize("value", MISSING, ids=["None", "math.nan", "np.nan", "float64 nan", "star"])
def test_missing_and_suppressed_values_show_as_a_star(fmt, value) -> None:
    assert fmt(value) == "*"


# --- int0: counts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "0"),
        (7, "7"),
        (999, "999"),
        (1000, "1,000"),
        (1234, "1,234"),
        (1234567, "1,234,567"),
        (np.int64(12345), "12,345"),
        (1234.4, "1,234"),
        (1234.6, "1,235"),
        (999.5, "1,000"),  # rounding carries into a new thousands group
        # Python's round: a tie goes to the even neighbour (counts are whole numbers, so ties are rare).
        (2.5, "2"),
        (3.5, "4"),
        (1234.5, "1,234"),
        (-0.4, "0"),
    ],
)
def test_int0_rounds_to_a_whole_number_with_thousands_commas(value, text: str) -> None:
    assert formats.int0(value) == text


# --- rate2: rates per 1,000 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "0.00"),
        (2.3456, "2.35"),
        (2.344, "2.34"),
        (0.005, "0.01"),  # 0.005 is stored a hair above the tie
        (2.355, "2.35"),  # and 2.355 a hair below it
        (1234.565, "1,234.57"),
        (1_000_000, "1,000,000.00"),
    ],
)
def test_rate2_has_two_decimals_and_thousands_commas(value, text: str) -> None:
    assert formats.rate2(value) == text


# --- ratio2: relative likelihoods and risk ratios --------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1.00"),
        (2.6, "2.60"),
        (1.744, "1.74"),
        (1.746, "1.75"),
        # Rounding of the stored binary value: 1.645 is a hair above the tie, 2.675 a hair below it,
        # and the exact ties 1.625 and 0.125 go to the even digit.
        (1.645, "1.65"),
        (2.675, "2.67"),
        (1.625, "1.62"),
        (0.125, "0.12"),
        # The edges of the 0.80–1.25 band read as the band's own numbers.
        (0.8, "0.80"),
        (1.25, "1.25"),
        (0.795, "0.80"),
        (1.2549, "1.25"),
        (1234.5, "1234.50"),  # no thousands separator on a ratio
        (0.0, "0.00"),
    ],
)
def test_ratio2_has_two_decimals(value, text: str) -> None:
    assert formats.ratio2(value) == text


# --- pct1: proportions given as fractions ----------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "0.0%"),
        (0.123, "12.3%"),
        (0.1236, "12.4%"),
        (0.12345, "12.3%"),
        (0.1235, "12.3%"),  # 0.1235 × 100 comes out a hair below 12.35
        (0.0005, "0.1%"),
        (0.00049, "0.0%"),
        (0.5, "50.0%"),
        (0.9995, "100.0%"),
        (1.0, "100.0%"),
    ],
)
def test_pct1_shows_a_fraction_as_a_percentage_with_one_decimal(value, text: str) -> None:
    assert formats.pct1(value) == text


# --- pvalue ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (0.0, "<0.001"),
        (0.0004, "<0.001"),
        (0.000999, "<0.001"),
        (0.0009999999, "<0.001"),  # just below the threshold: never shown as 0.001
        (0.001, "0.001"),  # the threshold itself is shown as a number
        (0.0010001, "0.001"),
        (0.0014, "0.001"),
        (0.0015, "0.002"),
        (0.0495, "0.050"),
        (0.05, "0.050"),
        (0.051, "0.051"),
        (0.9995, "1.000"),
        (1.0, "1.000"),
        (np.float64(0.0004), "<0.001"),
    ],
)
def test_pvalue_has_three_decimals_and_a_floor_at_0001(value, text: str) -> None:
    assert formats.pvalue(value) == text


# --- interval --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lower, upper, fmt, text",
    [
        (1.6, 1.89, formats.ratio2, "1.60 to 1.89"),
        (0.8, 1.25, formats.ratio2, "0.80 to 1.25"),
        (1.6, math.inf, formats.ratio2, "1.60 to not reached"),
        (1.6, np.inf, formats.ratio2, "1.60 to not reached"),
        (1.6, np.float64("inf"), formats.ratio2, "1.60 to not reached"),
        (3.0, math.inf, formats.int0, "3 to not reached"),
        (0.123, 0.456, formats.pct1, "12.3% to 45.6%"),
        (1200, 3400.6, formats.int0, "1,200 to 3,401"),
        (2.344, 1234.565, formats.rate2, "2.34 to 1,234.57"),
    ],
)
def test_interval_joins_two_formatted_bounds(lower, upper, fmt, text: str) -> None:
    assert formats.interval(lower, upper, fmt) == text


def test_interval_uses_ratio2_unless_told() -> None:
    assert formats.interval(1.645, 2.675) == "1.65 to 2.67"


@pytest.mark.parametrize(
    "lower, upper",
    [(math.nan, 2.0), (1.0, math.nan), (None, 2.0), (1.0, None), ("*", 2.0), (1.0, "*"), (math.nan, math.inf)],
)
def test_interval_with_a_hidden_bound_is_a_single_star(lower, upper) -> None:
    assert formats.interval(lower, upper) == "*"
    assert formats.interval(lower, upper, formats.int0) == "*"
