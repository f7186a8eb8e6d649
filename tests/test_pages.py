"""Overview and Data pages in Streamlit's AppTest: defaults, filters, URL links, empty results."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from parity.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app(sample_db: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_DB_PATH", str(sample_db))
    monkeypatch.delenv("PARITY_VIEWER_ORG", raising=False)
    get_settings.cache_clear()
    yield lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    get_settings.cache_clear()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [t.value for t in at.title] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def test_overview_defaults(app):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert len(at.metric) == 2
    assert "Ethnic minority (excluding White minorities)" in texts(at)
    assert "BAME" not in texts(at)


def test_overview_with_filters_in_session(app):
    at = app().run()
    at.session_state["profession"] = ["doctor"]
    at.session_state["by"] = "pmq_region"
    at.run()
    assert not at.exception
    assert "Doctors" in texts(at)
    assert at.selectbox(key="ref").value == "UK graduate"


def test_overview_from_url_with_invalid_values(app):
    at = app()
    at.query_params["profession"] = ["Dentists", "Nurses"]
    at.query_params["by"] = "Place of primary qualification"
    at.query_params["region"] = "Atlantis"
    at.run()
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


def test_overview_empty_result(app, sample_db: Path):
    code, name = _org_without_cases(sample_db, "sexual_misconduct")
    at = app()
    at.query_params["concern"] = "Sexual misconduct"
    at.query_params["org"] = f"{name} ({code})"
    at.query_params["from"] = "2024/25"
    at.run()
    assert not at.exception
    assert "No cases match these filters" in texts(at)


def test_no_database_gives_a_plain_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_DB_PATH", str(tmp_path / "missing.duckdb"))
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    get_settings.cache_clear()
    assert not at.exception
    assert "No database yet" in at.warning[0].value
    assert "python -m parity ingest" in at.warning[0].value


def test_data_page(app):
    at = app().run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    body = texts(at)
    assert "What is loaded" in body and "Methods" in body
    assert "Every row of the last export loaded" in [s.value for s in at.success][0]


def test_overview_below_national_level_hides_small_counts(app):
    at = app()
    at.query_params["region"] = "Wales"
    at.query_params["by"] = "Detailed ethnic category"
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "*" in set(table["Referrals"])
    assert "Below national level" in texts(at)
