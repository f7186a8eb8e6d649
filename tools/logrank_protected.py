"""Would a log-rank test on the Durations page's protected life tables tell the truth? (issue 9; a dev tool, not
part of the app; nothing here is a test).

    PYTHONPATH=. .venv/bin/python -m tools.logrank_protected [--db FILE] [--orgs 30] [--permutations 20]

On the sample database (built from ``sample_data`` into a temporary file unless ``--db`` is given), for the
national view, doctors, London and the ``--orgs`` organisations with most cases, every split, and each measure
the page tests (referral to closure, exclusion and suspension episodes), each group the page shows at the
protected level is compared with the reference group twice:

- **exact**: the full level's test as the page runs it (``stats.logrank`` on the exact grouped durations);
- **protected**: the same log-rank statistic from the page's protected weekly life tables
  (``_protected_survival``, as drawn: two protected cumulative counts per week, isotonic fit), on the weeks
  that both tables have; closures observed and expected in each interval from the protected numbers at risk,
  those censored in it counted at risk for half of it as in the life table (``--at-start``: at risk for all of
  it). The grouped log-rank of ``parity.stats.significance`` does the sums.

It also rebuilds the life tables the page used before (weeks pooled until their closures could be shown; the
rows of the old ``_life_table_rows``, tested as the page then did) so the two designs are compared on the same
comparisons.

It counts the comparisons, those significant at 5% from protected counts and not from exact ones (and the other
way round), and how far the p-values are apart (|log10 of their ratio|). For calibration, where no difference
exists: the groups' cases are shuffled between the two groups of each comparison (``--permutations`` times,
record keys drawn afresh), and identical simulated groups are drawn (exponential closure times with a median
of 180 days, referrals spread over four years, as ``tests/test_durations_protected.py``); the share of tests
significant at 5% should then be close to 5%.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from parity import contract, stats
from parity.db import QueryRunner
from parity.disclosure import Rule, protect
from parity.filters import Filters
from parity.measures.common import checked_reference, run_split_query
from parity.measures.durations import LIFE_TABLE_DAYS, _protected_survival, _survival_by_group
from parity.stats.significance import _grouped_logrank
from parity.viewer import FULL, PROTECTED

ROOT = Path(__file__).resolve().parent.parent
ALPHA = 0.05
MEASURES = (("closure", "closed"), ("exclusion", "ended"), ("suspension", "ended"))


# --- Log-rank from two life tables -------------------------------------------------------------------


@dataclass(frozen=True)
class LifeTable:
    """A protected life table as the page draws it: the bounds (days), the number at risk at each bound, and the
    closures in the interval ending at each bound (0 at the first)."""

    bounds: np.ndarray
    at_risk: np.ndarray
    closures: np.ndarray

    @classmethod
    def from_curve(cls, curve: pd.DataFrame) -> LifeTable:
        return cls(*(curve[c].to_numpy(dtype=float) for c in ("days", "at_risk", "events")))

    def on(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """At risk at each of ``grid``'s bounds but the last (all of them bounds of this table), closures and the
        censored in each interval of ``grid`` (censored: the fall in the number at risk less the closures,
        unclipped, as in the page's life table)."""
        where = np.searchsorted(self.bounds, grid)
        closed_by = np.cumsum(self.closures)[where]
        at_risk = self.at_risk[where]
        closures = np.diff(closed_by)
        return at_risk[:-1], closures, at_risk[:-1] - at_risk[1:] - closures


def life_table_logrank(a: LifeTable, b: LifeTable, *, half_censored: bool = True) -> float:
    """The log-rank p-value of a against b from their life tables, over the intervals both have (the bounds the
    two share, up to the earlier end). Each interval's closures are set at its start and, with
    ``half_censored``, half of those censored in it leave just before them (the actuarial number at risk), the
    rest just after; what is still at risk at the last bound leaves after it. The sums are
    ``_grouped_logrank``'s (observed less expected, hypergeometric variance), which take the counts as
    frequency weights, whole or not (the fitted counts need not be whole, and rounding can make a censored
    count fall below 0)."""
    end = min(a.bounds[-1], b.bounds[-1])
    grid = np.intersect1d(a.bounds[a.bounds <= end], b.bounds[b.bounds <= end])
    if len(grid) < 2:
        return math.nan
    rows = []
    for table in (a, b):
        at_risk, closures, censored = table.on(grid)
        before = censored / 2 if half_censored else np.zeros_like(censored)
        start = grid[:-1] + 1.0  # times of 0 or more, a day apart within each interval
        remaining = table.at_risk[np.searchsorted(table.bounds, grid[-1])]
        times = np.concatenate((start - 0.5, start, start + 0.5, [grid[-1] + 1.5]))
        events = np.concatenate((np.zeros_like(start), np.ones_like(start), np.zeros_like(start), [0.0]))
        counts = np.concatenate((before, closures, censored - before, [remaining]))
        rows.append((times, events, counts))
    return _grouped_logrank(*rows[0], *rows[1]).p_value


# --- The life tables the page used before ------------------------------------------------------------


def pooled_rows(rows: pd.DataFrame, event: str, rule: Rule) -> pd.DataFrame:
    """The protected life table of the earlier design, as (days, event, n) rows (the old ``_life_table_rows``,
    commit 7d97fac^): from week 0, weeks pooled until the interval's closures and the number at risk after it
    could both be shown; each interval's closures protected with their own key and set at its middle day, the
    rest of the fall in the protected number at risk censored there."""
    days, ended = rows["days"].to_numpy(float), rows[event].to_numpy(bool)
    n, keys = rows["n"].to_numpy(float), rows["n_key"].to_numpy(float)
    week = np.floor(days / LIFE_TABLE_DAYS).astype(np.int64)
    weeks = int(week.max()) + 1 if len(week) else 0
    closures = np.bincount(week, weights=n * ended, minlength=weeks)
    closure_keys = np.bincount(week, weights=keys * ended, minlength=weeks)
    leaving = np.bincount(week, weights=n, minlength=weeks)
    leaving_keys = np.bincount(week, weights=keys, minlength=weeks)
    at_risk = n.sum() - np.concatenate(([0.0], np.cumsum(leaving)))
    at_risk_keys = keys.sum() - np.concatenate(([0.0], np.cumsum(leaving_keys)))
    shown_at_risk = protect(at_risk, at_risk_keys, rule).tolist()

    def hidden(count: float) -> bool:
        return 0 < count <= rule.suppress_max

    intervals, stop_at, start = [], None, 0
    while start < weeks:
        end, pooled, pooled_key = start, closures[start], closure_keys[start]
        while (hidden(pooled) or hidden(at_risk[end + 1])) and end + 1 < weeks:
            end += 1
            pooled, pooled_key = pooled + closures[end], pooled_key + closure_keys[end]
        if hidden(pooled) or (end + 1 == weeks and hidden(at_risk[start] - pooled)):
            stop_at = start
            break
        intervals.append((start, end, pooled, pooled_key))
        start = end + 1
    shown_closures = protect([i[2] for i in intervals], [i[3] for i in intervals], rule).tolist()
    out: list[tuple[float, bool, float]] = []
    for (start, end, _, _), closed in zip(intervals, shown_closures, strict=True):
        entering = shown_at_risk[start]
        if not entering > 0:
            break
        closed = min(closed, entering)
        following = shown_at_risk[end + 1] if end + 1 < weeks else 0.0
        following = min(following, entering - closed) if following > 0 else 0.0
        if following <= rule.suppress_max:
            following = 0.0
        shown_at_risk[end + 1] = following
        day = float((start + end + 1) * LIFE_TABLE_DAYS // 2)
        out += [(day, True, closed), (day, False, entering - closed - following)]
        if following == 0.0:
            break
    else:
        if stop_at is not None and shown_at_risk[stop_at] > 0:
            out.append((float(stop_at * LIFE_TABLE_DAYS), False, shown_at_risk[stop_at]))
    table = pd.DataFrame(out, columns=["days", event, "n"])
    return table[table["n"] > 0].reset_index(drop=True)


def rows_logrank(a: pd.DataFrame, b: pd.DataFrame, event: str) -> float:
    """The log-rank p-value of two groups' (days, event, n) rows (the page's full-level call)."""
    if a.empty or b.empty:
        return math.nan
    return stats.logrank(
        a["days"], a[event].astype(float), b["days"], b[event].astype(float), weights_a=a["n"], weights_b=b["n"]
    ).p_value


# --- The comparisons on the sample data ---------------------------------------------------------------


def views(db: Path, orgs: int) -> list[tuple[str, Filters]]:
    """The national view, doctors, London, and the ``orgs`` organisations with most cases."""
    with duckdb.connect(str(db), read_only=True) as con:
        largest = con.execute(
            "SELECT org_code FROM cases GROUP BY org_code ORDER BY count(*) DESC, org_code LIMIT ?", [orgs]
        ).fetchall()
    found = [
        ("national", Filters()),
        ("doctors", Filters(professions=("doctor",))),
        ("London", Filters(regions=("London",))),
    ]
    return found + [(f"org {code}", Filters(orgs=(code,))) for (code,) in largest]


def comparisons(runner: QueryRunner, chosen: list[tuple[str, Filters]], rule: Rule) -> Iterator[dict]:
    """One record per group shown at the protected level with a reference shown too: view, split, measure, group,
    sizes, and the exact, protected (half-censored and at-start) and old pooled-table p-values; and the two
    groups' exact rows, for the permutations."""
    for view, filters in chosen:
        for split in contract.SPLITS:
            reference = checked_reference(split, None)
            closures = run_split_query(runner, "durations_by_group", filters, split, breakdown="none")
            stints = run_split_query(runner, "exclusions_by_group", filters, split, breakdown="none")
            for measure, event in MEASURES:
                rows = closures if measure == "closure" else stints[stints["stage"] == measure]
                if rows.empty or reference not in set(rows["grp"]):
                    continue
                exact, _ = _survival_by_group(rows, event, [], split, reference, test=True, viewer=FULL, rule=rule)
                shown, curves = _survival_by_group(
                    rows, event, [], split, reference, test=False, viewer=PROTECTED, rule=rule
                )
                if curves.empty or reference not in set(curves["group"]):
                    continue
                tables = {g: LifeTable.from_curve(c) for g, c in curves.groupby("group")}
                ref_rows = rows[rows["grp"] == reference]
                old_ref = pooled_rows(ref_rows, event, rule)
                p_exact = exact.set_index("group")["p_value"]
                for group in tables:
                    if group == reference:
                        continue
                    own = rows[rows["grp"] == group]
                    yield {
                        "view": view,
                        "split": split,
                        "measure": measure,
                        "group": group,
                        "n": int(own["n"].sum()),
                        "n_reference": int(ref_rows["n"].sum()),
                        "exact": float(p_exact[group]),
                        "protected": life_table_logrank(tables[group], tables[reference]),
                        "protected_at_start": life_table_logrank(tables[group], tables[reference], half_censored=False),
                        "old": rows_logrank(pooled_rows(own, event, rule), old_ref, event),
                        "_rows": (own, ref_rows, event),
                    }


def agreement(found: pd.DataFrame, column: str) -> dict[str, float]:
    """How ``column``'s p-values agree with the exact ones, on the comparisons where both were computed."""
    both = found.dropna(subset=["exact", column])
    both = both[(both["exact"] > 0) & (both[column] > 0)]
    exact, other = both["exact"] < ALPHA, both[column] < ALPHA
    log_ratio = np.abs(np.log10(both[column] / both["exact"]))
    return {
        "comparisons": len(both),
        "significant: exact": int(exact.sum()),
        "protected": int(other.sum()),
        "protected, not exact": int((other & ~exact).sum()),
        "exact, not protected": int((exact & ~other).sum()),
        "|log10 p ratio| median": float(log_ratio.median()),
        "90th centile": float(log_ratio.quantile(0.9)),
        "Spearman r": float(both["exact"].corr(both[column], method="spearman")),
    }


# --- Calibration: no difference between the groups ----------------------------------------------------


def cases_of(rows: pd.DataFrame, event: str) -> tuple[np.ndarray, np.ndarray]:
    """One entry per case from (days, event, n) rows."""
    n = rows["n"].to_numpy(dtype=np.int64)
    return np.repeat(rows["days"].to_numpy(float), n), np.repeat(rows[event].to_numpy(bool), n)


def grouped(days: np.ndarray, ended: np.ndarray, keys: np.ndarray, event: str) -> pd.DataFrame:
    """Cases back to the queries' (days, event, n, n_key) rows."""
    cases = pd.DataFrame({"days": days, event: ended, "n": 1, "n_key": keys})
    return cases.groupby(["days", event], as_index=False)[["n", "n_key"]].sum()


def null_pair(
    rng: np.random.Generator, a: pd.DataFrame, b: pd.DataFrame, event: str, rule: Rule
) -> tuple[float, float, float]:
    """The exact, protected and old-table p-values of two groups of a's and b's sizes drawn, without
    replacement, from their pooled cases: no true difference. NaN where the page would show no curve."""
    days, ended = (np.concatenate(p) for p in zip(cases_of(a, event), cases_of(b, event), strict=True))
    order = rng.permutation(len(days))
    keys = rng.integers(0, contract.RECORD_KEYS, len(days))
    split = int(a["n"].sum())
    parts = [grouped(days[i], ended[i], keys[i], event) for i in (order[:split], order[split:])]
    return pair_p_values(parts[0], parts[1], event, rule)


def pair_p_values(a: pd.DataFrame, b: pd.DataFrame, event: str, rule: Rule) -> tuple[float, float, float]:
    exact = rows_logrank(a, b, event)
    if min(a["n"].sum(), b["n"].sum()) <= rule.suppress_max:
        return exact, math.nan, math.nan
    found = [_protected_survival(part, event, rule) for part in (a, b)]
    if any(f is None for f in found):
        return exact, math.nan, math.nan
    tables = [LifeTable.from_curve(curve) for _, curve in found]
    old = rows_logrank(pooled_rows(a, event, rule), pooled_rows(b, event, rule), event)
    return exact, life_table_logrank(*tables), old


def simulated_group(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """n cases whose closure times are exponential with a median of 180 days, censored at the extract date with
    referrals spread evenly over four years, record keys 0 to 255 (as tests/test_durations_protected.py)."""
    closes = rng.exponential(180 / math.log(2), n)
    followed = rng.uniform(0, 1461, n)
    return grouped(
        np.floor(np.minimum(closes, followed)), closes <= followed, rng.integers(0, contract.RECORD_KEYS, n), "closed"
    )


def false_positives(p_values: pd.DataFrame) -> dict[str, str]:
    """The share significant at 5% of each kind of test, with its Wilson 95% interval."""
    out = {}
    for column in ("exact", "protected", "old"):
        p = p_values[column].dropna()
        hits = int((p < ALPHA).sum())
        if not len(p):
            out[column] = "-"
            continue
        lower, upper = stats.wilson_interval(hits, len(p))
        out[column] = f"{hits}/{len(p)} = {hits / len(p):.1%} (95% CI {lower:.1%} to {upper:.1%})"
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a sample database (default: sample_data ingested into a temp file)")
    parser.add_argument("--orgs", type=int, default=30, help="organisations, those with most cases (default 30)")
    parser.add_argument("--permutations", type=int, default=20, help="label shuffles per comparison (default 20)")
    parser.add_argument("--simulations", type=int, default=500, help="simulated pairs per size (default 500)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    rule, rng = Rule(), np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as folder:
        db = args.db
        if db is None:
            from parity.ingest import ingest

            db = Path(folder) / "sample.duckdb"
            result = ingest(ROOT / "sample_data", db)
            if result.status != 0:
                raise SystemExit(f"ingest failed: {result}")
        runner = QueryRunner(db)
        found = list(comparisons(runner, views(db, args.orgs), rule))
    table = pd.DataFrame(found)
    print(
        f"Groups compared with the reference at the protected level: {len(table)} ({table['view'].nunique()} views, "
        f"{table['split'].nunique()} splits; by measure: {table.groupby('measure').size().to_dict()})"
    )
    untested = table["protected"].isna() & table["exact"].notna()
    print(f"  no protected test possible (no closure shown where both tables run): {int(untested.sum())}")
    common = table.dropna(subset=["exact", "protected", "old"])
    for label, part in (("each on its own comparisons", table), ("on the comparisons all three have", common)):
        print(f"\nExact p-values against those from protected life tables, {label}:")
        for column in ("protected", "protected_at_start", "old"):
            found = agreement(part, column)
            print(
                f"  {column}: "
                + "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in found.items())
            )
    both = table.dropna(subset=["exact", "protected"])
    sizes = pd.cut(both["n"], [0, 30, 100, math.inf], labels=["up to 30", "31 to 100", "over 100"])
    print("\nExact against protected life tables, by the size of the group compared:")
    for size, part in both.groupby(sizes, observed=True):
        found = agreement(part, "protected")
        print(
            f"  {size}: "
            + "; ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in list(found.items())[:6])
        )
    wide = (both["exact"] < 0.01) & (both["protected"] > 0.1) | (both["protected"] < 0.01) & (both["exact"] > 0.1)
    print(f"  far apart (one p below 0.01, the other above 0.1): {int(wide.sum())}")
    # Calibration: shuffled labels within each comparison, and identical simulated groups.
    shuffled = [null_pair(rng, a, b, event, rule) for a, b, event in table["_rows"] for _ in range(args.permutations)]
    shuffled = pd.DataFrame(shuffled, columns=["exact", "protected", "old"])
    sizes = np.repeat(table["n"].to_numpy(), args.permutations)
    print(f"\nNo true difference: labels shuffled {args.permutations} times in each comparison; significant at 5%:")
    bands = pd.cut(sizes, [0, 30, 100, math.inf], labels=["up to 30", "31 to 100", "over 100"])
    for label, part in [("all", shuffled), *shuffled.groupby(bands, observed=True)]:
        print(f"  {label}: " + "; ".join(f"{k} {v}" for k, v in false_positives(part).items()))
    print(f"\nNo true difference: simulated identical groups ({args.simulations} pairs per size)")
    for n, n_reference in ((20, 1000), (50, 1000), (100, 1000), (300, 3000), (50, 50), (200, 200)):
        pairs = [
            pair_p_values(simulated_group(rng, n), simulated_group(rng, n_reference), "closed", rule)
            for _ in range(args.simulations)
        ]
        found = false_positives(pd.DataFrame(pairs, columns=["exact", "protected", "old"]))
        print(f"  {n} vs {n_reference}: " + "; ".join(f"{k} {v}" for k, v in found.items()))


if __name__ == "__main__":
    main()
