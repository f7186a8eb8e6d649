"""Display tables that are not data grids: the plain Markdown table (``tables.markdown_table``)."""

from __future__ import annotations

import math

import pandas as pd
from apptest import _cells, _unescaped

from parity.tables import markdown_table


def test_a_plain_table_has_a_header_an_alignment_row_and_a_row_each():
    table = pd.DataFrame({"Financial year": ["2023/24", "2024/25"], "Cases referred": ["1,234", "*"]})
    lines = markdown_table(table).splitlines()
    assert lines[0] == "| Financial year | Cases referred |"
    assert lines[1] == "| :--- | ---: |"  # the label left, the numbers right
    assert len(lines) == 4
    assert [_unescaped(c.strip()) for c in _cells(lines[3])] == ["2024/25", "*"]


def test_a_value_is_read_as_text_never_as_markdown():
    """A file name, a suppressed count, a value with a column break, LaTeX or one of Streamlit's directives is
    shown as it is: it can neither break the table nor be drawn as emphasis, a link, a formula or a badge."""
    hostile = ["cases|extra.csv", "*", "_x_", "$1$", ":red[no]", "[a](http://x)", "<b>b</b>", "a\\b", "two\nlines"]
    text = markdown_table(pd.DataFrame({"File": hostile, "Rows": [1] * len(hostile)}))
    rows = text.splitlines()[2:]
    assert len(rows) == len(hostile)
    for row, value in zip(rows, hostile, strict=True):
        cells = [_unescaped(c.strip()) for c in _cells(row)]
        assert cells == [" ".join(value.split()), "1"]  # two cells: the "|" did not split the row
    assert "*" not in text.replace("\\*", "") and "$" not in text.replace("\\$", "")


def test_a_missing_value_is_an_empty_cell():
    text = markdown_table(pd.DataFrame({"Year": ["2024/25", None], "Share": [0.5, math.nan]}))
    assert [c.strip() for c in _cells(text.splitlines()[3])] == ["", ""]
