"""parity.stats against the reference implementations' published cases (tests/reference) and properties."""

from __future__ import annotations

import ast
import csv
import importlib
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from parity import stats
from parity.stats import Ratio, spc
from parity.stats.survival import _flat_middles as flat_middles

REFERENCE = Path(__file__).parent / "reference"
METHODS = Path(__file__).resolve().parent.parent / "parity" / "methods.md"

PHE_LABELS = {
    "High (0.001)": "higher_99.8",
    "High (0.025)": "higher_95",
    "Not significant": "similar",
    "Low (0.025)": "lower_95",
    "Low (0.001)": "lower_99.8",
}


def reference_json(name: str) -> dict:
    return json.loads((REFERENCE / name).read_text())


def reference_csv(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(newline="") as f:
        return list(csv.DictReader(f))


def number(value: object) -> float:
    """JSON has no NaN or infinity: the reference files spell them "nan" and "inf"."""
    return float(value)  # type: ignore[arg-type]


def same(actual: float, expected: float, **tolerance: float) -> bool:
    if math.isnan(expected):
        return math.isnan(actual)
    if math.isinf(expected):
        return actual == expected
    return math.isclose(actual, expected, **tolerance)


def to_significant_figures(value: float, figures: int) -> float:
    return float(f"{value:.{figures}g}")


def step_function_at(times: tuple[float, ...], curve: tuple[float, ...], at: float) -> float:
    return curve[int(np.searchsorted(times, at, side="right")) - 1]


# --- PHEindicatormethods: proportions, rates, funnels -----------------------------------------------


PHE_FUNNEL_INPUTS = reference_csv("pheindicatormethods_funnel_proportion_inputs.csv")
PHE_AVERAGE = sum(float(r["numerator"]) for r in PHE_FUNNEL_INPUTS) / sum(
    float(r["denominator"]) for r in PHE_FUNNEL_INPUTS
)


@pytest.mark.parametrize("case", reference_json("pheindicatormethods_wilson.json")["cases"])
def test_wilson_interval_matches_the_pheindicatormethods_port(case: dict) -> None:
    lower, upper = stats.wilson_interval(case["x"], case["n"], case["confidence"])
    actual = lower if case["bound"] == "lower" else upper
    assert actual == pytest.approx(case["value"], rel=1e-12)


def test_funnel_baseline_is_the_published_pooled_proportion() -> None:
    baselines = {row["Baseline"] for row in reference_csv("pheindicatormethods_funnel_proportion_limits.csv")}
    assert baselines == {"80.642448"}
    assert round(PHE_AVERAGE * 100, 6) == 80.642448


def test_proportion_funnel_limits_match_the_phe_table_to_six_decimals() -> None:
    columns = {
        0.95: ("Lower2s0025limit", "Upper2s0025limit"),
        0.998: ("Lower3s0001limit", "Upper3s0001limit"),
    }
    rows = reference_csv("pheindicatormethods_funnel_proportion_limits.csv")
    assert len(rows) == 100
    for row in rows:
        for confidence, (lower_column, upper_column) in columns.items():
            lower, upper = stats.proportion_funnel_limits(float(row["Population"]), PHE_AVERAGE, confidence)
            # PHE publishes percentages rounded to 6 decimal places.
            assert abs(lower * 100 - float(row[lower_column])) <= 5.000001e-7, row
            assert abs(upper * 100 - float(row[upper_column])) <= 5.000001e-7, row


def test_funnel_significance_matches_phe_for_every_area() -> None:
    mismatches = [
        (row["Area"], row["significance"])
        for row in PHE_FUNNEL_INPUTS
        if stats.funnel_significance(float(row["numerator"]), float(row["denominator"]), PHE_AVERAGE)
        != PHE_LABELS[row["significance"]]
    ]
    assert len(PHE_FUNNEL_INPUTS) == 303
    assert mismatches == []


def test_ratio_funnel_significance_matches_phe_for_every_case() -> None:
    rows = reference_csv("pheindicatormethods_funnel_ratio_inputs.csv")
    mismatches = [
        row
        for row in rows
        if stats.ratio_funnel_significance(float(row["obs"]), float(row["expected"])) != PHE_LABELS[row["significance"]]
    ]
    assert len(rows) == 300
    # 297 of these cases have 10 or more events, so they exercise Byar's method; 3 the exact limits.
    assert mismatches == []


def test_rate_funnel_limits_classify_every_phe_ratio_case_as_phe_does() -> None:
    """Limits drawn around E flag exactly the counts PHE's ratio funnel flags (same exact/Byar reading)."""
    rows = reference_csv("pheindicatormethods_funnel_ratio_inputs.csv")
    for row in rows:
        observed, expected = float(row["obs"]), float(row["expected"])
        label = "similar"
        for level, high, low in stats.FUNNEL_BANDS:
            lower, upper = stats.rate_funnel_limits(expected, level)
            if observed > upper:
                label = high
                break
            if observed < lower:
                label = low
                break
        assert label == PHE_LABELS[row["significance"]], row


def test_poisson_count_intervals_are_the_intervals_one_at_a_time() -> None:
    """The array form a funnel's bisection uses gives each count the one-at-a-time interval: 0, fractional counts,
    both sides of the switch to Byar's at 10 events, and large counts, at both funnel levels."""
    counts = np.array([0.0, 1e-6, 0.5, 1.0, 3.7, 9.0, 9.999999, 10.0, 10.000001, 12.5, 99.0, 1e4, 2.5e6])
    for confidence in (0.95, 0.998):
        lower, upper = stats.poisson_count_intervals(counts, confidence)
        for x, lo, hi in zip(counts, lower, upper, strict=True):
            one = stats.poisson_count_interval(float(x), confidence)
            assert lo == pytest.approx(one[0], rel=1e-14, abs=1e-300), (x, confidence)
            assert hi == pytest.approx(one[1], rel=1e-14), (x, confidence)


def test_rate_funnel_limits_many_are_the_limits_one_at_a_time() -> None:
    """All at once (bisection) or one at a time (brentq): the same limits, within a count's 1e-9, from a fraction of
    an event to 200,000; around the switch from exact to Byar's interval at 10 events, where a bound steps down
    and a count can sit on a limit twice; with and without overdispersion. A missing or non-positive expected
    count has no limits either way."""
    expected = np.concatenate(
        [
            np.geomspace(1e-3, 2e5, 400),
            np.linspace(4.2, 5.3, 120),  # upper limits near 10 events
            np.linspace(17.3, 19.5, 120),  # lower limits near 10 events
            [math.nan, 0.0, -1.0],
        ]
    )
    for level in (0.95, 0.998):
        for scale in (1.0, 1.7):
            lower, upper = stats.rate_funnel_limits_many(expected, level, scale)
            one = np.array([stats.rate_funnel_limits(e, level, scale) for e in expected])
            assert np.isnan(lower[-3:]).all() and np.isnan(upper[-3:]).all() and np.isnan(one[-3:]).all()
            assert lower[:-3] == pytest.approx(one[:-3, 0], rel=1e-9, abs=2e-9)
            assert upper[:-3] == pytest.approx(one[:-3, 1], rel=1e-9, abs=2e-9)
            assert (lower[:-3] == 0).sum() == (one[:-3, 0] == 0).sum() > 0  # no events is not significantly low
    with pytest.raises(ValueError, match="scale must be 1 or more"):
        stats.rate_funnel_limits_many([4.0], 0.95, 0.9)


def test_rate_funnel_limits_widen_smoothly_from_poisson_as_overdispersion_rises() -> None:
    poisson = stats.rate_funnel_limits(40.0, 0.998)
    assert stats.rate_funnel_limits(40.0, 0.998, 1.0 + 1e-9) == pytest.approx(poisson, rel=1e-7)
    wider = stats.rate_funnel_limits(40.0, 0.998, 1.3)
    assert wider[0] < poisson[0] < 40 < poisson[1] < wider[1]
    assert math.log(wider[1] / 40) == pytest.approx(1.3 * math.log(poisson[1] / 40), rel=1e-9)
    # No events is not significantly low when the expected count is small.
    assert stats.rate_funnel_limits(2.0, 0.95)[0] == 0.0


def test_rate_funnel_compares_each_organisation_with_the_rest_and_measures_phi_on_the_same_scale() -> None:
    rng = np.random.default_rng(5)
    exposure = rng.integers(2_000, 60_000, size=40).astype(float)
    events = rng.poisson(0.004 * exposure * rng.lognormal(0, 0.3, size=40)).astype(float)
    events[0] = 0.0
    funnel = stats.rate_funnel(events, exposure)
    rest = (events.sum() - events[3]) / (exposure.sum() - exposure[3])
    assert funnel.expected[3] == pytest.approx(rest * exposure[3], rel=1e-12)
    expected = np.array(funnel.expected)
    phi = stats.overdispersion(np.maximum(events, 0.5), expected, kind="ratio").phi
    assert funnel.phi == pytest.approx(phi) and funnel.phi > 1
    assert funnel.scale == pytest.approx(math.sqrt(funnel.phi))
    for o, e, label in zip(events, expected, funnel.significance, strict=True):
        lower, upper = stats.rate_funnel_limits(e, 0.95, funnel.scale)
        assert (label == "similar") == (lower <= o <= upper)
    few = stats.rate_funnel(events[:10], exposure[:10])
    assert math.isnan(few.phi) and few.scale == 1.0


@pytest.mark.parametrize(
    "row", reference_csv("pheindicatormethods_funnel_ratio_limits.csv"), ids=lambda r: r["Observed_events"]
)
def test_exact_poisson_limits_below_ten_match_phe(row: dict[str, str]) -> None:
    # PHE's ratio funnel gives, for each observed count, the expected counts at which that count sits on a
    # limit: the exact Poisson limits of the count. PHE finds them by bisection, hence the tolerance.
    observed = float(row["Observed_events"])
    for confidence, upper_column, lower_column in (
        (0.95, "lower_2s_exp_events", "upper_2s_exp_events"),
        (0.998, "lower_3s_exp_events", "upper_3s_exp_events"),
    ):
        lower, upper = stats.rate_interval(observed, 1, confidence, per=1)
        assert lower == pytest.approx(float(row[lower_column]), abs=1e-5)
        assert upper == pytest.approx(float(row[upper_column]), abs=1e-5)
        # At the expected count where PHE's funnel puts the observed count on its upper limit, the
        # standardised ratio's interval just reaches 1.
        ratio = stats.indirectly_standardised_ratio(observed, float(row[upper_column]), confidence)
        assert ratio.upper == pytest.approx(1, abs=1e-5)


def test_rate_interval_scales_the_count_interval_by_denominator_and_multiplier() -> None:
    count_lower, count_upper = stats.rate_interval(25, 1, per=1)
    assert stats.rate_interval(25, 4000, per=1000) == pytest.approx((count_lower / 4, count_upper / 4))
    assert stats.rate_interval(0, 100, per=100) == (0.0, pytest.approx(stats.rate_interval(0, 1, per=1)[1]))


def test_rate_interval_switches_from_exact_to_byar_at_ten_events() -> None:
    # Byar's limits for 10 events, written out from the published formula (Breslow & Day 1987).
    z = 1.959963984540054
    byar_lower = 10 * (1 - 1 / 90 - z / (3 * math.sqrt(10))) ** 3
    byar_upper = 11 * (1 - 1 / 99 + z / (3 * math.sqrt(11))) ** 3
    assert stats.rate_interval(10, 1, per=1) == pytest.approx((byar_lower, byar_upper), rel=1e-12)
    # Below 10 the limits are exact, and checked against PHE's table above.
    assert stats.rate_interval(9, 1, per=1)[0] != pytest.approx(9 * (1 - 1 / 81 - z / 9) ** 3, rel=1e-6)
    # Exact (Garwood) limits, as published in tables of Poisson confidence limits: 9 events, 4.1154 to 17.0848;
    # no events, 0 to 3.6889.
    assert stats.rate_interval(9, 1, per=1) == pytest.approx((4.115373, 17.084803), rel=1e-6)
    assert stats.rate_interval(0, 1, per=1) == (0.0, pytest.approx(3.688879, rel=1e-6))


# --- scipy: risk ratio and 2x2 tests -----------------------------------------------------------------


@pytest.mark.parametrize("case", reference_json("scipy.json")["relative_risk"])
def test_risk_ratio_matches_scipy_published_cases(case: dict) -> None:
    ratio = stats.risk_ratio(case["a"], case["n1"], case["c"], case["n2"])
    assert same(ratio.value, number(case["value"]), rel_tol=1e-13)
    rel = case.get("rtol", 1e-12)
    if "lower" in case:
        assert same(ratio.lower, number(case["lower"]), rel_tol=rel)
        assert same(ratio.upper, number(case["upper"]), rel_tol=rel)


def test_risk_ratio_with_no_cases_in_the_group_is_zero_with_an_open_upper_bound() -> None:
    ratio = stats.risk_ratio(0, 50, 7, 80)
    assert (ratio.value, ratio.lower) == (0.0, 0.0) and math.isnan(ratio.upper)


@pytest.mark.parametrize("case", reference_json("scipy.json")["fisher_exact"], ids=lambda c: str(c["table"]))
def test_small_tables_use_fisher_exact_as_scipy(case: dict) -> None:
    (a, not_a), (c, not_c) = case["table"]
    test = stats.compare_proportions(a, a + not_a, c, c + not_c)
    assert test.method == "fisher_exact"
    # scipy's own comparison: numpy's assert_approx_equal to the significant figures its test uses.
    np.testing.assert_approx_equal(test.p_value, case["p_value"], significant=case["significant_figures"])
    if "odds_ratio" in case:
        assert test.statistic == pytest.approx(case["odds_ratio"])


@pytest.mark.parametrize("a, n1, c, n2", [(5, 20, 20, 40), (5, 21, 20, 45), (120, 400, 95, 410)])
def test_larger_tables_use_chi_square_without_continuity_correction(a: int, n1: int, c: int, n2: int) -> None:
    # Independent computation (no reference publishes this case): Pearson's X² for a 2x2 table in closed
    # form, N(ad − bc)² / (r1 r2 c1 c2), and its 1-df upper tail erfc(√(X²/2)).
    b, d = n1 - a, n2 - c
    total = n1 + n2
    chi_square = total * (a * d - b * c) ** 2 / (n1 * n2 * (a + c) * (b + d))
    test = stats.compare_proportions(a, n1, c, n2)
    assert test.method == "chi_square"
    assert test.statistic == pytest.approx(chi_square, rel=1e-12)
    assert test.p_value == pytest.approx(math.erfc(math.sqrt(chi_square / 2)), rel=1e-10)


def test_an_expected_count_just_below_five_switches_to_fisher() -> None:
    # Expected count for the top-left cell is 10 × 9 / 19 = 4.74.
    assert stats.compare_proportions(2, 9, 8, 10).method == "fisher_exact"
    # Every expected count ≥ 5: 20 × 25 / 60 = 8.3 is the smallest.
    assert stats.compare_proportions(5, 20, 20, 40).method == "chi_square"


@pytest.mark.parametrize(
    "ratio, expected",
    [
        (Ratio(1.0, 0.9, 1.1), (True, False, "similar")),
        (Ratio(1.25, 1.1, 1.4), (True, True, "higher")),
        (Ratio(0.8, 0.7, 0.95), (True, True, "lower")),
        (Ratio(2.6, 0.9, 7.5), (False, False, "similar")),
        (Ratio(1.3, 1.0, 1.7), (False, False, "similar")),
        (Ratio(0.5, 0.3, 0.79), (False, True, "lower")),
        (Ratio(0.0, 0.0, math.nan), (False, False, "similar")),
        (Ratio(math.nan, math.nan, math.nan), (False, False, "similar")),
        # Just outside the band on either side, and an interval that only touches 1 from below.
        (Ratio(1.2501, 1.1, 1.4), (False, True, "higher")),
        (Ratio(0.7999, 0.7, 0.95), (False, True, "lower")),
        (Ratio(0.8, 0.6, 1.0), (True, False, "similar")),
    ],
)
def test_ratio_judgement(ratio: Ratio, expected: tuple[bool, bool, str]) -> None:
    judgement = stats.ratio_judgement(ratio)
    assert (judgement.in_band, judgement.significant, judgement.direction) == expected


@pytest.mark.parametrize(
    "ratio, band",
    [
        # Written from the definition (no published case reads an interval three ways; tests/reference/README.md).
        (Ratio(2.0, 1.5, 2.6), "outside"),  # wholly above 1.25
        (Ratio(0.5, 0.3, 0.79), "outside"),  # wholly below 0.80
        (Ratio(1.0, 0.9, 1.1), "within"),  # wholly inside: equivalent at the interval's level
        (Ratio(1.0, 0.8, 1.25), "within"),  # the band is inclusive at both ends
        (Ratio(1.3, 1.1, 1.5), "inconclusive"),  # above 1, but crosses 1.25: adverse not shown
        (Ratio(1.0, 0.7, 1.4), "inconclusive"),  # includes 1, and too wide to call similar
        (Ratio(1.26, 1.2501, 1.4), "outside"),
        (Ratio(1.2, 1.1, 1.2501), "inconclusive"),
        (Ratio(0.0, 0.0, math.nan), "inconclusive"),
        (Ratio(math.nan, math.nan, math.nan), "inconclusive"),
    ],
)
def test_band_judgement_reads_the_whole_interval(ratio: Ratio, band: str) -> None:
    assert stats.band_judgement(ratio) == band
    assert stats.ratio_judgement(ratio).band == band


def test_an_interval_including_one_is_never_read_as_within_the_band_unless_it_fits_inside() -> None:
    wide = stats.ratio_judgement(Ratio(1.0, 0.5, 2.0))
    assert wide.direction == "similar" and not wide.significant and wide.band == "inconclusive"


def _eba1977() -> tuple[dict, pd.DataFrame]:
    case = reference_json("iswr_eba1977.json")
    frame = pd.DataFrame(case["data"]).rename(columns={"pop": "headcount"})
    return case, frame


def _adjusted(frame: pd.DataFrame, group: str, reference: str, factors: list[str]) -> stats.AdjustedRatios:
    return stats.adjusted_rate_ratios(
        frame["cases"], frame["headcount"], frame[group], reference, {f: frame[f] for f in factors}
    )


def test_adjusted_rate_ratios_equal_r_glm_on_the_danish_lung_cancer_data() -> None:
    """R's glm(cases ~ city + age + offset(log(pop)), family = poisson) on ISwR's eba1977, as printed."""
    case, frame = _eba1977()
    coefficients = case["coefficients"]
    by_city = _adjusted(frame, "city", "Fredericia", ["age"])
    by_age = _adjusted(frame, "age", "40-54", ["city"])
    # φ = Pearson χ² / 15 > 1 here, so the intervals are quasi-Poisson: R's standard errors × √φ.
    assert by_city.method == "quasi-poisson" and by_city.dispersion == pytest.approx(by_age.dispersion)
    widen = math.sqrt(by_city.dispersion)
    z = 1.959963984540054
    for fitted, factor in ((by_city, "city"), (by_age, "age")):
        for level, ratio in fitted.ratios.items():
            if level == fitted.reference:
                assert ratio.value == 1
                continue
            estimate, error = coefficients[f"{factor}{level}"]
            assert math.log(ratio.value) == pytest.approx(estimate, abs=5e-5), level
            half_width = (math.log(ratio.upper) - math.log(ratio.lower)) / 2
            assert half_width / (z * widen) == pytest.approx(error, abs=5e-5), level
    assert by_city.cells == 24 and by_city.adjusted_for == ("age",)


def test_the_dispersion_is_pearsons_chi_square_over_residual_df_from_the_fitted_counts() -> None:
    """Recomputed here from R's printed coefficients (the source prints no quasi-Poisson dispersion)."""
    case, frame = _eba1977()
    coefficients = {k: v[0] for k, v in case["coefficients"].items()}
    linear = (
        coefficients["(Intercept)"]
        + frame["city"].map(lambda c: coefficients.get(f"city{c}", 0.0))
        + frame["age"].map(lambda a: coefficients.get(f"age{a}", 0.0))
    )
    fitted = np.exp(linear) * frame["headcount"]
    pearson = float((((frame["cases"] - fitted) ** 2) / fitted).sum())
    deviance = 2 * float(
        (
            np.where(frame["cases"] > 0, frame["cases"] * np.log(frame["cases"] / fitted), 0)
            - (frame["cases"] - fitted)
        ).sum()
    )
    assert deviance == pytest.approx(case["residual_deviance"][0], abs=2e-3)
    result = _adjusted(frame, "city", "Fredericia", ["age"])
    assert result.dispersion == pytest.approx(pearson / case["residual_deviance"][1], rel=1e-3)


def _cells(seed: int = 7):
    """Small grouped cells: three groups, two adjustment factors, a planted interaction."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, group_rate in (("White", 1.0), ("Asian", 1.4), ("Black", 1.8)):
        for place, place_rate in (("UK", 1.0), ("IMG", 2.0)):
            for age, age_rate in (("young", 0.6), ("middle", 1.0), ("old", 1.5)):
                headcount = int(rng.integers(2_000, 20_000))
                extra = 1.6 if (group != "White" and place == "IMG") else 1.0
                rate = 0.004 * group_rate * place_rate * age_rate * extra
                rows.append((group, place, age, int(rng.poisson(rate * headcount)), headcount))
    return pd.DataFrame(rows, columns=["grp", "place", "age", "cases", "headcount"])


def test_adjusted_rate_ratios_equal_statsmodels_formula_glm_on_the_same_cells() -> None:
    cells = _cells()
    fitted = _adjusted(cells, "grp", "White", ["place", "age"])
    model = smf.glm(
        "cases ~ C(grp, Treatment('White')) + C(place) + C(age)",
        data=cells,
        offset=np.log(cells["headcount"]),
        family=sm.families.Poisson(),
    ).fit()
    phi = model.pearson_chi2 / model.df_resid
    assert fitted.dispersion == pytest.approx(phi, rel=1e-8)
    scale = math.sqrt(max(1.0, phi))
    for group in ("Asian", "Black"):
        name = f"C(grp, Treatment('White'))[T.{group}]"
        beta, se = model.params[name], model.bse[name] * scale
        ratio = fitted.ratios[group]
        assert ratio.value == pytest.approx(math.exp(beta), rel=1e-8)
        assert ratio.lower == pytest.approx(math.exp(beta - 1.959963984540054 * se), rel=1e-7)
        assert ratio.upper == pytest.approx(math.exp(beta + 1.959963984540054 * se), rel=1e-7)


def test_without_adjustment_the_ratio_is_the_crude_rate_ratio() -> None:
    cells = _cells()
    fitted = _adjusted(cells, "grp", "White", [])
    totals = cells.groupby("grp")[["cases", "headcount"]].sum()
    crude = (totals.loc["Black", "cases"] / totals.loc["Black", "headcount"]) / (
        totals.loc["White", "cases"] / totals.loc["White", "headcount"]
    )
    assert fitted.ratios["Black"].value == pytest.approx(crude, rel=1e-9)
    assert fitted.adjusted_for == () and fitted.method == "poisson"
    # Katz's interval for two Poisson counts: log ratio ± z √(1/a + 1/c).
    se = math.sqrt(1 / totals.loc["Black", "cases"] + 1 / totals.loc["White", "cases"])
    assert fitted.ratios["Black"].upper == pytest.approx(crude * math.exp(1.959963984540054 * se), rel=1e-7)


def test_cells_without_exposure_are_counted_and_levels_without_events_are_not_computable() -> None:
    cells = _cells()
    extra = pd.DataFrame(
        [("Mixed", "UK", "young", 0, 5_000), ("Mixed", "IMG", "old", 0, 3_000), ("Black", "UK", "old", 4, 0)],
        columns=cells.columns,
    )
    fitted = _adjusted(pd.concat([cells, extra]), "grp", "White", ["place", "age"])
    assert fitted.cells_left_out == 1 and fitted.events_left_out == 4
    assert math.isnan(fitted.ratios["Mixed"].value)
    alone = _adjusted(cells, "grp", "White", ["place", "age"])
    assert fitted.ratios["Black"].value == pytest.approx(alone.ratios["Black"].value, rel=1e-9)


def test_interaction_test_equals_statsmodels_deviance_difference_and_finds_the_planted_interaction() -> None:
    cells = _cells()
    test = stats.interaction_test(
        cells["cases"], cells["headcount"], cells["grp"], cells["place"], {"age": cells["age"]}
    )
    fits = [
        smf.glm(formula, data=cells, offset=np.log(cells["headcount"]), family=sm.families.Poisson()).fit()
        for formula in ("cases ~ C(grp) + C(place) + C(age)", "cases ~ C(grp) * C(place) + C(age)")
    ]
    assert test.df == 2
    assert test.deviance == pytest.approx(fits[0].deviance - fits[1].deviance, rel=1e-7)
    phi = fits[1].pearson_chi2 / fits[1].df_resid
    assert test.dispersion == pytest.approx(phi, rel=1e-7)
    if phi > 1:
        assert test.method == "quasi_f"
        assert test.p_value == pytest.approx(float(sps.f.sf(test.deviance / 2 / phi, 2, fits[1].df_resid)))
    else:
        assert test.method == "likelihood_ratio"
        assert test.p_value == pytest.approx(float(sps.chi2.sf(test.deviance, 2)))
    assert test.p_value < 0.05


@pytest.mark.parametrize("counts", [(30, 1000, 20, 1200), (9, 400, 30, 2000), (120, 5000, 100, 5200), (3, 50, 1, 60)])
def test_risk_ratio_test_agrees_with_the_katz_interval_beside_it(counts: tuple[int, int, int, int]) -> None:
    test = stats.risk_ratio_test(*counts)
    ratio = stats.risk_ratio(*counts)
    assert (test.p_value < 0.05) == (ratio.lower > 1 or ratio.upper < 1)
    # At the test's own p-value the matching interval just touches 1.
    touching = stats.risk_ratio(*counts, confidence=1 - test.p_value)
    assert min(abs(math.log(touching.lower)), abs(math.log(touching.upper))) == pytest.approx(0, abs=1e-9)
    assert math.isnan(stats.risk_ratio_test(0, 100, 5, 100).p_value)


def test_benjamini_hochberg_reproduces_the_1995_worked_example() -> None:
    case = reference_json("benjamini_hochberg_1995.json")
    assert stats.benjamini_hochberg(case["p_values"], case["alpha"]) == case["rejected"]


def test_benjamini_hochberg_leaves_untested_hypotheses_out_of_the_family() -> None:
    # With the NaN left out the family has two members: 0.01 ≤ 0.025 and 0.04 ≤ 0.05.
    assert stats.benjamini_hochberg([0.01, math.nan, 0.04]) == [True, False, True]
    assert stats.benjamini_hochberg([]) == []


# --- lifelines: Kaplan–Meier and log-rank ------------------------------------------------------------


def dataset(name: str) -> list[dict[str, str]]:
    return reference_csv(f"lifelines_{name}.csv")


def event(value: str) -> int:
    return 1 if value in ("True", "1") else 0


@pytest.mark.parametrize("case", reference_json("lifelines.json")["kaplan_meier"], ids=lambda c: c["name"])
def test_kaplan_meier_matches_r_survfit_as_lifelines_publishes(case: dict) -> None:
    rows = [r for r in dataset(case["dataset"]) if r[case["group_column"]] == case["group"]]
    curve = stats.kaplan_meier([float(r["time"]) for r in rows], [event(r["event"]) for r in rows])
    for field, places in case["decimal_places"].items():
        for at, expected in zip(case["at_times"], case[field], strict=True):
            actual = step_function_at(curve.times, getattr(curve, field), at)
            assert abs(actual - expected) <= 0.5 * 10**-places + 1e-12, (field, at)


def test_kaplan_meier_median_and_its_interval_on_the_g3_control_group() -> None:
    rows = [r for r in dataset("g3") if r["group"] == "Control"]
    curve = stats.kaplan_meier([float(r["time"]) for r in rows], [event(r["event"]) for r in rows])
    # The curve lands exactly on 0.5 at 32 (a deliberate, documented difference from lifelines, whose
    # rounding reports 34); the lower limit first reaches 0.5 at 9; the upper limit never does.
    assert (curve.median, curve.median_lower, curve.median_upper) == (32.0, 9.0, math.inf)


@pytest.mark.parametrize("case", reference_json("lifelines.json")["logrank"], ids=lambda c: c["name"])
def test_logrank_matches_r_survdiff(case: dict) -> None:
    if "dataset" in case:
        rows = dataset(case["dataset"])
        time, status = ("time", "event") if case["dataset"] == "g3" else ("Time", "Censor")
        groups = {side: [r for r in rows if r[case["group_column"]] == case[f"group_{side}"]] for side in ("a", "b")}
        args = []
        for side in ("a", "b"):
            args += [[float(r[time]) for r in groups[side]], [event(r[status]) for r in groups[side]]]
    else:
        args = [case["durations_a"], case["observed_a"], case["durations_b"], case["observed_b"]]
    test = stats.logrank(*args)
    assert test.method == "logrank"
    assert test.p_value == pytest.approx(case["p_value"], abs=case["p_atol"])
    if "statistic" in case:
        assert test.statistic == pytest.approx(case["statistic"], abs=case["statistic_atol"])


survival_data = st.integers(1, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 60), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None)
@given(survival_data, st.sampled_from([0.9, 0.95, 0.99]))
def test_kaplan_meier_equals_lifelines(data: tuple[list[int], list[int]], confidence: float) -> None:
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    durations, observed = data
    curve = stats.kaplan_meier(durations, observed, confidence)
    fitter = KaplanMeierFitter(alpha=1 - confidence).fit(durations, observed)
    bands = fitter.confidence_interval_.to_numpy()
    assert np.allclose(fitter.survival_function_.index, curve.times)
    assert np.allclose(fitter.survival_function_.iloc[:, 0], curve.survival, atol=1e-12)
    assert np.allclose(bands[:, 0], curve.lower, atol=1e-12)
    assert np.allclose(bands[:, 1], curve.upper, atol=1e-12)
    median_band = median_survival_times(fitter.confidence_interval_).iloc[0]
    for ours, theirs, band in (
        (curve.median_lower, median_band.iloc[0], curve.lower),
        (curve.median_upper, median_band.iloc[1], curve.upper),
    ):
        if np.all(np.diff(band) <= 1e-12):  # a band that never rises: the same answer as lifelines
            assert ours == theirs
        else:  # see the docstring: the first time the band reaches 0.5, even if it later rises above it
            reached = np.flatnonzero(np.asarray(band) <= 0.5 + 1e-12)
            assert ours == (curve.times[reached[0]] if len(reached) else math.inf)
    if not np.isclose(curve.survival, 0.5, atol=1e-9).any():  # see the docstring on exact ties at 0.5
        assert curve.median == fitter.median_survival_time_


@settings(max_examples=40, deadline=None)
@given(survival_data, survival_data)
def test_logrank_equals_lifelines(a: tuple[list[int], list[int]], b: tuple[list[int], list[int]]) -> None:
    from lifelines.statistics import logrank_test

    test = stats.logrank(a[0], a[1], b[0], b[1])
    # No events, or no time at which both groups are at risk: nothing to compare (tested below).
    assume(not math.isnan(test.statistic))
    oracle = logrank_test(a[0], b[0], a[1], b[1])
    assert test.statistic == pytest.approx(oracle.test_statistic, rel=1e-8, abs=1e-10)
    assert test.p_value == pytest.approx(oracle.p_value, rel=1e-8, abs=1e-12)


def test_logrank_without_events_has_nothing_to_compare() -> None:
    test = stats.logrank([1, 2], [0, 0], [3, 4], [0, 0])
    assert math.isnan(test.statistic) and math.isnan(test.p_value)


def test_median_not_reached_is_infinite() -> None:
    curve = stats.kaplan_meier([5, 10, 15, 20], [1, 0, 0, 0])
    assert curve.median == math.inf and curve.median_upper == math.inf


# --- FunnelPlotR: overdispersion ---------------------------------------------------------------------


@pytest.mark.parametrize("case", reference_json("funnelplotr.json")["cases"])
def test_overdispersion_phi_matches_funnelplotr(case: dict) -> None:
    result = stats.overdispersion(case["numerator"], case["denominator"], case["kind"], case["trim"])
    assert round(result.phi, case["decimal_places"]) == case["phi"]


def type7_quantile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    h = (len(ordered) - 1) * p
    low = math.floor(h)
    return ordered[low] + (h - low) * (ordered[min(low + 1, len(ordered) - 1)] - ordered[low])


def test_overdispersion_for_proportions_by_independent_computation() -> None:
    # Independent computation (FunnelPlotR publishes no proportion case): Spiegelhalter (2005) written
    # out step by step with the PHE funnel data, whose spread between areas is far beyond binomial.
    x = [float(r["numerator"]) for r in PHE_FUNNEL_INPUTS]
    n = [float(r["denominator"]) for r in PHE_FUNNEL_INPUTS]
    target = math.asin(math.sqrt(sum(x) / sum(n)))
    z = [(math.asin(math.sqrt(xi / ni)) - target) * 2 * math.sqrt(ni) for xi, ni in zip(x, n, strict=True)]
    low, high = type7_quantile(z, 0.1), type7_quantile(z, 0.9)
    winsorised = [min(max(v, low), high) for v in z]
    phi = sum(v * v for v in winsorised) / len(z)
    w = [4 * ni for ni in n]
    tau2 = (len(z) * phi - (len(z) - 1)) / (sum(w) - sum(wi * wi for wi in w) / sum(w))

    result = stats.overdispersion(x, n, kind="proportion")
    assert result.z_scores == pytest.approx(z, rel=1e-9)
    assert result.phi == pytest.approx(phi, rel=1e-9)
    assert result.tau2 == pytest.approx(tau2, rel=1e-9)
    assert result.phi > 1 and result.tau2 > 0


def test_overdispersion_tau2_is_zero_when_phi_is_at_most_one() -> None:
    # Observed close to expected everywhere: z-scores are small and φ < 1.
    result = stats.overdispersion([100, 101, 99, 100, 102, 98], [100, 100, 100, 100, 100, 100], kind="ratio")
    assert result.phi < 1 and result.tau2 == 0.0


def test_overdispersion_ratio_tau2_by_independent_computation() -> None:
    # The FunnelPlotR case above, with τ² written out (DerSimonian–Laird, weights 1/s² = E).
    observed, expected = [100, 150, 180, 80, 120, 225], [108, 112, 165, 95, 100, 220]
    z = [math.sqrt(e) * math.log(o / e) for o, e in zip(observed, expected, strict=True)]
    phi = sum(v * v for v in z) / 6  # with six organisations no rank falls in a truncated tenth
    tau2 = (6 * phi - 5) / (sum(expected) - sum(e * e for e in expected) / sum(expected))
    result = stats.overdispersion(observed, expected, kind="ratio")
    assert result.phi == pytest.approx(phi, rel=1e-12)
    assert result.tau2 == pytest.approx(tau2, rel=1e-12)


# --- NHSRplotthedots: XmR limits, rules and icons ----------------------------------------------------

PTD = reference_json("nhsrplotthedots.json")
DRAWS = PTD["rnorm_seed_123"]


@pytest.mark.parametrize("case", PTD["limits"], ids=lambda c: c["name"])
def test_xmr_limits_match_nhsrplotthedots(case: dict) -> None:
    values = DRAWS[case["draws"][0] : case["draws"][1]]
    for index, value in case["replace"].items():
        values[int(index)] = value
    chart = stats.xmr(values, screen_outliers=case["screen_outliers"])
    figures = case["significant_figures"]
    assert to_significant_figures(chart.mean, figures) == pytest.approx(case["mean"])
    assert to_significant_figures(chart.lower_limit, figures) == pytest.approx(case["lower_limit"])
    assert to_significant_figures(chart.upper_limit, figures) == pytest.approx(case["upper_limit"])
    if "relative_to_mean_head" in case:
        head = case["relative_to_mean_head"]
        assert list(np.sign(np.array(values[: len(head)]) - chart.mean)) == head
    if case.get("all_common_cause"):
        assert set(chart.special_cause) == {"Common Cause"}
        assert chart.variation_icon == "common_cause"


def test_two_of_three_near_the_limits_counts_only_on_one_side_of_the_mean() -> None:
    case = PTD["two_in_three_opposite_sides"]
    assert list(stats.xmr(case["values"]).special_cause[-2:]) == case["last_two"]


@pytest.mark.parametrize("case", PTD["icons"]["cases"], ids=lambda c: c["name"])
def test_variation_and_assurance_icons_match_nhsrplotthedots(case: dict) -> None:
    values = DRAWS[:24]
    if case["second_half_shift"] is not None:
        start, stop = PTD["icons"]["shift_draws"][str(case["second_half_shift"])]
        values = values[:12] + [v + case["second_half_shift"] for v in DRAWS[start:stop]]
    chart = stats.xmr(values, improvement=case["improvement"], target=case["target"])
    assert (chart.variation_icon, chart.assurance_icon) == (case["variation"], case["assurance"])


@pytest.mark.parametrize("improvement", ["increase", "decrease", "neutral"])
def test_assurance_matches_nhsrplotthedots(improvement: str) -> None:
    case = PTD["assurance"]
    direction = {"increase": 1, "decrease": -1, "neutral": 0}[improvement]
    icons = [spc._assurance_icon(case["target"], lower, upper, direction) for lower, upper in case["limits"]]
    assert icons == case["expected"][improvement]


@pytest.mark.parametrize("case", PTD["rules"]["seven_point_one_side_mean"])
def test_shift_rule_matches_nhsrplotthedots(case: dict) -> None:
    assert list(spc._shift_ends(np.array(case["side"], dtype=float)).astype(int)) == case["ends"]


@pytest.mark.parametrize("case", PTD["rules"]["part_of_seven"])
def test_runs_of_seven_mark_every_point_as_nhsrplotthedots(case: dict) -> None:
    assert list(spc._mark_windows(np.array(case["ends"]) != 0).astype(int)) == case["part"]


@pytest.mark.parametrize("case", PTD["rules"]["seven_point_trend"])
def test_trend_rule_matches_nhsrplotthedots(case: dict) -> None:
    assert list(spc._trend_ends(np.array(case["values"], dtype=float))) == case["ends"]


@pytest.mark.parametrize("case", PTD["rules"]["part_of_two_in_three"])
def test_two_in_three_rule_matches_nhsrplotthedots(case: dict) -> None:
    close, side = np.array(case["close"], dtype=bool), np.array(case["side"], dtype=float)
    assert list(spc._two_in_three(close, side).astype(int)) == case["part"]


def test_special_cause_labels_and_their_precedence() -> None:
    # Twenty points around 10, then a step to an outlier, a seven-point climb and a run above the mean.
    base = [10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 11, 9]
    climb = [9.1, 9.2, 9.3, 9.4, 9.5, 9.6, 9.7]
    labels = stats.xmr(base + climb + [30]).special_cause
    assert labels[-1] == "Above UCL"
    assert set(labels[12:19]) == {"7 Point Trend (Increasing)"}
    falling = stats.xmr([10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 9.9, 9.8, 9.7, 9.6, 9.5, 9.4, 9.3]).special_cause
    assert falling[-1] == "7 Point Trend (Decreasing)"
    shift = stats.xmr([10, 11, 9, 10, 11, 9, 10, 11, 9, 10, 12, 12.5, 12, 12.5, 12, 12.5, 12]).special_cause
    assert set(shift[-7:]) == {"7 Points Above CL"}
    assert stats.xmr([1.0] * 10).special_cause == ("Common Cause",) * 10


def test_xmr_screening_drops_moving_ranges_at_or_above_3267_times_their_mean() -> None:
    values = [10, 10, 10, 10, 20]  # moving ranges 0, 0, 0, 10: mean 2.5, and 10 ≥ 3.267 × 2.5
    assert stats.xmr(values).upper_limit == pytest.approx(12.0)  # every remaining range is 0
    assert stats.xmr(values, screen_outliers=False).upper_limit == pytest.approx(12 + 2.66 * 2.5)


# --- input errors and missing values -----------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: stats.wilson_interval(-1, 10), "x must be a finite count"),
        (lambda: stats.wilson_interval(11, 10), r"x \(11.0\) cannot be greater than n"),
        (lambda: stats.wilson_interval(1, 0), "n must be greater than zero"),
        (lambda: stats.wilson_interval(1, 10, 95), "confidence must be a proportion strictly between 0 and 1"),
        (lambda: stats.wilson_interval(1, 10, 1.0), "such as 0.95"),
        (lambda: stats.rate_interval(1, 10, per=0), "per must be greater than zero"),
        (lambda: stats.rate_interval(1, -5), "n must be a finite count"),
        (lambda: stats.indirectly_standardised_ratio(3, 0), "expected must be greater than zero"),
        (lambda: stats.risk_ratio(1.5, 10, 1, 10), "a must be a whole number"),
        (lambda: stats.risk_ratio(11, 10, 1, 10), "cannot be greater than n1"),
        (lambda: stats.risk_ratio(1, 10, 1, 0), "n2 must be greater than zero"),
        (lambda: stats.compare_proportions(1, 0, 1, 10), "n1 must be greater than zero"),
        (lambda: stats.compare_proportions(-1, 10, 1, 10), "a must be a finite count"),
        (lambda: stats.ratio_judgement(Ratio(1, 1, 1), band=(1.25, 0.8)), "lower first"),
        (lambda: stats.benjamini_hochberg([0.5, 1.2]), "between 0 and 1"),
        (lambda: stats.benjamini_hochberg([0.5], alpha=5), "alpha must be"),
        (lambda: stats.kaplan_meier([1, 2], [1]), "same length: durations has 2, observed has 1"),
        (lambda: stats.kaplan_meier([], []), "no cases to follow"),
        (lambda: stats.kaplan_meier([-1, 2], [1, 1]), "zero or more"),
        (lambda: stats.kaplan_meier([1, math.nan], [1, 1]), "no missing values"),
        (lambda: stats.kaplan_meier([1, 2], [1, 2]), "1 .closed"),
        (lambda: stats.logrank([1, 2], [1, 1], [3], [1, 0]), "durations_b has 1, observed_b has 2"),
        (lambda: stats.xmr([1]), "at least two values"),
        (lambda: stats.xmr([1, math.nan, 3]), "fill or drop missing periods"),
        (lambda: stats.xmr([1, 2, 3], improvement="up"), "'increase', 'decrease' or 'neutral'"),
        (lambda: stats.proportion_funnel_limits(0, 0.5, 0.95), "n must be greater than zero"),
        (lambda: stats.proportion_funnel_limits(10, 1.5, 0.95), "average must be a proportion"),
        (lambda: stats.funnel_significance(11, 10, 0.5), "cannot be greater than n"),
        (lambda: stats.funnel_significance(math.nan, 10, 0.5), "missing value"),
        (lambda: stats.ratio_funnel_significance(5, math.nan), "missing value"),
        (lambda: stats.overdispersion([1, 2], [3], "ratio"), "numerator has 2, denominator has 1"),
        (lambda: stats.overdispersion([1], [3], "rate"), "'proportion' or 'ratio'"),
        (lambda: stats.overdispersion([1], [3], trim=0.6), "trim must be"),
        (lambda: stats.overdispersion([4], [3], "proportion"), "cannot be greater than its denominator"),
        (lambda: stats.overdispersion([1], [0], "ratio"), "denominators greater than zero"),
    ],
)
def test_input_errors_say_what_to_fix(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_missing_values_give_missing_results() -> None:
    nan = math.nan
    assert all(math.isnan(v) for v in stats.wilson_interval(nan, 10))
    assert all(math.isnan(v) for v in stats.rate_interval(5, nan))
    assert all(math.isnan(v) for v in stats.proportion_funnel_limits(10, nan, 0.95))
    for ratio in (stats.risk_ratio(nan, 10, 1, 10), stats.indirectly_standardised_ratio(nan, 4)):
        assert all(math.isnan(v) for v in (ratio.value, ratio.lower, ratio.upper))


def test_result_types_are_frozen() -> None:
    ratio = stats.risk_ratio(10, 100, 5, 100)
    with pytest.raises(AttributeError):
        ratio.value = 2  # type: ignore[misc]
    assert isinstance(stats.compare_proportions(10, 100, 5, 100), stats.Test)


# --- properties --------------------------------------------------------------------------------------

confidences = st.tuples(st.floats(0.5, 0.999), st.floats(0.5, 0.999)).map(sorted)
trials = st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))
PROPERTY = settings(max_examples=60, deadline=None)


@PROPERTY
@given(trials, confidences)
def test_wilson_contains_the_proportion_stays_in_unit_interval_and_widens(xn: tuple[int, int], cs: list[float]) -> None:
    x, n = xn
    narrow, wide = stats.wilson_interval(x, n, cs[0]), stats.wilson_interval(x, n, cs[1])
    assert 0 <= narrow[0] <= x / n <= narrow[1] <= 1
    assert wide[0] <= narrow[0] + 1e-12 and narrow[1] <= wide[1] + 1e-12


@PROPERTY
@given(st.integers(0, 2000), st.integers(1, 10**6), confidences)
def test_rate_interval_contains_the_rate_and_widens(x: int, n: int, cs: list[float]) -> None:
    narrow, wide = stats.rate_interval(x, n, cs[0]), stats.rate_interval(x, n, cs[1])
    assert 0 <= narrow[0] <= x / n * 1000 <= narrow[1]
    assert wide[0] <= narrow[0] + 1e-12 and narrow[1] <= wide[1] * (1 + 1e-12)


@PROPERTY
@given(st.integers(0, 2000), st.floats(0.5, 5000), confidences)
def test_standardised_ratio_contains_the_ratio_and_widens(observed: int, expected: float, cs: list[float]) -> None:
    narrow = stats.indirectly_standardised_ratio(observed, expected, cs[0])
    wide = stats.indirectly_standardised_ratio(observed, expected, cs[1])
    assert 0 <= narrow.lower <= narrow.value <= narrow.upper
    assert wide.lower <= narrow.lower + 1e-12 and narrow.upper <= wide.upper * (1 + 1e-12)


@PROPERTY
@given(trials, trials, confidences)
def test_risk_ratio_interval_is_symmetric_on_the_log_scale_and_widens(
    group: tuple[int, int], reference: tuple[int, int], cs: list[float]
) -> None:
    (a, n1), (c, n2) = group, reference
    assume(a > 0 and c > 0)  # zero cells: scipy's conventions, tested above
    narrow, wide = stats.risk_ratio(a, n1, c, n2, cs[0]), stats.risk_ratio(a, n1, c, n2, cs[1])
    assert narrow.lower <= narrow.value <= narrow.upper
    assert math.log(narrow.value) - math.log(narrow.lower) == pytest.approx(
        math.log(narrow.upper) - math.log(narrow.value), rel=1e-9, abs=1e-12
    )
    assert wide.lower <= narrow.lower * (1 + 1e-12) and narrow.upper <= wide.upper * (1 + 1e-12)


@PROPERTY
@given(st.integers(1, 10**6), st.floats(0, 1), confidences)
def test_funnel_limits_surround_the_average_and_widen(n: int, average: float, cs: list[float]) -> None:
    narrow = stats.proportion_funnel_limits(n, average, cs[0])
    wide = stats.proportion_funnel_limits(n, average, cs[1])
    assert 0 <= wide[0] <= narrow[0] <= average <= narrow[1] <= wide[1] <= 1


@PROPERTY
@given(survival_data)
def test_kaplan_meier_never_rises_and_its_band_holds_it(data: tuple[list[int], list[int]]) -> None:
    curve = stats.kaplan_meier(*data)
    survival = np.array(curve.survival)
    assert (np.diff(survival) <= 1e-15).all()
    assert (np.array(curve.lower) <= survival + 1e-12).all() and (survival <= np.array(curve.upper) + 1e-12).all()
    assert min(curve.lower) >= 0 and max(curve.upper) <= 1
    assert curve.median_lower <= curve.median <= curve.median_upper


@PROPERTY
@given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60))
def test_xmr_limits_bracket_the_mean_and_label_every_point(values: list[float]) -> None:
    chart = stats.xmr(values)
    assert chart.lower_limit <= chart.mean <= chart.upper_limit
    assert len(chart.special_cause) == len(values)
    assert set(chart.special_cause) <= SPECIAL_CAUSE_LABELS
    # Unscreened limits, written out: mean ± 2.66 × the mean absolute difference of neighbours.
    plain = stats.xmr(values, screen_outliers=False)
    mean = sum(values) / len(values)
    mean_range = sum(abs(b - a) for a, b in itertools.pairwise(values)) / (len(values) - 1)
    assert plain.mean == pytest.approx(mean, rel=1e-9, abs=1e-6)
    assert plain.upper_limit == pytest.approx(mean + 2.66 * mean_range, rel=1e-9, abs=1e-6)
    assert plain.lower_limit == pytest.approx(mean - 2.66 * mean_range, rel=1e-9, abs=1e-6)


SPECIAL_CAUSE_LABELS = {
    "Common Cause",
    "Above UCL",
    "Below LCL",
    "7 Point Trend (Increasing)",
    "7 Point Trend (Decreasing)",
    "2 in 3 Above CL",
    "2 in 3 Below CL",
    "7 Points Above CL",
    "7 Points Below CL",
}


# --- the Methods text --------------------------------------------------------------------------------


def test_methods_text_covers_every_measure_in_plain_markdown() -> None:
    from parity.disclosure import Rule
    from parity.wording import methods_text

    # methods.md writes its thresholds as {{placeholders}}; the page shows the text with them filled in, so the
    # phrases are checked in that rendered text (with the default rule: 1 to 7 hidden, nearest 5).
    raw = METHODS.read_text()
    text = methods_text(Rule())
    assert "{{" not in text and "}}" not in text, "every placeholder of methods.md is filled in"
    for shown in (raw, text):
        assert "<" not in shown and ">" not in shown, "the Methods text is rendered as Markdown: no HTML"
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings and all(line.startswith("### ") for line in headings)
    for phrase in (
        "per 1,000",
        "Byar",
        "Katz",
        "0.80",
        "1.25",
        "Wilson",
        "Fisher",
        "chi-square",
        "Benjamini",
        "Kaplan",
        "not reached",
        "log-rank",
        "99.8%",
        "Spiegelhalter",
        "15 organisations",
        "standardised ratio",
        "Making Data Count",
        "nearest 5",
    ):
        assert phrase.lower() in text.lower(), phrase


# --- Frequency weights: grouped rows give exactly what the rows written out one by one give ---------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.booleans(), st.integers(1, 5), st.booleans()),
        min_size=4,
        max_size=40,
    )
)
def test_grouped_survival_equals_expanded(rows):
    groups = {}
    for days, event, count, in_b in rows:
        groups.setdefault(in_b, []).append((days, int(event), count))
    assume(len(groups) == 2)
    a, b = groups[False], groups[True]

    def expand(part):
        return ([d for d, _, c in part for _ in range(c)], [e for _, e, c in part for _ in range(c)])

    (da, ea), (db, eb) = expand(a), expand(b)
    grouped = stats.kaplan_meier([d for d, _, _ in a], [e for _, e, _ in a], weights=[c for _, _, c in a])
    plain = stats.kaplan_meier(da, ea)
    assert grouped.times == plain.times
    np.testing.assert_allclose(grouped.survival, plain.survival, atol=1e-12)
    np.testing.assert_allclose(grouped.lower, plain.lower, atol=1e-12)
    assert (grouped.median, grouped.median_lower, grouped.median_upper) == (
        plain.median,
        plain.median_lower,
        plain.median_upper,
    )
    weighted = stats.logrank(
        [d for d, _, _ in a],
        [e for _, e, _ in a],
        [d for d, _, _ in b],
        [e for _, e, _ in b],
        weights_a=[c for _, _, c in a],
        weights_b=[c for _, _, c in b],
    )
    unweighted = stats.logrank(da, ea, db, eb)
    if math.isnan(unweighted.statistic):
        assert math.isnan(weighted.statistic)
    else:
        assert weighted.statistic == pytest.approx(unweighted.statistic, rel=1e-9, abs=1e-12)
        assert weighted.p_value == pytest.approx(unweighted.p_value, rel=1e-9, abs=1e-12)


# --- FunnelPlotR: overdispersion-adjusted proportion limits -------------------------------------------


def test_adjusted_proportion_limits_follow_funnelplotr_formula() -> None:
    # FunnelPlotR calculate_limits, data_type "PR": sin²(asin(√target) ± z·√(1/(4n) + τ²)), z = 1.959964, 3.090232.
    target, tau2 = 0.3, 0.002
    for n, z, level in ((50, 1.959964, 0.95), (400, 3.090232, 0.998), (5000, 1.959964, 0.95)):
        width = z * math.sqrt(1 / (4 * n) + tau2)
        centre = math.asin(math.sqrt(target))
        lower, upper = stats.adjusted_proportion_funnel_limits(n, target, level, tau2)
        assert lower == pytest.approx(math.sin(centre - width) ** 2, rel=1e-6)
        assert upper == pytest.approx(math.sin(centre + width) ** 2, rel=1e-6)


def test_adjusted_limits_agree_with_the_adjusted_z_scores_and_widen_with_tau2() -> None:
    # A point lies beyond the adjusted 95% limit exactly when its z-score, rescaled by √(s² + τ²), passes 1.96.
    x = [float(r["numerator"]) for r in PHE_FUNNEL_INPUTS]
    n = [float(r["denominator"]) for r in PHE_FUNNEL_INPUTS]
    average = sum(x) / sum(n)
    spread = stats.overdispersion(x, n, kind="proportion")
    assert spread.tau2 > 0
    for xi, ni, z in zip(x, n, spread.z_scores, strict=True):
        s2 = 1 / (4 * ni)
        adjusted_z = z * math.sqrt(s2) / math.sqrt(s2 + spread.tau2)
        lower, upper = stats.adjusted_proportion_funnel_limits(ni, average, 0.95, spread.tau2)
        if abs(abs(adjusted_z) - 1.959964) > 1e-6:
            assert (xi / ni > upper or xi / ni < lower) == (abs(adjusted_z) > 1.959964)
        plain = stats.adjusted_proportion_funnel_limits(ni, average, 0.95, 0.0)
        assert lower <= plain[0] and upper >= plain[1]


def test_adjusted_limits_never_wrap_past_zero_or_one() -> None:
    assert stats.adjusted_proportion_funnel_limits(3, 0.01, 0.998, 0.5) == (0.0, pytest.approx(1.0))
    with pytest.raises(ValueError, match="tau2 must be zero or more"):
        stats.adjusted_proportion_funnel_limits(10, 0.5, 0.95, -1)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=30),
    st.sampled_from([0.9, 0.95, 0.998]),
)
def test_wilson_intervals_equal_the_scalar_function(pairs, confidence):
    x = [min(a, b) for a, b in pairs]
    n = [max(a, b) for a, b in pairs]
    lower, upper = stats.wilson_intervals(x, n, confidence)
    for xi, ni, lo, hi in zip(x, n, lower, upper, strict=True):
        if ni == 0:
            assert math.isnan(lo) and math.isnan(hi)
        else:
            assert (lo, hi) == pytest.approx(stats.wilson_interval(xi, ni, confidence), abs=1e-12)
    with pytest.raises(ValueError, match="larger than n"):
        stats.wilson_intervals([3], [2])


# --- The package: one module per topic, every public name re-exported, nothing but numbers imported ---

STATS_PACKAGE = Path(stats.__file__).resolve().parent
TOPICS = ("intervals", "ratios", "significance", "survival", "funnels", "spc", "regression")
# What a statistics module may import: the standard library's number tools, numpy, scipy, statsmodels, and
# its own package. No Streamlit, no DuckDB, no pandas, nothing from a layer above.
# ``warnings``: the regression silences statsmodels' convergence warnings for levels with very few events.
ALLOWED_IMPORTS = {
    "__future__", "math", "collections", "dataclasses", "functools", "warnings", "numpy", "scipy", "statsmodels"
}  # fmt: skip


def public_names(path: Path) -> set[str]:
    """Names a module defines at its top level (functions, classes, constants) that do not start with "_"."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return {name for name in names if not name.startswith("_")}


def test_the_package_has_one_module_per_topic_and_replaces_stats_py() -> None:
    assert {path.stem for path in STATS_PACKAGE.glob("*.py")} == {"__init__", "_checks", *TOPICS}
    assert not (STATS_PACKAGE.parent / "stats.py").exists()


def test_every_public_name_of_every_topic_is_exported_by_the_package() -> None:
    exported = set()
    for topic in TOPICS:
        module = importlib.import_module(f"parity.stats.{topic}")
        names = public_names(STATS_PACKAGE / f"{topic}.py")
        assert names, topic
        for name in names:
            assert getattr(stats, name) is getattr(module, name), f"stats.{name} is not {topic}.{name}"
        exported |= names
    assert sorted(stats.__all__) == sorted(exported)
    assert len(stats.__all__) == len(set(stats.__all__)), "a name exported twice"


@pytest.mark.parametrize("path", sorted(STATS_PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_statistics_modules_import_only_numerical_libraries(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: use absolute imports"
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top == "parity":
                assert module.startswith("parity.stats."), f"{path.name} imports {module}"
            else:
                assert top in ALLOWED_IMPORTS, f"{path.name} imports {module}"


def test_each_docstring_names_its_source() -> None:
    # A formula names the implementation it follows or the library that computes it (house style).
    sources = ("PHEindicatormethods", "scipy", "statsmodels", "lifelines", "NHSRplotthedots", "FunnelPlotR", "WRES")
    for name in stats.__all__:
        value = getattr(stats, name)
        if callable(value) and not isinstance(value, type):
            assert any(source in (value.__doc__ or "") for source in sources), name


def test_point_types_follow_the_direction_of_improvement() -> None:
    chart = stats.xmr([9, 11, 10, 12, 30, 8, 10, 11, 9])
    assert chart.special_cause[4] == "Above UCL"
    assert set(chart.special_cause) - {"Above UCL"} == {"Common Cause"}
    for improvement, kind in (("increase", "improvement"), ("decrease", "concern"), ("neutral", "neutral")):
        types = stats.point_types(chart, improvement)
        assert types[4] == f"special_cause_{kind}"
        assert set(types) - {types[4]} == {"common_cause"}


def test_rebase_recalculates_the_limits_from_the_chosen_point() -> None:
    before, after = [10, 11, 9, 10, 11, 9, 10, 11], [20, 21, 19, 20, 21, 19]
    whole = stats.rebased_xmr(before + after)
    assert len(whole) == 1 and whole[0].chart == stats.xmr(before + after)
    first, second = stats.rebased_xmr(before + after, [len(before)], improvement="decrease", target=15)
    assert (first.start, first.stop, second.start, second.stop) == (0, 8, 8, 14)
    assert first.chart == stats.xmr(before, improvement="decrease", target=15)
    assert second.chart.mean == pytest.approx(20)
    assert set(second.chart.special_cause) == {"Common Cause"}  # the step is not a shift once rebased
    assert second.chart.assurance_icon == "fail"  # a target below the new limits, lower being better


@pytest.mark.parametrize("rebase", [[0], [1], [13], [14]])
def test_rebase_needs_two_points_on_each_side(rebase: list[int]) -> None:
    with pytest.raises(ValueError):
        stats.rebased_xmr(list(range(14)), rebase)


# --- Vectorised comparisons (many 2×2 tables at once) ---------------------------------------------------------


def test_compare_proportions_many_equals_the_scalar_test():
    rng = np.random.default_rng(7)
    n1 = rng.integers(1, 400, 300)
    n2 = rng.integers(1, 400, 300)
    a = rng.binomial(n1, rng.uniform(0, 0.6, 300))
    c = rng.binomial(n2, rng.uniform(0, 0.6, 300))
    p, methods = stats.compare_proportions_many(a, n1, c, n2)
    for i in range(300):
        one = stats.compare_proportions(int(a[i]), int(n1[i]), int(c[i]), int(n2[i]))
        assert methods[i] == one.method
        assert p[i] == pytest.approx(one.p_value, rel=1e-9, abs=1e-15)
    assert {"fisher_exact", "chi_square"} == set(methods)


def test_compare_proportions_many_refuses_impossible_counts():
    with pytest.raises(ValueError, match="a cannot be larger than n1"):
        stats.compare_proportions_many([5], [4], [1], [10])
    with pytest.raises(ValueError, match="greater than zero"):
        stats.compare_proportions_many([0], [0], [1], [10])


def test_risk_ratios_equal_the_scalar_ratio():
    rng = np.random.default_rng(8)
    n1, n2 = rng.integers(1, 500, 200), rng.integers(1, 500, 200)
    a, c = rng.binomial(n1, 0.2), rng.binomial(n2, 0.15)
    ratio, lower, upper = stats.risk_ratios(a, n1, c, n2)
    for i in range(200):
        if a[i] == 0 or c[i] == 0:
            assert np.isnan(ratio[i]) and np.isnan(lower[i]) and np.isnan(upper[i])
            continue
        one = stats.risk_ratio(int(a[i]), int(n1[i]), int(c[i]), int(n2[i]))
        assert (ratio[i], lower[i], upper[i]) == pytest.approx((one.value, one.lower, one.upper), rel=1e-9)


# --- Stratified log-rank (issue 13: Durations by referral year) --------------------------------------


def _survdiff_stratified(a: tuple, b: tuple) -> tuple[float, float]:
    """statsmodels' survdiff with strata, on the rows written out one by one: the reference."""
    from statsmodels.duration.survfunc import survdiff

    time = np.concatenate((a[0], b[0])).astype(float)
    status = np.concatenate((a[1], b[1])).astype(float)
    group = np.concatenate((np.zeros(len(a[0])), np.ones(len(b[0]))))
    strata = np.concatenate((a[2], b[2]))
    statistic, p_value = survdiff(time, status, group, strata=strata)
    return float(statistic), float(p_value)


def test_stratified_logrank_on_g3_by_sex_equals_statsmodels() -> None:
    rows = dataset("g3")
    sides = {}
    for side, name in (("a", "RIT"), ("b", "Control")):
        chosen = [r for r in rows if r["group"] == name]
        sides[side] = (
            [float(r["time"]) for r in chosen],
            [event(r["event"]) for r in chosen],
            [r["sex"] for r in chosen],
        )
    assert {r["group"] for r in rows} == {"RIT", "Control"}
    test = stats.stratified_logrank(*sides["a"], *sides["b"])
    statistic, p_value = _survdiff_stratified(sides["a"], sides["b"])
    assert test.method == "stratified logrank"
    assert test.statistic == pytest.approx(statistic, rel=1e-10)
    assert test.p_value == pytest.approx(p_value, rel=1e-10)
    # Stratifying changes the answer: it is not the plain test under another name.
    assert test.statistic != pytest.approx(stats.logrank(*sides["a"][:2], *sides["b"][:2]).statistic)


def test_stratified_logrank_sums_each_stratum_by_hand() -> None:
    # Stratum x: a dies at 1, b dies at 2: at t=1 both at risk (1 each), 1 death: O-E = 1 - 1/2, V = 1/4.
    # At t=2 only b is at risk: nothing. Stratum y: a dies at 5, b censored at 6: the same, O-E = 1/2, V = 1/4.
    test = stats.stratified_logrank([1, 5], [1, 1], ["x", "y"], [2, 6], [1, 0], ["x", "y"])
    assert test.statistic == pytest.approx((0.5 + 0.5) ** 2 / (0.25 + 0.25))
    assert test.p_value == pytest.approx(sps.chi2.sf(2.0, 1))
    # A stratum only one group has is not a comparison: it adds nothing.
    alone = stats.stratified_logrank([1, 5, 3], [1, 1, 1], ["x", "y", "z"], [2, 6], [1, 0], ["x", "y"])
    assert alone.statistic == pytest.approx(test.statistic)
    nothing = stats.stratified_logrank([1], [0], ["x"], [2], [0], ["x"])
    assert math.isnan(nothing.statistic) and math.isnan(nothing.p_value)


stratified_data = st.integers(1, 30).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 40), min_size=n, max_size=n),
        st.lists(st.integers(0, 1), min_size=n, max_size=n),
        st.lists(st.sampled_from([2021, 2022, 2023]), min_size=n, max_size=n),
        st.lists(st.integers(1, 4), min_size=n, max_size=n),
    )
)


@settings(max_examples=40, deadline=None)
@given(stratified_data, stratified_data)
def test_stratified_logrank_of_grouped_rows_equals_statsmodels(a: tuple, b: tuple) -> None:
    test = stats.stratified_logrank(a[0], a[1], a[2], b[0], b[1], b[2], weights_a=a[3], weights_b=b[3])
    assume(not math.isnan(test.statistic))

    def written_out(side: tuple) -> tuple:
        return tuple(np.repeat(np.asarray(column), side[3]) for column in side[:3])

    statistic, p_value = _survdiff_stratified(written_out(a), written_out(b))
    assert test.statistic == pytest.approx(statistic, rel=1e-8, abs=1e-10)
    assert test.p_value == pytest.approx(p_value, rel=1e-8, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(survival_data, survival_data)
def test_stratified_logrank_with_one_stratum_equals_lifelines(a: tuple, b: tuple) -> None:
    from lifelines.statistics import logrank_test

    test = stats.stratified_logrank(a[0], a[1], [0] * len(a[0]), b[0], b[1], [0] * len(b[0]))
    assume(not math.isnan(test.statistic))
    oracle = logrank_test(a[0], b[0], a[1], b[1])
    assert test.statistic == pytest.approx(oracle.test_statistic, rel=1e-8, abs=1e-10)


# --- The actuarial life table (the Durations page's protected curves) ----------------------------


def test_life_table_by_hand_on_lees_angina_pectoris_males() -> None:
    # Lee (1992, p. 91; SAS LIFETEST example "Life-Table Estimates for Males with Angina Pectoris"): 2,418 men,
    # deaths and withdrawals in each year after diagnosis. Each step worked out here from the textbook formulas.
    deaths = [456, 226, 152, 171, 135, 125, 83, 74, 51, 42, 43, 34, 18, 9, 6, 0]
    withdrawn = [0, 39, 22, 23, 24, 107, 133, 102, 68, 64, 45, 53, 33, 27, 23, 30]
    entering = [2418 - sum(deaths[:j]) - sum(withdrawn[:j]) for j in range(16)]
    table = stats.life_table(list(range(17)), entering, deaths, withdrawn)
    survival, greenwood = [1.0], 0.0
    for n, d, w in zip(entering, deaths, withdrawn, strict=True):
        effective = n - w / 2
        survival.append(survival[-1] * (1 - d / effective))
    assert table.survival == pytest.approx(survival, abs=1e-12)
    assert table.survival[1] == pytest.approx(1 - 456 / 2418)  # no withdrawals in the first year
    for j in range(5):  # Greenwood's variance over effective numbers, and the log(-log) band, at year 5
        effective = entering[j] - withdrawn[j] / 2
        greenwood += deaths[j] / (effective * (effective - deaths[j]))
    spread = 1.959963984540054 * math.sqrt(greenwood) / abs(math.log(survival[5]))
    assert table.lower[5] == pytest.approx(math.exp(-math.exp(math.log(-math.log(survival[5])) + spread)))
    assert table.upper[5] == pytest.approx(math.exp(-math.exp(math.log(-math.log(survival[5])) - spread)))
    # The median by a straight line between the years either side of 50%.
    j = next(i for i, s in enumerate(survival) if s <= 0.5)
    expected = (j - 1) + (survival[j - 1] - 0.5) / (survival[j - 1] - survival[j])
    assert table.median == pytest.approx(expected) and j - 1 < table.median < j


def test_life_table_without_censoring_is_kaplan_meier_at_the_bounds() -> None:
    durations = [0.5, 1.5, 1.5, 2.5, 3.5, 3.5, 3.5, 4.5, 5.5, 6.5]
    km = stats.kaplan_meier(durations, [1] * len(durations))
    bounds = list(range(8))
    closing = [sum(1 for d in durations if b <= d < b + 1) for b in bounds[:-1]]
    entering = [sum(1 for d in durations if d >= b) for b in bounds[:-1]]
    table = stats.life_table(bounds, entering, closing, [0] * len(closing))
    for b, s, lo, hi in zip(table.times, table.survival, table.lower, table.upper, strict=True):
        assert s == pytest.approx(step_function_at(km.times, km.survival, b))
        assert lo == pytest.approx(step_function_at(km.times, km.lower, b))
        assert hi == pytest.approx(step_function_at(km.times, km.upper, b))
    assert table.median == pytest.approx(3 + (0.6 - 0.5) / (0.6 - 0.3))  # 60% left at 3, 30% at 4


def test_life_table_median_not_reached_and_bad_input() -> None:
    table = stats.life_table([0, 7, 14], [100, 90], [5, 5], [5, 5])
    assert table.median == math.inf and table.median_lower == math.inf
    for call, message in (
        (lambda: stats.life_table([0, 7], [10, 10], [1, 1], [0, 0]), "one more bound"),
        (lambda: stats.life_table([0, 7, 7], [10, 10], [1, 1], [0, 0]), "increase"),
        (lambda: stats.life_table([0, 7], [10], [11], [0]), "cannot close more"),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_flat_middles_read_a_rounded_curve_at_the_middle_of_each_flat_stretch() -> None:
    times, values = flat_middles([0, 7, 14, 21, 28, 35, 42], [1.0, 1.0, 0.75, 0.5, 0.5, 0.5, 0.25])
    # The start is exact (read at its last time); each later stretch at its middle.
    assert times.tolist() == [7, 14, 28, 42] and values.tolist() == [1.0, 0.75, 0.5, 0.25]
    # A median read from rounded counts: at the middle of the stretch at 50%, not where it first reaches it.
    rounded = stats.life_table([0, 7, 14, 21, 28], [20, 10, 10, 10], [10, 0, 0, 5], [0, 0, 0, 0], rounded=True)
    plain = stats.life_table([0, 7, 14, 21, 28], [20, 10, 10, 10], [10, 0, 0, 5], [0, 0, 0, 0])
    assert plain.median == 7 and rounded.median == 14
    # Where the curve moves at every bound, the two readings agree.
    moving = ([0, 1, 2, 3], [40, 30, 20], [10, 10, 10], [0, 0, 0])
    assert stats.life_table(*moving, rounded=True).median == stats.life_table(*moving).median
