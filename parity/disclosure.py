"""Disclosure control (design §5): the one function every table, chart and download passes.

Below national level, counts from 1 to ``suppress_max`` show as ``*`` and other counts are rounded
to the nearest ``round_to``; zero stays 0. A rate, proportion or ratio whose numerator is suppressed
shows as ``*`` too. National figures are exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

SUPPRESSED = "*"


@dataclass(frozen=True)
class Rule:
    suppress_max: int = 7
    round_to: int = 5

    def explain(self) -> str:
        return (
            f"Below national level, counts of 1 to {self.suppress_max} show as {SUPPRESSED} and other counts are "
            f"rounded to the nearest {self.round_to}; figures that depend on a hidden count show as {SUPPRESSED}."
        )


def round_count(n: float, rule: Rule) -> float:
    """One count under the rule: NaN for suppressed, else rounded half up to ``round_to``."""
    if pd.isna(n):
        return np.nan
    if 0 < n <= rule.suppress_max:
        return np.nan
    return float(np.floor(n / rule.round_to + 0.5) * rule.round_to)


def disclose(
    table: pd.DataFrame,
    counts: Iterable[str],
    depends_on: Mapping[str, Iterable[str]] | None = None,
    *,
    national: bool,
    rule: Rule,
) -> pd.DataFrame:
    """Apply the rule to a table; returns a copy with a boolean ``suppressed`` column added.

    ``counts`` are the count columns to suppress or round. ``depends_on`` maps each derived column
    (rate, interval bound, ratio) to the count columns it is computed from: the derived value is
    blanked (NaN) wherever one of those counts is suppressed. Derived values are otherwise left as
    computed from the exact counts. At national level the table comes back unchanged but for the
    ``suppressed`` column (all False).
    """
    out = table.copy()
    count_cols = list(counts)
    if national:
        out["suppressed"] = False
        return out
    hidden = {}
    for col in count_cols:
        values = pd.to_numeric(out[col], errors="coerce")
        hidden[col] = (values > 0) & (values <= rule.suppress_max)
        out[col] = values.map(lambda v: round_count(v, rule))
    any_hidden = pd.Series(False, index=out.index)
    for mask in hidden.values():
        any_hidden |= mask
    for derived, sources in (depends_on or {}).items():
        mask = pd.Series(False, index=out.index)
        for src in sources:
            mask |= hidden[src]
        out.loc[mask, derived] = np.nan
    out["suppressed"] = any_hidden
    return out


def as_display(table: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Text for tables and CSV downloads: suppressed values (NaN in a suppressed row) become ``*``."""
    out = table.copy()
    mask = out["suppressed"] if "suppressed" in out else pd.Series(False, index=out.index)
    for col in columns:
        out[col] = out[col].astype(object)
        out.loc[mask & out[col].isna(), col] = SUPPRESSED
    return out
