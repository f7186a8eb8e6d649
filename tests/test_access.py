"""The roles file and the sign-in configuration: what each person may see, and plain messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.access import (
    Grant,
    RolesFileError,
    auth_problems,
    grant_for,
    read_auth_section,
    read_roles,
)

GOOD = """# Parity roles: who,role,org
who,role,org
Ana.Lyst@Example.NHS.uk,analyst,
director@example.nhs.uk,national,
hr@trust.example,employer,RJ1
248289761001,employer,RX3
"""


def roles(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roles.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_good_file(tmp_path: Path):
    grants = read_roles(roles(tmp_path, GOOD))
    assert grant_for(grants, "ana.lyst@example.nhs.uk", "x") == Grant("Ana.Lyst@Example.NHS.uk", "analyst", None, 3)
    assert grant_for(grants, "HR@trust.example", None).org == "RJ1"
    assert grant_for(grants, None, "248289761001").org == "RX3"  # by subject, exactly
    assert grant_for(grants, "nobody@example.org", "123") is None
    assert [g.level for g in grants.values()] == ["full", "protected", "protected", "protected"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("who,role,org\nx@y.z,director,\n", "line 2: role 'director' is not one of analyst, national, employer"),
        ("who,role,org\nx@y.z,employer,\n", "line 2: an employer needs the code of their organisation in org"),
        ("who,role,org\nx@y.z,analyst,RJ1\n", "line 2: the analyst role sees every organisation; leave org empty"),
        ("who,role,org\nx@y.z,analyst,\nX@Y.Z,national,\n", "line 3: X@Y.Z is already on line 2"),
        ("who,role,org\n,analyst,\n", "line 2: who is empty"),
        ("who,role,org\nx@y.z,analyst,,extra\n", "line 2 has 4 values; give who,role,org"),
        ("email,role\nx@y.z,analyst\n", "must start with the header who,role,org (found email,role)"),
        ("", "must start with the header who,role,org (found nothing)"),
    ],
)
def test_broken_files_say_what_to_fix(tmp_path: Path, text: str, message: str):
    with pytest.raises(RolesFileError) as error:
        read_roles(roles(tmp_path, text))
    assert message in str(error.value)
    assert str(tmp_path / "roles.csv") in str(error.value)


def test_missing_and_unreadable_files(tmp_path: Path):
    with pytest.raises(RolesFileError, match="does not exist. Create it with the header who,role,org"):
        read_roles(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(b"who,role,org\n\xff\xfe,analyst,\n")
    with pytest.raises(RolesFileError, match="is not UTF-8 text"):
        read_roles(tmp_path / "bin.csv")


def test_auth_section_problems():
    complete = {k: "x" for k in ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")}
    assert auth_problems(None) == [] and auth_problems(complete) == []
    missing = auth_problems({**complete, "cookie_secret": "", "client_secret": None})
    assert missing == [
        "Sign-in is configured ([auth] in .streamlit/secrets.toml) but cookie_secret, client_secret are missing. "
        "Add them (see README: Sign-in and roles), or remove [auth] to run on this computer only."
    ]


def test_auth_section_from_secrets_files(tmp_path: Path):
    home, project = tmp_path / "home.toml", tmp_path / "project.toml"
    home.write_text('[auth]\nclient_id = "home"\ncookie_secret = "s"\n')
    project.write_text('[auth]\nclient_id = "project"\n')
    assert read_auth_section([home, project, tmp_path / "missing.toml"]) == {
        "client_id": "project",
        "cookie_secret": "s",
    }
    assert read_auth_section([tmp_path / "missing.toml"]) is None
    project.write_text("[auth\n")
    with pytest.raises(ValueError, match="is not valid TOML"):
        read_auth_section([project])
