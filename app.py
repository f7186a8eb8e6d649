"""Parity: the router and picture frame. Global filters live here; pages slot into sections."""

import streamlit as st

from parity import ui

st.set_page_config(page_title="Parity", page_icon=":material/balance:", layout="wide")

PAGES = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="", default=True)
    ],
    "Analysis": [
        st.Page("pages/concern_rates.py", title="Concern rates", icon=":material/groups:", url_path="concern-rates"),
        st.Page("pages/outcomes.py", title="Outcomes", icon=":material/fact_check:", url_path="outcomes"),
        st.Page("pages/durations.py", title="Durations", icon=":material/timer:", url_path="durations"),
    ],
    "Organisations": [
        st.Page("pages/organisation.py", title="Organisation", icon=":material/apartment:", url_path="organisation")
    ],
    "Data and methods": [
        st.Page("pages/data.py", title="Data and methods", icon=":material/database:", url_path="data")
    ],
}

# Streamlit's sidebar navigation marks sections up as an invalid list (a <div> straight inside the
# <ul>), so the router stays hidden and ui.navigation_links draws the same pages as links.
page = st.navigation(PAGES, position="hidden")
ui.check_settings()
db = ui.database()
if db is not None:
    # Each page its own browser title, so tabs, history and screen readers tell them apart.
    st.set_page_config(page_title=f"{page.title} · Parity")
    ui.navigation_links(PAGES)
    ui.sidebar()
    page.run()
