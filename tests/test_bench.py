"""The benchmark runs end to end on tiny data (a smoke test: speed is never asserted in tests)."""

from pathlib import Path

import pytest
from browser import require_browser

from tools import bench, bench_browser
from tools.bench import main


def test_bench_runs_and_reports_every_measure(capsys):
    assert main(["--scales", "1", "--runs", "1", "--no-browser"]) == 0
    out = capsys.readouterr().out
    for line in (
        "ingest (wall)",
        "summary --by ethnicity_pmq",
        "page overview",
        "page concern-rates",
        "page outcomes",
        "page durations",
        "page organisation",
        "page trends",
        "meeting pack",
        "page pathways",
        "page organisation profile",
        "organisation profile, 1,500 orgs",
        "query process peak memory",
    ):
        assert line in out
    for page in ("overview", "concern-rates", "outcomes", "durations", "organisation", "data"):
        assert f"figures {page} (" in out and f"figures {page}: largest JSON" in out


def test_bench_times_the_profile_alone_on_a_built_database(sample_db: Path, capsys):
    assert main(["--profile", str(sample_db), "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "organisation profile (median ms)" in out
    for level in ("full", "protected"):
        assert f"{sample_db.name}, 150 orgs ({level})" in out


@pytest.mark.browser
def test_browser_bench_times_pages_beside_their_floor(sample_db: Path, tmp_path: Path):
    require_browser()
    results = bench_browser.run(sample_db, pages=["durations"], runs=1, starts=2, log_dir=tmp_path)
    assert list(results) == ["durations"]
    for result in results.values():
        page, floor, furnished = result.page, result.floor, result.furnished
        assert page.charts >= 3 and floor.charts == furnished.charts == page.charts  # the floors draw as many charts
        for timing in (page, floor):
            assert len(timing.cold_runs) == 2 and timing.cold_ms > 0  # a cold visit for each fresh start
            assert len(timing.warm_ms) == 1 and timing.warm > 0
            assert timing.cold_bytes > 0 and timing.received > 0
        assert not furnished.cold_runs and len(furnished.warm_ms) == 1 and furnished.warm > 0  # warm rounds only
    table = bench_browser.report(results).splitlines()
    assert table[3].startswith("durations")
    assert table[-1].startswith("durations") and "furnished floor" in table[-4]


def test_each_warm_round_starts_one_further_along(monkeypatch, tmp_path: Path):
    """No visit always follows the same one: the rounds go page, floor, furnished; floor, furnished, page; ...
    and each visit lands in its own timing, cold visits (page, then floor) apart."""
    import contextlib

    import playwright.sync_api

    visited: list[str] = []
    served = iter(["http://parity", "http://floor"] * 2)

    class Browser:
        def close(self) -> None:
            pass

    class Playwright:
        chromium = type("Chromium", (), {"launch": lambda self, **_: Browser()})()

    def fake_visit(browser, url: str, timeout_ms: float) -> tuple[float, int, int]:
        visited.append(url)
        return float(len(visited)), 100, 4

    monkeypatch.setattr(playwright.sync_api, "sync_playwright", lambda: contextlib.nullcontext(Playwright()))
    monkeypatch.setattr(bench_browser, "server", lambda *_: contextlib.nullcontext(next(served)))
    monkeypatch.setattr(bench_browser, "visit", fake_visit)
    result = bench_browser.run(Path("unused.duckdb"), pages=["durations"], runs=4, starts=2, log_dir=tmp_path)[
        "durations"
    ]
    page, floor, furnished = "http://parity/durations", "http://floor/?n=4", "http://floor/?n=4&furnished=1"
    assert visited == [
        page, floor,  # the first start's cold visits
        page, floor, furnished,
        floor, furnished, page,
        furnished, page, floor,
        page, floor, furnished,
        page, floor,  # the second start's cold visits
    ]  # fmt: skip
    assert result.page.cold_runs == [1.0, 15.0] and result.floor.cold_runs == [2.0, 16.0]
    assert result.page.warm_ms == [3.0, 8.0, 10.0, 12.0]
    assert result.floor.warm_ms == [4.0, 6.0, 11.0, 13.0]
    assert result.furnished.warm_ms == [5.0, 7.0, 9.0, 14.0] and not result.furnished.cold_runs


def test_the_furnished_floor_carries_the_controls_of_a_chart_page_and_the_floor_none():
    """What the furnished floor stands for: the controls every chart page carries, drawn by Streamlit alone."""
    from streamlit.testing.v1 import AppTest

    for furnished in (False, True):
        app = AppTest.from_file(str(bench_browser.ROOT / "tools" / "floor_app.py"))
        app.query_params["n"] = "3"
        if furnished:
            app.query_params["furnished"] = "1"
        app.run()
        assert not app.exception and len(app.get("plotly_chart")) == 3
        counts = (
            len(app.sidebar.selectbox),
            len(app.sidebar.multiselect),
            len(app.sidebar.button),
            len(app.sidebar.get("page_link")),
            len(app.main.selectbox),
            len(app.expander),
            len(app.get("download_button")),
        )
        # Sidebar: From, To, Compare by, Reference group; six filters; Reset; eight links. Main: the drill box,
        # then under each of the three charts its data table's expander and two downloads.
        assert counts == ((4, 6, 1, 8, 1, 3, 6) if furnished else (0, 0, 0, 0, 0, 0, 0))


def test_the_furnished_floor_has_the_sidebar_of_a_parity_page(sample_app):
    """The furnished floor stands for Parity's sidebar: as many select boxes, filters, buttons and page links as a
    page of the app draws there (the national view, as the bench serves it). Change the sidebar, change the floor."""
    from apptest import open_page
    from streamlit.testing.v1 import AppTest

    def sidebar(app: AppTest) -> tuple[int, ...]:
        bar = app.sidebar
        return len(bar.selectbox), len(bar.multiselect), len(bar.button), len(bar.get("page_link"))

    app = open_page()  # the router draws the sidebar, then its default page
    floor = AppTest.from_file(str(bench_browser.ROOT / "tools" / "floor_app.py"))
    floor.query_params["furnished"] = "1"
    floor.run()
    assert not app.exception and not floor.exception
    assert sidebar(app) == sidebar(floor) == (4, 6, 1, 8)
    # The drill box a chart page draws, as the floor does (AppTest runs a page it switches to without the router).
    page = open_page("pages/durations.py")
    assert [box.label for box in page.main.selectbox] == [box.label for box in floor.main.selectbox]


@pytest.mark.browser
def test_a_page_is_not_drawn_while_a_widget_is_a_placeholder():
    """The clock stops once the script is idle, every chart has drawn and no widget still awaits its code."""
    require_browser()
    from browser import chromium_page

    drawn = """
      <div data-testid="stApp" data-test-script-state="notRunning">
        <div data-testid="stPlotlyChart"><div class="js-plotly-plot"><svg class="main-svg"></svg></div></div>
        <div id="widget" data-testid="stSkeleton"></div>
      </div>"""
    with chromium_page() as page:
        page.set_content(drawn)
        assert page.evaluate(bench_browser._DRAWN) is False  # the select box is still a placeholder
        page.evaluate("document.getElementById('widget').dataset.testid = 'stSelectbox'")
        assert page.evaluate(bench_browser._DRAWN)["charts"] == 1
        page.evaluate("document.querySelector('.main-svg').remove()")
        assert page.evaluate(bench_browser._DRAWN) is False  # a chart not drawn yet
        page.set_content(drawn.replace("notRunning", "running").replace("stSkeleton", "stSelectbox"))
        assert page.evaluate(bench_browser._DRAWN) is False  # the script still running


# --- The ratio to the floor and its interval -----------------------------------------------------------------


def test_paired_ratio_is_the_median_of_the_pairs_with_the_order_statistics_interval():
    # Ten pairs whose ratios are 1.01, 1.02 ... 1.10 (the floor's times vary; each pair's ratio is what counts).
    floor = [1000.0, 2000.0, 1500.0, 1200.0, 1800.0, 900.0, 1100.0, 1300.0, 1700.0, 1600.0]
    ratios = [1.07, 1.01, 1.10, 1.04, 1.02, 1.09, 1.03, 1.06, 1.05, 1.08]
    ratio = bench_browser.paired_ratio([f * r for f, r in zip(floor, ratios, strict=True)], floor)
    assert ratio.median == pytest.approx(1.055) and ratio.pairs == 10
    # The textbook distribution-free 95% interval for a median of ten values: the 2nd and 9th smallest
    # (coverage 1 - 2 * 11/1024 = 97.9%).
    assert ratio.interval == pytest.approx((1.02, 1.09))
    assert ratio.shown() == "1.02–1.09"


def test_paired_ratio_has_no_interval_from_five_pairs_and_needs_pairs():
    # Five pairs cover the median with at most 1 - 2/32 = 93.75% between their extremes: no 95% interval.
    ratio = bench_browser.paired_ratio([1300.0, 1200.0, 1400.0, 1250.0, 1350.0], [1000.0] * 5)
    assert ratio.interval is None and ratio.median == pytest.approx(1.3) and ratio.shown() == "–"
    six = bench_browser.paired_ratio([1100.0, 1200.0, 1300.0, 1400.0, 1500.0, 1600.0], [1000.0] * 6)
    assert six.interval == pytest.approx((1.1, 1.6))  # six pairs: the extremes cover it with 96.9%
    with pytest.raises(ValueError, match="pair up"):
        bench_browser.paired_ratio([1.0, 2.0], [1.0])


@pytest.mark.parametrize(
    ("interval", "median", "verdict"),
    [
        ((1.20, 1.30), 1.25, "ok"),  # the whole interval within the goal, its top on it
        ((1.31, 1.50), 1.40, "OVER"),  # wholly above
        ((1.25, 1.35), 1.31, "unclear"),  # on either side, whatever the median says
        ((1.10, 1.32), 1.20, "unclear"),
        (None, 1.30, "ok"),  # no interval: the median decides
        (None, 1.31, "OVER"),
    ],
)
def test_a_ratio_is_judged_as_strongly_as_its_interval_allows(interval, median, verdict):
    assert bench_browser.Ratio(median, interval, 7).verdict(bench_browser.WARM_GOAL) == verdict


def test_the_page_verdict_is_over_if_any_goal_is_missed_and_ok_only_if_all_are_met():
    within, spans, above = (
        bench_browser.Ratio(m, i, 7) for m, i in [(1.1, (1.0, 1.2)), (1.3, (1.2, 1.4)), (1.6, (1.55, 1.7))]
    )
    assert bench_browser.verdict(within, within, 1e6) == "ok"
    assert bench_browser.verdict(within, within, 1.6e6) == "OVER"  # too many bytes
    assert bench_browser.verdict(above, within, 1e6) == "OVER"  # cold wholly above 1.5
    assert bench_browser.verdict(within, spans, 1e6) == "unclear"
    assert bench_browser.verdict(above, spans, 1e6) == "OVER"


@pytest.mark.parametrize(
    ("entry", "argv", "message"),
    [
        (bench_browser.main, ["unused.duckdb", "--runs", "0"], "argument --runs: 0 is too few: at least 1"),
        (bench_browser.main, ["unused.duckdb", "--starts", "-2"], "argument --starts: -2 is too few: at least 1"),
        (bench_browser.main, ["unused.duckdb", "--runs", "many"], "argument --runs: 'many' is not a whole number"),
        (bench.main, ["--browser-runs", "0"], "argument --browser-runs: 0 is too few: at least 1"),
        (bench.main, ["--browser-starts", "0"], "argument --browser-starts: 0 is too few: at least 1"),
    ],
)
def test_a_count_under_one_is_refused_before_anything_starts(entry, argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        entry(argv)
    assert stop.value.code == 2  # argparse's usage error: one line, no traceback, no server started
    assert message in capsys.readouterr().err
