"""Named number formats, used everywhere numbers are shown (never ad hoc)."""

from __future__ import annotations

import math

SUPPRESSED = "*"


def _missing(value: object) -> bool:
    """NaN, None, or a value already shown as suppressed."""
    return value is None or value == SUPPRESSED or (isinstance(value, float) and math.isnan(value))


def int0(value: object) -> str:
    """1,234 — counts."""
    return SUPPRESSED if _missing(value) else f"{int(round(float(value))):,}"


def rate2(value: object) -> str:
    """2.35 — rates per 1,000."""
    return SUPPRESSED if _missing(value) else f"{float(value):,.2f}"


def ratio2(value: object) -> str:
    """1.74 — relative likelihoods and risk ratios."""
    return SUPPRESSED if _missing(value) else f"{float(value):.2f}"


def pct1(value: object) -> str:
    """12.3% — proportions given as fractions."""
    return SUPPRESSED if _missing(value) else f"{float(value) * 100:.1f}%"


def interval(lower: object, upper: object, fmt=ratio2) -> str:
    """ "1.60 to 1.89" — an interval, or "*" when either bound is hidden."""
    if _missing(lower) or _missing(upper):
        return SUPPRESSED
    if isinstance(upper, float) and math.isinf(upper):
        return f"{fmt(lower)} to not reached"
    return f"{fmt(lower)} to {fmt(upper)}"


def pvalue(value: object) -> str:
    if _missing(value):
        return SUPPRESSED
    return "<0.001" if float(value) < 0.001 else f"{float(value):.3f}"


def months1(value: object) -> str:
    """4.2 — months (a Kaplan–Meier median whose bound is infinite is "not reached")."""
    if _missing(value):
        return SUPPRESSED
    return "not reached" if math.isinf(float(value)) else f"{float(value):.1f}"


# The named format of each unit of the organisation profile.
UNIT_FORMATS = {"ratio": ratio2, "rate": rate2, "share": pct1, "months": months1}


def in_unit(value: object, unit: str) -> str:
    """A value in its unit's named format."""
    return UNIT_FORMATS[unit](value)
