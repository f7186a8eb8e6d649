"""Accessibility of the real app in headless Chromium: axe-core's WCAG 2.2 AA rules on every page,
and the keyboard-only route through the sidebar filters, the page links and the chart blocks.

The keyboard tests press keys only (Tab, Enter, Space, arrows, Escape, Backspace and typing): no
clicks. Where focus is, is read from ``document.activeElement`` after each Tab.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import arrow_pick, chromium_page, pick, require_browser, screenshot, streamlit_server, wait_idle

pytestmark = pytest.mark.browser

WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}
# Every page at its own address, with how many Plotly charts it draws by default (0: waits for none).
PAGES = {
    "/": ("Overview", 2),
    "/concern-rates": ("Concern rates", 3),
    "/outcomes": ("Outcomes", 1),
    "/durations": ("Durations", 1),
    "/trends": ("Trends", 2),
    "/pathways": ("Pathways", 3),
    "/organisation": ("Organisation", 0),
    "/data": ("Data and methods", 1),
}
PAGE_LINKS = [title for title, _ in PAGES.values()]
SELECTBOXES = ["From", "To", "Compare by", "Reference group"]
MULTISELECTS = ["Profession", "Grade", "Region", "Organisation type", "Organisation", "Concern type"]
SIDEBAR_CONTROLS = [*PAGE_LINKS, "From", "To", *MULTISELECTS, "Compare by", "Reference group", "Reset filters"]
TAB_LIMIT = 120  # presses allowed to reach a control from where focus is; far above what each needs
DRILLED_GROUP = "Black or Black British"
# The buttons Plotly's mode bar and Streamlit's chart frame put in the Tab order of every chart.
PLOTLY_TOOLBAR = {
    *("Download plot as a PNG", "Zoom", "Pan", "Zoom in", "Zoom out", "Autoscale", "Reset axes"),
    "Fullscreen",
}

# Where focus is: sidebar or main area, the element, and the name a screen reader would announce
# (aria-label, else the field's label, else its text without Material icon ligatures).
FOCUS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  // The scrollable main area takes focus itself; its text is the whole page, so name it plainly.
  if (e.dataset.testid === 'stMain') return {where: 'main', tag: 'main', name: 'main area'};
  let name = e.getAttribute('aria-label');
  if (!name && e.labels && e.labels.length) name = e.labels[0].innerText;
  if (!name) {
    const copy = e.cloneNode(true);
    copy.querySelectorAll('[data-testid=stIconMaterial]').forEach(icon => icon.remove());
    name = copy.innerText;
  }
  return {
    where: e.closest('[data-testid=stSidebar]') ? 'sidebar' : 'main',
    tag: e.tagName.toLowerCase(),
    name: (name || '').trim().replace(/\\s+/g, ' '),
  };
}"""


@pytest.fixture(scope="module")
def server(sample_db: Path):
    require_browser()
    with streamlit_server(sample_db) as base:
        yield base


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def focused(page) -> dict | None:
    return page.evaluate(FOCUS)


def describe(stop: dict | None) -> str:
    return "nothing" if stop is None else f"{stop['where']} {stop['tag']} '{stop['name']}'"


def tab_walk(page, presses: int) -> list[dict | None]:
    """Press Tab ``presses`` times from where focus is; what was focused after each press."""
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stops.append(focused(page))
    return stops


def tab_to(page, name: str, where: str, limit: int = TAB_LIMIT) -> int:
    """Press Tab until the control called ``name`` has focus; how many presses it took."""
    seen = []
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop and stop["where"] == where and stop["name"] == name:
            return presses
        seen.append(describe(stop))
    raise AssertionError(f"Tab did not reach {where} '{name}' in {limit} presses; focus went:\n" + "\n".join(seen))


def axe_violations(page) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": WCAG_22_AA}, "resultTypes": ["violations"]}
    return Axe().run(page, options=options).response["violations"]


def report(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) for node in v["nodes"][:3])
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}\n    first: {targets}")
    return "\n".join(lines)


# --- axe-core --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(PAGES))
def test_page_has_no_serious_wcag_violations(server: str, path: str):
    title, charts = PAGES[path]
    with chromium_page() as page:
        page.goto(server + path)
        wait_idle(page, charts=charts)
        violations = axe_violations(page)
        if violations:
            print(f"axe-core on {path}:\n{report(violations)}")
        blocking = [v for v in violations if v["impact"] in BLOCKING]
        assert not blocking, f"axe-core on {path}:\n{report(blocking)}"

        assert page.evaluate("document.documentElement.lang") == "en"
        assert page.title() == f"{title} · Parity"
        assert page.locator("h1").count() == 1
        # Every chart is a figure with its alt text, and keeps its data table (the accessible alternative).
        figures = page.locator("[data-testid='stPlotlyChart']")
        for i in range(figures.count()):
            assert figures.nth(i).get_attribute("role") == "figure"
            assert len(figures.nth(i).get_attribute("aria-label") or "") > 20
        tables = page.locator("[data-testid='stExpander'] summary", has_text="Data table")
        assert tables.count() >= figures.count(), f"{figures.count()} charts but {tables.count()} data tables"


def test_axe_runs_on_the_drawn_page_over_a_slow_link(server: str):
    """With every request a second late, the script is idle seconds before the widgets' code arrives, and the
    sidebar is placeholders until then. ``wait_idle`` waits for them all to be drawn (it did not, and CI ran
    axe-core on a sidebar with nothing to focus), and the drawn page passes."""
    with chromium_page() as page:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        slow = {"offline": False, "latency": 1000, "downloadThroughput": -1, "uploadThroughput": -1}
        cdp.send("Network.emulateNetworkConditions", slow)
        page.goto(server + "/organisation")
        wait_idle(page)
        assert page.locator("[data-testid='stSkeleton']").count() == 0
        sidebar = page.locator("[data-testid='stSidebar']")
        for name in ("From", "To", "Compare by", "Reference group"):
            assert sidebar.get_by_label(name, exact=True).count() == 1, name
        assert sidebar.get_by_role("button", name="Reset filters").count() == 1
        blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
        assert not blocking, report(blocking)


def test_page_titles_are_distinct(server: str):
    with chromium_page() as page:
        titles = []
        for path, (_, charts) in PAGES.items():
            page.goto(server + path)
            wait_idle(page, charts=charts)
            titles.append(page.title())
    assert len(set(titles)) == len(PAGES), titles


# --- Keyboard only ---------------------------------------------------------------------------


def test_keyboard_reaches_the_sidebar_then_the_chart_blocks(server: str):
    """From page load, Tab alone passes every page link and filter, then a chart block's controls."""
    for path in ("/", "/concern-rates"):
        with chromium_page() as page:
            page.goto(server + path)
            wait_idle(page, charts=PAGES[path][1])
            stops = tab_walk(page, TAB_LIMIT)
            names = [(s["where"], s["name"]) for s in stops if s]
            # First the skip link (bypass blocks), then each sidebar control once, in reading order.
            assert names[0] == ("main", "Skip to main content"), names[:3]
            sidebar = [name for where, name in names[1 : 1 + len(SIDEBAR_CONTROLS)] if where == "sidebar"]
            assert sidebar == SIDEBAR_CONTROLS, names[: 1 + len(SIDEBAR_CONTROLS)]
            reached = [name for where, name in names if where == "main"]
            for control in ("Data table", "Download CSV"):
                assert control in reached, (path, control, reached)
            toolbar = [name for where, name in names if where == "main" and name in PLOTLY_TOOLBAR]
            # Plotly's mode bar is off (the block's Download PNG gives the image): none of its buttons is a stop.
            assert not [name for name in toolbar if name != "Fullscreen"], (path, toolbar)
            print(
                f"{path}: {names.index(('main', 'Download CSV')) + 1} Tab presses to the first Download CSV; "
                f"{len(toolbar)} of the first {len(names)} stops are chart toolbar buttons "
            )


def test_keyboard_operates_every_sidebar_filter(server: str):
    """Each filter, reached by Tab and set with arrows, typing and Enter, changes the shareable link."""
    typed = {"From": "2019/20", "To": "2022/23", "Compare by": "Place of primary qualification"}
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=2)
        for name in ["From", "To", *MULTISELECTS, "Compare by", "Reference group"]:
            tab_to(page, name, "sidebar")
            key = {"From": "from", "To": "to", "Compare by": "by", "Reference group": "ref"}.get(name)
            if name in typed:
                pick(page, typed[name])
                wait_idle(page)
                assert query(page).get(key) == [typed[name]], (name, page.url)
            elif name == "Reference group":
                # The default reference is the first choice: the arrow picks another group.
                arrow_pick(page, 2)
                wait_idle(page)
                assert query(page).get(key), (name, page.url)
            else:
                before = dict(query(page))
                # The list opens on "Select all": one more arrow takes the first single choice.
                arrow_pick(page, 2)
                page.wait_for_timeout(150)
                page.keyboard.press("Escape")
                wait_idle(page)
                added = {k: v for k, v in query(page).items() if before.get(k) != v}
                assert len(added) == 1 and len(next(iter(added.values()))) == 1, (name, page.url)
                # Backspace takes the choice out again, so the next filter still has cases to show.
                page.keyboard.press("Backspace")
                wait_idle(page)
                assert query(page) == before, (name, page.url)
            assert describe(focused(page)).startswith("sidebar"), f"focus left the sidebar after {name}"
        assert "compared by place of primary qualification" in page.inner_text("[data-testid='stMain']").lower()
        screenshot(page, "accessibility_keyboard_filters")


def test_keyboard_follows_a_page_link_and_downloads_a_csv(server: str):
    with chromium_page() as page:
        page.goto(server + "/")
        wait_idle(page, charts=2)
        tab_to(page, "Concern rates", "sidebar")
        page.keyboard.press("Enter")
        wait_idle(page, charts=3)
        assert urlsplit(page.url).path == "/concern-rates"
        assert page.title() == "Concern rates · Parity"
        assert page.get_by_role("heading", level=1).count() == 1

        tab_to(page, "Download CSV", "main")
        with page.expect_download() as download:
            page.keyboard.press("Enter")
        assert download.value.suggested_filename.endswith(".csv")


def test_keyboard_changes_the_window_and_clears_a_drill(server: str):
    """Concern rates: the window radio by arrow keys; a drill (opened from a link) cleared by Space."""
    with chromium_page() as page:
        page.goto(server + "/concern-rates")
        wait_idle(page, charts=3)
        tab_to(page, "1", "main")  # the window radio: one Tab stop, arrows move between choices
        page.keyboard.press("ArrowRight")
        wait_idle(page, charts=3)
        assert query(page).get("window") == ["3"], page.url

        page.goto(server + f"/concern-rates?drill={DRILLED_GROUP.replace(' ', '+')}")
        wait_idle(page, charts=1)
        assert DRILLED_GROUP in page.inner_text("[data-testid='stMain']")
        tab_to(page, "Clear drill", "main")
        page.keyboard.press("Space")
        wait_idle(page, charts=3)
        assert "drill" not in query(page), page.url
        assert page.get_by_role("heading", name="Relative likelihood against the reference group").count() == 1


def test_keyboard_opens_a_drill(server: str):
    with chromium_page() as page:
        page.goto(server + "/concern-rates")
        wait_idle(page, charts=3)
        names = [s["name"] for s in tab_walk(page, TAB_LIMIT * 2) if s and s["where"] == "main"]
        assert any("drill" in name.lower() for name in names), names


def test_keyboard_resets_the_filters(server: str):
    with chromium_page() as page:
        page.goto(server + "/?profession=Doctors")
        wait_idle(page, charts=2)
        tab_to(page, "Reset filters", "sidebar")
        page.keyboard.press("Enter")
        wait_idle(page, charts=2)
        assert "profession" not in query(page), page.url
