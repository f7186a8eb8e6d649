"""Helpers for page tests in Streamlit's AppTest: open the real router on a page, read what it shows."""

from __future__ import annotations

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


def texts(at: AppTest) -> str:
    """Every piece of text a person reads on the page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    parts += [w.value for w in at.warning] + [t.value for t in at.title] + [s.value for s in at.subheader]
    return "\n".join(str(p) for p in parts)


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


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
