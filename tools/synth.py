"""Deterministic synthetic export: ``python -m tools.synth --out DIR --seed N --scale X``.

Writes the four files of the data contract (design.md §3) for financial years 2015/16 to
2024/25, extracted on 2025-03-31, plus ``effects.json`` listing the planted effects with
their true values. Everything is invented: no real people and no real organisations.

The model, in four steps (all vectorised numpy; one ``np.random.Generator`` stream per step,
all derived from the seed):

1. **Organisations.** A fixed list of about 150 invented organisations over every region and
   organisation type (the same for every seed).
2. **Workforce.** For each year, organisation and profession, a headcount (organisation size
   by type, a random size factor, yearly growth), spread over the cells ethnic category × place
   of primary qualification (PMQ) × gender × age band by a multinomial draw. The ethnicity mix
   depends on PMQ, profession, region and organisation; the IMG share of doctors rises over
   the decade. This "base" workforce is drawn at scale 10 (about 200,000 practitioners a year)
   and only its headcounts are multiplied for other scales, so the rows stay the same
   (rounded at random when scale/10 is not a whole number; cells rounded to 0 are dropped).
3. **Referrals.** Each workforce cell has an expected number of cases
   ``headcount × rate`` with a multiplicative rate: a base rate × profession × organisation
   type × organisation (random, plus three outlier organisations for ethnic minority
   practitioners) × gender × age × PMQ × ethnic group (depending on PMQ) × year (with an
   ethnic-minority factor that narrows the gap from 2021/22). Cases per cell are Poisson.
   Scale X gives about X × 1,000 cases in total.
4. **Pathways.** For each case, whether it reaches exclusion (secondary care) or suspension
   (primary care commissioners), starts with formal investigation without informal
   resolution, escalates, reaches a hearing and so on, each with a probability that depends on
   the practitioner's cell. A referral-to-closure duration (log-normal, longer for serious
   pathways and for non-UK graduates) is cut into the stages; cases that would close after the
   extract date are open, and stages that would start after it are not recorded. At two organisations
   (effect 8) IMGs have a second, independent chance of formal investigation without informal
   resolution first, drawn from a random stream of its own so that no other case changes.

The true value of each planted effect is the marginal population quantity this model implies
(expected cases summed over cells, exact probabilities, mixture medians), not the multipliers
typed below, because ethnicity, PMQ, profession and organisation are correlated.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.optimize import brentq
from scipy.special import ndtr

from parity import contract

# --- Constants -----------------------------------------------------------------------

FY_STARTS: tuple[int, ...] = tuple(range(2015, 2025))
N_YEARS = len(FY_STARTS)
EXTRACT_DATE = date(2025, 3, 31)
BASE_SCALE = 10.0  # the workforce cells are drawn at this scale
CASES_PER_SCALE_UNIT = 1000.0  # scale X gives about X * 1,000 cases over the ten years
DEFAULT_SEED = 2026
FORMATS: dict[str, str] = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}

PROF = tuple(contract.PROFESSIONS)  # doctor, dentist, pharmacist
ETH = tuple(contract.ETHNIC_CATEGORIES)  # A..S, Z, 99
PMQ = tuple(contract.PMQ_REGIONS)  # UK, EEA, IMG, not_known
GENDER = tuple(contract.GENDERS)  # female, male, not_stated
AGE = tuple(contract.AGE_BANDS)  # under_35 .. 65_plus, not_known
ORG_TYPES = tuple(contract.ORG_TYPES)
REGIONS = contract.REGIONS
STAGES = tuple(contract.STAGES)
OUTCOMES = tuple(contract.OUTCOMES)
CONCERNS = tuple(contract.CONCERN_TYPES)
GROUPS = contract.ETHNIC_GROUPS  # White, Mixed, Asian, Black, Other, Not stated, Not known

# Ethnic group index (into GROUPS) of each ethnic category code, and the WRES binary.
ETH_GROUP = np.array([GROUPS.index(contract.ETHNIC_GROUP_OF[c]) for c in ETH], dtype=np.int8)
ETH_IS_MINORITY = np.array([contract.ETHNIC_MINORITY_OF[c] == contract.ETHNIC_MINORITY for c in ETH])
ETH_IS_WHITE = np.array([contract.ETHNIC_GROUP_OF[c] == contract.WHITE for c in ETH])
ETH_IS_MISSING = np.array([c in ("Z", "99") for c in ETH])

# --- Organisations -------------------------------------------------------------------

# Invented place-name stems; combined into names such as "Kestrelmoor Hospitals NHS Trust".
_PREFIXES = (
    "Bracken", "Corrie", "Elder", "Fallow", "Gorse", "Heron", "Juniper", "Kestrel", "Larch", "Marram",
    "Nettle", "Otter", "Quill", "Sorrel", "Teasel", "Umber", "Vetch", "Wren", "Yarrow", "Burdock",
    "Cobble", "Thistle", "Linnet", "Plover", "Tansy", "Bramling", "Coltsfoot",
)  # fmt: skip
_SUFFIXES = ("moor", "mere", "combe", "dale", "holt", "wick", "stead", "brook", "ridge", "vale", "hurst", "fold")

# How many organisations of each type in each region (150 in all).
REGION_PLAN: dict[str, dict[str, int]] = {
    "London": {"acute_trust": 10, "mental_health_trust": 3, "community_trust": 2, "ambulance_trust": 1,
               "primary_care_commissioner": 4, "other": 1},
    "South East": {"acute_trust": 9, "mental_health_trust": 2, "community_trust": 1, "ambulance_trust": 1,
                   "primary_care_commissioner": 4, "other": 1},
    "South West": {"acute_trust": 7, "mental_health_trust": 2, "community_trust": 1, "ambulance_trust": 1,
                   "primary_care_commissioner": 3, "other": 1},
    "Midlands": {"acute_trust": 11, "mental_health_trust": 3, "community_trust": 2, "ambulance_trust": 1,
                 "primary_care_commissioner": 5, "other": 1},
    "East of England": {"acute_trust": 7, "mental_health_trust": 2, "community_trust": 1, "ambulance_trust": 1,
                        "primary_care_commissioner": 3, "other": 1},
    "North West": {"acute_trust": 9, "mental_health_trust": 2, "community_trust": 1, "ambulance_trust": 1,
                   "primary_care_commissioner": 4, "other": 1},
    "North East and Yorkshire": {"acute_trust": 11, "mental_health_trust": 3, "community_trust": 1,
                                 "ambulance_trust": 1, "primary_care_commissioner": 5, "other": 1},
    "Wales": {"health_board": 7, "ambulance_trust": 1, "other": 1},
    "Northern Ireland": {"health_board": 5, "ambulance_trust": 1},
    "Crown Dependencies": {"health_board": 3},
}  # fmt: skip

_NAME_TEMPLATES: dict[str, tuple[str, ...]] = {
    "acute_trust": (
        "{p} Hospitals NHS Trust",
        "{p} University Hospitals NHS Foundation Trust",
        "{p} and {q} Hospitals NHS Foundation Trust",
        "{p} General Hospital NHS Trust",
    ),
    "mental_health_trust": ("{p} Mental Health NHS Foundation Trust", "{p} Mind and Wellbeing NHS Trust"),
    "community_trust": ("{p} Community Health Services NHS Trust",),
    "ambulance_trust": ("{p} Ambulance Service NHS Trust",),
    "primary_care_commissioner": ("NHS {p} Integrated Care Board",),
    "other": ("{p} Independent Healthcare Partnership", "{p} Justice Health Services"),
}
_HEALTH_BOARD_TEMPLATE = {
    "Wales": "{p} University Health Board",
    "Northern Ireland": "{p} Health and Social Care Trust",
    "Crown Dependencies": "Isle of {p} Health and Care Services",
}

# Three organisations whose ethnic-minority referral rate is far above the national one
# (effect 7): (region, organisation type, position among that region's organisations of that type).
OUTLIER_SLOTS: tuple[tuple[str, str, int], ...] = (
    ("London", "acute_trust", 2),
    ("Midlands", "acute_trust", 1),
    ("North West", "acute_trust", 3),
)
OUTLIER_TARGET_RATIO = 3.0
# Two organisations that send IMGs to formal investigation without informal resolution first far more
# often than elsewhere (effect 8): the same kind of slot as above, and this multiplier on that probability.
PATHWAY_OUTLIER_SLOTS: tuple[tuple[str, str, int], ...] = (
    ("South East", "acute_trust", 5),
    ("East of England", "acute_trust", 2),
)
PATHWAY_OUTLIER_FACTOR = 3.0


@dataclass(frozen=True)
class Organisations:
    code: tuple[str, ...]
    name: tuple[str, ...]
    org_type: np.ndarray  # index into ORG_TYPES
    region: np.ndarray  # index into REGIONS
    outliers: tuple[int, ...]  # indices of the effect-7 organisations
    pathway_outliers: tuple[int, ...] = ()  # indices of the effect-8 organisations

    def __len__(self) -> int:
        return len(self.code)


def make_organisations() -> Organisations:
    """The fixed list of invented organisations (independent of the seed)."""
    rng = np.random.default_rng(20150401)  # fixed: the same names and codes for every seed
    stems = [p + s for p in _PREFIXES for s in _SUFFIXES]
    stems = ["Northmoor"] + [stems[i] for i in rng.permutation(len(stems))]
    stem_iter = iter(stems)
    code_counters: dict[str, int] = {}
    type_counters: dict[str, int] = {}
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"

    def next_code(prefix: str) -> str:
        n = code_counters.get(prefix, 0)
        code_counters[prefix] = n + 1
        if prefix in ("R", "Q"):
            return f"{prefix}{n // len(letters) + 1}{letters[n % len(letters)]}"
        return f"{prefix}{n + 1}"

    codes: list[str] = []
    names: list[str] = []
    types: list[int] = []
    regions: list[int] = []
    outliers: list[int] = []
    pathway_outliers: list[int] = []
    for region, plan in REGION_PLAN.items():
        for org_type, count in plan.items():
            for k in range(count):
                if org_type == "health_board":
                    template = _HEALTH_BOARD_TEMPLATE[region]
                    prefix = {"Wales": "7W", "Northern Ireland": "ZT", "Crown Dependencies": "ZC"}[region]
                else:
                    options = _NAME_TEMPLATES[org_type]
                    template = options[type_counters.get(org_type, 0) % len(options)]
                    type_counters[org_type] = type_counters.get(org_type, 0) + 1
                    if region == "Northern Ireland" and org_type == "ambulance_trust":
                        template = "{p} Ambulance Service HSC Trust"
                    prefix = "Q" if org_type == "primary_care_commissioner" else "R"
                p = next(stem_iter)
                q = ""
                while "{q}" in template and (not q or q[:4] == p[:4]):
                    q = next(stem_iter)
                if (region, org_type, k) in OUTLIER_SLOTS:
                    outliers.append(len(codes))
                if (region, org_type, k) in PATHWAY_OUTLIER_SLOTS:
                    pathway_outliers.append(len(codes))
                codes.append(next_code(prefix))
                names.append(template.format(p=p, q=q))
                types.append(ORG_TYPES.index(org_type))
                regions.append(REGIONS.index(region))
    return Organisations(
        code=tuple(codes),
        name=tuple(names),
        org_type=np.array(types, dtype=np.int8),
        region=np.array(regions, dtype=np.int8),
        outliers=tuple(outliers),
        pathway_outliers=tuple(pathway_outliers),
    )


# --- Workforce model -----------------------------------------------------------------

# Mean headcount at scale 10 in 2015/16 of an organisation of each type: doctor, dentist, pharmacist.
ORG_SIZE: dict[str, tuple[float, float, float]] = {
    "acute_trust": (1450, 12, 75),
    "mental_health_trust": (230, 0, 25),
    "community_trust": (90, 25, 15),
    "ambulance_trust": (25, 0, 6),
    "primary_care_commissioner": (1050, 680, 860),
    "health_board": (900, 110, 210),
    "other": (120, 10, 40),
}
CROWN_DEPENDENCY_SIZE = 0.15
PROFESSION_TOTAL_2015 = (128_000.0, 23_500.0, 33_000.0)  # scale 10
PROFESSION_GROWTH = (1.022, 1.003, 1.02)  # a year

# Share of each PMQ region by profession, 2015/16 and 2024/25 (linear in between).
PMQ_SHARE_FIRST = {"doctor": (0.62, 0.10, 0.27, 0.01), "dentist": (0.76, 0.16, 0.07, 0.01),
                   "pharmacist": (0.86, 0.07, 0.06, 0.01)}  # fmt: skip
PMQ_SHARE_LAST = {"doctor": (0.56, 0.07, 0.36, 0.01), "dentist": (0.72, 0.17, 0.10, 0.01),
                  "pharmacist": (0.82, 0.07, 0.10, 0.01)}  # fmt: skip

# Ethnic group shares (White, Mixed, Asian, Black, Other) among known ethnicity, by profession and PMQ.
GROUP_SHARE: dict[str, dict[str, tuple[float, ...]]] = {
    "doctor": {"UK": (0.71, 0.04, 0.19, 0.04, 0.02), "EEA": (0.84, 0.03, 0.06, 0.03, 0.04),
               "IMG": (0.13, 0.03, 0.60, 0.16, 0.08), "not_known": (0.50, 0.04, 0.30, 0.10, 0.06)},
    "dentist": {"UK": (0.64, 0.04, 0.25, 0.03, 0.04), "EEA": (0.85, 0.03, 0.06, 0.02, 0.04),
                "IMG": (0.15, 0.03, 0.60, 0.10, 0.12), "not_known": (0.55, 0.04, 0.28, 0.06, 0.07)},
    "pharmacist": {"UK": (0.50, 0.04, 0.34, 0.08, 0.04), "EEA": (0.80, 0.03, 0.08, 0.04, 0.05),
                   "IMG": (0.10, 0.03, 0.55, 0.25, 0.07), "not_known": (0.45, 0.04, 0.33, 0.12, 0.06)},
}  # fmt: skip
# Ethnic categories within each group: for UK-trained (and PMQ not known) and for others.
CODE_SPLIT_UK: dict[str, float] = {
    "A": 0.85, "B": 0.03, "C": 0.12, "D": 0.25, "E": 0.20, "F": 0.30, "G": 0.25,
    "H": 0.50, "J": 0.22, "K": 0.08, "L": 0.20, "M": 0.25, "N": 0.65, "P": 0.10, "R": 0.30, "S": 0.70,
}  # fmt: skip
CODE_SPLIT_ABROAD: dict[str, float] = {
    "A": 0.05, "B": 0.05, "C": 0.90, "D": 0.25, "E": 0.20, "F": 0.30, "G": 0.25,
    "H": 0.60, "J": 0.20, "K": 0.05, "L": 0.15, "M": 0.03, "N": 0.90, "P": 0.07, "R": 0.30, "S": 0.70,
}  # fmt: skip
# Odds multiplier for ethnic minority practitioners by region (London most diverse).
REGION_MINORITY_ODDS = {
    "London": 1.9, "South East": 0.9, "South West": 0.6, "Midlands": 1.25, "East of England": 0.9,
    "North West": 1.05, "North East and Yorkshire": 0.9, "Wales": 0.7, "Northern Ireland": 0.45,
    "Crown Dependencies": 0.5,
}  # fmt: skip
MISSING_ETHNICITY = 0.05  # mean share recorded as Z (60%) or 99 (40%); varies by organisation
GENDER_SHARE = {"doctor": (0.48, 0.51, 0.01), "dentist": (0.51, 0.48, 0.01), "pharmacist": (0.62, 0.37, 0.01)}
AGE_SHARE = {
    "doctor": (0.30, 0.29, 0.22, 0.14, 0.04, 0.01),
    "dentist": (0.28, 0.27, 0.22, 0.16, 0.06, 0.01),
    "pharmacist": (0.36, 0.30, 0.18, 0.12, 0.03, 0.01),
}

# --- Referral rate model (multiplicative) ----------------------------------------------

RATE_PROFESSION = (1.0, 0.75, 0.55)
RATE_ORG_TYPE = {"acute_trust": 1.0, "mental_health_trust": 1.15, "community_trust": 0.9, "ambulance_trust": 1.1,
                 "primary_care_commissioner": 0.85, "health_board": 0.9, "other": 1.2}  # fmt: skip
RATE_ORG_SIGMA = 0.2  # log-normal organisation effect
RATE_GENDER = (0.7, 1.0, 1.0)
RATE_AGE = (0.55, 0.9, 1.1, 1.3, 1.6, 1.0)
RATE_PMQ = (1.0, 1.45, 1.45, 1.2)
# Ethnic group multiplier (White, Mixed, Asian, Black, Other, Not stated, Not known) by PMQ:
# a small gap among UK graduates, a wider one among IMGs (effect 3).
RATE_ETHNIC: dict[str, tuple[float, ...]] = {
    "UK": (1.0, 1.20, 1.25, 1.55, 1.30, 1.25, 1.25),
    "EEA": (1.0, 1.30, 1.40, 1.70, 1.40, 1.35, 1.35),
    "IMG": (1.0, 1.50, 1.70, 1.90, 1.80, 1.60, 1.60),
    "not_known": (1.0, 1.30, 1.40, 1.70, 1.40, 1.35, 1.35),
}
RATE_YEAR = (0.96, 0.98, 1.0, 1.0, 1.02, 0.82, 0.98, 1.02, 1.04, 1.06)  # 2020/21: pandemic dip
# Effect 6: the national ethnic minority vs White relative likelihood in the last four years.
MINORITY_RL_TARGET = {2021: 1.9, 2022: 1.7, 2023: 1.5, 2024: 1.3}

# --- Pathway model -------------------------------------------------------------------------

# Probability of exclusion (secondary care) or suspension (primary care commissioners).
EXCLUSION_ORG_TYPE = {"acute_trust": 0.09, "mental_health_trust": 0.085, "community_trust": 0.07,
                      "ambulance_trust": 0.07, "primary_care_commissioner": 0.07, "health_board": 0.08,
                      "other": 0.0}  # fmt: skip
EXCLUSION_PROFESSION = (1.0, 0.6, 0.5)
EXCLUSION_GROUP = (1.0, 1.1, 1.15, 1.35, 1.1, 1.0, 1.0)  # by ethnic group
EXCLUSION_PMQ = (1.0, 1.1, 1.45, 1.0)
EXCLUSION_GENDER = (0.8, 1.0, 1.0)
EXCLUSION_AGE = (0.9, 1.0, 1.0, 1.05, 1.4, 1.0)
# Probability that formal investigation starts without informal resolution first.
DIRECT_FORMAL_BASE = 0.09
DIRECT_FORMAL_GROUP = (1.0, 1.1, 1.1, 1.35, 1.1, 1.0, 1.0)
DIRECT_FORMAL_PMQ = (1.0, 1.1, 1.6, 1.0)
ESCALATE = 0.22  # informal resolution escalated to formal investigation
HEARING = 0.12  # formal investigation reaching a disciplinary hearing
HEARING_EXCLUDED = 0.35
ASSESSMENT = 0.22
RESTRICTION = 0.18
RESTRICTION_EXCLUDED = 0.45  # returned to work with restrictions after an exclusion
# Referral-to-closure median (days) by pathway category: informal only, formal, exclusion, hearing.
DURATION_MEDIAN = (70.0, 190.0, 250.0, 340.0)
DURATION_SIGMA = 0.7
DURATION_MIN = 7
DURATION_PMQ = (1.0, 1.15, 1.25, 1.1)  # effect 5
EXCLUSION_LENGTH_MEDIAN = 75.0
EXCLUSION_LENGTH_SIGMA = 0.9
# Outcome distribution by pathway category (columns in contract.OUTCOMES order):
# no_case_to_answer, resolved_informally, remediation_completed, returned_with_restrictions,
# formal_sanction, dismissed_or_removed, left_post, other
OUTCOME_P = np.array(
    [
        [0.12, 0.65, 0.10, 0.00, 0.00, 0.00, 0.08, 0.05],  # informal only
        [0.30, 0.05, 0.25, 0.10, 0.15, 0.00, 0.10, 0.05],  # formal investigation
        [0.20, 0.00, 0.20, 0.35, 0.05, 0.00, 0.15, 0.05],  # exclusion or suspension
        [0.10, 0.00, 0.00, 0.10, 0.35, 0.40, 0.05, 0.00],  # disciplinary hearing
    ]
)
# Concern types: independent draws, then "behaviour" or "clinical" when none was drawn.
CONCERN_P = {"clinical": 0.45, "behaviour": 0.70, "health": 0.08, "probity": 0.10, "team_working": 0.18}
SEXUAL_MISCONDUCT_P = (0.025, 0.05)  # rising from 2015/16 to 2024/25
REPEAT_REFERRAL = 0.07  # chance a case is about a practitioner already referred (same cell)


def _days(d: date) -> int:
    return (d - date(1970, 1, 1)).days


FY_FIRST_DAY = np.array([_days(date(y, 4, 1)) for y in FY_STARTS], dtype=np.int64)
FY_LENGTH = np.array([_days(date(y + 1, 4, 1)) - _days(date(y, 4, 1)) for y in FY_STARTS], dtype=np.int64)
EXTRACT_DAY = _days(EXTRACT_DATE)


@dataclass
class Cells:
    """Workforce cells (one per non-empty row) with integer codes and headcounts."""

    year: np.ndarray
    org: np.ndarray
    prof: np.ndarray
    eth: np.ndarray
    pmq: np.ndarray
    gender: np.ndarray
    age: np.ndarray
    base_headcount: np.ndarray  # at scale 10
    headcount: np.ndarray  # at the requested scale

    def __len__(self) -> int:
        return len(self.year)


def _lognormal(rng: np.random.Generator, sigma: float, size: int) -> np.ndarray:
    """Log-normal factors with mean 1."""
    return np.exp(rng.normal(-(sigma**2) / 2, sigma, size))


def _eth_given_pmq(orgs: Organisations, rng: np.random.Generator) -> np.ndarray:
    """P(ethnic category | organisation, profession, PMQ): shape (orgs, 3, 4, 18)."""
    n_org = len(orgs)
    base = np.zeros((3, 4, len(ETH)))
    for p, prof in enumerate(PROF):
        for q, pmq in enumerate(PMQ):
            split = CODE_SPLIT_ABROAD if pmq in ("EEA", "IMG") else CODE_SPLIT_UK
            shares = GROUP_SHARE[prof][pmq]
            for e, code in enumerate(ETH[:16]):
                base[p, q, e] = shares[ETH_GROUP[e]] * split[code]
    base /= base.sum(axis=-1, keepdims=True)
    tilt = np.array([REGION_MINORITY_ODDS[REGIONS[r]] for r in orgs.region]) * _lognormal(rng, 0.2, n_org)
    odds = np.where(ETH_IS_MINORITY, tilt[:, None], 1.0)  # (orgs, 18)
    p = base[None, :, :, :] * odds[:, None, None, :]
    p /= p.sum(axis=-1, keepdims=True)
    missing = np.clip(MISSING_ETHNICITY * _lognormal(rng, 0.5, n_org), 0.005, 0.25)
    p *= (1 - missing)[:, None, None, None]
    p[..., ETH.index("Z")] = (0.6 * missing)[:, None, None]
    p[..., ETH.index("99")] = (0.4 * missing)[:, None, None]
    return p


def make_base_workforce(orgs: Organisations, rng: np.random.Generator) -> Cells:
    """Draw the workforce cells at scale 10 (the same rows at every scale)."""
    n_org = len(orgs)
    size_factor = _lognormal(rng, 0.45, n_org)
    size_factor[list(orgs.outliers)] = np.maximum(size_factor[list(orgs.outliers)], 1.4)
    mean_size = np.array([ORG_SIZE[ORG_TYPES[t]] for t in orgs.org_type], dtype=float)  # (orgs, 3)
    cd = orgs.region == REGIONS.index("Crown Dependencies")
    mean_size[cd] *= CROWN_DEPENDENCY_SIZE
    size = mean_size * size_factor[:, None]
    size *= np.array(PROFESSION_TOTAL_2015) / size.sum(axis=0)
    growth = np.array(PROFESSION_GROWTH)[None, :] ** np.arange(N_YEARS)[:, None]  # (years, 3)
    totals = np.rint(size[None, :, :] * growth[:, None, :]).astype(np.int64)  # (years, orgs, 3)

    frac = np.linspace(0, 1, N_YEARS)[:, None, None]
    first = np.array([PMQ_SHARE_FIRST[p] for p in PROF])
    last = np.array([PMQ_SHARE_LAST[p] for p in PROF])
    pmq_share = first[None] * (1 - frac) + last[None] * frac  # (years, 3, 4)
    eth_given = _eth_given_pmq(orgs, rng)  # (orgs, 3, 4, 18)
    gender = np.array([GENDER_SHARE[p] for p in PROF])  # (3, 3)
    age = np.array([AGE_SHARE[p] for p in PROF])  # (3, 6)
    # joint[y, o, p, e, q, g, a]
    ep = np.transpose(eth_given, (0, 1, 3, 2))[None] * pmq_share[:, None, :, None, :]  # (y, o, p, 18, 4)
    ga = gender[:, :, None] * age[:, None, :]  # (p, 3, 6)
    joint = ep[..., None, None] * ga[None, None, :, None, None, :, :]
    shape = joint.shape
    flat = joint.reshape(-1, int(np.prod(shape[3:])))
    flat /= flat.sum(axis=1, keepdims=True)
    counts = rng.multinomial(totals.reshape(-1), flat)
    nz = np.flatnonzero(counts)
    y, o, p, e, q, g, a = np.unravel_index(nz, shape)
    h = counts.reshape(-1)[nz].astype(np.int64)
    cells = Cells(
        year=y.astype(np.int8), org=o.astype(np.int16), prof=p.astype(np.int8), eth=e.astype(np.int8),
        pmq=q.astype(np.int8), gender=g.astype(np.int8), age=a.astype(np.int8), base_headcount=h, headcount=h,
    )  # fmt: skip
    return cells


def scale_headcounts(cells: Cells, scale: float, rng: np.random.Generator) -> Cells:
    """Multiply the scale-10 headcounts by scale/10 (stochastic rounding); drop empty cells."""
    factor = scale / BASE_SCALE
    exact = cells.base_headcount * factor
    h = np.floor(exact)
    frac = exact - h
    if np.any(frac > 0):
        h = h + (rng.random(len(h)) < frac)
    h = h.astype(np.int64)
    keep = h > 0
    return Cells(
        year=cells.year[keep], org=cells.org[keep], prof=cells.prof[keep], eth=cells.eth[keep],
        pmq=cells.pmq[keep], gender=cells.gender[keep], age=cells.age[keep],
        base_headcount=cells.base_headcount[keep], headcount=h[keep],
    )  # fmt: skip


# --- Rates and pathway probabilities per cell ---------------------------------------------


@dataclass
class RateModel:
    r0: float
    org_effect: np.ndarray  # (orgs,) random organisation effect
    outlier_factor: np.ndarray  # (orgs,) extra multiplier for ethnic minority practitioners
    minority_year: np.ndarray  # (years,) multiplier for ethnic minority practitioners


def _rate_without_calibration(cells: Cells, orgs: Organisations, org_effect: np.ndarray) -> np.ndarray:
    org_type_rate = np.array([RATE_ORG_TYPE[ORG_TYPES[t]] for t in orgs.org_type])
    eth_rate = np.array([RATE_ETHNIC[q] for q in PMQ])  # (4, 7)
    return (
        np.array(RATE_PROFESSION)[cells.prof]
        * org_type_rate[cells.org]
        * org_effect[cells.org]
        * np.array(RATE_GENDER)[cells.gender]
        * np.array(RATE_AGE)[cells.age]
        * np.array(RATE_PMQ)[cells.pmq]
        * eth_rate[cells.pmq, ETH_GROUP[cells.eth]]
        * np.array(RATE_YEAR)[cells.year]
    )


def fit_rate_model(cells: Cells, orgs: Organisations, rng: np.random.Generator) -> RateModel:
    """Calibrate the base rate, the outlier organisations (effect 7) and the yearly minority factor (6).

    Calibration uses the scale-10 headcounts, so the model is the same at every scale.
    """
    org_effect = _lognormal(rng, RATE_ORG_SIGMA, len(orgs))
    org_effect[list(orgs.outliers)] = 1.0
    # Sums by (year, organisation, class) are all the calibration needs; class 0 White,
    # 1 ethnic minority, 2 not stated or not known.
    n_org = len(orgs)
    cls = np.where(ETH_IS_WHITE, 0, np.where(ETH_IS_MINORITY, 1, 2))[cells.eth]
    bins = (cells.year.astype(np.int64) * n_org + cells.org) * 3 + cls
    shape = (N_YEARS, n_org, 3)
    size = N_YEARS * n_org * 3
    raw = np.bincount(bins, _rate_without_calibration(cells, orgs, org_effect) * cells.base_headcount, size)
    raw = raw.reshape(shape)
    h = np.bincount(bins, cells.base_headcount.astype(float), size).reshape(shape)
    outlier_factor = np.ones(n_org)
    minority_year = np.ones(N_YEARS)

    def expected() -> np.ndarray:
        lam = raw.copy()
        lam[:, :, 1] *= minority_year[:, None] * outlier_factor[None, :]
        return lam

    for _ in range(30):
        lam = expected()
        national = lam[:, :, 1].sum() / h[:, :, 1].sum()
        for o in orgs.outliers:
            org_rate = lam[:, o, 1].sum() / h[:, o, 1].sum()
            outlier_factor[o] *= OUTLIER_TARGET_RATIO * national / org_rate
        lam = expected()
        for fy, target in MINORITY_RL_TARGET.items():
            y = FY_STARTS.index(fy)
            rl = (lam[y, :, 1].sum() / h[y, :, 1].sum()) / (lam[y, :, 0].sum() / h[y, :, 0].sum())
            minority_year[y] *= target / rl
    r0 = CASES_PER_SCALE_UNIT * BASE_SCALE / expected().sum()
    return RateModel(r0=r0, org_effect=org_effect, outlier_factor=outlier_factor, minority_year=minority_year)


def expected_cases(cells: Cells, orgs: Organisations, model: RateModel) -> np.ndarray:
    """Expected number of cases in each cell at the requested scale."""
    minority = ETH_IS_MINORITY[cells.eth]
    rate = _rate_without_calibration(cells, orgs, model.org_effect) * np.where(
        minority, model.outlier_factor[cells.org] * model.minority_year[cells.year], 1.0
    )
    return model.r0 * rate * cells.headcount


@dataclass
class PathProbs:
    exclusion: np.ndarray  # P(exclusion or suspension)
    direct_formal: np.ndarray  # P(formal investigation without informal resolution first), effect 8 included
    direct_base: np.ndarray  # the same without effect 8
    org_extra: np.ndarray  # effect 8's second, independent chance (0 outside its organisations' IMGs)


def pathway_probabilities(
    org: np.ndarray, prof: np.ndarray, eth: np.ndarray, pmq: np.ndarray, gender: np.ndarray, age: np.ndarray,
    orgs: Organisations,
) -> PathProbs:  # fmt: skip
    """Exact per-case (or per-cell) probabilities of the two planted pathway indicators."""
    excl_type = np.array([EXCLUSION_ORG_TYPE[ORG_TYPES[t]] for t in orgs.org_type])
    group = ETH_GROUP[eth]
    pe = (
        excl_type[org]
        * np.array(EXCLUSION_PROFESSION)[prof]
        * np.array(EXCLUSION_GROUP)[group]
        * np.array(EXCLUSION_PMQ)[pmq]
        * np.array(EXCLUSION_GENDER)[gender]
        * np.array(EXCLUSION_AGE)[age]
    )
    pd_ = np.minimum(DIRECT_FORMAL_BASE * np.array(DIRECT_FORMAL_GROUP)[group] * np.array(DIRECT_FORMAL_PMQ)[pmq], 0.9)
    # Effect 8: at the pathway outlier organisations an IMG's probability is PATHWAY_OUTLIER_FACTOR times as
    # high. Drawn as a second, independent chance (its own random stream, so no other case changes):
    # P = 1 − (1 − p)(1 − extra).
    at_outlier = np.isin(org, orgs.pathway_outliers) & (pmq == PMQ.index("IMG"))
    boosted = np.where(at_outlier, np.minimum(pd_ * PATHWAY_OUTLIER_FACTOR, 0.9), pd_)
    extra = np.where(at_outlier, 1 - (1 - boosted) / (1 - pd_), 0.0)
    return PathProbs(exclusion=np.minimum(pe, 0.9), direct_formal=boosted, direct_base=pd_, org_extra=extra)


def category_probabilities(pp: PathProbs) -> np.ndarray:
    """P(pathway category) per cell: informal only, formal, exclusion (no hearing), hearing. Shape (n, 4)."""
    pe, pd_ = pp.exclusion, pp.direct_formal
    p_formal = pd_ + (1 - pd_) * ESCALATE  # among cases without exclusion
    informal_only = (1 - pe) * (1 - p_formal)
    formal = (1 - pe) * p_formal * (1 - HEARING)
    excl = pe * (1 - HEARING_EXCLUDED)
    hearing = (1 - pe) * p_formal * HEARING + pe * HEARING_EXCLUDED
    return np.stack([informal_only, formal, excl, hearing], axis=1)


# --- Cases and events --------------------------------------------------------------------


@dataclass
class Cases:
    cell: np.ndarray
    referral_day: np.ndarray
    closure_day: np.ndarray  # -1 while open
    grade: np.ndarray
    concern_mask: np.ndarray
    outcome: np.ndarray  # -1 while open
    practitioner: np.ndarray
    duration: np.ndarray  # full referral-to-closure duration in days (also for open cases)

    def __len__(self) -> int:
        return len(self.cell)


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _grades(rng: np.random.Generator, cells: Cells, cell: np.ndarray, orgs: Organisations) -> np.ndarray:
    grade_codes = tuple(contract.GRADES)
    hospital = ("consultant", "sas_doctor", "locally_employed_doctor", "doctor_in_training")
    by_pmq = np.array(
        [[0.40, 0.06, 0.10, 0.44], [0.45, 0.12, 0.15, 0.28], [0.28, 0.24, 0.28, 0.20], [0.35, 0.15, 0.20, 0.30]]
    )
    by_age = np.array(
        [[0.05, 0.6, 1.3, 4.0], [1.0, 1.0, 1.0, 1.0], [1.5, 1.2, 0.8, 0.1], [1.6, 1.2, 0.7, 0.05],
         [1.6, 1.3, 0.8, 0.02], [1.0, 1.0, 1.0, 1.0]]
    )  # fmt: skip
    pmq, age, prof = cells.pmq[cell], cells.age[cell], cells.prof[cell]
    p = by_pmq[pmq] * by_age[age]
    p /= p.sum(axis=1, keepdims=True)
    hosp = np.array([grade_codes.index(g) for g in hospital])[_choice_rows(rng, p)]
    org_type = np.array(ORG_TYPES)[orgs.org_type[cells.org[cell]]]
    u = rng.random(len(cell))
    gp_share = np.select(
        [org_type == "primary_care_commissioner", org_type == "health_board", org_type == "other"], [0.95, 0.45, 0.2], 0
    )
    other_share = np.where(org_type == "other", 0.3, 0.02)
    grade = np.where(u < gp_share, grade_codes.index("gp"), hosp)
    grade = np.where((u >= gp_share) & (u < gp_share + other_share), grade_codes.index("other"), grade)
    grade = np.where(prof == PROF.index("dentist"), grade_codes.index("dentist"), grade)
    grade = np.where(prof == PROF.index("pharmacist"), grade_codes.index("pharmacist"), grade)
    return grade.astype(np.int8)


def _concerns(rng: np.random.Generator, year: np.ndarray) -> np.ndarray:
    """Bit mask over contract.CONCERN_TYPES (bit i = CONCERNS[i])."""
    n = len(year)
    mask = np.zeros(n, dtype=np.int64)
    for i, c in enumerate(CONCERNS):
        if c == "sexual_misconduct":
            lo, hi = SEXUAL_MISCONDUCT_P
            p = lo + (hi - lo) * year / (N_YEARS - 1)
        else:
            p = CONCERN_P[c]
        mask |= (rng.random(n) < p).astype(np.int64) << i
    none = mask == 0
    pick = np.where(rng.random(n) < 0.55, CONCERNS.index("behaviour"), CONCERNS.index("clinical"))
    return np.where(none, 1 << pick, mask)


def make_cases(
    rng: np.random.Generator,
    cells: Cells,
    lam: np.ndarray,
    orgs: Organisations,
    org_pathway_rng: np.random.Generator | None = None,
) -> tuple[Cases, dict[str, np.ndarray]]:
    """Draw the cases and their pathways. Returns the cases and the per-case pathway plan.

    ``org_pathway_rng`` draws effect 8's extra chance of formal investigation without informal resolution
    first, on its own stream so that adding the effect left every other draw as it was."""
    n_per_cell = rng.poisson(lam)
    cell = np.repeat(np.arange(len(cells)), n_per_cell)
    year = cells.year[cell]
    ref = FY_FIRST_DAY[year] + (rng.random(len(cell)) * FY_LENGTH[year]).astype(np.int64)
    order = np.lexsort((rng.random(len(cell)), ref))
    cell, ref, year = cell[order], ref[order], year[order]
    n = len(cell)

    # Practitioners: a case is sometimes about someone already referred from the same cell
    # (organisation, profession, ethnicity, PMQ, gender, age band).
    key = np.ravel_multi_index(
        (cells.org[cell], cells.prof[cell], cells.eth[cell], cells.pmq[cell], cells.gender[cell], cells.age[cell]),
        (len(orgs), len(PROF), len(ETH), len(PMQ), len(GENDER), len(AGE)),
    )
    by_key = np.lexsort((np.arange(n), key))  # stable: by key, then referral order
    k_sorted = key[by_key]
    first = np.ones(n, dtype=bool)
    first[1:] = k_sorted[1:] != k_sorted[:-1]
    new = first | (rng.random(n) >= REPEAT_REFERRAL)
    last_new = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    new_rank = np.cumsum(new) - 1
    person_numbers = rng.permutation(int(new.sum()))
    practitioner = np.empty(n, dtype=np.int64)
    practitioner[by_key] = person_numbers[new_rank[last_new]]

    grade = _grades(rng, cells, cell, orgs)
    concern_mask = _concerns(rng, year)

    pp = pathway_probabilities(
        cells.org[cell], cells.prof[cell], cells.eth[cell], cells.pmq[cell], cells.gender[cell], cells.age[cell], orgs
    )
    excl = rng.random(n) < pp.exclusion
    direct = rng.random(n) < pp.direct_base
    if org_pathway_rng is not None:
        direct |= org_pathway_rng.random(n) < pp.org_extra
    escalate = rng.random(n) < ESCALATE
    formal = excl | direct | escalate
    informal = ~direct
    hearing = formal & (rng.random(n) < np.where(excl, HEARING_EXCLUDED, HEARING))
    category = np.select([hearing, excl, formal], [3, 2, 1], 0)
    outcome = _choice_rows(rng, OUTCOME_P[category])
    oc = {name: OUTCOMES.index(name) for name in OUTCOMES}
    remediated = (outcome == oc["remediation_completed"]) | (outcome == oc["returned_with_restrictions"])
    sanctioned = (outcome == oc["formal_sanction"]) | (outcome == oc["returned_with_restrictions"])
    p_plan = np.select(
        [category == 0, category == 3],
        [np.where(outcome == oc["remediation_completed"], 0.75, 0.05), np.where(sanctioned, 0.5, 0.0)],
        np.where(remediated, 0.85, 0.10),
    )
    action_plan = rng.random(n) < p_plan
    assessment = formal & (rng.random(n) < ASSESSMENT)
    restriction = formal & (rng.random(n) < np.where(excl, RESTRICTION_EXCLUDED, RESTRICTION))
    regulator = formal & (rng.random(n) < 0.08 + 0.45 * hearing + 0.10 * excl)

    median = np.array(DURATION_MEDIAN)[category] * np.array(DURATION_PMQ)[cells.pmq[cell]]
    duration = np.ceil(median * np.exp(DURATION_SIGMA * rng.standard_normal(n)))
    duration = np.clip(duration, DURATION_MIN, 3000).astype(np.int64)
    closure = ref + duration
    closed = closure <= EXTRACT_DAY
    cases = Cases(
        cell=cell, referral_day=ref, closure_day=np.where(closed, closure, -1), grade=grade,
        concern_mask=concern_mask, outcome=np.where(closed, outcome, -1), practitioner=practitioner,
        duration=duration,
    )  # fmt: skip
    plan = {
        "informal_resolution": informal, "formal_investigation": formal, "exclusion": excl,
        "assessment": assessment, "disciplinary_hearing": hearing, "action_plan": action_plan,
        "restriction": restriction, "regulator_referral": regulator,
    }  # fmt: skip
    return cases, plan


def make_events(
    rng: np.random.Generator, cases: Cases, plan: dict[str, np.ndarray], cells: Cells, orgs: Organisations
) -> dict[str, np.ndarray]:
    """The pathway events: one row per stage reached by the extract date.

    Day offsets from referral: the main stages (informal resolution, formal investigation,
    assessment, disciplinary hearing, action plan) partition [first start, duration] in that
    order with Dirichlet weights; exclusion/suspension begins with the formal investigation;
    restriction and regulator referral happen during it. The first stage and any exclusion
    start by the extract date, so the pathway indicators are never cut off.
    """
    n = len(cases)
    d = cases.duration.astype(float)
    room = (EXTRACT_DAY - cases.referral_day).astype(float)  # days from referral to the extract
    excl = plan["exclusion"]
    main = ("informal_resolution", "formal_investigation", "assessment", "disciplinary_hearing", "action_plan")
    alpha = np.array([1.2, 3.0, 1.0, 0.4, 1.5])
    reached = np.stack([plan[s] for s in main], axis=1)
    weights = rng.gamma(np.broadcast_to(alpha, (n, len(main)))) * reached
    weights[:, 0] *= np.where(excl & plan["formal_investigation"], 0.05, 1.0)  # exclusion comes early
    weights = np.maximum(weights, 1e-9 * reached)
    t0 = np.floor(rng.random(n) * np.minimum(14.0, d / 10))
    t0 = np.minimum(t0, room)
    span = d - t0
    cum = np.cumsum(weights, axis=1) / weights.sum(axis=1, keepdims=True)
    ends = t0[:, None] + np.floor(cum * span[:, None])
    ends[np.arange(n), (reached * np.arange(1, len(main) + 1)).argmax(axis=1)] = d  # last stage ends at closure
    # Informal resolution lasts at least a day before formal investigation; with an exclusion,
    # the formal investigation (and the exclusion) starts by the extract date.
    f = main.index("formal_investigation")
    both = reached[:, 0] & reached[:, f]
    ends[:, 0] = np.where(both, np.maximum(ends[:, 0], t0 + 1), ends[:, 0])
    ends[:, 0] = np.where(both & excl, np.minimum(ends[:, 0], room), ends[:, 0])
    ends = np.maximum.accumulate(ends, axis=1)
    starts = np.concatenate([t0[:, None], ends[:, :-1]], axis=1)
    formal_start = starts[:, f]

    stage_start: dict[str, np.ndarray] = {}
    stage_end: dict[str, np.ndarray] = {}
    for i, s in enumerate(main):
        stage_start[s] = starts[:, i]
        stage_end[s] = ends[:, i]
    formal_end = ends[:, f]
    excl_len = np.round(EXCLUSION_LENGTH_MEDIAN * np.exp(EXCLUSION_LENGTH_SIGMA * rng.standard_normal(n)))
    excl_len = np.maximum(1, excl_len)
    stage_start["exclusion"] = formal_start
    stage_end["exclusion"] = np.minimum(formal_start + excl_len, d)
    restr_start = np.where(
        excl, stage_end["exclusion"], formal_start + np.floor(rng.random(n) * 0.3 * (formal_end - formal_start))
    )
    stage_start["restriction"] = restr_start
    stage_end["restriction"] = np.minimum(restr_start + np.round(120 * np.exp(0.7 * rng.standard_normal(n))), d)
    hearing = plan["disciplinary_hearing"]
    reg = np.where(
        hearing,
        ends[:, main.index("disciplinary_hearing")],
        formal_start + np.floor(rng.random(n) * (formal_end - formal_start)),
    )
    stage_start["regulator_referral"] = np.minimum(reg, d)
    stage_end["regulator_referral"] = np.full(n, np.nan)  # a point event: no duration

    # Primary care commissioners suspend from the performers list; others exclude.
    pcc = orgs.org_type[cells.org[cases.cell]] == ORG_TYPES.index("primary_care_commissioner")
    stage_index = {s: STAGES.index(s) for s in STAGES}
    case_idx, stage, start, end = [], [], [], []
    for s, present in plan.items():
        st = stage_start[s]
        en = stage_end[s]
        observed = present & (st <= room)
        idx = np.flatnonzero(observed)
        code = np.full(len(idx), stage_index[s], dtype=np.int8)
        if s == "exclusion":
            code = np.where(pcc[idx], stage_index["suspension"], stage_index["exclusion"]).astype(np.int8)
        e = en[idx]
        e = np.where(e <= room[idx], e, np.nan)  # ongoing at the extract date
        case_idx.append(idx)
        stage.append(code)
        start.append(st[idx])
        end.append(e)
    case_idx_a = np.concatenate(case_idx)
    stage_a = np.concatenate(stage)
    start_a = np.concatenate(start)
    end_a = np.concatenate(end)
    order = np.lexsort((stage_a, start_a, case_idx_a))
    ref = cases.referral_day[case_idx_a[order]]
    end_o = end_a[order]
    return {
        "case": case_idx_a[order],
        "stage": stage_a[order],
        "start_day": ref + start_a[order].astype(np.int64),
        "end_day": np.where(np.isnan(end_o), -1, ref + np.nan_to_num(end_o).astype(np.int64)),
    }


# --- Planted effects: true values --------------------------------------------------------


def _fy(fy_start: int) -> str:
    return contract.financial_year_label(fy_start)


def _split_codes(cells_eth: np.ndarray, cells_pmq: np.ndarray) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """For each split the effects use: a code per cell and the labels the codes index."""
    eg_labels = GROUPS
    pmq_labels = tuple(contract.PMQ_REGIONS[q] for q in PMQ)
    em_labels = contract.SPLITS["ethnic_minority"].groups
    em_of_code = np.array([em_labels.index(contract.ETHNIC_MINORITY_OF[c]) for c in ETH], dtype=np.int16)
    ethpmq_labels = tuple(f"{g} · {q}" for g in eg_labels for q in pmq_labels)
    eg = ETH_GROUP[cells_eth].astype(np.int16)
    return {
        "ethnic_group": (eg, eg_labels),
        "pmq_region": (cells_pmq.astype(np.int16), pmq_labels),
        "ethnic_minority": (em_of_code[cells_eth], em_labels),
        "ethnicity_pmq": (eg * len(PMQ) + cells_pmq, ethpmq_labels),
    }


def _median_of_mixture(weights: np.ndarray, medians: np.ndarray) -> float:
    """Median (in whole days) of the duration mixture: ceil of a log-normal mixture median."""
    w = weights / weights.sum()
    log_m = np.log(medians)

    def cdf(t: float) -> float:
        return float((w * ndtr((np.log(t) - log_m) / DURATION_SIGMA)).sum()) - 0.5

    return float(np.ceil(brentq(cdf, 1.0, 10_000.0, xtol=1e-9)))


def compute_effects(cells: Cells, lam: np.ndarray, orgs: Organisations) -> list[dict[str, Any]]:
    """The planted effects with their true (marginal, model-implied) values."""
    h = cells.headcount.astype(float)
    codes = _split_codes(cells.eth, cells.pmq)

    def is_label(split: str, label: str) -> np.ndarray:
        code, labels = codes[split]
        return code == labels.index(label)

    pmq_label = {q: contract.PMQ_REGIONS[q] for q in PMQ}
    all_years = np.ones(len(cells), dtype=bool)
    first, last = _fy(FY_STARTS[0]), _fy(FY_STARTS[-1])
    effects: list[dict[str, Any]] = []

    def add(**kw: Any) -> None:
        effects.append(kw)

    def referral(eid: str, desc: str, split: str, group: str, ref: str, mask: np.ndarray = all_years,
                 years: tuple[str, str] = (first, last), filters: dict[str, str] | None = None) -> None:  # fmt: skip
        g = mask & is_label(split, group)
        r = mask & is_label(split, ref)
        rate_g, rate_r = lam[g].sum() / h[g].sum(), lam[r].sum() / h[r].sum()
        add(id=eid, description=desc, measure="referral_rl", split=split, group=group, reference=ref,
            years={"from": years[0], "to": years[1]}, filters=filters or {},
            true_value=round(rate_g / rate_r, 4),
            group_value=round(rate_g * 1000, 4), reference_value=round(rate_r * 1000, 4),
            value_unit="referrals per 1,000 practitioners a year (expected)")  # fmt: skip

    referral("E1a", "Referral relative likelihood, Black vs White practitioners", "ethnic_group",
             contract.BLACK, contract.WHITE)  # fmt: skip
    referral("E1b", "Referral relative likelihood, Asian vs White practitioners", "ethnic_group",
             contract.ASIAN, contract.WHITE)  # fmt: skip
    referral("E2a", "Referral relative likelihood, IMGs vs UK graduates", "pmq_region", pmq_label["IMG"],
             pmq_label["UK"])  # fmt: skip
    referral("E2b", "Referral relative likelihood, EEA vs UK graduates", "pmq_region", pmq_label["EEA"],
             pmq_label["UK"])  # fmt: skip
    for q, eid in (("UK", "E3a"), ("IMG", "E3b")):
        referral(eid, f"Referral relative likelihood, ethnic minority vs White, among {pmq_label[q]}s only"
                 if q == "UK" else "Referral relative likelihood, ethnic minority vs White, among IMGs only",
                 "ethnic_minority", contract.ETHNIC_MINORITY, contract.WHITE,
                 mask=np.array(PMQ)[cells.pmq] == q, filters={"pmq_region": q})  # fmt: skip
    for q, eid in (("UK", "E3c"), ("IMG", "E3d")):
        referral(eid, f"Referral relative likelihood, Asian vs White, both {pmq_label[q]}s"
                 if q == "UK" else "Referral relative likelihood, Asian vs White, both IMGs",
                 "ethnicity_pmq", contract.ethnicity_pmq_label("H", q),
                 contract.ethnicity_pmq_label("A", q))  # fmt: skip

    # Effect 4: pathway indicators among cases (expected cases x exact probabilities).
    pp = pathway_probabilities(cells.org, cells.prof, cells.eth, cells.pmq, cells.gender, cells.age, orgs)
    indicators = {
        "exclusion_or_suspension": (pp.exclusion, "reached exclusion or suspension"),
        "formal_without_informal": (
            pp.direct_formal,
            "went to formal investigation without informal resolution first",
        ),
    }
    pairs = (
        ("ethnic_group", contract.BLACK, contract.WHITE, "Black vs White practitioners"),
        ("pmq_region", pmq_label["IMG"], pmq_label["UK"], "IMGs vs UK graduates"),
    )
    ids = iter(("E4a", "E4b", "E4c", "E4d"))
    for ind, (p, text) in indicators.items():
        for split, group, ref, who in pairs:
            g = is_label(split, group)
            r = is_label(split, ref)
            prop_g = (lam[g] * p[g]).sum() / lam[g].sum()
            prop_r = (lam[r] * p[r]).sum() / lam[r].sum()
            add(id=next(ids), description=f"Share of cases that {text}, {who}", measure="proportion_rr",
                indicator=ind, split=split, group=group, reference=ref, years={"from": first, "to": last},
                filters={}, true_value=round(prop_g / prop_r, 4), group_value=round(prop_g, 4),
                reference_value=round(prop_r, 4), value_unit="proportion of cases (expected)")  # fmt: skip

    # Effect 5: referral-to-closure median, a log-normal mixture over pathway categories.
    cat = category_probabilities(pp)
    med = {}
    for q in ("IMG", "UK"):
        g = np.array(PMQ)[cells.pmq] == q
        w = (lam[g][:, None] * cat[g]).sum(axis=0)
        med[q] = _median_of_mixture(w, np.array(DURATION_MEDIAN) * DURATION_PMQ[PMQ.index(q)])
    add(id="E5", description="Median referral-to-closure duration, IMGs vs UK graduates (Kaplan-Meier, open cases "
        "censored at the extract date)", measure="median_ratio", indicator="referral_to_closure_days",
        split="pmq_region", group=pmq_label["IMG"], reference=pmq_label["UK"], years={"from": first, "to": last},
        filters={}, true_value=round(med["IMG"] / med["UK"], 4), group_value=med["IMG"], reference_value=med["UK"],
        value_unit="median days from referral to closure")  # fmt: skip

    # Effect 6: the national ethnic minority vs White RL, year by year.
    for k, fy in enumerate(MINORITY_RL_TARGET):
        label = _fy(fy)
        referral(f"E6{'abcd'[k]}", f"Referral relative likelihood, ethnic minority vs White, {label}",
                 "ethnic_minority", contract.ETHNIC_MINORITY, contract.WHITE,
                 mask=cells.year == FY_STARTS.index(fy), years=(label, label))  # fmt: skip

    # Effect 7: organisations whose ethnic-minority referral rate is far above the national one.
    em = is_label("ethnic_minority", contract.ETHNIC_MINORITY)
    national = lam[em].sum() / h[em].sum()
    for k, o in enumerate(orgs.outliers):
        m = em & (cells.org == o)
        rate = lam[m].sum() / h[m].sum()
        add(id=f"E7{'abc'[k]}", description=f"Ethnic minority referral rate at {orgs.name[o]} vs national",
            measure="org_rate_ratio", split="ethnic_minority", group=contract.ETHNIC_MINORITY,
            reference="National (all organisations)", years={"from": first, "to": last},
            filters={"org_code": orgs.code[o]}, org_name=orgs.name[o], true_value=round(rate / national, 4),
            group_value=round(rate * 1000, 4), reference_value=round(national * 1000, 4),
            value_unit="referrals per 1,000 ethnic minority practitioners a year (expected)")  # fmt: skip

    # Effect 8: organisations that send IMGs to formal investigation without informal resolution first far
    # more often than the country as a whole (expected IMG cases x exact probabilities).
    img = np.array(PMQ)[cells.pmq] == "IMG"
    national_share = (lam[img] * pp.direct_formal[img]).sum() / lam[img].sum()
    for k, o in enumerate(orgs.pathway_outliers):
        m = img & (cells.org == o)
        share = (lam[m] * pp.direct_formal[m]).sum() / lam[m].sum()
        add(id=f"E8{'ab'[k]}", description="Share of IMG cases that went to formal investigation without informal "
            f"resolution first at {orgs.name[o]} vs national", measure="org_share_ratio",
            indicator="formal_without_informal", split="pmq_region", group=pmq_label["IMG"],
            reference="National (all organisations)", years={"from": first, "to": last},
            filters={"org_code": orgs.code[o]}, org_name=orgs.name[o], true_value=round(share / national_share, 4),
            group_value=round(share, 4), reference_value=round(national_share, 4),
            value_unit="proportion of IMG cases (expected)")  # fmt: skip
    return effects


# --- Conditional true values: what the adjusted relative likelihood estimates -------------------

# The referral effects an adjusted relative likelihood is reported for: the national ones over all years.
CONDITIONAL_EFFECTS = ("E1a", "E1b", "E2a", "E2b", "E3c", "E3d")


def model_cells(
    cells: Cells, orgs: Organisations, split: str, expected: np.ndarray
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The workforce cells summed into the cells the adjusted model sees (``queries/referrals_by_cell.sql``): the
    group under ``split`` crossed with every characteristic an adjusted relative likelihood can hold equal,
    labelled as the database labels them. Returns the labels, the expected cases and the headcount per cell."""
    group, group_labels = _split_codes(cells.eth, cells.pmq)[split]
    columns = {
        "grp": (group, group_labels),
        "ethnic_group": (ETH_GROUP[cells.eth], GROUPS),
        "pmq_region": (cells.pmq, PMQ),
        "profession": (cells.prof, PROF),
        "age_band": (cells.age, AGE),
        "gender": (cells.gender, GENDER),
        "org_type": (orgs.org_type[cells.org], ORG_TYPES),
        "region": (orgs.region[cells.org], REGIONS),
    }
    sizes = tuple(len(labels) for _, labels in columns.values())
    key = np.ravel_multi_index(tuple(code.astype(np.int64) for code, _ in columns.values()), sizes)
    unique, inverse = np.unique(key, return_inverse=True)
    codes = np.unravel_index(unique, sizes)
    labelled = {
        name: np.asarray(labels, dtype=object)[code]
        for (name, (_, labels)), code in zip(columns.items(), codes, strict=True)
    }
    summed = np.bincount(inverse, weights=expected, minlength=len(unique))
    headcount = np.bincount(inverse, weights=cells.headcount.astype(float), minlength=len(unique))
    return labelled, summed, headcount


def conditional_true_values(gen: Generated, adjust_for: tuple[str, ...] | None = None) -> dict[str, dict[str, Any]]:
    """The conditional (adjusted) true value of each of ``CONDITIONAL_EFFECTS``: the relative likelihood the
    dashboard's adjusted model (``parity.stats.adjusted_rate_ratios``, adjusting for ``adjust_for``: default
    every characteristic) gives when fitted to the generator's expected counts instead of drawn ones. It is
    what the adjusted estimate converges to as the counts grow. The generator multiplies rates by factors
    that do not all fit one number per group (the ethnic gap depends on place of qualification and, from
    2021/22, on the year; three organisations add to it), so this value is a weighted summary of them, not a
    multiplier typed into the generator.
    """
    from parity.measures.adjusted import adjustments_for_split
    from parity.stats import adjusted_rate_ratios

    by_id = {e["id"]: e for e in gen.effects}
    values: dict[str, dict[str, Any]] = {}
    for eid in CONDITIONAL_EFFECTS:
        effect = by_id[eid]
        factors = adjustments_for_split(effect["split"], adjust_for)
        labelled, expected, headcount = model_cells(gen.cells, gen.orgs, effect["split"], gen.lam)
        fitted = adjusted_rate_ratios(
            expected, headcount, labelled["grp"], effect["reference"], {f: labelled[f] for f in factors}
        )
        values[eid] = {
            "conditional_value": round(fitted.ratios[effect["group"]].value, 4),
            "adjusted_for": list(fitted.adjusted_for),
            "marginal_value": effect["true_value"],
        }
    return values


# --- Output ------------------------------------------------------------------------------


def _strings(vocab: tuple[str, ...], idx: np.ndarray) -> pa.Array:
    """Codes to strings; a negative code means missing."""
    idx = np.asarray(idx)
    return pa.array(vocab, type=pa.string()).take(pa.array(idx, mask=idx < 0))


def _dates(days: np.ndarray) -> pa.Array:
    """ISO dates from day numbers; negative day numbers mean missing."""
    days = np.asarray(days)
    arr = pa.array(days.astype(np.int32), type=pa.int32(), mask=days < 0).cast(pa.date32())
    return pc.cast(arr, pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    s = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width, "0")
    return pc.binary_join_element_wise(pa.scalar(prefix), s, "")


def build_tables(orgs: Organisations, cells: Cells, cases: Cases, events: dict[str, np.ndarray]) -> dict[str, pa.Table]:
    fy_labels = tuple(_fy(y) for y in FY_STARTS)
    org_codes = orgs.code
    organisations = pa.table(
        {
            "org_code": pa.array(orgs.code),
            "org_name": pa.array(orgs.name),
            "org_type": _strings(ORG_TYPES, orgs.org_type),
            "region": _strings(REGIONS, orgs.region),
        }
    )
    workforce = pa.table(
        {
            "financial_year": _strings(fy_labels, cells.year),
            "org_code": _strings(org_codes, cells.org),
            "profession": _strings(PROF, cells.prof),
            "ethnic_category": _strings(ETH, cells.eth),
            "pmq_region": _strings(PMQ, cells.pmq),
            "gender": _strings(GENDER, cells.gender),
            "age_band": _strings(AGE, cells.age),
            "headcount": pa.array(cells.headcount, type=pa.int64()),
        }
    )
    concern_strings = tuple(";".join(c for i, c in enumerate(CONCERNS) if m >> i & 1) for m in range(64))
    c = cases.cell
    case_ids = _ids("C", np.arange(1, len(cases) + 1), 7)
    cases_t = pa.table(
        {
            "case_id": case_ids,
            "practitioner_id": _ids("P", cases.practitioner + 1, 7),
            "org_code": _strings(org_codes, cells.org[c]),
            "referral_date": _dates(cases.referral_day),
            "closure_date": _dates(cases.closure_day),
            "profession": _strings(PROF, cells.prof[c]),
            "grade": _strings(tuple(contract.GRADES), cases.grade),
            "gender": _strings(GENDER, cells.gender[c]),
            "age_band": _strings(AGE, cells.age[c]),
            "ethnic_category": _strings(ETH, cells.eth[c]),
            "pmq_region": _strings(PMQ, cells.pmq[c]),
            "concern_types": _strings(concern_strings, cases.concern_mask),
            "outcome": _strings(OUTCOMES, cases.outcome),
        }
    )
    events_t = pa.table(
        {
            "case_id": case_ids.take(pa.array(events["case"])),
            "stage": _strings(STAGES, events["stage"]),
            "start_date": _dates(events["start_day"]),
            "end_date": _dates(events["end_day"]),
        }
    )
    tables = {"organisations": organisations, "workforce": workforce, "cases": cases_t, "case_events": events_t}
    for name, t in tables.items():
        assert tuple(t.column_names) == contract.FILES[name].column_names, name
    return tables


def write_table(table: pa.Table, path: Path, fmt: str) -> None:
    """Write one table: CSV (unquoted, missing values empty), gzip CSV or Parquet (strings, missing "")."""
    if fmt == "parquet":
        cols = [pc.fill_null(col, "") if pa.types.is_string(col.type) else col for col in table.columns]
        pq.write_table(pa.table(cols, names=table.column_names), path, compression="zstd")
        return
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none", batch_size=65536)
    if fmt == "csv.gz":
        # Python's gzip with mtime 0 and no file name: the same bytes every time (level 6 is fast).
        with open(path, "wb") as raw, gzip.GzipFile("", "wb", compresslevel=6, fileobj=raw, mtime=0) as gz:
            pacsv.write_csv(table, gz, options)
    else:
        pacsv.write_csv(table, str(path), options)


@dataclass
class Generated:
    orgs: Organisations
    cells: Cells
    lam: np.ndarray
    cases: Cases
    events: dict[str, np.ndarray]
    effects: list[dict[str, Any]]


def _streams(seed: int) -> list[np.random.Generator]:
    """Independent random streams: workforce, rate model, rounding, cases, events, spare, effect 8.

    Children of one SeedSequence are keyed by their position, so a stream added at the end leaves the
    others (and so the rest of the export) exactly as they were."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(7)]


@lru_cache(maxsize=4)
def _base_model(seed: int) -> tuple[Organisations, Cells, RateModel]:
    """The scale-independent part: organisations, scale-10 workforce cells, calibrated rates."""
    streams = _streams(seed)
    orgs = make_organisations()
    base = make_base_workforce(orgs, streams[0])
    model = fit_rate_model(base, orgs, streams[1])
    for arr in (*vars(base).values(), *vars(model).values()):
        if isinstance(arr, np.ndarray):
            arr.flags.writeable = False  # shared between calls through the cache
    return orgs, base, model


def generate(seed: int, scale: float) -> Generated:
    """Build the whole synthetic export in memory."""
    if scale <= 0:
        raise ValueError("scale must be positive")
    streams = _streams(seed)
    orgs, base, model = _base_model(seed)
    cells = scale_headcounts(base, scale, streams[2])
    lam = expected_cases(cells, orgs, model)
    cases, plan = make_cases(streams[3], cells, lam, orgs, streams[6])
    events = make_events(streams[4], cases, plan, cells, orgs)
    effects = compute_effects(cells, lam, orgs)
    return Generated(orgs, cells, lam, cases, events, effects)


def effects_document(gen: Generated, seed: int, scale: float, fmt: str) -> dict[str, Any]:
    return {
        "description": "Effects planted in the synthetic data by tools.synth, with their true values: the "
        "marginal quantities the generating model implies (expected counts summed over workforce cells), "
        "which is what the dashboard estimates.",
        "command": command_line(seed, scale, fmt),
        "seed": seed,
        "scale": scale,
        "extract_date": EXTRACT_DATE.isoformat(),
        "effects": gen.effects,
    }


def command_line(seed: int, scale: float, fmt: str, out: str = "sample_data") -> str:
    scale_text = f"{scale:g}"
    return f"python -m tools.synth --out {out} --seed {seed} --scale {scale_text} --format {fmt}"


def write_export(out: Path, seed: int = DEFAULT_SEED, scale: float = BASE_SCALE, fmt: str = "csv.gz") -> Generated:
    """Generate and write the four files and effects.json into ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    gen = generate(seed, scale)
    out.mkdir(parents=True, exist_ok=True)
    tables = build_tables(gen.orgs, gen.cells, gen.cases, gen.events)
    for name, table in tables.items():
        for other in FORMATS.values():  # never leave a stale copy in another format beside the new one
            stale = out / f"{name}{other}"
            if other != FORMATS[fmt] and stale.exists():
                stale.unlink()
        write_table(table, out / f"{name}{FORMATS[fmt]}", fmt)
    doc = effects_document(gen, seed, scale, fmt)
    (out / "effects.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return gen


def summary_lines(gen: Generated) -> list[str]:
    cells, cases = gen.cells, gen.cases
    years = cells.year[cases.cell]
    n = len(cases)
    lines = [
        f"organisations: {len(gen.orgs)}",
        f"workforce rows: {len(cells):,}; headcount a year: {cells.headcount.sum() / N_YEARS:,.0f}",
        f"cases: {n:,} ({n / N_YEARS:,.0f} a year); events: {len(gen.events['case']):,}",
        "cases by year: " + ", ".join(str(int(k)) for k in np.bincount(years, minlength=N_YEARS)),
    ]
    if n:
        stage = gen.events["stage"]
        ex = np.isin(stage, [STAGES.index("exclusion"), STAGES.index("suspension")])
        lines += [
            f"doctor share of cases: {np.mean(cells.prof[cases.cell] == 0):.3f}",
            f"behaviour share: {np.mean(cases.concern_mask >> CONCERNS.index('behaviour') & 1):.3f}",
            f"exclusions or suspensions a year: {ex.sum() / N_YEARS:.1f}",
            f"missing ethnicity share of cases: {np.mean(ETH_IS_MISSING[cells.eth[cases.cell]]):.3f}",
            f"open cases: {np.mean(cases.closure_day < 0):.3f}",
        ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.synth", description="Write a deterministic synthetic export (no real people)."
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write the four files into")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    parser.add_argument("--scale", type=float, default=BASE_SCALE, help="about SCALE x 1,000 cases in all (default 10)")
    parser.add_argument("--format", choices=tuple(FORMATS), default="csv.gz", help="file format (default csv.gz)")
    parser.add_argument("--quiet", action="store_true", help="print nothing")
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    started = time.perf_counter()
    gen = write_export(args.out, args.seed, args.scale, args.format)
    if not args.quiet:
        for line in summary_lines(gen):
            print(line)
        print(f"written to {args.out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
