"""The one line a page starts with: ``ctx = ui.page_context()``.

It gives the page everything it needs to build its View and say what it shows: the sidebar's
selection, the cached query runner, the viewer (level and scope, from settings until sign-in supplies
it), the disclosure rule from settings, and the period and filters in words. In an employer view whose
filters would single out other organisations it says so and stops the page: no figure, chart or
download is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from parity.disclosure import Rule
from parity.filters import Filters
from parity.measures.scope import scope_refusal
from parity.ui import blocks, state
from parity.ui.data import CachedQueryRunner, cached_view, disclosure_rule, viewer
from parity.ui.drill import follow_organisation_drill
from parity.ui.state import Selection
from parity.viewer import Viewer

V = TypeVar("V")


@dataclass(frozen=True)
class PageContext:
    selection: Selection
    runner: CachedQueryRunner
    viewer: Viewer
    rule: Rule
    period: str  # the filters in words, e.g. "Doctors, 2020/21 to 2024/25, all regions"

    @property
    def scope_org(self) -> str | None:
        """An employer's own organisation (None: a national or analyst view)."""
        return self.viewer.org

    @property
    def filters(self) -> Filters:
        return self.selection.filters

    @property
    def split(self) -> str:
        return self.selection.split

    @property
    def reference(self) -> str:
        return self.selection.reference

    @property
    def split_phrase(self) -> str:
        return self.selection.split_phrase

    def view(self, measure: Callable[..., V], *args: Any, **kwargs: Any) -> V:
        """The page's View: ``measure(runner, *args, **kwargs)``, shared by every session that asks the same
        question of the same database (``ui.data.cached_view``)."""
        return cached_view(measure, self.runner, *args, **kwargs)


def page_context() -> PageContext:
    follow_organisation_drill()  # an organisation drill chosen on the last run opens the Organisation page
    chosen = state.selection()
    runner = CachedQueryRunner()
    ctx = PageContext(chosen, runner, viewer(), disclosure_rule(), chosen.filters.describe(state.org_names()))
    refusal = scope_refusal(runner, chosen.filters, ctx.scope_org)
    if refusal is not None:
        blocks.scope_refused(refusal)
    return ctx
