"""The server prepares the profile's comparators (issue 14): before its first visit, and again after each new load,
for exactly the question the Organisation page opens on, so an employer's first profile computes no comparator;
two people asking for the same comparator at once compute it once."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from apptest import CHART_PAGES, open_page

from parity import serve
from parity.db import QueryRunner
from parity.filters import Filters
from parity.measures import profile as module
from parity.measures.profile import opening_filters, profile_view
from parity.viewer import Viewer

OWN = "R1C"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every comparator computed from here on (its filters, split, reference and level), none kept from before."""
    computed: list[tuple] = []
    compute = module._computed_comparator

    def counting(runner, everywhere, split, reference, viewer, rule, scope):
        computed.append((everywhere, split, reference, viewer.level))
        return compute(runner, everywhere, split, reference, viewer, rule, scope)

    module.forget_comparators()
    monkeypatch.setattr(module, "_computed_comparator", counting)
    yield computed
    module.forget_comparators()


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The viewer level of every comparator a profile asks for (computed or shared)."""
    levels: list[str] = []
    comparator = module._comparator

    def asking(runner, everywhere, split, reference, viewer, rule, scope):
        levels.append(viewer.level)
        return comparator(runner, everywhere, split, reference, viewer, rule, scope)

    monkeypatch.setattr(module, "_comparator", asking)
    return levels


def test_opening_filters_are_every_year_from_the_first_to_the_latest(sample_db: Path):
    with QueryRunner(sample_db) as db:
        years = sorted(int(y) for y in db.run("financial_years")["fy_start"])
        assert opening_filters(db) == Filters(fy_from=years[0], fy_to=years[-1])


def test_the_prepared_comparators_are_the_ones_the_organisation_page_asks_for(
    sample_app, sample_db: Path, counted, asked, monkeypatch
):
    """After the server's preparation, the Organisation page computes no comparator: in the employer's view (their
    own organisation, protected) and in a national analyst's (full), each opening on its defaults."""
    import duckdb
    import streamlit as st

    from parity.settings import get_settings

    with duckdb.connect(str(sample_db), read_only=True) as con:
        name = con.execute("SELECT org_name FROM organisations WHERE org_code = ?", [OWN]).fetchone()[0]
    st.cache_data.clear()  # no profile kept by an earlier test: this one's page must ask for its comparator
    assert serve.prepare_profiles() is not None
    prepared = len(counted)
    assert sorted(level for *_, level in counted) == ["full", "protected"]
    asked.clear()

    monkeypatch.setenv("PARITY_VIEWER_ORG", OWN)
    get_settings.cache_clear()
    at = open_page("pages/organisation.py")
    assert not at.exception, at.exception
    assert asked == ["protected"]  # the employer's profile was drawn, on their own organisation
    assert len(counted) == prepared, f"the employer's profile computed a comparator: {counted[prepared:]}"

    monkeypatch.delenv("PARITY_VIEWER_ORG")
    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "full")
    get_settings.cache_clear()
    at = open_page("pages/organisation.py", org=f"{name} ({OWN})")
    assert not at.exception, at.exception
    assert asked == ["protected", "full"]
    assert len(counted) == prepared, f"the analyst's profile computed a comparator: {counted[prepared:]}"


def test_a_profile_after_the_preparation_equals_one_computed_afresh(sample_db: Path, counted):
    viewer = Viewer("protected", org=OWN)
    with QueryRunner(sample_db) as db:
        serve.prepare_profiles_of(db)
        shared = profile_view(db, opening_filters(db), "ethnic_group", org=OWN, viewer=viewer)
        prepared = len(counted)
        module.forget_comparators()
        fresh = profile_view(db, opening_filters(db), "ethnic_group", org=OWN, viewer=viewer)
    assert len(counted) == prepared + 1  # only the afresh one computed its comparator
    assert shared.rows.equals(fresh.rows)


def test_nothing_to_prepare_without_a_current_database(sample_app, tmp_path: Path, monkeypatch):
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_DB_PATH", str(tmp_path / "none.duckdb"))
    get_settings.cache_clear()
    assert serve.prepare_profiles() is None
    (tmp_path / "none.duckdb").write_text("not a database")
    assert serve._prepared_now() is None  # logged, never raised: the server starts all the same


def test_a_new_load_is_prepared_in_the_background(sample_db: Path, tmp_path: Path, counted, monkeypatch, request):
    """The server's watcher prepares the comparators of a database swapped in after it started, and drops the old
    database's; and the pages' opening Views of the new one."""
    from parity.settings import get_settings

    served = tmp_path / "parity.duckdb"
    shutil.copy(sample_db, served)
    monkeypatch.setenv("PARITY_DB_PATH", str(served))
    get_settings.cache_clear()
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(tmp_path / "audit.jsonl"))
    monkeypatch.setattr(serve, "PREPARE_EVERY_S", 0.05)
    pages_prepared: list[int] = []
    prepare_pages = serve.prepare_pages
    monkeypatch.setattr(serve, "prepare_pages", lambda viewers: pages_prepared.append(prepare_pages(viewers)) or 8)
    first = serve._prepared_now()
    assert first is not None and pages_prepared == [8]
    stop = threading.Event()
    watcher = threading.Thread(target=serve._keep_prepared, args=(first, stop), daemon=True)
    watcher.start()
    try:
        new = tmp_path / "parity.duckdb.new"
        shutil.copy(sample_db, new)
        shutil.move(new, served)
        with QueryRunner(served) as db:
            version = db.data_version
        assert version != first
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with module._COMPARATORS_LOCK:
                versions = {key[0] for key in module._COMPARATORS}
            if versions == {version} and not module._COMPUTING and len(pages_prepared) == 2:
                break
            time.sleep(0.05)
        assert versions == {version}
        assert pages_prepared == [8, 8]  # and the pages' opening Views of the new load
        views, queries = request.getfixturevalue("asked_of_the_database")
        at = open_page("pages/durations.py")
        assert not at.exception and at.get("plotly_chart")
        assert views == [] and queries == [], (views, queries)
    finally:
        stop.set()  # the watcher must not outlive this test
        watcher.join(30)
        get_settings.cache_clear()
    assert not watcher.is_alive()


def _asked_by_two(sample_db: Path, started: threading.Event) -> tuple[dict[str, object], list[BaseException]]:
    """The protected comparator of the opening filters asked for by a thread "first", then, once its computation
    has started, by a thread "second": what each got, and the errors raised."""
    viewer = Viewer("protected")
    results: dict[str, object] = {}
    errors: list[BaseException] = []
    with QueryRunner(sample_db) as db:
        filters = opening_filters(db)

        def ask(name: str) -> None:
            try:
                results[name] = module._comparator(db, filters, "ethnic_group", "White", viewer, module.Rule(), None)
            except RuntimeError as error:
                errors.append(error)

        first = threading.Thread(target=ask, args=("first",), name="first")
        first.start()
        assert started.wait(30)
        second = threading.Thread(target=ask, args=("second",), name="second")
        second.start()
        first.join(60)
        second.join(60)
    module.forget_comparators()
    return results, errors


def test_two_people_asking_for_one_comparator_at_once_compute_it_once(sample_db: Path, monkeypatch):
    """The second waits for the first's comparator instead of computing its own beside it."""
    computed: list[str] = []
    compute = module._computed_comparator
    started = threading.Event()

    def slow(*args):
        computed.append(threading.current_thread().name)
        started.set()
        time.sleep(0.3)
        return compute(*args)

    module.forget_comparators()
    monkeypatch.setattr(module, "_computed_comparator", slow)
    results, errors = _asked_by_two(sample_db, started)
    assert computed == ["first"] and not errors
    assert results["first"] is results["second"]


def test_a_failed_comparator_is_computed_by_the_one_who_waited(sample_db: Path, monkeypatch):
    compute = module._computed_comparator
    calls: list[str] = []
    started = threading.Event()

    def fails_first(*args):
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            started.set()
            time.sleep(0.3)
            raise RuntimeError("the first computation failed")
        return compute(*args)

    module.forget_comparators()
    monkeypatch.setattr(module, "_computed_comparator", fails_first)
    results, errors = _asked_by_two(sample_db, started)
    assert calls == ["first", "second"]
    assert len(errors) == 1 and "second" in results
    assert not module._COMPUTING


PAGES = [*CHART_PAGES, "pages/data.py"]


@pytest.fixture
def asked_of_the_database(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str]]:
    """From here on, the queries of every View computed (a View found in the cache asks none), and every query run
    on the database (one found in the cache runs none)."""
    from parity.ui.data import CachedQueryRunner

    views: list[str] = []
    queries: list[str] = []
    view_query, query = CachedQueryRunner.run, QueryRunner.run

    def counting_view_query(self, name, params=None):
        views.append(name)
        return view_query(self, name, params)

    def counting_query(self, name, params=None):
        queries.append(name)
        return query(self, name, params)

    monkeypatch.setattr(CachedQueryRunner, "run", counting_view_query)
    monkeypatch.setattr(QueryRunner, "run", counting_query)
    return views, queries


@pytest.mark.parametrize("level", ["protected", "full"])
def test_after_the_preparation_no_page_computes_a_view_or_runs_a_query(sample_app, level, monkeypatch, request):
    """The first visit to any page after the server's preparation computes no View and runs no query: the list of
    what each page asks for when it opens (``ui.opening``) and the pages agree, at each level."""
    import streamlit as st

    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_LEVEL", level)
    get_settings.cache_clear()
    st.cache_data.clear()  # nothing kept by an earlier test: every View and query a page asks for is counted
    assert serve.prepare_pages(serve.page_viewers(signed_in=False)) == 8
    views, queries = request.getfixturevalue("asked_of_the_database")
    for page in PAGES:
        at = open_page(page)
        assert not at.exception, (page, at.exception)
        assert at.get("plotly_chart") or page == "pages/data.py", page  # the page drew its View
        assert views == [], f"{page} computed a View: its queries {views}"
        assert queries == [], f"{page} ran queries: {queries}"


def test_the_pages_are_prepared_for_the_national_viewers(sample_app, monkeypatch):
    """With sign-in, each national role; without it, the local viewer settings describe, unless an employer's."""
    from parity.settings import get_settings

    assert [(v.level, v.role) for v in serve.page_viewers(signed_in=True)] == [
        ("full", "analyst"),
        ("protected", "national"),
    ]
    assert [(v.level, v.org) for v in serve.page_viewers(signed_in=False)] == [("protected", None)]
    monkeypatch.setenv("PARITY_VIEWER_ORG", OWN)
    get_settings.cache_clear()
    assert serve.page_viewers(signed_in=False) == []
