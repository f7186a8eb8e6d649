"""Disclosure attacks on the count of cases without workforce rows (issue 9, after issue 13).

The rate pages count only covered cases (their organisation has workforce rows for the year); Outcomes, Durations,
Pathways and the Data page count every case; every rate page and the Data page say how many cases the rates leave
out, by year and in total. For the same filters a protected viewer so sees all cases, covered cases and the cases
left out: a total and its parts. The routes tried here, as an outsider with the protected numbers only:

- all − covered, each group's (Outcomes' cases against the rate table's), beside the cases left out;
- all − left out, on the Data page (every case by year) against the covered counts and the years left out;
- the years left out against their period total, and against the same year chosen as a single-year filter;
- the counts left out under filter settings that partition the cases (each profession, region, organisation
  type) against the unfiltered count, year by year;
- the same cell reached by two routes (covered and all cases where nothing is uncovered; a year of the period and
  that year alone).

Until this stop the count left out was a third cell protected on its own, and all − covered beside it, hidden as
1 to 7, pinned it where the noise of the other two fell at its extremes (``PLANTED``). It is now the difference
of the protected counts of every case and of the covered ones (``measures.Coverage``), and the attacker is given
both counts, by year and in total: more than any page shows.

The outsider does more than subtract: knowing the published rule (the perturbation table's reach of ±2, rounding
to 5, 1 to 7 hidden), each shown number bounds its exact count, and every sum the pages imply ties the bounds
together. ``Attacker`` finds the smallest and largest exact count consistent with all of it (integer programming,
scipy's ``milp``): where they meet, the count is recovered exactly.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Hashable, Iterable
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp

from parity import contract
from parity.contract import FILES
from parity.db import QueryRunner
from parity.disclosure import Rule, protect
from parity.filters import Filters
from parity.measures import Coverage, outcomes_view, overview_view, protect_counts, uncovered_cases
from parity.viewer import FULL, PROTECTED
from tools.testdata import ATTACK_ORGS, attack_export_rows, write_csv

RULE = Rule()
ROOT = Path(__file__).resolve().parent.parent
UNBOUNDED = 10**6
WHITE = contract.WHITE


# --- The attacker ------------------------------------------------------------------------------


@cache
def _shows(n: int) -> frozenset[float]:
    """Every value the rule can show for an exact count ``n``, whatever its cell key."""
    return frozenset(protect(np.full(contract.RECORD_KEYS, float(n)), np.arange(contract.RECORD_KEYS), RULE).tolist())


@cache
def feasible(value: float) -> tuple[int, int]:
    """The exact counts a shown value can come from, by the published rule: ``*`` is any count from 1 (a second
    hidden cell can be of any size), 0 is 0, and a shown count is every count whose perturbation and rounding can
    give it (a run of counts)."""
    if np.isnan(value):
        return 1, UNBOUNDED
    if value == 0:
        return 0, 0
    counts = [n for n in range(1, int(value) + 3 * RULE.round_to) if value in _shows(n)]
    assert counts == list(range(counts[0], counts[-1] + 1)), (value, counts)
    return counts[0], counts[-1]


class Attacker:
    """Shown numbers as bounds on sums of exact cells; ``recovered`` finds each number's exact count if it is the
    only one they allow."""

    def __init__(self) -> None:
        self._cells: dict[Hashable, int] = {}
        self._rows: list[tuple[list[int], int, int, str, float]] = []

    def shown(
        self, cells: Iterable[Hashable], value: float, exact: float, label: str, said: tuple[int, int] | None = None
    ) -> None:
        """A number shown as ``value``, the sum of ``cells``' exact counts (``exact``, known to the test only).
        ``said``: the bounds a page states for it instead (the uncovered count's "between 1 and 7")."""
        low, high = said or feasible(value)
        self._rows.append(([self._cells.setdefault(c, len(self._cells)) for c in cells], low, high, label, exact))

    def recovered(self) -> list[tuple[str, float]]:
        """The numbers (label, exact count) whose count the bounds pin to one value; zeros, shown as 0 by the rule,
        are not counted."""
        matrix = np.zeros((len(self._rows), len(self._cells)))
        for i, (cells, *_) in enumerate(self._rows):
            matrix[i, cells] = 1
        constraints = LinearConstraint(matrix, [r[1] for r in self._rows], [r[2] for r in self._rows])
        out = []
        for i, (_, _, _, label, exact) in enumerate(self._rows):
            if exact == 0:
                continue
            least, most = (
                milp(
                    sign * matrix[i],
                    constraints=constraints,
                    integrality=np.ones(len(self._cells)),
                    bounds=Bounds(0, UNBOUNDED),
                )
                for sign in (1, -1)
            )
            assert least.status == 0 and most.status == 0, label  # the true counts always fit
            low, high = round(least.fun), round(-most.fun)
            assert low <= exact <= high, (label, low, exact, high)
            if low == high:
                out.append((label, exact))
        return out


def test_the_attacker_recovers_what_the_bounds_pin():
    # Covered 14 shown as 10 (8 to 14), all 21 shown as 25 (21 to 29), the difference hidden (1 to 7): only 7 fits.
    attacker = Attacker()
    attacker.shown([("C",)], 10.0, 14, "covered")
    attacker.shown([("C",), ("U",)], 25.0, 21, "all")
    attacker.shown([("U",)], np.nan, 7, "uncovered", said=(1, RULE.suppress_max))
    assert attacker.recovered() == [("covered", 14), ("all", 21), ("uncovered", 7)]
    # One count less on either side and nothing is pinned.
    attacker = Attacker()
    attacker.shown([("C",)], 10.0, 13, "covered")
    attacker.shown([("C",), ("U",)], 20.0, 20, "all")
    attacker.shown([("U",)], np.nan, 7, "uncovered", said=(1, RULE.suppress_max))
    assert attacker.recovered() == []


def cells_by(parts: Iterable[Hashable]) -> tuple[Callable[[int], list], Callable[[int], list]]:
    """A year's covered and uncovered cells, one of each for each of ``parts`` (groups, or filter settings)."""
    parts = list(parts)
    return (lambda y: [("C", p, y) for p in parts]), (lambda y: [("U", p, y) for p in parts])


def show_coverage(
    attacker: Attacker,
    runner: QueryRunner,
    filters: Filters,
    years: Iterable[int],
    covered: Callable[[int], list],
    uncovered: Callable[[int], list],
    label: str,
) -> Coverage:
    """What the cases left out under ``filters`` are worked from, given to the attacker whole: the protected counts
    of every case and of the covered ones, by year (a year missing from the counts has no case) and in total.
    ``covered`` and ``uncovered``: a year's cells of each kind. Returns the protected ``Coverage``."""
    shown, truth = uncovered_cases(runner, filters, PROTECTED, RULE), uncovered_cases(runner, filters, FULL, RULE)
    years = list(years)
    exact = truth.counts.set_index(truth.counts["fy_start"].map(lambda y: None if y is None else int(y)))
    for (year, every, count), (_, every_exact, count_exact) in zip(
        shown.counts[["fy_start", "cases", "covered"]].itertuples(index=False),
        exact[["fy_start", "cases", "covered"]].itertuples(index=False),
        strict=True,
    ):
        within = years if year is None else [int(year)]
        cells_covered = [c for y in within for c in covered(y)]
        cells_uncovered = [c for y in within for c in uncovered(y)]
        attacker.shown(cells_covered + cells_uncovered, every, every_exact, f"{label} every case {year}")
        attacker.shown(cells_covered, count, count_exact, f"{label} covered {year}")
    for year in set(years) - set(exact.index.dropna()):
        attacker.shown(covered(year) + uncovered(year), 0.0, 0, f"{label} every case {year}")
    return shown


def attack_all_covered_uncovered(runner: QueryRunner, filters: Filters, years: list[int], split: str = "ethnic_group"):
    """For one filter setting: each group's covered cases (Overview's rate table), all its cases (Outcomes, every
    case), and what the cases left out are worked from, by year and in total (every rate page, the Data page).
    Cells: covered and uncovered cases of a group in a year (never shown on their own)."""
    attacker = Attacker()
    shown = overview_view(runner, filters, split, viewer=PROTECTED, icons=False).summary.set_index("group")["cases"]
    exact = overview_view(runner, filters, split, viewer=FULL, icons=False, adjust_for=()).summary
    exact = exact.set_index("group")["cases"]
    for group, value in shown.items():
        attacker.shown([("C", group, y) for y in years], value, exact[group], f"covered {group}")
    shown = outcomes_view(runner, filters, split, viewer=PROTECTED, tests=False).groups.set_index("group")["cases"]
    exact = outcomes_view(runner, filters, split, viewer=FULL, tests=False).groups.set_index("group")["cases"]
    for group, value in shown.items():
        cells = [(k, group, y) for y in years for k in ("C", "U")]
        attacker.shown(cells, value, exact[group], f"all {group}")
    groups = list(exact.index)
    show_coverage(attacker, runner, filters, years, *cells_by(groups), "coverage")
    return attacker


# --- A hand-made export: a hidden uncovered count beside covered and all cases ------------------

_KEYS = duckdb.connect()


def record_key(case_id: str) -> int:
    """A case's record key, as ingest draws it (``parity.ingest.checks``)."""
    return _KEYS.execute(f"SELECT (md5_number('parity:' || ?) % {contract.RECORD_KEYS})::INT", [case_id]).fetchone()[0]


def ids_keyed(prefix: str, n: int, low: int, high: int, base: int = 0) -> list[str]:
    """``n`` case ids whose record keys, with ``base``, sum (modulo 256) to a cell key from ``low`` to ``high``."""
    ids = [f"{prefix}{i:03d}" for i in range(n - 1)]
    start = base + sum(record_key(i) for i in ids)
    for j in range(10_000):
        last = f"{prefix}K{j:04d}"
        if low <= (start + record_key(last)) % contract.RECORD_KEYS <= high:
            return [*ids, last]
    raise AssertionError("no id found")


# In 2023/24: 14 White cases at organisations with workforce rows, 7 at R1D, which has workforce rows for 2022/23
# only. Their case ids are chosen so that both White cells draw the perturbation table's extreme noise (keys 0 to
# 15: −2; 240 to 255: +2): a 1 in 256 draw for a pair of cells, which a country's many filter settings will meet.
PLANTED = {"covered": 14, "uncovered": 7, "covered_key": (0, 15), "all_key": (240, 255)}
# The same with the uncovered count shown: 8 shows as 10 (8 to 14); covered 16 draws +2 and shows 20, all 24 draws −2
# and shows 20 (16 to 24 each), so all − covered is at most 8.
PLANTED_SHOWN = {"covered": 16, "uncovered": 8, "covered_key": (240, 255), "all_key": (0, 15)}


def write_coverage_export(folder: Path, planted: dict = PLANTED) -> None:
    """The attack export (``tools.testdata``) with its White 2023/24 cases replaced by ``planted``'s."""
    rows = attack_export_rows()
    white = [c for c in rows["cases"] if c[9] == "A" and c[3].startswith("2023")]
    gone = {c[0] for c in white}
    cases = [c for c in rows["cases"] if c[0] not in gone]
    events = [e for e in rows["case_events"] if e[0] not in gone]
    covered = ids_keyed("WC", planted["covered"], *planted["covered_key"])
    covered_key = sum(record_key(i) for i in covered)
    low, high = planted["all_key"]
    uncovered = ids_keyed("WU", planted["uncovered"], low, high, base=covered_key)
    placed = [(c, ATTACK_ORGS[k % 3][0]) for k, c in enumerate(covered)] + [(c, "R1D") for c in uncovered]
    for i, (case_id, org) in enumerate(placed):
        like = white[i % len(white)]
        cases.append((case_id, f"QW{i:03d}", org, *like[3:]))
        events.append((case_id, "formal_investigation", like[3], ""))
    organisations = [*ATTACK_ORGS, ("R1D", "Dunmere NHS Trust", "acute_trust", "North West")]
    workforce = rows["workforce"] + [
        ("2022/23", "R1D", *w[2:]) for w in rows["workforce"] if w[0] == "2022/23" and w[1] == "R1C"
    ]
    tables = {"organisations": organisations, "workforce": workforce, "cases": cases, "case_events": events}
    for table, data in tables.items():
        write_csv(folder / f"{table}.csv", list(FILES[table].column_names), data)


@pytest.fixture(scope="module", params=["hidden", "shown"])
def planted(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    from parity.ingest import ingest

    folder = tmp_path_factory.mktemp("coverage_export")
    counts = PLANTED if request.param == "hidden" else PLANTED_SHOWN
    write_coverage_export(folder, counts)
    path = folder / "coverage.duckdb"
    assert ingest(folder, path).status == 0
    with QueryRunner(path) as opened:
        yield opened, counts


SINGLE_YEAR = Filters(fy_from=2023, fy_to=2023)


def test_the_planted_export_has_the_counts_it_promises(planted):
    runner, counts = planted
    coverage = uncovered_cases(runner, SINGLE_YEAR, FULL, RULE)
    assert coverage.total == counts["uncovered"]
    covered = overview_view(runner, SINGLE_YEAR, "ethnic_group", viewer=FULL, icons=False, adjust_for=())
    assert covered.summary.set_index("group").loc[WHITE, "cases"] == counts["covered"]
    every = outcomes_view(runner, SINGLE_YEAR, "ethnic_group", viewer=FULL, tests=False).groups.set_index("group")
    assert every.loc[WHITE, "cases"] == counts["covered"] + counts["uncovered"]
    shown = uncovered_cases(runner, SINGLE_YEAR, PROTECTED, RULE)  # the difference of two protected totals
    every, covered = shown.counts["cases"].iloc[-1], shown.counts["covered"].iloc[-1]
    assert shown.total == max(every - covered, 0) and abs(shown.total - counts["uncovered"]) <= shown.error


# The planted route (issue 9): the covered, all-cases and left-out counts were three cells perturbed and rounded each
# on its own, so their bounds could meet. In 2023/24 White covered 14 shows 10 (8 to 14), all 21 shows 25 (21 to
# 29), and the 7 left out were hidden (1 to 7): 21 − 14 ≥ 7 pinned all three. The count left out is now the
# difference of the other two once protected, and gives nothing the attacker did not have.
@pytest.mark.parametrize("filters", [Filters(), Filters(orgs=("R1D",))], ids=["all", "R1D"])
def test_all_less_covered_beside_the_uncovered_count_gives_nothing_back(planted, filters):
    attacker = attack_all_covered_uncovered(planted[0], filters, [2022, 2023])
    assert attacker.recovered() == []


def test_all_less_covered_beside_the_uncovered_count_in_one_year(planted):
    """Hidden (7) or shown (8 as 10), the count left out beside all − covered drawn at their extremes: the count
    left out is their difference once protected, so it pins nothing (the planted case was open until this stop)."""
    attacker = attack_all_covered_uncovered(planted[0], SINGLE_YEAR, [2022, 2023])
    assert attacker.recovered() == []


def test_the_planted_route_pins_a_count_protected_on_its_own(planted):
    """The route as it stood: the count left out protected as a cell of its own (hidden as 1 to 7, or shown),
    beside all − covered. The attacker pins it on the hidden plant: why it is now a difference."""
    runner, counts = planted
    attacker = attack_all_covered_uncovered(runner, SINGLE_YEAR, [2022, 2023])
    own = protect([float(counts["uncovered"])], [0.0], RULE)[0]  # 7 hidden; 8 shows as 10 whatever its key
    said = (1, RULE.suppress_max) if np.isnan(own) else None
    groups = outcomes_view(runner, SINGLE_YEAR, "ethnic_group", viewer=FULL, tests=False).groups["group"]
    cells = [("U", g, y) for g in groups for y in (2022, 2023)]
    attacker.shown(cells, own, counts["uncovered"], "left out, on its own", said=said)
    pinned = dict(attacker.recovered())
    if counts is PLANTED:
        assert pinned.get("left out, on its own") == counts["uncovered"]


# --- The sample with organisation-years taken out of the workforce ------------------------------

# Organisation-years whose workforce rows are taken out of the sample: 1 to 18 cases each, so that the uncovered
# count is small, and hidden, under some filters and shown under others.
DROPPED = (
    ("Q1S", "2023/24"),
    ("R2B", "2024/25"),
    ("R2H", "2016/17"),
    ("R2Q", "2015/16"),
    ("R2Q", "2017/18"),
    ("R2R", "2017/18"),
    ("R2X", "2019/20"),
    ("R3B", "2015/16"),
    ("R3C", "2024/25"),
    ("R3H", "2021/22"),
    ("R3W", "2024/25"),
    ("R4D", "2023/24"),
)
YEARS = list(range(2015, 2025))


@pytest.fixture(scope="module")
def gappy(tmp_path_factory: pytest.TempPathFactory):
    from parity.ingest import ingest

    folder = tmp_path_factory.mktemp("gappy_coverage_export")
    for name in ("cases", "case_events", "organisations"):
        shutil.copy(ROOT / "sample_data" / f"{name}.csv.gz", folder / f"{name}.csv.gz")
    workforce = pd.read_csv(ROOT / "sample_data" / "workforce.csv.gz", dtype=str, keep_default_na=False)
    gone = pd.Series(False, index=workforce.index)
    for org, year in DROPPED:
        gone |= (workforce["org_code"] == org) & (workforce["financial_year"] == year)
    workforce[~gone].to_csv(folder / "workforce.csv.gz", index=False)
    path = folder / "gappy.duckdb"
    assert ingest(folder, path).status == 0
    with QueryRunner(path) as opened:
        yield opened


# Filters under which the uncovered count is small or large, and some of the counts it is worked from hidden
# (checked in the first test).
SLICES = {
    "all": Filters(),
    "south_east": Filters(regions=("South East",)),
    "north_west": Filters(regions=("North West",)),
    "dentist": Filters(professions=("dentist",)),
    "pharmacist": Filters(professions=("pharmacist",)),
    "health": Filters(concerns=("health",)),
    "mental_health": Filters(org_types=("mental_health_trust",)),
    "late_years": Filters(fy_from=2023, fy_to=2024),
    "r2b": Filters(orgs=("R2B",)),  # one organisation: years of 1 to 7 cases, hidden
    "r2r": Filters(orgs=("R2R",)),
}


def test_the_slices_have_hidden_and_shown_uncovered_counts(gappy):
    totals = {name: uncovered_cases(gappy, f, FULL, RULE).total for name, f in SLICES.items()}
    assert any(0 < t <= RULE.suppress_max for t in totals.values())
    assert any(RULE.suppress_max < t < 20 for t in totals.values())
    shown = [uncovered_cases(gappy, f, PROTECTED, RULE) for f in SLICES.values()]
    # Some of the counts the cases left out are worked from are hidden (a small year), and some differ.
    assert any(c.counts["suppressed"].any() for c in shown) and any(c.total > 0 for c in shown)


def _single_year(filters: Filters, year: int) -> Filters:
    low, high = filters.fy_from or YEARS[0], filters.fy_to or YEARS[-1]
    return Filters(**{**filters.__dict__, "fy_from": max(year, low), "fy_to": min(year, high)})


@pytest.mark.parametrize("name", list(SLICES))
def test_uncovered_years_against_their_total_and_each_year_alone(gappy, name):
    """The years of the cases left out beside their total, and each year again as a single-year filter (the same
    cells by another route): no year comes back, and a count shown both ways shows the same number."""
    filters = SLICES[name]
    attacker = Attacker()
    years = [y for y in YEARS if (filters.fy_from or 0) <= y <= (filters.fy_to or 9999)]
    by_year, uncovered = cells_by(["all"])
    period = show_coverage(attacker, gappy, filters, years, by_year, uncovered, "period")
    in_period = period.counts.dropna(subset=["fy_start"]).set_index("fy_start")
    for year in years:
        alone = show_coverage(attacker, gappy, _single_year(filters, year), [year], by_year, uncovered, f"{year}")
        if year in in_period.index:
            for column in ("cases", "covered"):
                both = in_period.loc[year, column], alone.counts[column].iloc[-1]
                if not np.isnan(both[0]) and not np.isnan(both[1]):
                    assert both[0] == both[1], (year, column)  # two routes to one cell agree
    assert attacker.recovered() == []


@pytest.mark.parametrize("name", ["south_east", "north_west", "dentist", "health"])
def test_all_less_covered_beside_the_uncovered_count_on_the_sample(gappy, name):
    years = [y for y in YEARS if (SLICES[name].fy_from or 0) <= y <= (SLICES[name].fy_to or 9999)]
    assert attack_all_covered_uncovered(gappy, SLICES[name], years).recovered() == []


def test_all_less_uncovered_on_the_data_page(gappy):
    """The Data page's cases by year (every case) and in total, beside the covered cases of each group by year
    (Concern rates' trend) and in total (Overview), every case of each group (Outcomes) and the uncovered years."""
    from parity.disclosure import round_count
    from parity.measures import concern_rates_view

    attacker = Attacker()
    split = "ethnic_group"
    rows = gappy.run("financial_years")
    years_shown = protect_counts(rows, ["cases", "headcount"], viewer=PROTECTED, rule=RULE)
    groups = list(contract.SPLITS[split].groups)
    for year, value, exact in zip(rows["fy_start"], years_shown["cases"], rows["cases"], strict=True):
        cells = [(k, g, int(year)) for g in groups for k in ("C", "U")]
        attacker.shown(cells, value, exact, f"data page {year}")
    every = int(gappy.run("table_rows").set_index("table_name")["rows"]["cases"])
    metric = round_count(every, RULE)  # the Data page's "Cases": rounded, with no cell key
    every_cell = [(k, g, y) for g in groups for y in YEARS for k in ("C", "U")]
    attacker.shown(every_cell, metric, every, "data page cases", said=(int(metric) - 2, int(metric) + 2))
    trend = concern_rates_view(gappy, Filters(), split, viewer=PROTECTED).trend
    trend_exact = concern_rates_view(gappy, Filters(), split, viewer=FULL, adjust_for=()).trend
    assert not trend.duplicated(["group", "fy_start"]).any()
    for row, exact in zip(trend.itertuples(index=False), trend_exact["cases"], strict=True):
        attacker.shown([("C", row.group, int(row.fy_start))], row.cases, exact, f"covered {row.group} {row.fy_start}")
    summary = overview_view(gappy, Filters(), split, viewer=PROTECTED, icons=False).summary.set_index("group")
    summary_exact = overview_view(gappy, Filters(), split, viewer=FULL, icons=False, adjust_for=()).summary
    for group, exact in summary_exact.set_index("group")["cases"].items():
        attacker.shown([("C", group, y) for y in YEARS], summary.loc[group, "cases"], exact, f"covered {group}")
    outcomes = outcomes_view(gappy, Filters(), split, viewer=PROTECTED, tests=False).groups.set_index("group")
    outcomes_exact = outcomes_view(gappy, Filters(), split, viewer=FULL, tests=False).groups.set_index("group")
    for group, exact in outcomes_exact["cases"].items():
        cells = [(k, group, y) for y in YEARS for k in ("C", "U")]
        attacker.shown(cells, outcomes.loc[group, "cases"], exact, f"all {group}")
    show_coverage(attacker, gappy, Filters(), YEARS, *cells_by(groups), "coverage")
    assert attacker.recovered() == []


@pytest.mark.parametrize("name", ["all", "pharmacist", "single_year"])
def test_covered_and_all_cases_are_one_cell_where_nothing_is_uncovered(sample_db, name):
    """On the sample every case is covered: a group's covered cases (rates) and all its cases (Outcomes) are the
    same cell, shown the same wherever both are shown; and nothing is said to be left out."""
    filters = {
        "all": Filters(),
        "pharmacist": Filters(professions=("pharmacist",)),
        "single_year": Filters(fy_from=2019, fy_to=2019, professions=("dentist",)),
    }[name]
    with QueryRunner(sample_db) as runner:
        covered = overview_view(runner, filters, "ethnic_group", viewer=PROTECTED, icons=False).summary
        every = outcomes_view(runner, filters, "ethnic_group", viewer=PROTECTED, tests=False).groups
        coverage = uncovered_cases(runner, filters, PROTECTED, RULE)
    assert coverage.total == 0 and coverage.by_year.empty
    both = covered.set_index("group")["cases"].to_frame("covered").join(every.set_index("group")["cases"])
    both = both.dropna()
    assert not both.empty
    assert (both["covered"] == both["cases"]).all(), both


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("professions", ("doctor", "dentist", "pharmacist")),
        ("regions", tuple(contract.REGIONS)),
        ("org_types", tuple(contract.ORG_TYPES)),
    ],
)
def test_uncovered_counts_of_filter_settings_that_partition_the_cases(gappy, field, values):
    """Every case has one profession, one region and one organisation type: the counts under each such filter add
    up to the unfiltered ones, year by year, though no page shows them together. No filter setting's count left
    out (or year of it) comes back from the others."""
    attacker = Attacker()
    show_coverage(attacker, gappy, Filters(), YEARS, *cells_by(values), "all")
    for v in values:
        show_coverage(attacker, gappy, Filters(**{field: (v,)}), YEARS, *cells_by([v]), v)
    assert attacker.recovered() == []
