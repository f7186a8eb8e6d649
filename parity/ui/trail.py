"""The audit trail of a session: who did what, written to ``parity.audit`` (design §5).

The sign-in gate sets the person (``set_person``); app.py names the page being drawn; then every
sign-in, refusal, page view (with its filters and drill), download and export of the session is one
line of the log, with time, user, role and scope. A page view is written when what the person
looks at changes (the page, a filter or the drill), not on every rerun.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import streamlit as st

from parity.audit import AuditLog
from parity.settings import get_settings
from parity.ui.state import Selection

_PERSON = "_audit_person"
_PAGE = "_audit_page"
_LAST_VIEW = "_audit_last_view"


@dataclass(frozen=True)
class Person:
    """Who is looking, as the log records them."""

    user: str
    role: str
    scope: str  # "all organisations" or an organisation code


def set_person(person: Person) -> None:
    st.session_state[_PERSON] = person


def person() -> Person | None:
    found = st.session_state.get(_PERSON)
    return found if isinstance(found, Person) else None


def set_page(url_path: str) -> None:
    st.session_state[_PAGE] = url_path or "overview"


def current_page() -> str:
    return st.session_state.get(_PAGE, "")


def record(event: str, *, who: Person | None = None, filters: dict[str, Any] | None = None,
           drill: str | None = None, detail: str = "", page: str | None = None) -> None:  # fmt: skip
    """Append one entry for this session (or for ``who``, before a person is set)."""
    someone = who or person() or Person("unknown", "none", "none")
    AuditLog(get_settings().audit_path).append(
        user=someone.user,
        role=someone.role,
        scope=someone.scope,
        event=event,
        page=current_page() if page is None else page,
        filters=filters,
        drill=drill,
        detail=detail,
    )


def filters_of(chosen: Selection) -> dict[str, Any]:
    """The selection as the log keeps it: only what is set, codes as lists."""
    kept: dict[str, Any] = {"split": chosen.split, "reference": chosen.reference}
    for f in fields(chosen.filters):
        value = getattr(chosen.filters, f.name)
        if value not in (None, ()):
            kept[f.name] = list(value) if isinstance(value, tuple) else value
    return kept


def page_view(chosen: Selection, drill: str | None) -> None:
    """Record the page view when the page, the filters or the drill changed since the last one."""
    view = (current_page(), repr(sorted(filters_of(chosen).items())), drill)
    if st.session_state.get(_LAST_VIEW) == view:
        return
    st.session_state[_LAST_VIEW] = view
    record("page-view", filters=filters_of(chosen), drill=drill)


def downloaded(file_name: str) -> None:
    """A download button's ``on_click``: the file a person took away, with the view it came from."""
    from parity.ui import state

    record("download", filters=filters_of(state.selection()), drill=st.query_params.get("drill"), detail=file_name)


def exported(file_name: str) -> None:
    """A download button's ``on_click`` for an export (the meeting pack): recorded as an export."""
    from parity.ui import state

    record("export", filters=filters_of(state.selection()), drill=st.query_params.get("drill"), detail=file_name)
