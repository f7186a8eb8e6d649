"""The query layer: every query documents itself, runs, and returns the columns it promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from parity.db import DatabaseMissing, QueryError, QueryRunner, queries
from parity.filters import FILTER_PARAMS

# A value for every parameter any query may take.
EXAMPLE_PARAMS = {
    "split": "ethnic_group",
    "fy_from": 2015,
    "fy_to": 2030,
    "professions": ["doctor", "dentist", "pharmacist"],
    "grades": None,
    "regions": None,
    "org_types": None,
    "orgs": None,
    "concerns": None,
    "scope_org": None,
    "reference": "White",
    "drill_group": None,
    "window": 1,
    "breakdown": "concern",
    "period": "quarter",
    "followup_months": 12,
    "bin_months": 3,
}


def test_every_query_has_a_header_and_only_named_params():
    found = queries()
    assert found, "no queries found"
    for query in found.values():
        assert query.returns and query.columns, query.name
        assert query.params <= set(EXAMPLE_PARAMS), f"{query.name}: add its params to EXAMPLE_PARAMS"
        assert "{" not in query.sql and "%s" not in query.sql, f"{query.name}: no string templating"


@pytest.mark.parametrize("name", sorted(queries()))
def test_query_runs_and_returns_documented_columns(small_db: Path, name: str):
    query = queries()[name]
    with QueryRunner(small_db) as db:
        frame = db.run(name, {p: EXAMPLE_PARAMS[p] for p in query.params})
    assert tuple(frame.columns) == query.columns


def test_refuses_unknown_missing_and_unexpected(small_db: Path):
    with QueryRunner(small_db) as db:
        with pytest.raises(QueryError, match="no query named"):
            db.run("drop_everything")
        with pytest.raises(QueryError, match="missing split"):
            db.run("referrals_by_group", {p: None for p in FILTER_PARAMS if p != "grades"})
        with pytest.raises(QueryError, match="unexpected bogus"):
            db.run("load_meta", {"bogus": 1})


def test_connection_is_read_only(small_db: Path):
    with QueryRunner(small_db) as db, pytest.raises(Exception, match="read-only"):
        db._con.execute("CREATE TABLE x (i INTEGER)")


def test_missing_database_is_a_clear_error(tmp_path: Path):
    with pytest.raises(DatabaseMissing):
        QueryRunner(tmp_path / "none.duckdb")


def test_filters_narrow_results(small_db: Path):
    base = {p: None for p in FILTER_PARAMS if p != "grades"}
    with QueryRunner(small_db) as db:
        everyone = db.run("referrals_by_group", {"split": "ethnic_group", **base})
        doctors = db.run("referrals_by_group", {"split": "ethnic_group", **base, "professions": ["doctor"]})
        not_doctors = {"professions": ["dentist", "pharmacist"]}
        others = db.run("referrals_by_group", {"split": "ethnic_group", **base, **not_doctors})
        nobody = db.run("referrals_by_group", {"split": "ethnic_group", **base, "fy_from": 2100})
    # The small export has cases and headcount in every profession, so a filter that narrows nothing fails here.
    assert 0 < doctors["cases"].sum() < everyone["cases"].sum()
    assert doctors["headcount"].sum() < everyone["headcount"].sum()
    # Doctors and the other professions split everyone between them: nothing counted twice or dropped.
    assert doctors["cases"].sum() + others["cases"].sum() == everyone["cases"].sum()
    assert doctors["headcount"].sum() + others["headcount"].sum() == everyone["headcount"].sum()
    assert nobody.empty


def test_outcomes_query_reads_stage_bits_as_the_contract_defines_them():
    import re

    from parity.contract import STAGE_BITS

    sql = queries()["outcomes_by_group"].sql
    found = dict((name, int(bit)) for bit, name in re.findall(r"stage_mask & (\d+) > 0\) AS (\w+)", sql))
    assert {k: v for k, v in found.items() if k in STAGE_BITS} == STAGE_BITS
    assert found["exclusion_or_suspension"] == STAGE_BITS["exclusion"] | STAGE_BITS["suspension"]


# The macros' text each schema version was written with (the first 16 hex digits of its SHA-256).
MACROS_OF_VERSION = {"2": "c68bd984e3c1b226", "3": "0d913268d10e3b85"}


def test_the_schema_version_moves_with_the_macros():
    """A change to parity/macros.sql is a change to what ingest writes: bump contract.SCHEMA_VERSION (and note
    the new macros' digest here), so that a database built before is refused plainly, not mid-page."""
    import hashlib

    from parity.contract import SCHEMA_VERSION
    from parity.ingest.build import MACROS

    digest = hashlib.sha256(MACROS.read_bytes()).hexdigest()[:16]
    assert MACROS_OF_VERSION.get(SCHEMA_VERSION) == digest, (SCHEMA_VERSION, digest)


def test_the_workforce_by_group_is_the_workforce_grouped(sample_db: Path):
    """workforce_groups (written at ingest, read by every rate by group) holds exactly the workforce cells' sums
    by each split's group, for every split of the contract; workforce_years exactly the organisations' years."""
    import duckdb

    from parity import contract

    with duckdb.connect(str(sample_db), read_only=True) as con:
        stored = {s for (s,) in con.execute("SELECT DISTINCT by_split FROM workforce_groups").fetchall()}
        assert stored == set(contract.SPLITS)
        for split in contract.SPLITS:
            columns = "org_code, fy_start, profession, region, org_type, grp"
            grouped = con.execute(
                f"SELECT {columns}, sum(headcount)::BIGINT, sum(record_key)::BIGINT"
                f" FROM split_label_workforce($split) GROUP BY ALL ORDER BY ALL",
                {"split": split},
            ).fetchall()
            kept = con.execute(
                f"SELECT {columns}, headcount, record_key FROM workforce_groups WHERE by_split = $split ORDER BY ALL",
                {"split": split},
            ).fetchall()
            assert kept == grouped and grouped, split
        years = "SELECT DISTINCT org_code, fy_start FROM {} ORDER BY ALL"
        assert (
            con.execute(years.format("workforce_years")).fetchall() == con.execute(years.format("workforce")).fetchall()
        )


def test_a_database_of_another_schema_version_is_refused_plainly(sample_db: Path, tmp_path: Path):
    import shutil

    import duckdb

    from parity.db import DatabaseOutdated

    old = tmp_path / "old.duckdb"
    shutil.copy(sample_db, old)
    with duckdb.connect(str(old)) as con:
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    with pytest.raises(DatabaseOutdated) as refused:
        QueryRunner(old)
    message = str(refused.value)
    assert "built by another version of Parity (schema version 1" in message
    assert f"python -m parity ingest DATA_DIR --db {old}" in message
    from parity import summary

    assert summary.main(["--db", str(old), "--by", "ethnic_group"]) == 2


def test_a_runner_opened_after_a_swap_reads_the_new_file_while_an_older_one_is_open(
    small_db: Path, sample_db: Path, tmp_path: Path
):
    """Ingest swaps a new file in whole under a running server, whose runner of the old file stays open (Streamlit
    caches it). The runner opened for the new version must read the new file, not the database the process
    already has open at that path (DuckDB hands that back to a plain ``duckdb.connect``)."""
    import os
    import shutil

    served = tmp_path / "parity.duckdb"
    shutil.copy(small_db, served)

    def cases(db: QueryRunner) -> int:
        return int(db.run("table_rows").set_index("table_name").loc["cases", "rows"])

    with QueryRunner(served) as old:
        before = cases(old)
        new = tmp_path / "parity.duckdb.new"
        shutil.copy(sample_db, new)
        os.utime(new, ns=(old.data_version[1] + 10**9, old.data_version[1] + 10**9))
        os.replace(new, served)
        with QueryRunner(served) as fresh:
            assert fresh.data_version != old.data_version
            assert cases(fresh) == cases(QueryRunner(sample_db)) != before
        assert cases(old) == before  # the open runner keeps reading the file it opened


def test_a_database_path_with_a_quote_opens(small_db: Path, tmp_path: Path):
    """The file is attached with its path as a query parameter, never spliced into the SQL."""
    import shutil

    odd = tmp_path / "o'brien; DROP TABLE cases.duckdb"
    shutil.copy(small_db, odd)
    with QueryRunner(odd) as db, QueryRunner(small_db) as same:
        assert db.run("table_rows").equals(same.run("table_rows"))
