"""The floor of the browser benchmark: a bare Streamlit page that draws N trivial Plotly charts.

N comes from the ``n`` query parameter (or the ``FLOOR_CHARTS`` environment variable; default 1). A page of
Parity is timed beside this page with the same N: what Streamlit and Plotly cost before any of Parity's work.

With ``furnished=1`` the same page also carries the controls that every chart page of Parity must carry by the
issue that set the goal, drawn by Streamlit and nothing of Parity's: the sidebar's filters (two select boxes
for the years, six multiselects, the split and its reference, a reset button) and eight page links (hidden
navigation), a drill box, and under each chart a closed data-table expander, CSV and PNG downloads and a method
note. A page's time over this one's is what Parity's own content costs (its sentences, findings and heavier
figures), apart from what the controls cost in any Streamlit app.

Run by ``tools.bench_browser``: ``streamlit run tools/floor_app.py``.
"""

import os

import plotly.graph_objects as go
import streamlit as st

raw = st.query_params.get("n", os.environ.get("FLOOR_CHARTS", "1"))
n = max(1, min(int(raw), 50)) if str(raw).isdigit() else 1
furnished = st.query_params.get("furnished") == "1"
PAGES = 8  # as many page links as Parity's sidebar has
OPTIONS = ["First", "Second", "Third"]


def _page() -> None:
    """Every link leads back here: the floor has one page, whatever the link."""


if furnished:
    links = [st.Page(_page, title=f"Page {k + 1}", url_path=f"page-{k + 1}", default=k == 0) for k in range(PAGES)]
    st.navigation(links, position="hidden")
    for link in links:
        st.sidebar.page_link(link)
    years = st.sidebar.columns(2)
    years[0].selectbox("From", [2021, 2022, 2023], key="from")
    years[1].selectbox("To", [2021, 2022, 2023], index=2, key="to")
    for label in ("Profession", "Grade", "Region", "Organisation type", "Organisation", "Concern type"):
        st.sidebar.multiselect(label, OPTIONS, key=label, help="Narrows every chart.")
    st.sidebar.selectbox("Compare by", OPTIONS, key="split")
    st.sidebar.selectbox("Reference group", OPTIONS, key="reference")
    st.sidebar.button("Reset filters", width="stretch")
st.title("Floor")
if furnished:
    drill = st.columns([2, 3], vertical_alignment="bottom")
    drill[0].selectbox("Drill into a group", OPTIONS, index=None, placeholder="Choose a group…", key="drill")
    drill[1].caption("Or click a group's point to drill into it.")
for i in range(n):
    st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2], mode="lines+markers")), key=f"floor_{i}")
    if furnished:
        st.expander("Data table", expanded=False, key=f"table_{i}", on_change="rerun")
        below = st.columns([1, 1, 4])
        below[0].download_button("Download CSV", b"x\n1\n", file_name="floor.csv", mime="text/csv", key=f"csv_{i}")
        below[1].download_button("Download PNG", b"", file_name="floor.png", mime="image/png", key=f"png_{i}")
        below[2].caption("How the chart's numbers were worked out, in a sentence or two.")
