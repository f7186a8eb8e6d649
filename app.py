"""Parity: the router and picture frame. Global filters live here; pages slot into sections."""

import streamlit as st

from parity import ui
from parity.ui import signin, trail

st.set_page_config(page_title="Parity", page_icon=":material/balance:", layout="wide")
ui.check_settings()  # a wrong setting (an unknown viewer level) stops here, plainly
# Who is looking comes first: without a person allowed to see it, no page and no data is drawn.
access = signin.gate()

PAGES = {
    "Overview": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="", default=True)
    ],
    "Analysis": [
        st.Page("pages/concern_rates.py", title="Concern rates", icon=":material/groups:", url_path="concern-rates"),
        st.Page("pages/outcomes.py", title="Outcomes", icon=":material/fact_check:", url_path="outcomes"),
        st.Page("pages/durations.py", title="Durations", icon=":material/timer:", url_path="durations"),
        st.Page("pages/trends.py", title="Trends", icon=":material/monitoring:", url_path="trends"),
        st.Page("pages/pathways.py", title="Pathways", icon=":material/alt_route:", url_path="pathways"),
    ],
    "Organisations": [
        st.Page("pages/organisation.py", title="Organisation", icon=":material/apartment:", url_path="organisation")
    ],
    "Data and methods": [
        st.Page("pages/data.py", title="Data and methods", icon=":material/database:", url_path="data")
    ],
}

if signin.reads_audit(access):
    PAGES["Data and methods"].append(
        st.Page("pages/audit.py", title="Audit log", icon=":material/policy:", url_path="audit")
    )

# Streamlit's sidebar navigation marks sections up as an invalid list (a <div> straight inside the
# <ul>), so the router stays hidden and ui.navigation_links draws the same pages as links.
page = st.navigation(PAGES, position="hidden")
signin.banner(access)
db = ui.database()
if db is not None:
    # Each page its own browser title, so tabs, history and screen readers tell them apart.
    st.set_page_config(page_title=f"{page.title} · Parity")
    who = st.sidebar.container()
    ui.navigation_links(PAGES)
    chosen = ui.sidebar()
    if page.url_path != "audit":  # every other page draws charts: their code loads while the page's script runs
        ui.preload_chart_code()
    signin.identity(access, ui.org_names(), who)
    trail.set_page(page.url_path)
    trail.page_view(chosen, st.query_params.get(ui.K_DRILL))
    page.run()
