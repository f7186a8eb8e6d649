"""The floor of the browser benchmark: a bare Streamlit page that draws N trivial Plotly charts.

N comes from the ``n`` query parameter (or the ``FLOOR_CHARTS`` environment variable; default 1). A page of
Parity is timed beside this page with the same N: what Streamlit and Plotly cost before any of Parity's work.
Run by ``tools.bench_browser``: ``streamlit run tools/floor_app.py``.
"""

import os

import plotly.graph_objects as go
import streamlit as st

raw = st.query_params.get("n", os.environ.get("FLOOR_CHARTS", "1"))
n = max(1, min(int(raw), 50)) if str(raw).isdigit() else 1
st.title("Floor")
for i in range(n):
    st.plotly_chart(go.Figure(go.Scatter(x=[1, 2, 3], y=[1, 3, 2], mode="lines+markers")), key=f"floor_{i}")
