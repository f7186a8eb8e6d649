"""The audit log: append-only, hash-chained; any edited, deleted, moved or cut entry is detected."""

from __future__ import annotations

import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parity.audit import EVENTS, AuditLog


def write_some(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append(
            user=f"person{i}@example.org",
            role="analyst" if i % 2 else "employer",
            scope="all organisations" if i % 2 else "RJ1",
            event=EVENTS[i % len(EVENTS)],
            page="concern-rates",
            filters={"profession": ["doctor"], "from": "2022/23"},
            drill="Asian or Asian British" if i == 3 else None,
            detail=f"entry {i}",
            now=datetime(2026, 11, 29, 12, 0, i, tzinfo=UTC),
        )


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    log = AuditLog(tmp_path / "audit" / "audit.jsonl")
    write_some(log)
    return log


def lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_entries_carry_every_field_and_read_back(log: AuditLog):
    entries = log.read()
    assert len(entries) == 5
    assert entries[3]["drill"] == "Asian or Asian British"
    assert entries[0]["filters"] == {"profession": ["doctor"], "from": "2022/23"}
    assert entries[0]["time"] == "2026-11-29T12:00:00.000+00:00"
    assert set(entries[0]) == {
        "time", "user", "role", "scope", "event", "page", "filters", "drill", "detail", "prev", "hash"
    }  # fmt: skip
    assert entries[1]["prev"] == entries[0]["hash"]
    verification = log.verify()
    assert verification.ok and verification.lines == 5
    assert verification.sentence() == "The audit log is intact: 5 entries, each chained to the one before."


def test_an_edited_line_is_detected(log: AuditLog):
    text = lines(log)
    entry = json.loads(text[2])
    entry["user"] = "someone.else@example.org"  # rewrite who looked, keep the stored hash
    text[2] = json.dumps(entry, separators=(",", ":")) + "\n"
    log.path.write_text("".join(text), encoding="utf-8")
    result = log.verify()
    assert not result.ok
    assert result.problems == ["line 3 was edited after it was written"]


def test_a_deleted_line_is_detected(log: AuditLog):
    text = lines(log)
    del text[1]
    log.path.write_text("".join(text), encoding="utf-8")
    result = log.verify()
    assert "line 2 does not follow the line before it (one was removed or moved)" in result.problems
    assert not result.ok


def test_a_cut_tail_is_detected(log: AuditLog):
    log.path.write_text("".join(lines(log)[:-2]), encoding="utf-8")
    result = log.verify()
    assert result.problems == [
        "the log ends after 3 entries but 5 were written (entries were removed from the end, or the head file "
        "was changed)"
    ]


def test_swapped_lines_and_garbage_are_detected(log: AuditLog):
    text = lines(log)
    text[1], text[2] = text[2], text[1]
    log.path.write_text("".join(text) + "not json\n", encoding="utf-8")
    problems = log.verify().problems
    assert "line 2 does not follow the line before it (one was removed or moved)" in problems
    assert "line 6 is not an audit entry" in problems


def test_a_rehashed_edit_still_breaks_the_chain_after_it(log: AuditLog):
    """Recomputing the edited line's own hash is not enough: the next line points at the old one."""
    from parity.audit import _digest

    text = lines(log)
    entry = json.loads(text[1])
    entry["detail"] = "nothing to see"
    entry["hash"] = _digest(entry["prev"], entry)
    text[1] = json.dumps(entry, separators=(",", ":")) + "\n"
    log.path.write_text("".join(text), encoding="utf-8")
    assert log.verify().problems[0] == "line 3 does not follow the line before it (one was removed or moved)"


def test_missing_head_is_reported_and_appends_continue_the_chain(log: AuditLog):
    log.head_path.unlink()
    assert log.verify().problems == ["the head file audit.jsonl.head beside the log is missing"]
    write_some(log, 1)
    assert log.verify().ok and log.verify().lines == 6


def test_no_api_to_change_or_delete():
    public = {name for name in dir(AuditLog) if not name.startswith("_")}
    assert public == {"append", "read", "verify"}


def test_unknown_event_is_refused(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown audit event"):
        AuditLog(tmp_path / "a.jsonl").append(user="u", role="r", scope="s", event="delete-everything")


def test_an_empty_or_missing_log_verifies(tmp_path: Path):
    log = AuditLog(tmp_path / "none.jsonl")
    assert log.read() == [] and log.verify().ok and log.verify().lines == 0


def _append_many(path: str, who: str) -> None:
    log = AuditLog(path)
    for i in range(40):
        log.append(user=who, role="national", scope="all organisations", event="page-view", detail=str(i))


def test_appends_from_several_processes_keep_one_chain(tmp_path: Path):
    """Replicas share the file: the lock keeps every append whole and the chain single."""
    path = str(tmp_path / "shared.jsonl")
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_append_many, args=(path, f"p{i}")) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
        assert w.exitcode == 0
    log = AuditLog(path)
    assert log.verify().ok, log.verify().problems
    assert len(log.read()) == 160


def test_the_cli_checks_the_chain(log: AuditLog, capsys: pytest.CaptureFixture[str]):
    from parity.__main__ import main

    assert main(["audit", "--log", str(log.path)]) == 0
    assert "The audit log is intact: 5 entries" in capsys.readouterr().out
    log.path.write_text("".join(lines(log)[1:]), encoding="utf-8")
    assert main(["audit", "--log", str(log.path)]) == 1
    assert "The audit log has been changed: line 1 does not follow" in capsys.readouterr().out


def test_a_crash_between_the_line_and_its_head_is_not_a_change(log: AuditLog):
    """A server killed after writing an entry but before replacing the head: the log is intact, and the
    next append chains on from the last line, not from the stale head."""
    stale = log.head_path.read_text(encoding="utf-8")
    write_some(log, 1)
    log.head_path.write_text(stale, encoding="utf-8")  # the head as it was before the last entry
    assert log.verify().ok and log.verify().lines == 6
    write_some(log, 2)
    assert log.verify().ok and log.verify().lines == 8
    entries = log.read()
    assert all(b["prev"] == a["hash"] for a, b in zip(entries, entries[1:], strict=False))
