"""The served database through Streamlit's caches: one read-only runner per file version."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st
from pydantic import ValidationError

from parity.db import DatabaseMissing, DatabaseOutdated, QueryRunner, file_version
from parity.disclosure import Rule
from parity.settings import get_settings, settings_problem
from parity.viewer import Viewer


@st.cache_resource(show_spinner=False, max_entries=2)
def _open(path: str, mtime_ns: int) -> QueryRunner:
    # Keyed on the file's mtime: after a new ingest swaps the file in, the next run reopens it. Each runner is a
    # database of its own (parity.db), so only the served version and the one before it are kept: an older one is
    # dropped, and closed once no run still holds it.
    return QueryRunner(Path(path))


def database() -> QueryRunner | None:
    """The served database, or None (after saying how to build it) when there is none yet."""
    path = get_settings().db_path
    try:
        return _open(str(path), path.stat().st_mtime_ns)
    except (FileNotFoundError, DatabaseMissing):
        st.warning(
            f"**No database yet.** Parity has no data loaded at `{path}`. Build it from an export with:\n\n"
            f"```\npython -m parity ingest sample_data --db {path}\n```\n\nor run `make run`, which does it for you."
        )
        return None
    except DatabaseOutdated as outdated:
        st.warning(
            f"**The database needs loading again.** {outdated}\n\n`make run` does it for the bundled sample data.",
            icon=":material/update:",
        )
        return None


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_query(path: str, mtime_ns: int, name: str, params: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    return _open(path, mtime_ns).run(name, dict(params))


def run_query(name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run a named query on the served database, cached per parameters and database version."""
    path = get_settings().db_path
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (params or {}).items()))
    result = _cached_query(str(path), path.stat().st_mtime_ns, name, frozen)
    return result.copy()


V = TypeVar("V")


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_view(
    measure: str, version: tuple[str, int], settings: str, args: tuple, kwargs: tuple, _fn: Callable, _runner: Any
) -> Any:
    return _fn(_runner, *args, **dict(kwargs))


def cached_view(measure: Callable[..., V], runner: CachedQueryRunner, *args: Any, **kwargs: Any) -> V:
    """``measure(runner, *args, **kwargs)``, computed once for every session that asks the same question.

    A new visit is a new session; without this it recomputed every View although its queries were cached.
    The key is the measure, its arguments (the filters, split, viewer's level, scope and role, the disclosure
    rule and the rest), every setting, and the database file's version: an employer's View is never handed to
    a viewer of another level or scope, and a new ingest or a changed setting computes afresh. The person
    (``viewer.user``) is left out of the key: no View depends on who is looking beyond level, scope and role.
    Each session gets its own copy (pickled), so a page that changes its View changes nobody else's.
    """
    kwargs = {k: _anonymous(v) for k, v in kwargs.items()}
    args = tuple(_anonymous(a) for a in args)
    name = f"{measure.__module__}.{measure.__qualname__}"
    settings = get_settings().model_dump_json()
    return _cached_view(
        name, runner.data_version, settings, args, tuple(sorted(kwargs.items())), _fn=measure, _runner=runner
    )


def _anonymous(value: Any) -> Any:
    return dataclasses.replace(value, user="") if isinstance(value, Viewer) else value


class CachedQueryRunner:
    """A stand-in for ``QueryRunner`` whose ``run`` goes through the Streamlit cache (for measures)."""

    def run(self, name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        lists = {k: list(v) if isinstance(v, tuple) else v for k, v in (params or {}).items()}
        return run_query(name, lists)

    @property
    def data_version(self) -> tuple[str, int]:
        """The served database's file and write time: what a reused model fit depends on."""
        return file_version(get_settings().db_path)


def disclosure_rule() -> Rule:
    settings = get_settings()
    return Rule(settings.suppress_max, settings.round_to)


def check_settings() -> None:
    """Stop the app with a plain message when a setting is wrong (an unknown viewer level is never read as
    ``full``)."""
    try:
        get_settings()
    except ValidationError as error:
        st.error(settings_problem(error), icon=":material/error:")
        st.stop()


def viewer() -> Viewer:
    """Who is looking: the level and scope every measure is computed for. From the sign-in gate (the
    roles file says the level and organisation), or from settings in local mode; nothing in the URL or a
    widget can change it."""
    from parity.ui import signin  # the gate runs first in app.py; a page on its own falls back to settings

    access = signin.current()
    if access is not None:
        return Viewer(level=access.level, org=access.org, role=access.role, user=access.user)  # type: ignore[arg-type]
    settings = get_settings()
    return Viewer(level=settings.viewer_level, org=settings.viewer_org)  # type: ignore[arg-type]
