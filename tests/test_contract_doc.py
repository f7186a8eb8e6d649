"""The published data contract (docs/) says what parity/contract.py and the ingest do."""

from __future__ import annotations

import csv
from pathlib import Path

from parity import contract
from parity.contract import FILES
from parity.ingest import ingest
from tools import contract_doc


def test_the_page_is_generated_from_the_contract():
    assert contract_doc.DOC.read_text(encoding="utf-8") == contract_doc.render(), (
        "docs/data-contract.md is out of date: run `python -m tools.contract_doc`"
    )


def test_the_page_names_every_column_code_and_date_form():
    page = contract_doc.DOC.read_text(encoding="utf-8")
    for spec in FILES.values():
        assert f"### {spec.name}" in page
        for column in spec.columns:
            assert f"| `{column.name}` |" in page
            for code in column.vocabulary or ():
                assert f"`{code}`" in page, code
    for form in contract.DATE_FORMS:
        assert f"`{form}`" in page
    assert "`PARITY_MAX_REJECT_SHARE`" in page


def test_templates_are_the_headers_and_an_export_of_templates_is_refused_plainly(tmp_path: Path):
    for spec in FILES.values():
        path = contract_doc.TEMPLATES / f"{spec.name}.csv"
        with open(path, newline="", encoding="utf-8") as f:
            assert list(csv.reader(f)) == [list(spec.column_names)]
        assert path.read_text(encoding="utf-8") == contract_doc.template(spec)
    # the headers are right: the only complaint about the empty templates is that they are empty
    result = ingest(contract_doc.TEMPLATES, tmp_path / "p.duckdb")
    assert result.status == 2
    assert "organisations.csv has no data rows (only the header)" in result.message
    assert "missing column" not in result.message
