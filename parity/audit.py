"""The audit log: who saw what, append-only and hash-chained (design §5).

One JSON object per line: time (UTC), user, role, scope, event, page, filters, drill, detail, then
``prev`` (the hash of the line before; 64 zeros for the first) and ``hash`` (SHA-256 of ``prev``
and the line's own fields). The app can only add lines (``AuditLog.append``); nothing here edits or
deletes one. ``verify`` recomputes the chain: an edited line no longer matches its hash, a deleted
line breaks the next line's ``prev``, and a cut tail no longer matches the head file beside the log
(``<log>.head``: the number of lines and the last hash, replaced on every append).

The chain proves the log was not changed by anyone who cannot also rewrite every later line and
the head; shipping the head to another store now and then (the deployment guide says how) closes
that gap too. Appends from every session and every replica take an exclusive lock on the file.
No Streamlit here: the UI glue calls it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
FIELDS = ("time", "user", "role", "scope", "event", "page", "filters", "drill", "detail")
EVENTS = ("sign-in", "session", "sign-out", "refusal", "expired", "page-view", "download", "export")


def _digest(prev: str, record: dict[str, Any]) -> str:
    body = json.dumps({k: record[k] for k in FIELDS}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: ``ok`` when every line is intact and in place."""

    lines: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def sentence(self) -> str:
        if self.ok:
            return f"The audit log is intact: {self.lines:,} entries, each chained to the one before."
        return "The audit log has been changed: " + "; ".join(self.problems[:5]) + "."


class AuditLog:
    """An append-only, hash-chained JSON-lines file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[Any]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield f
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def _head(self) -> tuple[int, str]:
        try:
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(head["lines"]), str(head["hash"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return 0, GENESIS

    def append(
        self,
        *,
        user: str,
        role: str,
        scope: str,
        event: str,
        page: str = "",
        filters: dict[str, Any] | None = None,
        drill: str | None = None,
        detail: str = "",
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """Add one entry at the end of the chain and return it."""
        if event not in EVENTS:
            raise ValueError(f"unknown audit event {event!r}; one of {', '.join(EVENTS)}")
        record: dict[str, Any] = {
            "time": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
            "user": user,
            "role": role,
            "scope": scope,
            "event": event,
            "page": page,
            "filters": filters or {},
            "drill": drill,
            "detail": detail,
        }
        with self._locked() as f:
            lines, prev = self._head()
            last = self._last_hash(f)
            if last != prev:
                # the head is missing, or one behind after a crash between the line and the head:
                # chain on from the last line itself, never from a stale head
                lines, prev = self._count_and_last(f)
            record["prev"] = prev
            record["hash"] = _digest(prev, record)
            f.seek(0, os.SEEK_END)
            f.write((json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            head = self.head_path.with_name(f".{self.head_path.name}.{os.getpid()}")
            head.write_text(json.dumps({"lines": lines + 1, "hash": record["hash"]}), encoding="utf-8")
            os.replace(head, self.head_path)
        return record

    @classmethod
    def _last_hash(cls, f: Any) -> str:
        """The hash of the file's last line (GENESIS when empty), read from its end."""
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return GENESIS
        f.seek(max(0, size - 65536))
        tail = f.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        try:
            return str(json.loads(tail)["hash"])
        except (ValueError, KeyError, TypeError):
            return cls._count_and_last(f)[1]

    @staticmethod
    def _count_and_last(f: Any) -> tuple[int, str]:
        f.seek(0)
        count, last = 0, GENESIS
        for raw in f:
            if raw.strip():
                count += 1
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    last = json.loads(raw)["hash"]
        return count, last

    def read(self) -> list[dict[str, Any]]:
        """Every entry, oldest first (lines that are not JSON are skipped; ``verify`` reports them)."""
        entries = []
        with contextlib.suppress(FileNotFoundError), open(self.path, encoding="utf-8") as f:
            for raw in f:
                with contextlib.suppress(ValueError):
                    entry = json.loads(raw)
                    if isinstance(entry, dict):
                        entries.append(entry)
        return entries

    def verify(self) -> Verification:
        """Recompute the chain and compare its end with the head."""
        problems: list[str] = []
        prev, count, before_last = GENESIS, 0, ""
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                for number, raw in enumerate(f, start=1):
                    if not raw.strip():
                        problems.append(f"line {number} is blank")
                        continue
                    count += 1
                    try:
                        entry = json.loads(raw)
                        stated_prev, stated = entry["prev"], entry["hash"]
                        recomputed = _digest(stated_prev, entry)
                    except (ValueError, KeyError, TypeError):
                        problems.append(f"line {number} is not an audit entry")
                        prev = ""
                        continue
                    if stated_prev != prev:
                        problems.append(f"line {number} does not follow the line before it (one was removed or moved)")
                    if recomputed != stated:
                        problems.append(f"line {number} was edited after it was written")
                    before_last, prev = prev, stated
        except FileNotFoundError:
            pass
        head_lines, head_hash = self._head()
        if not self.head_path.exists():
            if count:
                problems.append(f"the head file {self.head_path.name} beside the log is missing")
        elif (head_lines, head_hash) != (count, prev) and not (head_lines == count - 1 and head_hash == before_last):
            # (one entry past the head is a crash between writing a line and its head: not a change)
            problems.append(
                f"the log ends after {count:,} entries but {head_lines:,} were written (entries were removed "
                "from the end, or the head file was changed)"
            )
        return Verification(count, problems)
