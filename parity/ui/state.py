"""The selection and every session-state key the pages share, behind accessors.

Pages never read ``st.session_state`` across modules: they call these functions, so a key's name
and meaning live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from parity import contract
from parity.filters import Filters
from parity.measures import default_reference
from parity.settings import get_settings

# URL keys of the global filters (the widget keys are the same, so the link is readable).
K_FROM, K_TO = "from", "to"
K_PROFESSION, K_GRADE, K_REGION = "profession", "grade", "region"
K_ORG_TYPE, K_ORG, K_CONCERN = "org_type", "org", "concern"
K_SPLIT, K_REFERENCE = "by", "ref"
FILTER_KEYS = (K_FROM, K_TO, K_PROFESSION, K_GRADE, K_REGION, K_ORG_TYPE, K_ORG, K_CONCERN, K_SPLIT, K_REFERENCE)
DEFAULT_SPLIT = "ethnic_group"


@dataclass(frozen=True)
class Selection:
    """What the sidebar has chosen: filters, the split and its reference group."""

    filters: Filters
    split: str
    reference: str

    @property
    def split_label(self) -> str:
        return contract.SPLITS[self.split].label

    @property
    def split_phrase(self) -> str:
        """The split's label inside a sentence, capitals of names and abbreviations kept."""
        return contract.SPLITS[self.split].phrase


# --- Data access -------------------------------------------------------------------------


_SELECTION = "_selection"
_ORG_NAMES = "_org_names"
_URL_CHECKED = "_url_checked"
_URL_NOTES = "_url_notes"


def remember_selection(chosen: Selection, org_names: dict[str, str]) -> None:
    st.session_state[_SELECTION] = chosen
    st.session_state[_ORG_NAMES] = org_names


def selection() -> Selection:
    """The current selection; defaults when the sidebar has not run (a page on its own)."""
    chosen = st.session_state.get(_SELECTION)
    if isinstance(chosen, Selection):
        return chosen
    settings = get_settings()
    return Selection(
        Filters(), DEFAULT_SPLIT, default_reference(DEFAULT_SPLIT, settings.ethnicity_reference, settings.pmq_reference)
    )


def viewer_org() -> str | None:
    """The organisation an employer view is scoped to (None: a national view).

    The viewer's organisation (``parity.ui.data.viewer``): the one place the app reads the scope.
    """
    from parity.ui.data import viewer

    return viewer().org


def org_names() -> dict[str, str]:
    """Organisation code -> name, for the organisations this viewer may see named."""
    return st.session_state.get(_ORG_NAMES) or {}


def url_checked() -> bool:
    return _URL_CHECKED in st.session_state


def note_url(notes: list[str]) -> None:
    """Remember the link values that were not valid choices (checked once, on a session's first run)."""
    st.session_state[_URL_CHECKED] = True
    st.session_state[_URL_NOTES] = notes


def url_notes() -> list[str]:
    return st.session_state.get(_URL_NOTES) or []


def seen_selection(key: str, signature: str) -> bool:
    """Whether a chart's point selection was already handled; remembers this one."""
    seen = st.session_state.get(f"_seen_{key}") == signature
    st.session_state[f"_seen_{key}"] = signature
    return seen


def link_value(value: str, limit: int = 60) -> str:
    """A value from the URL as it may be echoed inside a code span: no backtick or line break to break
    out of it (a link could otherwise write its own markdown, such as a link, into the page), cut short."""
    flat = " ".join(value.replace("`", "'").split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
