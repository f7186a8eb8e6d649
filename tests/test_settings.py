from pathlib import Path

import pytest
from pydantic import ValidationError

from parity.settings import Settings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme():
    for name in Settings.model_fields:
        assert f"`PARITY_{name.upper()}`" in README, f"PARITY_{name.upper()} is not in the README's settings table"


def test_defaults():
    s = Settings(_env_file=None)
    assert s.data_dir.name == "sample_data"
    assert s.suppress_max == 7 and s.round_to == 5
    assert s.ethnicity_reference == "White" and s.pmq_reference == "UK"
    assert s.viewer_org is None
    assert s.viewer_level == "protected"
    assert s.rejects_path.name == "parity_rejects.csv"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("PARITY_DB_PATH", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("PARITY_EXTRACT_DATE", "2024-03-31")
    monkeypatch.setenv("PARITY_VIEWER_ORG", "")
    s = Settings(_env_file=None)
    assert s.db_path == tmp_path / "x.duckdb"
    assert str(s.extract_date) == "2024-03-31"
    assert s.viewer_org is None


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("PARITY_VIEWER_LEVEL", "Full"),
        ("PARITY_VIEWER_LEVEL", ""),
        ("PARITY_ETHNICITY_REFERENCE", "Not stated"),
        ("PARITY_PMQ_REFERENCE", "Mars"),
        ("PARITY_ROUND_TO", "0"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, var: str, value: str):
    monkeypatch.setenv(var, value)
    with pytest.raises(ValidationError, match=var.removeprefix("PARITY_").lower()):
        Settings(_env_file=None)
