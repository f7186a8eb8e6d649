"""Views shared across sessions (``ui.data.cached_view``): computed once per question, never across viewers.

A new visit is a new session. The page's View is cached for every session that asks the same question of the
same database; the key must hold everything the View depends on (arguments, viewer level, scope and role, the
disclosure rule, settings, the database version) and nothing it does not (who the person is).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from parity.disclosure import Rule
from parity.filters import Filters
from parity.viewer import Viewer


@dataclasses.dataclass
class Runner:
    """A stand-in for the cached query runner: only its data version matters to the cache."""

    data_version: tuple[str, int] = ("db", 1)


calls: list[tuple] = []


def measure(runner, filters, *, viewer, rule):  # noqa: ANN001, ANN201
    """Records each real computation and returns what it was asked."""
    calls.append((runner.data_version, filters, viewer, rule))
    return {"version": runner.data_version, "level": viewer.level, "org": viewer.org, "suppress": rule.suppress_max}


@pytest.fixture(autouse=True)
def fresh(sample_app: None) -> None:
    from parity.ui import data

    data._cached_view.clear()
    calls.clear()


RULE, NATIONAL = Rule(7, 5), Filters()


def ask(runner: Runner, viewer: Viewer, rule: Rule = RULE, filters: Filters = NATIONAL) -> dict:
    from parity.ui.data import cached_view

    return cached_view(measure, runner, filters, viewer=viewer, rule=rule)


def test_the_same_question_is_computed_once_for_every_session() -> None:
    first = ask(Runner(), Viewer("protected", user="ann"))
    again = ask(Runner(), Viewer("protected", user="bob"))  # another person at the same level and scope
    assert first == again
    assert len(calls) == 1
    first["level"] = "changed by one page"  # each session has its own copy
    assert ask(Runner(), Viewer("protected"))["level"] == "protected"


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (dict(viewer=Viewer("full", role="analyst")), "another level"),
        (dict(viewer=Viewer("protected")), "a national view beside an employer's"),
        (dict(viewer=Viewer("protected", org="R1F", role="employer")), "another employer's scope"),
        (dict(rule=Rule(10, 5)), "another disclosure rule"),
        (dict(filters=Filters(regions=("London",))), "other filters"),
        (dict(runner=Runner(("db", 2))), "a new ingest"),
    ],
)
def test_a_view_is_never_handed_to_another_question(other: dict, why: str) -> None:
    base = dict(runner=Runner(), viewer=Viewer("protected", org="R1C", role="employer"), rule=Rule(7, 5))
    shown = ask(**base)
    changed = ask(**{**base, **other})
    assert len(calls) == 2, why
    assert calls[0] != calls[1], why
    if "viewer" in other:
        assert (changed["level"], changed["org"]) == (other["viewer"].level, other["viewer"].org)
    assert ask(**base) == shown and len(calls) == 2  # and the first is still there for its own question


def test_a_changed_setting_computes_afresh(monkeypatch: pytest.MonkeyPatch, sample_db: Path) -> None:
    from parity.settings import get_settings

    ask(Runner(), Viewer("protected"))
    monkeypatch.setenv("PARITY_MIN_OTHER_ORGS", "5")
    get_settings.cache_clear()
    ask(Runner(), Viewer("protected"))
    assert len(calls) == 2


def test_after_a_new_load_the_running_app_shows_the_new_numbers(
    small_db: Path, sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An ingest swaps a new file in under the running app (the same process, its runner of the old file still
    cached): the next visit shows the new file's numbers, not the old ones under the new version."""
    import os
    import shutil

    from apptest import open_page, texts

    from parity.db import QueryRunner
    from parity.settings import get_settings

    def workforce_rows(path: Path) -> str:
        with QueryRunner(path) as db:
            rows = int(db.run("table_rows").set_index("table_name").loc["workforce", "rows"])
        return f"workforce: {rows:,} rows"

    served = tmp_path / "parity.duckdb"
    shutil.copy(small_db, served)
    monkeypatch.setenv("PARITY_DB_PATH", str(served))
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(tmp_path / "audit.jsonl"))
    monkeypatch.delenv("PARITY_VIEWER_ORG", raising=False)
    get_settings.cache_clear()
    old, new = workforce_rows(small_db), workforce_rows(sample_db)
    assert old != new
    try:
        assert old in texts(open_page("pages/data.py"))
        swapped = tmp_path / "parity.duckdb.new"
        shutil.copy(sample_db, swapped)
        later = served.stat().st_mtime_ns + 10**9
        os.utime(swapped, ns=(later, later))
        os.replace(swapped, served)  # as ingest swaps a load in
        shown = texts(open_page("pages/data.py"))
        assert new in shown and old not in shown
    finally:
        get_settings.cache_clear()


def test_the_extract_date_in_a_download_is_read_again_after_a_new_load(sample_db: Path, tmp_path: Path, monkeypatch):
    """The extract date a download's header states is read once per database version: a new load's is shown."""
    import os
    import shutil

    import duckdb

    from parity.settings import get_settings
    from parity.ui import blocks

    served = tmp_path / "parity.duckdb"
    shutil.copy(sample_db, served)
    monkeypatch.setenv("PARITY_DB_PATH", str(served))
    get_settings.cache_clear()
    before = blocks._extract_date()
    assert before not in ("", "not recorded", "2031-03-31")
    new = tmp_path / "parity.duckdb.new"
    shutil.copy(sample_db, new)
    with duckdb.connect(str(new)) as con:
        con.execute("UPDATE meta SET value = '2031-03-31' WHERE key = 'extract_date'")
    stamp = served.stat().st_mtime_ns + 1_000_000_000
    os.replace(new, served)
    os.utime(served, ns=(stamp, stamp))  # a later write time, as a real load has
    assert blocks._extract_date() == "2031-03-31"
    get_settings.cache_clear()
