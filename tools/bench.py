"""``make bench``: how fast ingest and the queries are at about 10k, 100k and 1M cases.

For each scale it generates data with ``tools.synth`` into a temporary folder, times the ingest in
a child process (wall time and peak memory of that process), then, in another child process, times
every query the summary CLI runs and each page's measures (median of warm runs after one warm-up)
with that process's peak memory. The organisation profile is timed again on a copy of the database
whose every organisation is split into ten (``split_organisations``: 1,500 organisations, the same
cases), as an employer's profile must stay quick with many organisations to range over. Goals are
printed beside the numbers; nothing here is a test.
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
PROFILE_GOAL_MS = 250.0
ORG_PARTS = 10  # 150 synthetic organisations, each split into ten: 1,500
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
                       ("durations", "durations_view"), ("organisation", "organisation_view")):
        fn = getattr(measures, attr, None)
        if fn is not None:
            views[name] = fn
    views["organisation profile"] = profile_of_first_organisation
    return views


def profile_of_first_organisation(db, filters, split, reference):
    """The Organisation page's profile for its first organisation (what an employer's page opens on)."""
    from parity import measures

    org = db.run("organisations_list", {"scope_org": None})["org_code"].iloc[0]
    return measures.profile_view(db, filters, split, reference, org=org)


def split_organisations(source: Path, target: Path, parts: int = ORG_PARTS) -> None:
    """A copy of a built database whose every organisation is split into ``parts``: each case goes to one part
    (by a hash of its id) and each workforce cell's headcount is shared out between the parts."""
    import duckdb

    from parity.ingest.build import MACROS

    with duckdb.connect(str(target)) as con:
        con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")  # our own temporary file, never input
        con.execute(
            "CREATE TABLE organisations AS SELECT org_code || '-' || k AS org_code, org_name || ' ' || k AS org_name,"
            " org_type, region FROM src.organisations, range($parts) AS t(k)",
            {"parts": parts},
        )
        con.execute(
            "CREATE TABLE workforce AS SELECT * REPLACE (org_code || '-' || k AS org_code,"
            " (headcount // $parts + CASE WHEN k < headcount % $parts THEN 1 ELSE 0 END)::BIGINT AS headcount)"
            " FROM src.workforce, range($parts) AS t(k)"
            " WHERE headcount // $parts + CASE WHEN k < headcount % $parts THEN 1 ELSE 0 END > 0",
            {"parts": parts},
        )
        con.execute(
            "CREATE TABLE cases AS SELECT * REPLACE (org_code || '-' || (hash(case_id) % $parts) AS org_code)"
            " FROM src.cases",
            {"parts": parts},
        )
        for table in ("case_events", "meta", "load_summary", "rejects"):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM src.{table}")
        con.execute("DETACH src")
        con.execute(MACROS.read_text(encoding="utf-8"))


def time_queries(db_path: Path, runs: int, many_orgs: Path | None = None) -> dict:
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
    if many_orgs is not None:
        with QueryRunner(many_orgs) as db:
            count = len(db.run("organisations_list", {"scope_org": None}))
            results["profile_many"] = {
                "organisations": count,
                "ms": median_ms(lambda: profile_of_first_organisation(db, Filters(), "ethnic_group", contract.WHITE)),
            }
    results["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def bench_scale(scale: int, workdir: Path, runs: int) -> dict:
    data = workdir / f"scale{scale}"
    db = workdir / f"scale{scale}.duckdb"
    gen_s, _, _ = _run_child(["-m", "tools.synth", "--out", str(data), "--seed", "1", "--scale", str(scale),
                              "--format", "csv.gz"])
    ingest_s, ingest_mb, _ = _run_child(["-m", "parity", "ingest", str(data), "--db", str(db)])
    many = workdir / f"scale{scale}_orgs{ORG_PARTS}.duckdb"
    split_organisations(db, many)
    _, query_mb, out = _run_child(
        ["-m", "tools.bench", "--time-queries", str(db), "--many-orgs", str(many), "--runs", str(runs)]
    )
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
    many = results[-1]["profile_many"]["organisations"]
    row(f"organisation profile, {many:,} orgs", [r["profile_many"]["ms"] for r in results], "ms", PROFILE_GOAL_MS)
    row("query process peak memory", [r["query_mb"] for r in results], "MB", MEMORY_GOAL_MB)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--time-queries", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--many-orgs", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.time_queries:
        print(json.dumps(time_queries(args.time_queries, args.runs, args.many_orgs)))
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
