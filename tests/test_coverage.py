"""Issue 13: cases whose organisation and year have no workforce rows are counted on the Data page, left out of
every rate, and said to be left out on the rate pages, never silently; their count follows the disclosure rule."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from apptest import open_page, texts

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
    assert "uncovered_cases_by_year" in view.queries
    overview = overview_view(gappy, Filters(), "ethnic_group", viewer=FULL)
    assert overview.summary["cases"].sum() == total - 50 and overview.coverage.total == 50
    # Filters narrow the count like any other: in 2021/22 alone, one case.
    one_year = uncovered_cases(gappy, Filters(fy_from=2021, fy_to=2021), FULL, Rule())
    assert one_year.total == 1


def test_the_count_follows_the_disclosure_rule(gappy: QueryRunner):
    coverage = uncovered_cases(gappy, Filters(), PROTECTED, Rule())
    # The total is rounded to 5; the year with 1 case is hidden, and with it the other year (else total − shown
    # year = the hidden one).
    assert coverage.total % 5 == 0 and 40 <= coverage.total <= 60
    assert coverage.by_year["cases"].isna().all() and coverage.by_year["suppressed"].all()
    alone = uncovered_cases(gappy, Filters(fy_from=2021, fy_to=2021), PROTECTED, Rule())
    assert pd.isna(alone.total)


@pytest.fixture
def app(gappy_db: Path, monkeypatch: pytest.MonkeyPatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_DB_PATH", str(gappy_db))
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(gappy_db.parent / "audit.jsonl"))
    monkeypatch.delenv("PARITY_VIEWER_ORG", raising=False)
    get_settings.cache_clear()
    yield open_page
    get_settings.cache_clear()


def test_data_page_counts_them_by_year(app):
    at = app("pages/data.py")
    assert not at.exception
    assert "Cases without workforce figures" in [s.value for s in at.subheader]
    table = next(d.value for d in at.dataframe if "Cases left out of rates" in d.value.columns)
    assert list(table["Financial year"]) == ["2021/22", "2022/23"]
    assert set(table["Cases left out of rates"]) == {"*"}  # protected: 1 hidden, and the other with it
    assert "matching these filters are left out of every rate**" in texts(at)
    assert "The Data page lists them" not in texts(at)


def test_rate_pages_say_how_many_cases_they_leave_out(app):
    for page in ("pages/concern_rates.py", "pages/overview.py", "pages/trends.py", "pages/organisation.py"):
        at = app(page)
        assert not at.exception
        assert "left out of every rate here" in texts(at), page
    at = app("pages/concern_rates.py", **{"from": "2021/22", "to": "2021/22"})
    assert "Between 1 and 7 cases (the exact number is hidden)" in texts(at)


def test_sample_pages_say_nothing_when_every_case_has_workforce(sample_app):
    at = open_page("pages/concern_rates.py")
    assert "left out of every rate" not in texts(at)
    at = open_page("pages/data.py")
    assert any("every case counts in the rates" in s.value for s in at.success)
