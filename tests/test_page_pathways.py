"""Pathways: the page in AppTest (national, sub-national, a drill from the URL, an employer's scope, empty), its
measures on the sample data (the planted pathway effects are flagged, the organisation effect found), how rarely
steps with no difference are flagged, and its figure builders as pure functions."""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from apptest import open_page, tables, texts

from parity import charts, contract
from parity import tables as display
from parity.charts.pathways import sankey_chart, sankey_pair
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import ALL_CASES, STEP_BY_KEY, STEPS, pathways_view
from parity.measures.pathways import compare_steps, flag_disparities, step_counts, viewer_counts
from parity.viewer import FULL as FULL_VIEWER
from parity.viewer import PROTECTED

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/pathways.py"
EFFECTS = {e["id"]: e for e in json.loads((ROOT / "sample_data" / "effects.json").read_text())["effects"]}
IMG = contract.PMQ_REGIONS["IMG"]
UK = contract.PMQ_REGIONS["UK"]
PMQ_LABEL = contract.SPLITS["pmq_region"].label
# The steps the sample plants a difference at (E4: exclusion or suspension, and formal investigation without
# informal resolution first); every other step has none by design, beyond what those two imply.
PLANTED_STEPS = {"excluded", "formal_first"}


@pytest.fixture(scope="module")
def db(sample_db: Path):
    with QueryRunner(sample_db) as runner:
        yield runner


@pytest.fixture
def app(sample_app):
    return functools.partial(open_page, PAGE)


@pytest.fixture
def full_level(sample_app, monkeypatch):
    """The app at the full level (an analyst's exact numbers)."""
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def flagged(transitions: pd.DataFrame) -> set[tuple[str, str]]:
    rows = transitions[transitions["flagged"].eq(True)]
    return set(zip(rows["step"], rows["group"], strict=True))


# --- Measures on the sample data ---------------------------------------------------------------------


@pytest.mark.parametrize("viewer", [FULL_VIEWER, PROTECTED], ids=["full", "protected"])
def test_planted_pathway_effects_are_flagged_and_nothing_else(db, viewer):
    pmq = pathways_view(db, Filters(), "pmq_region", viewer=viewer)
    assert {("formal_first", IMG), ("excluded", IMG)} <= flagged(pmq.transitions)  # E4b, E4d
    ethnic = pathways_view(db, Filters(), "ethnic_group", viewer=viewer)
    assert {("formal_first", contract.BLACK), ("excluded", contract.BLACK)} <= flagged(ethnic.transitions)  # E4a, E4c
    for view in (pmq, ethnic):
        assert {step for step, _ in flagged(view.transitions)} <= PLANTED_STEPS
        assert view.tests == view.transitions["p_value"].notna().sum()
        # Every flag is significant after BH and has its whole interval outside 0.80–1.25.
        rows = view.transitions[view.transitions["flagged"].eq(True)]
        assert rows["significant"].eq(True).all()
        assert ((rows["rr_lower"] > 1.25) | (rows["rr_upper"] < 0.8)).all()


def test_shares_are_among_cases_with_a_years_follow_up(db, sample_db: Path):
    import duckdb

    view = pathways_view(db, Filters(), "pmq_region", viewer=FULL_VIEWER)
    with duckdb.connect(str(sample_db), read_only=True) as con:
        followed, everyone = con.execute(
            "SELECT count(*) FILTER (WHERE referral_date <= extract_date() - INTERVAL 12 MONTH), count(*) FROM cases"
        ).fetchone()
    assert view.groups["cases"].sum() == followed < everyone
    assert view.followup_months == 12
    referral = view.transitions[view.transitions["step"] == "informal"]
    assert referral["denominator"].sum() == followed
    # Against 6 months of follow-up more cases count, and the later the step the more the open ones dilute it.
    shorter = pathways_view(db, Filters(), "pmq_region", viewer=FULL_VIEWER, followup_months=6)
    assert shorter.groups["cases"].sum() > followed


def test_the_organisation_effect_is_found_and_few_others(db):
    view = pathways_view(db, Filters(), "pmq_region", funnel_step="formal_first", funnel_group=IMG, viewer=FULL_VIEWER)
    above = set(view.funnel.loc[view.funnel["significance"] == "higher_99.8", "org_code"])
    planted = {EFFECTS["E8a"]["filters"]["org_code"], EFFECTS["E8b"]["filters"]["org_code"]}
    assert above == planted
    assert view.funnel["outlier"].sum() <= len(planted) + 1
    # The pooled share is the national one among IMGs' cases, and each organisation is a share of its cases.
    national = view.transitions.set_index(["step", "group"]).loc[("formal_first", IMG)]
    assert view.average == pytest.approx(national["share"])
    assert view.funnel["rate"].between(0, 1).all()


def test_funnel_names_only_the_employers_own_organisation(db):
    own = EFFECTS["E8a"]["filters"]["org_code"]
    view = pathways_view(db, Filters(), "pmq_region", funnel_step="formal_first", funnel_group=IMG, scope_org=own)
    named = view.funnel[view.funnel["org_name"].notna()]
    assert set(named["org_code"]) == {own}
    assert set(view.funnel.loc[view.funnel["org_code"] != own, "label"]) == {"Another organisation"}
    assert view.funnel.loc[view.funnel["org_code"] == own, "is_selected"].all()


def test_below_national_level_statistics_come_from_protected_counts(db):
    view = pathways_view(db, Filters(regions=("London",)), "pmq_region")
    shown = view.transitions.dropna(subset=["events", "denominator"])
    assert (shown["events"] % 5 == 0).all() and (shown["denominator"] % 5 == 0).all()
    usable = shown[shown["denominator"] > 0]
    assert np.allclose(usable["share"], usable["events"] / usable["denominator"])
    hidden = view.transitions[view.transitions["suppressed"]]
    assert hidden["share"].isna().all() or hidden["events"].isna().any()
    assert view.flows["n"].dropna().mod(5).eq(0).all()


def test_drill_breaks_one_step_down(db):
    view = pathways_view(db, Filters(), "pmq_region", drill=IMG, step="formal_first")
    assert set(view.transitions["group"]) == {IMG, UK}
    assert view.step == "formal_first"
    assert set(view.breakdown["dimension"]) == {"org_type", "region", "concern"}
    assert set(view.breakdown["step"]) == {"formal_first"}
    # Without a step, the drilled group's largest flagged step.
    assert pathways_view(db, Filters(), "pmq_region", drill=IMG).step in PLANTED_STEPS


def test_refuses_an_unknown_step(db):
    with pytest.raises(ValueError, match="unknown step"):
        pathways_view(db, Filters(), "pmq_region", step="teleported")


# --- How rarely a step with no difference is flagged ----------------------------------------------


def test_steps_with_no_difference_are_rarely_flagged():
    """Groups that share every step's probability, at the sample's sizes: the table almost never flags."""
    rng = np.random.default_rng(12)
    sizes = {"White": 3400, "Mixed": 330, "Asian": 3350, "Black": 930, "Other": 530}
    probabilities = {"a": 0.9, "b": 0.1, "c": 0.27, "d": 0.07, "e": 0.2, "f": 0.02}
    steps = tuple(STEPS[: len(probabilities)])
    tables_with_a_flag, flags = 0, 0
    runs = 200
    for _ in range(runs):
        rows = [
            {"level": "all", "grp": g, "step": s.key, "events": rng.binomial(n, p), "denominator": n}
            for g, n in sizes.items()
            for s, p in zip(steps, probabilities.values(), strict=True)
        ]
        table = flag_disparities(compare_steps(pd.DataFrame(rows), "ethnic_group", "White", protect=False, rule=Rule()))
        n_flags = int(table["flagged"].eq(True).sum())
        flags += n_flags
        tables_with_a_flag += n_flags > 0
    assert tables_with_a_flag / runs <= 0.02  # with 24 comparisons a table, BH and the band together
    assert flags / (runs * 24) <= 0.002


# --- Pure parts ---------------------------------------------------------------------------------------


def test_step_counts_pair_the_counts_into_steps():
    counts = pd.DataFrame(
        {
            "level": "all",
            "grp": ["A", "A", "A", "B"],
            "count_name": ["cases", "formal", "heard", "cases"],
            "n": [10, 4, 1, 5],
        }
    )
    grid = step_counts(counts).set_index(["grp", "step"])
    assert tuple(grid.loc[("A", "heard"), ["events", "denominator"]]) == (1, 4)
    assert tuple(grid.loc[("B", "formal_first"), ["events", "denominator"]]) == (0, 5)
    assert len(grid) == 2 * len(STEPS)


def test_viewer_counts_hide_and_round():
    counts = pd.Series([0, 3, 8, 12, 13])
    assert viewer_counts(counts, protect=False, rule=Rule()).tolist() == [0, 3, 8, 12, 13]
    protected = viewer_counts(counts, protect=True, rule=Rule())
    assert protected.isna().tolist() == [False, True, False, False, False]
    assert protected.dropna().tolist() == [0, 10, 10, 15]


def test_step_labels_name_both_ends():
    assert STEP_BY_KEY["formal_first"].label == "Referral → formal investigation without informal resolution first"
    assert STEP_BY_KEY["excluded"].label == "Referral → exclusion or suspension"


def test_sankey_figures(db):
    view = pathways_view(db, Filters(), "pmq_region")
    one = sankey_chart(view.flows, ALL_CASES, "Title", "Subtitle")
    assert len(one.data) == 1 and one.data[0].type == "sankey"
    total = view.groups["cases"].sum()
    labels = one.data[0].node.label
    from_referred = [
        v for s, v in zip(one.data[0].link.source, one.data[0].link.value, strict=True) if labels[s] == "Referred"
    ]
    assert sum(from_referred) == total
    pair = sankey_pair(view.flows, (UK, IMG), "Title", "Subtitle")
    assert len(pair.data) == 2
    for trace in pair.data:  # shares: each group's first layer sums to 100%
        names = trace.node.label
        first = [v for s, v in zip(trace.link.source, trace.link.value, strict=True) if names[s] == "Referred"]
        assert sum(first) == pytest.approx(100)
    assert "95% CI" in pair.data[0].link.customdata[0]


def test_transitions_table_and_share_funnel(db):
    view = pathways_view(db, Filters(), "pmq_region", funnel_step="formal_first", funnel_group=IMG, viewer=FULL_VIEWER)
    table = display.transitions_table(view.transitions)
    assert list(table.columns[:4]) == ["Step", "Group", "Took the step", "At its start"]
    assert table["Flag"].str.startswith("flagged").sum() == view.flagged
    funnel = charts.funnel_chart(
        view.funnel, view.limits, view.average, "T", "S", axes=charts.FunnelAxes(value_format=".1%", tickformat=".0%")
    )
    assert funnel.layout.yaxis.tickformat == ".0%"


# --- The page in AppTest -----------------------------------------------------------------------------


def test_page_defaults(app):
    at = app()
    assert not at.exception, at.exception
    title = at.title[0].value
    assert title.startswith("Pathways: cases about") and "times as often as" in title
    body = texts(at)
    assert "**10 steps** were compared" in body and "flagged" in body
    assert "referred at least 12 months before the extract date" in body
    assert "BAME" not in body
    transitions = next(t for t in tables(at) if "Took the step" in t.columns and "Flag" in t.columns)
    assert set(transitions["Step"]) == {s.label for s in STEPS}


def test_page_flags_the_planted_organisations(app, full_level):
    at = app(by=PMQ_LABEL, funnel_step=STEP_BY_KEY["formal_first"].label, funnel_group=IMG)
    assert not at.exception, at.exception
    body = texts(at)
    specs = [element.proto.spec for element in at.get("plotly_chart")]
    assert any("2 organisations are above the 99.8% limit" in spec for spec in specs)  # the funnel's title
    for effect in ("E8a", "E8b"):
        assert f"- {EFFECTS[effect]['org_name']}:" in body
    funnel = next(t for t in tables(at) if "Against the funnel" in t.columns)
    above = set(funnel.loc[funnel["Against the funnel"] == "above the 99.8% limit", "Organisation"])
    assert above == {EFFECTS["E8a"]["org_name"], EFFECTS["E8b"]["org_name"]}
    assert "Click an organisation's point" in body


def test_page_drill_from_the_url(app):
    at = app(by=PMQ_LABEL, drill=IMG, step="formal_first")
    assert not at.exception, at.exception
    body = texts(at)
    assert f"all groups by place of primary qualification › **{IMG}**" in body
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith(f"{IMG}: “referral → formal investigation") for s in subheaders)
    breakdown = next(t for t in tables(at) if "Breakdown" in t.columns)
    assert {"Organisation type", "Region", "Concern type"} == set(breakdown["Breakdown"])


def test_page_drill_changes_its_step_from_a_box(app):
    """The keyboard route to another step: the box under the drill's heading shows the step drawn, and a choice
    there goes into the link and breaks that step down instead."""
    at = app(by=PMQ_LABEL, drill=IMG, step="formal_first")
    box = at.selectbox(key="pathways_drill_step")
    assert box.value == "formal_first"
    box.set_value("excluded").run()
    assert not at.exception, at.exception
    assert at.query_params["step"] in ("excluded", ["excluded"]) and at.query_params["drill"] in (IMG, [IMG])
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith(f"{IMG}: “referral → exclusion or suspension") for s in subheaders), subheaders
    assert at.selectbox(key="pathways_drill_step").value == "excluded"


def test_page_ignores_a_bad_step_in_the_link(app):
    at = app(by=PMQ_LABEL, drill=IMG, step="teleported")
    assert not at.exception, at.exception
    assert "Ignored from the link: `step=teleported`" in texts(at)


def test_page_below_national_level(app):
    at = app(by=PMQ_LABEL, region="London")
    assert not at.exception, at.exception
    assert "Numbers are protected" in texts(at)
    transitions = next(t for t in tables(at) if "Flag" in t.columns)
    counts = [v for v in transitions["At its start"] if v != "*"]
    assert counts and all(int(v.replace(",", "")) % 5 == 0 for v in counts)


def test_page_employer_view(sample_app, monkeypatch):
    from parity.settings import get_settings

    own = EFFECTS["E8b"]["filters"]["org_code"]
    monkeypatch.setenv("PARITY_VIEWER_ORG", own)
    get_settings.cache_clear()
    at = open_page(PAGE, by=PMQ_LABEL, funnel_step=STEP_BY_KEY["formal_first"].label, funnel_group=IMG)
    assert not at.exception, at.exception
    funnel = next(t for t in tables(at) if "Against the funnel" in t.columns)
    assert set(funnel["Organisation"]) <= {"Another organisation", f"{EFFECTS['E8b']['org_name']} (selected)"}
    assert "Employer view" in texts(at)


def test_page_with_no_cases(app):
    at = app(**{"from": "2024/25"})  # nothing referred in the last year has a year of follow-up
    assert not at.exception, at.exception
    assert "No cases match these filters" in texts(at)


def _flag_counts(at) -> dict[str, int]:
    """The flagged count as the summary, the tests' paragraph and the forest plot's title each give it."""
    body = texts(at)
    summary = next(m.value for m in at.markdown if "steps** were compared" in m.value)
    paragraph = next(m.value for m in at.markdown if "after controlling the false discovery rate" in m.value)
    specs = [element.proto.spec for element in at.get("plotly_chart")]
    title = next(s for s in specs if "comparisons on the 10 steps" in s)
    counts = {}
    found = re.search(r"\*\*(\d+) (?:is|are) flagged\*\*", summary)
    counts["summary"] = int(found.group(1)) if found else 0
    found = re.search(r"\*\*(\d+) (?:is|are) flagged\*\*", paragraph)
    counts["paragraph"] = int(found.group(1)) if found else 0
    found = re.search(r"(\d+) of the \d+ comparisons on the 10 steps are flagged", title)
    counts["title"] = int(found.group(1)) if found else 0
    counts["significant"] = int(re.search(r"\*\*(\d+) (?:is|are) significant\*\*", paragraph).group(1))
    assert not re.search(r"\bnan\b", body), "a number printed as nan"
    return counts


@pytest.mark.parametrize("level", ["protected", "full"])
def test_page_says_significant_and_flagged_alike_everywhere(app, db, level, monkeypatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_LEVEL", level)
    get_settings.cache_clear()
    at = app()
    assert not at.exception, at.exception
    counts = _flag_counts(at)
    view = pathways_view(db, Filters(), "ethnic_group", viewer=PROTECTED if level == "protected" else FULL_VIEWER)
    flagged_rows = int(view.transitions["flagged"].eq(True).sum())
    assert counts["summary"] == counts["paragraph"] == counts["title"] == flagged_rows > 0
    assert counts["significant"] == int(view.transitions["significant"].eq(True).sum()) >= flagged_rows


def test_funnel_caption_says_why_overdispersion_was_not_estimated(app, db):
    at = app()  # the protected level, the default: few organisations' counts at a step are large enough to show
    assert not at.exception, at.exception
    view = pathways_view(db, Filters(), "ethnic_group", viewer=PROTECTED)
    assert math.isnan(view.phi) and view.estimated_from < 15 <= view.organisations  # the case that printed φ = nan
    body = texts(at)
    assert "φ = nan" not in body
    assert (
        f"only {view.estimated_from} of the {view.organisations} organisations here have counts large enough to be "
        "shown under the protection rule" in body
    )
    full = pathways_view(db, Filters(), "ethnic_group", viewer=FULL_VIEWER)
    assert full.adjusted and full.estimated_from == full.organisations
