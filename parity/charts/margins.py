"""Margins that already fit a figure's axis labels, so that Plotly draws it once.

Every axis of the house template has ``automargin``: Plotly draws the figure, measures its tick labels and
axis titles, and when they need more room than the margins give, grows the margins and draws the whole figure
again. With the template's narrow margins that second drawing happened to nearly every chart (a chart whose
rows are group names grew its left margin from 10 to 191 pixels), and cost the browser about 0.15 s for a
Durations survival chart (``make bench``, browser section). Here the room the labels need is worked out
before the figure leaves the server, from the widths of the characters in the template's font, as Plotly
measures them: the margins it then finds are wide enough and it draws once. ``automargin`` stays on: where an
estimate falls short (a legend that wraps onto another line in a narrow window, say: the room a legend under
the plot needs depends on the window's width, and is left to the builder) Plotly still grows the margin, as
before, and nothing is cut off.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# Advance widths of Arial (and of Liberation Sans, its metric twin, which browsers use for it where Arial is
# missing), in thousandths of the font size, by character; others take a digit's width.
_WIDTH_GROUPS: tuple[tuple[int, str], ...] = (
    (191, "'"),
    (222, "ijl‘’"),
    (260, "|"),
    (278, " !,./:;I[\\]ft·"),
    (333, "()-`r“”"),
    (334, "{}"),
    (355, '"'),
    (389, "*"),
    (469, "^"),
    (500, "Jcksvxyz"),
    (549, "≥≤"),
    (556, "#$0123456789?L_abdeghnopqu–é£"),
    (584, "+<=>~×"),
    (611, "FTZ"),
    (667, "&ABEKPSVXY"),
    (722, "CDHNRUw"),
    (778, "GOQ"),
    (833, "Mm"),
    (889, "%"),
    (944, "W"),
    (1000, "—→…"),
    (1015, "@"),
)
_WIDTHS: dict[str, int] = {char: width for width, chars in _WIDTH_GROUPS for char in chars}
_DEFAULT_WIDTH = 556
_TAG = re.compile(r"<[^>]*>")

# Pixels Plotly adds around what it measures (found by drawing the house charts in Chromium and reading back
# the margins it settled on): beside the widest tick label of a y axis; then, for an axis title, its line and
# the template's standoff; below the plot, a row of x tick labels, and with a title under them. A heatmap's
# colour bar, with its labels, needs this much on the right.
_Y_LABEL_PAD, _Y_TITLE = 13, 25
_X_LABELS, _X_LABELS_AND_TITLE = 30, 53
_COLOUR_BAR = 112
# A legend in rows under the plot runs a little past its right edge when it wraps onto a second row.
_LEGEND_RIGHT = 30
# The trace types drawn on x and y axes (a Sankey diagram has none).
_CARTESIAN = frozenset({"scatter", "bar", "heatmap", "box", "histogram"})


def text_width(text: str, size: float) -> float:
    """Pixels the widest line of ``text`` (Plotly's ``<br>`` between lines, tags such as ``<b>`` dropped) takes
    at ``size`` pixels in the template's font."""
    lines = _TAG.sub("", str(text).replace("<br>", "\n")).split("\n")
    return max(sum(_WIDTHS.get(c, _DEFAULT_WIDTH) for c in line) for line in lines) * size / 1000


def _number_label(numbers: np.ndarray, tickformat: str) -> str | None:
    """The widest tick label an axis over these numbers is likely to show (its largest magnitude, written as
    Plotly would with the axis's format: a share as a whole percentage, else up to one decimal)."""
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 0:
        return None
    largest = float(np.max(np.abs(numbers)))
    sign = "−" if float(np.min(numbers)) < 0 else ""
    if "%" in tickformat:
        return f"{sign}{largest * 100:,.0f}%"
    return f"{sign}{largest:,.1f}" if largest < 10 else f"{sign}{largest:,.0f}"


def _axis_id(key: str) -> str:
    """``yaxis2`` -> ``y2``; ``xaxis`` -> ``x``."""
    return key[0] + key[5:]


def _values_on(axis: str, data: list[dict], letter: str) -> list[np.ndarray]:
    """The values each trace puts on ``axis`` (``x``, ``y2``...) along ``letter``, one array a trace."""
    out: list[np.ndarray] = []
    for trace in data:
        if trace.get(f"{letter}axis", letter) != axis:
            continue
        values = trace.get(letter)
        if values is None or isinstance(values, str | bytes | Mapping):
            continue
        out.append(np.asarray(values).ravel())
    return out


def _labels_width(axis: Mapping[str, Any], data: list[dict], key: str, size: float) -> float | None:
    """The widest tick label of an axis: its own tick texts, or its categories, or the text or numbers its
    traces put on it; None when it is not known (then no room is reserved for it)."""
    if axis.get("ticktext") is not None:
        labels = {str(t) for t in axis["ticktext"]}
    elif axis.get("categoryarray") is not None:
        labels = {str(c) for c in axis["categoryarray"]}
    else:
        arrays = _values_on(_axis_id(key), data, key[0])
        labels = {v for a in arrays if a.dtype.kind in "OUS" for v in a.tolist() if isinstance(v, str)}
        if not labels:
            numbers = [pd.to_numeric(a, errors="coerce").astype(float) for a in arrays if a.dtype.kind in "iufO"]
            label = _number_label(np.concatenate(numbers), str(axis.get("tickformat") or "")) if numbers else None
            labels = {label} if label is not None else set()
    return max((text_width(label, size) for label in labels), default=None)


def _starts_at_edge(axis: Mapping[str, Any], layout: Mapping[str, Any], other: str) -> bool:
    """Whether the axis sits at the figure's left (or bottom) edge: the axis it is anchored to starts at 0
    (a panel further in draws its labels inside the figure, pushing no margin)."""
    anchor = axis.get("anchor")
    if not anchor or anchor == "free":
        return True
    key = f"{other}axis{anchor[1:]}"
    domain = (layout.get(key) or {}).get("domain") or [0, 1]
    return float(domain[0]) <= 0.001


def _title(axis: Mapping[str, Any]) -> str:
    title = axis.get("title")
    return str((title.get("text") if isinstance(title, Mapping) else title) or "")


def _turned(axis: Mapping[str, Any], data: list[dict], key: str, tick_size: float) -> int:
    """The pixels an x axis's labels, turned by its ``tickangle``, stand taller than a row of level ones."""
    angle = axis.get("tickangle")
    if not isinstance(angle, int | float) or angle % 180 == 0:
        return 0
    size = float((axis.get("tickfont") or {}).get("size") or tick_size)
    width = _labels_width(axis, data, key, size)
    if width is None:
        return 0
    turn = math.radians(float(angle))
    return max(0, math.ceil(width * abs(math.sin(turn)) + size * abs(math.cos(turn)) - size)) + 2


def label_margins(data: list[dict], layout: dict, tick_size: float) -> dict[str, int]:
    """The left, bottom and right margins (pixels) that the figure's tick labels, axis titles and colour bars
    need, as far as they are known: the figure's own where it asked for more."""
    margin = dict(layout.get("margin") or {})
    need: dict[str, float] = {}
    axes = {key: axis for key, axis in layout.items() if re.fullmatch(r"[xy]axis\d*", key)}
    for trace in data:  # an axis a trace is drawn on, though the layout says nothing of it
        if trace.get("type", "scatter") in _CARTESIAN:
            for letter in "xy":
                axes.setdefault(f"{letter}axis{str(trace.get(f'{letter}axis', letter))[1:]}", {})
    for key, axis in axes.items():
        if not isinstance(axis, Mapping):
            continue
        if axis.get("showticklabels") is False or axis.get("visible") is False:
            continue
        letter, other = key[0], "x" if key[0] == "y" else "y"
        if not _starts_at_edge(axis, layout, other):
            continue
        if letter == "y" and axis.get("side", "left") == "left":
            size = float((axis.get("tickfont") or {}).get("size") or tick_size)
            width = _labels_width(axis, data, key, size)
            if width is not None:
                room = math.ceil(width) + _Y_LABEL_PAD + (_Y_TITLE if _title(axis) else 0)
                need["l"] = max(need.get("l", 0), room)
        elif letter == "x" and axis.get("side", "bottom") == "bottom":
            room = (_X_LABELS_AND_TITLE if _title(axis) else _X_LABELS) + _turned(axis, data, key, tick_size)
            need["b"] = max(need.get("b", 0), room)
    if any(t.get("type") == "heatmap" and t.get("showscale") is not False for t in data):
        need["r"] = _COLOUR_BAR
    elif layout.get("showlegend") and (layout.get("legend") or {}).get("orientation") == "h":
        need["r"] = _LEGEND_RIGHT
    return {side: max(int(margin.get(side, 0)), int(room)) for side, room in need.items()}
