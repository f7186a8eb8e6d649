"""Validating the raw rows of each table in SQL and writing the good ones (design.md §3).

One table at a time: the first failing column of each row (required, type, vocabulary), then the
checks across rows and tables (known organisation, known case, dates in order, outcome exactly when
closed, unique keys). A row that fails gets exactly one reject in ``rejects_found``; every other row
is loaded, typed, labelled from the contract and sorted by key. Cases are written last, with the
stages their loaded events reached (a bit mask, contract.STAGE_BITS).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa

from parity import contract
from parity.contract import FILES, Column, FileSpec
from parity.ingest.sources import FIELD_COUNT_HINT, SHOWN_CHARS, Source

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
# The UK day-first form (contract.DAY_FIRST): D/M/YYYY or DD/MM/YYYY, read day first.
_DAY_FIRST_FORMAT = "regexp_full_match({}, '[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}')"
_DAY_FIRST_DATE = "CASE WHEN {0} THEN try_strptime({1}, '%d/%m/%Y')::DATE END"


@dataclass(frozen=True)
class DateColumn:
    """How one date column of one file is written: ``form`` (contract.ISO_DATE or contract.DAY_FIRST),
    chosen by the values that have either shape; values of the other shape are rejected row by row."""

    table: str
    column: str
    form: str
    iso: int  # values shaped YYYY-MM-DD
    day_first: int  # values shaped DD/MM/YYYY

    @property
    def mixed(self) -> bool:
        return self.iso > 0 and self.day_first > 0


def date_forms(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> dict[tuple[str, str], DateColumn]:
    """The form of every date column, from raw_<table>: the one most of its values are written in
    (YYYY-MM-DD when neither is used more)."""
    forms = {}
    for spec in FILES.values():
        columns = [c.name for c in spec.columns if c.kind == "date"]
        if not columns:
            continue
        counts = ", ".join(
            f"count(*) FILTER (WHERE {_DATE_FORMAT.format(c)}), count(*) FILTER (WHERE {_DAY_FIRST_FORMAT.format(c)})"
            for c in columns
        )
        found = con.execute(f"SELECT {counts} FROM raw_{spec.name}").fetchall()[0]
        for i, column in enumerate(columns):
            iso, day_first = found[2 * i], found[2 * i + 1]
            form = contract.DAY_FIRST if day_first > iso else contract.ISO_DATE
            forms[(spec.name, column)] = DateColumn(spec.name, column, form, iso, day_first)
    return forms


def mixed_dates_note(column: DateColumn, file: str) -> str:
    """The plain sentence for a column whose dates are written in both forms."""
    other = contract.ISO_DATE if column.form == contract.DAY_FIRST else contract.DAY_FIRST
    minority = column.iso if column.form == contract.DAY_FIRST else column.day_first
    return (
        f"{file}: {column.column} mixes dates written {column.form} ({max(column.iso, column.day_first):,}) and "
        f"{other} ({minority:,}); the {minority:,} written {other} were rejected. Write every date of a column "
        "in one form (a spreadsheet that turned some cells into dates and left others as text does this)."
    )


def as_date(value_sql: str, form: str) -> str:
    """SQL for a text value as a DATE (NULL when it is not a real date in the column's form)."""
    if form == contract.DAY_FIRST:
        return _DAY_FIRST_DATE.format(_DAY_FIRST_FORMAT.format(value_sql), value_sql)
    return f"TRY_CAST({value_sql} AS DATE)"


def _date_checks(v: str, form: str) -> list[tuple[str, str]]:
    if form == contract.DAY_FIRST:
        return [
            (
                f"NOT {_DAY_FIRST_FORMAT.format(v)}",
                "'not a date in the form DD/MM/YYYY (the other dates of this column are written day first)'",
            ),
            (
                f"({as_date(v, form)}) IS NULL",
                "'not a real date read day first (DD/MM/YYYY); is it written month first?'",
            ),
        ]
    return [
        (f"NOT {_VALID_DATE.format(v)} AND NOT {_DATE_FORMAT.format(v)}", "'not a date in the form YYYY-MM-DD'"),
        (f"NOT {_VALID_DATE.format(v)}", "'not a real date (there is no such day)'"),
    ]


def _type_checks(
    table: str, col: Column, params: dict[str, object], forms: dict[tuple[str, str], DateColumn] | None = None
) -> list[tuple[str, str]]:
    """(failing condition, reason) pairs for a present value of one column, in the order tried."""
    v, p = f"r.{col.name}", f"{table}_{col.name}"
    if col.name == "financial_year":
        return [("fy.problem IS NOT NULL", "fy.problem")]
    if col.kind == "date":
        found = (forms or {}).get((table, col.name))
        return _date_checks(v, found.form if found else contract.ISO_DATE)
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


def _checked(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    spec: FileSpec,
    params: dict[str, object],
    forms: dict[tuple[str, str], DateColumn] | None = None,
) -> str:
    """A subquery of the raw rows plus ``err``, their first failing column (NULL when all pass);
    adds the values it needs to ``params``."""
    params["field_count_hint"] = FIELD_COUNT_HINT
    n = len(source.names)
    shown = f"CASE WHEN length(r.record) > {SHOWN_CHARS} THEN left(r.record, {SHOWN_CHARS}) || '…' ELSE r.record END"
    wrong_count = f"'has ' || r.fields || ' fields but the header has {n}; ' || $field_count_hint"
    branches = [f"WHEN r.fields <> {n} THEN {_err('', shown, wrong_count)}"]
    for col in spec.columns:
        value = f"r.{col.name}"
        if col.required:
            missing = _err(col.name, "''", "'missing; a value is required'")
            branches.append(f"WHEN {_empty(value)} THEN {missing}")
        for condition, reason in _type_checks(spec.name, col, params, forms):
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


def _cut(text_sql: str, chars: int) -> str:
    """A value or reason as a reject keeps it: a huge field is cut short, never copied whole."""
    return f"CASE WHEN length({text_sql}) > {chars} THEN left({text_sql}, {chars}) || '…' ELSE {text_sql} END"


def _reject_failing(con: duckdb.DuckDBPyConnection, spec: FileSpec, source: Source) -> None:
    """Reject the failing rows of final_<table>; keys of rejected rows go to rejected_<table>(key, line),
    for the rows that refer to them. The raw rows are no longer needed."""
    t = spec.name
    con.execute(
        f"INSERT INTO rejects_found SELECT $file, line, err.col, {_cut('err.val', SHOWN_CHARS)}, "
        f"{_cut('err.why', 2 * SHOWN_CHARS)} FROM final_{t} WHERE err IS NOT NULL",
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


def _record_key(identity: str) -> str:
    """The fixed record key of disclosure control's cell-key method (``parity.disclosure``): an integer from 0 to
    ``contract.RECORD_KEYS`` - 1 drawn from the MD5 of the record's identity (a case's id; a workforce cell's
    year, organisation and characteristics). Deterministic, so the same export always gives the same database
    and a cell the same key however it is reached."""
    return f"CAST(md5_number('parity:' || {identity}) % {contract.RECORD_KEYS} AS SMALLINT) AS record_key"


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


def validate_organisations(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
    spec, source = FILES["organisations"], sources["organisations"]
    params: dict[str, object] = {}
    inner = f"SELECT * EXCLUDE (err), err AS err0 FROM {_checked(con, source, spec, params)}"
    con.execute(f"CREATE TEMP TABLE final_organisations AS {_with_duplicates(con, spec, source, inner)}", params)
    _accept(con, spec, source, "k.org_code, k.org_name, k.org_type, k.region", ["k.org_code"])


def validate_workforce(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
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
        f"k.age_band, CAST(k.headcount AS INTEGER) AS headcount, {_LABEL_COLUMNS}, "
        + _record_key(
            "concat_ws('|', k.financial_year, k.org_code, k.profession, k.ethnic_category, k.pmq_region, k.gender, "
            "k.age_band)"
        )
    )
    _accept(con, spec, source, select, [f"k.{c}" for c in spec.key], _label_lookups())


def validate_cases(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Source],
    extract: date | None,
    forms: dict[tuple[str, str], DateColumn] | None = None,
) -> tuple[str, dict[str, object]]:
    """final_cases and its rejects, and case_spans(case_id, referral_date, closure_date) of the good
    ones for the event checks; returns the SELECT and parameters that write_cases needs."""
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
        f"FROM (SELECT c.*, {_as_date_of(forms, 'cases', 'c.referral_date')} AS referral, "
        f"{_as_date_of(forms, 'cases', 'c.closure_date')} AS closure, "
        f"CASE WHEN trim(c.outcome) <> '' THEN c.outcome END AS outcome_code, {_ORG_POSITIONS} "
        f"FROM {_checked(con, source, spec, params, forms)} c) k"
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
        f"{_LABEL_COLUMNS}, " + _record_key("k.case_id")
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


def write_cases(con: duckdb.DuckDBPyConnection, select_sql: str, params: dict[str, object]) -> None:
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


def validate_case_events(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, Source],
    extract: date | None,
    forms: dict[tuple[str, str], DateColumn] | None = None,
) -> None:
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
        f"FROM (SELECT e.*, {_as_date_of(forms, 'case_events', 'e.start_date')} AS start_d, "
        f"{_as_date_of(forms, 'case_events', 'e.end_date')} AS end_d "
        f"FROM {_checked(con, source, spec, params, forms)} e) k "
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


def _as_date_of(forms: dict[tuple[str, str], DateColumn] | None, table: str, value_sql: str) -> str:
    found = (forms or {}).get((table, value_sql.split(".")[-1]))
    return as_date(value_sql, found.form if found else contract.ISO_DATE)


def latest_date(con: duckdb.DuckDBPyConnection, forms: dict[tuple[str, str], DateColumn] | None = None) -> date | None:
    """The latest valid date (in its column's form, a real day) anywhere in cases and case_events.

    Judged over the distinct values (a few thousand days), not over every row."""
    latest = []
    for table, column in [
        ("cases", "referral_date"),
        ("cases", "closure_date"),
        ("case_events", "start_date"),
        ("case_events", "end_date"),
    ]:
        found = (forms or {}).get((table, column))
        if found and found.form == contract.DAY_FIRST:
            valid = f"({as_date('d', found.form)}) IS NOT NULL"
        else:
            valid = _VALID_DATE.format("d")
        latest.append(
            f"SELECT max(CASE WHEN {valid} THEN {as_date('d', found.form if found else contract.ISO_DATE)} END) AS d "
            f"FROM (SELECT DISTINCT {column} AS d FROM raw_{table})"
        )
    return con.execute(f"SELECT max(d) FROM ({' UNION ALL '.join(latest)})").fetchall()[0][0]
