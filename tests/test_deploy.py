"""The container image definition keeps its promises (it cannot be built here: no registry for base
images); the deployment guide names the commands that exist."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTAINERFILE = (ROOT / "Containerfile").read_text(encoding="utf-8")


def instructions() -> list[str]:
    text = CONTAINERFILE.replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_runs_as_a_user_that_is_not_root():
    users = [line.split()[1] for line in instructions() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert f"useradd --system --gid {users[-1]}" in CONTAINERFILE


def test_health_check_on_streamlit_health_and_chromium_from_debian():
    health = [line for line in instructions() if line.startswith("HEALTHCHECK")]
    assert len(health) == 1 and "/_stcore/health" in health[0]
    assert "apt-get install" in CONTAINERFILE and " chromium " in CONTAINERFILE


def test_starts_through_parity_serve_and_bakes_in_no_secret():
    cmd = [line for line in instructions() if line.startswith("CMD")]
    assert cmd and '"parity.serve"' in cmd[-1]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {"roles.csv", ".streamlit/secrets.toml", "data", "*.duckdb"} <= set(ignored)
    copied = [line for line in instructions() if line.startswith("COPY")]
    assert not [line for line in copied if "secrets" in line or "roles" in line]


def test_the_guide_names_what_exists():
    guide = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for phrase in ("sticky sessions", "/_stcore/health", "cookie_secret", "python -m parity parquet",
                   "python -m parity audit", "PARITY_AUDIT_PATH", "read-only"):  # fmt: skip
        assert phrase in guide, phrase
