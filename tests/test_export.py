"""The meeting pack (parity.export): the headless CLI writes a PowerPoint and a PDF that read back with the
filters, the extract date, the viewer level and each chart's finding; a protected pack carries protected counts
only; without Chromium it says so plainly."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from pypdf import PdfReader

from parity import wording
from parity.db import QueryRunner
from parity.disclosure import Rule
from parity.export import cli, images, meeting
from parity.export.pack import ChartSlide, write_pdf, write_pptx
from parity.filters import Filters
from parity.measures import INDICATORS, trends_view
from parity.viewer import FULL, PROTECTED

CHROMIUM = Path("/usr/bin/chromium")
EXTRACT_DATE = "2025-03-31"


def _tiny_png() -> bytes:
    """A 2×2 white PNG, for packs whose pictures are not what a test is about (drawing ten charts is slow)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (2, 2), "white").save(out, format="PNG")
    return out.getvalue()


def _needs_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it as root)")


def _slide_texts(slide) -> str:  # type: ignore[no-untyped-def]
    parts = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            parts.append(shape.text_frame.text)
        if shape.has_table:
            parts += [cell.text for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def _tables(deck) -> list[pd.DataFrame]:  # type: ignore[no-untyped-def]
    found = []
    for slide in deck.slides:
        for shape in slide.shapes:
            if shape.has_table:
                rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
                found.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return found


@pytest.fixture(scope="module")
def cli_pack(sample_db: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``python -m parity pack`` on the sample data for doctors from 2016/17, PowerPoint and PDF."""
    _needs_chromium()
    folder = tmp_path_factory.mktemp("pack")
    pptx, pdf = folder / "board.pptx", folder / "board.pdf"
    status = cli.main(
        ["--db", str(sample_db), "--out", str(pptx), "--pdf", str(pdf), "--profession", "doctor", "--from", "2016/17"]
    )
    assert status == 0
    return pptx, pdf


def test_pptx_reads_back_with_titles_filters_and_extract_date(cli_pack, sample_db: Path) -> None:
    deck = Presentation(str(cli_pack[0]))
    titles = [slide.shapes.title.text for slide in deck.slides]
    assert len(titles) == 2 + len(INDICATORS)
    assert titles[0] == meeting.PACK_TITLE
    assert titles[1].startswith("Summary")
    with QueryRunner(sample_db) as db:
        view = trends_view(db, Filters(fy_from=2016, professions=("doctor",)), viewer=FULL)
    findings = [meeting.indicator_block(view, i.key, "").title for i in INDICATORS]
    assert titles[2:] == findings
    first = _slide_texts(deck.slides[0])
    assert "Filters: Doctors, 2016/17 to latest year, all regions" in first
    assert f"Data extract date: {EXTRACT_DATE}" in first
    assert "Viewer level: full" in first and "Exact numbers" in first
    # The method is in the speaker notes of each chart slide.
    for slide in list(deck.slides)[2:]:
        assert "XmR chart as Making Data Count" in slide.notes_slide.notes_text_frame.text
        assert any(shape.shape_type == 13 for shape in slide.shapes)  # a picture: the chart
    summary = _tables(deck)[0]
    assert list(summary["Indicator"]) == [i.label for i in INDICATORS]


def test_pdf_text_carries_the_same(cli_pack) -> None:
    reader = PdfReader(str(cli_pack[1]))
    assert len(reader.pages) == 2 + len(INDICATORS)
    first = reader.pages[0].extract_text()
    assert "Filters: Doctors, 2016/17 to latest year, all regions" in first
    assert f"Data extract date: {EXTRACT_DATE}" in first
    assert "Viewer level: full" in first
    deck = Presentation(str(cli_pack[0]))
    for page, slide in zip(reader.pages[2:], list(deck.slides)[2:], strict=True):
        text = " ".join(page.extract_text().split())
        assert " ".join(slide.shapes.title.text.split()) in text


def test_planted_fall_is_the_first_chart_slide_finding(cli_pack) -> None:
    title = Presentation(str(cli_pack[0])).slides[2].shapes.title.text
    assert title.startswith("Relative likelihood of referral, ethnic minority vs White: fell to")
    assert title.endswith("special-cause improvement")


@pytest.fixture(scope="module")
def protected_pack(sample_db: Path) -> tuple[Presentation, str, trends_view]:
    """A protected pack below national level (London, by quarter), charts replaced by a tiny picture."""
    with QueryRunner(sample_db) as db:
        view = trends_view(db, Filters(regions=("London",)), period="quarter", viewer=PROTECTED)
    original = meeting.render_pngs
    meeting.render_pngs = lambda figures, browser, **_: [_tiny_png()] * len(figures)  # type: ignore[assignment]
    try:
        pack = meeting.build_pack(view, filters_text="London", rule=Rule(), browser=CHROMIUM)
    finally:
        meeting.render_pngs = original
    pptx, pdf = io.BytesIO(), io.BytesIO()
    write_pptx(pack, pptx)
    write_pdf(pack, pdf)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.getvalue())).pages)
    return Presentation(io.BytesIO(pptx.getvalue())), text, view


COUNT_COLUMNS = ("Referrals", "Reference", "Reaching it")


def test_protected_pack_has_no_small_or_exact_count(protected_pack, sample_db: Path) -> None:
    deck, _, view = protected_pack
    assert "Viewer level: protected" in _slide_texts(deck.slides[0])
    assert "counts of 1 to 7 show as *" in _slide_texts(deck.slides[0])
    counts = [
        value for table in _tables(deck) for column in COUNT_COLUMNS if column in table for value in table[column]
    ]
    assert counts and "*" in counts
    numbers = [int(v.replace(",", "")) for v in counts if v != "*"]
    assert not [n for n in numbers if 1 <= n <= 7]
    assert all(n % 5 == 0 for n in numbers)
    # And the exact counts behind them were small and not all multiples of 5: protection did something.
    with QueryRunner(sample_db) as db:
        exact = trends_view(db, Filters(regions=("London",)), period="quarter", viewer=FULL)
    events = exact.series["rl_minority"]["ref_events"]
    assert (events % 5 != 0).any() and (events <= 7).any()


def test_protected_pdf_has_no_small_count(protected_pack) -> None:
    deck, text, _ = protected_pack
    assert "Viewer level: protected" in text
    for table in _tables(deck)[1:]:
        for column in COUNT_COLUMNS:
            if column in table:
                assert not set(table[column]) & {str(n) for n in range(1, 8)}


def test_slide_tables_keep_the_latest_rows_and_say_so(protected_pack) -> None:
    deck, _, _ = protected_pack
    slide = deck.slides[2]
    assert "Latest 12 of 40 rows" in _slide_texts(slide)
    table = _tables(deck)[1]
    assert table["Period"].iloc[-1] == "2024/25 Q4"


def test_without_chromium_the_cli_says_so(sample_db: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_CHROMIUM_PATH", str(tmp_path / "none"))
    get_settings.cache_clear()
    try:
        status = cli.main(["--db", str(sample_db), "--out", str(tmp_path / "x.pptx")])
    finally:
        get_settings.cache_clear()
    assert status == 3
    assert "Chromium is not installed" in capsys.readouterr().err
    assert not (tmp_path / "x.pptx").exists()
    with pytest.raises(images.ChromiumMissing, match="apt-get install chromium"):
        images.render_pngs([], tmp_path / "none")


def test_cli_refuses_bad_arguments(sample_db: Path, tmp_path: Path, capsys) -> None:
    assert cli.main(["--db", str(sample_db), "--out", str(tmp_path / "x.ppt")]) == 2
    assert cli.main(["--db", str(sample_db), "--out", str(tmp_path / "x.pptx"), "--rebase", "spring"]) == 2
    assert cli.main(["--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "x.pptx")]) == 2
    assert "no database" in capsys.readouterr().err


def test_a_chart_renders_as_png() -> None:
    _needs_chromium()
    import plotly.graph_objects as go

    png = images.render_png(go.Figure(go.Scatter(x=[1, 2], y=[1, 2])), CHROMIUM, width=300, height=200, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_png_keeps_the_legend_and_its_title() -> None:
    """The PNG (a chart block's "Download PNG" and the pack) is drawn from the figure itself: its legend
    entries and legend title are in the image, not dropped on the way."""
    _needs_chromium()
    import plotly.graph_objects as go

    def figure(legend_title: str) -> go.Figure:
        fig = go.Figure([go.Scatter(x=[1, 2], y=[1, 2], name="White"), go.Scatter(x=[1, 2], y=[2, 1], name="Asian")])
        return fig.update_layout(showlegend=True, legend_title_text=legend_title, template="parity")

    plain, titled = images.render_pngs([figure(""), figure("Ethnic group")], CHROMIUM, width=500, height=300, scale=1)
    assert plain[:8] == titled[:8] == b"\x89PNG\r\n\x1a\n"
    assert plain != titled  # the legend title is drawn


def test_icon_words_cover_every_icon() -> None:
    assert set(wording.VARIATION_WORDS) == {"common_cause", "improvement", "concern", "neutral"}
    assert set(wording.ASSURANCE_WORDS) == {"pass", "fail", "inconsistent"}
    assert set(meeting.ICON_FILLS) <= set(wording.VARIATION_WORDS.values()) | set(wording.ASSURANCE_WORDS.values())
    assert re.search(r"\bBAME\b", meeting.disclosure_statement(True, Rule())) is None
    assert isinstance(ChartSlide("t", b"", pd.DataFrame(), "n").footnote, str)
