"""Who may see what: the roles mapping file and the sign-in configuration (design §5).

Sign-in is Streamlit's own OpenID Connect (``st.login``), configured in the ``[auth]`` section of
``.streamlit/secrets.toml``. The identity provider says who a person is; the roles file says what
they may see. It is a CSV file with a header ``who,role,org``, one person a line (``#`` starts a
comment line):

- ``who``: an e-mail address (matched without regard to case) or the provider's subject
  identifier ``sub`` (matched exactly), for providers that give no e-mail;
- ``role``: ``analyst`` (exact numbers, every organisation: the national body's own analysts),
  ``national`` (protected numbers, every organisation: directors and EDI teams) or ``employer``
  (protected numbers, one organisation: its own figures beside national);
- ``org``: the employer's organisation code; empty for the other roles.

A person signed in but not in the file sees a "no access" page and no data. Without ``[auth]`` the
app serves 127.0.0.1 only, as one local user (``parity.serve`` refuses any other address).
Pure Python: the UI glue and ``parity.serve`` call it.
"""

from __future__ import annotations

import csv
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# role -> (viewer level, whether the role is scoped to one organisation)
ROLES: dict[str, tuple[str, bool]] = {
    "analyst": ("full", False),
    "national": ("protected", False),
    "employer": ("protected", True),
}
ROLE_LABELS = {"analyst": "Analyst", "national": "National", "employer": "Employer", "local": "Local user"}
HEADER = ["who", "role", "org"]
# The keys Streamlit needs in [auth] for one OpenID Connect provider (docs.streamlit.io, st.login).
AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
LOCAL_ADDRESSES = frozenset({"127.0.0.1", "localhost", "::1"})


class RolesFileError(ValueError):
    """The roles file cannot be used; the message says what to fix, where."""


@dataclass(frozen=True)
class Grant:
    """One line of the roles file."""

    who: str
    role: str
    org: str | None
    line: int

    @property
    def level(self) -> str:
        return ROLES[self.role][0]


def _key(who: str) -> str:
    return who.lower() if "@" in who else who


def read_roles(path: Path) -> dict[str, Grant]:
    """Every grant of the roles file by person; RolesFileError naming the file and line otherwise."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RolesFileError(
            f"The roles file {path} does not exist. Create it with the header who,role,org and one line per "
            "person (see README: Sign-in and roles), or set PARITY_ROLES_PATH to where it is."
        ) from None
    except UnicodeDecodeError:
        raise RolesFileError(f"The roles file {path} is not UTF-8 text. Save it as UTF-8 (CSV).") from None
    except OSError as exc:
        raise RolesFileError(f"The roles file {path} cannot be read ({exc.strerror}).") from None
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(text.splitlines()), start=1)
        if row and any(c.strip() for c in row) and not row[0].lstrip().startswith("#")
    ]
    if not rows or [c.strip().lower() for c in rows[0][1]] != HEADER:
        found = ",".join(rows[0][1]) if rows else "nothing"
        raise RolesFileError(f"The roles file {path} must start with the header who,role,org (found {found}).")
    grants: dict[str, Grant] = {}
    problems = []
    for number, row in rows[1:]:
        cells = [c.strip() for c in row] + [""] * (3 - len(row))
        if len(row) > 3:
            problems.append(f"line {number} has {len(row)} values; give who,role,org")
            continue
        who, role, org = cells[:3]
        if not who:
            problems.append(f"line {number}: who is empty; give an e-mail address or the provider's subject (sub)")
        elif role not in ROLES:
            problems.append(f"line {number}: role {role!r} is not one of {', '.join(ROLES)}")
        elif ROLES[role][1] and not org:
            problems.append(f"line {number}: an employer needs the code of their organisation in org")
        elif not ROLES[role][1] and org:
            problems.append(f"line {number}: the {role} role sees every organisation; leave org empty")
        elif _key(who) in grants:
            first = grants[_key(who)].line
            problems.append(f"line {number}: {who} is already on line {first}; keep one line per person")
        else:
            grants[_key(who)] = Grant(who, role, org or None, number)
    if problems:
        raise RolesFileError(f"The roles file {path} has problems: " + "; ".join(problems) + ".")
    return grants


def grant_for(grants: dict[str, Grant], email: str | None, subject: str | None) -> Grant | None:
    """The grant of a signed-in person: by e-mail first, then by subject."""
    for who in (email, subject):
        if who and _key(who) in grants:
            return grants[_key(who)]
    return None


def auth_problems(section: dict[str, Any] | None) -> list[str]:
    """What is missing from the ``[auth]`` section for sign-in to work (empty when it is complete)."""
    if not section:
        return []
    missing = [k for k in AUTH_KEYS if not str(section.get(k) or "").strip()]
    if not missing:
        return []
    return [
        f"Sign-in is configured ([auth] in .streamlit/secrets.toml) but {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing. Add {'it' if len(missing) == 1 else 'them'} "
        "(see README: Sign-in and roles), or remove [auth] to run on this computer only."
    ]


def secrets_files(cwd: Path) -> list[Path]:
    """Where Streamlit reads secrets from, in the order later files override earlier ones."""
    return [Path.home() / ".streamlit" / "secrets.toml", Path(cwd) / ".streamlit" / "secrets.toml"]


def read_auth_section(files: list[Path]) -> dict[str, Any] | None:
    """The merged ``[auth]`` section of the secrets files, None when none has one.

    Raises ValueError with a plain message when a secrets file is not valid TOML."""
    section: dict[str, Any] | None = None
    for path in files:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML ({exc}). Fix it and start again.") from None
        if isinstance(data.get("auth"), dict):
            section = {**(section or {}), **data["auth"]}
    return section
