"""``make bench``: how fast ingest and the queries are at about 10k, 100k and 1M cases.

For each scale it generates data with ``tools.synth`` into a temporary folder, times the ingest in
a child process (wall time and peak memory of that process), then, in another child process, times
every query the summary CLI runs and each page's measures (median of warm runs after one warm-up)
with that process's peak memory. Goals are printed beside the numbers; nothing here is a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from parity import contract

INGEST_GOAL_S = 30.0
QUERY_GOAL_MS = 150.0
PAGE_GOAL_MS = 250.0
MEMORY_GOAL_MB = 2048.0
ROOT = Path(__file__).resolve().parent.parent  # the children run ``-m parity`` and ``-m tools`` from here


def _run_child(args: list[str]) -> tuple[float, float, str]:
    """Run a child Python process; return (wall seconds, peak RSS in MB, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{err}\n{out}")
    return wall, usage.ru_maxrss / 1024, out


def page_views() -> dict[str, Callable]:
    """Each page's measures, as ``f(db, filters, split, reference)``: what a page runs per view."""
    from parity import measures

    views: dict[str, Callable] = {
        "overview": lambda db, f, split, ref: (
            measures.referral_summary(db, f, split, ref),
            measures.referral_summary(db, f, "ethnic_minority", contract.WHITE),
            measures.referral_summary(db, f, "pmq_region", contract.PMQ_REGIONS["UK"]),
        ),
    }
    for name, attr in (("concern-rates", "concern_rates_view"), ("outcomes", "outcomes_view"),
                       ("durations", "durations_view"), ("organisation", "organisation_view"),
                       ("pathways", "pathways_view")):
        fn = getattr(measures, attr, None)
        if fn is not None:
            views[name] = fn
    return views


def time_queries(db_path: Path, runs: int) -> dict:
    """In this process: median warm milliseconds per summary split and per page view."""
    import resource

    from parity.db import QueryRunner
    from parity.filters import Filters
    from parity.measures import default_reference, referral_summary

    def median_ms(fn: Callable[[], object]) -> float:
        fn()  # warm-up: the first run pays for loading columns
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    results: dict[str, dict[str, float]] = {"summary": {}, "pages": {}}
    with QueryRunner(db_path) as db:
        filters = Filters()
        for split in contract.SPLITS:
            ref = default_reference(split)
            results["summary"][split] = median_ms(lambda s=split, r=ref: referral_summary(db, filters, s, r))
        for name, view in page_views().items():
            results["pages"][name] = median_ms(
                lambda v=view: v(db, filters, "ethnic_group", contract.WHITE)
            )
    results["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def bench_scale(scale: int, workdir: Path, runs: int) -> dict:
    data = workdir / f"scale{scale}"
    db = workdir / f"scale{scale}.duckdb"
    gen_s, _, _ = _run_child(["-m", "tools.synth", "--out", str(data), "--seed", "1", "--scale", str(scale),
                              "--format", "csv.gz"])
    ingest_s, ingest_mb, _ = _run_child(["-m", "parity", "ingest", str(data), "--db", str(db)])
    _, query_mb, out = _run_child(["-m", "tools.bench", "--time-queries", str(db), "--runs", str(runs)])
    timings = json.loads(out.strip().splitlines()[-1])
    from parity.db import QueryRunner

    with QueryRunner(db) as opened:
        rows = opened.run("table_rows").set_index("table_name")["rows"].to_dict()
    return {"scale": scale, "rows": rows, "generate_s": gen_s, "ingest_s": ingest_s, "ingest_mb": ingest_mb,
            "query_mb": query_mb, **timings}


def _mark(ok: bool) -> str:
    return "ok" if ok else "OVER"


def report(results: list[dict]) -> str:
    lines = ["Parity benchmark (median of warm runs; goals at about 1M cases)", ""]
    header = f"{'':40}" + "".join(f"{r['rows']['cases']:>14,} cases" for r in results)
    lines.append(header)

    def row(label: str, values: list[float], unit: str, goal: float | None) -> None:
        cells = "".join(f"{v:>17.1f} {unit:<2}" for v in values)
        verdict = ""
        if goal is not None:
            verdict = f"   goal < {goal:g} {unit}: {_mark(values[-1] < goal)}"
        lines.append(f"{label:<40}{cells}{verdict}")

    row("generate data", [r["generate_s"] for r in results], "s", None)
    row("ingest (wall)", [r["ingest_s"] for r in results], "s", INGEST_GOAL_S)
    row("ingest peak memory", [r["ingest_mb"] for r in results], "MB", MEMORY_GOAL_MB)
    for split in contract.SPLITS:
        row(f"summary --by {split}", [r["summary"][split] for r in results], "ms", QUERY_GOAL_MS)
    for page in results[0]["pages"]:
        row(f"page {page} (all its measures)", [r["pages"][page] for r in results], "ms", PAGE_GOAL_MS)
    row("query process peak memory", [r["query_mb"] for r in results], "MB", MEMORY_GOAL_MB)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--time-queries", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_queries:
        print(json.dumps(time_queries(args.time_queries, args.runs)))
        return 0
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        results = []
        for scale in args.scales:
            print(f"scale {scale}: generating, loading and querying ...", file=sys.stderr, flush=True)
            results.append(bench_scale(scale, Path(tmp), args.runs))
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
