"""Overview and Data pages in Streamlit's AppTest: defaults, filters, URL links, empty results."""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest import ROOT, chart_blocks, choose_tab, open_page, open_tables, tables, texts
from streamlit.testing.v1 import AppTest

from parity.settings import get_settings


def test_overview_defaults(sample_app):
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert len(at.metric) == 2
    assert "Ethnic minority (excluding White minorities)" in texts(at)
    assert "BAME" not in texts(at)


def test_overview_with_filters_in_session(sample_app):
    at = open_page()
    at.session_state["profession"] = ["doctor"]
    at.session_state["by"] = "pmq_region"
    at.run()
    assert not at.exception
    assert "Doctors" in texts(at)
    assert at.selectbox(key="ref").value == "UK graduate"


def test_overview_from_url_with_invalid_values(sample_app):
    at = open_page(profession=["Dentists", "Nurses"], by="Place of primary qualification", region="Atlantis")
    assert not at.exception
    body = texts(at)
    assert "Ignored from the link" in body and "profession=Nurses" in body and "region=Atlantis" in body
    assert at.multiselect(key="profession").value == ["dentist"]
    assert at.selectbox(key="by").value == "pmq_region"


def _org_without_cases(db: Path, concern: str) -> tuple[str, str]:
    """An organisation (code, name) with workforce but no case of the given concern type in 2024/25."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        code, name = con.execute(
            """SELECT o.org_code, o.org_name FROM organisations o
               WHERE o.org_code IN (SELECT org_code FROM workforce WHERE fy_start = 2024)
                 AND o.org_code NOT IN (SELECT org_code FROM cases
                                        WHERE fy_start = 2024 AND list_contains(concern_types, ?))
               ORDER BY o.org_code LIMIT 1""",
            [concern],
        ).fetchone()
    return code, name


def test_overview_empty_result(sample_app, sample_db: Path):
    code, name = _org_without_cases(sample_db, "sexual_misconduct")
    at = open_page(concern="Sexual misconduct", org=f"{name} ({code})", **{"from": "2024/25"})
    assert not at.exception
    assert "No cases match these filters" in texts(at)


def _app_on(db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app run once on the database file ``db`` (which may not exist)."""
    monkeypatch.setenv("PARITY_DB_PATH", str(db))
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    get_settings.cache_clear()
    return at


def test_no_database_gives_a_plain_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    at = _app_on(tmp_path / "missing.duckdb", monkeypatch)
    assert not at.exception
    assert "No database yet" in at.warning[0].value
    assert "python -m parity ingest" in at.warning[0].value


def test_a_database_of_an_older_parity_gives_a_plain_message(
    sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import shutil

    import duckdb

    old = tmp_path / "old.duckdb"
    shutil.copy(sample_db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(tmp_path / "audit.jsonl"))
    at = _app_on(old, monkeypatch)
    assert not at.exception
    assert "The database needs loading again" in at.warning[0].value
    assert "python -m parity ingest" in at.warning[0].value


def test_data_page(sample_app):
    at = open_page("pages/data.py")
    assert not at.exception
    body = texts(at)
    assert "What is loaded" in body and "Methods" in body
    assert "Every row of the last export loaded" in [s.value for s in at.success][0]


def test_a_charts_data_table_is_drawn_once_its_expander_is_opened(sample_app):
    at = open_page()
    assert not at.exception
    expanders = [e for e in at.get("expander") if e.label == "Data table"]
    assert expanders and not at.dataframe  # closed: the browser has no grid to load or draw
    open_tables(at)
    assert not at.exception
    assert len(at.dataframe) == len(expanders) and all(len(d.value) > 0 for d in at.dataframe)


def test_overview_below_national_level_hides_small_counts(sample_app):
    at = open_page(region="Wales", by="Detailed ethnic category")
    assert not at.exception
    table = open_tables(at).dataframe[0].value
    assert "*" in set(table["Referrals"])
    assert "Numbers are protected" in texts(at)


def test_data_page_with_filters_link_and_empty_years(sample_app, sample_db: Path):
    filtered = open_page("pages/data.py", profession="Dentists", region="London", grade="Nonsense")
    assert not filtered.exception
    assert "Ignored from the link" in texts(filtered) and "grade=Nonsense" in texts(filtered)
    quality = next(t for t in tables(filtered) if "Cases or headcount" in t.columns)
    assert all(v == "*" or int(v.replace(",", "")) % 5 == 0 for v in quality["Cases or headcount"])
    code, name = _org_without_cases(sample_db, "sexual_misconduct")
    empty = open_page("pages/data.py", org=f"{name} ({code})", concern="Sexual misconduct", **{"from": "2024/25"})
    assert not empty.exception


def test_overview_shows_the_adjusted_relative_likelihood_beside_the_crude(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")  # adjusted figures are fitted at the full level only
    get_settings.cache_clear()
    at = open_page()
    assert not at.exception
    body = texts(at)
    assert (
        "Among practitioners alike in place of qualification, profession, age band, gender, organisation type " in body
    )
    assert "against 1.75 without adjustment" in body
    assert at.multiselect(key="adjust").value == [
        "pmq_region", "ethnic_group", "profession", "age_band", "gender", "org_type", "region"
    ]  # fmt: skip
    shown = tables(at)[0]
    assert {"Adjusted RL", "Adjusted RL 95% CI", "Band", "Adjusted band"} <= set(shown.columns)


def test_overview_draws_the_open_adjustment_tab_only(sample_app, monkeypatch: pytest.MonkeyPatch):
    """Unadjusted and adjusted forest plots are tabs: the open one's chart alone is drawn, the other's on opening."""
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = open_page()
    assert not at.exception
    assert "overview_forest" in chart_blocks(at) and "overview_forest_adjusted" not in chart_blocks(at)
    tab = next(t.label for t in at.tabs if t.label.startswith("Adjusted for"))
    at = choose_tab(at, "overview_adjustment_tab", tab)
    assert not at.exception
    assert "overview_forest_adjusted" in chart_blocks(at) and "overview_forest" not in chart_blocks(at)
    assert "against 1.75 without adjustment" in texts(at)  # the sentence under both tabs stays


def test_overview_adjustment_set_comes_from_the_link(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = open_page(adjust=["profession", "age band"])
    assert not at.exception
    assert at.multiselect(key="adjust").value == ["profession", "age_band"]
    body = texts(at)
    assert "Among practitioners alike in profession and age band" in body
    assert "adjusting for profession and age band" in body
    none = open_page(adjust="")
    assert not none.exception


def test_overview_at_the_protected_level_has_no_adjusted_figures_and_says_why_once(sample_app):
    at = open_page(adjust=["profession"])  # the default level is protected; a link cannot ask for a fit
    assert not at.exception
    body = texts(at)
    assert "Numbers are protected" in body
    assert body.count("available to analysts at the full level only") == 1
    assert "perturbed and rounded" in body
    assert "Among practitioners alike in" not in body and "without adjustment" not in body
    assert not [m for m in at.multiselect if m.key == "adjust"]
    for shown in tables(at):
        assert not {"Adjusted RL", "Adjusted RL 95% CI", "Adjusted band"} & set(shown.columns)
    assert "Band" in tables(at)[0].columns


# --- Viewer levels (issue 9) ------------------------------------------------------------------


def _referrals(at: AppTest) -> list[str]:
    table = next(t for t in tables(at) if "Referrals" in t.columns)
    return [str(v) for v in table["Referrals"]]


def test_default_app_is_protected_and_no_link_can_change_it(sample_app):
    at = open_page(region="Wales", by="Detailed ethnic category", level="full", viewer_level="full")
    assert not at.exception
    assert "Numbers are protected" in texts(at)
    shown = [v for v in _referrals(at) if v != "*"]
    assert shown and all(int(v.replace(",", "")) % 5 == 0 for v in shown)


def test_full_level_shows_exact_counts(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = open_page(region="Wales", by="Detailed ethnic category")
    assert not at.exception
    assert "Numbers are protected" not in texts(at)
    counts = [int(v.replace(",", "")) for v in _referrals(at)]
    assert any(0 < c <= 7 for c in counts)  # nothing hidden for the national body's analysts


def test_an_unknown_viewer_level_stops_the_app(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "everything")
    get_settings.cache_clear()
    at = open_page()
    assert not at.exception
    assert "PARITY_VIEWER_LEVEL" in at.error[0].value and "never falls back" in at.error[0].value
    assert not open_tables(at).dataframe and not at.metric


def test_data_page_states_the_rule_with_the_thresholds_from_settings(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_SUPPRESS_MAX", "9")
    monkeypatch.setenv("PARITY_ROUND_TO", "10")
    get_settings.cache_clear()
    at = open_page("pages/data.py")
    assert not at.exception
    body = texts(at)
    assert "counts of 1 to 9 show as *" in body and "rounded to the nearest 10" in body
    assert "{suppress_max}" not in body and "1 to 7" not in body


def test_the_app_starts_loading_the_chart_code_before_the_page_runs(sample_app):
    """app.py asks the browser for Streamlit's Plotly code before the page's script runs (ui.preload_chart_code):
    one script, importing the one PlotlyChart file Streamlit ships, at the address Streamlit serves it from."""
    import streamlit as st

    from parity.ui.navigation import _chart_code_path

    path = _chart_code_path()
    assert path is not None and path.startswith("/static/js/PlotlyChart.") and path.endswith(".js")
    assert (Path(st.__file__).parent / "static" / path.lstrip("/")).is_file()
    at = open_page()
    scripts = [h.proto.body for h in at.get("html") if "PlotlyChart." in h.proto.body]
    assert scripts == [f'<script>import("{path}").catch(() => {{}});</script>']
