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


def _table() -> pd.DataFrame:
    return pd.DataFrame({"group": ["a", "b", "c"], "cases": [0, 5, 23], "headcount": [100, 3, 1234],
                         "rate": [0.0, 1.6, 18.6]})


def test_sub_national_suppresses_and_rounds():
    out = disclose(_table(), ["cases", "headcount"], {"rate": ["cases"]}, national=False, rule=RULE)
    assert list(out["suppressed"]) == [False, True, False]
    assert out["cases"].iloc[0] == 0  # zero stays 0
    assert math.isnan(out["cases"].iloc[1]) and math.isnan(out["rate"].iloc[1])
    assert out["cases"].iloc[2] == 25 and out["headcount"].iloc[2] == 1235
    assert out["rate"].iloc[2] == 18.6  # derived values computed from exact counts are kept
    shown = as_display(out, ["cases", "rate"])
    assert shown["cases"].iloc[1] == "*" and shown["rate"].iloc[1] == "*"


def test_national_is_exact():
    out = disclose(_table(), ["cases", "headcount"], {"rate": ["cases"]}, national=True, rule=RULE)
    assert list(out["cases"]) == [0, 5, 23]
    assert not out["suppressed"].any()
