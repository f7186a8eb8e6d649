"""Issue 13: cases whose organisation and year have no workforce rows are counted on the Data page, left out of
every rate, and said to be left out on the rate pages, never silently; their count follows the disclosure rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from apptest import open_page, plain_tables, texts

from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures import concern_rates_view, overview_view, uncovered_cases
from parity.viewer import FULL, PROTECTED

ROOT = Path(__file__).resolve().parent.parent
# Two organisation-years whose workforce rows are taken out of the sample: 49 cases in one, 1 in the other.
DROPPED = (("R1C", "2022/23"), ("R4M", "2021/22"))


@pytest.fixture(scope="module")
def gappy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parity.ingest import ingest

    folder = tmp_path_factory.mktemp("gappy_export")
    for name in ("cases", "case_events", "organisations"):
        shutil.copy(ROOT / "sample_data" / f"{name}.csv.gz", folder / f"{name}.csv.gz")
    workforce = pd.read_csv(ROOT / "sample_data" / "workforce.csv.gz", dtype=str, keep_default_na=False)
    gone = pd.Series(False, index=workforce.index)
    for org, year in DROPPED:
        gone |= (workforce["org_code"] == org) & (workforce["financial_year"] == year)
    assert gone.any()
    workforce[~gone].to_csv(folder / "workforce.csv.gz", index=False)
    path = tmp_path_factory.mktemp("gappy_db") / "gappy.duckdb"
    assert ingest(folder, path).status == 0
    return path


@pytest.fixture(scope="module")
def gappy(gappy_db: Path):
    with QueryRunner(gappy_db) as opened:
        yield opened


def _uncovered_exact(path: Path) -> dict[int, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(
            con.execute(
                "SELECT fy_start, count(*) FROM cases AS c WHERE NOT EXISTS (SELECT 1 FROM workforce AS w "
                "WHERE w.org_code = c.org_code AND w.fy_start = c.fy_start) GROUP BY 1"
            ).fetchall()
        )


def test_rates_leave_out_cases_without_workforce_rows(gappy: QueryRunner, gappy_db: Path):
    exact = _uncovered_exact(gappy_db)
    assert exact == {2021: 1, 2022: 49}
    with duckdb.connect(str(gappy_db), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM cases").fetchone()[0]
    view = concern_rates_view(gappy, Filters(), "ethnic_group", None, viewer=FULL)
    # Before issue 13 the numerator counted them against no practitioners: rates were too high.
    assert view.summary["cases"].sum() == total - 50
    assert view.coverage is not None and view.coverage.total == 50
    assert dict(zip(view.coverage.by_year["fy_start"], view.coverage.by_year["cases"], strict=True)) == exact
    assert "coverage_by_year" in view.queries
    overview = overview_view(gappy, Filters(), "ethnic_group", viewer=FULL)
    assert overview.summary["cases"].sum() == total - 50 and overview.coverage.total == 50
    # Filters narrow the count like any other: in 2021/22 alone, one case.
    one_year = uncovered_cases(gappy, Filters(fy_from=2021, fy_to=2021), FULL, Rule())
    assert one_year.total == 1


def test_the_count_follows_the_disclosure_rule(gappy: QueryRunner):
    """At the protected level the cases left out are never counted on their own (a third, small cell beside every
    case and the covered ones could be pinned by their bounds, issue 9): they are the protected count of every case
    less the protected count of the covered ones, by year and in total."""
    from parity.disclosure import protect

    rule = Rule()
    coverage = uncovered_cases(gappy, Filters(), PROTECTED, rule)
    exact = uncovered_cases(gappy, Filters(), FULL, rule)
    assert coverage.derived and not exact.derived and exact.error == 0
    # Each protected count rounded to 5, the total row last; the difference is off by at most the two counts' reach.
    shown, counts = coverage.counts, exact.counts
    assert shown["fy_start"].iloc[-1] is None and len(shown) == len(counts)
    assert (shown[["cases", "covered"]] % 5 == 0).all().all()
    assert coverage.total == shown["cases"].iloc[-1] - shown["covered"].iloc[-1]
    assert abs(coverage.total - exact.total) <= coverage.error == 8
    # The counts are the same cells as anywhere else: every case of a year is that year's protected count, keyed
    # by its records (the query's cell keys), as the Data page's years show it.
    from parity.db import get_query

    rows = gappy.run("coverage_by_year", Filters().params(get_query("coverage_by_year").params))
    assert shown["cases"].iloc[:-1].tolist() == protect(rows["cases"], rows["cases_key"], rule).tolist()
    # A year is listed where its protected counts differ: 2022/23 (49 left out); 2021/22 (1 left out of 1,106)
    # has counts that agree, and is not.
    assert coverage.by_year["financial_year"].tolist() == ["2022/23"]
    year = shown.set_index("fy_start").loc[2022]
    assert coverage.by_year["cases"].iloc[0] == year["cases"] - year["covered"]
    alone = uncovered_cases(gappy, Filters(fy_from=2021, fy_to=2021), PROTECTED, rule)
    assert alone.total == 0 and alone.by_year.empty
    # Where every case is left out and there are few, the count of every case is hidden: so is the difference.
    few = uncovered_cases(gappy, Filters(fy_from=2021, fy_to=2021, orgs=("R4M",)), PROTECTED, rule)
    assert few.counts["covered"].iloc[-1] == 0 and np.isnan(few.counts["cases"].iloc[-1]) and np.isnan(few.total)
    assert few.by_year["suppressed"].all()


@pytest.fixture
def app(gappy_db: Path, monkeypatch: pytest.MonkeyPatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_DB_PATH", str(gappy_db))
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(gappy_db.parent / "audit.jsonl"))
    monkeypatch.delenv("PARITY_VIEWER_ORG", raising=False)
    get_settings.cache_clear()
    yield open_page
    get_settings.cache_clear()


def test_data_page_counts_them_by_year(app, gappy: QueryRunner):
    at = app("pages/data.py")
    assert not at.exception
    assert "Cases without workforce figures" in [s.value for s in at.subheader]
    table = next(t for t in plain_tables(at) if "Cases left out of rates" in t.columns)
    # Protected: the years whose protected counts differ, each the difference (issue 9).
    coverage = uncovered_cases(gappy, Filters(), PROTECTED, Rule())
    assert list(table["Financial year"]) == ["2022/23"]
    assert list(table["Cases left out of rates"]) == [f"{int(coverage.by_year['cases'].iloc[0]):,}"]
    assert "matching these filters are left out of every rate**" in texts(at)
    assert "it can be off by up to 8 either way" in texts(at)
    assert "The Data page lists them" not in texts(at)


def test_rate_pages_say_how_many_cases_they_leave_out(app):
    for page in ("pages/concern_rates.py", "pages/overview.py", "pages/trends.py", "pages/organisation.py"):
        at = app(page)
        assert not at.exception
        assert "left out of every rate here" in texts(at), page
        assert "**About " in texts(at), page
    # One case of 1,106 left out in 2021/22: the protected counts agree, so the pages say nothing of it, and the
    # Data page says what that means at this level.
    at = app("pages/concern_rates.py", **{"from": "2021/22", "to": "2021/22"})
    assert "left out of every rate" not in texts(at)
    at = app("pages/data.py", **{"from": "2021/22", "to": "2021/22"})
    assert any("every case counts in the rates, or all but a few" in s.value for s in at.success)


def test_the_words_for_each_kind_of_number():
    from parity import wording

    assert wording.coverage_note(0, 8) is None
    exact = wording.coverage_note(1, 0)
    assert (
        exact.startswith("**1 case matching these filters is left out of every rate here**") and "off by" not in exact
    )
    about = wording.coverage_note(45, 8, data_page=True)
    assert about.startswith("**About 45 cases matching these filters are left out of every rate**")
    assert "off by up to 8 either way" in about and about.endswith("By financial year:")
    hidden = wording.coverage_note(np.nan, 8)
    assert hidden.startswith("**A few of the cases matching these filters may be left out of every rate here**")
    assert "1 and 7" not in hidden  # a difference of protected counts has no such bounds
    assert "every case counts in the rates." in wording.coverage_complete(0)
    assert "up to 8 cases" in wording.coverage_complete(8)


def test_sample_pages_say_nothing_when_every_case_has_workforce(sample_app):
    at = open_page("pages/concern_rates.py")
    assert "left out of every rate" not in texts(at)
    at = open_page("pages/data.py")
    assert any("every case counts in the rates" in s.value for s in at.success)
