"""A meeting pack as PowerPoint (python-pptx) and PDF (reportlab), from its parts: a title page, a summary table
and chart slides. Pure: the parts are built elsewhere (``parity.export.meeting``) from the same Views as the
screen; here they are only laid out.

Slides are 16:9 (13.33 × 7.5 inches). A chart slide has its finding as the title, the chart as an image on the
left, its table on the right (the latest rows when there are more than fit, said so beneath), and the method in the
speaker notes; the PDF, which has no notes, prints the method under the chart.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pandas as pd

# Text colours and the fill of a table's header (Analysis Function dark blue).
INK, MUTED, HEADER = "0B0C0C", "505A5F", "12436D"
# The most table rows a chart slide shows; longer tables keep their latest rows.
TABLE_ROWS = 12
SLIDE_W, SLIDE_H = 13.333, 7.5  # inches


@dataclass(frozen=True)
class TitlePage:
    title: str
    lines: tuple[str, ...]  # the filters in words, the data extract date, the viewer level, ...
    disclosure: str


@dataclass(frozen=True)
class TableSlide:
    """A slide that is a table (the icon summary): ``fills`` gives a cell's background colour by its text."""

    title: str
    table: pd.DataFrame
    note: str = ""
    fills: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChartSlide:
    title: str
    image: bytes  # PNG
    table: pd.DataFrame  # display strings
    notes: str  # the method, read by the presenter
    caption: str = ""  # measure, population and period
    footnote: str = ""  # what the PDF, which has no speaker notes, prints under the chart


@dataclass(frozen=True)
class Pack:
    title_page: TitlePage
    slides: tuple[TableSlide | ChartSlide, ...]


def _rgb(hex_colour: str):  # type: ignore[no-untyped-def]
    from pptx.dml.color import RGBColor

    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def _column_shares(table: pd.DataFrame) -> list[float]:
    """Each column's share of a table's width: by its longest word in the header and its longest cell (a header
    word is never broken), so a column of long intervals gets more room than one of short counts."""
    lengths = []
    for column in table.columns:
        header = max((len(word) for word in str(column).split()), default=1)
        words = max((len(word) for v in table[column] for word in str(v).split()), default=1)
        cells = max((len(str(v)) for v in table[column]), default=1)
        # Bold header letters are wider than the cells'; a long cell may wrap between words, never inside one.
        lengths.append(max(header * 1.4 + 2, words * 1.25 + 2, min(cells, 30) * 0.75, 6))
    total = sum(lengths)
    return [n / total for n in lengths]


def _latest_rows(table: pd.DataFrame, limit: int = TABLE_ROWS) -> tuple[pd.DataFrame, str]:
    if len(table) <= limit:
        return table, ""
    return table.tail(limit), f"Latest {limit} of {len(table)} rows; the full table is in the CSV download."


# --- PowerPoint --------------------------------------------------------------------------------


def _text_box(slide, left, top, width, height, text: str, size: int, *, bold=False, colour=INK):  # type: ignore[no-untyped-def]
    from pptx.util import Pt

    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, line in enumerate(text.split("\n")):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = line
        run.font.size = Pt(size)
        run.font.bold = bold
        run.font.color.rgb = _rgb(colour)
        run.font.name = "Arial"
    return box


def _pptx_table(slide, table: pd.DataFrame, left, top, width, size: int, fills: dict[str, str]):  # type: ignore[no-untyped-def]
    from pptx.util import Inches, Pt

    rows, cols = len(table) + 1, len(table.columns)
    shape = slide.shapes.add_table(rows, cols, left, top, width, Inches(0.3) * rows)
    grid = shape.table
    for j, share in enumerate(_column_shares(table)):
        grid.columns[j].width = int(width * share)
    for j, name in enumerate(table.columns):
        cell = grid.cell(0, j)
        cell.text = str(name)
        cell.fill.solid()
        cell.fill.fore_color.rgb = _rgb(HEADER)
    for i, values in enumerate(table.itertuples(index=False), start=1):
        for j, value in enumerate(values):
            cell = grid.cell(i, j)
            cell.text = "" if value is None else str(value)
            cell.fill.solid()
            cell.fill.fore_color.rgb = _rgb(fills.get(str(value), "FFFFFF"))
    for i in range(rows):
        for j in range(cols):
            for paragraph in grid.cell(i, j).text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(size)
                    run.font.name = "Arial"
                    run.font.bold = i == 0
                    run.font.color.rgb = _rgb("FFFFFF" if i == 0 else INK)
    return shape


def write_pptx(pack: Pack, out: Path | BinaryIO) -> None:
    """The pack as a PowerPoint file (16:9), with every slide's title in its title placeholder."""
    from pptx import Presentation
    from pptx.util import Inches, Pt

    deck = Presentation()
    deck.slide_width, deck.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    title_layout, title_only = deck.slide_layouts[0], deck.slide_layouts[5]

    page = pack.title_page
    slide = deck.slides.add_slide(title_layout)
    slide.shapes.title.text = page.title
    slide.shapes.title.left, slide.shapes.title.top = Inches(0.6), Inches(0.8)
    slide.shapes.title.width, slide.shapes.title.height = Inches(12.1), Inches(1.4)
    subtitle = slide.placeholders[1]
    subtitle.left, subtitle.top, subtitle.width, subtitle.height = Inches(0.6), Inches(2.4), Inches(12.1), Inches(2.6)
    subtitle.text = "\n".join(page.lines)
    _text_box(slide, Inches(0.6), Inches(5.4), Inches(12.1), Inches(1.5), page.disclosure, 14, colour=MUTED)

    for part in pack.slides:
        slide = deck.slides.add_slide(title_only)
        heading = slide.shapes.title
        heading.text = part.title
        heading.left, heading.top, heading.width, heading.height = Inches(0.4), Inches(0.2), Inches(12.5), Inches(1.0)
        for paragraph in heading.text_frame.paragraphs:
            for run in paragraph.runs:
                run.font.size = Pt(26)
                run.font.bold = True
                run.font.name = "Arial"
        if isinstance(part, TableSlide):
            _pptx_table(slide, part.table, Inches(0.4), Inches(1.4), Inches(12.5), 12, part.fills)
            if part.note:
                _text_box(slide, Inches(0.4), Inches(6.6), Inches(12.5), Inches(0.8), part.note, 11, colour=MUTED)
            continue
        if part.caption:
            _text_box(slide, Inches(0.4), Inches(1.15), Inches(12.5), Inches(0.4), part.caption, 12, colour=MUTED)
        slide.shapes.add_picture(io.BytesIO(part.image), Inches(0.3), Inches(1.6), width=Inches(7.6))
        shown, more = _latest_rows(part.table)
        _pptx_table(slide, shown, Inches(8.1), Inches(1.6), Inches(5.0), 8, {})
        if more:
            _text_box(slide, Inches(8.1), Inches(6.8), Inches(5.0), Inches(0.5), more, 9, colour=MUTED)
        slide.notes_slide.notes_text_frame.text = part.notes
    deck.save(out)


# --- PDF ---------------------------------------------------------------------------------------

_FONTS = (("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),)


def _fonts() -> tuple[str, str]:
    """A Unicode font when the system has DejaVu (Debian's fonts-dejavu-core), else the PDF core Helvetica."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for regular, bold in _FONTS:
        if Path(regular).is_file() and Path(bold).is_file():
            if "ParitySans" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("ParitySans", regular))
                pdfmetrics.registerFont(TTFont("ParitySans-Bold", bold))
            return "ParitySans", "ParitySans-Bold"
    return "Helvetica", "Helvetica-Bold"


def write_pdf(pack: Pack, out: Path | BinaryIO) -> None:
    """The pack as a PDF, one 16:9 page per slide, its text selectable (and readable by a screen reader)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import inch
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, Table, TableStyle

    regular, bold = _fonts()
    width, height = SLIDE_W * inch, SLIDE_H * inch
    canvas = Canvas(out if not isinstance(out, Path) else str(out), pagesize=(width, height))
    canvas.setTitle(pack.title_page.title)
    style = {
        "title": ParagraphStyle("title", fontName=bold, fontSize=24, leading=29, textColor=colors.HexColor(f"#{INK}")),
        "body": ParagraphStyle("body", fontName=regular, fontSize=16, leading=22, textColor=colors.HexColor(f"#{INK}")),
        "small": ParagraphStyle(
            "small", fontName=regular, fontSize=10, leading=13, textColor=colors.HexColor(f"#{MUTED}")
        ),
        "cell": ParagraphStyle("cell", fontName=regular, fontSize=8.5, leading=10.5),
        "head": ParagraphStyle("head", fontName=bold, fontSize=8.5, leading=10.5, textColor=colors.white),
    }

    def paragraph(text: str, kind: str, x: float, top: float, w: float) -> float:
        """Draw a paragraph whose top is ``top`` points from the page's top; return its bottom."""
        para = Paragraph(_escape(text).replace("\n", "<br/>"), style[kind])
        _, h = para.wrap(w, height)
        para.drawOn(canvas, x, height - top - h)
        return top + h

    def table(frame: pd.DataFrame, x: float, top: float, w: float, fills: dict[str, str]) -> float:
        data = [[Paragraph(_escape(str(c)), style["head"]) for c in frame.columns]]
        data += [
            [Paragraph(_escape("" if v is None else str(v)), style["cell"]) for v in row]
            for row in frame.itertuples(index=False)
        ]
        grid = Table(data, colWidths=[w * share for share in _column_shares(frame)])
        commands = [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor(f"#{HEADER}")),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#B1B4B6")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        for i, row in enumerate(frame.itertuples(index=False), start=1):
            for j, value in enumerate(row):
                if str(value) in fills:
                    commands.append(("BACKGROUND", (j, i), (j, i), colors.HexColor(f"#{fills[str(value)]}")))
        grid.setStyle(TableStyle(commands))
        _, h = grid.wrap(w, height)
        grid.drawOn(canvas, x, height - top - h)
        return top + h

    margin = 0.4 * inch
    page = pack.title_page
    bottom = paragraph(page.title, "title", margin, 0.9 * inch, width - 2 * margin)
    bottom = paragraph("\n".join(page.lines), "body", margin, bottom + 0.3 * inch, width - 2 * margin)
    paragraph(page.disclosure, "small", margin, bottom + 0.4 * inch, width - 2 * margin)
    canvas.showPage()

    for part in pack.slides:
        top = paragraph(part.title, "title", margin, 0.3 * inch, width - 2 * margin)
        if isinstance(part, TableSlide):
            bottom = table(part.table, margin, top + 0.2 * inch, width - 2 * margin, part.fills)
            if part.note:
                paragraph(part.note, "small", margin, bottom + 0.15 * inch, width - 2 * margin)
            canvas.showPage()
            continue
        if part.caption:
            top = paragraph(part.caption, "small", margin, top + 0.05 * inch, width - 2 * margin)
        image = ImageReader(io.BytesIO(part.image))
        iw, ih = image.getSize()
        chart_w = 7.6 * inch
        chart_h = min(chart_w * ih / iw, height - top - 1.4 * inch)
        chart_w = chart_h * iw / ih
        canvas.drawImage(image, margin, height - top - 0.15 * inch - chart_h, chart_w, chart_h)
        paragraph(part.footnote, "small", margin, top + 0.25 * inch + chart_h, 7.6 * inch)
        shown, more = _latest_rows(part.table)
        right = margin + 7.8 * inch
        bottom = table(shown, right, top + 0.15 * inch, width - right - margin, {})
        if more:
            paragraph(more, "small", right, bottom + 0.1 * inch, width - right - margin)
        canvas.showPage()
    canvas.save()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slide_titles(pack: Pack) -> Sequence[str]:
    return [pack.title_page.title, *(s.title for s in pack.slides)]
