"""Sign-in: who is looking, decided before anything else is drawn (design §5).

With ``[auth]`` in ``.streamlit/secrets.toml``, Streamlit's own OpenID Connect sign-in
(``st.login``, ``st.user``, ``st.logout``) says who a person is, and the roles file
(``parity.access``) says what they may see. A person who is not signed in sees a sign-in page; one
who is signed in but not in the roles file, or whose sign-in is older than ``PARITY_SESSION_HOURS``,
sees a plain page saying so; none of them sees any data. Without ``[auth]`` the app serves this
computer only (``parity.serve`` makes sure), as one local user, with a banner saying so.
Every sign-in, refusal, expiry and sign-out is written to the audit log (``parity.ui.trail``); a reload or
a link opened in a new tab is a new session of the same sign-in, written as ``session``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from parity.access import LOCAL_ADDRESSES, ROLE_LABELS, RolesFileError, auth_problems, grant_for, read_roles
from parity.settings import get_settings
from parity.ui import trail

LOCAL_USER = "local user"
_SIGNED_IN = "_signin_recorded"
_ACCESS = "_signin_access"


@dataclass(frozen=True)
class Access:
    """What the gate decided for this session."""

    user: str
    role: str  # analyst, national, employer; "local" without sign-in
    level: str  # full or protected
    org: str | None  # the one organisation an employer is scoped to
    local: bool  # no sign-in configured: this computer only

    @property
    def scope(self) -> str:
        return self.org or "all organisations"

    @property
    def person(self) -> trail.Person:
        return trail.Person(self.user, self.role, self.scope)


def _auth_section() -> dict[str, Any] | None:
    """The [auth] section of the secrets, None when sign-in is not configured."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets file at all (Streamlit's error is a FileNotFoundError)
        return None
    return {k: section[k] for k in section} if section else None


def _stop_with(title: str, body: str, *, sign_out: bool = False, sign_in_again: bool = False) -> None:
    st.title(title)
    st.markdown(body)
    if sign_in_again and st.button("Sign in again", type="primary"):
        st.login()
    if sign_out and st.button("Sign out"):
        st.logout()
    st.stop()


def _expired(claims: dict[str, Any], hours: float) -> bool:
    issued = claims.get("iat")
    return isinstance(issued, int | float) and time.time() - issued > hours * 3600


def _local_access() -> Access:
    settings = get_settings()
    address = st.get_option("server.address")
    if address and address not in LOCAL_ADDRESSES:
        trail.record("refusal", who=trail.Person(LOCAL_USER, "local", "none"), detail=f"listening on {address}")
        _stop_with(
            "Parity is not available here",
            f"This server listens on **{address}** but sign-in is not configured, so it does not know who is "
            "looking and shows no data. Start it with `python -m parity.serve`, which serves this computer "
            "only, or configure sign-in (README: Sign-in and roles).",
        )
    return Access(LOCAL_USER, "local", settings.viewer_level, settings.viewer_org, local=True)


def _signed_in_access(section: dict[str, Any]) -> Access:
    settings = get_settings()
    problems = auth_problems(section)
    if problems:
        _stop_with("Sign-in is not set up correctly", problems[0] + " Ask the person who runs Parity to fix it.")
    if not st.user.get("is_logged_in"):  # (AppTest has no user at all: not signed in)
        st.title("Parity")
        st.markdown(
            "A dashboard about fairness in the management of performance concerns about doctors, dentists and "
            "pharmacists. **Sign in with your organisation's account** to see it."
        )
        if st.button("Sign in", type="primary"):
            st.login()
        st.stop()
    claims = st.user.to_dict()
    email, subject = claims.get("email"), claims.get("sub")
    who = str(email or subject or "unknown")
    stranger = trail.Person(who, "none", "none")
    if _expired(claims, settings.session_hours):
        trail.record("expired", who=stranger, detail=f"signed in more than {settings.session_hours:g} hours ago")
        _stop_with(
            "Your sign-in has expired",
            f"You signed in more than {settings.session_hours:g} hours ago, as **{who}**. Sign in again to go on.",
            sign_in_again=True,
        )
    try:
        grants = read_roles(settings.roles_path)
    except RolesFileError as problem:
        trail.record("refusal", who=stranger, detail=str(problem))
        _stop_with(
            "Parity cannot check who may see it",
            f"{problem}\n\nNobody can see the dashboard until the roles file is fixed. Ask the person who runs "
            "Parity to fix it.",
            sign_out=True,
        )
    grant = grant_for(grants, str(email) if email else None, str(subject) if subject else None)
    if grant is None:
        trail.record("refusal", who=stranger, detail="not in the roles file")
        _stop_with(
            "No access",
            f"You are signed in as **{who}**, but you have no access to Parity. If you need it, ask the person "
            "who runs Parity in your organisation to add you, with your role.",
            sign_out=True,
        )
    return Access(who, grant.role, grant.level, grant.org, local=False)


def gate() -> Access:
    """Who is looking, or a page that says why they may not (and a stop). Call first, before any data."""
    try:
        section = _auth_section()
    except Exception as problem:  # a secrets file that is not valid TOML
        _stop_with("Sign-in is not set up correctly", f"The secrets file cannot be read: {problem}")
    access = _local_access() if section is None else _signed_in_access(section)
    trail.set_person(access.person)
    st.session_state[_ACCESS] = access
    if _SIGNED_IN not in st.session_state:
        st.session_state[_SIGNED_IN] = True
        if access.local:
            trail.record("sign-in", detail="local mode, no sign-in configured")
        elif _first_session_of_sign_in(access.user, st.user.get("iat")):
            trail.record("sign-in")
        else:
            trail.record("session", detail="a new browser session of the same sign-in: a reload, a link or a tab")
    return access


@st.cache_resource
def _sign_ins_seen() -> set[tuple[str, str, str]]:
    """(audit log, person, issue time of their identity token) of each sign-in this server has recorded."""
    return set()


def _first_session_of_sign_in(user: str, issued: Any) -> bool:
    """Whether this is the first browser session of a sign-in. A reload or a pasted link opens a new session
    with the same identity token (the same issue time): it is logged as a session, not as another sign-in.
    After a server restart the first session of a sign-in is logged as a sign-in again (never fewer)."""
    if issued is None:
        return True
    key = (str(get_settings().audit_path), user, str(issued))
    seen = _sign_ins_seen()
    if key in seen:
        return False
    seen.add(key)
    return True


def current() -> Access | None:
    """The gate's decision for this session (None before the gate has run)."""
    found = st.session_state.get(_ACCESS)
    return found if isinstance(found, Access) else None


def reads_audit(access: Access | None) -> bool:
    """Analysts read the audit log; so does the local user when the numbers are exact (an analyst's own
    computer)."""
    return access is not None and (access.role == "analyst" or (access.local and access.level == "full"))


def banner(access: Access) -> None:
    """The local-mode banner, at the top of every page."""
    if access.local:
        numbers = "exact numbers" if access.level == "full" else "protected numbers"
        st.info(
            f"**Local mode: no sign-in.** Parity is serving this computer only (127.0.0.1), as one local user, "
            f"with {numbers}. To let others in, configure sign-in (README: Sign-in and roles).",
            icon=":material/computer:",
        )


def identity(access: Access, org_names: dict[str, str], slot: Any) -> None:
    """Who is signed in, their role and scope, and the sign-out button, in the sidebar slot given."""
    scope = "all organisations"
    if access.org:
        scope = f"{org_names[access.org]} ({access.org})" if access.org in org_names else access.org
    numbers = "exact numbers" if access.level == "full" else "protected numbers"
    with slot.container(border=True):
        st.markdown(f"**{access.user}**")
        st.caption(f"{ROLE_LABELS.get(access.role, access.role)} · {scope} · {numbers}")
        if not access.local and st.button("Sign out", key="sign_out", width="stretch"):
            trail.record("sign-out")
            st.logout()
