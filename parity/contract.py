"""The data contract: files, columns, vocabularies, groupings and their labels.

Everything that names a code or a group lives here, so that ingest, queries, pages
and the summary CLI all speak the same language (design.md §3).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Vocabularies -----------------------------------------------------------------

ORG_TYPES: dict[str, str] = {
    "acute_trust": "Acute trust",
    "mental_health_trust": "Mental health trust",
    "community_trust": "Community trust",
    "ambulance_trust": "Ambulance trust",
    "primary_care_commissioner": "Primary care commissioner",
    "health_board": "Health board",
    "other": "Other organisation",
}

REGIONS: tuple[str, ...] = (
    "London",
    "South East",
    "South West",
    "Midlands",
    "East of England",
    "North West",
    "North East and Yorkshire",
    "Wales",
    "Northern Ireland",
    "Crown Dependencies",
)

PROFESSIONS: dict[str, str] = {
    "doctor": "Doctors",
    "dentist": "Dentists",
    "pharmacist": "Pharmacists",
}

GRADES: dict[str, str] = {
    "consultant": "Consultant",
    "sas_doctor": "SAS doctor",
    "locally_employed_doctor": "Locally employed doctor",
    "doctor_in_training": "Doctor in training",
    "gp": "GP",
    "dentist": "Dentist",
    "pharmacist": "Pharmacist",
    "other": "Other grade",
}

GENDERS: dict[str, str] = {"female": "Female", "male": "Male", "not_stated": "Not stated"}

AGE_BANDS: dict[str, str] = {
    "under_35": "Under 35",
    "35_44": "35 to 44",
    "45_54": "45 to 54",
    "55_64": "55 to 64",
    "65_plus": "65 and over",
    "not_known": "Not known",
}

# NHS Data Dictionary ethnic category codes, with their ONS-style 5+1 group.
ETHNIC_CATEGORIES: dict[str, str] = {
    "A": "White British",
    "B": "White Irish",
    "C": "Any other White background",
    "D": "White and Black Caribbean",
    "E": "White and Black African",
    "F": "White and Asian",
    "G": "Any other Mixed or multiple ethnic background",
    "H": "Indian",
    "J": "Pakistani",
    "K": "Bangladeshi",
    "L": "Any other Asian background",
    "M": "Caribbean",
    "N": "African",
    "P": "Any other Black background",
    "R": "Chinese",
    "S": "Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}

WHITE = "White"
MIXED = "Mixed or multiple ethnic groups"
ASIAN = "Asian or Asian British"
BLACK = "Black or Black British"
OTHER_ETHNIC = "Other ethnic group"
NOT_STATED = "Not stated"
NOT_KNOWN = "Not known"

ETHNIC_GROUP_OF: dict[str, str] = {
    **dict.fromkeys("ABC", WHITE),
    **dict.fromkeys("DEFG", MIXED),
    **dict.fromkeys("HJKL", ASIAN),
    **dict.fromkeys("MNP", BLACK),
    **dict.fromkeys("RS", OTHER_ETHNIC),
    "Z": NOT_STATED,
    "99": NOT_KNOWN,
}
ETHNIC_GROUPS: tuple[str, ...] = (WHITE, MIXED, ASIAN, BLACK, OTHER_ETHNIC, NOT_STATED, NOT_KNOWN)

# The WRES-style binary. Never "BAME" (domain.md, ONS style).
ETHNIC_MINORITY = "Ethnic minority (excluding White minorities)"
ETHNIC_MINORITY_OF: dict[str, str] = {
    **dict.fromkeys("ABC", WHITE),
    **dict.fromkeys("DEFGHJKLMNPRS", ETHNIC_MINORITY),
    "Z": NOT_STATED,
    "99": NOT_KNOWN,
}

PMQ_REGIONS: dict[str, str] = {
    "UK": "UK graduate",
    "EEA": "EEA graduate",
    "IMG": "International medical graduate (IMG)",
    "not_known": "Place of qualification not known",
}
UK_GRADUATE = "UK graduate"
NON_UK_GRADUATE = "Non-UK graduate (EEA or IMG)"
UK_GRADUATE_OF: dict[str, str] = {
    "UK": UK_GRADUATE,
    "EEA": NON_UK_GRADUATE,
    "IMG": NON_UK_GRADUATE,
    "not_known": PMQ_REGIONS["not_known"],
}

CONCERN_TYPES: dict[str, str] = {
    "clinical": "Clinical",
    "behaviour": "Behaviour or misconduct",
    "health": "Health",
    "probity": "Probity",
    "sexual_misconduct": "Sexual misconduct",
    "team_working": "Team working",
}

STAGES: dict[str, str] = {
    "informal_resolution": "Informal resolution",
    "formal_investigation": "Formal investigation",
    "exclusion": "Exclusion",
    "suspension": "Suspension",
    "restriction": "Restriction of practice",
    "assessment": "Assessment",
    "action_plan": "Action plan",
    "regulator_referral": "Referral to the regulator",
    "disciplinary_hearing": "Disciplinary hearing",
}

# Each stage's bit in ``cases.stage_mask`` (ingest): bit i is set when the case reached the i-th stage.
STAGE_BITS: dict[str, int] = {stage: 1 << i for i, stage in enumerate(STAGES)}
# Disclosure control's cell-key method: every case and workforce row gets a fixed record key from 0 to
# RECORD_KEYS - 1 at ingest; a cell's key is the sum of its records' keys modulo RECORD_KEYS.
RECORD_KEYS = 256

OUTCOMES: dict[str, str] = {
    "no_case_to_answer": "No case to answer",
    "resolved_informally": "Resolved informally",
    "remediation_completed": "Remediation completed",
    "returned_with_restrictions": "Returned with restrictions",
    "formal_sanction": "Formal sanction",
    "dismissed_or_removed": "Dismissed or removed",
    "left_post": "Left post",
    "other": "Other outcome",
}

# Labels that never act as a reference group and are shown separately with their share.
UNKNOWN_LABELS: frozenset[str] = frozenset(
    {NOT_STATED, NOT_KNOWN, PMQ_REGIONS["not_known"], GENDERS["not_stated"], AGE_BANDS["not_known"]}
)


# --- Splits ("compare by") -----------------------------------------------------------


@dataclass(frozen=True)
class Split:
    """One way of dividing practitioners into groups.

    ``column`` names the derived column that ingest adds to both ``cases`` and
    ``workforce``; queries pick it with a ``CASE $split`` expression, so the
    identifier never comes from input.
    """

    key: str
    label: str
    groups: tuple[str, ...]
    default_reference: str

    @property
    def phrase(self) -> str:
        """The label inside a sentence ("compared by ethnic minority vs White"): only a leading
        capital that is not part of a name or abbreviation is lowered."""
        first = self.label.split(" ")[0]
        return self.label if first.isupper() or first in ("White",) else self.label[0].lower() + self.label[1:]


def _ethnicity_pmq_groups() -> tuple[str, ...]:
    return tuple(f"{eg} · {pmq}" for pmq in PMQ_REGIONS.values() for eg in ETHNIC_GROUPS)


def ethnicity_pmq_label(ethnic_code: str, pmq_region: str) -> str:
    """The intersection label used by the ``ethnicity_pmq`` split."""
    return f"{ETHNIC_GROUP_OF[ethnic_code]} · {PMQ_REGIONS[pmq_region]}"


SPLITS: dict[str, Split] = {
    s.key: s
    for s in (
        Split("ethnic_group", "Ethnic group", ETHNIC_GROUPS, WHITE),
        Split(
            "ethnic_category",
            "Detailed ethnic category",
            tuple(ETHNIC_CATEGORIES.values()),
            ETHNIC_CATEGORIES["A"],
        ),
        Split(
            "ethnic_minority",
            "Ethnic minority vs White",
            (WHITE, ETHNIC_MINORITY, NOT_STATED, NOT_KNOWN),
            WHITE,
        ),
        Split("pmq_region", "Place of primary qualification", tuple(PMQ_REGIONS.values()), UK_GRADUATE),
        Split(
            "uk_graduate",
            "UK vs non-UK graduate",
            (UK_GRADUATE, NON_UK_GRADUATE, PMQ_REGIONS["not_known"]),
            UK_GRADUATE,
        ),
        Split(
            "ethnicity_pmq",
            "Ethnicity × place of qualification",
            _ethnicity_pmq_groups(),
            f"{WHITE} · {UK_GRADUATE}",
        ),
        Split("gender", "Gender", tuple(GENDERS.values()), GENDERS["male"]),
        Split("age_band", "Age band", tuple(AGE_BANDS.values()), AGE_BANDS["35_44"]),
    )
}


def is_unknown_group(label: str) -> bool:
    """True for groups like "Not stated" that are reported but never a reference."""
    return label in UNKNOWN_LABELS or any(part in UNKNOWN_LABELS for part in label.split(" · "))


# The version of what ingest writes: the tables' shapes and the macros every query runs through
# (parity/macros.sql). The query runner refuses a database of another version with a plain message (load the
# export again), rather than failing on a missing macro in the middle of a page. Bump it whenever either
# changes: tests/test_db.py keeps it tied to the macros' text.
# 3: the derived tables workforce_years and workforce_groups (the profile at 1,500 organisations, issue 14).
SCHEMA_VERSION = "3"


# --- Files and columns ---------------------------------------------------------------

# How a date may be written. Each date column of a file uses one form; a load whose column mixes them is
# refused (with --accept-rejects the form most values use wins and the others are rejected). Day-first
# is what spreadsheet software on a UK machine writes; dates are never read month first.
ISO_DATE = "YYYY-MM-DD"
DAY_FIRST = "DD/MM/YYYY"
DATE_FORMS: dict[str, str] = {
    ISO_DATE: "ISO 8601, e.g. 2024-03-31 (preferred)",
    DAY_FIRST: "UK day first, e.g. 31/03/2024 or 1/4/2024 (as spreadsheet software on a UK machine writes)",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "text", "code", "date", "int", "list"
    required: bool = True  # False: may be empty
    vocabulary: tuple[str, ...] | None = None
    description: str = ""  # for the people who produce exports (docs/data-contract.md)


@dataclass(frozen=True)
class FileSpec:
    name: str  # table name and file stem
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    description: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _codes(d: dict[str, str] | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(d)


FILES: dict[str, FileSpec] = {
    "organisations": FileSpec(
        "organisations",
        (
            Column("org_code", "text", description="ODS-style code, e.g. RJ1; unique in the file."),
            Column("org_name", "text", description="The organisation's name."),
            Column("org_type", "code", vocabulary=_codes(ORG_TYPES), description="Kind of organisation."),
            Column("region", "code", vocabulary=REGIONS, description="NHS region or nation."),
        ),
        key=("org_code",),
        description="One row per organisation that employs or contracts the practitioners.",
    ),
    "workforce": FileSpec(
        "workforce",
        (
            Column("financial_year", "text", description="1 April to 31 March, written 2023/24."),
            Column("org_code", "text", description="An org_code of organisations."),
            Column("profession", "code", vocabulary=_codes(PROFESSIONS)),
            Column(
                "ethnic_category",
                "code",
                vocabulary=_codes(ETHNIC_CATEGORIES),
                description="NHS Data Dictionary ethnic category code (Z not stated, 99 not known).",
            ),
            Column("pmq_region", "code", vocabulary=_codes(PMQ_REGIONS), description="Place of primary qualification."),
            Column("gender", "code", vocabulary=_codes(GENDERS)),
            Column("age_band", "code", vocabulary=_codes(AGE_BANDS)),
            Column("headcount", "int", description="Practitioners in the cell, a whole number 0 or more."),
        ),
        key=("financial_year", "org_code", "profession", "ethnic_category", "pmq_region", "gender", "age_band"),
        description="The denominators: one row per non-empty cell of practitioners in post in a financial year.",
    ),
    "cases": FileSpec(
        "cases",
        (
            Column("case_id", "text", description="Unique in the file."),
            Column("practitioner_id", "text", description="Pseudonymous; never a name or registration number."),
            Column("org_code", "text", description="An org_code of organisations."),
            Column("referral_date", "date", description="When the concern was referred."),
            Column("closure_date", "date", required=False, description="Empty while the case is open."),
            Column("profession", "code", vocabulary=_codes(PROFESSIONS)),
            Column("grade", "code", vocabulary=_codes(GRADES)),
            Column("gender", "code", vocabulary=_codes(GENDERS)),
            Column("age_band", "code", vocabulary=_codes(AGE_BANDS)),
            Column("ethnic_category", "code", vocabulary=_codes(ETHNIC_CATEGORIES)),
            Column("pmq_region", "code", vocabulary=_codes(PMQ_REGIONS)),
            Column(
                "concern_types",
                "list",
                vocabulary=_codes(CONCERN_TYPES),
                description="At least one, separated by ';', e.g. clinical;probity.",
            ),
            Column(
                "outcome",
                "code",
                required=False,
                vocabulary=_codes(OUTCOMES),
                description="Given exactly when closure_date is; empty while open.",
            ),
        ),
        key=("case_id",),
        description="One row per case.",
    ),
    "case_events": FileSpec(
        "case_events",
        (
            Column("case_id", "text", description="A case_id of cases."),
            Column("stage", "code", vocabulary=_codes(STAGES)),
            Column("start_date", "date", description="On or after the case's referral_date."),
            Column(
                "end_date",
                "date",
                required=False,
                description="Empty if the stage is ongoing or has no duration; never after the case's closure.",
            ),
        ),
        description="The pathway: one row per stage a case reached.",
    ),
}

# Derived columns that ingest adds (to ``cases`` and ``workforce`` unless noted):
#   fy_start        INTEGER  first calendar year of the financial year (2023 for 2023/24;
#                            for cases, of the referral date)
#   financial_year  VARCHAR  (cases only; workforce has it already) "2023/24"
#   region, org_type         from organisations
#   ethnic_group, ethnic_minority, uk_graduate, ethnicity_pmq   labels as above
#   ethnic_category_label, pmq_label, gender_label, age_band_label   labels as above
DERIVED_SPLIT_COLUMNS: dict[str, str] = {
    "ethnic_group": "ethnic_group",
    "ethnic_category": "ethnic_category_label",
    "ethnic_minority": "ethnic_minority",
    "pmq_region": "pmq_label",
    "uk_graduate": "uk_graduate",
    "ethnicity_pmq": "ethnicity_pmq",
    "gender": "gender_label",
    "age_band": "age_band_label",
}


def financial_year_label(fy_start: int) -> str:
    """2023 -> "2023/24"."""
    return f"{fy_start}/{(fy_start + 1) % 100:02d}"


def parse_financial_year(text: str) -> int:
    """ "2023/24" -> 2023. Raises ValueError with a plain message otherwise."""
    parts = text.strip().split("/")
    if len(parts) != 2 or not (parts[0].isdigit() and parts[1].isdigit()) or len(parts[0]) != 4 or len(parts[1]) != 2:
        raise ValueError(f"financial year {text!r} is not of the form 2023/24")
    start = int(parts[0])
    if (start + 1) % 100 != int(parts[1]):
        raise ValueError(f"financial year {text!r}: the second year must follow the first (e.g. 2023/24)")
    return start
