"""The sign-in gate and the audit trail in AppTest: local mode, half-configured sign-in, the sign-in
page before anyone signs in, and page views written once per view. (Signing in through a real
provider is in tests/test_browser_signin.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from apptest import ROOT, open_tables, texts
from streamlit.testing.v1 import AppTest

from parity.audit import AuditLog
from parity.settings import get_settings

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a long random secret for this test only",
    "client_id": "parity",
    "client_secret": "secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


def app(**secrets: dict[str, str]) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in secrets.items():
        at.secrets[key] = value
    return at


def log() -> AuditLog:
    return AuditLog(get_settings().audit_path)


def test_local_mode_has_a_banner_and_records_the_session(sample_app):
    at = app().run()
    assert not at.exception
    banner = [i.value for i in at.info if "Local mode" in i.value]
    assert banner and "serving this computer only (127.0.0.1), as one local user" in banner[0]
    sidebar = "\n".join(m.value for m in at.sidebar.markdown) + "\n".join(c.value for c in at.sidebar.caption)
    assert "local user" in sidebar and "Local user · all organisations" in sidebar
    assert "sign_out" not in [b.key for b in at.sidebar.button]  # nobody to sign out
    entries = log().read()
    assert [e["event"] for e in entries][-2:] == ["sign-in", "page-view"]
    assert entries[-2]["user"] == "local user" and entries[-2]["detail"] == "local mode, no sign-in configured"
    assert entries[-1]["page"] == "overview" and entries[-1]["filters"]["split"] == "ethnic_group"


def test_a_page_view_is_written_once_per_view(sample_app):
    at = app().run()
    before = len(log().read())
    at.run()  # a rerun that changes nothing
    assert len(log().read()) == before
    at.multiselect(key="profession").set_value(["doctor"]).run()
    entries = log().read()
    assert len(entries) == before + 1
    assert entries[-1]["event"] == "page-view" and entries[-1]["filters"]["professions"] == ["doctor"]
    at.switch_page("pages/concern_rates.py").run()
    assert log().read()[-1]["page"] == "concern-rates"
    assert log().verify().ok


def test_the_audit_page_is_not_offered_to_a_protected_local_user(sample_app):
    at = app().run()
    labels = [p.proto.label for p in at.get("page_link")]
    assert "Overview" in labels and "Audit log" not in labels


def test_half_configured_sign_in_shows_a_plain_page_and_no_data(sample_app):
    at = app(auth={**AUTH, "cookie_secret": ""}).run()
    assert not at.exception
    assert at.title[0].value == "Sign-in is not set up correctly"
    assert "cookie_secret is missing" in texts(at)
    assert not at.sidebar.multiselect and not at.get("plotly_chart")


def test_before_signing_in_only_the_sign_in_page(sample_app, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    roles = tmp_path / "roles.csv"
    roles.write_text("who,role,org\nana@example.org,analyst,\n", encoding="utf-8")
    monkeypatch.setenv("PARITY_ROLES_PATH", str(roles))
    get_settings.cache_clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.secrets["auth"] = AUTH
    at.query_params["org"] = "R1A"
    at.run()
    assert not at.exception
    assert at.title[0].value == "Parity"
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.sidebar.multiselect and not at.get("plotly_chart") and not open_tables(at).dataframe
