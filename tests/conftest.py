"""Shared fixtures: databases built by the real ingest from code-built or sample exports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from parity.charts import theme

# In CI, property tests draw the same examples every run: a red build is then reproducible, never luck.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Every figure a test makes is checked by Plotly, property by property: a misspelt property or a value Plotly does
# not accept fails the test. The server makes figures without the checks (parity.charts.theme); test_figures_unchecked
# checks that the figures are the same either way.
theme.CHECK_FIGURES = True

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="session")
def small_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tools.testdata import write_small_export

    folder = tmp_path_factory.mktemp("small_export")
    write_small_export(folder)
    return folder


@pytest.fixture(scope="session")
def small_db(small_export: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from parity.ingest import ingest

    path = tmp_path_factory.mktemp("small_db") / "small.duckdb"
    result = ingest(small_export, path)
    assert result.status == 0, result
    return path


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample data, loaded once per test session."""
    from parity.ingest import ingest

    path = tmp_path_factory.mktemp("sample_db") / "sample.duckdb"
    result = ingest(SAMPLE, path)
    assert result.status == 0, result
    return path


@pytest.fixture
def sample_app(sample_db: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the app at the sample database (a national view) for AppTest page tests."""
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_DB_PATH", str(sample_db))
    monkeypatch.setenv("PARITY_AUDIT_PATH", str(sample_db.parent / "audit.jsonl"))  # never the repository's data/
    monkeypatch.delenv("PARITY_VIEWER_ORG", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
