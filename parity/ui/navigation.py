"""The links to every page, drawn in the sidebar."""

from __future__ import annotations

from typing import Any

import streamlit as st


def navigation_links(pages: dict[str, list[Any]]) -> None:
    """The links to every page (``st.Page`` objects, by section), drawn in the sidebar.

    Streamlit's own sidebar navigation puts each section's header as a ``<div>`` straight inside
    its ``<ul>``, which assistive technology cannot read as a list (axe: ``list``, ``listitem``).
    Page links carry no list markup and each is one Tab stop. The current page's link is only
    highlighted (Streamlit sets no ``aria-current`` on it); the browser title and the page's
    heading name the page.
    """
    bar = st.sidebar
    for section, section_pages in pages.items():
        bar.caption(f"**{section}**")
        for page in section_pages:
            bar.page_link(page)
