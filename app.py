"""Parity: the router and picture frame. Global filters live here; pages slot into sections."""

import streamlit as st

from parity import ui

st.set_page_config(page_title="Parity", page_icon=":material/balance:", layout="wide")

PAGES = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="", default=True)
    ],
    "Data and methods": [
        st.Page("pages/data.py", title="Data and methods", icon=":material/database:", url_path="data")
    ],
}

db = ui.database()
if db is not None:
    ui.sidebar()
    st.navigation(PAGES).run()
else:
    st.navigation(PAGES, position="hidden")
