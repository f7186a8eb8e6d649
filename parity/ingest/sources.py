"""Finding an export's files and reading each into ``raw_<table>`` (design.md §3), with the rejects
for records that cannot be read as rows at all.

Each file is read into a temporary all-VARCHAR table with one extra column, ``line``: the physical
line the row starts on in its file (the header is line 1; for Parquet, the row number + 1).

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

import concurrent.futures
import contextlib
import csv
import gzip
import hashlib
import io
import operator
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from parity.contract import FILES, FileSpec

SUFFIXES = (".csv", ".csv.gz", ".parquet")
REJECT_COLUMNS = ["file", "line", "column", "value", "reason"]
SHOWN_CHARS = 300  # longest value copied into a reject
# DuckDB reads SPARE_FIELDS more columns than the header names, padding short rows with NULL, so that
# SQL can count the fields of every row (DuckDB itself drops extra fields that are empty). No value
# is read as NULL (nullstr never occurs), so NULL means "no such field".
SPARE_FIELDS = 8
_NEVER_IN_DATA = "\x01\x02parity-no-null\x02\x01"
FIELD_COUNT_HINT = "check for a missing or extra comma, or a value containing a comma that is not in double quotes"
_CHUNK = 4 << 20


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


def find_sources(data_dir: Path) -> tuple[dict[str, Source], list[str], list[str]]:
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


def read_header(source: Source) -> None:
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
    try:
        source.names = [name.strip() for name in next(csv.reader([text]))]
    except csv.Error as exc:  # a stray carriage return inside the header, say
        raise Refused([f"The header of {source.file} cannot be read as CSV ({exc}). Check line 1."]) from exc


def check_header(source: Source, spec: FileSpec) -> tuple[list[str], list[str]]:
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


def file_sha256(path: Path) -> str:
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
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


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
        return "", _shown(line_text), f"has {len(fields)} fields but the header has {len(names)}; {FIELD_COUNT_HINT}"
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


def load_raw(con: duckdb.DuckDBPyConnection, source: Source, spec: FileSpec) -> int:
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
