"""``make bench``: how fast ingest, the queries, the figures and the pages in a browser are, at about 10k,
100k and 1M cases.

For each scale it generates data with ``tools.synth`` into a temporary folder, times the ingest in
a child process (wall time and peak memory of that process), then, in another child process, times
every query the summary CLI runs and each page's measures at both viewer levels, full and protected
(median of warm runs after one warm-up), with that process's peak memory. In a third child process
each page runs in Streamlit's AppTest
and every figure it builds is timed (building and writing its JSON) and weighed. Last, on the largest
scale, the browser section (``tools.bench_browser``): each page drawn in headless Chromium against
the real server, beside a bare Streamlit page with as many charts, and warm beside that page furnished with
the controls every chart page carries. The query child also makes one
meeting pack (the Trends View at the protected level, every chart drawn in Chromium, PowerPoint and PDF
written). The organisation profile is timed for the next organisation at each run (the comparator shared with
the one before, as when a person moves between organisations), for the first profile after a start (the server
has prepared the comparators for the filters the pages open on, as ``parity.serve`` does before its first visit),
and with nothing shared (the work the server's preparation does, for the record), and again on a copy of the
database whose every organisation is split into ten (``split_organisations``: 1,500 organisations, the same
cases). Goals are printed beside the numbers; nothing here is a test.
"""

from __future__ import annotations

import argparse
import itertools
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
from tools import bench_browser

INGEST_GOAL_S = 30.0
QUERY_GOAL_MS = 150.0
PAGE_GOAL_MS = 250.0
PROFILE_GOAL_MS = 250.0
ORG_PARTS = 10  # 150 synthetic organisations, each split into ten: 1,500
FIGURES_GOAL_MS = 100.0  # building (and writing the JSON of) all of one page's figures
FIGURE_GOAL_KB = 300.0  # the JSON of any one figure
PROTECTION_GOAL_PCT = 20.0  # protection adds at most this to a page's measure time (issue 9)
PACK_GOAL_S = 15.0  # the meeting pack: Trends View, every chart drawn in Chromium, PowerPoint and PDF written
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
    """Each page's View, as ``f(db, filters, split, reference, viewer=...)``: what a page runs per view."""
    from parity import measures

    views: dict[str, Callable] = {
        name: getattr(measures, attr)
        for name, attr in (
            ("overview", "overview_view"),
            ("concern-rates", "concern_rates_view"),
            ("outcomes", "outcomes_view"),
            ("durations", "durations_view"),
            ("organisation", "organisation_view"),
            ("pathways", "pathways_view"),
        )
    }
    # The Trends page has no split or reference: its indicators fix their own groups.
    views["trends"] = lambda db, filters, split, reference, viewer=None: measures.trends_view(
        db, filters, viewer=viewer
    )
    # The profile as a person meets it: a different organisation each run, the comparator (national Views and
    # counts by organisation) shared with the one before; and the first profile, with nothing shared.
    views["organisation profile"] = profile_of_next_organisation()
    views["organisation profile, first"] = profile_with_nothing_shared
    return views


def profile_of_first_organisation(db, filters, split, reference, viewer=None):
    """The Organisation page's profile for its first organisation (what an employer's page opens on)."""
    from parity import measures

    org = db.run("organisations_list", {"scope_org": None})["org_code"].iloc[0]
    return measures.profile_view(db, filters, split, reference, org=org, viewer=viewer)


def profile_of_next_organisation() -> Callable:
    """The Organisation page's profile for the next organisation at each call (cycling through them): what a
    person moving from one organisation to another, or the next employer, waits for."""
    state: dict[str, object] = {}

    def profile(db, filters, split, reference, viewer=None):
        from parity import measures

        if "orgs" not in state:
            state["orgs"] = itertools.cycle(list(db.run("organisations_list", {"scope_org": None})["org_code"]))
        return measures.profile_view(db, filters, split, reference, org=next(state["orgs"]), viewer=viewer)

    return profile


def profile_with_nothing_shared(db, filters, split, reference, viewer=None):
    """The first organisation's profile with no comparator computed yet (the first profile after a start)."""
    from parity.measures.profile import forget_comparators

    forget_comparators()
    return profile_of_first_organisation(db, filters, split, reference, viewer=viewer)


def first_profile_after_a_start(db, viewer, runs: int) -> float:  # type: ignore[no-untyped-def]
    """Median milliseconds of the first organisation's profile as an employer opening the Organisation page after a
    start waits for it: the server has prepared the comparators for the filters the pages open on
    (``parity.serve.prepare_profiles_of``, before it takes a visit; not timed), and nothing else is shared. One
    run first as a warm-up, as elsewhere."""
    from parity import measures
    from parity.measures.profile import forget_comparators
    from parity.serve import opening_question, prepare_profiles_of

    filters, split, reference, rule = opening_question(db)
    org = db.run("organisations_list", {"scope_org": None})["org_code"].iloc[0]
    times = []
    for _ in range(runs + 1):
        forget_comparators()
        prepare_profiles_of(db)
        start = time.perf_counter()
        measures.profile_view(db, filters, split, reference, org=org, viewer=viewer, rule=rule)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times[1:])


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
    from parity.viewer import FULL, PROTECTED

    def median_ms(fn: Callable[[], object]) -> float:
        fn()  # warm-up: the first run pays for loading columns
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times)

    results: dict[str, dict[str, float]] = {"summary": {}, "pages": {}, "pages_protected": {}}
    with QueryRunner(db_path) as db:
        filters = Filters()
        for split in contract.SPLITS:
            ref = default_reference(split)
            results["summary"][split] = median_ms(
                lambda s=split, r=ref: referral_summary(db, filters, s, r, viewer=FULL)
            )
        for name, view in page_views().items():
            for key, viewer in (("pages", FULL), ("pages_protected", PROTECTED)):
                results[key][name] = median_ms(
                    lambda v=view, w=viewer: v(db, filters, "ethnic_group", contract.WHITE, viewer=w)
                )
        results["pack"] = time_pack(db)
    if many_orgs is not None:
        with QueryRunner(many_orgs) as db:
            count = len(db.run("organisations_list", {"scope_org": None}))
            following = profile_of_next_organisation()
            results["profile_many"] = {
                "organisations": count,
                "ms": median_ms(lambda: following(db, Filters(), "ethnic_group", contract.WHITE, PROTECTED)),
                "first_ms": first_profile_after_a_start(db, PROTECTED, runs),
                "nothing_shared_ms": median_ms(
                    lambda: profile_with_nothing_shared(db, Filters(), "ethnic_group", contract.WHITE, PROTECTED)
                ),
            }
    results["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def time_profiles(db_paths: list[Path], runs: int) -> str:
    """The organisation profile alone on databases already built (``--profile``): the first profile after a start
    (nothing shared) and the next organisation's, at both viewer levels, medians of ``runs`` warm runs, against
    the goal."""
    from parity.db import QueryRunner
    from parity.filters import Filters
    from parity.viewer import FULL, PROTECTED

    lines = [
        f"{'organisation profile (median ms)':44s}{'first':>9s}{'next':>9s}{'nothing shared':>16s}"
        f"  goal {PROFILE_GOAL_MS:.0f} (first, next)"
    ]
    for path in db_paths:
        with QueryRunner(path) as db:
            count = len(db.run("organisations_list", {"scope_org": None}))
            for level, viewer in (("full", FULL), ("protected", PROTECTED)):
                following = profile_of_next_organisation()
                ms = {"first": first_profile_after_a_start(db, viewer, runs)}
                for label, fn in (("nothing shared", profile_with_nothing_shared), ("next", following)):
                    fn(db, Filters(), "ethnic_group", contract.WHITE, viewer)  # warm-up
                    times = []
                    for _ in range(runs):
                        start = time.perf_counter()
                        fn(db, Filters(), "ethnic_group", contract.WHITE, viewer)
                        times.append((time.perf_counter() - start) * 1000)
                    ms[label] = statistics.median(times)
                ok = ms["first"] <= PROFILE_GOAL_MS and ms["next"] <= PROFILE_GOAL_MS
                name = f"{path.name}, {count:,} orgs ({level})"
                lines.append(f"{name:44s}{ms['first']:9.0f}{ms['next']:9.0f}{ms['nothing shared']:16.0f}  {_mark(ok)}")
    return "\n".join(lines)


def time_pack(db) -> dict:  # type: ignore[no-untyped-def]
    """Seconds for one meeting pack, as ``python -m parity pack --pdf --level protected`` makes it (one run: it
    starts Chromium)."""
    import io

    from parity.disclosure import Rule
    from parity.export.images import chromium_problem
    from parity.export.meeting import build_pack
    from parity.export.pack import write_pdf, write_pptx
    from parity.filters import Filters
    from parity.measures import trends_view
    from parity.settings import get_settings
    from parity.viewer import PROTECTED

    browser = get_settings().chromium_path
    if chromium_problem(browser):
        return {"seconds": float("nan"), "slides": 0}
    start = time.perf_counter()
    view = trends_view(db, Filters(), viewer=PROTECTED)
    pack = build_pack(view, filters_text=Filters().describe(), rule=Rule(), browser=browser)
    write_pptx(pack, io.BytesIO())
    write_pdf(pack, io.BytesIO())
    return {"seconds": time.perf_counter() - start, "slides": 1 + len(pack.slides)}


# Page name (as the browser section names it) and the page's file.
PAGE_FILES: dict[str, str] = {
    "overview": "pages/overview.py",
    "concern-rates": "pages/concern_rates.py",
    "outcomes": "pages/outcomes.py",
    "durations": "pages/durations.py",
    "organisation": "pages/organisation.py",
    "trends": "pages/trends.py",
    "pathways": "pages/pathways.py",
    "data": "pages/data.py",
}


def time_figures(db_path: Path, runs: int) -> dict:
    """In this process: each page run in AppTest; per page its figures, the median milliseconds of building
    them (each ``parity.charts`` builder and the JSON of its figure), and the JSON of every chart the page
    sends (as Streamlit wrote it), in all and the largest."""
    import functools

    import plotly.io as pio
    from streamlit.testing.v1 import AppTest

    from parity import charts

    os.environ["PARITY_DB_PATH"] = str(db_path)
    os.environ.pop("PARITY_VIEWER_ORG", None)
    built: list[tuple[float, int]] = []

    def timed(builder: Callable) -> Callable:
        @functools.wraps(builder)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            figure = builder(*args, **kwargs)
            size = len(pio.to_json(figure, validate=False))
            built.append(((time.perf_counter() - start) * 1000, size))
            return figure

        return wrapper

    for name in charts.__all__:
        builder = getattr(charts, name)
        if callable(builder) and name.endswith(("_chart", "_plot", "_forest", "_heatmap", "_dots", "_panels")):
            setattr(charts, name, timed(builder))
    results: dict[str, dict[str, float]] = {}
    for page, path in PAGE_FILES.items():
        times = []
        for _ in range(runs + 1):  # the first run warms the caches
            app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            app.run()
            built.clear()
            app.switch_page(path).run()
            if app.exception:
                raise RuntimeError(f"{page}: {app.exception}")
            times.append(sum(ms for ms, _ in built))
        sizes = [len(chart.proto.spec) for chart in app.get("plotly_chart")]
        results[page] = {
            "figures": len(sizes),
            "ms": statistics.median(times[1:] or times),
            "kb": sum(sizes) / 1000,
            "largest_kb": max(sizes, default=0) / 1000,
        }
    return results


def bench_scale(scale: int, workdir: Path, runs: int) -> dict:
    data = workdir / f"scale{scale}"
    db = workdir / f"scale{scale}.duckdb"
    gen_s, _, _ = _run_child(
        ["-m", "tools.synth", "--out", str(data), "--seed", "1", "--scale", str(scale), "--format", "csv.gz"]
    )
    ingest_s, ingest_mb, _ = _run_child(["-m", "parity", "ingest", str(data), "--db", str(db)])
    many = workdir / f"scale{scale}_orgs{ORG_PARTS}.duckdb"
    split_organisations(db, many)
    _, query_mb, out = _run_child(
        ["-m", "tools.bench", "--time-queries", str(db), "--many-orgs", str(many), "--runs", str(runs)]
    )
    timings = json.loads(out.strip().splitlines()[-1])
    _, _, out = _run_child(["-m", "tools.bench", "--time-figures", str(db), "--runs", str(runs)])
    timings["figures"] = json.loads(out.strip().splitlines()[-1])
    from parity.db import QueryRunner

    with QueryRunner(db) as opened:
        rows = opened.run("table_rows").set_index("table_name")["rows"].to_dict()
    return {
        "scale": scale,
        "db": str(db),
        "rows": rows,
        "generate_s": gen_s,
        "ingest_s": ingest_s,
        "ingest_mb": ingest_mb,
        "query_mb": query_mb,
        **timings,
    }


def _mark(ok: bool) -> str:
    return "ok" if ok else "OVER"


def report(results: list[dict]) -> str:
    lines = ["Parity benchmark (median of warm runs; goals at about 1M cases)", ""]
    header = f"{'':40}" + "".join(f"{r['rows']['cases']:>14,} cases" for r in results)
    lines.append(header)

    def row(label: str, values: list[float], unit: str, goal: float | None) -> None:
        cells = "".join(f"{v:>17.1f} {unit:<2}" for v in values)
        label = label if len(label) <= 40 else label[:39] + "…"
        verdict = ""
        if goal is not None:
            verdict = f"   goal ≤ {goal:g} {unit}: {_mark(values[-1] <= goal)}"
        lines.append(f"{label:<40}{cells}{verdict}")

    row("generate data", [r["generate_s"] for r in results], "s", None)
    row("ingest (wall)", [r["ingest_s"] for r in results], "s", INGEST_GOAL_S)
    row("ingest peak memory", [r["ingest_mb"] for r in results], "MB", MEMORY_GOAL_MB)
    for split in contract.SPLITS:
        row(f"summary --by {split}", [r["summary"][split] for r in results], "ms", QUERY_GOAL_MS)
    for page in results[0]["pages"]:
        row(f"page {page} (full)", [r["pages"][page] for r in results], "ms", PAGE_GOAL_MS)
        row(f"page {page} (protected)", [r["pages_protected"][page] for r in results], "ms", PAGE_GOAL_MS)
        row(
            f"page {page} protection overhead",
            [(r["pages_protected"][page] / r["pages"][page] - 1) * 100 for r in results],
            "%",
            PROTECTION_GOAL_PCT,
        )
    slides = results[-1]["pack"]["slides"]
    row(f"meeting pack ({slides} slides, pptx + pdf)", [r["pack"]["seconds"] for r in results], "s", PACK_GOAL_S)
    many = results[-1]["profile_many"]["organisations"]
    row(
        f"organisation profile, {many:,} orgs (protected)",
        [r["profile_many"]["ms"] for r in results],
        "ms",
        PROFILE_GOAL_MS,
    )
    row(
        f"profile, first after a start, {many:,} orgs (protected)",
        [r["profile_many"]["first_ms"] for r in results],
        "ms",
        PROFILE_GOAL_MS,
    )
    row(
        f"profile, nothing shared, {many:,} orgs (protected)",
        [r["profile_many"]["nothing_shared_ms"] for r in results],
        "ms",
        None,
    )
    row("query process peak memory", [r["query_mb"] for r in results], "MB", MEMORY_GOAL_MB)
    for page in results[0]["figures"]:
        figures = results[-1]["figures"][page]["figures"]
        row(f"figures {page} ({figures}): build", [r["figures"][page]["ms"] for r in results], "ms", FIGURES_GOAL_MS)
        row(f"figures {page}: JSON in all", [r["figures"][page]["kb"] for r in results], "KB", None)
        row(f"figures {page}: largest JSON", [r["figures"][page]["largest_kb"] for r in results], "KB", FIGURE_GOAL_KB)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-browser", action="store_true", help="skip the browser section")
    parser.add_argument(
        "--browser-runs",
        type=bench_browser.at_least_one,
        default=7,
        help="warm visits per page in the browser (default 7: 6 or more give an interval)",
    )
    parser.add_argument(
        "--browser-starts",
        type=bench_browser.at_least_one,
        default=3,
        help="fresh server starts per page, a cold visit each (default 3)",
    )
    parser.add_argument("--browser-pages", nargs="+", choices=list(PAGE_FILES), help="only these pages in the browser")
    parser.add_argument(
        "--profile",
        type=Path,
        nargs="+",
        metavar="DB",
        help="only time the organisation profile (first and next, both levels) on these built databases",
    )
    parser.add_argument("--time-queries", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--many-orgs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--time-figures", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.profile:
        print(time_profiles(args.profile, args.runs))
        return 0
    if args.time_queries:
        print(json.dumps(time_queries(args.time_queries, args.runs, args.many_orgs)))
        return 0
    if args.time_figures:
        print(json.dumps(time_figures(args.time_figures, args.runs)))
        return 0

    with tempfile.TemporaryDirectory(prefix="parity-bench-") as tmp:
        results = []
        for scale in args.scales:
            print(f"scale {scale}: generating, loading, querying, building figures ...", file=sys.stderr, flush=True)
            results.append(bench_scale(scale, Path(tmp), args.runs))
        print(report(results))
        if args.no_browser:
            return 0
        if not bench_browser.CHROMIUM.exists():
            print(f"\nBrowser section skipped: {bench_browser.CHROMIUM} is missing (`make browser` installs it).")
            return 0
        largest = results[-1]
        print(f"\nAt {largest['rows']['cases']:,} cases. ", end="")
        print(
            bench_browser.report(
                bench_browser.run(
                    Path(largest["db"]),
                    pages=args.browser_pages,
                    runs=args.browser_runs,
                    starts=args.browser_starts,
                    log_dir=Path(tmp),
                )
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
