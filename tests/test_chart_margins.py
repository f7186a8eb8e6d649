"""Margins worked out from a figure's labels (parity.charts.margins), so that Plotly draws each chart once: the
widths of text as Chromium measured them, the room each kind of label needs, and a margin never narrowed."""

from __future__ import annotations

import numpy as np
import pytest

from parity import contract
from parity.charts.margins import label_margins, text_width
from parity.charts.theme import base_layout, figure

# Widths in pixels at 13 px, read back from Chromium (SVG getBBox of Plotly's tick labels, Liberation Sans).
MEASURED = {
    "Mixed or multiple ethnic groups": 180,
    "Referral → formal investigation without informal resolution first": 358,
    "100%": 34,
    "10%": 26,
    "0.8": 18,
}


@pytest.mark.parametrize(("text", "pixels"), MEASURED.items())
def test_text_widths_are_those_the_browser_measures(text: str, pixels: int):
    assert abs(text_width(text, 13) - pixels) <= 1


def test_a_label_is_as_wide_as_its_widest_line_without_tags():
    two_lines = "Formal investigation<br><b>without informal resolution first</b>"
    assert text_width(two_lines, 13) == text_width("without informal resolution first", 13)
    assert text_width("M", 26) == 2 * text_width("M", 13) > text_width("i", 26)


def test_rows_of_group_names_reserve_the_widest_name_on_the_left():
    groups = ["White", "Mixed or multiple ethnic groups", "Asian or Asian British"]
    data = [{"type": "scatter", "x": [1.0, 2.0, 3.0], "y": groups}]
    layout = {"margin": {"l": 10, "r": 20, "b": 40}, "xaxis": {"title": {"text": "Rate"}}, "yaxis": {}}
    margins = label_margins(data, layout, 13)
    assert margins["l"] == 180 + 13  # the widest name, and the pad Plotly adds beside it (as drawn: 193)
    assert margins["b"] == 53  # a row of numbers and the axis title under it
    assert "r" not in margins  # nothing on the right: the figure's own margin stands


def test_a_numeric_axis_with_a_title_reserves_its_numbers_and_the_title():
    data = [{"type": "scatter", "x": [0, 1], "y": np.array([0.02, 0.155])}]
    layout = {"margin": {"l": 10}, "yaxis": {"tickformat": ".0%", "title": {"text": "Share still open"}}}
    assert label_margins(data, layout, 13)["l"] == int(np.ceil(text_width("16%", 13))) + 13 + 25


def test_an_axis_of_its_own_tick_texts_and_a_panel_further_in():
    layout = {
        "margin": {"l": 10},
        "xaxis": {"domain": [0, 0.45]},
        "xaxis2": {"domain": [0.55, 1]},
        "yaxis": {"tickvals": [0, 1], "ticktext": ["A", "Longest label here"]},
        "yaxis2": {"anchor": "x2", "categoryarray": ["A much, much longer label in the second panel"]},
    }
    # The second panel's labels sit inside the figure, between the panels: no margin for them.
    assert label_margins([], layout, 13)["l"] == int(np.ceil(text_width("Longest label here", 13))) + 13


def test_a_margin_is_never_narrowed_and_hidden_labels_take_no_room():
    data = [{"type": "scatter", "x": [1], "y": ["Short"]}]
    layout = {"margin": {"l": 400, "b": 90}, "xaxis": {"showticklabels": False}, "yaxis": {}}
    assert label_margins(data, layout, 13) == {"l": 400}


def test_a_heatmap_keeps_room_for_its_colour_bar():
    data = [{"type": "heatmap", "z": [[1, 2]], "x": ["a", "b"], "y": ["Row"]}]
    assert label_margins(data, {"margin": {"r": 20}, "yaxis": {}}, 13)["r"] == 112
    hidden = [{**data[0], "showscale": False}]
    assert "r" not in label_margins(hidden, {"margin": {"r": 20}, "yaxis": {}}, 13)


def test_every_figure_is_made_with_those_margins():
    groups = list(contract.SPLITS["ethnic_group"].groups)
    fig = figure(
        [{"type": "scatter", "x": list(range(len(groups))), "y": groups}], base_layout("Title", "Subtitle", 300)
    )
    widest = max(text_width(g, 13) for g in groups)
    assert fig.layout.margin.l == int(np.ceil(widest)) + 13
    assert fig.layout.margin.r == 20  # the template's own, kept


def test_a_legend_in_rows_under_the_plot_keeps_a_little_room_on_the_right():
    layout = {"margin": {"r": 20}, "showlegend": True, "legend": {"orientation": "h"}}
    assert label_margins([], layout, 13) == {"r": 30}
    assert label_margins([], {**layout, "showlegend": False}, 13) == {}


def test_turned_labels_under_the_plot_take_their_height():
    years = [f"{y}/{str(y + 1)[2:]}" for y in range(2015, 2025)]
    level = {"margin": {"b": 20}, "xaxis": {"categoryarray": years, "title": {"text": "Financial year"}}}
    turned = {**level, "xaxis": {**level["xaxis"], "tickangle": -45}}
    assert label_margins([], level, 13)["b"] == 53
    # As drawn in Chromium, the panels of concern rates by year needed 84 pixels under them: enough, and at most
    # a pixel or two more.
    assert 84 <= label_margins([], turned, 13)["b"] <= 86


def test_numbers_with_gaps_still_reserve_their_widest_label():
    data = [{"type": "scatter", "x": [1, 2, 3], "y": [0.5, None, 12.25]}]
    layout = {"margin": {"l": 10}, "yaxis": {}}
    assert label_margins(data, layout, 13)["l"] == int(np.ceil(text_width("12", 13))) + 13
