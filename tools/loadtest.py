"""``make loadtest``: many sessions on one server, an ingest mid-run, a killed server restarted.

Not part of ``make test``: it takes minutes and both cores. What it does:

1. Data: a database of about 1M cases (``tools.synth --scale 1000``, ingested), unless ``--db`` names one.
2. The real server (``python -m parity.serve``) on 127.0.0.1, on a free port, in local mode.
3. ``--sessions`` clients that speak Streamlit's own WebSocket protocol (the BackMsg/ForwardMsg
   protobufs the browser sends and receives; ``/_stcore/stream``), each moving through the pages,
   filters and drills of a script with a pause between steps, for ``--minutes``. Real browsers
   would measure the same server work but 50 Chromiums do not fit in two cores beside the server:
   the server cannot tell these clients from browsers, and the browser's own drawing is measured
   by the browser tests. A step's **draw time** is from sending the rerun to the server's
   "script finished" message: the server's whole work for that view.
4. Halfway, an ingest replaces the database under the open sessions (they must keep working).
5. At the end the server is killed (SIGKILL), restarted, and the audit log is checked intact.

An error is a script that raised (an exception element), a run that did not finish, a dropped
connection or a step slower than the timeout. Only ever 127.0.0.1; the number of sessions and the
time are bounded. The report is printed and written as JSON to ``test-output/loadtest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output"
MAX_SESSIONS, MAX_MINUTES = 200, 30
STEP_TIMEOUT_S = 300.0
RAMP_UP_S = 60.0  # sessions arrive over the first minute, as people do, not in one instant
READING_S = (5.0, 15.0)  # a person reads a page before the next step

# (page url path, query string): what a person moves through.
STEPS: list[tuple[str, dict[str, str]]] = [
    ("", {}),
    ("", {"by": "Ethnic minority vs White"}),
    ("concern-rates", {}),
    ("concern-rates", {"by": "Place of primary qualification", "profession": "Doctors"}),
    ("concern-rates", {"drill": "Black or Black British"}),
    ("outcomes", {}),
    ("outcomes", {"from": "2020/21", "drill": "Asian or Asian British"}),
    ("durations", {}),
    ("durations", {"by": "Ethnic minority vs White"}),
    ("organisation", {}),
    ("organisation", {"region": "London"}),
    ("data", {}),
]


@dataclass
class Tally:
    draws: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    after_ingest_draws: int = 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _start_server(db: Path, audit: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PARITY_DB_PATH": str(db), "PARITY_AUDIT_PATH": str(audit), "PARITY_VIEWER_ORG": ""}
    out = log.open("a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parity.serve", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"the server did not start; see {log}")


async def _session(port: int, steps: list[tuple[str, dict[str, str]]], until: float, tally: Tally,
                   ingested: asyncio.Event, seed: int, start_after: float = 0.0,
                   reading: tuple[float, float] = READING_S) -> None:  # fmt: skip
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    rng = random.Random(seed)
    origin = f"http://127.0.0.1:{port}"
    await asyncio.sleep(start_after)
    try:
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/_stcore/stream",
            subprotocols=["streamlit"],
            origin=origin,
            max_size=64 * 1024 * 1024,
            ping_interval=None,  # as a browser: it answers the server's pings but sends none of its own
            open_timeout=60,
        ) as ws:
            i = rng.randrange(len(steps)) if seed >= 0 else 0
            while time.monotonic() < until:
                page, query = steps[i % len(steps)]
                i += 1
                back = BackMsg()
                back.rerun_script.query_string = urlencode(query)
                back.rerun_script.page_name = page
                started = time.monotonic()
                await ws.send(back.SerializeToString())
                finished = False
                while not finished:
                    raw = await asyncio.wait_for(ws.recv(), timeout=STEP_TIMEOUT_S)
                    msg = ForwardMsg()
                    msg.ParseFromString(raw)
                    kind = msg.WhichOneof("type")
                    if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                        element = msg.delta.new_element
                        if element.WhichOneof("type") == "exception":
                            tally.errors.append(f"{page or 'overview'}: {element.exception.message[:200]}")
                    elif kind == "script_finished":
                        status = ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished)
                        if status == "FINISHED_WITH_COMPILE_ERROR":
                            tally.errors.append(f"{page or 'overview'}: {status}")
                        finished = status != "FINISHED_EARLY_FOR_RERUN"
                tally.draws.append(time.monotonic() - started)
                if ingested.is_set():
                    tally.after_ingest_draws += 1
                if seed < 0 and i >= len(steps):
                    return  # the warm-up: each step once
                await asyncio.sleep(rng.uniform(*reading))  # a person reading the page
    except (TimeoutError, OSError, websockets.ConnectionClosed) as exc:
        tally.errors.append(f"session dropped: {type(exc).__name__}: {exc}"[:200])


async def _run(port: int, sessions: int, seconds: float, pid: int, ingest: list[str]) -> dict:
    tally, ingested = Tally(), asyncio.Event()
    until = time.monotonic() + seconds
    samples: list[float] = []

    async def sample_memory() -> None:
        while time.monotonic() < until:
            samples.append(_rss_mb(pid))
            await asyncio.sleep(5)

    async def ingest_halfway() -> dict:
        await asyncio.sleep(seconds / 2)
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*ingest, cwd=ROOT, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.PIPE)  # fmt: skip
        _, err = await proc.communicate()
        ingested.set()
        took = round(time.monotonic() - started, 1)
        return {"status": proc.returncode, "seconds": took, "stderr": err.decode()[-300:]}

    clients = [
        asyncio.create_task(_session(port, STEPS, until, tally, ingested, seed=i, start_after=i * RAMP_UP_S / sessions))
        for i in range(sessions)
    ]
    memory = asyncio.create_task(sample_memory())
    reload = asyncio.create_task(ingest_halfway())
    await asyncio.gather(*clients, memory)
    return {"tally": tally, "memory": samples, "ingest": await reload}


def _ms(seconds: float) -> int | None:
    return None if seconds != seconds else round(seconds * 1000)  # NaN: no draw finished


def _percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def _prepare_db(work: Path) -> tuple[Path, Path]:
    export, db = work / "export", work / "parity.duckdb"
    print("Generating about 1M cases (tools.synth --scale 1000) and loading them ...", flush=True)
    subprocess.run([sys.executable, "-m", "tools.synth", "--out", str(export), "--seed", "2026", "--scale", "1000",
                    "--format", "parquet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    subprocess.run([sys.executable, "-m", "parity", "ingest", str(export), "--db", str(db)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return export, db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--db", type=Path, help="a built database (default: generate about 1M cases)")
    parser.add_argument("--export", type=Path, help="the export the mid-run ingest loads (default: the generated one)")
    args = parser.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS or not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--sessions 1..{MAX_SESSIONS} and --minutes up to {MAX_MINUTES}")
    OUTPUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="parity-loadtest-") as scratch:
        work = Path(scratch)
        if args.db:
            db = work / "parity.duckdb"
            subprocess.run(["cp", str(args.db), str(db)], check=True)
            export = args.export
        else:
            export, db = _prepare_db(work)
        with __import__("duckdb").connect(str(db), read_only=True) as con:
            cases = con.execute("SELECT count(*) FROM cases").fetchall()[0][0]
        audit, log, port = work / "audit.jsonl", OUTPUT / "loadtest-server.log", _free_port()
        log.write_text("")
        server = _start_server(db, audit, port, log)
        try:
            # Warm the caches with one session through every step once, then take the memory of one session.
            warm = Tally()
            asyncio.run(_session(port, STEPS, time.monotonic() + 600, warm, asyncio.Event(), seed=-1, reading=(0, 0)))
            baseline = _rss_mb(server.pid)
            print(f"warm-up: {len(warm.draws)} steps, {sum(warm.draws):.0f} s, errors {warm.errors}", flush=True)
            ingest = [sys.executable, "-m", "parity", "ingest", str(export), "--db", str(db)] if export else ["true"]
            print(f"{args.sessions} sessions for {args.minutes:g} min on {cases:,} cases ...", flush=True)
            result = asyncio.run(_run(port, args.sessions, args.minutes * 60, server.pid, ingest))
        finally:
            server.send_signal(signal.SIGKILL)  # killed, not stopped: the restart below must cope
            server.wait()
        from parity.audit import AuditLog

        before = AuditLog(audit).verify()
        restarted = _start_server(db, audit, port, log)
        try:
            asyncio.run(_run(port, 1, 8, restarted.pid, ["true"]))
        finally:
            restarted.terminate()
            restarted.wait(timeout=30)
        after = AuditLog(audit).verify()
    tally: Tally = result["tally"]
    loaded = statistics.median(result["memory"][len(result["memory"]) // 2 :]) if result["memory"] else float("nan")
    report = {
        "cases": cases,
        "sessions": args.sessions,
        "minutes": args.minutes,
        "draws": len(tally.draws),
        "errors": len(tally.errors),
        "first_errors": tally.errors[:10],
        "draw_p50_ms": _ms(_percentile(tally.draws, 50)),
        "draw_p95_ms": _ms(_percentile(tally.draws, 95)),
        "draw_max_ms": _ms(max(tally.draws, default=float("nan"))),
        "rss_one_session_mb": round(baseline),
        "rss_loaded_mb": None if loaded != loaded else round(loaded),
        "rss_per_session_mb": round((loaded - baseline) / max(args.sessions - 1, 1), 1),
        "ingest_mid_run": result["ingest"],
        "draws_after_ingest": tally.after_ingest_draws,
        "audit_after_kill": before.sentence(),
        "audit_after_restart": after.sentence(),
    }
    (OUTPUT / "loadtest.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    ok = not tally.errors and before.ok and after.ok and result["ingest"]["status"] in (0, 1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
