"""Concern rates: the page in AppTest, its measures on the sample data, and its figure builders as pure functions."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from apptest import chart_blocks, choose_tab, open_page, tables, texts
from streamlit.testing.v1 import AppTest

from parity import charts, contract, wording
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import WINDOWS, concern_rates_view, protect_counts, summarise_rates
from parity.settings import get_settings
from parity.viewer import FULL, PROTECTED

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/concern_rates.py"
BLACK, WHITE = contract.BLACK, contract.WHITE


# --- The page in AppTest ---------------------------------------------------------------------


@pytest.fixture
def app(sample_app):
    return functools.partial(open_page, PAGE)


def has_table(at: AppTest, *columns: str) -> bool:
    return any(set(columns) <= set(t.columns) for t in tables(at))


def test_defaults_show_every_section_with_tables(app):
    at = app()
    assert not at.exception
    title = at.title[0].value
    assert title.startswith(f"{BLACK} practitioners are referred") and title.endswith("as often as White practitioners")
    subheaders = [s.value for s in at.subheader]
    for heading in (
        "Referral rates by ethnic group",
        "Relative likelihood against the reference group",
        "Ethnicity and place of qualification together",
        "By concern type",
        "Over time",
    ):
        assert heading in subheaders
    assert has_table(at, "Group", "Rate per 1,000", "Rate 95% CI", "Relative likelihood", "RL 95% CI")
    assert has_table(at, "Ethnic group", "Place of qualification", "Relative likelihood", "RL 95% CI")
    assert has_table(at, "Concern type", "Rate per 1,000", "Rate 95% CI")
    assert has_table(at, "Financial years", "Rate per 1,000", "Rate 95% CI")
    assert at.radio(key="window").value == 1
    assert "BAME" not in texts(at)
    # The default app is protected (issue 9), national figures included, and says so.
    assert "Numbers are protected" in texts(at)


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ({"profession": "Doctors", "by": "Place of primary qualification"}, "graduates"),
        ({"by": "Ethnicity × place of qualification", "window": "3"}, "White UK graduates"),
        ({"by": "Ethnic minority vs White", "from": "2021/22", "window": "5"}, "No full 5-year window"),
        ({"region": "London", "window": "5"}, "Numbers are protected"),
        ({"grade": "Consultant"}, "The grades filter is not applied here"),
        ({"by": "Gender", "ref": "Female"}, "Female practitioners"),
        ({"concern": "Sexual misconduct", "org_type": "Acute trust"}, "sexual misconduct concerns"),
        ({"by": "Age band"}, "aged"),
    ],
)
def test_filter_and_split_combinations(app, query: dict[str, str], expect: str):
    at = app(**query)
    assert not at.exception, at.exception
    assert expect in texts(at), texts(at)
    assert has_table(at, "Rate per 1,000", "Rate 95% CI")


def test_window_set_in_session_state(app):
    at = app()
    at.radio(key="window").set_value(3).run()
    assert not at.exception
    trend = next(t for t in tables(at) if "Financial years" in t.columns)
    assert trend["Financial years"].str.contains(" to ").all()


def test_drill_from_the_link_narrows_the_page(app):
    at = app(drill=BLACK)
    assert not at.exception
    body = texts(at)
    assert f"all groups by ethnic group › **{BLACK}**" in body  # the breadcrumb
    assert at.button(key="clear_drill_Concern rates")
    subheaders = [s.value for s in at.subheader]
    assert subheaders[:3] == ["By organisation type", "By region", "By concern type"]
    assert "Referral rates by ethnic group" not in subheaders
    assert [m.label for m in at.metric][0].startswith(BLACK)
    assert has_table(at, "Organisation type", "Group", "Rate 95% CI", "Relative likelihood", "RL 95% CI")
    assert has_table(at, "Region", "Group", "Rate 95% CI", "Relative likelihood")
    assert has_table(at, "Concern type", "Group", "Rate 95% CI", "Relative likelihood")
    trend = next(t for t in tables(at) if "Financial years" in t.columns)
    assert set(trend["Group"]) == {BLACK, "White (reference)"}
    # Organisation types and regions are below national level: their counts are rounded or hidden.
    regions = next(t for t in tables(at) if "Region" in t.columns)
    shown = [c for c in regions["Referrals"] if c != "*"]
    assert all(int(c.replace(",", "")) % 5 == 0 for c in shown)

    at.button(key="clear_drill_Concern rates").click().run()
    assert not at.exception
    assert "drill" not in at.query_params
    assert "Referral rates by ethnic group" in [s.value for s in at.subheader]


def test_drill_on_the_reference_group(app):
    at = app(drill=WHITE)
    assert not at.exception
    assert at.title[0].value == "Concern rates: White practitioners"
    assert [m.value for m in at.metric][2] == "1 (reference)"


def test_invalid_drill_and_window_are_noted_not_fatal(app):
    at = app(drill="Martians", window="7")
    assert not at.exception
    body = texts(at)
    assert "`drill=Martians` is not a group of ethnic group" in body
    assert "`window=7`" in body
    assert "Referral rates by ethnic group" in [s.value for s in at.subheader]
    assert at.radio(key="window").value == 1


def _org_without_cases(db: Path, concern: str) -> tuple[str, str]:
    """An organisation (code, name) with workforce but no case of the given concern type in 2024/25."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            """SELECT o.org_code, o.org_name FROM organisations o
               WHERE o.org_code IN (SELECT org_code FROM workforce WHERE fy_start = 2024)
                 AND o.org_code NOT IN (SELECT org_code FROM cases
                                        WHERE fy_start = 2024 AND list_contains(concern_types, ?))
               ORDER BY o.org_code LIMIT 1""",
            [concern],
        ).fetchone()


def test_empty_result_says_no_cases_match(app, sample_db: Path):
    code, name = _org_without_cases(sample_db, "sexual_misconduct")
    at = app(concern="Sexual misconduct", org=f"{name} ({code})", **{"from": "2024/25"})
    assert not at.exception
    assert "No cases match these filters" in texts(at)
    at = app(concern="Sexual misconduct", org=f"{name} ({code})", drill=BLACK, **{"from": "2024/25"})
    assert not at.exception
    assert "No cases match these filters" in texts(at)


# --- The measures on the sample data ------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(sample_db: Path):
    with QueryRunner(sample_db) as db:
        yield db


def effects() -> dict[str, dict]:
    document = json.loads((ROOT / "sample_data" / "effects.json").read_text())
    return {e["id"]: e for e in document["effects"]}


def _row(table: pd.DataFrame, group: str) -> pd.Series:
    return table[table["group"] == group].iloc[0]


def test_planted_intersection_effects_are_recovered(sample: QueryRunner):
    """E3c (Asian vs White, both UK graduates) and E3d (both IMGs): each true value lies in the 95% interval shown."""
    view = concern_rates_view(sample, Filters(), "ethnic_group", WHITE)
    planted = effects()
    uk_gap = planted["E3c"]
    cell = _row(view.intersection, uk_gap["group"])  # against White UK graduates, as the heatmap shows
    assert uk_gap["reference"] == contract.SPLITS["ethnicity_pmq"].default_reference
    assert cell["rl_lower"] <= uk_gap["true_value"] <= cell["rl_upper"], (cell["rl"], uk_gap)
    img_gap = planted["E3d"]
    cell = _row(view.within_pmq, img_gap["group"])  # against White IMGs, the second heatmap
    assert cell["rl_lower"] <= img_gap["true_value"] <= cell["rl_upper"], (cell["rl"], img_gap)
    # ... and the gap among IMGs is told apart from the one among UK graduates, in the chart's title too.
    assert _row(view.within_pmq, img_gap["group"])["rl_lower"] > _row(view.within_pmq, uk_gap["group"])["rl_upper"]
    title = wording.intersection_title(view.intersection, view.within_pmq)
    assert title.startswith(f"{BLACK} IMGs are referred") and "as often as White IMGs; " in title
    assert title.endswith("as often as White UK graduates")
    black = planted["E1a"]
    assert (
        _row(view.summary, black["group"])["rl_lower"]
        <= black["true_value"]
        <= _row(view.summary, black["group"])["rl_upper"]
    )


def test_planted_yearly_gap_is_recovered_in_the_trend(sample: QueryRunner):
    """E6: the ethnic minority vs White relative likelihood in each of the last four years."""
    view = concern_rates_view(sample, Filters(), "ethnic_minority", WHITE, window=1)
    for effect in (e for e in effects().values() if e["id"].startswith("E6")):
        year = contract.parse_financial_year(effect["years"]["from"])
        row = view.trend[(view.trend["fy_start"] == year) & (view.trend["group"] == effect["group"])].iloc[0]
        assert row["rl_lower"] <= effect["true_value"] <= row["rl_upper"], (effect["id"], row["rl"])


def test_view_tables_agree_with_the_database(sample: QueryRunner, sample_db: Path):
    view = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, window=3, drill=BLACK, viewer=FULL)
    with duckdb.connect(str(sample_db), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM cases").fetchone()[0]
        typed = dict(
            con.execute("SELECT t, count(*) FROM (SELECT unnest(concern_types) t FROM cases) GROUP BY t").fetchall()
        )
        years = sorted(r[0] for r in con.execute("SELECT DISTINCT fy_start FROM workforce").fetchall())
    assert view.summary["cases"].sum() == total
    # A case counts once under each of its concern types.
    by_type = view.concerns.groupby("concern")["cases"].sum().to_dict()
    assert by_type == typed
    assert (view.concerns.groupby("concern")["headcount"].sum() == view.summary["headcount"].sum()).all()
    # Rolling windows: three full years each, the first ending in the third year.
    assert view.trend["fy_start"].min() == years[2]
    assert (view.trend["fy_start"] - view.trend["window_start"] == 2).all()
    assert (
        view.trend["period"].iloc[0] == f"{contract.financial_year_label(years[0])} to "
        f"{contract.financial_year_label(years[2])}"
    )
    three = view.trend[(view.trend["fy_start"] == years[2]) & (view.trend["group"] == BLACK)]["cases"].iloc[0]
    yearly = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, window=1, viewer=FULL).trend
    assert three == yearly[(yearly["fy_start"] <= years[2]) & (yearly["group"] == BLACK)]["cases"].sum()
    # The drill: the drilled and the reference group in every level of every breakdown.
    assert set(view.breakdown["dimension"]) == {"org_type", "region", "concern"}
    assert set(view.breakdown["group"]) == {BLACK, WHITE}
    regions = view.breakdown[view.breakdown["dimension"] == "region"]
    assert list(dict.fromkeys(regions["level"])) == [r for r in contract.REGIONS if r in set(regions["level"])]
    # At the protected level (issue 9: every cell, national or not) the regions' counts are rounded to 5.
    protected = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, window=3, drill=BLACK, viewer=PROTECTED)
    shown = protected.breakdown[protected.breakdown["dimension"] == "region"]["cases"].dropna()
    assert len(shown) and (shown % 5 == 0).all()
    assert regions["suppressed"].dtype == bool
    assert view.breakdown[view.breakdown["group"] == WHITE]["is_reference"].all()


def test_every_interval_contains_its_value(sample: QueryRunner):
    view = concern_rates_view(sample, Filters(), "ethnicity_pmq", None, window=5)
    for table in (view.summary, view.intersection, view.within_pmq, view.concerns, view.trend):
        shown = table.dropna(subset=["rate", "rate_lower", "rate_upper"])
        assert ((shown["rate_lower"] <= shown["rate"]) & (shown["rate"] <= shown["rate_upper"])).all()
        ratios = table[~table["is_reference"]].dropna(subset=["rl", "rl_lower", "rl_upper"])
        assert ((ratios["rl_lower"] <= ratios["rl"]) & (ratios["rl"] <= ratios["rl_upper"])).all()


def test_sub_national_views_pass_disclosure(sample: QueryRunner):
    view = concern_rates_view(
        sample, Filters(regions=("Wales",)), "ethnic_category", None, viewer=PROTECTED, rule=Rule(7, 5)
    )
    assert not view.national
    for table in (view.summary, view.concerns, view.trend, view.intersection):
        counts = table["cases"].dropna()
        assert (counts % 5 == 0).all()
        hidden = table["suppressed"]
        assert table.loc[hidden, ["rate", "rl", "rl_lower", "rl_upper"]].isna().all().all()
        assert table.loc[hidden & ~table["is_reference"], "significant"].isna().all()


def test_view_refuses_bad_arguments(sample: QueryRunner):
    with pytest.raises(ValueError, match="window"):
        concern_rates_view(sample, Filters(), "ethnic_group", WHITE, window=2)
    with pytest.raises(ValueError, match="not a group"):
        concern_rates_view(sample, Filters(), "ethnic_group", WHITE, drill="UK graduate")
    with pytest.raises(ValueError, match="unknown split"):
        concern_rates_view(sample, Filters(), "star_sign", WHITE)
    assert WINDOWS == (1, 3, 5)


def test_empty_filters_give_empty_tables(sample: QueryRunner):
    view = concern_rates_view(sample, Filters(fy_from=2100, fy_to=2100), "ethnic_group", WHITE, drill=BLACK)
    for table in (view.summary, view.intersection, view.within_pmq, view.concerns, view.trend, view.breakdown):
        assert table.empty


# --- Disclosure within blocks and the words ------------------------------------------------------


def _summary_rows(cases: list[int], blocks: list[str]) -> pd.DataFrame:
    n = len(cases)
    return pd.DataFrame(
        {
            "block": blocks,
            "group": [WHITE if i % 2 == 0 else BLACK for i in range(n)],
            "cases": cases,
            "headcount": [1000] * n,
            "rate": [c for c in cases],
            "rate_lower": [c * 0.5 for c in cases],
            "rate_upper": [c * 1.5 for c in cases],
            "rl": [1.0 if i % 2 == 0 else 2.0 for i in range(n)],
            "rl_lower": [math.nan if i % 2 == 0 else 1.5 for i in range(n)],
            "rl_upper": [math.nan if i % 2 == 0 else 2.5 for i in range(n)],
            "in_band": [i % 2 == 0 for i in range(n)],
            "significant": [i % 2 == 1 for i in range(n)],
            "is_reference": [i % 2 == 0 for i in range(n)],
            "direction": ["similar" if i % 2 == 0 else "higher" for i in range(n)],
            "small_numbers": [False] * n,
        }
    )


def test_a_hidden_reference_hides_only_its_blocks_ratios():
    # Rates and ratios are computed from the protected counts (issue 9): a hidden reference count leaves its
    # block's ratios unknown, and only that block's. (No parts of a whole here: the blocks' two groups are not a
    # partition, so nothing else is hidden.)
    counts = pd.DataFrame(
        {
            "block": ["a", "a", "b", "b"],
            "grp": [WHITE, BLACK, WHITE, BLACK],
            "cases": [3, 40, 50, 100],
            "headcount": [1000] * 4,
        }
    )
    rows = protect_counts(counts, ["cases", "headcount"], viewer=PROTECTED, rule=Rule(7, 5), wholes_within=())
    out = summarise_rates(rows, "ethnic_group", WHITE, by=("block",))
    assert math.isnan(out.loc[0, "cases"]) and out.loc[0, "suppressed"]
    assert math.isnan(out.loc[1, "rl"]) and out.loc[1, "significant"] is None  # its reference is hidden
    assert out.loc[1, "cases"] == 40 and out.loc[1, "rate"] == 40  # its own rate is not
    assert out.loc[3, "rl"] == 2.0 and out.loc[3, "significant"]  # the other block is untouched
    exact = summarise_rates(
        protect_counts(counts, ["cases", "headcount"], viewer=FULL, rule=Rule(7, 5)),
        "ethnic_group",
        WHITE,
        by=("block",),
    )
    assert exact.loc[0, "cases"] == 3 and exact.loc[1, "rl"] == 40 / 3


def test_group_nouns_and_titles():
    assert wording.group_noun(BLACK) == f"{BLACK} practitioners"
    assert wording.group_noun("White · UK graduate") == "White UK graduates"
    assert wording.group_noun(f"{BLACK} · International medical graduate (IMG)") == f"{BLACK} IMGs"
    assert wording.group_noun("International medical graduate (IMG)") == "international medical graduates (IMGs)"
    assert wording.group_noun("65 and over") == "practitioners aged 65 and over"
    assert wording.group_noun("Under 35") == "practitioners aged under 35"
    row = pd.Series({"group": BLACK, "rl": 2.04})
    title = wording.gap_title(row, WHITE)
    # One rounding rule for ratios everywhere (issue 15): formats.ratio2, as on the cards.
    assert title == f"{BLACK} practitioners are referred 2.04 times as often as White practitioners"
    assert "0.62 times the rate of" in wording.gap_title(pd.Series({"group": BLACK, "rl": 0.62}), WHITE)
    table = _summary_rows([100, 40], ["a", "a"])
    assert wording.largest_gap(table)["group"] == BLACK
    table["significant"] = [False, False]
    assert wording.largest_gap(table) is None


# --- The figure builders, as pure functions ----------------------------------------------------


def concerns_table() -> pd.DataFrame:
    rows = []
    for concern, label in (("clinical", "Clinical"), ("behaviour", "Behaviour or misconduct")):
        for group, rate, ref in (
            (WHITE, 2.0, True),
            (BLACK, 4.0, False),
            ("Mixed or multiple ethnic groups", math.nan, False),
        ):
            rows.append(
                {
                    "concern": concern,
                    "concern_label": label,
                    "group": group,
                    "cases": 10 if ref else 20,
                    "headcount": 5000,
                    "rate": rate,
                    "rate_lower": rate * 0.8,
                    "rate_upper": rate * 1.3,
                    "is_reference": ref,
                }
            )
    return pd.DataFrame(rows)


def test_concern_rate_chart_one_panel_per_type_with_intervals():
    fig = charts.concern_rate_chart(concerns_table(), "Clinical concerns: ...", "Referrals per 1,000")
    assert [a.text for a in fig.layout.annotations] == ["Clinical", "Behaviour or misconduct"]
    clinical, behaviour = fig.data
    assert clinical.xaxis == "x" and behaviour.xaxis == "x2"
    assert list(clinical.y) == ["White (reference)", BLACK, "Mixed or multiple ethnic groups"]
    assert clinical.x[1] == 4.0
    assert math.isclose(clinical.error_x.array[1], 1.2) and math.isclose(clinical.error_x.arrayminus[1], 0.8)
    assert clinical.customdata[1][0] == BLACK and clinical.customdata[1][1] == "Clinical"
    assert np.isnan(clinical.x[2]) and clinical.error_x.array[2] == 0 and clinical.customdata[2][2] == "*"
    symbols = list(clinical.marker.symbol)
    assert symbols[0] == "diamond-open" and len(set(symbols)) == 3  # shapes as well as colours
    assert list(clinical.marker.color) == list(behaviour.marker.color)  # a group keeps its colour
    assert fig.layout.xaxis.range[0] == 0 and fig.layout.xaxis2.range[0] == 0
    reference_lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [(s.x0, s.xref) for s in reference_lines] == [(2.0, "x"), (2.0, "x2")]
    assert list(fig.layout.yaxis.categoryarray)[-1] == "White (reference)"  # drawn at the top
    assert "dotted line: White (reference)" in fig.layout.title.subtitle.text


def trend_table(groups: tuple[str, ...] = (WHITE, BLACK, contract.ASIAN)) -> pd.DataFrame:
    rows = []
    for start, end in ((2020, 2022), (2021, 2023)):
        period = f"{contract.financial_year_label(start)} to {contract.financial_year_label(end)}"
        for k, group in enumerate(groups):
            rate = 2.0 + k
            rows.append(
                {
                    "period": period,
                    "group": group,
                    "cases": 30,
                    "headcount": 9000,
                    "rate": rate,
                    "rate_lower": rate - 0.5,
                    "rate_upper": rate + 0.6,
                    "is_reference": group == WHITE,
                }
            )
    return pd.DataFrame(rows)


def test_trend_chart_small_multiples_with_the_reference_in_each_panel():
    fig = charts.trend_chart(trend_table(), "Trend", "Referrals per 1,000", x_title="Last year")
    assert [a.text for a in fig.layout.annotations] == [BLACK, contract.ASIAN]
    assert len(fig.data) == 4  # (reference, group) in each of two panels
    references = [t for t in fig.data if t.name == "White (reference)"]
    assert len(references) == 2 and all(t.line.dash == "dash" for t in references)
    assert [t.showlegend for t in references] == [True, False]
    black = next(t for t in fig.data if t.name == BLACK)
    assert list(black.x) == ["2022/23", "2023/24"]  # windows marked by their last year
    assert math.isclose(black.error_y.array[0], 0.6) and math.isclose(black.error_y.arrayminus[0], 0.5)
    assert black.customdata[0][0] == BLACK and black.customdata[0][1] == "2020/21 to 2022/23"
    assert black.xaxis != fig.data[3].xaxis  # separate panels
    assert fig.layout.yaxis.range[0] == 0
    assert "dashed, open diamonds: White (reference)" in fig.layout.title.subtitle.text


def test_trend_chart_keeps_one_scale_even_for_wide_intervals():
    table = trend_table()
    fig = charts.trend_chart(table, "Trend", "s")
    assert fig.layout.yaxis.range == fig.layout.yaxis2.range  # one scale
    table.loc[table["group"] == contract.ASIAN, "rate_upper"] = 40.0  # a small group's wide intervals
    fig = charts.trend_chart(table, "Trend", "s")
    # Issue 15 replaced per-panel scales (a panel stretched to 40 while the others read to 10) with one shared
    # scale; intervals running off it are marked with an arrow.
    assert fig.layout.yaxis2.range == fig.layout.yaxis.range and fig.layout.yaxis.range[1] < 10
    assert any(trace.marker.symbol == "arrow-up" for trace in fig.data)
    assert fig.layout.yaxis.range[0] == fig.layout.yaxis2.range[0] == 0


def test_trend_chart_for_one_group_is_one_panel_with_a_legend():
    fig = charts.trend_chart(trend_table((WHITE, BLACK)), "Trend", "s")
    assert len(fig.data) == 2 and fig.layout.showlegend
    assert {t.xaxis for t in fig.data} == {"x"}


def crossed_table() -> pd.DataFrame:
    cells = [
        (WHITE, "UK graduate", 1.0, math.nan, math.nan, True, False),
        (WHITE, "International medical graduate (IMG)", 1.6, 1.3, 2.0, False, False),
        (BLACK, "UK graduate", 1.2, 1.0, 1.5, False, False),
        (BLACK, "International medical graduate (IMG)", math.nan, math.nan, math.nan, False, True),
        (contract.ASIAN, "UK graduate", 0.5, 0.3, 0.8, False, False),
    ]
    return pd.DataFrame(
        [
            {
                "ethnic_group": eg,
                "pmq": pmq,
                "group": f"{eg} · {pmq}",
                "cases": math.nan if hidden else 50,
                "headcount": 10000,
                "rate": math.nan if hidden else 5.0,
                "rate_lower": math.nan if hidden else 4.0,
                "rate_upper": math.nan if hidden else 6.0,
                "rl": rl,
                "rl_lower": lo,
                "rl_upper": hi,
                "is_reference": ref,
                "suppressed": hidden,
            }
            for eg, pmq, rl, lo, hi, ref, hidden in cells
        ]
    )


def test_intersection_heatmap_cells_colours_and_text():
    fig = charts.intersection_heatmap(crossed_table(), "IMGs ...", "Relative likelihood")
    heat = fig.data[0]
    assert list(heat.y) == [WHITE, contract.ASIAN, BLACK]  # the contract's order of ethnic groups
    assert list(heat.x) == ["UK graduate", "IMG"]
    assert heat.zmid == 0 and heat.zmin == -heat.zmax  # diverging, centred on 1 on a log scale
    assert math.isclose(heat.z[0][1], math.log10(1.6))
    assert heat.text[0][0] == "1<br>reference"
    assert heat.text[0][1].startswith("<b>1.60</b>") and "1.30–2.00" in heat.text[0][1]
    assert heat.text[2][1] == "*" and heat.z[2][1] is None  # suppressed: not coloured, "*"
    assert heat.text[1][1] == "" and heat.z[1][1] is None  # no such cell
    assert math.isclose(heat.z[1][0], math.log10(0.5))
    assert heat.customdata[2][0][1] == "50" and "95% CI 1.00 to 1.50" in heat.customdata[2][0][6]
    assert heat.customdata[2][1][1] == "*"
    ticks = dict(zip(heat.colorbar.ticktext, heat.colorbar.tickvals, strict=True))
    assert math.isclose(ticks["1"], 0) and math.isclose(ticks["2"], math.log10(2))
    outline = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(outline) == 1 and (outline[0].x0, outline[0].y0) == (-0.5, -0.5)  # the reference cell


def breakdown_table() -> pd.DataFrame:
    rows = []
    for level, rl, lo, hi in (("Acute trust", 2.0, 1.5, 2.7), ("Health board", math.nan, math.nan, math.nan)):
        rows.append(
            {
                "level_label": level,
                "group": WHITE,
                "cases": 100,
                "headcount": 40000,
                "rate": 2.5,
                "rate_lower": 2.0,
                "rate_upper": 3.0,
                "rl": 1.0,
                "rl_lower": math.nan,
                "rl_upper": math.nan,
                "is_reference": True,
            }
        )
        rows.append(
            {
                "level_label": level,
                "group": BLACK,
                "cases": 50,
                "headcount": 10000,
                "rate": 5.0,
                "rate_lower": 4.0,
                "rate_upper": 6.2,
                "rl": rl,
                "rl_lower": lo,
                "rl_upper": hi,
                "is_reference": False,
            }
        )
    return pd.DataFrame(rows)


def test_breakdown_chart_rates_and_ratios_side_by_side():
    fig = charts.breakdown_chart(breakdown_table(), "Acute trusts: ...", "s")
    rates = [t for t in fig.data if t.xaxis == "x"]
    ratios = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in rates] == [BLACK, "White (reference)"]
    assert len(ratios) == 1 and list(ratios[0].x[:1]) == [2.0] and np.isnan(ratios[0].x[1])
    assert math.isclose(ratios[0].error_x.array[0], 0.7) and math.isclose(ratios[0].error_x.arrayminus[0], 0.5)
    assert fig.layout.xaxis2.type == "log" and fig.layout.xaxis.range[0] == 0
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(band) == 1 and (band[0].x0, band[0].x1) == (0.8, 1.25) and band[0].xref == "x2"
    assert any(s.type == "line" and s.x0 == 1 and s.xref == "x2" for s in fig.layout.shapes)
    assert rates[0].customdata[0][0] == BLACK


def test_drill_panel_titles_and_chart_titles_fit_a_laptop_screen():
    """Plotly does not wrap titles: a line too long for the chart is cut off, and the two panels' titles of a
    drill chart ran into each other in an 800 px main area (about 6.5 px a character at 12 px, 10 px at the
    title's 18 px bold)."""
    from parity.charts.theme import TITLE_WRAP

    long_title = "Primary care commissioner: Black or Black British dentists are referred 4.43 times as often " * 2
    fig = charts.breakdown_chart(breakdown_table(), long_title, "Referrals per 1,000 dentists a year " * 5)
    panels = [a.text for a in fig.layout.annotations if a.yref == "paper" and a.y >= 1]
    assert len(panels) == 2, panels
    for text in panels:
        assert max(len(line) for line in text.split("<br>")) <= 40, text  # half the plot each, about 300 px
    assert max(len(line) for line in fig.layout.title.text.split("<br>")) <= TITLE_WRAP <= 80
    assert max(len(line) for line in fig.layout.title.subtitle.text.split("<br>")) <= 120


def test_concern_rates_tests_the_interaction_and_controls_the_false_discovery_rate(app, monkeypatch):
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")  # the models are fitted at the full level only
    get_settings.cache_clear()
    at = app()
    assert not at.exception
    body = "\n".join(str(m.value) for m in [*at.markdown, *at.caption])
    # The planted gap is wider among IMGs than among UK graduates: the interaction test finds it.
    assert "**The ethnic gap differs by place of qualification**" in body
    assert "comparisons against the reference group" in body and "Benjamini–Hochberg" in body
    assert "The widest significant gap of the 4 groups compared with White practitioners" in body
    assert has_table(at, "Group", "Relative likelihood", "Adjusted RL", "Band", "Flagged (FDR 5%)")


def test_concern_rates_draws_the_open_tabs_only(app, monkeypatch):
    """The two heatmaps, and the unadjusted and adjusted forest plots, are tabs: only the open ones are drawn."""
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = app()
    assert not at.exception
    drawn = chart_blocks(at)
    assert {"concern_rates_forest", "concern_rates_heatmap"} <= set(drawn)
    assert not {"concern_rates_forest_adjusted", "concern_rates_heatmap_within"} & set(drawn)
    at = choose_tab(at, "concern_rates_crossed", "Against White, same place of qualification")
    tab = next(t.label for t in at.tabs if t.label.startswith("Adjusted for"))
    at = choose_tab(at, "concern_rates_adjustment_tab", tab)
    assert not at.exception
    drawn = chart_blocks(at)
    assert {"concern_rates_forest_adjusted", "concern_rates_heatmap_within"} <= set(drawn)
    assert not {"concern_rates_forest", "concern_rates_heatmap"} & set(drawn)
    assert "Benjamini–Hochberg" in texts(at)  # the tests' sentence under the tabs stays


def test_concern_rates_at_the_protected_level_fits_no_model_and_says_so_once(app):
    at = app()  # the default level: protected
    assert not at.exception
    body = "\n".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info])
    assert body.count("available to analysts at the full level only") == 1
    assert "ethnic gap differs by place of qualification" not in body  # no interaction test either
    assert "Among practitioners alike in" not in body
    assert "comparisons against the reference group" in body and "Benjamini–Hochberg" in body
    assert has_table(at, "Group", "Relative likelihood", "Band", "Flagged (FDR 5%)")
    assert not has_table(at, "Adjusted RL")
    assert not [m for m in at.multiselect if m.key == "adjust"]


def test_concern_rates_view_fits_the_models_at_the_full_level_only(sample):
    full = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, viewer=FULL)
    assert full.adjustment.adjusted_for and full.interaction is not None
    assert full.summary["adj_rl"].notna().any() and "referrals_by_cell" in full.queries
    protected = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, viewer=PROTECTED, adjust_for=None)
    assert protected.adjustment.withheld and protected.interaction is None
    assert protected.summary["adj_rl"].isna().all() and "referrals_by_cell" not in protected.queries


def test_concern_rates_view_flags_one_family_with_tests_matching_the_intervals(sample):
    view = concern_rates_view(sample, Filters(), "ethnic_group", WHITE)
    tables = (view.summary, view.intersection, view.within_pmq, view.concerns)
    tested = pd.concat([t[t["p_value"].notna()] for t in tables])
    assert view.tests == len(tested) and view.flags == int(tested["flagged"].eq(True).sum()) > 0
    # A test that matches the Katz interval: p < 0.05 exactly where the interval excludes 1.
    assert ((tested["p_value"] < 0.05) == tested["significant"].astype(bool)).all()
    # Benjamini–Hochberg flags no more than the unadjusted 5% tests would.
    assert (tested["flagged"].eq(True) <= (tested["p_value"] < 0.05)).all()
    unknown = view.summary[view.summary["group"].map(contract.is_unknown_group)]
    assert unknown["p_value"].isna().all() and unknown["flagged"].isna().all()


# --- Issue 13: a drill reports its own family ----------------------------------------------------


def test_a_drill_counts_its_own_tests_and_flags(sample: QueryRunner):
    from parity import stats

    view = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, drill=BLACK, viewer=FULL)
    own = view.breakdown[view.breakdown["group"].eq(BLACK) & view.breakdown["p_value"].notna()]
    overall = view.summary[view.summary["group"] == BLACK]["p_value"].iloc[0]
    family = [float(overall), *own["p_value"].astype(float)]
    # The family: the drilled group overall and in every level of every breakdown, corrected together.
    assert view.drill_tests == len(family)
    expected = stats.benjamini_hochberg(family)
    assert view.drill_flags == sum(expected)
    assert own["flagged"].tolist() == expected[1:]
    assert view.breakdown[view.breakdown["group"] == WHITE]["flagged"].isna().all()
    # The main page's family is unchanged by the drill.
    plain = concern_rates_view(sample, Filters(), "ethnic_group", WHITE, viewer=FULL)
    assert (view.tests, view.flags) == (plain.tests, plain.flags)
    assert plain.drill_tests == 0


def test_drilled_page_says_how_many_of_its_own_tests_are_flagged(app):
    at = app(drill=BLACK)
    assert not at.exception
    body = texts(at)
    assert "This drilled page runs" in body and "the drill's own family" in body
    levels = next(t for t in tables(at) if "Region" in t.columns)
    assert "Flagged (FDR 5%)" in levels.columns
    assert set(levels.loc[levels["Group"] == BLACK, "Flagged (FDR 5%)"]) <= {"yes", "no", "not tested"}
