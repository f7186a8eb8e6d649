"""Ingest: an export folder -> a validated DuckDB database, swapped in atomically (design.md §2, §3).

``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD]``

How a load goes:

1. Find one file per table (``<table>.csv``, ``<table>.csv.gz`` or ``<table>.parquet``) and check each
   header against the contract. Anything wrong here refuses the whole load (exit 2) before a byte is
   written.
2. Read every file into a temporary all-VARCHAR table with one extra column, ``line``: the physical
   line the row starts on in its file (the header is line 1; for Parquet, the row number + 1).
3. Validate in SQL, one table at a time: the first failing column of each row (required, type,
   vocabulary), then the checks across rows and tables (known organisation, known case, dates in
   order, outcome exactly when closed, unique keys). A row that fails gets exactly one reject; every
   other row is loaded, typed, labelled from the contract and sorted by key. Cases are written last,
   with the stages their loaded events reached (a bit mask, contract.STAGE_BITS).
4. Build all of it in a new file beside the target, CHECKPOINT, close, write the rejects report, and
   ``os.replace`` both over the old ones. Any failure before that leaves the old ones untouched.

Line numbers. DuckDB's CSV reader gives a line only for the rows it rejects (bad UTF-8, stray
quotes), and it counts records, not physical lines. So a file goes the fast way (DuckDB reads it in
parallel) only when each record provably sits on exactly one line: the number of lines in the file
(up to the last non-blank one) equals 1 + the records DuckDB returned + the records it rejected, and
every line DuckDB rejected really holds the text it reported. Then the k-th record is on line k + 1,
and the good rows, which DuckDB keeps in file order, fill the lines the rejected ones leave free.
DuckDB reads a few spare columns, padded with NULL, so that SQL sees each row's number of fields (it
would silently drop empty extra fields). Otherwise (a quoted value with a line break, a blank line,
a stray carriage return, a row with very many fields) the file is read again by Python's csv module,
which tracks the line each record starts on itself: exact, about 10 s slower per million rows.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import gzip
import hashlib
import io
import operator
import os
import shutil
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from parity import contract
from parity.contract import FILES, Column, FileSpec

SCHEMA_VERSION = "1"
SUFFIXES = (".csv", ".csv.gz", ".parquet")
MEMORY_LIMIT = "1200MB"  # DuckDB's buffer pool; keeps a 1M-case ingest well under 2 GB RSS.
REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]
_SHOWN_CHARS = 300  # longest value copied into a reject
# DuckDB reads SPARE_FIELDS more columns than the header names, padding short rows with NULL, so that
# SQL can count the fields of every row (DuckDB itself drops extra fields that are empty). No value
# is read as NULL (nullstr never occurs), so NULL means "no such field".
SPARE_FIELDS = 8
_NEVER_IN_DATA = "\x01\x02parity-no-null\x02\x01"
_FIELD_COUNT_HINT = "check for a missing or extra comma, or a value containing a comma that is not in double quotes"
_CHUNK = 4 << 20

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


class Refused(Exception):
    """The export cannot be loaded at all; each problem is a sentence a person can act on."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# --- Finding the files and checking their headers ------------------------------------------


@dataclass
class Source:
    table: str
    path: Path
    names: list[str] = field(default_factory=list)  # header names, trimmed, in file order
    positions: dict[str, int] = field(default_factory=dict)  # contract column -> index in the file
    parquet_types: list[pa.DataType] = field(default_factory=list)

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def is_parquet(self) -> bool:
        return self.path.name.endswith(".parquet")

    @property
    def is_gzip(self) -> bool:
        return self.path.name.endswith(".gz")


def _find_sources(data_dir: Path) -> tuple[dict[str, Source], list[str], list[str]]:
    """The one file of each table, the problems (a table with no file, or two) and warnings."""
    if not data_dir.exists():
        raise Refused([f"The data folder {data_dir} does not exist. Check the path and run the ingest again."])
    if not data_dir.is_dir():
        raise Refused([f"{data_dir} is a file, not a folder. Give the folder that holds the export files."])
    try:
        present = sorted(p for p in data_dir.iterdir() if p.is_file())
    except OSError as exc:
        raise Refused(
            [f"The data folder {data_dir} cannot be listed ({exc.strerror}). Check its permissions."]
        ) from exc
    problems: list[str] = []
    sources: dict[str, Source] = {}
    used: set[Path] = set()
    for table in FILES:
        matches = [p for p in present if p.name in {table + s for s in SUFFIXES}]
        used.update(matches)
        expected = ", ".join(table + s for s in SUFFIXES)
        if not matches:
            near = [p.name for p in present if p.name.split(".")[0] == table]
            hint = f" Found {', '.join(near)}, which is not a supported format." if near else ""
            problems.append(f"No file for table '{table}' in {data_dir}: expected one of {expected}.{hint}")
        elif len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            problems.append(f"More than one file for table '{table}' ({names}). Keep exactly one and remove the rest.")
        else:
            sources[table] = Source(table, matches[0])
    # Data-like files that are not ours are worth a word (a misnamed table?); notes and the like are not.
    warnings = [
        f"{p.name}: not a file of the export contract; ignored."
        for p in present
        if p not in used and p.name.lower().endswith((".csv", ".gz", ".parquet", ".tsv", ".txt", ".xlsx", ".xls"))
    ]
    return sources, problems, warnings


def _open_binary(source: Source) -> io.BufferedIOBase:
    return gzip.open(source.path, "rb") if source.is_gzip else open(source.path, "rb")  # noqa: SIM115


def _read_error(source: Source, exc: Exception) -> str:
    what = "a gzipped CSV file" if source.is_gzip else "a Parquet file" if source.is_parquet else "a CSV file"
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).splitlines()[0]
    return f"{source.file} cannot be read as {what} ({detail}). Re-export it, or check its permissions."


def _read_header(source: Source) -> None:
    """Fill ``source.names`` from the header; raise Refused when there is no usable header."""
    if source.path.stat().st_size == 0:
        raise Refused([f"{source.file} is empty (0 bytes). Re-export it with a header row and the data."])
    if source.is_parquet:
        try:
            schema = pq.read_schema(source.path)
        except (OSError, pa.ArrowException) as exc:
            raise Refused([_read_error(source, exc)]) from exc
        source.names = [name.strip() for name in schema.names]
        source.parquet_types = list(schema.types)
        return
    try:
        with open(source.path, "rb") as raw:
            magic = raw.read(2)
        if not source.is_gzip and magic == b"\x1f\x8b":
            raise Refused([f"{source.file} is gzip-compressed. Rename it to {source.file}.gz."])
        with _open_binary(source) as f:
            first = f.readline(1 << 20)
    except (OSError, EOFError, zlib.error) as exc:
        raise Refused([_read_error(source, exc)]) from exc
    first = first.removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")
    if not first.strip():
        raise Refused([f"{source.file} has no header on line 1. The first line must name the columns."])
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused([f"The header of {source.file} is not valid UTF-8. Save the file as UTF-8."]) from exc
    source.names = [name.strip() for name in next(csv.reader([text]))]


def _check_header(source: Source, spec: FileSpec) -> tuple[list[str], list[str]]:
    """Problems (refuse) and warnings for one header; fills ``source.positions``."""
    names = source.names
    problems, warnings = [], []
    duplicated = sorted({n for n in names if n and names.count(n) > 1})
    if duplicated:
        problems.append(
            f"{source.file}: the header names {', '.join(duplicated)} more than once. Each column must appear once."
        )
    missing = [c for c in spec.column_names if c not in names]
    if missing:
        near = [n for n in names if n not in spec.column_names and n.lower() in {c.lower() for c in missing}]
        hint = f" Found {', '.join(near)}: column names are case-sensitive." if near else ""
        separator = next((d for d in ";\t|" if len(names) == 1 and d in names[0]), None)
        if separator:
            hint = f" The header is separated by {separator!r}: save the file with commas between values."
        problems.append(
            f"{source.file}: missing column(s) {', '.join(missing)}.{hint} "
            f"The header must name every column of the contract: {', '.join(spec.column_names)}."
        )
    extra = [n or f"(unnamed column {i + 1})" for i, n in enumerate(names) if n not in spec.column_names]
    if extra:
        warnings.append(f"{source.file}: extra column(s) ignored: {', '.join(extra)}.")
    source.positions = {c: names.index(c) for c in spec.column_names if c in names}
    return problems, warnings


# --- Reading a file into raw_<table>(line, columns as VARCHAR) -----------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _count_lines(source: Source) -> int:
    """Lines in the (decompressed) file up to its last non-blank line; trailing blank lines are not rows."""
    newlines = trailing = 0
    seen_text = False
    with _open_binary(source) as f:
        while chunk := f.read(_CHUNK):
            newlines += chunk.count(b"\n")
            body = chunk.rstrip(b"\r\n")
            if body:
                seen_text = True
                trailing = chunk[len(body) :].count(b"\n")
            else:
                trailing += chunk.count(b"\n")
    return newlines - trailing + 1 if seen_text else 0


def _lines_at(source: Source, wanted: set[int]) -> dict[int, bytes]:
    found: dict[int, bytes] = {}
    last = max(wanted)
    with _open_binary(source) as f:
        for number, raw in enumerate(f, start=1):
            if number in wanted:
                found[number] = raw.rstrip(b"\r\n")
                if number == last:
                    break
    return found


def _shown(text: str) -> str:
    """A value as a person can read it: undecodable bytes as \\xNN, long text cut short."""
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _key_of(fields: list[str], source: Source, spec: FileSpec) -> str | None:
    """The key (org_code, case_id) of a record that cannot be read, when it has one, so that rows
    referring to it can say it was rejected."""
    if len(spec.key) != 1:
        return None
    position = source.positions[spec.key[0]]
    return fields[position] if position < len(fields) and _is_utf8(fields[position]) else None


def _record_problem(fields: list[str], names: list[str], line_text: str) -> tuple[str, str, str] | None:
    """(column, value, reason) when a record cannot be read as a row of the file, else None."""
    for i, value in enumerate(fields):
        if not value.isascii() and not _is_utf8(value):
            column = names[i] if i < len(names) else ""
            return column, _shown(value), "contains bytes that are not valid UTF-8; save the file as UTF-8"
    if len(fields) != len(names):
        return "", _shown(line_text), f"has {len(fields)} fields but the header has {len(names)}; {_FIELD_COUNT_HINT}"
    return None


_DUCKDB_REASONS = {
    "UNQUOTED VALUE": "has a double quote inside a value that is not itself quoted; "
    'put the whole value in double quotes and double the quote inside it ("")',
    "LINE SIZE OVER MAX": "is longer than 2 MB; check for an unclosed double quote",
}


def _structural_rejects_duckdb(source: Source, spec: FileSpec, errors: list[tuple]) -> list[tuple] | None:
    """Explain the records DuckDB rejected, or None when its report does not match the file's lines."""
    by_line: dict[int, list[tuple[str, str, str]]] = {}
    for line, error_type, csv_line, message in errors:
        by_line.setdefault(int(line), []).append((error_type, csv_line or "", message or ""))
    physical = _lines_at(source, set(by_line))
    rejects = []
    for line, line_errors in sorted(by_line.items()):
        raw = physical.get(line)
        if raw is None:
            return None
        text = raw.decode("utf-8", "surrogateescape")
        if any(t == "INVALID ENCODING" for t, _, _ in line_errors):
            if _is_utf8(text):
                return None
        elif text != line_errors[0][1].strip("\r\n"):
            return None
        fields = next(csv.reader([text]), [])
        problem = _record_problem(fields, source.names, text)
        if problem is None:
            error_type, _, message = line_errors[0]
            reason = _DUCKDB_REASONS.get(error_type, f"is not valid CSV: {message.splitlines()[0]}")
            problem = ("", _shown(text), reason)
        rejects.append((source.file, line, *problem, _key_of(fields, source, spec)))
    return rejects


def _create_raw_view(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    spec: FileSpec,
    line_sql: str,
    convert: dict[str, str],
    padded: bool = False,
) -> None:
    """raw_<table>(line, fields, record, <contract columns as text>) over base_<table>(c0, c1, ...).

    ``fields`` is the row's number of fields and ``record`` the row as text, for a wrong field count;
    only a ``padded`` base (the DuckDB reader) can have one, the others reject such rows themselves."""
    columns = ", ".join(f"{convert.get(c, '{}').format(f'c{source.positions[c]}')} AS {c}" for c in spec.column_names)
    n = len(source.names)
    if padded:
        present = [f"c{i}" for i in range(n + SPARE_FIELDS)]
        count = " + ".join(f"({c} IS NOT NULL)::INTEGER" for c in present)
        fields = f"CASE WHEN c{n - 1} IS NOT NULL AND c{n} IS NULL THEN {n} ELSE {count} END"
        record = f"concat_ws(',', {', '.join(present)})"
    else:
        fields, record = str(n), "NULL::VARCHAR"
    con.execute(
        f"CREATE TEMP VIEW raw_{spec.name} AS SELECT {line_sql} AS line, {fields} AS fields, {record} AS record, "
        f"{columns} FROM base_{spec.name}"
    )


def _base_from_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> None:
    con.register("arrow_rows", data)
    con.execute(f"CREATE TEMP TABLE base_{table} AS SELECT * FROM arrow_rows")
    con.unregister("arrow_rows")


def _parse_csv_duckdb(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> bool:
    """csv_<table> (c0, c1, ... padded with NULL) and DuckDB's reject tables; False if DuckDB gives up."""
    t = spec.name
    columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(source.names) + SPARE_FIELDS))
    try:
        con.execute(
            f"CREATE TEMP TABLE csv_{t} AS SELECT * FROM read_csv($path, columns = {{{columns}}}, header = true, "
            "auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            "null_padding = true, nullstr = $never, encoding = 'utf-8', store_rejects = true, "
            f"rejects_table = 'rej_{t}', rejects_scan = 'scan_{t}')",
            {"path": str(source.path), "never": _NEVER_IN_DATA},
        )
    except duckdb.Error:
        # e.g. a quoted line break, a carriage return on its own or a row with very many fields:
        # the Python pass reads what DuckDB will not
        con.execute(f"DROP TABLE IF EXISTS rej_{t}")
        con.execute(f"DROP TABLE IF EXISTS scan_{t}")
        return False
    return True


def _read_csv_duckdb(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> list[tuple] | None:
    """The fast path: base_<table> and raw_<table>, and the structural rejects; None when the line
    numbers cannot be trusted (then nothing is left behind)."""
    t = spec.name
    # Count the file's lines on the other core while DuckDB parses it (both release the GIL).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        counting = pool.submit(_count_lines, source)
        parsed = _parse_csv_duckdb(con, source, spec)
        lines = counting.result()
    if not parsed:
        return None
    keep = False
    try:
        errors = con.execute(
            f"SELECT line, error_type::VARCHAR, csv_line, error_message FROM rej_{t} ORDER BY line, column_idx"
        ).fetchall()
        good = con.execute(f"SELECT count(*) FROM csv_{t}").fetchall()[0][0]
        rejected_lines = sorted({int(e[0]) for e in errors})
        if lines != 1 + good + len(rejected_lines):
            return None
        rejects = _structural_rejects_duckdb(source, spec, errors) if errors else []
        if rejects is None:
            return None
        if rejected_lines:
            # The i-th good row (1-based) sits on line i + 1 + (rejected lines before it). With r_j the
            # j-th rejected line, rows from ordinal r_j - j on are past j rejected lines.
            shifts = pa.table(
                {
                    "k": [r - j for j, r in enumerate(rejected_lines, start=1)],
                    "j": list(range(1, len(rejected_lines) + 1)),
                }
            )
            con.register("line_shifts", shifts)
            con.execute(
                f"CREATE TEMP TABLE base_{t} AS SELECT g.ordinal + 1 + coalesce(s.j, 0) AS line, g.* EXCLUDE (ordinal) "
                f"FROM (SELECT rowid + 1 AS ordinal, * FROM csv_{t}) g "
                "ASOF LEFT JOIN (SELECT k, max(j) AS j FROM line_shifts GROUP BY k) s ON g.ordinal >= s.k"
            )
            con.unregister("line_shifts")
            _create_raw_view(con, source, spec, "line", {}, padded=True)
        else:
            con.execute(f"ALTER TABLE csv_{t} RENAME TO base_{t}")
            _create_raw_view(con, source, spec, "rowid + 2", {}, padded=True)
        keep = True
        return rejects
    finally:
        if not keep:
            con.execute(f"DROP TABLE IF EXISTS base_{t}")
        con.execute(f"DROP TABLE IF EXISTS csv_{t}")
        con.execute(f"DROP TABLE IF EXISTS rej_{t}")
        con.execute(f"DROP TABLE IF EXISTS scan_{t}")


@contextlib.contextmanager
def _large_csv_fields() -> Iterator[None]:
    previous = csv.field_size_limit()
    csv.field_size_limit(1 << 30)  # an unclosed quote makes one huge field: reject it, do not crash
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_csv_python(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> list[tuple]:
    """The exact path: Python's csv module, which knows the line each record starts on. Rows go to
    Arrow in batches, so memory stays near that of the table itself."""
    wanted = [source.positions[c] for c in spec.column_names]
    project = operator.itemgetter(*wanted)
    n = len(source.names)
    names = ["line", *(f"c{i}" for i in wanted)]
    batches: list[pa.RecordBatch] = []
    lines: list[int] = []
    rows: list[tuple[str, ...]] = []
    rejects: list[tuple] = []

    def flush() -> None:
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in wanted]
        arrays = [pa.array(lines, pa.int64()), *(pa.array(c, pa.string()) for c in columns)]
        batches.append(pa.record_batch(arrays, names=names))
        lines.clear()
        rows.clear()

    with _open_binary(source) as raw, _large_csv_fields():
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline="")
        reader = csv.reader(text, strict=False)
        next(reader, None)  # the header, already checked
        last = reader.line_num
        for fields in reader:
            start, last = last + 1, reader.line_num
            if len(fields) == n and ((joined := "".join(fields)).isascii() or _is_utf8(joined)):
                lines.append(start)
                rows.append(project(fields))
                if len(rows) == 100_000:
                    flush()
            elif fields:  # a blank line holds no row
                column, value, reason = _record_problem(fields, source.names, ",".join(fields))
                if last > start and len(fields) != n:
                    reason += f"; the row runs from line {start} to line {last}: check for an unclosed double quote"
                rejects.append((source.file, start, column, value, reason, _key_of(fields, source, spec)))
    flush()
    _base_from_arrow(con, spec.name, pa.Table.from_batches(batches))
    _create_raw_view(con, source, spec, "line", {})
    return rejects


def _read_parquet(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> list[tuple]:
    table = pq.read_table(source.path)
    table = table.rename_columns([f"c{i}" for i in range(table.num_columns)])
    convert = {}
    for column in spec.columns:
        kind = source.parquet_types[source.positions[column.name]]
        if pa.types.is_date(kind):
            convert[column.name] = "strftime({}, '%Y-%m-%d')"
        elif pa.types.is_timestamp(kind):  # a date written as midnight is still the date
            convert[column.name] = (
                "CASE WHEN {0} = date_trunc('day', {0}) THEN strftime({0}, '%Y-%m-%d') ELSE CAST({0} AS VARCHAR) END"
            )
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            convert[column.name] = "array_to_string({}, ';')"
        else:
            convert[column.name] = "CAST({} AS VARCHAR)"
    _base_from_arrow(con, spec.name, table)
    _create_raw_view(con, source, spec, "rowid + 2", convert)  # the row number + 1, as if a header were line 1
    return []


def _load_raw(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> int:
    """Create raw_<table>, record the structural rejects (and the keys they hold in unreadable_<table>),
    and return the number of records read."""
    try:
        if source.is_parquet:
            rejects = _read_parquet(con, source, spec)
        else:
            rejects = None
            if not any(ch in str(source.path) for ch in "*?[{"):  # DuckDB would treat these as a glob
                rejects = _read_csv_duckdb(con, source, spec)
            if rejects is None:
                rejects = _read_csv_python(con, source, spec)
    except (OSError, EOFError, zlib.error, pa.ArrowException, duckdb.IOException, duckdb.InvalidInputException) as exc:
        raise Refused([_read_error(source, exc)]) from exc
    except duckdb.ConversionException as exc:  # a Parquet column of a type with no text form
        raise Refused([_read_error(source, exc)]) from exc
    rows_read = con.execute(f"SELECT count(*) FROM raw_{spec.name}").fetchall()[0][0] + len(rejects)
    if rows_read == 0:
        only = "" if source.is_parquet else " (only the header)"
        raise Refused([f"{source.file} has no data rows{only}. Re-export it with the data."])
    if rejects:
        found = pa.table(dict(zip([*REJECT_COLUMNS, "key"], zip(*rejects, strict=True), strict=True)), schema=_SCHEMA)
        con.register("structural_rejects", found)
        con.execute("INSERT INTO rejects_found SELECT * EXCLUDE (key) FROM structural_rejects")
        con.execute(
            f"CREATE TEMP TABLE unreadable_{spec.name} AS "
            "SELECT key, line FROM structural_rejects WHERE key IS NOT NULL"
        )
        con.unregister("structural_rejects")
    else:
        con.execute(f"CREATE TEMP TABLE unreadable_{spec.name} (key VARCHAR, line BIGINT)")
    return rows_read


_SCHEMA = pa.schema([(name, pa.int64() if name == "line" else pa.string()) for name in [*REJECT_COLUMNS, "key"]])


# --- Validation ------------------------------------------------------------------------------
#
# Each table goes raw_<t> -> checked (err = first failing column) -> final_<t> (err also from the
# checks across rows and tables) -> <t> (the good rows, typed and labelled). ``err`` is a struct
# {col, val, why}: the reject's column, value and reason.


def _err(column: str, value_sql: str, reason_sql: str) -> str:
    return f"{{'col': '{column}', 'val': {value_sql}, 'why': {reason_sql}}}"


def _empty(value_sql: str) -> str:
    return f"({value_sql} IS NULL OR trim({value_sql}) = '')"


_DATE_FORMAT = "regexp_full_match({}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')"
# A real day written YYYY-MM-DD: it reads as a date and writes back the same (cheaper than a regex).
_VALID_DATE = "coalesce(length({0}) = 10 AND CAST(TRY_CAST({0} AS DATE) AS VARCHAR) = {0}, false)"


def _type_checks(table: str, col: Column, params: dict[str, object]) -> list[tuple[str, str]]:
    """(failing condition, reason) pairs for a present value of one column, in the order tried."""
    v, p = f"r.{col.name}", f"{table}_{col.name}"
    if col.name == "financial_year":
        return [("fy.problem IS NOT NULL", "fy.problem")]
    if col.kind == "date":
        return [
            (f"NOT {_VALID_DATE.format(v)} AND NOT {_DATE_FORMAT.format(v)}", "'not a date in the form YYYY-MM-DD'"),
            (f"NOT {_VALID_DATE.format(v)}", "'not a real date (there is no such day)'"),
        ]
    if col.kind == "int":
        return [
            (f"regexp_full_match({v}, '-[0-9]+')", f"'negative; {col.name} must be 0 or more'"),
            (f"NOT regexp_full_match({v}, '[0-9]+')", f"'not a whole number; {col.name} must be a count such as 12'"),
            (f"TRY_CAST({v} AS INTEGER) IS NULL", f"'too large for {col.name}'"),
        ]
    if col.vocabulary is None:
        return []
    params[f"vocab_{p}"] = list(col.vocabulary)
    params[f"choices_{p}"] = ", ".join(col.vocabulary)
    if col.kind == "list":
        params[f"example_{p}"] = ";".join(col.vocabulary[:2])
        items = f"string_split({v}, ';')"
        unknown = f"list_filter({items}, lambda x: NOT list_contains($vocab_{p}, x))"
        return [
            (
                f"list_contains({items}, '')",
                f"'an empty item; separate {col.name} with a semicolon, e.g. ' || $example_{p}",
            ),
            (
                f"len({unknown}) > 0",
                f"'''' || {unknown}[1] || ''' is not a known item of {col.name}; expected: ' || $choices_{p}",
            ),
        ]
    params[f"vocab_lower_{p}"] = [code.lower() for code in col.vocabulary]
    case_hint = f"CASE WHEN list_contains($vocab_lower_{p}, lower({v})) THEN ' (codes are case-sensitive)' ELSE '' END"
    return [
        (
            f"NOT list_contains($vocab_{p}, {v})",
            f"'not a known {col.name}' || {case_hint} || '; expected one of: ' || $choices_{p}",
        )
    ]


def _checked(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec, params: dict[str, object]) -> str:
    """A subquery of the raw rows plus ``err``, their first failing column (NULL when all pass);
    adds the values it needs to ``params``."""
    params["field_count_hint"] = _FIELD_COUNT_HINT
    n = len(source.names)
    shown = f"CASE WHEN length(r.record) > {_SHOWN_CHARS} THEN left(r.record, {_SHOWN_CHARS}) || '…' ELSE r.record END"
    wrong_count = f"'has ' || r.fields || ' fields but the header has {n}; ' || $field_count_hint"
    branches = [f"WHEN r.fields <> {n} THEN {_err('', shown, wrong_count)}"]
    for col in spec.columns:
        value = f"r.{col.name}"
        if col.required:
            missing = _err(col.name, "''", "'missing; a value is required'")
            branches.append(f"WHEN {_empty(value)} THEN {missing}")
        for condition, reason in _type_checks(spec.name, col, params):
            branches.append(f"WHEN NOT {_empty(value)} AND ({condition}) THEN {_err(col.name, value, reason)}")
    join = extra = ""
    if "financial_year" in spec.column_names:
        _judge_financial_years(con, spec.name)
        join = f"LEFT JOIN financial_years_{spec.name} fy ON fy.text = r.financial_year"
        extra = "fy.fy_start, "
    return (
        f"(SELECT r.* EXCLUDE (fields, record), {extra}CASE {' '.join(branches)} END AS err "
        f"FROM raw_{spec.name} r {join})"
    )


def _register_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list], types: dict) -> None:
    """A small temp table from Python lists."""
    data = pa.table({c: pa.array(values, types.get(c, pa.string())) for c, values in columns.items()})
    con.register("python_lookup", data)
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM python_lookup")
    con.unregister("python_lookup")


def _judge_financial_years(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """financial_years_<table>(text, fy_start, problem), judged by the contract's own parser."""
    values = [v for (v,) in con.execute(f"SELECT DISTINCT financial_year FROM raw_{table}").fetchall() if v]
    starts, problems = [], []
    for value in values:
        try:
            starts.append(contract.parse_financial_year(value))
            problems.append(None if value == value.strip() else "spaces around the financial year; write it as 2023/24")
        except ValueError as exc:
            starts.append(None)
            problems.append(str(exc))
    _register_table(
        con,
        f"financial_years_{table}",
        {"text": values, "fy_start": starts, "problem": problems},
        {"fy_start": pa.int32()},
    )


def _label_lookups() -> dict[str, list[str]]:
    """The contract's label dicts as parallel lists: ``$<x>_of[list_position($<codes>, code)]``.

    Scalar lookups rather than joins, because a join does not keep row order and the served tables
    are written in key order straight from a sorted table (sorting the labelled rows costs more)."""
    ethnic, pmq = list(contract.ETHNIC_CATEGORIES), list(contract.PMQ_REGIONS)
    return {
        "ethnic_codes": ethnic,
        "ethnic_group_of": [contract.ETHNIC_GROUP_OF[c] for c in ethnic],
        "ethnic_minority_of": [contract.ETHNIC_MINORITY_OF[c] for c in ethnic],
        "ethnic_category_label_of": [contract.ETHNIC_CATEGORIES[c] for c in ethnic],
        "pmq_codes": pmq,
        "uk_graduate_of": [contract.UK_GRADUATE_OF[c] for c in pmq],
        "pmq_label_of": [contract.PMQ_REGIONS[c] for c in pmq],
        # ethnic category e and PMQ q: item (position of e - 1) * (number of PMQ codes) + position of q
        "ethnicity_pmq_of": [contract.ethnicity_pmq_label(e, q) for e in ethnic for q in pmq],
        "gender_codes": list(contract.GENDERS),
        "gender_label_of": list(contract.GENDERS.values()),
        "age_band_codes": list(contract.AGE_BANDS),
        "age_band_label_of": list(contract.AGE_BANDS.values()),
    }


# Organisation and group labels for a validated row ``k`` of cases or workforce (region and org_type
# were carried from the organisation check).
_LABEL_COLUMNS = (
    "k.region, k.org_type, "
    "$ethnic_group_of[list_position($ethnic_codes, k.ethnic_category)] AS ethnic_group, "
    "$ethnic_minority_of[list_position($ethnic_codes, k.ethnic_category)] AS ethnic_minority, "
    "$uk_graduate_of[list_position($pmq_codes, k.pmq_region)] AS uk_graduate, "
    "$ethnicity_pmq_of[(list_position($ethnic_codes, k.ethnic_category) - 1) * len($pmq_codes) "
    "+ list_position($pmq_codes, k.pmq_region)] AS ethnicity_pmq, "
    "$ethnic_category_label_of[list_position($ethnic_codes, k.ethnic_category)] AS ethnic_category_label, "
    "$pmq_label_of[list_position($pmq_codes, k.pmq_region)] AS pmq_label, "
    "$gender_label_of[list_position($gender_codes, k.gender)] AS gender_label, "
    "$age_band_label_of[list_position($age_band_codes, k.age_band)] AS age_band_label"
)


def _with_duplicates(con: duckdb.DuckDBPyConnection, spec: FileSpec, source: Source, inner_sql: str) -> str:
    """Wrap a query giving ``err0``: later rows repeating the key of an accepted row are rejected."""
    key = ", ".join(spec.key)
    distinct, total = con.execute(
        f"SELECT count(*), sum(n) FROM (SELECT count(*) AS n FROM raw_{spec.name} GROUP BY {key})"
    ).fetchall()[0]
    if distinct == total:  # no key repeats anywhere: spare the window over every row
        return f"SELECT * EXCLUDE (err0), err0 AS err FROM ({inner_sql})"
    first = f"min(CASE WHEN err0 IS NULL THEN line END) OVER (PARTITION BY {key})"
    value = " || '|' || ".join(spec.key)
    reason = f"'duplicate of line ' || {first} || '; {' + '.join(spec.key)} must be unique in {source.file}'"
    duplicate = _err("+".join(spec.key), value, reason)
    return (
        f"SELECT * EXCLUDE (err0), coalesce(err0, CASE WHEN err0 IS NULL AND line > {first} THEN {duplicate} END) "
        f"AS err FROM ({inner_sql})"
    )


def _organisation_params(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The loaded and the rejected organisations as lists, looked up by position like the labels:
    a join would lose the file order, and with it the chance to skip sorting a sorted file."""
    loaded = con.execute("SELECT list(org_code), list(region), list(org_type) FROM organisations").fetchall()[0]
    rejected = con.execute("SELECT list(org_code), list(line) FROM rejected_organisations").fetchall()[0]
    return {
        "org_codes": loaded[0] or [],
        "org_regions": loaded[1] or [],
        "org_types": loaded[2] or [],
        "rejected_org_codes": rejected[0] or [],
        "rejected_org_lines": rejected[1] or [],
    }


# Where a row ``c`` finds its organisation, among the loaded and among the rejected ones.
_ORG_POSITIONS = (
    "list_position($org_codes, c.org_code) AS org_i, list_position($rejected_org_codes, c.org_code) AS rejected_org_i"
)
_ORG_COLUMNS = "$org_regions[k.org_i] AS region, $org_types[k.org_i] AS org_type"


def _known_organisation(organisations: Source) -> str:
    """The error of a row ``k`` whose org_code was not loaded (see _ORG_POSITIONS)."""
    f = organisations.file
    line = "$rejected_org_lines[k.rejected_org_i]"
    rejected = _err("org_code", "k.org_code", f"'organisation was rejected (see {f} line ' || {line} || ')'")
    unknown = _err("org_code", "k.org_code", f"'organisation not found in {f}'")
    return (
        f"CASE WHEN k.org_i IS NULL AND k.rejected_org_i IS NOT NULL THEN {rejected} "
        f"WHEN k.org_i IS NULL THEN {unknown} END"
    )


def _in_order(con: duckdb.DuckDBPyConnection, table: str, order: list[str]) -> bool:
    """Whether the good rows of final_<table>, as stored (file order), are already in key order."""
    previous = [f"lag({e}) OVER ()" for e in order]
    descends = f"{order[-1]} < {previous[-1]}"
    for e, p in zip(reversed(order[:-1]), reversed(previous[:-1]), strict=True):
        descends = f"({e} < {p} OR ({e} = {p} AND {descends}))"
    found = con.execute(
        f"SELECT count(*) FROM (SELECT {descends} AS down FROM final_{table} k WHERE k.err IS NULL) WHERE down"
    ).fetchall()[0][0]
    return found == 0


def _reject_failing(con: duckdb.DuckDBPyConnection, spec: FileSpec, source: Source) -> None:
    """Reject the failing rows of final_<table>; keys of rejected rows go to rejected_<table>(key, line),
    for the rows that refer to them. The raw rows are no longer needed."""
    t = spec.name
    con.execute(
        f"INSERT INTO rejects_found SELECT $file, line, err.col, err.val, err.why FROM final_{t} WHERE err IS NOT NULL",
        {"file": source.file},
    )
    if len(spec.key) == 1:
        key = spec.key[0]
        con.execute(
            f"CREATE TEMP TABLE rejected_{t} AS SELECT {key}, min(line) AS line FROM ("
            f"SELECT {key}, line FROM final_{t} WHERE err IS NOT NULL AND {key} IS NOT NULL "
            f"UNION ALL SELECT key, line FROM unreadable_{t}) GROUP BY {key}"
        )
    con.execute(f"DROP VIEW raw_{t}")
    con.execute(f"DROP TABLE base_{t}")


def _write_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    select_sql: str,
    order: list[str],
    params: dict[str, object] | None = None,
    good_rows: str | None = None,
) -> None:
    """Create the served <table> from the good rows of final_<table> (or the ``good_rows`` query), in
    key order, then drop final_<table>.

    A SELECT from one table keeps its row order (DuckDB's order preservation), so the good rows are
    sorted only when they are not already in key order (a join loses it), and before the labels make
    them wide."""
    relation, good = f"final_{table}", "WHERE k.err IS NULL"
    if good_rows is not None or not _in_order(con, table, order):
        relation, good = f"sorted_{table}", ""
        rows = good_rows or f"SELECT * EXCLUDE (err) FROM final_{table} WHERE err IS NULL"
        con.execute(f"CREATE TEMP TABLE {relation} AS SELECT * FROM ({rows}) k ORDER BY {', '.join(order)}")
        con.execute(f"DROP TABLE final_{table}")
    con.execute(f"CREATE TABLE {table} AS SELECT {select_sql} FROM {relation} k {good}", params or {})
    con.execute(f"DROP TABLE {relation}")


def _accept(
    con: duckdb.DuckDBPyConnection,
    spec: FileSpec,
    source: Source,
    select_sql: str,
    order: list[str],
    params: dict[str, object] | None = None,
) -> None:
    """Reject the failing rows of final_<table> and create <table> from the others."""
    _reject_failing(con, spec, source)
    _write_table(con, spec.name, select_sql, order, params)


def _validate_organisations(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
    spec, source = FILES["organisations"], sources["organisations"]
    params: dict[str, object] = {}
    inner = f"SELECT * EXCLUDE (err), err AS err0 FROM {_checked(con, source, spec, params)}"
    con.execute(f"CREATE TEMP TABLE final_organisations AS {_with_duplicates(con, spec, source, inner)}", params)
    _accept(con, spec, source, "k.org_code, k.org_name, k.org_type, k.region", ["k.org_code"])


def _validate_workforce(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
    spec, source = FILES["workforce"], sources["workforce"]
    params = _organisation_params(con)
    inner = (
        f"SELECT k.* EXCLUDE (err, org_i, rejected_org_i), {_ORG_COLUMNS}, "
        f"coalesce(k.err, {_known_organisation(sources['organisations'])}) AS err0 "
        f"FROM (SELECT c.*, {_ORG_POSITIONS} FROM {_checked(con, source, spec, params)} c) k"
    )
    con.execute(f"CREATE TEMP TABLE final_workforce AS {_with_duplicates(con, spec, source, inner)}", params)
    select = (
        "k.financial_year, k.fy_start, k.org_code, k.profession, k.ethnic_category, k.pmq_region, k.gender, "
        f"k.age_band, CAST(k.headcount AS INTEGER) AS headcount, {_LABEL_COLUMNS}"
    )
    _accept(con, spec, source, select, [f"k.{c}" for c in spec.key], _label_lookups())


def _validate_cases(
    con: duckdb.DuckDBPyConnection, sources: dict[str, Source], extract: date | None
) -> tuple[str, dict[str, object]]:
    """final_cases and its rejects, and case_spans(case_id, referral_date, closure_date) of the good
    ones for the event checks; returns the SELECT and parameters that _write_cases needs."""
    spec, source = FILES["cases"], sources["cases"]
    dates_in_order = _err(
        "closure_date",
        "k.closure_date",
        "'before referral_date ' || k.referral || '; closure_date must be on or after it'",
    )
    open_with_outcome = _err(
        "outcome",
        "k.outcome",
        "'an outcome on an open case (no closure_date); add the closure date or remove the outcome'",
    )
    closed_without_outcome = _err(
        "outcome", "''", "'missing for a closed case (closure_date ' || k.closure || '); give the outcome'"
    )
    params = _organisation_params(con) | {"extract": extract}
    referral_late = _err("referral_date", "k.referral_date", "'after the extract date ' || $extract")
    closure_late = _err("closure_date", "k.closure_date", "'after the extract date ' || $extract")
    inner = (
        f"SELECT k.* EXCLUDE (err, org_i, rejected_org_i), {_ORG_COLUMNS}, "
        f"coalesce(k.err, {_known_organisation(sources['organisations'])}, "
        f"CASE WHEN k.closure < k.referral THEN {dates_in_order} END, "
        f"CASE WHEN k.closure IS NULL AND k.outcome_code IS NOT NULL THEN {open_with_outcome} "
        f"WHEN k.closure IS NOT NULL AND k.outcome_code IS NULL THEN {closed_without_outcome} END, "
        f"CASE WHEN k.referral > $extract THEN {referral_late} "
        f"WHEN k.closure > $extract THEN {closure_late} END) AS err0 "
        "FROM (SELECT c.*, TRY_CAST(c.referral_date AS DATE) AS referral, TRY_CAST(c.closure_date AS DATE) AS closure, "
        f"CASE WHEN trim(c.outcome) <> '' THEN c.outcome END AS outcome_code, {_ORG_POSITIONS} "
        f"FROM {_checked(con, source, spec, params)} c) k"
    )
    con.execute(f"CREATE TEMP TABLE final_cases AS {_with_duplicates(con, spec, source, inner)}", params)
    # The financial year runs from 1 April: January to March belong to the year before.
    fy_start = "(year(k.referral) - CASE WHEN month(k.referral) < 4 THEN 1 ELSE 0 END)"
    first, last = con.execute(
        f"SELECT min({fy_start}), max({fy_start}) FROM final_cases k WHERE k.err IS NULL"
    ).fetchall()[0]
    years = list(range(first, last + 1)) if first is not None else []
    select = (
        "k.case_id, k.practitioner_id, k.org_code, k.referral AS referral_date, k.closure AS closure_date, "
        "k.profession, k.grade, k.gender, k.age_band, k.ethnic_category, k.pmq_region, "
        "string_split(k.concern_types, ';') AS concern_types, k.outcome_code AS outcome, "
        f"$financial_years[{fy_start} - $first_year + 1] AS financial_year, CAST({fy_start} AS INTEGER) AS fy_start, "
        f"{_LABEL_COLUMNS}"
    )
    lookups = _label_lookups() | {
        "financial_years": [contract.financial_year_label(y) for y in years],
        "first_year": first,
    }
    _reject_failing(con, spec, source)
    con.execute(
        "CREATE TEMP TABLE case_spans AS SELECT case_id, referral AS referral_date, closure AS closure_date "
        "FROM final_cases WHERE err IS NULL"
    )
    return select, lookups


def _write_cases(con: duckdb.DuckDBPyConnection, select_sql: str, params: dict[str, object]) -> None:
    """The served cases, each with the stages it reached, so that pages count pathways without
    scanning every event: ``stage_mask``, bit ``contract.STAGE_BITS[stage]`` set for each stage of its
    events (integer bits count far faster than lists); ``formal_without_informal``, a formal
    investigation started before any informal resolution."""
    con.execute("CREATE TEMP TABLE stage_bits (stage VARCHAR, bit USMALLINT)")
    con.executemany("INSERT INTO stage_bits VALUES (?, ?)", list(contract.STAGE_BITS.items()))
    con.execute(
        "CREATE TEMP TABLE pathways AS SELECT case_id, bit_or(b.bit)::USMALLINT AS stage_mask, "
        "coalesce(min(start_date) FILTER (WHERE stage = 'formal_investigation') "
        "< coalesce(min(start_date) FILTER (WHERE stage = 'informal_resolution'), DATE '9999-12-31'), false) "
        "AS formal_without_informal FROM case_events JOIN stage_bits b USING (stage) GROUP BY case_id"
    )
    # Only the columns the SELECT uses: sorting moves every byte of them.
    with_pathways = (
        "SELECT c.case_id, c.practitioner_id, c.org_code, c.referral, c.closure, c.profession, c.grade, c.gender, "
        "c.age_band, c.ethnic_category, c.pmq_region, c.concern_types, c.outcome_code, c.region, c.org_type, "
        "coalesce(p.stage_mask, 0)::USMALLINT AS stage_mask, "
        "coalesce(p.formal_without_informal, false) AS formal_without_informal "
        "FROM final_cases c LEFT JOIN pathways p ON p.case_id = c.case_id WHERE c.err IS NULL"
    )
    select_sql += ", k.stage_mask, k.formal_without_informal"
    _write_table(con, "cases", select_sql, ["k.case_id"], params, good_rows=with_pathways)
    con.execute("DROP TABLE pathways")
    con.execute("DROP TABLE stage_bits")


def _validate_case_events(con: duckdb.DuckDBPyConnection, sources: dict[str, Source], extract: date | None) -> None:
    spec, source, cases_file = FILES["case_events"], sources["case_events"], sources["cases"].file
    params: dict[str, object] = {"extract": extract}
    case_rejected = _err("case_id", "k.case_id", f"'its case was rejected (see {cases_file} line ' || rc.line || ')'")
    case_unknown = _err("case_id", "k.case_id", f"'case not found in {cases_file}'")
    date_checks = [
        ("k.start_d < c.referral_date", "start_date", "'before its case''s referral_date ' || c.referral_date"),
        ("k.start_d > c.closure_date", "start_date", "'after its case''s closure_date ' || c.closure_date"),
        ("k.end_d < k.start_d", "end_date", "'before its start_date ' || k.start_date"),
        ("k.end_d > c.closure_date", "end_date", "'after its case''s closure_date ' || c.closure_date"),
        ("k.start_d > $extract", "start_date", "'after the extract date ' || $extract"),
        ("k.end_d > $extract", "end_date", "'after the extract date ' || $extract"),
    ]
    dates = " ".join(f"WHEN {cond} THEN {_err(col, f'k.{col}', why)}" for cond, col, why in date_checks)
    con.execute(
        "CREATE TEMP TABLE final_case_events AS "
        "SELECT k.* EXCLUDE (err), coalesce(k.err, "
        f"CASE WHEN c.case_id IS NULL AND rc.line IS NOT NULL THEN {case_rejected} "
        f"WHEN c.case_id IS NULL THEN {case_unknown} END, CASE {dates} END) AS err "
        "FROM (SELECT e.*, TRY_CAST(e.start_date AS DATE) AS start_d, TRY_CAST(e.end_date AS DATE) AS end_d "
        f"FROM {_checked(con, source, spec, params)} e) k "
        "LEFT JOIN case_spans c ON c.case_id = k.case_id LEFT JOIN rejected_cases rc ON rc.case_id = k.case_id",
        params,
    )
    # Stored by stage first: a query about one stage (exclusion episodes) then reads only the row groups
    # of that stage. An ongoing stage (no end_date) sorts after any ended one; end dates never reach
    # 'infinity'.
    order = ["k.stage", "k.case_id", "k.start_d", "coalesce(k.end_d, 'infinity'::DATE)"]
    # The join with case_spans has lost the file order anyway: sort just the four columns kept.
    _reject_failing(con, spec, source)
    good_rows = "SELECT case_id, stage, start_d, end_d FROM final_case_events WHERE err IS NULL"
    select = "k.case_id, k.stage, k.start_d AS start_date, k.end_d AS end_date"
    _write_table(con, spec.name, select, order, good_rows=good_rows)


def _latest_date(con: duckdb.DuckDBPyConnection) -> date | None:
    """The latest valid date (YYYY-MM-DD, a real day) anywhere in cases and case_events.

    Judged over the distinct values (a few thousand days), not over every row."""
    return con.execute(
        f"SELECT max(CASE WHEN {_VALID_DATE.format('d')} THEN TRY_CAST(d AS DATE) END) FROM ("
        "SELECT referral_date AS d FROM raw_cases UNION SELECT closure_date FROM raw_cases "
        "UNION SELECT start_date FROM raw_case_events UNION SELECT end_date FROM raw_case_events)"
    ).fetchall()[0][0]


# --- The build -------------------------------------------------------------------------------


def _source_sha256(sources: dict[str, Source]) -> str:
    """sha256 over "<sha256 of file>  <file name>" lines, files sorted by name (like sha256sum)."""
    listing = "".join(f"{_sha256(s.path)}  {s.file}\n" for s in sorted(sources.values(), key=lambda s: s.file))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _build(
    con: duckdb.DuckDBPyConnection, sources: dict[str, Source], extract_date: date | None
) -> tuple[list[FileCounts], date | None]:
    con.execute(
        'CREATE TEMP TABLE rejects_found (file VARCHAR, line BIGINT, "column" VARCHAR, value VARCHAR, reason VARCHAR)'
    )
    rows_read = {}
    for table, spec in FILES.items():
        rows_read[table] = _load_raw(con, sources[table], spec)
    extract = extract_date or _latest_date(con)
    _validate_organisations(con, sources)
    _validate_workforce(con, sources)
    cases_select, cases_params = _validate_cases(con, sources, extract)
    _validate_case_events(con, sources, extract)
    _write_cases(con, cases_select, cases_params)

    counts = []
    for table in FILES:
        source = sources[table]
        loaded = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
        found = con.execute("SELECT count(*) FROM rejects_found WHERE file = $f", {"f": source.file}).fetchall()
        rejected = found[0][0]
        # Never lose a row: each one read is loaded or has exactly one reject.
        assert rows_read[table] == loaded + rejected, f"{source.file}: {rows_read[table]} read != {loaded} + {rejected}"
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
    con.execute((Path(__file__).resolve().parent / "macros.sql").read_text(encoding="utf-8"))
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
    data_dir: Path, db_path: Path, extract_date: date | None = None, *, rejects_path: Path | None = None
) -> IngestResult:
    """Validate the export in ``data_dir`` and load it into ``db_path`` atomically.

    ``extract_date`` defaults to the latest date in the data. The rejects report goes to
    ``rejects_path`` (default: ``<db stem>_rejects.csv`` beside the database). Bad input never
    raises: it gives status 2 with a message and leaves the old database and report as they were.
    """
    data_dir, db_path = Path(data_dir), Path(db_path)
    rejects_path = Path(rejects_path) if rejects_path else rejects_path_for(db_path)
    result = IngestResult(EXIT_REFUSED, "", db_path, rejects_path)
    building = db_path.with_name(f".{db_path.name}.building-{os.getpid()}")
    scratch = [building, Path(f"{building}.wal"), Path(f"{building}.spill")]
    report = rejects_path.with_name(f".{rejects_path.name}.building-{os.getpid()}")
    try:
        sources, problems, result.warnings = _find_sources(data_dir)
        for table, spec in FILES.items():
            if table not in sources:
                continue
            try:
                _read_header(sources[table])
            except Refused as refused:
                problems += refused.problems
                continue
            header_problems, header_warnings = _check_header(sources[table], spec)
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
                result.files, result.extract_date = _build(con, sources, extract_date)
                result.rejects = con.execute('SELECT file, line, "column", value, reason FROM rejects').df()
                con.execute("CHECKPOINT")
            result.rejects.to_csv(report, index=False, lineterminator="\n")
            os.replace(report, rejects_path)
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
        result.message = _refusal_message(refused.problems, db_path)
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


def _refusal_message(problems: list[str], db_path: Path) -> str:
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"Load refused; nothing was loaded:\n{lines}\n{_kept(db_path)}"


def _kept(db_path: Path) -> str:
    return f"The previous database {db_path} is unchanged." if db_path.exists() else "No database was written."


# --- Command line --------------------------------------------------------------------------


def _counts_table(files: list[FileCounts]) -> str:
    header = ("file", "read", "loaded", "rejected")
    rows = [(c.file, f"{c.rows_read:,}", f"{c.rows_loaded:,}", f"{c.rows_rejected:,}") for c in files]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    return "\n".join(
        "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths, strict=True)))
        for r in [header, *rows]
    )


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    """``python -m parity ingest DATA_DIR [--db PATH] [--extract-date YYYY-MM-DD]``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m parity ingest",
        description="Validate an export (CSV, gzipped CSV or Parquet) and load it into the DuckDB file.",
        epilog="Exit status: 0 every row loaded; 1 some rows rejected (see the report); 2 load refused.",
    )
    parser.add_argument("data_dir", type=Path, metavar="DATA_DIR", help="folder holding the export files")
    parser.add_argument("--db", type=Path, help="DuckDB file to write (default: PARITY_DB_PATH)")
    parser.add_argument(
        "--extract-date", type=_parse_date, help="date open cases are censored at (default: latest date in the data)"
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        from parity.settings import get_settings

        settings = get_settings()
    except Exception as exc:  # pydantic's ValidationError names the bad PARITY_* variable
        print(f"parity ingest: the settings are not valid: {exc}\nFix the PARITY_* variables or .env.", file=sys.stderr)
        return EXIT_REFUSED
    db_path = args.db or settings.db_path
    extract_date = args.extract_date or settings.extract_date
    rejects_path = rejects_path_for(db_path)
    try:
        result = ingest(args.data_dir, db_path, extract_date, rejects_path=rejects_path)
    except Exception as exc:  # a bug, not bad input: say so plainly, the old database is still there
        print(
            f"parity ingest failed unexpectedly ({type(exc).__name__}: {exc}).\n"
            f"{_kept(db_path)} Please report this message.",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    if result.status == EXIT_REFUSED:
        for warning in result.warnings:
            print(f"Warning: {warning}", file=sys.stderr)
        print(result.message, file=sys.stderr)
        return result.status
    shown_extract = result.extract_date.isoformat() if result.extract_date else "none (no valid dates)"
    source = "given" if extract_date else "latest date in the data"
    print(f"Loaded {args.data_dir} into {db_path} (extract date {shown_extract}, {source}).\n")
    print(_counts_table(result.files))
    print()
    for warning in result.warnings:
        print(f"Warning: {warning}")
    print(result.message)
    print(f"Rejects report: {result.rejects_path}" + (" (also the table rejects)" if result.status else " (empty)"))
    return result.status
