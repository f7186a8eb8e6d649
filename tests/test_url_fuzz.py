"""Fuzzed links (Hypothesis, in AppTest): unknown keys, huge values, SQL and HTML fragments and repeated
keys never raise, never echo anything but inert text, and never widen an employer's scope."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from apptest import CHART_PAGES, ROOT, tables
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from parity.settings import get_settings

PAGES = [*CHART_PAGES, "pages/data.py"]
EMPLOYER = "R1C"
KEYS = ["show", "from", "to", "profession", "grade", "region", "org_type", "org", "concern", "by", "ref", "drill",
        "window", "group", "level", "viewer", "scope", "user", "role", "page", "embed", "__proto__",
        "x" * 200]  # fmt: skip
FRAGMENTS = [
    "' OR 1=1 --",
    "'); DROP TABLE cases; --",
    "R1A' UNION SELECT org_name FROM organisations --",
    "$orgs",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[Download all data](https://evil.example/x)",
    "`[Download all data](https://evil.example/x)`",
    "x`\n\n# Parity is closed [here](https://evil.example/y)",
    "`code` **bold** <b>",
    "javascript:alert(1)",
    "../../etc/passwd",
    "\u202eevil\u0000nul",
    "full",
    "analyst",
]


def _org_names(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("SELECT org_code, org_name FROM organisations").fetchall())


@pytest.fixture(scope="module")
def names(sample_db: Path) -> dict[str, str]:
    return _org_names(sample_db)


def values(names: dict[str, str]) -> st.SearchStrategy[str]:
    others = [f"{n} ({c})" for c, n in names.items() if c != EMPLOYER][:20]
    return st.one_of(
        st.sampled_from(FRAGMENTS),
        st.sampled_from(others + [c for c in names if c != EMPLOYER][:20]),
        st.sampled_from(["2023/24", "2019/20", "Doctors", "Ethnic group", "White", "Asian or Asian British", "3"]),
        st.text(max_size=40),
        st.integers(1_000, 200_000).map(lambda n: "A" * n),
    )


def open_with(page: str, query: dict[str, list[str]]) -> AppTest:
    """The router with these URL parameters (a list is a repeated key), then the page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value if len(value) > 1 else value[0]
    at.run()
    return at.switch_page(page).run() if not at.exception else at


def shown_text(at: AppTest) -> str:
    """What the page says, with the code spans (the only place a link's own values may be echoed) removed."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [t.value for t in at.title] + [s.value for s in at.subheader]
    parts += [e.value for e in at.error]
    return re.sub(r"`[^`\n]*`", "`…`", "\n".join(str(p) for p in parts))


def assert_inert_and_in_scope(at: AppTest, names: dict[str, str], query: dict[str, list[str]]) -> None:
    assert not at.exception, at.exception
    text = shown_text(at)
    shown = text + "\n".join(t.to_csv(index=False) for t in tables(at))
    shown += "\n".join(e.proto.spec for e in at.get("plotly_chart"))
    others = [n for c, n in names.items() if c != EMPLOYER]
    assert not [n for n in others if n in shown], "another organisation is named"
    assert not [c for c in names if c != EMPLOYER and f"({c})" in shown], "another organisation's code is shown"
    hostile = set(FRAGMENTS) - {"full", "analyst", "$orgs"}
    for value in (v for vs in query.values() for v in vs):
        if value in hostile or len(value) > 1_000:
            assert value not in text, f"{value[:60]!r} is echoed outside a code span"
    assert "](https://evil" not in text, "a link's own markdown link is drawn"
    assert all(len(line) < 2_000 for line in text.splitlines()), "a huge value is echoed whole"


@pytest.fixture
def employer_app(sample_app, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PARITY_VIEWER_ORG", EMPLOYER)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_hostile_links(employer_app, names: dict[str, str], page: str):
    @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
    @given(query=st.dictionaries(st.sampled_from(KEYS), st.lists(values(names), min_size=1, max_size=3), max_size=6))
    def run(query: dict[str, list[str]]) -> None:
        at = open_with(page, query)
        assert_inert_and_in_scope(at, names, query)

    run()


def test_a_link_naming_another_organisation_does_not_reach_it(employer_app, names: dict[str, str]):
    other = next(c for c in names if c != EMPLOYER)
    query = {"org": [f"{names[other]} ({other})", other], "group": ["' OR 1=1 --"], "drill": ["<script>x</script>"]}
    for page in PAGES:
        at = open_with(page, query)
        assert_inert_and_in_scope(at, names, query)
        # The link's values are dropped: the filter holds only the employer's own organisation (preselected).
        assert at.session_state["org"] == [EMPLOYER]


def test_no_query_is_narrower_than_national_about_another_organisation(
    employer_app, sample_db: Path, monkeypatch: pytest.MonkeyPatch
):
    """Issue 10 item 3, in the data layer: links that point every geography key at another organisation, on
    every page of an employer's view. Every query that reaches the database is national, the employer's own
    organisation alone, or a geography holding at least PARITY_MIN_OTHER_ORGS organisations other than the
    employer's; an isolating geography is refused before any query runs (the page shows no figures)."""
    from parity.ui import data

    with duckdb.connect(str(sample_db), read_only=True) as con:
        orgs = con.execute("SELECT org_code, org_name, region, org_type FROM organisations").df()
    minimum = get_settings().min_other_orgs
    seen: list[tuple[str, dict]] = []
    original = data.CachedQueryRunner.run

    def recording(self, name: str, params: dict | None = None):  # noqa: ANN001, ANN202
        seen.append((name, dict(params or {})))
        return original(self, name, params)

    monkeypatch.setattr(data.CachedQueryRunner, "run", recording)

    def others_in(params: dict) -> set[str]:
        picked = orgs
        for column, key in (("region", "regions"), ("org_type", "org_types"), ("org_code", "orgs")):
            if params.get(key):
                picked = picked[picked[column].isin(list(params[key]))]
        return set(picked["org_code"]) - {EMPLOYER}

    # Region × type geographies with one or two other organisations (isolating: refused), one with enough, a
    # region alone; the organisation filter cleared (``org=``), or naming another organisation.
    combos = orgs[orgs["org_code"] != EMPLOYER].groupby(["region", "org_type"])["org_code"].apply(set)
    isolating = [k for k, codes in combos.items() if 0 < len(codes) < minimum][:3]
    wide = [k for k, codes in combos.items() if len(codes) >= minimum][:1]
    links: list[dict[str, list[str]]] = [
        {"region": [region], "org_type": [data_type_label(kind)], "org": [""]} for region, kind in isolating + wide
    ]
    other = orgs[orgs["org_code"] != EMPLOYER].iloc[0]
    links += [
        {"region": [other.region], "org": [""]},
        {"org": [f"{other.org_name} ({other.org_code})"], "region": [other.region], "org_type": [""]},
    ]
    assert isolating and wide
    checked = 0
    for page in PAGES:
        for query in links:
            seen.clear()
            data._cached_view.clear()  # Views are shared across sessions: make every page ask its queries again
            at = open_with(page, {**query, "drill": ["Black or Black British"], "level": [query["region"][0]]})
            refused = "No figures for these filters" in shown_text(at)
            assert not at.exception, (page, query, at.exception)
            for name, params in seen:
                geography = {k: params.get(k) for k in ("regions", "org_types", "orgs") if params.get(k)}
                if not geography:
                    continue  # national
                if geography == {"orgs": [EMPLOYER]} or set(geography.get("orgs") or []) == {EMPLOYER}:
                    continue  # the employer's own organisation alone
                others = others_in(params)
                assert not 0 < len(others) < minimum, (page, query, name, geography, sorted(others))
                checked += 1
            if query in links[: len(isolating)] and page != "pages/data.py":
                assert refused, (page, query)  # and so no figure: no query over the geography ran
    assert checked > 0  # queries over allowed geographies did run and were checked


def data_type_label(code: str) -> str:
    """An organisation type as a link carries it (its label in the sidebar)."""
    from parity import contract

    return contract.ORG_TYPES[code]
