"""The benchmark runs end to end on tiny data (a smoke test: speed is never asserted in tests)."""

from tools.bench import main


def test_bench_runs_and_reports_every_measure(capsys):
    assert main(["--scales", "1", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    for line in ("ingest (wall)", "summary --by ethnicity_pmq", "page overview", "page concern-rates",
                 "page outcomes", "page durations", "page organisation", "page organisation profile",
                 "organisation profile, 1,500 orgs", "query process peak memory"):
        assert line in out
