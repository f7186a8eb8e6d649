"""Sign-in in real headless Chromium, against a local OpenID provider the test starts
(``oidc-provider-mock``), with Streamlit's own OIDC: sign in, roles, no access, sign out, an
expired sign-in and a broken roles file, each with its audit entry."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import OUTPUT, chromium_page, free_port, require_browser, streamlit_server, wait_idle

from parity.audit import AuditLog

pytestmark = pytest.mark.browser

PEOPLE = {
    "ana": "ana.lyst@example.org",  # analyst
    "hr": "hr.lead@trust.example",  # employer of R1C
    "dir": "director@example.org",  # national
    "stranger": "stranger@example.org",  # signs in, but is not in the roles file
}
ROLES = "who,role,org\nana.lyst@example.org,analyst,\nHR.Lead@trust.example,employer,R1C\ndir,national,\n"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    """oidc-provider-mock on a free localhost port, with the people above as predefined users."""
    require_browser()
    port = free_port()
    claims = [json.dumps({"sub": sub, "email": email, "name": sub.title()}) for sub, email in PEOPLE.items()]
    args = [a for c in claims for a in ("--user-claims", c)]
    log = OUTPUT / f"oidc-{port}.log"
    OUTPUT.mkdir(exist_ok=True)
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/.well-known/openid-configuration", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the OpenID provider did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _secrets(folder: Path, provider: str, port: int) -> Path:
    path = folder / "secrets.toml"
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "a long random secret used by this test only"\n'
        'client_id = "parity"\n'
        'client_secret = "parity-test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def signed_app(provider: str, sample_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The real app with sign-in configured; yields its address and its folder (roles.csv, audit.jsonl)."""
    folder = tmp_path_factory.mktemp("signin")
    (folder / "roles.csv").write_text(ROLES, encoding="utf-8")
    port = free_port()
    env = {"PARITY_ROLES_PATH": str(folder / "roles.csv"), "PARITY_AUDIT_PATH": str(folder / "audit.jsonl")}
    args = ["--secrets.files", str(_secrets(folder, provider, port))]
    with streamlit_server(sample_db, env, args=args, port=port) as base:
        yield base, folder


def sign_in(page, base: str, sub: str) -> None:  # noqa: ANN001 - a Playwright page
    page.goto(base + "/")
    wait_idle(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=30_000)
    page.locator(f"button[name=sub][value={sub}]").click()  # the provider's "predefined user" button
    page.wait_for_url(base + "/**", timeout=30_000)
    page.wait_for_selector("h1", timeout=60_000)
    wait_idle(page)


def sidebar_text(page) -> str:  # noqa: ANN001
    bar = page.locator("section[data-testid='stSidebar']")
    return bar.inner_text() if bar.count() else ""


def events(folder: Path, user: str) -> list[str]:
    return [e["event"] for e in AuditLog(folder / "audit.jsonl").read() if e["user"] == user]


def test_not_signed_in_sees_only_the_sign_in_page(signed_app):
    base, _ = signed_app
    with chromium_page() as page:
        page.goto(base + "/concern-rates?org=R1A")
        wait_idle(page)
        page.screenshot(path=str(OUTPUT / "signin-page.png"))
        assert page.get_by_role("button", name="Sign in").is_visible()
        assert "Filters" not in sidebar_text(page)
        assert "Referral" not in page.inner_text("[data-testid='stMain']")


def test_analyst_signs_in_sees_who_and_the_audit_page_then_signs_out(signed_app):
    base, folder = signed_app
    with chromium_page() as page:
        sign_in(page, base, "ana")
        page.screenshot(path=str(OUTPUT / "signin-analyst.png"))
        bar = sidebar_text(page)
        assert "ana.lyst@example.org" in bar and "Analyst · all organisations" in bar
        assert "Audit log" in bar and "Sign out" in bar
        page.goto(base + "/audit")
        wait_idle(page)
        page.wait_for_selector("h1:has-text('Audit log')")
        page.screenshot(path=str(OUTPUT / "signin-audit-page.png"))
        assert "The audit log is intact" in page.inner_text("[data-testid='stMain']")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/oauth2/end_session**", timeout=30_000)  # the provider's own sign-out
        page.get_by_role("button", name="End session").click()
        page.wait_for_url(base + "/**", timeout=30_000)
        wait_idle(page)
        assert page.get_by_role("button", name="Sign in").is_visible()
    assert events(folder, PEOPLE["ana"])[:2] == ["sign-in", "page-view"]
    assert "sign-out" in events(folder, PEOPLE["ana"])
    # Opening /audit by its address was a new browser session of the same sign-in, not another sign-in.
    assert events(folder, PEOPLE["ana"]).count("sign-in") == 1 and "session" in events(folder, PEOPLE["ana"])
    assert AuditLog(folder / "audit.jsonl").verify().ok


def test_employer_is_scoped_to_its_organisation(signed_app):
    base, folder = signed_app
    with chromium_page() as page:
        sign_in(page, base, "hr")
        page.screenshot(path=str(OUTPUT / "signin-employer.png"))
        bar = sidebar_text(page)
        assert "Employer · " in bar and "(R1C)" in bar and "protected numbers" in bar
        assert "Audit log" not in bar
        page.goto(base + "/audit")  # not among the employer's pages: the router falls back to the Overview
        wait_idle(page)
        assert "Audit log" not in page.inner_text("[data-testid='stMain']")
        page.goto(base + "/organisation?org=Northmoor+Hospitals+NHS+Trust+%28R1A%29")  # another organisation
        wait_idle(page, charts=1)
        page.screenshot(path=str(OUTPUT / "signin-employer-organisation.png"))
        main = page.inner_text("[data-testid='stMain']")
        for note in page.locator("[data-testid='stMain'] [data-testid='stAlert']").all_inner_texts():
            main = main.replace(note, "")  # "Ignored from the link: org=..." echoes the link, and only that
        assert "Northmoor Hospitals NHS Trust" not in main
        assert "Juniperhurst and Brackenmoor Hospitals NHS Foundation Trust" in main  # R1C, its own
    entries = [e for e in AuditLog(folder / "audit.jsonl").read() if e["user"] == PEOPLE["hr"]]
    assert entries[0]["event"] == "sign-in" and entries[0]["role"] == "employer" and entries[0]["scope"] == "R1C"


def test_a_person_not_in_the_roles_file_sees_no_access_and_no_data(signed_app):
    base, folder = signed_app
    with chromium_page() as page:
        sign_in(page, base, "stranger")
        page.screenshot(path=str(OUTPUT / "signin-no-access.png"))
        main = page.inner_text("[data-testid='stMain']")
        assert "No access" in main and "stranger@example.org" in main
        assert "Filters" not in sidebar_text(page) and "Referral" not in main
    assert events(folder, PEOPLE["stranger"]) and set(events(folder, PEOPLE["stranger"])) == {"refusal"}


def test_a_broken_roles_file_says_what_to_fix(signed_app):
    base, folder = signed_app
    roles = folder / "roles.csv"
    roles.write_text(ROLES + "someone@example.org,director,\n", encoding="utf-8")
    try:
        with chromium_page() as page:
            sign_in(page, base, "dir")
            page.screenshot(path=str(OUTPUT / "signin-broken-roles.png"))
            main = page.inner_text("[data-testid='stMain']")
            assert "Parity cannot check who may see it" in main
            assert "line 5: role 'director' is not one of analyst, national, employer" in main
            assert "Filters" not in sidebar_text(page)
    finally:
        roles.write_text(ROLES, encoding="utf-8")


def test_an_expired_sign_in_asks_to_sign_in_again(provider: str, sample_db: Path, tmp_path: Path):
    (tmp_path / "roles.csv").write_text(ROLES, encoding="utf-8")
    port = free_port()
    env = {
        "PARITY_ROLES_PATH": str(tmp_path / "roles.csv"),
        "PARITY_AUDIT_PATH": str(tmp_path / "audit.jsonl"),
        "PARITY_SESSION_HOURS": "0.000001",  # any sign-in is older than this by the time the app reads it
    }
    secrets = ["--secrets.files", str(_secrets(tmp_path, provider, port))]
    with streamlit_server(sample_db, env, args=secrets, port=port) as base, chromium_page() as page:
        sign_in(page, base, "ana")
        page.screenshot(path=str(OUTPUT / "signin-expired.png"))
        main = page.inner_text("[data-testid='stMain']")
        assert "Your sign-in has expired" in main and "ana.lyst@example.org" in main
        assert page.get_by_role("button", name="Sign in again").is_visible()
        assert "Filters" not in sidebar_text(page)
    assert [e["event"] for e in AuditLog(tmp_path / "audit.jsonl").read()][:1] == ["expired"]
