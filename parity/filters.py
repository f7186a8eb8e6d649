"""The global filters, as plain values: what the sidebar sets and every query receives."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from parity import contract

# Every filter parameter a query may declare, and the Filters field that feeds it.
FILTER_PARAMS: tuple[str, ...] = (
    "fy_from",
    "fy_to",
    "professions",
    "grades",
    "regions",
    "org_types",
    "orgs",
    "concerns",
)

# Why a filter may not apply to a measure; shown beside the numbers it does not narrow.
NOT_APPLICABLE_REASON: dict[str, str] = {
    "grades": "the workforce export has no grade, so referral rates cover all grades",
}


@dataclass(frozen=True)
class Filters:
    """Financial years are given by their first calendar year (2023 for 2023/24)."""

    fy_from: int | None = None
    fy_to: int | None = None
    professions: tuple[str, ...] = field(default_factory=tuple)
    grades: tuple[str, ...] = field(default_factory=tuple)
    regions: tuple[str, ...] = field(default_factory=tuple)
    org_types: tuple[str, ...] = field(default_factory=tuple)
    orgs: tuple[str, ...] = field(default_factory=tuple)
    concerns: tuple[str, ...] = field(default_factory=tuple)

    def params(self, declared: frozenset[str] | set[str] | None = None) -> dict[str, Any]:
        """Query parameters; an empty choice is NULL ("all"). Restricted to ``declared`` when given."""
        values: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                value = list(value) or None
            values[f.name] = value
        if declared is None:
            return values
        return {k: v for k, v in values.items() if k in declared}

    def unapplied(self, declared: frozenset[str]) -> list[str]:
        """Filters that are set but that a query does not take (so do not narrow its numbers)."""
        return [name for name in FILTER_PARAMS if name not in declared and getattr(self, name) not in (None, ())]

    @property
    def is_national(self) -> bool:
        """National level: no geography narrows the view (disclosure control applies otherwise)."""
        return not (self.regions or self.org_types or self.orgs)

    def describe(self, org_names: dict[str, str] | None = None) -> str:
        """The filters in words, e.g. "Doctors and dentists, 2020/21 to 2024/25, all regions"."""
        parts = [_join([contract.PROFESSIONS[p] for p in self.professions]) if self.professions else "All professions"]
        if self.fy_from is not None or self.fy_to is not None:
            lo = contract.financial_year_label(self.fy_from) if self.fy_from is not None else "first year"
            hi = contract.financial_year_label(self.fy_to) if self.fy_to is not None else "latest year"
            parts.append(lo if lo == hi else f"{lo} to {hi}")
        else:
            parts.append("all years")
        if self.grades:
            parts.append(_join([contract.GRADES[g] for g in self.grades]).lower() + " grades")
        parts.append(_join(list(self.regions)) if self.regions else "all regions")
        if self.org_types:
            parts.append(_join([contract.ORG_TYPES[t].lower() + "s" for t in self.org_types]))
        if self.orgs:
            names = org_names or {}
            parts.append(_join([names.get(o, o) for o in self.orgs]))
        if self.concerns:
            parts.append(_join([contract.CONCERN_TYPES[c].lower() for c in self.concerns]) + " concerns")
        text = ", ".join(parts)
        return text[0].upper() + text[1:]


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    lowered = [items[0]] + [
        i if i[:1].isupper() and i not in contract.PROFESSIONS.values() else i.lower() for i in items[1:]
    ]
    return ", ".join(lowered[:-1]) + " and " + lowered[-1]
