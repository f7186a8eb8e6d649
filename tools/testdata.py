"""A tiny valid export, for tests to load, copy and corrupt.

Three organisations, 30 workforce cells (two financial years), 12 cases (8 closed, 4 open, one
referred on each side of 1 April 2023) and 20 events. Deterministic: the rows are written out below.
The latest date in it is 2024-03-20, so that is the default extract date.
"""

from __future__ import annotations

import csv
import gzip
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from parity.contract import FILES

LATEST_DATE = date(2024, 3, 20)

ORGANISATIONS = [
    ("RJ1", "Guy's and St Thomas', NHS Foundation Trust", "acute_trust", "London"),
    ("RX3", "Tees, Esk and Wear Valleys NHS Foundation Trust", "mental_health_trust", "North East and Yorkshire"),
    ("Q71", "NHS England London", "primary_care_commissioner", "London"),
]

# financial_year, org_code, profession, ethnic_category, pmq_region, gender, age_band: headcount.
_CELLS = [
    ("doctor", "A", "UK", "female", "35_44", 40),
    ("doctor", "H", "IMG", "male", "45_54", 25),
    ("doctor", "N", "EEA", "male", "under_35", 12),
    ("dentist", "C", "UK", "not_stated", "55_64", 7),
    ("pharmacist", "Z", "not_known", "female", "not_known", 0),
]
WORKFORCE = [
    (fy, org, *cell[:5], str(cell[5] + offset))
    for fy, offset in (("2022/23", 0), ("2023/24", 3))
    for org, _, _, _ in ORGANISATIONS
    for cell in _CELLS
]

# case_id, practitioner_id, org_code, referral_date, closure_date, profession, grade, gender, age_band,
# ethnic_category, pmq_region, concern_types, outcome
CASES = [
    ("C0001", "P001", "RJ1", "2022-05-10", "2022-09-01", "doctor", "consultant", "male", "45_54", "H", "IMG",
     "clinical", "remediation_completed"),
    ("C0002", "P002", "RJ1", "2022-11-03", "2023-01-20", "doctor", "sas_doctor", "female", "35_44", "A", "UK",
     "behaviour;team_working", "resolved_informally"),
    ("C0003", "P003", "RX3", "2023-03-31", "2023-08-15", "doctor", "doctor_in_training", "male", "under_35", "N",
     "EEA", "health", "no_case_to_answer"),
    ("C0004", "P004", "RX3", "2023-04-01", "", "doctor", "consultant", "female", "35_44", "A", "UK",
     "clinical;probity", ""),
    ("C0005", "P005", "Q71", "2023-06-12", "2024-01-30", "dentist", "dentist", "not_stated", "55_64", "C", "UK",
     "clinical", "returned_with_restrictions"),
    ("C0006", "P006", "Q71", "2023-07-01", "", "pharmacist", "pharmacist", "female", "not_known", "Z",
     "not_known", "probity", ""),
    ("C0007", "P007", "RJ1", "2023-08-19", "2023-12-01", "doctor", "locally_employed_doctor", "male", "45_54", "H",
     "IMG", "sexual_misconduct", "dismissed_or_removed"),
    ("C0008", "P001", "RJ1", "2023-10-02", "", "doctor", "consultant", "male", "45_54", "H", "IMG",
     "clinical;behaviour", ""),
    ("C0009", "P008", "Q71", "2023-11-15", "2024-02-28", "doctor", "gp", "male", "under_35", "N", "EEA",
     "team_working", "left_post"),
    ("C0010", "P009", "RX3", "2024-01-08", "2024-03-20", "doctor", "sas_doctor", "female", "35_44", "A", "UK",
     "behaviour", "formal_sanction"),
    ("C0011", "P010", "RJ1", "2024-02-02", "", "doctor", "other", "male", "under_35", "N", "EEA",
     "health;clinical", ""),
    ("C0012", "P011", "RX3", "2022-06-30", "2022-07-29", "pharmacist", "pharmacist", "female", "not_known", "Z",
     "not_known", "clinical", "other"),
]  # fmt: skip

# case_id, stage, start_date, end_date
CASE_EVENTS = [
    ("C0001", "informal_resolution", "2022-05-10", "2022-06-01"),
    ("C0001", "action_plan", "2022-06-02", "2022-09-01"),
    ("C0002", "informal_resolution", "2022-11-03", "2023-01-20"),
    ("C0003", "assessment", "2023-04-03", "2023-05-31"),
    ("C0003", "informal_resolution", "2023-06-01", "2023-08-15"),
    ("C0004", "formal_investigation", "2023-04-01", ""),
    ("C0004", "exclusion", "2023-04-05", "2023-06-30"),
    ("C0004", "restriction", "2023-07-01", ""),
    ("C0005", "suspension", "2023-06-12", "2023-09-12"),
    ("C0005", "formal_investigation", "2023-06-20", "2023-12-15"),
    ("C0005", "regulator_referral", "2023-12-16", ""),
    ("C0006", "informal_resolution", "2023-07-03", ""),
    ("C0007", "exclusion", "2023-08-19", "2023-11-01"),
    ("C0007", "formal_investigation", "2023-08-21", "2023-10-30"),
    ("C0007", "disciplinary_hearing", "2023-11-02", "2023-12-01"),
    ("C0008", "informal_resolution", "2023-10-02", ""),
    ("C0009", "informal_resolution", "2023-11-15", "2024-02-28"),
    ("C0010", "formal_investigation", "2024-01-08", "2024-03-20"),
    ("C0011", "assessment", "2024-02-05", ""),
    ("C0012", "informal_resolution", "2022-06-30", "2022-07-29"),
]

ROWS: dict[str, list[tuple[str, ...]]] = {
    "organisations": ORGANISATIONS,
    "workforce": WORKFORCE,
    "cases": CASES,
    "case_events": CASE_EVENTS,
}


def small_export_rows() -> dict[str, list[dict[str, str]]]:
    """The rows of the small export, per table, as {column: text} ("" for empty)."""
    return {t: [dict(zip(FILES[t].column_names, row, strict=True)) for row in rows] for t, rows in ROWS.items()}


def write_csv(path: Path, header: list[str], rows: list[list[str]] | list[tuple[str, ...]]) -> None:
    """A CSV (gzipped when the name ends in .gz) with "\\n" line endings, quoting only where needed."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_parquet(path: Path, table: str, rows: list[tuple[str, ...]]) -> None:
    """Typed as an export tool would: dates as dates, headcount as an integer, empty as null."""
    arrays = {}
    for i, column in enumerate(FILES[table].columns):
        values = [row[i] or None for row in rows]
        if column.kind == "date":
            arrays[column.name] = pa.array([date.fromisoformat(v) if v else None for v in values], pa.date32())
        elif column.kind == "int":
            arrays[column.name] = pa.array([int(v) for v in values], pa.int32())
        else:
            arrays[column.name] = pa.array(values, pa.string())
    pq.write_table(pa.table(arrays), path)


def write_small_export(folder: Path, fmt: str = "csv") -> None:
    """Write the small export into ``folder`` as ``csv``, ``csv.gz`` or ``parquet``."""
    if fmt not in ("csv", "csv.gz", "parquet"):
        raise ValueError(f"fmt must be csv, csv.gz or parquet, not {fmt!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in ROWS.items():
        path = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            _write_parquet(path, table, rows)
        else:
            write_csv(path, list(FILES[table].column_names), rows)


# --- A hand-made export with known counts, for the disclosure attack tests ---------------------

# Groups (ethnic category, place of qualification) and, per financial year, their referrals: (2022/23, 2023/24).
# Black UK graduates have 3 referrals in all (2 + 1) and Other ethnic group IMGs 6 (4 + 2): counts a protected
# view must never give back; the others are large enough to show.
ATTACK_GROUPS = {
    ("A", "UK"): (22, 20),  # White
    ("H", "IMG"): (15, 16),  # Asian or Asian British
    ("M", "UK"): (2, 1),  # Black or Black British: hidden
    ("D", "UK"): (6, 7),  # Mixed
    ("R", "IMG"): (4, 2),  # Other ethnic group: hidden
}
ATTACK_HEADCOUNT = {("A", "UK"): 2011, ("H", "IMG"): 1207, ("M", "UK"): 307, ("D", "UK"): 452, ("R", "IMG"): 123}
ATTACK_ORGS = [
    ("R1A", "Alderbrook Hospital NHS Trust", "acute_trust", "London"),
    ("R1B", "Birchmoor Community NHS Trust", "community_trust", "London"),
    ("R1C", "Cedarfield NHS Foundation Trust", "acute_trust", "North West"),
]
_CONCERN_CYCLE = ("clinical", "behaviour", "clinical;probity", "team_working", "clinical", "health")
_OUTCOME_CYCLE = ("no_case_to_answer", "resolved_informally", "remediation_completed", "formal_sanction")


def attack_export_rows() -> dict[str, list[tuple[str, ...]]]:
    """The rows of the attack export: organisations, workforce, cases and events, deterministic."""
    workforce = []
    for fy in ("2022/23", "2023/24"):
        for (ethnic, pmq), heads in ATTACK_HEADCOUNT.items():
            for i, (org, _, _, _) in enumerate(ATTACK_ORGS):
                share = (heads // 3) + (heads % 3 if i == 0 else 0)
                workforce.append((fy, org, "doctor", ethnic, pmq, "male", "45_54", str(share)))
    cases, events = [], []
    number = 0
    for (ethnic, pmq), per_year in ATTACK_GROUPS.items():
        for year, count in zip((2022, 2023), per_year, strict=True):
            for k in range(count):
                number += 1
                org = ATTACK_ORGS[number % 3][0]
                referral = date(year, 5 + k % 6, 1 + k % 27)
                closed = k % 4 != 3
                closure = date(year + 1, 1 + k % 3, 10) if closed else None
                case_id = f"A{number:04d}"
                cases.append(
                    (
                        case_id,
                        f"Q{number:04d}",
                        org,
                        referral.isoformat(),
                        closure.isoformat() if closure else "",
                        "doctor",
                        "consultant",
                        "male",
                        "45_54",
                        ethnic,
                        pmq,
                        _CONCERN_CYCLE[k % len(_CONCERN_CYCLE)],
                        _OUTCOME_CYCLE[k % len(_OUTCOME_CYCLE)] if closed else "",
                    )
                )
                events.append((case_id, "formal_investigation", referral.isoformat(), ""))
                if k % 3 == 0:
                    end = date(year, 11, 20).isoformat() if closed else ""
                    events.append((case_id, "exclusion", date(year, 11, 1).isoformat(), end))
    return {"organisations": list(ATTACK_ORGS), "workforce": workforce, "cases": cases, "case_events": events}


def write_attack_export(folder: Path) -> None:
    """Write the attack export into ``folder`` as CSV."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in attack_export_rows().items():
        write_csv(folder / f"{table}.csv", list(FILES[table].column_names), rows)
