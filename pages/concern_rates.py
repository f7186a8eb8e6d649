"""Placeholder: this page is being built."""

import streamlit as st

st.title("concern rates".capitalize())
st.info("This page is being built.")
