"""The browser section of ``make bench``: how long each page takes to draw in headless Chromium.

For each page, against the real server (``python -m parity.serve``) on a given database: the time from navigation
until the script is idle, every Plotly chart has drawn and no widget is still a placeholder, cold (the first visit
after the server starts: median over ``starts`` fresh starts) and warm (a new visit in a new browser context,
median of ``runs``), and the bytes the page received over its websocket. Beside it, in the same run, the same
timings of the floor: a bare Streamlit page with the same number of Plotly charts (``tools/floor_app.py``), its
server started with the page's, its visits taken in turn with the page's (page, floor, furnished floor; the next
round floor, furnished floor, page; and so on), so that a machine busier for a minute slows both sides of a ratio
alike. Goals: warm ≤ 1.3× the floor, cold ≤ 1.5×, at most
1.5 MB received per page. Nothing here is a test; ``tests/test_bench.py`` only checks that it runs.

Each warm round also visits the furnished floor (the same page with the controls every chart page must carry:
filters, page links, a drill box, and each chart's data-table expander, downloads and method note; see
``tools/floor_app.py``). Two more warm ratios come of it: the furnished floor over the floor (what those
controls cost in Streamlit, before any of Parity's work) and the page over the furnished floor (what Parity's own
content costs beyond them). They explain the verdict; they do not change it, which is on the floor alone.

A ratio is the median of the paired ratios (each visit of the page over the floor's visit beside it), with its
95% confidence interval: distribution-free, from the order statistics (``scipy.stats.quantile_test``), so it
needs at least six pairs (``--runs 6``; three fresh starts give no interval for the cold ratio). The verdict is
worded as strongly as the intervals allow: "ok" where every interval (or, without one, the median) is within
its goal, "OVER" where one lies wholly above it, "unclear" where one spans it.
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tools.serving import CHROMIUM, CHROMIUM_ARGS, server

ROOT = Path(__file__).resolve().parent.parent
# Page name and URL path, as app.py routes them.
PAGES: dict[str, str] = {
    "overview": "",
    "concern-rates": "concern-rates",
    "outcomes": "outcomes",
    "durations": "durations",
    "organisation": "organisation",
    "trends": "trends",
    "pathways": "pathways",
    "data": "data",
}
WARM_GOAL, COLD_GOAL, BYTES_GOAL = 1.3, 1.5, 1.5e6

# True once the script has finished, every chart on the page has drawn its SVG and no element is still a
# placeholder (``stSkeleton``: a widget whose code has not arrived yet; at 1M cases the Durations page's were,
# for up to 0.8 s after its charts had drawn). The first time it is true, the time since navigation
# (performance.now()) is kept in window.__drawnAt.
_DRAWN = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  const idle = app && app.getAttribute("data-test-script-state") === "notRunning";
  const charts = document.querySelectorAll("[data-testid='stPlotlyChart']");
  const drawn = document.querySelectorAll(".js-plotly-plot .main-svg");
  const plots = document.querySelectorAll(".js-plotly-plot");
  const done = idle && charts.length > 0 && plots.length === charts.length
    && [...plots].every(p => p.querySelector(".main-svg"))
    && !document.querySelector("[data-testid='stSkeleton']");
  if (done && window.__drawnAt === undefined) window.__drawnAt = performance.now();
  if (!done) window.__drawnAt = undefined;
  return done ? {at: window.__drawnAt, charts: charts.length, drawn: drawn.length} : false;
}"""


@dataclass
class Timing:
    """One page's (or one floor's) visits: milliseconds to drawn and bytes received, per visit."""

    charts: int = 0
    cold_runs: list[float] = field(default_factory=list)
    cold_bytes: int = 0
    warm_ms: list[float] = field(default_factory=list)
    warm_bytes: list[int] = field(default_factory=list)

    @property
    def cold_ms(self) -> float:
        return statistics.median(self.cold_runs)

    @property
    def warm(self) -> float:
        return statistics.median(self.warm_ms)

    def add(self, visit: tuple[float, int, int], *, cold: bool) -> None:
        ms, received, self.charts = visit
        if cold:
            self.cold_runs.append(ms)
            self.cold_bytes = max(self.cold_bytes, received)
        else:
            self.warm_ms.append(ms)
            self.warm_bytes.append(received)

    @property
    def received(self) -> int:
        return max([self.cold_bytes, *self.warm_bytes])


@dataclass(frozen=True)
class Ratio:
    """A page's time over its floor's: the median of the paired ratios and its 95% interval (None: too few pairs)."""

    median: float
    interval: tuple[float, float] | None
    pairs: int

    def verdict(self, goal: float) -> str:
        """Within ("ok"), above ("OVER") or on either side of ("unclear") ``goal``, as far as the interval tells;
        without an interval, the median decides."""
        low, high = self.interval or (self.median, self.median)
        return "ok" if high <= goal else "OVER" if low > goal else "unclear"

    def shown(self) -> str:
        """The interval as the table prints it, or a dash where there are too few pairs for one."""
        return f"{self.interval[0]:.2f}–{self.interval[1]:.2f}" if self.interval else "–"


def paired_ratio(page_ms: list[float], floor_ms: list[float], level: float = 0.95) -> Ratio:
    """The median of ``page_ms[i] / floor_ms[i]`` (visits taken in turn) and its distribution-free interval at
    ``level``: the order statistics whose ranks cover the median with at least that probability (six pairs are the
    fewest that can give a 95% interval)."""
    if len(page_ms) != len(floor_ms) or not page_ms:
        raise ValueError(f"{len(page_ms)} page visits against {len(floor_ms)} of the floor: they must pair up")
    from scipy import stats  # here: ``tools.bench`` imports this module in its timing subprocesses too

    ratios = [page / floor for page, floor in zip(page_ms, floor_ms, strict=True)]
    middle = statistics.median(ratios)
    found = stats.quantile_test(ratios, q=middle, p=0.5).confidence_interval(confidence_level=level)
    interval = None if math.isnan(found.low) or math.isnan(found.high) else (float(found.low), float(found.high))
    return Ratio(middle, interval, len(ratios))


def visit(browser, url: str, timeout_ms: float) -> tuple[float, int, int]:
    """One new visit in a new browser context: (ms from navigation until drawn, bytes received, charts)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    received = [0]

    def on_websocket(ws) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    try:
        page = context.new_page()
        page.on("websocket", on_websocket)
        page.goto(url, wait_until="commit")
        while True:
            result = page.wait_for_function(_DRAWN, timeout=timeout_ms, polling="raf").json_value()
            # Still drawn, with the same charts, a moment later: not a pause between two runs of the script.
            page.wait_for_timeout(400)
            again = page.evaluate(_DRAWN)
            if again and again["at"] == result["at"] and again["charts"] == result["charts"]:
                return float(result["at"]), received[0], int(result["charts"])
    finally:
        context.close()


@dataclass
class Result:
    """One page's visits, its floor's and its furnished floor's (warm visits only), taken in turn."""

    page: Timing = field(default_factory=Timing)
    floor: Timing = field(default_factory=Timing)
    furnished: Timing = field(default_factory=Timing)


def run(
    db: Path,
    *,
    pages: list[str] | None = None,
    runs: int = 7,
    starts: int = 1,
    root: Path = ROOT,
    timeout_ms: float = 120_000,
    log_dir: Path | None = None,
) -> dict[str, Result]:
    """Each page, its floor and its furnished floor: {page: Result}. For each of ``starts`` fresh starts of both
    servers, the page's and the floor's first visits (cold); after the first start, ``runs`` warm rounds, each a
    visit of the page, the floor and the furnished floor in turn, each round starting one further along."""
    from playwright.sync_api import sync_playwright

    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="parity-bench-browser-"))
    results: dict[str, Result] = {}
    # A national view of ``db``, whatever this shell's settings say.
    env = {k: v for k, v in os.environ.items() if k != "PARITY_VIEWER_ORG"}
    parity_env = {**env, "PARITY_DB_PATH": str(db)}
    floor_cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "tools" / "floor_app.py")]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            for name in pages or list(PAGES):
                print(f"browser: {name} ...", file=sys.stderr, flush=True)
                result = Result()
                for start in range(starts):
                    logs = log_dir / f"{name}-{start}"
                    with (
                        server([sys.executable, "-m", "parity.serve"], parity_env, root, Path(f"{logs}.log")) as base,
                        server(floor_cmd, env, ROOT, Path(f"{logs}-floor.log")) as floor_base,
                    ):
                        url = f"{base}/{PAGES[name]}"
                        result.page.add(visit(browser, url, timeout_ms), cold=True)
                        floor_url = f"{floor_base}/?n={result.page.charts}"
                        result.floor.add(visit(browser, floor_url, timeout_ms), cold=True)
                        rounds = [
                            (result.page, url),
                            (result.floor, floor_url),
                            (result.furnished, f"{floor_url}&furnished=1"),
                        ]
                        for k in range(runs if start == 0 else 0):
                            # Each round starts one further along (page first, then the floor, then the furnished
                            # floor...): no visit always follows the same one, on the same server or the other.
                            for timing, address in rounds[k % 3 :] + rounds[: k % 3]:
                                timing.add(visit(browser, address, timeout_ms), cold=False)
                results[name] = result
        finally:
            browser.close()
    return results


def verdict(cold: Ratio, warm: Ratio, received: float) -> str:
    """The page's verdict on all three goals: OVER if any is clearly missed, ok if all are clearly met, else unclear."""
    verdicts = [cold.verdict(COLD_GOAL), warm.verdict(WARM_GOAL), "ok" if received <= BYTES_GOAL else "OVER"]
    return "OVER" if "OVER" in verdicts else "unclear" if "unclear" in verdicts else "ok"


def report(results: dict[str, Result]) -> str:
    """A table: per page, charts, cold and warm ms beside the floor's (medians), the paired ratios with their
    intervals, MB received and the verdict; then the furnished floor's warm ratios, which explain it."""
    lines = [
        f"Browser: ms from navigation until the script is idle, every chart has drawn and no widget is a "
        f"placeholder (medians: cold over "
        f"fresh starts, warm over visits); × is the median of the paired ratios to the floor, with its 95% "
        f"interval where there are enough pairs (6 or more); "
        f"goals warm ≤ {WARM_GOAL}× floor, cold ≤ {COLD_GOAL}×, ≤ {BYTES_GOAL / 1e6:g} MB received",
        "",
        f"{'page':<14}{'charts':>7}{'cold ms':>9}{'floor':>7}{'×':>6}{'95% CI':>11}{'warm ms':>9}{'floor':>7}{'×':>6}"
        f"{'95% CI':>11}{'MB recv':>9}  verdict",
    ]
    for name, result in results.items():
        page, floor = result.page, result.floor
        cold = paired_ratio(page.cold_runs, floor.cold_runs)
        warm = paired_ratio(page.warm_ms, floor.warm_ms)
        lines.append(
            f"{name:<14}{page.charts:>7}{page.cold_ms:>9.0f}{floor.cold_ms:>7.0f}{cold.median:>6.2f}{cold.shown():>11}"
            f"{page.warm:>9.0f}{floor.warm:>7.0f}{warm.median:>6.2f}{warm.shown():>11}"
            f"{page.received / 1e6:>9.2f}  {verdict(cold, warm, page.received)}"
        )
    lines += [
        "",
        "Warm, beside the furnished floor (the floor with the controls every chart page carries, drawn by Streamlit "
        "alone): what those controls cost, and what the page costs beyond them (× and 95% interval)",
        "",
        f"{'page':<14}{'furnished ms':>13}{'÷ floor':>9}{'95% CI':>11}{'page ÷ furnished':>18}{'95% CI':>11}",
    ]
    for name, result in results.items():
        furniture = paired_ratio(result.furnished.warm_ms, result.floor.warm_ms)
        content = paired_ratio(result.page.warm_ms, result.furnished.warm_ms)
        lines.append(
            f"{name:<14}{result.furnished.warm:>13.0f}{furniture.median:>9.2f}{furniture.shown():>11}"
            f"{content.median:>18.2f}{content.shown():>11}"
        )
    return "\n".join(lines)


def at_least_one(text: str) -> int:
    """An argparse type: a count of visits or starts, refused below 1 before any server starts."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too few: at least 1 (6 or more for an interval)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_browser", description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path, help="the database to serve")
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), help="only these pages")
    parser.add_argument(
        "--runs", type=at_least_one, default=7, help="warm visits per page (default 7; 6 or more give an interval)"
    )
    parser.add_argument(
        "--starts", type=at_least_one, default=3, help="fresh starts per page, one cold visit each (default 3)"
    )
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)  # another checkout's app
    args = parser.parse_args(argv)
    # Stopped from outside: unwind, so the servers it started are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(report(run(args.db, pages=args.pages, runs=args.runs, starts=args.starts, root=args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
