"""The organisation profile (issue 14): its values are the pages' values for the same filters, its tests are the
right ones (checked against statsmodels), hidden values say why, and its spine chart and table are drawn."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import statsmodels.api as sm

from parity import charts, contract, measures, stats, tables, wording
from parity.db import QueryRunner, get_query
from parity.filters import Filters
from parity.measures.profile import ADJUSTED_AT_FULL_LEVEL_ONLY, monthly_survival, profile_view
from parity.viewer import FULL, Viewer

ORG = "R1C"
SPLIT = "ethnic_group"
MONTH = 365.25 / 12


VIEWERS = {"full": FULL, "employer": Viewer("protected", org=ORG)}


@pytest.fixture(scope="module", params=list(VIEWERS))
def viewer(request) -> Viewer:
    return VIEWERS[request.param]


@pytest.fixture(scope="module")
def profile(sample_db: Path, viewer: Viewer) -> measures.ProfileView:
    with QueryRunner(sample_db) as db:
        return profile_view(db, Filters(), SPLIT, org=ORG, viewer=viewer)


@pytest.fixture(scope="module")
def pages(sample_db: Path, viewer: Viewer) -> dict:
    """What the Overview, Outcomes and Durations pages show this viewer, with the organisation picked and without."""
    mine = Filters(orgs=(ORG,))
    with QueryRunner(sample_db) as db:
        out = {}
        for who, filters in (("org", mine), ("nat", Filters())):
            overview = measures.overview_view(db, filters, SPLIT, viewer=viewer)
            out[f"{who}_rates"] = overview.summary.set_index("group")
            out[f"{who}_minority"] = overview.minority.set_index("group")
            out[f"{who}_outcomes"] = measures.outcomes_view(db, filters, SPLIT, viewer=viewer).measures.set_index(
                ["measure", "group"]
            )
            out[f"{who}_durations"] = measures.durations_view(db, filters, SPLIT, viewer=viewer).summary.set_index(
                ["measure", "group"]
            )
        return out


def _same(a: float, b: float) -> bool:
    return (pd.isna(a) and pd.isna(b)) or math.isclose(float(a), float(b), rel_tol=1e-12)


def test_values_equal_the_pages_values_for_the_same_filters(profile, pages):
    """At the full level and for an employer at the protected level."""
    rows = profile.rows.set_index("indicator")
    checked = 0
    for group in [g for g in contract.SPLITS[SPLIT].groups if not contract.is_unknown_group(g)]:
        row = rows.loc[f"rate_{group}"]
        assert _same(row["value"], pages["org_rates"].loc[group, "rate"])
        assert _same(row["national"], pages["nat_rates"].loc[group, "rate"])
        for measure in measures.PROFILE_OUTCOMES:
            row = rows.loc[f"{measure}_{group}"]
            if pd.isna(row["hidden_reason"]) and (measure, group) in pages["org_outcomes"].index:
                assert _same(row["value"], pages["org_outcomes"].loc[(measure, group), "proportion"])
                checked += 1
            assert _same(row["national"], pages["nat_outcomes"].loc[(measure, group), "proportion"])
        median = rows.loc[f"median_{group}"]
        if (("closure", group)) in pages["org_durations"].index:
            assert _same(median["value"] * MONTH, pages["org_durations"].loc[("closure", group), "median"])
            still_open = rows.loc[f"open_{group}"]
            assert _same(still_open["value"], pages["org_durations"].loc[("closure", group), "open_12m"])
        assert _same(median["national"] * MONTH, pages["nat_durations"].loc[("closure", group), "median"])
    assert checked >= 3
    minority = rows.loc["rl_ethnic_minority"]
    assert _same(minority["value"], pages["org_minority"].loc[contract.ETHNIC_MINORITY, "rl"])
    assert _same(minority["national"], pages["nat_minority"].loc[contract.ETHNIC_MINORITY, "rl"])


def test_the_planted_organisation_is_flagged_higher_and_inside_its_range(profile):
    rows = profile.rows.set_index("indicator")
    minority = rows.loc["rl_ethnic_minority"]
    assert minority["judgement"] == "higher" and minority["p_value"] < 0.001
    assert minority["range_low"] <= minority["value"] <= minority["range_high"]
    assert minority["range_orgs"] > 50
    assert wording.profile_title(profile.rows, "Alpha").startswith("Alpha differs significantly from the rest on ")


def test_hidden_values_say_why(profile, viewer: Viewer):
    rows = profile.rows
    adjusted = rows[rows["indicator"].str.startswith("adjusted_rl")]
    # Issue 13: adjusted at the full level (see the next test); at the protected level not shown, saying why.
    if viewer.protected:
        assert len(adjusted) == 2 and (adjusted["hidden_reason"] == ADJUSTED_AT_FULL_LEVEL_ONLY).all()
    else:
        assert len(adjusted) == 2 and adjusted["hidden_reason"].isna().all()
    hidden = rows[rows["hidden_reason"].notna()]
    assert hidden["judgement"].isna().all()
    assert (rows.loc[rows["value"].isna(), "hidden_reason"].notna()).all()
    table = tables.profile_table(rows, "Alpha Trust")
    reasons = table.loc[rows["hidden_reason"].notna().to_numpy(), "Against the rest"]
    assert reasons.str.startswith("not shown: ").all()
    note = wording.profile_hidden_note(rows)
    if hidden.empty:  # the full level with its adjusted rows shown (issue 13): nothing to explain
        assert note is None
    else:
        assert note and note.startswith(f"{len(hidden)} of {len(rows)} values are not shown")


def test_an_employer_profiles_only_its_own_organisation(sample_db: Path):
    with QueryRunner(sample_db) as db, pytest.raises(ValueError, match="own organisation"):
        profile_view(db, Filters(), SPLIT, org="R2W", viewer=Viewer("protected", org=ORG))


def test_ratio_of_rate_ratios_equals_the_poisson_interaction_wald_test():
    """The z-test on the log ratio of two rate ratios is the Wald test of the interaction in a saturated Poisson
    model with a log person-time offset."""
    cases = np.array([40, 25, 300, 420])
    time = np.array([2000.0, 5000.0, 60000.0, 230000.0])
    group = np.array([1, 0, 1, 0])
    site = np.array([1, 1, 0, 0])
    design = sm.add_constant(np.column_stack([group, site, group * site]))
    fit = sm.GLM(cases, design, family=sm.families.Poisson(), offset=np.log(time)).fit()
    ours = stats.ratio_of_rate_ratios_test(40, 2000, 25, 5000, 300, 60000, 420, 230000)
    assert math.isclose(ours.statistic, fit.tvalues[3], rel_tol=1e-6)
    assert math.isclose(ours.p_value, fit.pvalues[3], rel_tol=1e-6)
    assert math.isnan(stats.ratio_of_rate_ratios_test(0, 1, 1, 1, 1, 1, 1, 1).p_value)


def test_monthly_survival_equals_kaplan_meier_on_month_ends():
    rows = pd.DataFrame(
        {
            "org_code": ["A"] * 6 + ["B"] * 3,
            "grp": ["g"] * 9,
            "months": [0, 1, 1, 3, 12, 14, 0, 2, 30],
            "closed": [True, True, False, True, False, True, True, True, True],
            "n": [3, 2, 1, 4, 2, 1, 1, 1, 1],
        }
    )
    out = monthly_survival(rows, ["org_code", "grp"]).set_index("org_code")
    a = rows[rows["org_code"] == "A"]
    km = stats.kaplan_meier(
        (a["months"] + 1).to_numpy(float), a["closed"].to_numpy(float), weights=a["n"].to_numpy(float)
    )
    assert out.loc["A", "median"] == km.median
    assert math.isclose(out.loc["A", "open"], float(km.survival[np.searchsorted(km.times, 12, side="right") - 1]))
    assert out.loc["B", "median"] == 3 and out.loc["A", "n"] == 13


def test_spine_chart_draws_range_markers_and_hidden_rows(profile):
    rows = profile.rows
    if rows["hidden_reason"].isna().all():  # at the full level (issue 13: adjusted rows shown) nothing may be hidden
        rows = rows.copy()
        rows.loc[rows.index[-1], ["value", "hidden_reason"]] = [math.nan, "hidden for this test"]
    fig = charts.spine_chart(rows, "Alpha Trust", "Title", "Subtitle")
    names = [t.name for t in fig.data]
    assert names[0] == "Range across organisations"
    assert "Significantly higher than the rest" in names
    higher = next(t for t in fig.data if t.name == "Significantly higher than the rest")
    assert higher.marker.symbol == "triangle-up"
    shown = [x for t in fig.data if isinstance(t, go.Scatter) and t.mode == "markers" for x in t.x]
    assert all(-1 <= x <= 1 for x in shown)
    hidden = next(t for t in fig.data if t.name == "Not shown")
    assert len(hidden.y) == int(rows["hidden_reason"].notna().sum())


def test_smallest_organisation_profile_hides_with_reasons(sample_db: Path):
    """An organisation whose every group is hidden at the protected level still gets its profile (no curve is
    drawn for its Durations; every hidden value says why)."""
    import duckdb

    with duckdb.connect(str(sample_db), read_only=True) as con:
        (small,) = con.execute(
            "SELECT org_code FROM cases GROUP BY org_code ORDER BY count(*), org_code LIMIT 1"
        ).fetchone()
    with QueryRunner(sample_db) as db:
        view = profile_view(db, Filters(), SPLIT, org=small, viewer=Viewer("protected", org=small))
    rows = view.rows
    assert (rows.loc[rows["value"].isna(), "hidden_reason"].notna()).all()


GOLDEN = Path(__file__).parent / "reference" / "profile_before_speedup.csv"
GOLDEN_FILTERS = {0: Filters(), 1: Filters(regions=("London",)), 2: Filters(professions=("doctor",), fy_from=2021)}
GOLDEN_VIEWERS = {"full": FULL, "protected": Viewer("protected")}


def _golden_viewer(name: str, org: str) -> Viewer:
    return Viewer("protected", org=org) if name == "employer" else GOLDEN_VIEWERS[name]


def _fresh_profile(db: QueryRunner, filters: Filters, split: str, org: str, viewer: Viewer) -> measures.ProfileView:
    from parity.measures import profile as module

    module.forget_comparators()
    return profile_view(db, filters, split, org=org, viewer=viewer)


def test_the_faster_profile_gives_the_rows_it_gave_before(sample_db: Path):
    """The speed-up (shared comparator, only the numbers the profile shows) changes no value, reason or judgement
    at either viewer level: every row equals the one the profile gave before it, kept in ``GOLDEN``. Left out: the
    adjusted rows (their own issue) and, at the protected level, the durations rows' test (the log-rank judgement
    from protected counts came after)."""
    golden = pd.read_csv(GOLDEN, float_precision="round_trip", keep_default_na=False, na_values=[""])
    cases = golden.groupby(["case_org", "case_split", "case_viewer", "case_filters"], sort=False)
    with QueryRunner(sample_db) as db:
        for (org, split, viewer_name, which), expected in cases:
            viewer = _golden_viewer(viewer_name, org)
            view = _fresh_profile(db, GOLDEN_FILTERS[which], split, org, viewer)
            assert view.organisations == expected["case_organisations"].iloc[0]
            got = view.rows.set_index("indicator")
            expected = expected.set_index("indicator").drop(columns=[c for c in expected if c.startswith("case_")])
            expected = expected[~expected.index.str.startswith("adjusted_")]
            assert set(expected.index) <= set(got.index)
            got = got.loc[expected.index, expected.columns]
            if viewer.protected:
                durations = expected["section"].isin(["median", "open"])
                tested = ["test", "p_value", "judgement"]
                expected, got = expected.copy(), got.copy()
                expected.loc[durations, tested] = None
                got.loc[durations, tested] = None
            for column in expected.columns:
                for indicator in expected.index:
                    want, have = expected.at[indicator, column], got.at[indicator, column]
                    same = (pd.isna(want) and pd.isna(have)) or want == have
                    assert same, (org, split, viewer_name, which, indicator, column, want, have)


def test_a_profile_reusing_the_comparator_equals_a_fresh_one(sample_db: Path):
    """The comparator (national Views, counts by organisation) is computed once and shared by the next
    organisation's profile: that profile equals one computed from nothing, at both viewer levels."""
    with QueryRunner(sample_db) as db:
        for viewer in (FULL, Viewer("protected")):
            fresh = _fresh_profile(db, Filters(), SPLIT, "R2W", viewer)
            profile_view(db, Filters(), SPLIT, org=ORG, viewer=viewer)
            reused = profile_view(db, Filters(), SPLIT, org="R2W", viewer=viewer)
            pd.testing.assert_frame_equal(reused.rows, fresh.rows, check_exact=True)
            assert reused.queries == fresh.queries and reused.organisations == fresh.organisations


def test_durations_at_the_protected_level_are_judged_from_protected_counts_only(sample_db: Path):
    """At the protected level the durations rows carry no log-rank test: either the share still open at 12 months
    against the rest, by Fisher's exact test or chi-square on the protected counts (recomputed here from the
    exact counts put through the rule), or "not tested at this level" with why; never a judgement without a test."""
    from parity.disclosure import Rule, protect
    from parity.measures import profile as module

    viewer = Viewer("protected", org=ORG)
    with QueryRunner(sample_db) as db:
        rows = _fresh_profile(db, Filters(), SPLIT, ORG, viewer).rows
        params = Filters().params(get_query("durations_by_org").params)
        times = db.run("durations_by_org", {"split": SPLIT, "bin_months": 3, **params})
    durations = rows[rows["section"].isin(["median", "open"])]
    tested = durations[durations["test"] == module.PROTECTED_OPEN_TEST]
    untested = durations[durations["test"] == module.UNTESTED_PROTECTED]
    assert len(tested) + len(untested) == len(durations)
    assert len(tested) >= 2 and len(untested) >= 2
    assert untested["judgement"].isna().all() and untested["p_value"].isna().all()
    shown = tested[tested["hidden_reason"].isna()]
    assert shown["judgement"].notna().all() and len(shown) >= 2
    # The same test by hand: cases followed for 12 months (closed, or open at least that long) and those still
    # open then, the organisation's and the rest's, each count protected by its cell key.
    late = times["months"] >= 12
    followed = times["closed"] | late
    cells = times.assign(
        f=times["n"].where(followed, 0),
        fk=times["n_key"].where(followed, 0),
        o=times["n"].where(late, 0),
        ok=times["n_key"].where(late, 0),
    )
    for _, row in tested.iterrows():
        group = cells[cells["grp"] == row["group"]]
        mine, rest = group[group["org_code"] == ORG].sum(), group[group["org_code"] != ORG].sum()
        a, n1 = protect([mine["o"], mine["f"]], [mine["ok"], mine["fk"]], Rule())
        c, n2 = protect([rest["o"], rest["f"]], [rest["ok"], rest["fk"]], Rule())
        expected = stats.compare_proportions(int(a), int(n1), int(c), int(n2))
        assert row["p_value"] == pytest.approx(expected.p_value, rel=1e-12)
        if pd.isna(row["hidden_reason"]):
            direction = "higher" if a / n1 > c / n2 else "lower"
            assert row["judgement"] == (direction if expected.p_value < 0.05 else "similar")
    # At the full level the log-rank test on quarters stays.
    with QueryRunner(sample_db) as db:
        full = _fresh_profile(db, Filters(), SPLIT, ORG, FULL).rows
    assert (full.loc[full["section"].isin(["median", "open"]), "test"] == "logrank").all()


def test_the_share_still_open_for_one_block_equals_monthly_survival():
    """The numpy shortcut the profile runs for each organisation gives ``monthly_survival``'s share, exactly."""
    from parity.measures.profile import DURATION_BIN_MONTHS, _still_open_share

    rng = np.random.default_rng(14)
    for size in (1, 3, 20, 200):
        rows = pd.DataFrame(
            {
                "months": rng.integers(0, 40, size) // DURATION_BIN_MONTHS * DURATION_BIN_MONTHS,
                "closed": rng.random(size) < 0.7,
                "n": rng.integers(0, 30, size).astype(float),
            }
        )
        expected = monthly_survival(rows.assign(org_code="x"), ["org_code"], DURATION_BIN_MONTHS)["open"].iloc[0]
        got = _still_open_share(rows)
        assert (pd.isna(expected) and pd.isna(got)) or got == expected
    assert _still_open_share(pd.DataFrame(columns=["months", "closed", "n"])) is None


def test_an_employer_reuses_the_comparator_only_after_its_geography_is_checked(sample_db: Path):
    """The comparator computed for a national viewer serves an employer at the same level (their scope changes none
    of its numbers): the employer's profile equals a fresh one. A geography that would single out other
    organisations is still refused when a comparator for it is at hand."""
    from parity.measures.scope import ScopeRefused

    employer = Viewer("protected", org=ORG)
    isolating = Filters(regions=("London",), org_types=("other",))
    with QueryRunner(sample_db) as db:
        fresh = _fresh_profile(db, Filters(), SPLIT, ORG, employer)
        _fresh_profile(db, Filters(), SPLIT, "R2W", Viewer("protected"))
        reused = profile_view(db, Filters(), SPLIT, org=ORG, viewer=employer)
        pd.testing.assert_frame_equal(reused.rows, fresh.rows, check_exact=True)
        profile_view(db, isolating, SPLIT, org="R2W", viewer=Viewer("protected"))
        with pytest.raises(ScopeRefused):
            profile_view(db, isolating, SPLIT, org=ORG, viewer=employer)


def test_adjusted_rows_are_the_overviews_adjusted_ratios(profile, viewer: Viewer, sample_db: Path):
    """Issue 13: the profile's adjusted relative likelihoods are the Overview's (its default: every characteristic)
    for the organisation and for the comparator; withheld at the protected level."""
    rows = profile.rows.set_index("indicator")
    if viewer.protected:
        assert rows.loc[["adjusted_rl_ethnic_minority", "adjusted_rl_pmq_region"], "value"].isna().all()
        return
    with QueryRunner(sample_db) as db:
        org = measures.overview_view(db, Filters(orgs=(ORG,)), SPLIT, viewer=viewer)
        national = measures.overview_view(db, Filters(), SPLIT, viewer=viewer)
    for indicator, table, group in (
        ("adjusted_rl_ethnic_minority", "minority", contract.ETHNIC_MINORITY),
        ("adjusted_rl_pmq_region", "graduates", contract.PMQ_REGIONS["IMG"]),
    ):
        row = rows.loc[indicator]
        mine = getattr(org, table).set_index("group").loc[group]
        theirs = getattr(national, table).set_index("group").loc[group]
        assert row["value"] == pytest.approx(mine["adj_rl"]) and row["lower"] == pytest.approx(mine["adj_rl_lower"])
        assert row["upper"] == pytest.approx(mine["adj_rl_upper"])
        assert row["national"] == pytest.approx(theirs["adj_rl"])
        assert row["national_lower"] <= row["national"] <= row["national_upper"]
        assert pd.isna(row["hidden_reason"]) and row["value"] != row["national"]


def test_the_organisations_referral_counts_from_the_comparator_equal_the_query(sample_db: Path):
    """The organisation's Overview takes its referral counts by group from its rows of the comparator's counts by
    organisation: for every filter tried, every split the profile counts and every organisation, they equal
    ``referrals_by_group`` run with the organisation filter (the same groups, counts and cell keys, in order)."""
    from parity.measures import profile as module

    filters = [*GOLDEN_FILTERS.values(), Filters(concerns=("clinical",), org_types=("acute_trust",), fy_to=2022)]
    with QueryRunner(sample_db) as db:
        orgs = list(db.run("organisations_list", {"scope_org": None})["org_code"])
        for chosen in filters:
            module.forget_comparators()
            shared = module._comparator(db, chosen, SPLIT, contract.WHITE, Viewer("protected"), module.Rule(), None)
            assert {s for s, *_ in shared.by_org} == {SPLIT, "ethnic_minority", "pmq_region"}
            summed_any = False  # for each filter, some organisation's counts came from the comparator's
            for org in [*orgs, "NO-SUCH-ORG"]:
                source = module._SummedOverOrganisations(db, shared.organisation_rows(org))
                for params, rows in shared.organisation_rows(org):
                    expected = db.run("referrals_by_group", params)
                    got = source.run("referrals_by_group", params)
                    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
                    summed_any |= len(rows) > 0
            assert summed_any


def test_the_cells_of_one_split_relabelled_equal_the_other_splits_query(sample_db: Path):
    """The adjusted fits of the profile's two splits read the cells once: relabelled for the other split and put in
    the query's order, they equal ``referrals_by_cell`` run for it (every row, value and type, in order), for every
    filter tried, with and without an organisation, whichever split comes first."""
    from parity.measures.profile import _CellsOnce

    declared = get_query("referrals_by_cell").params
    filters = [
        *GOLDEN_FILTERS.values(),
        Filters(concerns=("clinical",), org_types=("acute_trust",), fy_to=2022),
        Filters(orgs=(ORG,)),
    ]
    with QueryRunner(sample_db) as db:
        for chosen in filters:
            for first, second in (("ethnic_minority", "pmq_region"), ("pmq_region", "ethnic_minority")):
                once = _CellsOnce(db)
                once.run("referrals_by_cell", {"split": first, **chosen.params(declared)})
                got = once.run("referrals_by_cell", {"split": second, **chosen.params(declared)})
                expected = db.run("referrals_by_cell", {"split": second, **chosen.params(declared)})
                assert len(expected)
                pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_counts_by_organisation_summed_from_ethnicity_by_qualification_equal_each_splits_query(sample_db: Path):
    """The comparator counts referrals by organisation once, by ethnicity × place of qualification, and sums the
    ethnic group, ethnic minority, place of qualification and UK graduate splits' rows from it: each equals
    ``referrals_by_org_group`` run for that split (every row, value and type, in order), for every filter tried."""
    from parity.measures.common import run_split_query
    from parity.measures.profile import _FROM_ETHNICITY_PMQ, _counts_by_organisation

    splits = ["ethnic_minority", "pmq_region", "ethnic_group", "uk_graduate"]
    assert set(splits) <= set(_FROM_ETHNICITY_PMQ)
    filters = [*GOLDEN_FILTERS.values(), Filters(concerns=("clinical",), org_types=("acute_trust",), fy_to=2022)]
    with QueryRunner(sample_db) as db:
        for chosen in filters:
            got = _counts_by_organisation(db, chosen, splits)
            for split in splits:
                expected = run_split_query(db, "referrals_by_org_group", chosen, split)
                assert len(expected)
                pd.testing.assert_frame_equal(got[split], expected, check_exact=True)
