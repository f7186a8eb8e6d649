"""The atomic build: every table in a new database file beside the target, then swapped in.

The build CHECKPOINTs and closes the new file, writes the rejects report, and ``os.replace``s both
over the old ones. Any failure before that leaves the old ones untouched. Bad input never raises:
it is Refused, with sentences a person can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from parity.contract import FILES, SCHEMA_VERSION
from parity.ingest.checks import (
    date_forms,
    latest_date,
    mixed_dates_note,
    validate_case_events,
    validate_cases,
    validate_organisations,
    validate_workforce,
    write_cases,
)
from parity.ingest.sources import (
    REJECT_COLUMNS,
    Refused,
    Source,
    check_header,
    file_sha256,
    find_sources,
    load_raw,
    read_header,
)

MEMORY_LIMIT = "1200MB"  # DuckDB's buffer pool; keeps a 1M-case ingest well under 2 GB RSS.
MACROS = Path(__file__).resolve().parents[1] / "macros.sql"  # parity/macros.sql, stored in every database

EXIT_OK, EXIT_REJECTS, EXIT_REFUSED = 0, 1, 2


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileCounts:
    table: str
    file: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int


@dataclass
class IngestResult:
    """What a load did. ``status`` is the CLI exit status: 0 all loaded, 1 some rows rejected, 2 refused."""

    status: int
    message: str
    db_path: Path
    rejects_path: Path
    files: list[FileCounts] = field(default_factory=list)
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))
    warnings: list[str] = field(default_factory=list)
    extract_date: date | None = None
    mixed_dates: list[str] = field(default_factory=list)  # a note for each date column written in both forms


class RowCountMismatch(RuntimeError):
    """A file's rows read differ from its rows loaded plus rows rejected: a bug in the ingest, never bad
    input, so it is not Refused; the build stops before anything is swapped in."""

    def __init__(self, file: str, read: int, loaded: int, rejected: int):
        super().__init__(
            f"{file}: {read:,} rows read but {loaded:,} loaded + {rejected:,} rejected = {loaded + rejected:,}; "
            "every row read must be loaded or rejected exactly once"
        )
        self.file, self.read, self.loaded, self.rejected = file, read, loaded, rejected


# --- The build -------------------------------------------------------------------------------


def _source_sha256(sources: dict[str, Source]) -> str:
    """sha256 over "<sha256 of file>  <file name>" lines, files sorted by name (like sha256sum)."""
    listing = "".join(f"{file_sha256(s.path)}  {s.file}\n" for s in sorted(sources.values(), key=lambda s: s.file))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _build(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Source],
    extract_date: date | None,
    warnings: list[str],
    mixed: list[str],
) -> tuple[list[FileCounts], date | None]:
    con.execute(
        'CREATE TEMP TABLE rejects_found (file VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR)'
    )
    rows_read = {}
    for table, spec in FILES.items():
        rows_read[table] = load_raw(con, sources[table], spec)
    forms = date_forms(con, sources)
    mixed += [mixed_dates_note(f, sources[f.table].file) for f in forms.values() if f.mixed]
    warnings += mixed
    extract = extract_date or latest_date(con, forms)
    validate_organisations(con, sources)
    validate_workforce(con, sources)
    cases_select, cases_params = validate_cases(con, sources, extract, forms)
    validate_case_events(con, sources, extract, forms)
    write_cases(con, cases_select, cases_params)

    counts = []
    for table in FILES:
        source = sources[table]
        loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        found = con.execute("SELECT count(*) FROM rejects_found WHERE file = $f", {"f": source.file}).fetchall()
        rejected = found[0][0]
        # Never lose a row: each one read is loaded or has exactly one reject. Checked in every run
        # (an assert would vanish under python -O); failing it aborts the build, old database kept.
        if rows_read[table] != loaded + rejected:
            raise RowCountMismatch(source.file, rows_read[table], loaded, rejected)
        counts.append(FileCounts(table, source.file, rows_read[table], loaded, rejected))

    con.execute('CREATE TABLE rejects AS SELECT * FROM rejects_found ORDER BY file, line, "column"')
    con.execute("CREATE TABLE load_summary (file VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_rejected BIGINT)")
    con.executemany(
        "INSERT INTO load_summary VALUES (?, ?, ?, ?)",
        [(c.file, c.rows_read, c.rows_loaded, c.rows_rejected) for c in counts],
    )
    con.execute("CREATE TABLE meta (key VARCHAR, value VARCHAR)")
    meta = {
        "schema_version": SCHEMA_VERSION,
        "extract_date": extract.isoformat() if extract else "",
        "source_sha256": _source_sha256(sources),
        "source_files": ", ".join(sources[t].file for t in FILES),
    }
    con.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
    # The table macros every query filters and groups through (queries/ and parity/macros.sql).
    con.execute(MACROS.read_text(encoding="utf-8"))
    return counts, extract


def _configure(con: duckdb.DuckDBPyConnection, spill_dir: Path) -> None:
    con.execute("SET preserve_insertion_order = true")  # rows of a file stay in file order: line numbers rely on it
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute("SET temp_directory = $dir", {"dir": str(spill_dir)})
    con.execute("SET enable_progress_bar = false")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def rejects_path_for(db_path: Path) -> Path:
    """Where the rejects report of a database goes (the rule lives in Settings.rejects_path)."""
    from parity.settings import Settings

    return Settings.model_construct(db_path=db_path).rejects_path


def ingest(
    data_dir: Path,
    db_path: Path,
    extract_date: date | None = None,
    *,
    rejects_path: Path | None = None,
    max_reject_share: float | None = None,
) -> IngestResult:
    """Validate the export in ``data_dir`` and load it into ``db_path`` atomically.

    ``extract_date`` defaults to the latest date in the data. The rejects report goes to
    ``rejects_path`` (default: ``<db stem>_rejects.csv`` beside the database). With
    ``max_reject_share``, a load in which any file loses a larger share of its rows is refused
    whole. Bad input never raises: it gives status 2 with a message and leaves the old database
    and report as they were.
    """
    data_dir, db_path = Path(data_dir), Path(db_path)
    rejects_path = Path(rejects_path) if rejects_path else rejects_path_for(db_path)
    return _load(data_dir, db_path, extract_date, rejects_path, max_reject_share, checking=False)


def check(data_dir: Path, extract_date: date | None = None, *, max_reject_share: float | None = None) -> IngestResult:
    """Everything ingest does to an export except writing: the same validation, counts, rejects and
    refusals, built in a temporary folder that is removed afterwards (``python -m parity check``)."""
    with tempfile.TemporaryDirectory(prefix="parity-check-") as scratch:
        db_path = Path(scratch) / "check.duckdb"
        result = _load(Path(data_dir), db_path, extract_date, None, max_reject_share, checking=True)
    return result


def _load(
    data_dir: Path,
    db_path: Path,
    extract_date: date | None,
    rejects_path: Path | None,
    max_reject_share: float | None,
    *,
    checking: bool,
) -> IngestResult:
    result = IngestResult(EXIT_REFUSED, "", db_path, rejects_path or db_path)
    building = db_path.with_name(f".{db_path.name}.building-{os.getpid()}")
    scratch = [building, Path(f"{building}.wal"), Path(f"{building}.spill")]
    report = result.rejects_path.with_name(f".{result.rejects_path.name}.building-{os.getpid()}")
    try:
        sources, problems, result.warnings = find_sources(data_dir)
        for table, spec in FILES.items():
            if table not in sources:
                continue
            try:
                read_header(sources[table])
            except Refused as refused:
                problems += refused.problems
                continue
            header_problems, header_warnings = check_header(sources[table], spec)
            problems += header_problems
            result.warnings += header_warnings
        if problems:
            raise Refused(problems)
        if db_path.is_dir():
            raise Refused([f"--db {db_path} is a folder. Give the path of the database file."])
        try:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise Refused([f"Cannot create the folder {db_path.parent} ({exc.strerror})."]) from exc
        for path in [*scratch, report]:
            _remove(path)
        try:
            with duckdb.connect(str(building)) as con:
                _configure(con, scratch[2])
                result.files, result.extract_date = _build(
                    con, sources, extract_date, result.warnings, result.mixed_dates
                )
                result.rejects = con.execute('SELECT file, line, "column", value, reason FROM rejects').df()
                if max_reject_share is not None:
                    _refuse_heavy_losses(result, max_reject_share)
                if checking:
                    return _checked_result(result)
                con.execute("CHECKPOINT")
            result.rejects.to_csv(report, index=False, lineterminator="\n")
            os.replace(report, result.rejects_path)
            # A write-ahead log left beside the old database must never be replayed into the new one.
            _remove(Path(f"{db_path}.wal"))
            os.replace(building, db_path)
        except (OSError, duckdb.IOException) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
            raise Refused(
                [
                    f"Cannot write the new database beside {db_path} ({detail}). Check that the folder is writable "
                    "and has free space."
                ]
            ) from exc
    except Refused as refused:
        result.status = EXIT_REFUSED
        result.message = _refusal_message(refused.problems, db_path, checking)
        return result
    finally:
        for path in [*scratch, report]:
            _remove(path)
    rejected = sum(c.rows_rejected for c in result.files)
    result.status = EXIT_REJECTS if rejected else EXIT_OK
    if rejected:
        result.message = (
            f"{rejected:,} row(s) rejected; the database was built from the other rows. "
            "Fix them in the export (the report says where and why) and run the ingest again."
        )
    else:
        result.message = f"All {sum(c.rows_read for c in result.files):,} rows loaded."
    return result


def _checked_result(result: IngestResult) -> IngestResult:
    rejected = sum(c.rows_rejected for c in result.files)
    result.status = EXIT_REJECTS if rejected else EXIT_OK
    if rejected:
        result.message = (
            f"{rejected:,} row(s) would be rejected; an ingest would load the other rows. Nothing was written."
        )
    else:
        result.message = f"All {sum(c.rows_read for c in result.files):,} rows would load. Nothing was written."
    return result


def reject_reasons(rejects: pd.DataFrame, file: str | None = None, limit: int = 3) -> list[str]:
    """The most common reasons rows were rejected, as "column: reason (n rows, first on line k)"."""
    found = rejects if file is None else rejects[rejects.file == file]
    if found.empty:
        return []
    grouped = (
        found.assign(column=found["column"].fillna(""))
        .groupby(["file", "column", "reason"], sort=False)
        .agg(rows=("line", "size"), first=("line", "min"))
        .reset_index()
        .sort_values(["rows", "first"], ascending=[False, True])
        .head(limit)
    )
    return [
        f"{r.column + ': ' if r.column else ''}{r.reason} ({r.rows:,} row{'s' if r.rows != 1 else ''}, "
        f"first on line {r.first})"
        for r in grouped.itertuples(index=False)
    ]


def _refuse_heavy_losses(result: IngestResult, max_share: float) -> None:
    """Refuse the whole load when any file loses more than ``max_share`` of its rows, or writes the dates
    of one column in both forms: an export like that is more likely misread (dates month first, a shifted
    column, a spreadsheet that turned some cells into dates) than dirty, and serving what is left would give
    wrong numbers with no error."""
    heavy = [c for c in result.files if c.rows_read and c.rows_rejected / c.rows_read > max_share]
    if not heavy and not result.mixed_dates:
        return
    problems = list(result.mixed_dates)
    for c in heavy:
        reasons = "; ".join(reject_reasons(result.rejects, c.file))
        problems.append(
            f"{c.file}: {c.rows_rejected:,} of {c.rows_read:,} rows would be rejected "
            f"({c.rows_rejected / c.rows_read:.1%}), more than the {max_share * 100:g}% a load may lose "
            f"(PARITY_MAX_REJECT_SHARE). Most common: {reasons}."
        )
    problems.append(
        "Fix the export and load it again, or pass --accept-rejects to load the other rows anyway. "
        "`python -m parity check DATA_DIR --report FILE.csv` lists every rejected row."
    )
    raise Refused(problems)


def _refusal_message(problems: list[str], db_path: Path, checking: bool = False) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    if checking:
        return f"An ingest of this export would be refused; nothing would be loaded:\n{lines}\nNothing was written."
    return f"Load refused; nothing was loaded:\n{lines}\n{kept_note(db_path)}"


def kept_note(db_path: Path) -> str:
    """The sentence that ends a message about a load that did not happen."""
    return f"The previous database {db_path} is unchanged." if db_path.exists() else "No database was written."
