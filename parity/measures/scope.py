"""An employer's scope (design §5): their own organisation's figures and national ones, never another
organisation's through a narrow geography.

An employer view is scoped to one organisation. Any geography the filters pick (regions, organisation types,
organisations) is allowed when it is the employer's own organisation alone, or nothing, or holds at least
``min_other_orgs`` organisations other than the employer's own (``PARITY_MIN_OTHER_ORGS``, default 3). A geography
with one or two others would show their figures, or their figures once the employer's own are taken away, so it
shows none. The rule lives in the data layer: every View runs its queries through ``ScopeGuard``, which refuses a
query over such a geography (``ScopeRefused``) and drops, from a query broken down by organisation type or region,
every level that would be such a geography (and, when it drops any, enough further levels that the dropped ones
together are not such a geography either: the shown levels' total minus the others would give it back).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from parity.db import get_query
from parity.filters import Filters

GEOGRAPHY_PARAMS = ("regions", "org_types", "orgs")
# A breakdown level is a geography when the breakdown is by one of these columns of ``organisations``.
GEOGRAPHY_LEVELS = {"org_type": "org_type", "region": "region"}


class ScopeRefused(ValueError):
    """The filters pick a geography that would show another organisation's figures to an employer."""

    def __init__(self, others: int, min_others: int) -> None:
        self.others = others
        self.min_others = min_others
        super().__init__(refusal_message(others, min_others))


def refusal_message(others: int, min_others: int) -> str:
    """What a person is told when the filters would single out other organisations."""
    count = "one organisation" if others == 1 else f"{others} organisations"
    return (
        f"These filters pick out {count} other than yours. To keep other organisations' figures private, an employer "
        f"view shows figures only for your own organisation alone or for a group of at least {min_others} other "
        "organisations. Widen the region or organisation type, or pick only your own organisation."
    )


def default_min_others() -> int:
    from parity.settings import get_settings

    return get_settings().min_other_orgs


def _others(codes: set[str], own: str) -> int:
    return len(codes - {own})


def isolates(codes: set[str], own: str, min_others: int) -> bool:
    """Whether a geography holding ``codes`` would show fewer than ``min_others`` other organisations."""
    return 0 < _others(codes, own) < min_others


class ScopeGuard:
    """A query runner for an employer's scope: refuses isolating geographies, drops isolating breakdown levels.

    Without a scope (a national or analyst viewer) it passes every query through unchanged.
    """

    def __init__(self, runner: Any, scope_org: str | None, min_others: int | None = None) -> None:
        self._runner = runner
        self.scope_org = scope_org
        self.min_others = default_min_others() if min_others is None and scope_org else (min_others or 0)
        self._orgs: pd.DataFrame | None = None

    def organisations(self) -> pd.DataFrame:
        """Every organisation's code, type and region (used only to count, never shown)."""
        if self._orgs is None:
            self._orgs = self._runner.run("organisations_list", {"scope_org": None})
        return self._orgs

    def matching(self, params: Mapping[str, Any]) -> pd.DataFrame:
        """The organisations a query's geography parameters pick (every one when it takes none)."""
        orgs = self.organisations()
        keep = pd.Series(True, index=orgs.index)
        for param, column in (("regions", "region"), ("org_types", "org_type"), ("orgs", "org_code")):
            chosen = params.get(param)
            if chosen:
                keep &= orgs[column].isin(list(chosen))
        return orgs[keep]

    def check(self, params: Mapping[str, Any]) -> None:
        """Raise ``ScopeRefused`` when the geography would single out other organisations."""
        if self.scope_org is None:
            return
        codes = set(self.matching(params)["org_code"])
        if isolates(codes, self.scope_org, self.min_others):
            raise ScopeRefused(_others(codes, self.scope_org), self.min_others)

    def run(self, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        params = dict(params or {})
        if self.scope_org is None:
            return self._runner.run(name, params)
        declared = get_query(name).params
        geography = {k: v for k, v in params.items() if k in GEOGRAPHY_PARAMS and k in declared}
        self.check(geography)
        result = self._runner.run(name, params)
        return self._drop_isolating_levels(result, params, geography)

    def _drop_isolating_levels(
        self, result: pd.DataFrame, params: Mapping[str, Any], geography: Mapping[str, Any]
    ) -> pd.DataFrame:
        if "level" not in result.columns or result.empty:
            return result
        if "dimension" in result.columns:
            dimension = result["dimension"]
        else:
            dimension = pd.Series(params.get("breakdown"), index=result.index)
        matched = self.matching(geography)
        drop = pd.Series(False, index=result.index)
        for name, column in GEOGRAPHY_LEVELS.items():
            rows = dimension == name
            if not rows.any():
                continue
            members = matched.groupby(column)["org_code"].agg(set).to_dict()
            levels = sorted(set(result.loc[rows, "level"]), key=lambda lv: len(members.get(lv, set())))
            hidden = [lv for lv in levels if isolates(members.get(lv, set()), self.scope_org, self.min_others)]
            if hidden:
                # The shown levels' sum subtracted from the total gives the hidden ones back: hide more levels,
                # smallest first, until the hidden ones together are not an isolating geography.
                together = set().union(*(members.get(lv, set()) for lv in hidden))
                for lv in levels:
                    if not isolates(together, self.scope_org, self.min_others):
                        break
                    if lv not in hidden:
                        hidden.append(lv)
                        together |= members.get(lv, set())
                drop |= rows & result["level"].isin(hidden)
        return result[~drop].reset_index(drop=True)


def scope_refusal(runner: Any, filters: Filters, scope_org: str | None, min_others: int | None = None) -> str | None:
    """The plain message when an employer's filters pick an isolating geography; None when they may be shown."""
    try:
        ScopeGuard(runner, scope_org, min_others).check(filters.params(set(GEOGRAPHY_PARAMS)))
    except ScopeRefused as refused:
        return str(refused)
    return None
