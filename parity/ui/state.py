"""The selection and every session-state key the pages share, behind accessors.

Pages never read ``st.session_state`` across modules: they call these functions, so a key's name
and meaning live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from parity import contract
from parity.filters import Filters
from parity.measures import FOLLOWUP_MONTHS, default_reference
from parity.settings import get_settings

# URL keys of the global filters (the widget keys are the same, so the link is readable).
K_FROM, K_TO = "from", "to"
K_PROFESSION, K_GRADE, K_REGION = "profession", "grade", "region"
K_ORG_TYPE, K_ORG, K_CONCERN = "org_type", "org", "concern"
K_SPLIT, K_REFERENCE = "by", "ref"
FILTER_KEYS = (K_FROM, K_TO, K_PROFESSION, K_GRADE, K_REGION, K_ORG_TYPE, K_ORG, K_CONCERN, K_SPLIT, K_REFERENCE)
DEFAULT_SPLIT = "ethnic_group"
# Page options kept in the URL: the drill (and its organisation level), Concern rates' window, the Organisation
# page's group on the funnel, the Outcomes drill's measure, the Outcomes page's follow-up cohort and the Durations
# page's strata. Reset and a new split clear them.
K_DRILL, K_DRILL_LEVEL, K_WINDOW, K_GROUP, K_MEASURE = "drill", "level", "window", "group", "measure"
K_FOLLOWUP, K_STRATA = "followup", "strata"
# Outcomes: every case referred, or only those referred 12 or more months before the extract date.
FOLLOWUP_CHOICES = ("all", f"{FOLLOWUP_MONTHS} months")
STRATA_CHOICES = ("none", "referral year")  # Durations: the log-rank test as is, or stratified by referral year
PAGE_OPTION_KEYS = (K_DRILL, K_DRILL_LEVEL, K_WINDOW, K_GROUP, K_MEASURE, K_FOLLOWUP, K_STRATA)
# Options that depend on the split: a new split makes their values meaningless.
SPLIT_DEPENDENT_KEYS = (K_DRILL, K_DRILL_LEVEL, K_GROUP, K_MEASURE)


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


def add_url_note(note: str) -> None:
    """A page's own link value that was not a valid choice (``window=7``), shown with the others."""
    notes = st.session_state.setdefault(_URL_NOTES, [])
    if note not in notes:
        notes.append(note)


def forget_url_notes() -> None:
    """After a reset the link's values are gone, and so are the notes about them."""
    st.session_state[_URL_CHECKED] = True
    st.session_state[_URL_NOTES] = []


_RESET = "_options_to_reset"
# Page options with a fixed default (the others' default depends on the data).
_BOUND_DEFAULTS = {K_WINDOW: 1, K_FOLLOWUP: FOLLOWUP_CHOICES[0], K_STRATA: STRATA_CHOICES[0]}


def clear_page_options(keys: tuple[str, ...] = PAGE_OPTION_KEYS) -> None:
    """Page options back to their defaults, in the session and in the URL.

    A widget bound to the URL reads its value back from the link when its key is only dropped, and its
    URL key cannot be deleted: options with a fixed default are set to it; the others are marked, and the
    page sets its own default before drawing the widget (``settle_option``). Unbound keys (the drill) are
    taken out of the URL.
    """
    pending = st.session_state.setdefault(_RESET, set())
    for key in keys:
        if key in _BOUND_DEFAULTS:
            st.session_state[key] = _BOUND_DEFAULTS[key]
        elif key in (K_DRILL, K_DRILL_LEVEL):
            if key in st.query_params:
                del st.query_params[key]
        else:
            st.session_state.pop(key, None)
            pending.add(key)


def settle_option(key: str, valid: list[str], default: str, shown: dict[str, str] | None = None) -> bool:
    """Before a page draws a bound option widget: its session value is one of ``valid`` (else ``default``).

    ``shown`` maps a value to the text the box shows (and the URL carries). Returns whether the session
    holds the value (then the widget must be drawn without an ``index``).
    """
    pending = st.session_state.get(_RESET, set())
    current = st.session_state.get(key)
    if key in pending:
        pending.discard(key)
        st.session_state[key] = default
    elif current is None:
        from_link = st.query_params.get(key)
        if from_link is not None and from_link not in [(shown or {}).get(v, v) for v in valid]:
            st.session_state[key] = default
    elif current not in valid:
        st.session_state[key] = default
    return key in st.session_state


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
