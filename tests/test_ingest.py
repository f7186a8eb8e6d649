"""Ingest: exit statuses, rejects (file, line, column, value, reason), atomicity and determinism.

Every load here also checks that no row was lost: per file, rows read = loaded + rejected, and
where the test knows the rows it wrote, the loaded tables hold exactly the rows not rejected.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parity.contract import FILES, SCHEMA_VERSION, STAGE_BITS
from parity.ingest import IngestResult, RowCountMismatch, build, ingest, main, sources
from tools import testdata

ROOT = Path(__file__).resolve().parent.parent
HEADERS = {table: list(spec.column_names) for table, spec in FILES.items()}
TABLES = list(FILES)

EXPECTED_SCHEMA = {
    "organisations": "org_code VARCHAR, org_name VARCHAR, org_type VARCHAR, region VARCHAR",
    "workforce": (
        "financial_year VARCHAR, fy_start INTEGER, org_code VARCHAR, profession VARCHAR, ethnic_category VARCHAR, "
        "pmq_region VARCHAR, gender VARCHAR, age_band VARCHAR, headcount INTEGER, region VARCHAR, org_type VARCHAR, "
        "ethnic_group VARCHAR, ethnic_minority VARCHAR, uk_graduate VARCHAR, ethnicity_pmq VARCHAR, "
        "ethnic_category_label VARCHAR, pmq_label VARCHAR, gender_label VARCHAR, age_band_label VARCHAR, "
        "record_key SMALLINT"
    ),
    "cases": (
        "case_id VARCHAR, practitioner_id VARCHAR, org_code VARCHAR, referral_date DATE, closure_date DATE, "
        "profession VARCHAR, grade VARCHAR, gender VARCHAR, age_band VARCHAR, ethnic_category VARCHAR, "
        "pmq_region VARCHAR, concern_types VARCHAR[], outcome VARCHAR, financial_year VARCHAR, fy_start INTEGER, "
        "region VARCHAR, org_type VARCHAR, ethnic_group VARCHAR, ethnic_minority VARCHAR, uk_graduate VARCHAR, "
        "ethnicity_pmq VARCHAR, ethnic_category_label VARCHAR, pmq_label VARCHAR, gender_label VARCHAR, "
        "age_band_label VARCHAR, record_key SMALLINT, stage_mask USMALLINT, formal_without_informal BOOLEAN"
    ),
    "case_events": "case_id VARCHAR, stage VARCHAR, start_date DATE, end_date DATE",
    "rejects": "file VARCHAR, line BIGINT, column VARCHAR, value VARCHAR, reason VARCHAR",
    "load_summary": "file VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT",
    "meta": "key VARCHAR, value VARCHAR",
    # Derived from the workforce when the database is written (parity/macros.sql), for the rates' speed.
    "workforce_years": "org_code VARCHAR, fy_start INTEGER",
    "workforce_groups": (
        "by_split VARCHAR, org_code VARCHAR, fy_start INTEGER, profession VARCHAR, region VARCHAR, org_type VARCHAR, "
        "grp VARCHAR, headcount BIGINT, record_key BIGINT"
    ),
}


# --- Helpers -----------------------------------------------------------------------------------


def rows_of(table: str) -> list[list[str]]:
    return [list(row) for row in testdata.ROWS[table]]


def write(folder: Path, table: str, rows: list[list[str]], header: list[str] | None = None) -> Path:
    """Replace a table's file with <table>.csv holding these rows."""
    for old in folder.glob(f"{table}.*"):
        old.unlink()
    path = folder / f"{table}.csv"
    testdata.write_csv(path, header or HEADERS[table], rows)
    return path


def export(tmp_path: Path, fmt: str = "csv", **tables: list[list[str]]) -> Path:
    """The small export, with some tables replaced by the given rows."""
    folder = tmp_path / "export"
    testdata.write_small_export(folder, fmt)
    for table, rows in tables.items():
        write(folder, table, rows)
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(folder: Path, db: Path, **kwargs: object) -> IngestResult:
    result = ingest(folder, db, **kwargs)
    for counts in result.files:
        assert counts.rows_read == counts.rows_loaded + counts.rows_rejected, counts
        rejected = result.rejects[result.rejects.file == counts.file]
        assert len(rejected) == counts.rows_rejected, counts
        assert rejected.line.is_unique, f"{counts.file}: one reject per row"
    return result


def rejects(result: IngestResult) -> list[tuple]:
    """(file, line, column, value) of every reject, in order."""
    return [tuple(r) for r in result.rejects[["file", "line", "column", "value"]].itertuples(index=False)]


def reason(result: IngestResult, file: str, line: int) -> str:
    found = result.rejects[(result.rejects.file == file) & (result.rejects.line == line)]
    assert len(found) == 1, f"no single reject at {file} line {line}:\n{result.rejects.to_string()}"
    return found.reason.iloc[0]


def loaded_as_text(db: Path, table: str) -> list[tuple[str, ...]]:
    """The contract columns of a loaded table, as the text they were written as ("" for NULL)."""
    columns = [
        "array_to_string(concern_types, ';')" if c == "concern_types" else f"coalesce(CAST({c} AS VARCHAR), '')"
        for c in HEADERS[table]
    ]
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(con.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())


def assert_good_rows_loaded(db: Path, result: IngestResult, **tables: list[list[str]]) -> None:
    """Each row written (row i on line i + 2) is loaded exactly when it was not rejected."""
    for table, rows in tables.items():
        file = f"{table}.csv"
        rejected = set(result.rejects[result.rejects.file == file].line)
        expected = sorted(tuple(row) for i, row in enumerate(rows) if i + 2 not in rejected)
        assert loaded_as_text(db, table) == expected, table


def all_tables(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows in stored order."""
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f"SELECT * FROM {t}").fetchall() for t in [*TABLES, "rejects", "load_summary", "meta"]}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "out" / "parity.duckdb"


@pytest.fixture(scope="module")
def clean_load(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestResult]:
    folder = tmp_path_factory.mktemp("clean") / "export"
    testdata.write_small_export(folder)
    path = folder.parent / "clean.duckdb"
    return path, load(folder, path)


# --- The small export loads ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "parquet"])
def test_small_export_loads_with_no_rejects(tmp_path: Path, db: Path, fmt: str):
    result = load(export(tmp_path, fmt), db)
    assert result.status == 0, result.message
    assert result.rejects.empty and result.warnings == []
    assert [(c.file, c.rows_read, c.rows_loaded) for c in result.files] == [
        (f"{t}.{fmt}", len(testdata.ROWS[t]), len(testdata.ROWS[t])) for t in TABLES
    ]
    for table, rows in testdata.ROWS.items():
        assert loaded_as_text(db, table) == sorted(rows)
    assert result.rejects_path == db.with_name("parity_rejects.csv")
    assert result.rejects_path.read_text() == "file,line,column,value,reason\n"


def test_schema_is_exactly_the_documented_one(clean_load: tuple[Path, IngestResult]):
    path, _ = clean_load
    with duckdb.connect(str(path), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert tables == set(EXPECTED_SCHEMA)
        for table, expected in EXPECTED_SCHEMA.items():
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
                "ORDER BY ordinal_position",
                {"t": table},
            ).fetchall()
            assert ", ".join(f"{c} {t}" for c, t in columns) == expected


def test_record_keys_are_fixed_and_in_range(clean_load: tuple[Path, IngestResult], tmp_path: Path):
    """Disclosure control's record keys: 0 to 255, the same for the same record at every load."""
    path, _ = clean_load
    again = tmp_path / "again.duckdb"
    assert load(path.parent / "export", again).status == 0
    query = "SELECT case_id, record_key FROM cases ORDER BY case_id"
    wquery = "SELECT financial_year, org_code, ethnic_category, record_key FROM workforce ORDER BY ALL"
    with duckdb.connect(str(path), read_only=True) as a, duckdb.connect(str(again), read_only=True) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        assert a.execute(wquery).fetchall() == b.execute(wquery).fetchall()
        keys = [k for (_, k) in a.execute(query).fetchall()]
    assert all(0 <= k < 256 for k in keys) and len(set(keys)) > 1


def test_meta_and_load_summary(clean_load: tuple[Path, IngestResult]):
    path, result = clean_load
    with duckdb.connect(str(path), read_only=True) as con:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        summary = con.execute("SELECT * FROM load_summary").fetchall()
    assert meta["extract_date"] == testdata.LATEST_DATE.isoformat() == result.extract_date.isoformat()
    assert meta["schema_version"] == SCHEMA_VERSION
    assert len(meta["source_sha256"]) == 64
    assert summary == [(c.file, c.rows_read, c.rows_loaded, c.rows_rejected) for c in result.files]


def test_derived_columns_for_known_rows(clean_load: tuple[Path, IngestResult]):
    path, _ = clean_load
    with duckdb.connect(str(path), read_only=True) as con:
        cases = {
            row[0]: row[1:]
            for row in con.execute(
                "SELECT case_id, financial_year, fy_start, region, org_type, ethnic_group, ethnic_minority, "
                "uk_graduate, ethnicity_pmq, ethnic_category_label, pmq_label, gender_label, age_band_label, "
                "concern_types FROM cases"
            ).fetchall()
        }
        workforce = con.execute(
            "SELECT fy_start, region, ethnic_group, pmq_label, headcount FROM workforce "
            "WHERE financial_year = '2023/24' AND org_code = 'Q71' AND ethnic_category = 'Z'"
        ).fetchall()
    # 31 March 2023 is in 2022/23; 1 April 2023 starts 2023/24.
    assert cases["C0003"][:2] == ("2022/23", 2022)
    assert cases["C0004"] == (
        "2023/24", 2023, "North East and Yorkshire", "mental_health_trust", "White", "White", "UK graduate",
        "White · UK graduate", "White British", "UK graduate", "Female", "35 to 44", ["clinical", "probity"],
    )  # fmt: skip
    assert cases["C0001"][4:8] == (
        "Asian or Asian British",
        "Ethnic minority (excluding White minorities)",
        "Non-UK graduate (EEA or IMG)",
        "Asian or Asian British · International medical graduate (IMG)",
    )
    assert cases["C0006"][4:] == (
        "Not stated", "Not stated", "Place of qualification not known", "Not stated · Place of qualification not known",
        "Not stated", "Place of qualification not known", "Female", "Not known", ["probity"],
    )  # fmt: skip
    assert workforce == [(2023, "London", "Not stated", "Place of qualification not known", 3)]


def test_loading_twice_gives_identical_tables(tmp_path: Path):
    folder = export(tmp_path)
    first, second = tmp_path / "a" / "p.duckdb", tmp_path / "b" / "p.duckdb"
    load(folder, first)
    load(folder, second)
    assert all_tables(first) == all_tables(second)
    load(folder, first)  # over an existing database
    assert all_tables(first) == all_tables(second)


def test_tables_are_sorted_by_key_whatever_the_file_order(tmp_path: Path, clean_load: tuple[Path, IngestResult]):
    shuffled = {t: rows_of(t)[::-1] for t in TABLES}
    db = tmp_path / "p.duckdb"
    load(export(tmp_path, **shuffled), db)
    clean, _ = clean_load
    got, want = all_tables(db), all_tables(clean)
    for table in TABLES:
        assert got[table] == want[table], table


def test_sample_data_loads_with_no_rejects(request: pytest.FixtureRequest):
    sample = ROOT / "sample_data"
    if not all(any(sample.glob(f"{t}.*")) for t in TABLES):
        pytest.skip("sample_data has not been generated")
    db = request.getfixturevalue("sample_db")  # conftest's session-wide load of sample_data
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(0,)]
        summary = con.execute("SELECT file, rows_read, rows_loaded FROM load_summary").fetchall()
    assert [f for f, _, _ in summary] == [next(sample.glob(f"{t}.*")).name for t in TABLES]
    assert all(read == loaded > 0 for _, read, loaded in summary)


# --- Rows rejected, the rest loaded ---------------------------------------------------------------


def test_bad_dates(tmp_path: Path, db: Path):
    cases, events = rows_of("cases"), rows_of("case_events")
    cases[2][3] = "2023-02-30"  # C0003 referral_date: no such day
    cases[4][4] = "30/01/2024"  # C0005 closure_date: not ISO
    events[0][2] = "2022-5-10"  # C0001 start_date: not YYYY-MM-DD
    result = load(export(tmp_path, cases=cases, case_events=events), db)
    assert result.status == 1
    assert rejects(result) == [
        ("case_events.csv", 2, "start_date", "2022-5-10"),
        ("case_events.csv", 5, "case_id", "C0003"),
        ("case_events.csv", 6, "case_id", "C0003"),
        ("case_events.csv", 10, "case_id", "C0005"),
        ("case_events.csv", 11, "case_id", "C0005"),
        ("case_events.csv", 12, "case_id", "C0005"),
        ("cases.csv", 4, "referral_date", "2023-02-30"),
        ("cases.csv", 6, "closure_date", "30/01/2024"),
    ]
    assert reason(result, "cases.csv", 4) == "not a real date (there is no such day)"
    assert reason(result, "cases.csv", 6) == "not a date in the form YYYY-MM-DD"
    assert reason(result, "case_events.csv", 5) == "its case was rejected (see cases.csv line 4)"
    assert_good_rows_loaded(db, result, cases=cases, case_events=events)


def test_unknown_codes(tmp_path: Path, db: Path):
    cases, events, workforce = rows_of("cases"), rows_of("case_events"), rows_of("workforce")
    cases[0][5] = "surgeon"
    cases[1][9] = "a"  # ethnic category codes are upper case
    cases[4][12] = "struck_off"
    cases[5][11] = "probity;gossip"
    cases[6][11] = "clinical;"
    events[3][1] = "holiday"
    workforce[4][4] = "uk"
    result = load(export(tmp_path, cases=cases, case_events=events, workforce=workforce), db)
    assert result.status == 1
    got = {(r[0], r[1]): r[2:] for r in rejects(result)}
    assert got[("cases.csv", 2)] == ("profession", "surgeon")
    assert reason(result, "cases.csv", 2) == "not a known profession; expected one of: doctor, dentist, pharmacist"
    assert got[("cases.csv", 3)] == ("ethnic_category", "a")
    assert "(codes are case-sensitive)" in reason(result, "cases.csv", 3)
    assert got[("cases.csv", 6)] == ("outcome", "struck_off")
    assert got[("cases.csv", 7)] == ("concern_types", "probity;gossip")
    assert reason(result, "cases.csv", 7).startswith("'gossip' is not a known item of concern_types; expected: ")
    assert got[("cases.csv", 8)] == ("concern_types", "clinical;")
    assert "empty item" in reason(result, "cases.csv", 8)
    assert got[("case_events.csv", 5)] == ("stage", "holiday")
    assert got[("workforce.csv", 6)] == ("pmq_region", "uk")
    assert_good_rows_loaded(db, result, cases=cases, case_events=events, workforce=workforce)


def test_workforce_headcount_and_financial_year(tmp_path: Path, db: Path):
    workforce = rows_of("workforce")
    workforce[0][7] = "-3"
    workforce[1][7] = "12.5"
    workforce[2][7] = ""
    workforce[3][0] = "2023/25"
    workforce[4][0] = "2023-24"
    workforce[5][7] = "99999999999"
    result = load(export(tmp_path, workforce=workforce), db)
    assert result.status == 1
    assert rejects(result) == [
        ("workforce.csv", 2, "headcount", "-3"),
        ("workforce.csv", 3, "headcount", "12.5"),
        ("workforce.csv", 4, "headcount", ""),
        ("workforce.csv", 5, "financial_year", "2023/25"),
        ("workforce.csv", 6, "financial_year", "2023-24"),
        ("workforce.csv", 7, "headcount", "99999999999"),
    ]
    assert reason(result, "workforce.csv", 2) == "negative; headcount must be 0 or more"
    assert reason(result, "workforce.csv", 3).startswith("not a whole number")
    assert reason(result, "workforce.csv", 4) == "missing; a value is required"
    assert "the second year must follow the first" in reason(result, "workforce.csv", 5)
    assert "is not of the form 2023/24" in reason(result, "workforce.csv", 6)
    assert_good_rows_loaded(db, result, workforce=workforce)


def test_duplicate_keys_keep_the_first_good_row(tmp_path: Path, db: Path):
    orgs, workforce, cases = rows_of("organisations"), rows_of("workforce"), rows_of("cases")
    orgs.append(["RJ1", "Another name", "acute_trust", "London"])  # line 5
    workforce.append([*workforce[0][:7], "41"])  # line 32
    cases.append([*cases[4][:1], "P999", *cases[4][2:]])  # C0005 again, line 14
    cases[7][3] = "not a date"  # C0008 (line 9) is rejected, so its repeat on line 15 is the one kept
    cases.append(list(testdata.CASES[7]))
    result = load(export(tmp_path, organisations=orgs, workforce=workforce, cases=cases), db)
    assert result.status == 1
    assert rejects(result) == [
        ("cases.csv", 9, "referral_date", "not a date"),
        ("cases.csv", 14, "case_id", "C0005"),
        ("organisations.csv", 5, "org_code", "RJ1"),
        ("workforce.csv", 32, "financial_year+org_code+profession+ethnic_category+pmq_region+gender+age_band",
         "2022/23|RJ1|doctor|A|UK|female|35_44"),
    ]  # fmt: skip
    assert reason(result, "cases.csv", 14) == "duplicate of line 6; case_id must be unique in cases.csv"
    assert reason(result, "organisations.csv", 5).startswith("duplicate of line 2")
    assert reason(result, "workforce.csv", 32).startswith("duplicate of line 2")
    assert_good_rows_loaded(db, result, organisations=orgs, workforce=workforce, cases=cases)
    assert result.rejects[result.rejects.file == "case_events.csv"].empty  # C0005 and C0008 are loaded


def test_unknown_or_rejected_organisation(tmp_path: Path, db: Path):
    orgs, workforce, cases, events = rows_of("organisations"), rows_of("workforce"), rows_of("cases"), []
    orgs[2][3] = "Narnia"  # Q71 rejected on line 4
    workforce[0][1] = "ZZZ"
    cases[0][2] = "ZZZ"
    events = [*rows_of("case_events"), ["C9999", "assessment", "2023-01-01", ""]]  # line 22
    result = load(export(tmp_path, organisations=orgs, workforce=workforce, cases=cases, case_events=events), db)
    assert result.status == 1
    assert reason(result, "organisations.csv", 4).startswith("not a known region")
    assert reason(result, "workforce.csv", 2) == "organisation not found in organisations.csv"
    assert reason(result, "cases.csv", 2) == "organisation not found in organisations.csv"
    q71_cases = [i + 2 for i, c in enumerate(cases) if c[2] == "Q71"]
    for line in q71_cases:
        assert reason(result, "cases.csv", line) == "organisation was rejected (see organisations.csv line 4)"
    q71_cells = [i + 2 for i, w in enumerate(workforce) if w[1] == "Q71"]
    assert all(reason(result, "workforce.csv", line).startswith("organisation was rejected") for line in q71_cells)
    assert reason(result, "case_events.csv", 2) == "its case was rejected (see cases.csv line 2)"
    assert reason(result, "case_events.csv", 22) == "case not found in cases.csv"
    assert_good_rows_loaded(db, result, organisations=orgs, workforce=workforce, cases=cases, case_events=events)


def test_closure_before_referral_and_outcome_exactly_when_closed(tmp_path: Path, db: Path):
    cases = rows_of("cases")
    cases[0][4] = "2022-05-01"  # C0001 closed before it was referred (2022-05-10)
    cases[3][12] = "left_post"  # C0004 is open
    cases[1][12] = ""  # C0002 is closed
    result = load(export(tmp_path, cases=cases), db)
    assert result.status == 1
    assert [r for r in rejects(result) if r[0] == "cases.csv"] == [
        ("cases.csv", 2, "closure_date", "2022-05-01"),
        ("cases.csv", 3, "outcome", ""),
        ("cases.csv", 5, "outcome", "left_post"),
    ]
    assert reason(result, "cases.csv", 2) == "before referral_date 2022-05-10; closure_date must be on or after it"
    assert reason(result, "cases.csv", 3) == "missing for a closed case (closure_date 2023-01-20); give the outcome"
    assert reason(result, "cases.csv", 5).startswith("an outcome on an open case (no closure_date)")
    assert_good_rows_loaded(db, result, cases=cases)


def test_events_outside_their_case(tmp_path: Path, db: Path):
    events = rows_of("case_events")
    events[0][2] = "2022-05-01"  # C0001 referred 2022-05-10
    events[1][3] = "2022-09-05"  # C0001 closed 2022-09-01
    events[2][3] = "2022-11-01"  # starts 2022-11-03
    events[4][2:] = ["2023-09-01", ""]  # C0003 closed 2023-08-15
    result = load(export(tmp_path, case_events=events), db)
    assert result.status == 1
    assert rejects(result) == [
        ("case_events.csv", 2, "start_date", "2022-05-01"),
        ("case_events.csv", 3, "end_date", "2022-09-05"),
        ("case_events.csv", 4, "end_date", "2022-11-01"),
        ("case_events.csv", 6, "start_date", "2023-09-01"),
    ]
    assert reason(result, "case_events.csv", 2) == "before its case's referral_date 2022-05-10"
    assert reason(result, "case_events.csv", 3) == "after its case's closure_date 2022-09-01"
    assert reason(result, "case_events.csv", 4) == "before its start_date 2022-11-03"
    assert reason(result, "case_events.csv", 6) == "after its case's closure_date 2023-08-15"
    assert_good_rows_loaded(db, result, case_events=events)


def test_nothing_after_a_given_extract_date(tmp_path: Path, db: Path):
    events = rows_of("case_events")
    events[7][2] = "2024-02-15"  # C0004 (open) restriction
    result = load(export(tmp_path, case_events=events), db, extract_date=date(2024, 1, 31))
    assert result.status == 1
    assert result.extract_date == date(2024, 1, 31)
    assert reason(result, "cases.csv", 10) == "after the extract date 2024-01-31"  # C0009 closed 2024-02-28
    assert rejects(result)[-3:] == [
        ("cases.csv", 10, "closure_date", "2024-02-28"),
        ("cases.csv", 11, "closure_date", "2024-03-20"),
        ("cases.csv", 12, "referral_date", "2024-02-02"),
    ]
    assert reason(result, "case_events.csv", 9) == "after the extract date 2024-01-31"
    assert_good_rows_loaded(db, result, cases=rows_of("cases"), case_events=events)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'extract_date'").fetchall() == [("2024-01-31",)]


def test_required_values(tmp_path: Path, db: Path):
    cases, orgs = rows_of("cases"), rows_of("organisations")
    cases[0][1] = "   "  # practitioner_id only spaces
    cases[1][11] = ""
    orgs[1][1] = ""
    result = load(export(tmp_path, cases=cases, organisations=orgs), db)
    got = {(r[0], r[1]): r[2] for r in rejects(result)}
    assert got[("cases.csv", 2)] == "practitioner_id"
    assert got[("cases.csv", 3)] == "concern_types"
    assert got[("organisations.csv", 3)] == "org_name"
    assert reason(result, "cases.csv", 3) == "missing; a value is required"


# --- Structure of the file: encoding, line endings, quoting, field counts --------------------------


def write_bytes_rows(folder: Path, table: str, lines: list[bytes], newline: bytes = b"\n") -> None:
    for old in folder.glob(f"{table}.*"):
        old.unlink()
    (folder / f"{table}.csv").write_bytes(newline.join(lines) + newline)


def csv_lines(table: str, rows: list[list[str]] | None = None) -> list[bytes]:
    """The lines of a table's CSV as the test export writes it (no value spans lines)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADERS[table])
    writer.writerows(rows if rows is not None else rows_of(table))
    return [line.encode() for line in buffer.getvalue().splitlines()]


def test_invalid_utf8_rejects_only_that_row(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    lines = csv_lines("cases")
    lines[2] = lines[2].replace(b"P002", b"P\xff02")  # line 3
    write_bytes_rows(folder, "cases", lines)
    result = load(folder, db)
    assert result.status == 1
    assert rejects(result)[0] == ("case_events.csv", 4, "case_id", "C0002")
    assert ("cases.csv", 3, "practitioner_id", "P\\xff02") in rejects(result)
    assert reason(result, "cases.csv", 3) == "contains bytes that are not valid UTF-8; save the file as UTF-8"
    assert reason(result, "case_events.csv", 4) == "its case was rejected (see cases.csv line 3)"
    assert_good_rows_loaded(db, result, cases=rows_of("cases"))


def test_wrong_number_of_fields(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    lines = csv_lines("cases")
    lines[2] += b",extra"  # line 3: 14 fields
    lines[5] = lines[5].rsplit(b",", 1)[0]  # line 6: 12 fields
    write_bytes_rows(folder, "cases", lines)
    result = load(folder, db)
    assert result.status == 1
    cases_rejects = [r for r in rejects(result) if r[0] == "cases.csv"]
    assert [(r[1], r[2]) for r in cases_rejects] == [(3, ""), (6, "")]
    assert cases_rejects[0][3] == lines[2].decode()
    assert reason(result, "cases.csv", 3).startswith("has 14 fields but the header has 13")
    assert reason(result, "cases.csv", 6).startswith("has 12 fields but the header has 13")
    # Events of a case whose row could not be read still name it.
    assert reason(result, "case_events.csv", 4) == "its case was rejected (see cases.csv line 3)"
    assert_good_rows_loaded(db, result, cases=rows_of("cases"))


def test_unclosed_quote_and_very_long_rows(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    lines = csv_lines("cases")
    lines[4] += b"," * 30  # C0004, line 5: 43 fields, more than DuckDB's spare columns
    lines[6] = lines[6].replace(b"P006", b'"P006')  # C0006, line 7: the quote is never closed
    write_bytes_rows(folder, "cases", lines)
    result = load(folder, db)
    assert [r[:3] for r in rejects(result) if r[0] == "cases.csv"] == [("cases.csv", 5, ""), ("cases.csv", 7, "")]
    assert reason(result, "cases.csv", 5).startswith("has 43 fields but the header has 13")
    assert reason(result, "cases.csv", 7).endswith(
        "the row runs from line 7 to line 13: check for an unclosed double quote"
    )
    assert reason(result, "case_events.csv", 7) == "its case was rejected (see cases.csv line 5)"
    assert reason(result, "case_events.csv", 21) == "case not found in cases.csv"  # C0012, inside the quote
    assert loaded_as_text(db, "cases") == sorted(tuple(r) for r in rows_of("cases")[:5] if r[0] != "C0004")


def test_quoted_newline_keeps_later_line_numbers_right(tmp_path: Path, db: Path):
    orgs = rows_of("organisations")
    orgs[0][1] = "Guy's and St Thomas'\nNHS Foundation Trust"  # lines 2-3
    orgs[2][3] = "Narnia"  # Q71: physical line 5, although it is the 3rd record
    cases = rows_of("cases")
    cases[0][1] = "P0\n01"  # lines 2-3 of cases.csv
    cases[3][5] = "vet"  # C0004 on physical line 6
    result = load(export(tmp_path, organisations=orgs, cases=cases), db)
    assert result.status == 1
    assert ("organisations.csv", 5, "region", "Narnia") in rejects(result)
    assert ("cases.csv", 6, "profession", "vet") in rejects(result)
    assert reason(result, "cases.csv", 11) == "organisation was rejected (see organisations.csv line 5)"  # C0009
    assert tuple(orgs[0]) in loaded_as_text(db, "organisations")  # the newline is kept
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT practitioner_id FROM cases WHERE case_id = 'C0001'").fetchall() == [("P0\n01",)]


def test_blank_lines_are_not_rows_and_do_not_shift_line_numbers(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    lines = csv_lines("cases")
    lines[5] = lines[5].replace(b"dentist,dentist", b"dentist,astronaut")  # C0005, line 6 before the blank
    lines.insert(3, b"")  # a blank line 4: C0005 is now on line 7
    write_bytes_rows(folder, "cases", [*lines, b"", b""])  # and trailing blank lines
    result = load(folder, db)
    assert [r for r in rejects(result) if r[0] == "cases.csv"] == [("cases.csv", 7, "grade", "astronaut")]
    assert result.files[2].rows_read == 12


def test_bom_and_windows_line_endings(tmp_path: Path, db: Path, clean_load: tuple[Path, IngestResult]):
    """As Excel writes "CSV UTF-8": a byte order mark, then CRLF line endings."""
    newline = b"\r\n"
    folder = export(tmp_path)
    for table in TABLES:
        lines = csv_lines(table)
        lines[0] = b"\xef\xbb\xbf" + lines[0]
        write_bytes_rows(folder, table, lines, newline)
    result = load(folder, db)
    assert result.status == 0, result.rejects.to_string()
    clean, _ = clean_load
    for table in TABLES:
        assert loaded_as_text(db, table) == loaded_as_text(clean, table)
    # and with a bad row, its line is still right
    lines = csv_lines("case_events")
    lines[6] = lines[6].replace(b"C0004", b"C4040")
    write_bytes_rows(folder, "case_events", lines, newline)
    result = load(folder, db)
    assert rejects(result) == [("case_events.csv", 7, "case_id", "C4040")]


def test_extra_columns_are_ignored_with_a_warning(tmp_path: Path, db: Path, clean_load: tuple[Path, IngestResult]):
    folder = export(tmp_path)
    header = HEADERS["cases"][:2] + ["notes"] + HEADERS["cases"][2:] + [""]
    write(folder, "cases", [[*r[:2], "a note, with a comma", *r[2:], "x"] for r in rows_of("cases")], header)
    result = load(folder, db)
    assert result.status == 0
    assert result.warnings == ["cases.csv: extra column(s) ignored: notes, (unnamed column 15)."]
    clean, _ = clean_load
    assert all_tables(db)["cases"] == all_tables(clean)["cases"]
    assert main([str(folder), "--db", str(db)]) == 0


def test_other_files_in_the_folder(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    (folder / "cases_old.csv").write_text("anything\n")
    (folder / "effects.json").write_text("{}")
    result = load(folder, db)
    assert result.status == 0
    assert result.warnings == ["cases_old.csv: not a file of the export contract; ignored."]


def test_header_names_are_trimmed(tmp_path: Path, db: Path):
    folder = export(tmp_path)
    write(folder, "organisations", rows_of("organisations"), [" org_code", "org_name ", "org_type", "region"])
    assert load(folder, db).status == 0


def test_python_and_duckdb_readers_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The exact Python pass (used when a value spans lines) gives the same result as the fast path."""
    folder = export(tmp_path)
    lines = csv_lines("cases")
    lines[1] = lines[1].replace(b"P001", b"P\xe900")
    lines[3] += b",x"
    lines[5] = lines[5].replace(b"doctor", b"docter", 1)
    lines[7] = b"C0077"
    write_bytes_rows(folder, "cases", lines)
    fast = load(folder, tmp_path / "fast.duckdb")
    monkeypatch.setattr(sources, "_read_csv_duckdb", lambda *args: None)
    exact = load(folder, tmp_path / "exact.duckdb")
    assert fast.status == exact.status == 1
    assert fast.rejects.equals(exact.rejects)
    assert all_tables(tmp_path / "fast.duckdb") == all_tables(tmp_path / "exact.duckdb")


# --- Formats ---------------------------------------------------------------------------------------


def test_gzipped_csv_with_bad_rows(tmp_path: Path, db: Path):
    folder = export(tmp_path, "csv.gz")
    lines = csv_lines("case_events")
    lines[4] = lines[4].replace(b"assessment", b"asessment")
    lines[9] += b",,"  # empty extra fields are still extra fields
    (folder / "case_events.csv.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    result = load(folder, db)
    assert rejects(result) == [
        ("case_events.csv.gz", 5, "stage", "asessment"),
        ("case_events.csv.gz", 10, "", lines[9].decode()),
    ]
    assert reason(result, "case_events.csv.gz", 10).startswith("has 6 fields but the header has 4; check for")


def test_parquet_with_bad_rows_counts_row_number_plus_one(tmp_path: Path, db: Path):
    folder = export(tmp_path, "parquet")
    cases = rows_of("cases")
    cases[2][3] = "2023-02-30"
    cases[6][5] = "vet"
    table = pa.table({c: [row[i] or None for row in cases] for i, c in enumerate(HEADERS["cases"])})
    pq.write_table(table, folder / "cases.parquet")
    result = load(folder, db)
    assert [r for r in rejects(result) if r[0] == "cases.parquet"] == [
        ("cases.parquet", 4, "referral_date", "2023-02-30"),
        ("cases.parquet", 8, "profession", "vet"),
    ]


def test_parquet_with_timestamps_and_lists(tmp_path: Path, db: Path, clean_load: tuple[Path, IngestResult]):
    folder = export(tmp_path, "parquet")
    cases = rows_of("cases")
    columns = {}
    for i, c in enumerate(HEADERS["cases"]):
        values = [row[i] or None for row in cases]
        if c.endswith("_date"):
            columns[c] = pa.array([v and f"{v}T00:00:00" for v in values]).cast(pa.timestamp("us"))
        elif c == "concern_types":
            columns[c] = pa.array([v.split(";") for v in values], pa.list_(pa.string()))
        else:
            columns[c] = pa.array(values, pa.string())
    pq.write_table(pa.table(columns), folder / "cases.parquet")
    assert load(folder, db).status == 0
    clean, _ = clean_load
    assert all_tables(db)["cases"] == all_tables(clean)["cases"]


# --- Refused loads (exit 2) leave the previous database and report as they were -------------------


def _cases_header_only(folder: Path) -> None:
    write(folder, "cases", [])


def _cases_empty(folder: Path) -> None:
    write(folder, "cases", []).write_bytes(b"")


def _cases_missing_column(folder: Path) -> None:
    write(folder, "cases", [r[:12] for r in rows_of("cases")], HEADERS["cases"][:12])


def _cases_wrong_case(folder: Path) -> None:
    write(folder, "cases", rows_of("cases"), ["Case_ID", *HEADERS["cases"][1:]])


def _semicolons(folder: Path) -> None:
    write_bytes_rows(folder, "organisations", [line.replace(b",", b";") for line in csv_lines("organisations")])


def _cases_duplicate_header(folder: Path) -> None:
    write(folder, "cases", [[*r, "x"] for r in rows_of("cases")], [*HEADERS["cases"], "org_code"])


def _cases_missing_file(folder: Path) -> None:
    (folder / "cases.csv").unlink()


def _cases_two_files(folder: Path) -> None:
    shutil.copy(folder / "cases.csv", folder / "cases.parquet")


def _cases_unsupported_format(folder: Path) -> None:
    (folder / "cases.csv").rename(folder / "cases.xlsx")


def _cases_gzip_named_csv(folder: Path) -> None:
    data = (folder / "cases.csv").read_bytes()
    (folder / "cases.csv").write_bytes(gzip.compress(data))


def _cases_corrupt_gzip(folder: Path) -> None:
    data = gzip.compress((folder / "cases.csv").read_bytes())
    (folder / "cases.csv").unlink()
    (folder / "cases.csv.gz").write_bytes(data[: len(data) // 2])


def _cases_not_gzip(folder: Path) -> None:
    (folder / "cases.csv").rename(folder / "cases.csv.gz")


def _corrupt_parquet(folder: Path) -> None:
    (folder / "workforce.csv").unlink()
    (folder / "workforce.parquet").write_bytes(b"PAR1 this is not parquet PAR1")


def _header_not_utf8(folder: Path) -> None:
    lines = csv_lines("organisations")
    write_bytes_rows(folder, "organisations", [lines[0].replace(b"org_name", b"org_n\xe4me"), *lines[1:]])


def _no_header(folder: Path) -> None:
    write_bytes_rows(folder, "organisations", [b"", *csv_lines("organisations")])


REFUSALS = {
    "header only": (_cases_header_only, "cases.csv has no data rows (only the header)"),
    "empty file": (_cases_empty, "cases.csv is empty (0 bytes)"),
    "missing column": (_cases_missing_column, "cases.csv: missing column(s) outcome."),
    "column name case": (_cases_wrong_case, "Found Case_ID: column names are case-sensitive"),
    "duplicate header": (_cases_duplicate_header, "cases.csv: the header names org_code more than once"),
    "semicolons": (_semicolons, "The header is separated by ';': save the file with commas between values."),
    "missing file": (_cases_missing_file, "No file for table 'cases'"),
    "two files": (_cases_two_files, "More than one file for table 'cases' (cases.csv, cases.parquet)"),
    "unsupported format": (_cases_unsupported_format, "Found cases.xlsx, which is not a supported format"),
    "gzip named .csv": (_cases_gzip_named_csv, "cases.csv is gzip-compressed. Rename it to cases.csv.gz"),
    "truncated gzip": (_cases_corrupt_gzip, "cases.csv.gz cannot be read as a gzipped CSV file"),
    "not gzip": (_cases_not_gzip, "cases.csv.gz cannot be read as a gzipped CSV file"),
    "corrupt parquet": (_corrupt_parquet, "workforce.parquet cannot be read as a Parquet file"),
    "header not UTF-8": (_header_not_utf8, "The header of organisations.csv is not valid UTF-8"),
    "no header": (_no_header, "organisations.csv has no header on line 1"),
}


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database (and its report, with one reject) from an earlier load."""
    folder = tmp_path_factory.mktemp("previous") / "export"
    testdata.write_small_export(folder)
    events = rows_of("case_events")
    events[0][1] = "unknown_stage"
    write(folder, "case_events", events)
    path = folder.parent / "db" / "parity.duckdb"
    assert load(folder, path).status == 1
    return path


def copy_previous(previous: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "served" / "parity.duckdb"
    db.parent.mkdir()
    shutil.copy(previous, db)
    shutil.copy(previous.with_name("parity_rejects.csv"), db.with_name("parity_rejects.csv"))
    return db, {p.name: sha256(p) for p in db.parent.iterdir()}


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refused_load_leaves_previous_database(tmp_path: Path, previous: Path, name: str):
    corrupt, expected = REFUSALS[name]
    db, before = copy_previous(previous, tmp_path)
    folder = export(tmp_path)
    corrupt(folder)
    result = load(folder, db)
    assert result.status == 2
    assert expected in result.message, result.message
    assert f"The previous database {db} is unchanged." in result.message
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before


def test_refusal_lists_every_problem_and_cli_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    folder = export(tmp_path)
    _cases_missing_column(folder)
    _corrupt_parquet(folder)
    db = tmp_path / "none" / "p.duckdb"
    assert main([str(folder), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "cases.csv: missing column(s) outcome." in err
    assert "workforce.parquet cannot be read" in err
    assert "No database was written." in err
    assert "Traceback" not in err
    assert not db.parent.exists() or list(db.parent.iterdir()) == []


def test_missing_data_folder(tmp_path: Path):
    result = ingest(tmp_path / "nowhere", tmp_path / "p.duckdb")
    assert result.status == 2
    assert "does not exist" in result.message


def test_failed_build_leaves_old_database_and_no_temp_file(
    tmp_path: Path, previous: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    db, before = copy_previous(previous, tmp_path)

    def explode(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(build, "validate_case_events", explode)
    folder = export(tmp_path)
    with pytest.raises(RuntimeError):
        ingest(folder, db)
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before  # and nothing else in the folder
    assert main([str(folder), "--db", str(db)]) == 2
    assert "failed unexpectedly (RuntimeError: disk on fire)" in capsys.readouterr().err
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before


def test_write_failure_is_refused_and_leaves_old_database(
    tmp_path: Path, previous: Path, monkeypatch: pytest.MonkeyPatch
):
    db, before = copy_previous(previous, tmp_path)

    def disk_full(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build.os, "replace", disk_full)
    result = load(export(tmp_path), db)
    assert result.status == 2
    assert "Cannot write the new database beside" in result.message
    assert "(No space left on device)" in result.message
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before


def test_lost_row_stops_the_build_and_leaves_old_database(
    tmp_path: Path, previous: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """Rows read = loaded + rejected is checked by code, not an assert (which python -O removes)."""
    db, before = copy_previous(previous, tmp_path)
    real_load_raw = build.load_raw

    def one_more_case_read(con: duckdb.DuckDBPyConnection, source: sources.Source, spec: object) -> int:
        return real_load_raw(con, source, spec) + (source.table == "cases")

    monkeypatch.setattr(build, "load_raw", one_more_case_read)
    folder = export(tmp_path)
    with pytest.raises(RowCountMismatch, match=r"^cases\.csv: 13 rows read but 12 loaded \+ 0 rejected = 12;") as lost:
        ingest(folder, db)
    assert (lost.value.file, lost.value.read, lost.value.loaded, lost.value.rejected) == ("cases.csv", 13, 12, 0)
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before  # and no temporary file left
    assert main([str(folder), "--db", str(db)]) == 2
    assert "failed unexpectedly (RowCountMismatch: cases.csv: 13 rows read" in capsys.readouterr().err
    assert {p.name: sha256(p) for p in db.parent.iterdir()} == before


# --- The command line -------------------------------------------------------------------------------


def test_cli_reports_counts_and_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    cases = rows_of("cases")
    cases[0][5] = "surgeon"
    folder = export(tmp_path, cases=cases)
    db = tmp_path / "cli" / "p.duckdb"
    # one case in 12 is more than the default share a load may lose: accept it to see the report
    assert main([str(folder), "--db", str(db), "--accept-rejects"]) == 1
    out = capsys.readouterr().out
    assert "file               read  loaded  rejected\n" in out
    assert "cases.csv            12      11         1\n" in out
    assert "case_events.csv      20      18         2\n" in out
    assert "3 row(s) rejected; the database was built from the other rows." in out
    assert f"Rejects report: {db.with_name('p_rejects.csv')}" in out
    with open(db.with_name("p_rejects.csv"), newline="") as f:
        report = list(csv.reader(f))
    assert report[0] == ["file", "line", "column", "value", "reason"]
    assert report[3][:4] == ["cases.csv", "2", "profession", "surgeon"]
    assert report[3][4].startswith("not a known profession")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM rejects").fetchall() == [(3,)]


def test_cli_bad_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main([]) == 2
    assert main([str(tmp_path), "--extract-date", "31/03/2024"]) == 2
    assert "is not a date in the form YYYY-MM-DD" in capsys.readouterr().err
    assert main(["--help"]) == 0


def test_cli_as_a_module(tmp_path: Path):
    folder = export(tmp_path)
    db = tmp_path / "module" / "p.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "parity", "ingest", str(folder), "--db", str(db), "--extract-date", "2024-03-31"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert "extract date 2024-03-31, given" in done.stdout
    assert "All 65 rows loaded." in done.stdout


def test_each_case_carries_the_stages_it_reached(small_db: Path):
    """Derived at ingest from case_events, so pages need not scan every event."""
    with duckdb.connect(str(small_db), read_only=True) as con:
        mismatches = con.execute(
            """
            WITH truth AS (
                SELECT case_id, list_sort(list_distinct(list(stage))) AS stages,
                       coalesce(min(start_date) FILTER (WHERE stage = 'formal_investigation')
                                < coalesce(min(start_date) FILTER (WHERE stage = 'informal_resolution'),
                                           DATE '9999-12-31'), false) AS formal_first
                FROM case_events GROUP BY case_id
            )
            SELECT count(*) FROM cases c LEFT JOIN truth t USING (case_id)
            WHERE list_sort(list_filter($stages, lambda s: (c.stage_mask & $bits[list_position($stages, s)]) > 0))
                  IS DISTINCT FROM coalesce(t.stages, []::VARCHAR[])
               OR c.formal_without_informal IS DISTINCT FROM coalesce(t.formal_first, false)
            """,
            {"stages": list(STAGE_BITS), "bits": list(STAGE_BITS.values())},
        ).fetchone()[0]
        assert mismatches == 0
        assert con.execute("SELECT count(*) FROM cases WHERE stage_mask > 0").fetchone()[0] > 0
