import math

import pandas as pd

from parity.disclosure import Rule, as_display, disclose, round_count

RULE = Rule(suppress_max=7, round_to=5)


def test_round_count():
    assert round_count(0, RULE) == 0
    assert math.isnan(round_count(1, RULE)) and math.isnan(round_count(7, RULE))
    assert round_count(8, RULE) == 10
    assert round_count(12, RULE) == 10
    assert round_count(12.5, RULE) == 15
    assert round_count(13, RULE) == 15
    # Halves round up, never to the even neighbour (which would give 20 for 22.5 and 10 for 12.5).
    assert round_count(17.5, RULE) == 20 and round_count(22.5, RULE) == 25 and round_count(7.5, RULE) == 10
    assert round_count(1_000_002, RULE) == 1_000_000
    assert math.isnan(round_count(math.nan, RULE))


def test_round_count_follows_the_rule_it_is_given():
    rule = Rule(suppress_max=10, round_to=10)
    assert math.isnan(round_count(10, rule))
    assert [round_count(n, rule) for n in (0, 11, 15, 24)] == [0, 10, 20, 20]


def test_the_default_rule_is_seven_and_five_and_says_so():
    assert (Rule().suppress_max, Rule().round_to) == (7, 5)
    # The rule now holds at the protected level for every cell, not only below national level (issue 9).
    assert Rule().explain() == (
        "Numbers are protected: every count is slightly perturbed, counts of 1 to 7 show as * and others are "
        "rounded to the nearest 5; rates, shares, intervals and tests are computed from these protected counts, "
        "and a second figure is hidden where a hidden one could be worked out from a total."
    )


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {"group": ["a", "b", "c"], "cases": [0, 5, 23], "headcount": [100, 3, 1234], "rate": [0.0, 1.6, 18.6]}
    )


def test_sub_national_suppresses_and_rounds():
    out = disclose(_table(), ["cases", "headcount"], {"rate": ["cases"]}, protected=True, rule=RULE)
    assert list(out["suppressed"]) == [False, True, False]
    assert out["cases"].iloc[0] == 0  # zero stays 0
    assert math.isnan(out["cases"].iloc[1]) and math.isnan(out["rate"].iloc[1])
    assert out["cases"].iloc[2] == 25 and out["headcount"].iloc[2] == 1235
    assert out["rate"].iloc[2] == 18.6  # derived values computed from exact counts are kept
    shown = as_display(out, ["cases", "rate"])
    assert shown["cases"].iloc[1] == "*" and shown["rate"].iloc[1] == "*"
    # Only hidden values become stars: a zero and a rounded count stay numbers.
    assert list(shown["cases"]) == [0, "*", 25] and list(shown["rate"]) == [0.0, "*", 18.6]
    assert out["headcount"].iloc[0] == 100 and math.isnan(out["headcount"].iloc[1])
    assert out["suppressed"].dtype == bool


def test_disclose_leaves_its_input_alone():
    table = _table()
    disclose(table, ["cases", "headcount"], {"rate": ["cases"]}, protected=True, rule=RULE)
    assert list(table["cases"]) == [0, 5, 23] and "suppressed" not in table


def test_a_derived_value_is_hidden_when_any_of_its_counts_is():
    table = pd.DataFrame(
        {"cases": [20, 20, 3], "headcount": [3, 500, 500], "rate": [6.7, 0.04, 0.006], "share": [0.5, 0.5, 0.1]}
    )
    out = disclose(
        table, ["cases", "headcount"], {"rate": ["cases", "headcount"], "share": ["cases"]}, protected=True, rule=RULE
    )
    assert list(out["suppressed"]) == [True, False, True]
    assert math.isnan(out["rate"].iloc[0]) and out["share"].iloc[0] == 0.5  # only the headcount is hidden
    assert out["rate"].iloc[1] == 0.04 and out["share"].iloc[1] == 0.5
    assert math.isnan(out["rate"].iloc[2]) and math.isnan(out["share"].iloc[2])


def test_national_is_exact():
    out = disclose(_table(), ["cases", "headcount"], {"rate": ["cases"]}, protected=False, rule=RULE)
    assert list(out["cases"]) == [0, 5, 23]
    assert not out["suppressed"].any()
    assert list(out["headcount"]) == [100, 3, 1234] and list(out["rate"]) == [0.0, 1.6, 18.6]
