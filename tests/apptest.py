"""Helpers for page tests in Streamlit's AppTest: open the real router on a page, read what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent


def open_page(page: str | None = None, **query: str | list[str]) -> AppTest:
    """Run app.py with URL parameters (as a link would carry them), then switch to ``page`` if given."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()  # the router draws the sidebar (the URL's filters) and its default page
    return at.switch_page(page).run() if page else at


# A data table's expander (parity.ui.blocks.data_table) has the widget key "<chart key>_table_open".
_TABLE_EXPANDER = re.compile(r"^\$\$ID-[0-9a-f]+-(.+_table_open)$")


def open_tables(at: AppTest) -> AppTest:
    """Open every chart's "Data table" expander, as a person would, and run the page again if any was closed.

    A chart's data table is drawn only once its expander is opened (the browser is spared the grid on visits
    that never open one), so a test reads the tables of a page with every one of them open. In the browser only
    the table's fragment runs again; here the whole page does (AppTest runs no fragment alone)."""
    keys = [m.group(1) for e in at.get("expander") if (m := _TABLE_EXPANDER.match(e.proto.id))]
    closed = [key for key in keys if not (key in at.session_state and at.session_state[key])]
    for key in closed:
        at.session_state[key] = True
    return at.run() if closed else at


def chart_blocks(at: AppTest) -> list[str]:
    """The keys of the chart blocks drawn on the page, in order (each block's data table names it)."""
    return [
        m.group(1).removesuffix("_table_open") for e in at.get("expander") if (m := _TABLE_EXPANDER.match(e.proto.id))
    ]


def choose_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open the tab ``label`` of the tabs kept under ``key`` (``parity.ui.open_tab``), as a click would."""
    at.session_state[key] = label
    return at.run()


def texts(at: AppTest) -> str:
    """Every piece of text a person reads on the page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [t.value for t in at.title] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def plain_tables(at: AppTest) -> list[pd.DataFrame]:
    """The plain tables on the page (``ui.plain_table``: Markdown tables), read back cell by cell as text."""
    found = []
    for element in at.markdown:
        lines = [line for line in str(element.value).splitlines() if line.startswith("|")]
        if len(lines) < 2 or not set(lines[1]) <= set("|:- "):
            continue
        rows = [[_unescaped(cell.strip()) for cell in _cells(line)] for line in lines]
        found.append(pd.DataFrame(rows[2:], columns=rows[0]))
    return found


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row: split at every "|" not escaped by a backslash."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def _unescaped(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in open_tables(at).dataframe]


# The pages that draw charts from a View, in the app's order (the Data page and the audit page draw their own).
CHART_PAGES = [
    "pages/overview.py",
    "pages/concern_rates.py",
    "pages/outcomes.py",
    "pages/durations.py",
    "pages/organisation.py",
    "pages/trends.py",
    "pages/pathways.py",
]
