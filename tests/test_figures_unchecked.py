"""The server makes its figures without Plotly's property checks (``parity.charts.theme.CHECK_FIGURES``, off
outside the tests): every page sends the browser the same figures either way, and a misspelt property still fails
in the tests, where the checks are on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apptest import CHART_PAGES, open_page

from parity import contract
from parity.charts import theme

ROOT = Path(__file__).resolve().parent.parent

PAGES = [*CHART_PAGES, "pages/data.py"]


def _sent(page: str, monkeypatch: pytest.MonkeyPatch, checked: bool, **query: str) -> list[dict]:
    """The figures the page sends the browser (each chart's JSON, as Streamlit wrote it), parsed."""
    monkeypatch.setattr(theme, "CHECK_FIGURES", checked)
    at = open_page(page, **query)
    assert not at.exception, at.exception
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.mark.parametrize("view", ["national", "employer", "drilled"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_sends_the_same_figures_with_or_without_the_checks(sample_app, monkeypatch, page: str, view: str):
    from parity.settings import get_settings

    if view == "employer":  # their own organisation, protected numbers, other organisations unnamed
        monkeypatch.setenv("PARITY_VIEWER_ORG", "R1C")
        get_settings.cache_clear()
    # Drilled: by place of qualification, into the international graduates (where a page drills)
    query = {"by": "Place of primary qualification", "drill": contract.PMQ_REGIONS["IMG"]} if view == "drilled" else {}
    checked = _sent(page, monkeypatch, True, **query)
    unchecked = _sent(page, monkeypatch, False, **query)
    assert checked, f"{page} drew no chart"
    assert len(unchecked) == len(checked)
    for i, (a, b) in enumerate(zip(checked, unchecked, strict=True)):
        assert a == b, f"chart {i} differs at {_first_difference(a, b)}"


def _first_difference(a: object, b: object, path: str = "") -> str:
    """Where two parsed figures first differ, and how (a key only one has shows as "(none)" in the other)."""
    if isinstance(a, dict) and isinstance(b, dict):
        pairs = [(k, a.get(k, "(none)"), b.get(k, "(none)")) for k in sorted(set(a) | set(b))]
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = list(zip(range(len(a)), a, b, strict=True))
    else:
        return f"{path}: {a!r:.120} / {b!r:.120}"
    for key, x, y in pairs:
        if x != y:
            return _first_difference(x, y, f"{path}.{key}")
    return f"{path} (equal part by part: a NaN?)"


def test_the_checks_are_on_in_the_tests_and_catch_a_misspelt_property():
    assert theme.CHECK_FIGURES
    layout = theme.base_layout("A title", "A subtitle", 300)
    with pytest.raises(ValueError, match="colour"):
        theme.figure([{"type": "scatter", "x": [1], "y": [1], "marker": {"colour": "red"}}], layout)


def test_the_server_makes_figures_without_the_checks():
    """Off unless a test turns it on: a fresh interpreter, as the server starts, has it off."""
    import subprocess
    import sys

    script = "from parity.charts import theme; print(theme.CHECK_FIGURES)"
    found = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found == "False"
