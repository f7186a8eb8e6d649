"""Settings, read from ``PARITY_*`` environment variables or a ``.env`` file.

Every field is documented in README.md (tests/test_settings.py keeps that true).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from parity import contract
from parity.viewer import LEVELS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARITY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(PROJECT_ROOT / "sample_data", description="Folder holding the export to load.")
    db_path: Path = Field(PROJECT_ROOT / "data" / "parity.duckdb", description="DuckDB file the app and CLI read.")
    extract_date: date | None = Field(
        None, description="Date open cases are censored at; default: the latest date in the data."
    )
    viewer_level: str = Field(
        "protected", description="The level of the numbers shown: 'protected' (the disclosure rule) or 'full' (exact)."
    )
    suppress_max: int = Field(7, ge=0, description="At the protected level, counts from 1 to this value show as '*'.")
    round_to: int = Field(5, ge=1, description="Other protected counts are rounded to the nearest multiple of this.")
    ethnicity_reference: str = Field(contract.WHITE, description="Reference group for ethnic-group comparisons.")
    pmq_reference: str = Field("UK", description="Reference place of primary qualification.")
    audit_path: Path = Field(
        PROJECT_ROOT / "data" / "audit.jsonl", description="The append-only audit log (shared storage for replicas)."
    )
    roles_path: Path = Field(
        PROJECT_ROOT / "roles.csv",
        description="Who may sign in, with which role and organisation (when [auth] is set).",
    )
    session_hours: float = Field(
        12, gt=0, description="A sign-in older than this many hours has expired; the person signs in again."
    )
    max_reject_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="A load in which any file loses more than this share of its rows is refused whole.",
    )
    trend_target: float = Field(
        1.25,
        gt=0,
        description="Target for the ratio trends' assurance icons (1.25: the top of the 0.80–1.25 band; 1: parity).",
    )
    chromium_path: Path = Field(
        Path("/usr/bin/chromium"), description="Chromium used to draw charts as images for PNG downloads and packs."
    )
    viewer_org: str | None = Field(
        None, description="Employer view: the one organisation whose cases this viewer may see (empty: national)."
    )
    min_other_orgs: int = Field(
        3,
        ge=1,
        description="Employer view: a geography shows figures only if it is the employer's own organisation alone "
        "or holds at least this many other organisations.",
    )

    @field_validator("ethnicity_reference")
    @classmethod
    def _known_ethnic_group(cls, value: str) -> str:
        if value not in contract.ETHNIC_GROUPS or contract.is_unknown_group(value):
            raise ValueError(f"must be one of {', '.join(contract.ETHNIC_GROUPS[:5])}")
        return value

    @field_validator("pmq_reference")
    @classmethod
    def _known_pmq(cls, value: str) -> str:
        if value not in ("UK", "EEA", "IMG"):
            raise ValueError("must be UK, EEA or IMG")
        return value

    @field_validator("viewer_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        # Never read an unknown level as 'full': a typo must not show exact numbers.
        if value not in LEVELS:
            raise ValueError(
                f"{value!r} is not a viewer level; it must be 'protected' (numbers under the disclosure rule) "
                "or 'full' (exact numbers, for the national body's analysts). Parity never falls back to 'full'"
            )
        return value

    @field_validator("viewer_org", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def rejects_path(self) -> Path:
        """The CSV report of rows rejected at the last ingest, beside the database."""
        return self.db_path.with_name(self.db_path.stem + "_rejects.csv")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def settings_problem(error: ValidationError) -> str:
    """A settings error in plain words: each bad variable and what it must be."""
    lines = []
    for item in error.errors():
        name = "PARITY_" + "_".join(str(part) for part in item["loc"]).upper()
        message = str(item["msg"]).removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "Parity cannot start because of its settings. " + "; ".join(lines) + "."
