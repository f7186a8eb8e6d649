"""Who is looking: the viewer every measure is computed for (design §5).

A viewer has a **level** and an organisation **scope**. ``full`` (the national body's analysts) sees exact
numbers; ``protected`` (everyone else, and every export) sees the numbers of ``parity.disclosure``'s one rule.
The level is decided here and in settings, never by a page, a widget or a URL: the app builds its viewer from
settings (``parity.ui.viewer``) until sign-in supplies it, and the summary CLI from ``--level``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["full", "protected"]
LEVELS: tuple[str, ...] = ("full", "protected")


class UnknownLevel(ValueError):
    """A viewer level other than ``full`` or ``protected``: refused, never read as ``full``."""

    def __init__(self, value: object) -> None:
        super().__init__(f"unknown viewer level {value!r}: use 'full' (exact numbers) or 'protected'")


@dataclass(frozen=True)
class Viewer:
    """The level of the numbers a person sees and the organisation they are scoped to (None: every one)."""

    level: Level = "protected"
    org: str | None = None
    role: str = "local"
    user: str = "local user"

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise UnknownLevel(self.level)

    @property
    def protected(self) -> bool:
        """Whether numbers pass the disclosure rule (every cell, whatever narrows it)."""
        return self.level == "protected"


FULL = Viewer("full", role="analyst")
PROTECTED = Viewer("protected")
