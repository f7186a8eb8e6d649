"""Figures are made once from a plain spec (``theme.figure``) with Plotly's validation on: a misspelt property
still raises, the house template is carried whole, and every chart every page sends is one Plotly accepts."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import plotly.io as pio
import pytest
from apptest import CHART_PAGES, open_page

from parity.charts import theme

PAGES = CHART_PAGES


def spec(**trace) -> tuple[list[dict], dict]:
    return [{"type": "scatter", "x": [1, 2], "y": [3, 4], **trace}], theme.base_layout("Title", "Subtitle", 300)


def test_a_misspelt_trace_property_raises():
    data, layout = spec(marker={"colour": "red"})
    with pytest.raises(ValueError, match="colour"):
        theme.figure(data, layout)


def test_a_misspelt_layout_property_or_a_bad_value_raises():
    data, layout = spec()
    with pytest.raises(ValueError, match="xaxiss"):
        theme.figure(data, {**layout, "xaxiss": {"range": [0, 1]}})
    with pytest.raises(ValueError):
        theme.figure(data, {**layout, "xaxis": {"type": "logarithmic"}})
    with pytest.raises(ValueError):
        theme.figure([{"type": "scatterr", "x": [1]}], layout)


def test_the_figure_carries_the_registered_template_as_a_copy():
    data, layout = spec()
    fig = theme.figure(data, layout)
    registered = pio.templates[theme.TEMPLATE]
    assert fig.layout.template.to_plotly_json() == registered.to_plotly_json()
    assert fig.to_dict()["layout"]["template"] == registered.to_plotly_json()
    fig.layout.template.layout.font.size = 40  # the figure's own copy: the registered template is untouched
    assert registered.layout.font.size == theme.FONT_SIZE
    assert theme.figure(data, layout).layout.template.layout.font.size == theme.FONT_SIZE
    # After the template goes in, the figure's layout is checked again as usual.
    with pytest.raises(ValueError):
        fig.layout.update(heigth=400)


def test_merge_updates_as_update_layout_does():
    layout = {"margin": {"l": 10, "t": 80}}
    legend = {"legend": {"x": 0}}
    theme.merge(layout, {"margin": {"l": 50}}, legend, {"legend": {"y": -0.1}, "shapes": [{"type": "line"}]})
    assert layout == {"margin": {"l": 50, "t": 80}, "shapes": [{"type": "line"}], "legend": {"x": 0, "y": -0.1}}
    assert legend == {"legend": {"x": 0}}  # an update given is never changed by a later one
    fig = go.Figure(layout={"margin": {"l": 10, "t": 80}})
    fig.update_layout({"margin": {"l": 50}}, legend={"x": 0})
    fig.update_layout(legend={"y": -0.1}, shapes=[{"type": "line"}])
    assert fig.to_dict()["layout"] == {**layout, "template": fig.to_dict()["layout"]["template"]}


@pytest.mark.parametrize("page", PAGES)
def test_every_chart_a_page_sends_is_valid(sample_app, page):
    """The JSON each page hands the browser, read back with validation on: a property Plotly would reject fails."""
    at = open_page(page)
    assert not at.exception, at.exception
    charts = at.get("plotly_chart")
    assert charts
    for chart in charts:
        figure = json.loads(chart.proto.spec)
        go.Figure(figure)  # raises ValueError on an unknown property or a bad value
        assert figure["layout"]["template"]["layout"]["font"]["family"] == theme.FONT
