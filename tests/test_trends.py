"""Trends: the headline indicators as XmR charts (parity.measures.trends), on the sample data and synthetic series."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parity import contract, stats
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import INDICATORS, TrendsView, trends_view
from parity.viewer import FULL, PROTECTED


def counts_shown(view: TrendsView) -> np.ndarray:
    """Every count the view carries, hidden ones left out."""
    columns = ["events", "denominator", "ref_events", "ref_denominator"]
    values = np.concatenate([table[columns].to_numpy(float).ravel() for table in view.series.values()])
    return values[~np.isnan(values)]


EFFECTS = json.loads((Path(__file__).resolve().parent.parent / "sample_data" / "effects.json").read_text())


@pytest.fixture(scope="module")
def db(sample_db: Path):
    with QueryRunner(sample_db) as runner:
        yield runner


def test_planted_fall_in_the_national_rl_shows_as_special_cause_improvement(db: QueryRunner) -> None:
    planted = {e["years"]["from"]: e["true_value"] for e in EFFECTS["effects"] if e["id"].startswith("E6")}
    assert list(planted.values()) == sorted(planted.values(), reverse=True)  # the fall the generator planted
    view = trends_view(db, Filters(), viewer=FULL)
    series = view.series["rl_minority"].set_index("period")
    last = list(planted)[-1]
    assert series.at[last, "point_type"] == "special_cause_improvement"
    assert series.at[last, "value"] < series.at[last, "centre"]
    row = view.summary.set_index("key").loc["rl_minority"]
    assert row["variation_icon"] == "improvement"
    assert row["latest_period"] == last
    # Before the fall, every year is common cause: the gap of about 2 was stable.
    before = series.loc[: contract.financial_year_label(2020), "point_type"]
    assert set(before) == {"common_cause"}


def test_a_flat_series_is_common_cause() -> None:
    rng = np.random.default_rng(7)
    flat = 1.5 + rng.normal(0, 0.05, 20)
    chart = stats.xmr(flat.tolist(), improvement="decrease", target=1.25)
    assert chart.variation_icon == "common_cause"
    assert set(stats.point_types(chart, "decrease")) == {"common_cause"}
    assert chart.assurance_icon == "fail"  # 1.25 lies below the lower limit: the process will not meet it


def test_every_indicator_has_a_series_and_a_summary_row(db: QueryRunner) -> None:
    view = trends_view(db, Filters(), viewer=FULL)
    assert list(view.series) == [i.key for i in INDICATORS]
    assert list(view.summary["key"]) == [i.key for i in INDICATORS]
    assert view.periods == tuple(contract.financial_year_label(y) for y in range(2015, 2025))
    assert view.extract_date == EFFECTS["extract_date"]
    assert view.queries == ("referrals_by_group_period", "load_meta", "coverage_by_year")  # issue 13
    rates = view.summary[view.summary["kind"] == "rate"]
    assert rates["assurance_icon"].isna().all() and rates["target"].isna().all()
    ratios = view.summary[view.summary["kind"] != "rate"]
    assert (ratios["target"] == 1.25).all() and ratios["assurance_icon"].notna().all()


def test_yearly_rl_equals_the_concern_rates_figures(db: QueryRunner) -> None:
    view = trends_view(db, Filters(fy_from=2023, fy_to=2023), viewer=FULL)
    row = view.series["rl_minority"].iloc[0]
    effect = next(e for e in EFFECTS["effects"] if e["id"] == "E6c")
    assert row["period"] == "2023/24"
    assert row["lower"] < effect["true_value"] < row["upper"]


def test_quarters_add_up_to_their_years(db: QueryRunner) -> None:
    years = trends_view(db, Filters(), viewer=FULL).series["rate_img_group"]
    quarters = trends_view(db, Filters(), period="quarter", viewer=FULL).series["rate_img_group"]
    assert len(quarters) == 4 * len(years)
    assert quarters.groupby("fy_start")["events"].sum().tolist() == years["events"].tolist()
    assert (quarters["denominator"].to_numpy() == np.repeat(years["denominator"].to_numpy(), 4)).all()
    # A quarter's rate is per 1,000 a year, so on the scale of the years'.
    assert quarters.groupby("fy_start")["value"].mean().to_numpy() == pytest.approx(years["value"].to_numpy())


def test_rebase_splits_the_limits_at_the_chosen_period(db: QueryRunner) -> None:
    view = trends_view(db, Filters(), viewer=FULL, rebase="2021/22")
    series = view.series["rl_minority"]
    assert series["segment"].tolist() == [0] * 6 + [1] * 4
    assert series["centre"].nunique() == 2
    after = series[series["segment"] == 1]
    assert stats.xmr(after["value"].tolist()).mean == pytest.approx(after["centre"].iloc[0])
    assert view.summary.set_index("key").at["rl_minority", "rebased"] == "2021/22"


def test_a_rebase_too_near_the_end_is_not_applied_and_says_so(db: QueryRunner) -> None:
    view = trends_view(db, Filters(), viewer=FULL, rebase="2024/25")
    assert set(view.series["rl_minority"]["segment"]) == {0}
    assert "Not rebased at 2024/25" in view.summary.set_index("key").at["rl_minority", "note"]


def test_bad_period_and_rebase_are_refused(db: QueryRunner) -> None:
    with pytest.raises(ValueError, match="period"):
        trends_view(db, Filters(), period="month")
    with pytest.raises(ValueError):
        trends_view(db, Filters(), viewer=FULL, rebase="last spring")


def test_small_numbers_are_marked(db: QueryRunner) -> None:
    view = trends_view(db, Filters(regions=("Wales",)), period="quarter", viewer=FULL)
    series = view.series["exclusion_or_suspension_minority"]
    assert series["small_numbers"].all()  # in Wales every quarter has fewer than 10 referrals in a group


def test_protected_counts_first_then_statistics(db: QueryRunner) -> None:
    rule = Rule()
    view = trends_view(db, Filters(regions=("Wales",)), rule=rule, viewer=PROTECTED)
    counts = counts_shown(view)
    assert counts.size and not ((counts >= 1) & (counts <= rule.suppress_max)).any()
    assert (counts % rule.round_to == 0).all()
    series = view.series["rl_minority"]
    shown = series.dropna(subset=["value"])
    # Every ratio is the one the protected counts give, not the exact one.
    for row in shown.itertuples():
        expected = stats.risk_ratio(
            int(row.events), int(row.denominator), int(row.ref_events), int(row.ref_denominator)
        )
        assert row.value == pytest.approx(expected.value)
    hidden = series[series["events"].isna()]
    assert hidden["value"].isna().all() and hidden["suppressed"].all() and hidden["point_type"].isna().all()


def test_a_view_is_protected_unless_exact_numbers_are_asked_for(db: QueryRunner) -> None:
    exact = trends_view(db, Filters(), viewer=FULL)
    assert not exact.protected
    protected = trends_view(db, Filters())
    assert protected.protected
    assert (counts_shown(protected) % 5 == 0).all()
    assert not (counts_shown(exact) % 5 == 0).all()
