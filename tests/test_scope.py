"""An employer's scope (issue 14): no figure for a geography that holds fewer than ``PARITY_MIN_OTHER_ORGS``
organisations other than the employer's own, whichever View, breakdown or command asks, on the sample data."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from parity import contract, measures
from parity.db import QueryRunner
from parity.filters import Filters
from parity.measures.scope import ScopeGuard, ScopeRefused, isolates, scope_refusal
from parity.summary import main as summary_main
from parity.viewer import Viewer

OWN = "R1C"
MIN_OTHERS = 3
EMPLOYER = Viewer("protected", org=OWN)


@pytest.fixture(scope="module")
def orgs(sample_db: Path) -> pd.DataFrame:
    with duckdb.connect(str(sample_db), read_only=True) as con:
        return con.execute("SELECT org_code, org_type, region FROM organisations").df()


def _members(orgs: pd.DataFrame, regions: tuple[str, ...], org_types: tuple[str, ...]) -> set[str]:
    keep = pd.Series(True, index=orgs.index)
    if regions:
        keep &= orgs["region"].isin(regions)
    if org_types:
        keep &= orgs["org_type"].isin(org_types)
    return set(orgs.loc[keep, "org_code"])


def _combinations() -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    regions = [()] + [(r,) for r in contract.REGIONS]
    types = [()] + [(t,) for t in contract.ORG_TYPES]
    return list(itertools.product(regions, types))


def _allowed(codes: set[str]) -> bool:
    return not 0 < len(codes - {OWN}) < MIN_OTHERS


def _check_breakdown(table: pd.DataFrame, orgs: pd.DataFrame, codes: set[str], where: str) -> None:
    """Every organisation-type and region level a drill shows is itself an allowed geography."""
    if table.empty:
        return
    for dimension, column in (("org_type", "org_type"), ("region", "region")):
        for level in set(table.loc[table["dimension"] == dimension, "level"]):
            inside = codes & set(orgs.loc[orgs[column] == level, "org_code"])
            assert _allowed(inside), f"{where}: {dimension} {level} shows {len(inside - {OWN})} other organisations"


def test_isolating_geographies_are_recognised():
    assert isolates({"A"}, "X", 3) and isolates({"A", "B", "X"}, "X", 3)
    assert not isolates({"X"}, "X", 3) and not isolates(set(), "X", 3)
    assert not isolates({"A", "B", "C"}, "X", 3) and not isolates({"A", "B", "C", "X"}, "X", 3)


def test_the_issue_case_is_refused_with_a_plain_message(sample_db: Path):
    with QueryRunner(sample_db) as db:
        filters = Filters(regions=("London",), org_types=("other",))
        message = scope_refusal(db, filters, OWN, MIN_OTHERS)
        assert message and "one organisation other than yours" in message and f"at least {MIN_OTHERS}" in message
        with pytest.raises(ScopeRefused):
            measures.concern_rates_view(db, filters, "ethnic_group", viewer=EMPLOYER)
        # A national viewer is not scoped: the same filters show that organisation's figures.
        assert not measures.concern_rates_view(db, filters, "ethnic_group").summary.empty
        # The employer's own organisation alone is always allowed.
        assert scope_refusal(db, Filters(orgs=(OWN,)), OWN, MIN_OTHERS) is None
        # Another organisation by code (a hand-made link or command) is refused.
        assert scope_refusal(db, Filters(orgs=("R2W",)), OWN, MIN_OTHERS)


@pytest.mark.parametrize(("regions", "org_types"), _combinations())
def test_no_figure_for_a_geography_of_too_few_other_organisations(
    sample_db: Path, orgs: pd.DataFrame, regions: tuple[str, ...], org_types: tuple[str, ...]
):
    codes = _members(orgs, regions, org_types)
    filters = Filters(regions=regions, org_types=org_types)
    where = f"region {regions or 'all'} × type {org_types or 'all'}"
    with QueryRunner(sample_db) as db:
        guard = ScopeGuard(db, OWN, MIN_OTHERS)
        views = {
            "overview": lambda: measures.overview_view(db, filters, "ethnic_group", viewer=EMPLOYER),
            "concern rates": lambda: measures.concern_rates_view(
                db, filters, "ethnic_group", drill=contract.ASIAN, viewer=EMPLOYER
            ),
            "organisation": lambda: measures.organisation_view(db, filters, "ethnic_minority", viewer=EMPLOYER),
        }
        for name, build in views.items():
            if not _allowed(codes):
                with pytest.raises(ScopeRefused):
                    build()
                continue
            view = build()
            if name == "concern rates":
                _check_breakdown(view.breakdown, orgs, codes, f"{where}, {name}")
            if name == "organisation" and len(view.funnel):
                assert len(set(view.funnel["org_code"]) - {OWN}) >= MIN_OTHERS, where
        assert (scope_refusal(guard, filters, OWN, MIN_OTHERS) is None) == _allowed(codes)


@pytest.mark.parametrize("view", ["outcomes_view", "durations_view"])
def test_drills_drop_isolating_levels_and_enough_more(sample_db: Path, orgs: pd.DataFrame, view: str):
    """In London, ambulance trusts (1), community trusts (2) and the other organisation (1) are each too few; the
    drill hides them (together they are 4, so nothing more need go) and keeps the larger types."""
    codes = _members(orgs, ("London",), ())
    with QueryRunner(sample_db) as db:
        built = getattr(measures, view)(
            db, Filters(regions=("London",)), "ethnic_group", drill=contract.ASIAN, viewer=EMPLOYER
        )
    _check_breakdown(built.breakdown, orgs, codes, view)
    shown = set(built.breakdown.loc[built.breakdown["dimension"] == "org_type", "level"])
    assert shown and not shown & {"ambulance_trust", "community_trust", "other"}


def test_a_single_hidden_level_takes_another_with_it():
    """Subtracting the shown levels from the total must not give back a hidden one."""

    class Runner:
        def run(self, name, params=None):
            if name == "organisations_list":
                return pd.DataFrame(
                    {
                        "org_code": ["X", "A", "B", "C", "D", "E", "F"],
                        "org_name": list("XABCDEF"),
                        "org_type": [
                            "acute_trust",
                            "other",
                            "acute_trust",
                            "acute_trust",
                            "acute_trust",
                            "community_trust",
                            "community_trust",
                        ],
                        "region": ["London"] * 7,
                    }
                )
            return pd.DataFrame(
                {
                    "level": ["acute_trust", "other", "community_trust"],
                    "grp": ["g"] * 3,
                    "kind": ["all"] * 3,
                    "measure": ["cases"] * 3,
                    "events": [10, 10, 10],
                    "denominator": [10, 10, 10],
                }
            )

    guard = ScopeGuard(Runner(), "X", 3)
    params = {
        "split": "ethnic_group",
        "breakdown": "org_type",
        "followup_months": 0,
        "fy_from": None,
        "fy_to": None,
        "professions": None,
        "grades": None,
        "regions": None,
        "org_types": None,
        "orgs": None,
        "concerns": None,
    }
    shown = guard.run("outcomes_by_group", params)
    # "other" (1 other) is hidden, and with it the smallest further level (community, 2), so that the hidden
    # ones together hold 3 others.
    assert list(shown["level"]) == ["acute_trust"]


def test_cli_refuses_an_isolating_geography_under_a_scope(sample_db: Path, capsys: pytest.CaptureFixture):
    args = ["--db", str(sample_db), "--by", "ethnic_group", "--region", "London", "--org-type", "other"]
    assert summary_main([*args, "--org-scope", OWN]) == 3
    captured = capsys.readouterr()
    assert "no figures for these filters" in captured.err and not captured.out
    assert summary_main([*args, "--json"]) == 0  # no scope: a national analyst's command
    assert json.loads(capsys.readouterr().out)
    assert (
        summary_main(
            ["--db", str(sample_db), "--by", "ethnic_group", "--region", "London", "--org-scope", OWN, "--json"]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)


def test_methods_state_the_threshold_from_settings():
    from parity import wording
    from parity.disclosure import Rule

    text = " ".join(wording.methods_text(Rule(), min_other_orgs=4).split())
    assert "at least 4 organisations other than theirs" in text
    assert "{{" not in wording.methods_text(Rule())
