"""Loading a real export: UK day-first dates, the share of rows a load may lose, and `check`.

Tried as a new user would: the small export written as spreadsheet software on a UK machine writes
it (DD/MM/YYYY), and written month first (a US machine), which must never load as dates."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from parity import contract
from parity.contract import FILES
from parity.ingest import check, ingest, main
from parity.ingest.cli import check_main
from tools import testdata

ROOT = Path(__file__).resolve().parent.parent
DATE_COLUMNS = {t: [i for i, c in enumerate(spec.columns) if c.kind == "date"] for t, spec in FILES.items()}


def day_first(iso: str, pad: bool = True) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day:02d}/{d.month:02d}/{d.year}" if pad else f"{d.day}/{d.month}/{d.year}"


def month_first(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.month:02d}/{d.day:02d}/{d.year}"


def rewrite_dates(folder: Path, form, tables: tuple[str, ...] = ("cases", "case_events")) -> None:  # noqa: ANN001
    for table in tables:
        rows = [list(r) for r in testdata.ROWS[table]]
        for row in rows:
            for i in DATE_COLUMNS[table]:
                row[i] = form(row[i]) if row[i] else ""
        for old in folder.glob(f"{table}.*"):
            old.unlink()
        testdata.write_csv(folder / f"{table}.csv", list(FILES[table].column_names), rows)


def tables(db: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in FILES}


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    testdata.write_small_export(folder)
    return folder


@pytest.fixture
def iso_db(small_db: Path) -> Path:
    return small_db


def test_day_first_dates_load_as_the_same_days(export: Path, iso_db: Path, tmp_path: Path):
    rewrite_dates(export, day_first)
    db = tmp_path / "uk" / "p.duckdb"
    result = ingest(export, db)
    assert result.status == 0, result.rejects
    assert result.extract_date == testdata.LATEST_DATE
    assert tables(db) == tables(iso_db)


def test_day_first_without_leading_zeros(export: Path, iso_db: Path, tmp_path: Path):
    rewrite_dates(export, lambda v: day_first(v, pad=False))
    db = tmp_path / "uk" / "p.duckdb"
    assert ingest(export, db).status == 0
    assert tables(db) == tables(iso_db)


def test_month_first_dates_are_never_read_and_the_load_is_refused(export: Path, tmp_path: Path, small_db: Path):
    """The case from the issue: before, such an export loaded 0 cases with exit 1 and replaced the
    good database. Now the rows whose day is over 12 are rejected, and the load is refused whole."""
    served = tmp_path / "served"
    served.mkdir()
    db = served / "parity.duckdb"
    shutil.copy(small_db, db)
    before = digest(served)
    rewrite_dates(export, month_first)
    status = main([str(export), "--db", str(db)])
    assert status == 2
    assert digest(served) == before  # the previous database keeps serving
    result = ingest(export, tmp_path / "x.duckdb", max_reject_share=0.05)
    assert result.status == 2
    assert "cases.csv: " in result.message and "more than the 5% a load may lose" in result.message
    assert "is it written month first?" in result.message
    assert "--accept-rejects" in result.message
    assert "The previous database" not in result.message and "No database was written." in result.message
    assert not (tmp_path / "x.duckdb").exists()


def test_accept_rejects_loads_the_good_rows(export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rewrite_dates(export, month_first)
    db = tmp_path / "out" / "p.duckdb"
    assert main([str(export), "--db", str(db), "--accept-rejects"]) == 1
    out = capsys.readouterr().out
    assert "Most common reasons:" in out
    with duckdb.connect(str(db), read_only=True) as con:
        loaded = con.execute("SELECT count(*) FROM cases").fetchall()[0][0]
        rejected = con.execute("SELECT count(*) FROM rejects WHERE file = 'cases.csv'").fetchall()[0][0]
    # a case loads only when every one of its dates also reads as a real day month first (wrongly,
    # which is why the limit exists); every other case is listed, none is lost
    assert loaded + rejected == 12 and rejected > 6


def test_share_is_per_file_and_at_the_limit_loads(export: Path, tmp_path: Path):
    cases = [list(r) for r in testdata.ROWS["cases"]]
    cases[0][5] = "surgeon"  # 1 of 12 cases (8.3%) and its 2 events (10%)
    testdata.write_csv(export / "cases.csv", list(FILES["cases"].column_names), cases)
    assert ingest(export, tmp_path / "a.duckdb", max_reject_share=0.10).status == 1
    refused = ingest(export, tmp_path / "b.duckdb", max_reject_share=0.09)
    assert refused.status == 2
    assert "case_events.csv: 2 of 20 rows would be rejected (10.0%), more than the 9%" in refused.message
    assert "  - cases.csv:" not in refused.message  # 8.3% is within the 9% allowed
    assert "profession: not a known profession" in ingest(export, tmp_path / "c.duckdb", max_reject_share=0).message


def test_a_column_mixing_forms_is_named_plainly(export: Path, tmp_path: Path):
    cases = [list(r) for r in testdata.ROWS["cases"]]
    for row in cases[:7]:
        row[3] = day_first(row[3])
    testdata.write_csv(export / "cases.csv", list(FILES["cases"].column_names), cases)
    result = ingest(export, tmp_path / "p.duckdb", max_reject_share=0.05)
    assert result.status == 2
    note = (
        "cases.csv: referral_date mixes dates written DD/MM/YYYY (7) and YYYY-MM-DD (5); the 5 written "
        "YYYY-MM-DD were rejected. Write every date of a column in one form"
    )
    assert any(w.startswith(note) for w in result.warnings), result.warnings
    assert "not a date in the form DD/MM/YYYY (the other dates of this column are written day first)" in result.message


def test_one_date_in_the_other_form_refuses_the_load_unless_accepted(export: Path, tmp_path: Path):
    """A column mixing forms is refused with a plain message, however few are in the other form; with
    --accept-rejects (no limit) the other rows load and the odd date's row is rejected."""
    good = tmp_path / "p.duckdb"
    assert ingest(export, good).status == 0  # a database already serving
    before = good.read_bytes()
    cases = [list(r) for r in testdata.ROWS["cases"]]
    cases[0][3] = day_first(cases[0][3])
    testdata.write_csv(export / "cases.csv", list(FILES["cases"].column_names), cases)
    refused = ingest(export, good, max_reject_share=0.5)
    assert refused.status == 2
    assert "cases.csv: referral_date mixes dates written YYYY-MM-DD (11) and DD/MM/YYYY (1)" in refused.message
    assert "--accept-rejects" in refused.message and good.read_bytes() == before
    accepted = ingest(export, tmp_path / "q.duckdb", max_reject_share=None)
    assert accepted.status == 1 and (accepted.rejects["file"] == "cases.csv").sum() == 1  # its events follow it


def test_contract_names_both_forms():
    assert list(contract.DATE_FORMS) == ["YYYY-MM-DD", "DD/MM/YYYY"]


# --- check: the same report, nothing written ---------------------------------------------------


def test_check_writes_nothing_and_reports_like_ingest(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    cases = [list(r) for r in testdata.ROWS["cases"]]
    cases[0][5] = "surgeon"
    testdata.write_csv(export / "cases.csv", list(FILES["cases"].column_names), cases)
    before = digest(export)
    monkeypatch.chdir(tmp_path)
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    assert check_main([str(export), "--accept-rejects"]) == 1
    checked = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.rglob("*")) == listing and digest(export) == before
    assert "file               read  loaded  rejected\n" in checked
    assert "cases.csv            12      11         1\n" in checked
    assert "3 row(s) would be rejected; an ingest would load the other rows. Nothing was written." in checked
    db = tmp_path / "db" / "p.duckdb"
    assert main([str(export), "--db", str(db), "--accept-rejects"]) == 1
    ingested = capsys.readouterr().out
    # the same table of counts and the same reasons
    table = lambda text: text[text.index("file ") : text.index("\n\n", text.index("file "))]  # noqa: E731
    assert table(checked) == table(ingested)
    reasons = lambda text: text[text.index("Most common") :].split("\n3 row")[0]  # noqa: E731
    assert reasons(checked) == reasons(ingested)


def test_check_refuses_as_ingest_would_and_writes_the_report_asked_for(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rewrite_dates(export, month_first)
    report = tmp_path / "rejects.csv"
    assert check_main([str(export), "--report", str(report)]) == 2
    err = capsys.readouterr().err
    assert "An ingest of this export would be refused" in err and "Nothing was written." in err
    assert report.read_text().startswith("file,line,column,value,reason\n")
    assert len(report.read_text().splitlines()) > 10
    assert check(export).status == 1  # no limit given: the rows are rejected, the rest would load


def test_check_of_a_clean_export_and_a_missing_folder(export: Path, tmp_path: Path, capsys):  # noqa: ANN001
    assert check_main([str(export)]) == 0
    assert "All 65 rows would load. Nothing was written." in capsys.readouterr().out
    assert check_main([str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_check_as_a_module(export: Path):
    done = subprocess.run(
        [sys.executable, "-m", "parity", "check", str(export)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert "Checked" in done.stdout and "All 65 rows would load." in done.stdout
