"""The same numbers from the DuckDB file and from Parquet files (a catalog of views over them), as
replicas reading an export in shared or object storage would serve them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from test_db import EXAMPLE_PARAMS

from parity import contract
from parity.db import QueryRunner, queries
from parity.ingest.parquet import export_parquet
from parity.summary import main as summary_main


@pytest.fixture(scope="module")
def catalog(sample_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_parquet(sample_db, tmp_path_factory.mktemp("parquet") / "export")


def test_every_table_is_a_parquet_file_and_a_view(catalog: Path, sample_db: Path):
    with duckdb.connect(str(sample_db), read_only=True) as con:
        tables = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"cases", "case_events", "workforce", "organisations", "rejects", "meta"} <= tables
    assert {p.stem for p in catalog.parent.glob("*.parquet")} == tables
    with duckdb.connect(str(catalog), read_only=True) as con:
        views = {v for (v,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert views == tables
        stored = {t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert stored == {"parquet_source"}  # no data in the catalog itself


@pytest.mark.parametrize("split", list(contract.SPLITS))
def test_every_query_gives_the_same_numbers(catalog: Path, sample_db: Path, split: str):
    with QueryRunner(sample_db) as file_db, QueryRunner(catalog) as parquet_db:
        for name, query in queries().items():
            params = {p: EXAMPLE_PARAMS[p] for p in query.params} | (
                {"split": split} if "split" in query.params else {}
            )
            from_file, from_parquet = file_db.run(name, params), parquet_db.run(name, params)
            order = list(from_file.columns)
            pd.testing.assert_frame_equal(
                from_file.sort_values(order, kind="stable").reset_index(drop=True),
                from_parquet.sort_values(order, kind="stable").reset_index(drop=True),
                obj=f"{name} by {split}",
            )


def test_the_summary_cli_prints_the_same(catalog: Path, sample_db: Path, capsys: pytest.CaptureFixture[str]):
    outputs = []
    for db in (sample_db, catalog):
        assert summary_main(["--db", str(db), "--by", "ethnic_minority", "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and '"rl"' in outputs[0]


def test_the_catalog_reads_its_files_and_nothing_else(catalog: Path):
    with QueryRunner(catalog) as db, pytest.raises(duckdb.PermissionException):
        db._con.execute("SELECT * FROM read_csv('/etc/hostname')").fetchall()
