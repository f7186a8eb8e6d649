"""The Pathways View made faster gives the same numbers as before (issue 12): its two queries as they were (kept in
tests/reference/pathways_before/) against today's, and the counting and cell-building functions as they were (kept
below, verbatim but for their names) against today's, on the sample data, on the small hand-made export and on
hand-made rows; then whole Views, with today's functions and with the old ones, on the sample and hand-made
data at both viewer levels. Equal means equal: every frame exactly, every float to the last bit."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from parity import contract
from parity.db import QueryRunner, get_query
from parity.filters import Filters
from parity.measures import pathways
from parity.measures.common import run_split_query
from parity.measures.pathways import (
    _CELL_COLUMNS,
    _HIDDEN,
    ALL_CASES,
    ENTRY_LABELS,
    FURTHEST_LABELS,
    HEARING_LABEL,
    NODE_COUNTS,
    OUTCOME_NODE_LABELS,
    STEP_BY_KEY,
    STEPS,
    Step,
    _with_all_cases,
    pathways_view,
    step_counts,
)
from parity.viewer import FULL, PROTECTED

BEFORE = Path(__file__).resolve().parent / "reference" / "pathways_before"
IMG = contract.PMQ_REGIONS["IMG"]


# --- The functions as they were ------------------------------------------------------------------


def old_step_counts(counts: pd.DataFrame, steps: tuple[Step, ...] = STEPS) -> pd.DataFrame:
    """``step_counts`` as it was (groupby, unstack, one frame per step)."""
    rows = counts.assign(n=counts["n"].astype(float).fillna(_HIDDEN))
    wide = rows.groupby(["level", "grp", "count_name"])["n"].sum().unstack("count_name", fill_value=0)
    needed = {s.start for s in steps} | {s.end for s in steps}
    wide = wide.reindex(columns=sorted(needed), fill_value=0).mask(lambda w: w < 0)
    parts = [
        pd.DataFrame(
            {
                "level": wide.index.get_level_values("level"),
                "grp": wide.index.get_level_values("grp"),
                "step": s.key,
                "events": wide[s.end].to_numpy(),
                "denominator": wide[s.start].to_numpy(),
            }
        )
        for s in steps
    ]
    if not parts or wide.empty:
        return pd.DataFrame(columns=["level", "grp", "step", "events", "denominator"])
    return pd.concat(parts, ignore_index=True)


def old_count_cells(rows: pd.DataFrame, part: str) -> pd.DataFrame:
    """``_count_cells`` as it was (pivot_table, then stack)."""
    names = sorted({s.start for s in STEPS} | {s.end for s in STEPS})
    if rows.empty:
        return pd.DataFrame(columns=_CELL_COLUMNS)
    wide = rows.pivot_table(index=["level", "grp"], columns="count_name", values=["n", "n_key"], aggfunc="sum")
    wide = wide.reindex(
        columns=pd.MultiIndex.from_product([["n", "n_key"], names], names=[None, "name"]), fill_value=0
    ).fillna(0)
    long = wide.stack("name", future_stack=True).reset_index()
    return long.assign(part=part, source=None, target=None)[_CELL_COLUMNS]


def old_links(routes: pd.DataFrame) -> pd.DataFrame:
    """``_links`` as it was (four frames, concatenated, then grouped)."""
    referred = "Referred"
    entry = routes["entry"].map(ENTRY_LABELS)
    furthest = routes["furthest"].map(FURTHEST_LABELS)
    outcome = routes["outcome"].map(OUTCOME_NODE_LABELS).fillna(contract.OUTCOMES["other"])
    heard = routes["heard"].astype(bool)
    before_outcome = furthest.where(~heard, HEARING_LABEL)
    n, key = routes["n"], routes.get("n_key", 0)
    parts = [
        pd.DataFrame({"grp": routes["grp"], "source": referred, "target": entry, "n": n, "n_key": key}),
        pd.DataFrame({"grp": routes["grp"], "source": entry, "target": furthest, "n": n, "n_key": key}),
        pd.DataFrame({"grp": routes["grp"], "source": furthest, "target": HEARING_LABEL, "n": n, "n_key": key})[heard],
        pd.DataFrame({"grp": routes["grp"], "source": before_outcome, "target": outcome, "n": n, "n_key": key}),
    ]
    links = pd.concat(parts, ignore_index=True)
    return links.groupby(["grp", "source", "target"], as_index=False, sort=False)[["n", "n_key"]].sum()


def old_pathway_cells(
    counts: pd.DataFrame,
    routes: pd.DataFrame,
    by_org: pd.DataFrame,
    drills: dict[str, pd.DataFrame],
    filtered_orgs: tuple[str, ...] = (),
    *,
    protected: bool = True,
) -> tuple[pd.DataFrame, list[np.ndarray], np.ndarray]:
    """``pathway_cells`` as it was: cells, wholes and totals, built row by row."""
    parts = [_with_all_cases(old_count_cells(counts, "count"), ["part", "level", "name", "source", "target"])]
    links = old_links(routes) if not routes.empty else pd.DataFrame(columns=["grp", "source", "target", "n", "n_key"])
    links = links.assign(part="link", level="all", name=links["source"] + " → " + links["target"])
    links = _with_all_cases(links[_CELL_COLUMNS], ["part", "level", "name", "source", "target"])
    parts.append(links)
    into = links.groupby(["grp", "target"], as_index=False)[["n", "n_key"]].sum()
    into = into[~into["target"].isin(list(NODE_COUNTS))]
    parts.append(into.assign(part="node", level="all", name=into["target"], source=None, target=None)[_CELL_COLUMNS])
    orgs = old_count_cells(by_org, "org")
    parts.append(orgs)
    country = orgs.groupby(["grp", "name"], as_index=False)[["n", "n_key"]].sum()
    parts.append(country.assign(part="country", level="all", source=None, target=None)[_CELL_COLUMNS])
    for dimension, rows in drills.items():
        parts.append(old_count_cells(rows, dimension))
    filled = [p for p in parts if not p.empty] or [pd.DataFrame(columns=_CELL_COLUMNS)]
    cells = pd.concat(filled, ignore_index=True)
    cells["n"] = cells["n"].astype(float)
    cells["n_key"] = np.mod(cells["n_key"].astype(float).fillna(0), contract.RECORD_KEYS)  # as ``cell_key``

    position = pd.Series(np.arange(len(cells)), index=cells.index)
    keep = np.zeros(len(cells), dtype=bool)
    wholes: list[np.ndarray] = []
    if not protected:
        return cells, wholes, keep
    everyone = (cells["grp"] == ALL_CASES).to_numpy()
    shared = cells[cells["part"].isin(["count", "link", "node"])]
    for _, idx in shared.groupby(["part", "name"]).groups.items():
        wholes.append(position[idx].to_numpy())
    keep |= everyone
    count_at = {
        (g, n): i
        for i, (p, g, n) in enumerate(zip(cells["part"], cells["grp"], cells["name"], strict=True))
        if p == "count"
    }
    node_at = {
        (g, n): i
        for i, (p, g, n) in enumerate(zip(cells["part"], cells["grp"], cells["name"], strict=True))
        if p == "node"
    }
    link_rows = cells[cells["part"] == "link"]
    for side in ("source", "target"):
        for (grp, node), idx in link_rows.groupby(["grp", side]).groups.items():
            total = count_at.get((grp, NODE_COUNTS[node])) if node in NODE_COUNTS else node_at.get((grp, node))
            if total is not None:
                wholes.append(np.append(position[idx].to_numpy(), total))
                keep[total] = True
    org_rows = cells[cells["part"] == "org"]
    country_at = {
        (g, n): i
        for i, (p, g, n) in enumerate(zip(cells["part"], cells["grp"], cells["name"], strict=True))
        if p == "country"
    }
    for (grp, name), idx in org_rows.groupby(["grp", "name"]).groups.items():
        total = country_at[(grp, name)]
        wholes.append(np.append(position[idx].to_numpy(), total))
        keep[total] = True
    for (grp, name), i in country_at.items():
        if (grp, name) in count_at and cells.at[i, "n"] == cells.at[count_at[(grp, name)], "n"]:
            wholes.append(np.array([i, count_at[(grp, name)]]))  # the same cases: one cell shown twice
    if filtered_orgs:
        chosen = org_rows[org_rows["level"].isin(filtered_orgs)]
        for (grp, name), idx in chosen.groupby(["grp", "name"]).groups.items():
            if (grp, name) in count_at:
                wholes.append(np.append(position[idx].to_numpy(), count_at[(grp, name)]))
    for dimension in drills:
        if dimension == "concern":  # a case with two concern types counts under each: no whole
            continue
        block = cells[cells["part"] == dimension]
        for (grp, name), idx in block.groupby(["grp", "name"]).groups.items():
            if (grp, name) in count_at:
                wholes.append(np.append(position[idx].to_numpy(), count_at[(grp, name)]))
    return cells, wholes, keep


# --- Fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def databases(sample_db: Path, small_db: Path) -> dict[str, Path]:
    return {"sample": sample_db, "small": small_db}


def some_org(path: Path) -> str:
    """The organisation with the most cases."""
    with duckdb.connect(str(path), read_only=True) as con:
        return str(
            con.execute("SELECT org_code FROM cases GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1").fetchone()[0]
        )


def equal_frames(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True)


# --- The queries ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["sample", "small"])
@pytest.mark.parametrize(
    ("split", "filters"),
    [
        ("ethnic_group", Filters()),
        ("pmq_region", Filters(regions=("London",))),
        ("gender", Filters(professions=("doctor",), fy_from=2020)),
    ],
    ids=["ethnic_group", "pmq_region-london", "gender-doctors"],
)
def test_the_queries_give_what_they_gave_before(databases, which, split, filters):
    path = databases[which]
    with duckdb.connect(str(path), read_only=True) as con:
        for name, extras in (
            ("pathways_by_group", [{"breakdown": b} for b in ("none", "org", "org_type", "region", "concern")]),
            ("pathway_flows_by_group", [{}]),
        ):
            before = (BEFORE / f"{name}.sql").read_text(encoding="utf-8")
            now = get_query(name)
            for extra in extras:
                params = {"split": split, "followup_months": 12, **extra}
                params.update(filters.params(now.params))
                old = con.execute(before, params).df()
                new = con.execute(now.sql, params).df()
                assert len(old) or which == "small", (name, extra)
                equal_frames(new, old)


# --- Counting and cells ----------------------------------------------------------------------------------------


def hand_made_rows() -> pd.DataFrame:
    """Rows as pathways_by_group gives them, and worse: a hidden count (NaN), a count given twice, a level with
    only some counts, a count name no step uses, a missing level."""
    rows = [
        ("b", "G2", "cases", 40, 300),
        ("b", "G2", "formal", 12, 77),
        ("b", "G2", "formal_first", np.nan, 0),
        ("a", "G1", "cases", 30, 10),
        ("a", "G1", "cases", 5, 3),
        ("a", "G1", "informal", 9, 250),
        ("a", "G2", "closed", 20, 40),
        ("a", "G2", "dismissed", 3, 5),
        ("a", "G2", "something_else", 8, 1),
        (None, "G1", "cases", 4, 4),
        ("c", "G1", "sanctioned", np.nan, 9),
        ("c", "G1", "sanctioned", np.nan, 9),
    ]
    return pd.DataFrame(rows, columns=["level", "grp", "count_name", "n", "n_key"])


def query_rows(path: Path, breakdown: str, split: str = "ethnic_group") -> pd.DataFrame:
    with QueryRunner(path) as runner:
        return run_split_query(runner, "pathways_by_group", Filters(), split, breakdown=breakdown, followup_months=12)


@pytest.mark.parametrize("steps", [STEPS, (STEP_BY_KEY["formal_first"],), (STEP_BY_KEY["sanctioned"],), ()])
def test_step_counts_as_before_on_hand_made_rows(steps):
    rows = hand_made_rows()
    equal_frames(step_counts(rows, steps), old_step_counts(rows, steps))
    equal_frames(step_counts(rows.iloc[:0], steps), old_step_counts(rows.iloc[:0], steps))
    # A hidden count as the View passes it (a protected cell with NaN) stays hidden; an absent one is zero.
    counts = step_counts(rows, STEPS)
    hidden = counts[(counts["level"] == "b") & (counts["step"] == "formal_first")]
    assert math.isnan(hidden["events"].iloc[0]) and hidden["denominator"].iloc[0] == 40


@pytest.mark.parametrize("breakdown", ["none", "org", "concern"])
def test_step_counts_and_cells_as_before_on_the_sample(sample_db, breakdown):
    rows = query_rows(sample_db, breakdown)
    for steps in (STEPS, (STEP_BY_KEY["escalated"],)):
        equal_frames(step_counts(rows, steps), old_step_counts(rows, steps))
    # The old cells kept the query's integer type where no count was missing; their one user makes them floats.
    numbers = {"n": float, "n_key": float}
    equal_frames(pathways._count_cells(rows, "org"), old_count_cells(rows, "org").astype(numbers))


@pytest.mark.parametrize("split", ["ethnic_group", "pmq_region", "ethnicity_pmq"])
def test_links_as_before_on_the_sample(sample_db, split):
    with QueryRunner(sample_db) as runner:
        routes = run_split_query(runner, "pathway_flows_by_group", Filters(), split, followup_months=12)
    numbers = {"n": float, "n_key": float}
    equal_frames(pathways._links(routes), old_links(routes).astype(numbers))
    no_keys = routes.drop(columns="n_key")
    equal_frames(pathways._links(no_keys), old_links(no_keys).astype(numbers))


def test_cells_as_before_on_hand_made_rows():
    rows = hand_made_rows().dropna(subset=["n"])
    numbers = {"n": float, "n_key": float}
    equal_frames(pathways._count_cells(rows, "count"), old_count_cells(rows, "count").astype(numbers))


def cell_inputs(path: Path, split: str, drill: str | None, orgs: tuple[str, ...]):
    with QueryRunner(path) as runner:
        filters = Filters(orgs=orgs)
        by_org = run_split_query(runner, "pathways_by_group", Filters(), split, breakdown="org", followup_months=12)
        counts = run_split_query(runner, "pathways_by_group", filters, split, breakdown="none", followup_months=12)
        routes = run_split_query(runner, "pathway_flows_by_group", filters, split, followup_months=12)
        drills = {}
        if drill is not None:
            reference = contract.SPLITS[split].default_reference
            for dimension in ("org_type", "region", "concern"):
                rows = run_split_query(
                    runner, "pathways_by_group", filters, split, breakdown=dimension, followup_months=12
                )
                drills[dimension] = rows[rows["grp"].isin([drill, reference])]
    return counts, routes, by_org, drills


@pytest.mark.parametrize("which", ["sample", "small"])
@pytest.mark.parametrize(
    ("split", "drill", "one_org"),
    [("ethnic_group", None, False), ("pmq_region", IMG, False), ("ethnic_group", contract.BLACK, True)],
    ids=["national", "drill", "drill-one-organisation"],
)
@pytest.mark.parametrize("protected", [True, False], ids=["protected", "full"])
def test_pathway_cells_as_before(databases, which, split, drill, one_org, protected):
    path = databases[which]
    orgs = (some_org(path),) if one_org else ()
    counts, routes, by_org, drills = cell_inputs(path, split, drill, orgs)
    cells, wholes, keep = pathways.pathway_cells(counts, routes, by_org, drills, orgs, protected=protected)
    old_cells, old_wholes, old_keep = old_pathway_cells(counts, routes, by_org, drills, orgs, protected=protected)
    equal_frames(cells, old_cells)
    # The same wholes in the same order, each listing the same cells in the same order: secondary suppression
    # walks them in order, so any other order could hide other cells.
    assert len(wholes) == len(old_wholes)
    for new, old in zip(wholes, old_wholes, strict=True):
        np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(keep, old_keep)
    assert (len(wholes) > 0) == protected


# --- Whole Views -----------------------------------------------------------------------------------------------

VIEWS = [
    ("sample", "ethnic_group", {}),
    ("sample", "pmq_region", {"drill": IMG}),
    ("sample", "ethnic_group", {"drill": contract.BLACK, "step": "excluded", "funnel_step": "heard"}),
    ("sample", "uk_graduate", {"filters": Filters(regions=("London",))}),
    ("sample", "ethnic_group", {"filters": "one organisation"}),
    ("sample", "ethnic_group", {"scope_org": "first organisation"}),
    ("sample", "ethnicity_pmq", {"funnel_step": "escalated"}),
    ("small", "ethnic_group", {}),
    ("small", "pmq_region", {"drill": IMG}),
]


def old_functions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pathways, "step_counts", old_step_counts)
    monkeypatch.setattr(pathways, "_count_cells", old_count_cells)
    monkeypatch.setattr(pathways, "pathway_cells", old_pathway_cells)
    monkeypatch.setattr(pathways, "_links", old_links)


@pytest.mark.parametrize(
    ("which", "split", "options"), VIEWS, ids=[f"{w}-{s}-{i}" for i, (w, s, _) in enumerate(VIEWS)]
)
@pytest.mark.parametrize("viewer", [PROTECTED, FULL], ids=["protected", "full"])
def test_the_view_shows_what_it_showed_before(databases, monkeypatch, which, split, options, viewer):
    path = databases[which]
    options = dict(options)
    filters = options.pop("filters", Filters())
    if filters == "one organisation":
        filters = Filters(orgs=(some_org(path),))
    if options.get("scope_org") == "first organisation":
        options["scope_org"] = some_org(path)
    with QueryRunner(path) as runner:
        new = pathways_view(runner, filters, split, viewer=viewer, **options)
        with monkeypatch.context() as patch:
            old_functions(patch)
            old = pathways_view(runner, filters, split, viewer=viewer, **options)
    for field in dataclasses.fields(new):
        mine, theirs = getattr(new, field.name), getattr(old, field.name)
        if isinstance(mine, pd.DataFrame):
            equal_frames(mine, theirs)
        elif isinstance(mine, float) and math.isnan(mine):
            assert math.isnan(theirs), field.name
        else:
            assert mine == theirs, field.name
    assert len(new.transitions) and len(new.flows)


def test_pathway_cells_as_before_when_parts_are_empty(sample_db):
    counts, routes, by_org, drills = cell_inputs(sample_db, "pmq_region", IMG, ())
    drills["region"] = drills["region"].iloc[:0]
    for args in (
        (counts, routes.iloc[:0], by_org, drills, ("no such organisation",)),
        (counts, routes, by_org.iloc[:0], {}, ()),
        (counts.iloc[:0], routes, by_org, drills, (str(by_org["level"].iloc[0]),)),
    ):
        cells, wholes, keep = pathways.pathway_cells(*args)
        old_cells, old_wholes, old_keep = old_pathway_cells(*args)
        equal_frames(cells, old_cells)
        assert len(wholes) == len(old_wholes)
        for new, old in zip(wholes, old_wholes, strict=True):
            np.testing.assert_array_equal(new, old)
        np.testing.assert_array_equal(keep, old_keep)
