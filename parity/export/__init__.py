"""Exports (layer 7, pure: no Streamlit): charts as PNG images and the meeting pack as PowerPoint and PDF.

- ``images``: Plotly figures drawn as PNG by kaleido in headless Chromium;
- ``pack``: a pack's parts laid out as a PowerPoint (python-pptx) and a PDF (reportlab);
- ``meeting``: the meeting pack's parts from the Trends View (the same numbers as the screen);
- ``cli``: ``python -m parity pack``.
"""
