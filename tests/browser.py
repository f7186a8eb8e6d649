"""Harness for tests in a real headless Chromium against the real Streamlit server.

The server is started on a free port as a subprocess, waited for, and its output printed when a
test fails. Chromium is Debian's (/usr/bin/chromium); browser downloads are impossible here.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tools.serving import CHROMIUM, CHROMIUM_ARGS, free_port, server

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
# No element is still a placeholder awaiting its code, and at least ``charts`` Plotly charts have drawn.
DRAWN = """charts => !document.querySelector("[data-testid='stSkeleton']")
  && document.querySelectorAll('.js-plotly-plot .main-svg').length >= charts"""


def require_browser() -> None:
    """Skip when Chromium is missing, unless PARITY_REQUIRE_BROWSER=1 (CI), where that is a failure."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium when run as root"
    if os.environ.get("PARITY_REQUIRE_BROWSER") == "1":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def streamlit_server(
    db_path: Path, extra_env: dict[str, str] | None = None, *, args: list[str] | None = None, port: int | None = None
) -> Iterator[str]:
    """The real app (``python -m parity.serve``) on the database at ``db_path``; its output is printed when a
    test fails."""
    port = port or free_port()
    audit = str(OUTPUT / f"audit-{port}.jsonl")  # each server its own log, never the repository's data/
    env = {**os.environ, "PARITY_DB_PATH": str(db_path), "PARITY_AUDIT_PATH": audit, **(extra_env or {})}
    log = OUTPUT / f"streamlit-{port}.log"
    try:
        with server([sys.executable, "-m", "parity.serve", *(args or [])], env, ROOT, log, port=port) as base:
            yield base
    except BaseException:
        print(f"--- Streamlit output ---\n{log.read_text() if log.exists() else ''}", file=sys.stderr)
        raise


@contextmanager
def chromium_page(width: int = 1400, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def wait_idle(page, charts: int = 0, timeout: float = 60_000) -> None:
    """Wait until the script has finished, no element is still a placeholder and at least ``charts`` Plotly
    charts have drawn.

    The script can be idle for seconds before the page is drawn: each kind of widget's code is fetched the
    first time a browser context meets it, and until it comes the element is a grey placeholder
    (``stSkeleton``). On a slow machine the sidebar's filters and page links were still placeholders when axe-core
    ran, and it found the sidebar a scrollable region with nothing in it to focus (CI, stop 24).
    """
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(DRAWN, arg=charts, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_function(DRAWN, arg=charts, timeout=timeout)


def pick(page, option: str, timeout: float = 10_000) -> None:
    """In an open select box or multiselect that has the focus: type ``option``, wait until the list has it
    highlighted, then press Enter.

    A person sees the highlight before pressing Enter. Enter pressed in the same frames as the filtered list
    is drawn keeps the old value (Streamlit's combobox handles the key before its new state is current):
    that race in the test driver, not the app, made CI fail. Hence the wait for the highlight and a
    person's pause after it.
    """
    page.keyboard.type(option)
    page.wait_for_function(
        """text => {
            const box = document.activeElement;
            const id = box && box.getAttribute('aria-activedescendant');
            const option = id && document.getElementById(id);
            return !!option && option.innerText.trim() === text;
        }""",
        arg=option,
        timeout=timeout,
    )
    page.wait_for_timeout(150)
    page.keyboard.press("Enter")


def arrow_pick(page, downs: int) -> None:
    """In an open select box or multiselect that has the focus: move the highlight ``downs`` options down with
    the arrow key, then press Enter, pausing as a person would once the highlight has moved (see ``pick``)."""
    for _ in range(downs):
        page.keyboard.press("ArrowDown")
    page.wait_for_function(
        "() => { const id = document.activeElement?.getAttribute('aria-activedescendant');"
        " return !!id && !!document.getElementById(id); }"
    )
    page.wait_for_timeout(150)
    page.keyboard.press("Enter")


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main area, so grow the viewport to fit it first."""
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / f"{name}.png"
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-testid=stMain], section, body')].map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 12000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path
