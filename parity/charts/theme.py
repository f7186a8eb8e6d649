"""The house style, once: a registered Plotly template named "parity", the title block of every chart, and the
one place a figure is made (``figure``).

Builders assemble a plain spec (a list of trace dicts, each with its "type", and one layout dict started by
``base_layout``, which names the template) and turn it into a figure once, at the end, through ``figure``,
where each ``add_trace``, ``update_layout`` or ``add_shape`` would validate and copy the figure anew. Plotly's
checks of every property (a misspelt one raises) run where ``CHECK_FIGURES`` is on: in every test, which also
checks that a figure made without them is the same figure. The server makes figures without them: they were
half of the time to build a page's figures (Durations: 103 ms to 61 at about 1M cases). Builders set only what belongs
to their chart: ranges, category order, which axis carries a zero baseline. Fonts, colours, grid, hover
labels and the title's look come from the template.
"""

from __future__ import annotations

import textwrap

import plotly.graph_objects as go
import plotly.io as pio

from parity.charts.margins import label_margins

TEMPLATE = "parity"
# Whether ``figure`` has Plotly check each property and value. Off in the server; on in the tests (tests/conftest.py).
CHECK_FIGURES = False

# Analysis Function accessible categorical palette, in order.
PALETTE: tuple[str, ...] = ("#12436D", "#28A197", "#801650", "#F46A25", "#3D3D3D", "#A285D1")
REFERENCE_COLOUR = "#0B0C0C"
TEXT_COLOUR = "#0b0c0c"
SECONDARY_TEXT = "#505a5f"
GRID_COLOUR = "#e5e5e5"
FONT = "Arial, Helvetica, sans-serif"
FONT_SIZE = 13  # body text, tick labels, axis titles and hover labels: never below 12 px on an axis
TITLE_SIZE = 18
SUBTITLE_SIZE = 13

# Characters a line: 75 at 18 px bold and 110 at 13 px fit a main area of about 800 px (a 1280 px laptop
# screen beside the sidebar); Plotly does not wrap titles, and a longer line is cut off at the chart's edge.
TITLE_WRAP, SUBTITLE_WRAP = 75, 110
# Margins around the plot area; the top one is worked out from the title block (``title_margin``).
SIDE_MARGINS: dict[str, int] = {"l": 10, "r": 20, "b": 40}
# Pixels of the title block: the gap above the title, a title line, the gap from the title to the subtitle
# (Plotly puts the subtitle 1.6 em below the title's bounding box), a further subtitle line, and the
# gap between the subtitle and the plot area.
_TITLE_PAD, _TITLE_LINE, _SUBTITLE_GAP, _SUBTITLE_LINE, _PLOT_GAP = 12, 24, 22, 17, 26
# Plot heights handed to ``base_layout`` assume the 80-pixel top margin of a one-line title and subtitle.
_BASE_TOP = 80


def _axis() -> dict:
    return {
        "showgrid": True,
        "gridcolor": GRID_COLOUR,
        "gridwidth": 1,
        # A zero baseline is asked for where it means something (counts, rates, shares): see the builders.
        "zeroline": False,
        "zerolinecolor": TEXT_COLOUR,
        "zerolinewidth": 2,
        "showline": False,
        "ticks": "",
        "automargin": True,
        "tickfont": {"size": FONT_SIZE},
        "title": {"font": {"size": FONT_SIZE}, "standoff": 15},
    }


def _template() -> go.layout.Template:
    return go.layout.Template(
        layout={
            "font": {"family": FONT, "size": FONT_SIZE, "color": TEXT_COLOUR},
            "title": {
                "font": {"size": TITLE_SIZE, "weight": "bold", "color": TEXT_COLOUR},
                "subtitle": {"font": {"size": SUBTITLE_SIZE, "color": SECONDARY_TEXT}},
            },
            "colorway": list(PALETTE),
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "xaxis": _axis(),
            "yaxis": _axis(),
            "showlegend": False,  # a builder that needs a legend places it (``axes.legend``)
            "legend": {"font": {"size": FONT_SIZE}, "title": {"text": ""}},
            "hovermode": "closest",
            "hoverlabel": {
                "font": {"family": FONT, "size": FONT_SIZE, "color": TEXT_COLOUR},
                "bgcolor": "white",
                "bordercolor": SECONDARY_TEXT,
                "align": "left",
            },
            # Category labels that look like numbers stay categories.
            "autotypenumbers": "strict",
        },
        data={"heatmap": [go.Heatmap(colorbar={"outlinewidth": 0, "ticks": ""})]},
    )


pio.templates[TEMPLATE] = _template()


def wrap(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters, joined by Plotly's <br>."""
    return "<br>".join(textwrap.wrap(text, width)) or text


def title_with_subtitle(title: str, subtitle: str) -> dict:
    """A ``layout.title``: the finding as the title, the measure, population and period as Plotly's subtitle.

    Both are wrapped (Plotly does not wrap them); Plotly places the subtitle below the title's lines.
    """
    return {
        "text": wrap(title, TITLE_WRAP),
        "subtitle": {"text": wrap(subtitle, SUBTITLE_WRAP)},
        "x": 0,
        "xanchor": "left",
        "yref": "container",
        "y": 1,
        "yanchor": "top",
        "pad": {"t": _TITLE_PAD},
    }


def title_margin(heading: dict) -> int:
    """The top margin that fits a (wrapped) title and its subtitle above the plot area."""
    title_lines = heading["text"].count("<br>") + 1
    subtitle_lines = heading["subtitle"]["text"].count("<br>") + 1
    return _TITLE_PAD + _TITLE_LINE * title_lines + _SUBTITLE_GAP + _SUBTITLE_LINE * (subtitle_lines - 1) + _PLOT_GAP


def base_layout(title: str, subtitle: str, height: int, *, panel_titles: int = 0) -> dict:
    """A layout dict: the house template, the title block, and a figure tall enough for ``height`` plus that block.

    ``panel_titles`` reserves that many more pixels between the title block and the plot area (for the
    titles of small multiples, or axis labels along the top), without taking them from the plot.
    """
    heading = title_with_subtitle(title, subtitle)
    top = title_margin(heading) + panel_titles
    return {
        # By name: Plotly copies the registered template into the figure, already checked (a Template object
        # would be checked again; the time is the same, the name is simpler).
        "template": TEMPLATE,
        "title": heading,
        "height": height + top - _BASE_TOP,
        "margin": {**SIDE_MARGINS, "t": top},
    }


def merge(layout: dict, *updates: dict) -> dict:
    """``layout`` updated in place as Plotly's ``update_layout`` would update it: a dict merges key by key into
    the dict already there; anything else (a number, a string, a list such as shapes) replaces what was there.
    (Plotly merges a list of shapes or annotations element by element into a non-empty one: builders hand the
    whole list, old elements and new.) Dicts are copied in, never shared, so a later merge cannot change an
    update given earlier."""
    for update in updates:
        for key, value in update.items():
            if isinstance(value, dict):
                if not isinstance(layout.get(key), dict):
                    layout[key] = {}
                merge(layout[key], value)
            else:
                layout[key] = value
    return layout


def _without_unset(spec: dict) -> dict:
    """``spec`` without its properties set to None, at every depth (in lists of objects too: shapes, annotations);
    a None among an array's values (a gap in a line) is kept."""
    out = {}
    for key, value in spec.items():
        if value is None:
            continue
        if isinstance(value, dict):
            value = _without_unset(value)
        elif isinstance(value, list | tuple) and value and isinstance(value[0], dict):
            value = [_without_unset(item) if isinstance(item, dict) else item for item in value]
        out[key] = value
    return out


def figure(data: list[dict], layout: dict) -> go.Figure:
    """The figure of a spec, made once: ``data`` trace dicts (each with its "type"), ``layout`` a layout dict (from
    ``base_layout``). Where ``CHECK_FIGURES`` is on, a property Plotly does not know, or a value it does not
    accept, raises ``ValueError`` here as it would anywhere.

    A template named in ``layout`` is put in as Plotly puts in its default template: already checked when it
    was registered, it is copied in without being checked again (by name, Plotly would copy and check the
    whole template for every figure: a millisecond each, a tenth of a small chart's time). The figure carries
    the same template either way.
    """
    # Margins wide enough for the labels already: Plotly then draws the figure once, not twice (charts.margins).
    layout = {**layout, "margin": {**(layout.get("margin") or {}), **label_margins(data, layout, FONT_SIZE)}}
    if not CHECK_FIGURES:  # a property set to None is unset, as Plotly's checks would make it
        data, layout = [_without_unset(trace) for trace in data], _without_unset(layout)
    name = layout.get("template")
    if not isinstance(name, str):
        return go.Figure({"data": data, "layout": layout}, _validate=CHECK_FIGURES)
    # {}: no default template put in first
    fig = go.Figure({"data": data, "layout": {**layout, "template": {}}}, _validate=CHECK_FIGURES)
    registered = pio.templates[name]
    fig.layout._validate = False  # as plotly's BaseFigure._initialize_layout_template does for the default
    try:
        fig.layout.template = registered  # unchecked, this stores a copy of its properties
    finally:
        fig.layout._validate = fig._validate
    return fig
