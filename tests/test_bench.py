"""The benchmark runs end to end on tiny data (a smoke test: speed is never asserted in tests)."""

from pathlib import Path

import pytest
from browser import require_browser

from tools import bench_browser
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
    for page, floor in results.values():
        assert page.charts >= 3 and floor.charts == page.charts  # the floor draws as many charts
        for timing in (page, floor):
            assert len(timing.cold_runs) == 2 and timing.cold_ms > 0  # a cold visit for each fresh start
            assert len(timing.warm_ms) == 1 and timing.warm > 0
            assert timing.cold_bytes > 0 and timing.received > 0
    table = bench_browser.report(results)
    assert table.splitlines()[3].startswith("durations")
