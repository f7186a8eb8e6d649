"""The pages' docstrings stay honest about their queries: each page's "Queries:" line names exactly the named
queries its View runs (the View lists them in ``queries``), in the order run, and every file in ``queries/`` has
a user — a page's View, the Data page, the summary CLI, or the sidebar (the one small allow-list)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from parity import contract, summary
from parity.db import QueryRunner, queries
from parity.filters import Filters
from parity.measures import (
    concern_rates_view,
    durations_view,
    organisation_view,
    outcomes_view,
    overview_view,
    pathways_view,
    profile_view,
    trends_view,
)
from parity.viewer import FULL

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "pages"
QUERY_NAMES = frozenset(queries())

SPLIT = "ethnic_group"
DRILL = contract.BLACK


def _organisation_page(db: QueryRunner, drill: str | None) -> object:
    """The Organisation page runs two Views: the funnel's, then (an organisation picked) the profile's."""
    funnel = organisation_view(db, Filters(), SPLIT)
    profile = profile_view(db, Filters(), SPLIT, org="R1C")
    return SimpleNamespace(queries=tuple(dict.fromkeys(funnel.queries + profile.queries)))


# Each page with a View: the measures function it calls, and how to build that View (with or without a drill).
ViewBuilder = Callable[[QueryRunner, str | None], object]
PAGE_VIEWS: dict[str, tuple[str, ViewBuilder]] = {
    # At the full level: the level at which a page runs every query it can (the adjusted models' cells too).
    "overview": ("overview_view", lambda db, drill: overview_view(db, Filters(), SPLIT, viewer=FULL)),
    "concern_rates": (
        "concern_rates_view",
        lambda db, drill: concern_rates_view(db, Filters(), SPLIT, drill=drill, viewer=FULL),
    ),
    "outcomes": ("outcomes_view", lambda db, drill: outcomes_view(db, Filters(), SPLIT, drill=drill)),
    "durations": ("durations_view", lambda db, drill: durations_view(db, Filters(), SPLIT, drill=drill)),
    "organisation": ("organisation_view", _organisation_page),
    "trends": ("trends_view", lambda db, drill: trends_view(db, Filters())),
    "pathways": ("pathways_view", lambda db, drill: pathways_view(db, Filters(), SPLIT, drill=drill)),
}
# Pages that run their queries themselves, through ``ui.run_query("name", ...)``, not through a View.
PAGES_WITHOUT_A_VIEW = frozenset({"data", "audit"})
# Queries run outside the pages and the summary CLI: name -> the module that runs it.
OTHER_USERS: dict[str, str] = {
    "financial_years": "parity/ui.py (the sidebar's years)",
    "organisations_list": "parity/ui.py (the sidebar's organisations)",
}


def _source(page: str) -> ast.Module:
    return ast.parse((PAGES / f"{page}.py").read_text(encoding="utf-8"))


def _docstring_queries(page: str) -> list[str]:
    """The query names in the docstring's "Queries:" paragraph, in the order written, each once."""
    docstring = ast.get_docstring(_source(page)) or ""
    match = re.search(r"^Queries:(.*?)(?:\n\s*\n|\Z)", docstring, flags=re.MULTILINE | re.DOTALL)
    assert match, f"pages/{page}.py: the docstring has no 'Queries:' line"
    words = re.findall(r"[a-z][a-z0-9_]*", match.group(1))
    return list(dict.fromkeys(w for w in words if w in QUERY_NAMES))


def _name(func: ast.expr) -> str:
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _called(tree: ast.Module) -> set[str]:
    """Names of the functions the page calls (``f(...)`` or ``module.f(...)``), and of the measures it has
    ``ctx.view(f, ...)`` call for it (the View shared across sessions)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            names.add(_name(node.func))
            if _name(node.func) == "view" and node.args:
                names.add(_name(node.args[0]))
    return names


def _run_query_names(tree: ast.Module) -> list[str]:
    """The literal query names a page passes to ``ui.run_query``, in the order written, each once."""
    calls = sorted(
        (node.lineno, node.col_offset, node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "run_query"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    )
    return list(dict.fromkeys(name for _, _, name in calls))


@pytest.fixture(scope="module")
def views(sample_db: Path) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each page's View's queries on the sample database: (without a drill, with one)."""
    with QueryRunner(sample_db) as db:
        return {
            page: (build(db, None).queries, build(db, DRILL).queries)  # type: ignore[attr-defined]
            for page, (_, build) in PAGE_VIEWS.items()
        }


def test_every_page_is_checked() -> None:
    pages = {p.stem for p in PAGES.glob("*.py")}
    assert pages == set(PAGE_VIEWS) | PAGES_WITHOUT_A_VIEW


@pytest.mark.parametrize("page", sorted(PAGE_VIEWS))
def test_page_calls_its_view(page: str) -> None:
    function, _ = PAGE_VIEWS[page]
    assert function in _called(_source(page)), f"pages/{page}.py does not call {function}"


@pytest.mark.parametrize("page", sorted(PAGE_VIEWS))
def test_docstring_names_the_queries_the_view_runs(page: str, views: dict) -> None:
    plain, drilled = views[page]
    assert drilled, f"{page}: the View lists no query"
    assert set(drilled) <= QUERY_NAMES
    # Without a drill, a View runs some of the queries it runs with one, in the same order.
    assert [q for q in drilled if q in plain] == list(plain)
    assert _docstring_queries(page) == list(drilled), f"pages/{page}.py: fix its docstring's 'Queries:' line"


@pytest.mark.parametrize("page", sorted(PAGES_WITHOUT_A_VIEW))
def test_docstring_names_the_queries_a_page_runs_itself(page: str) -> None:
    tree = _source(page)
    assert _docstring_queries(page) == _run_query_names(tree)
    assert not {f for f, _ in PAGE_VIEWS.values()} & _called(tree), f"pages/{page}.py calls a View: list it"


def test_other_users_run_the_queries_they_are_listed_for() -> None:
    ui_sources = [ROOT / "parity" / "ui.py", *sorted((ROOT / "parity" / "ui").glob("**/*.py"))]
    constants = {
        node.value
        for path in ui_sources
        if path.exists()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    assert set(OTHER_USERS) <= constants


def _cli_queries(sample_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> set[str]:
    """The named queries ``python -m parity summary`` runs, noted as it runs them."""
    ran: set[str] = set()
    run = QueryRunner.run

    def noting(self: QueryRunner, name: str, params: dict | None = None):  # type: ignore[no-untyped-def]
        ran.add(name)
        return run(self, name, params)

    monkeypatch.setattr(QueryRunner, "run", noting)
    assert summary.main(["--db", str(sample_db), "--by", SPLIT]) == 0
    capsys.readouterr()
    return ran


def test_every_query_has_a_user(
    views: dict, sample_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    by_views = {q for _, drilled in views.values() for q in drilled}
    by_pages = {q for page in PAGES_WITHOUT_A_VIEW for q in _run_query_names(_source(page))}
    by_cli = _cli_queries(sample_db, monkeypatch, capsys)
    assert by_cli, "the summary CLI ran no query"
    unused = QUERY_NAMES - by_views - by_pages - by_cli - set(OTHER_USERS)
    assert not unused, f"queries no page, CLI or sidebar runs: {sorted(unused)}"
    assert set(OTHER_USERS) <= QUERY_NAMES, "the allow-list names a query that no longer exists"
