"""The summary CLI: its numbers equal an independent recomputation from the export files, and the
planted referral effects of the sample data are recovered."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from parity import contract
from parity.summary import main as summary_main

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
KEYS = [
    "group",
    "cases",
    "headcount",
    "rate",
    "rate_lower",
    "rate_upper",
    "rl",
    "rl_lower",
    "rl_upper",
    "in_band",
    "significant",
    "is_reference",
    "band",
]
ADJUSTED_KEYS = ["adj_rl", "adj_rl_lower", "adj_rl_upper"]


def run_summary(capsys: pytest.CaptureFixture, db: Path, *args: str) -> list[dict]:
    assert summary_main(["--db", str(db), "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def export() -> dict[str, pd.DataFrame]:
    read = {"keep_default_na": False, "dtype": str}
    cases = pd.read_csv(SAMPLE / "cases.csv.gz", **read)
    workforce = pd.read_csv(SAMPLE / "workforce.csv.gz", **read)
    workforce["headcount"] = workforce["headcount"].astype(int)
    referral = pd.to_datetime(cases["referral_date"])
    cases["fy"] = np.where(referral.dt.month >= 4, referral.dt.year, referral.dt.year - 1)
    workforce["fy"] = workforce["financial_year"].str[:4].astype(int)
    return {"cases": cases, "workforce": workforce}


def exact_or_byar(x: int, n: int) -> tuple[float, float]:
    """Written here from the textbook formulas, independently of parity.stats."""
    z = sps.norm.ppf(0.975)
    if x < 10:
        lower = sps.chi2.ppf(0.025, 2 * x) / 2 if x > 0 else 0.0
        upper = sps.chi2.ppf(0.975, 2 * x + 2) / 2
    else:
        lower = x * (1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
        upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return lower / n * 1000, upper / n * 1000


def recompute(export: dict[str, pd.DataFrame], label_of, reference: str, fy_from=None, profession=None) -> pd.DataFrame:
    cases, workforce = export["cases"], export["workforce"]
    if fy_from is not None:
        cases, workforce = cases[cases["fy"] >= fy_from], workforce[workforce["fy"] >= fy_from]
    if profession is not None:
        cases, workforce = cases[cases["profession"] == profession], workforce[workforce["profession"] == profession]
    counted = cases.assign(group=label_of(cases)).groupby("group").size().rename("cases")
    heads = workforce.assign(group=label_of(workforce)).groupby("group")["headcount"].sum()
    table = pd.concat([counted, heads], axis=1).fillna(0).astype(int).reset_index(names="group")
    ref = table.set_index("group").loc[reference]
    z = sps.norm.ppf(0.975)
    rows = []
    for r in table.itertuples(index=False):
        lo, hi = exact_or_byar(r.cases, r.headcount)
        rl = (r.cases / r.headcount) / (ref.cases / ref.headcount)
        se = math.sqrt(1 / r.cases - 1 / r.headcount + 1 / ref.cases - 1 / ref.headcount)
        rows.append(
            {
                "group": r.group,
                "cases": r.cases,
                "headcount": r.headcount,
                "rate": r.cases / r.headcount * 1000,
                "rate_lower": lo,
                "rate_upper": hi,
                "rl": rl,
                "rl_lower": rl * math.exp(-z * se),
                "rl_upper": rl * math.exp(z * se),
            }
        )
    return pd.DataFrame(rows).set_index("group")


def ethnic_group(frame: pd.DataFrame) -> pd.Series:
    return frame["ethnic_category"].map(contract.ETHNIC_GROUP_OF)


def pmq(frame: pd.DataFrame) -> pd.Series:
    return frame["pmq_region"].map(contract.PMQ_REGIONS)


@pytest.mark.parametrize(
    ("by", "label_of", "reference", "args", "fy_from", "profession"),
    [
        ("ethnic_group", ethnic_group, contract.WHITE, [], None, None),
        ("pmq_region", pmq, "UK graduate", ["--from", "2020/21", "--profession", "doctor"], 2020, "doctor"),
    ],
)
def test_summary_equals_independent_recomputation(
    capsys, sample_db, export, by, label_of, reference, args, fy_from, profession
):
    rows = run_summary(capsys, sample_db, "--by", by, *args)
    assert rows and all(list(r) == KEYS for r in rows)
    expected = recompute(export, label_of, reference, fy_from, profession)
    assert {r["group"] for r in rows} == set(expected.index)
    for row in rows:
        want = expected.loc[row["group"]]
        assert row["cases"] == want["cases"] and row["headcount"] == want["headcount"]
        for key in ("rate", "rate_lower", "rate_upper"):
            assert row[key] == pytest.approx(want[key], rel=1e-9), (row["group"], key)
        if row["is_reference"]:
            assert row["rl"] == 1 and row["group"] == reference
        else:
            for key in ("rl", "rl_lower", "rl_upper"):
                assert row[key] == pytest.approx(want[key], rel=1e-9), (row["group"], key)
            assert row["significant"] == (not (row["rl_lower"] <= 1 <= row["rl_upper"]))
            assert row["in_band"] == (0.8 <= row["rl"] <= 1.25)
            outside = row["rl_lower"] > 1.25 or row["rl_upper"] < 0.8
            within = row["rl_lower"] >= 0.8 and row["rl_upper"] <= 1.25
            assert row["band"] == ("outside" if outside else "within" if within else "inconclusive")


def referral_effects() -> list[dict]:
    effects = json.loads((SAMPLE / "effects.json").read_text())["effects"]
    return [e for e in effects if e["measure"] == "referral_rl" and not e.get("filters")]


@pytest.mark.parametrize("level", ["full", "protected"])
@pytest.mark.parametrize("effect", referral_effects(), ids=lambda e: e["id"])
def test_planted_referral_effect_is_recovered(capsys, sample_db, effect, level):
    # Protection must not bias a national figure beyond its rounding: the planted effects survive it.
    args = ["--level", level, "--by", effect["split"], "--reference", effect["reference"]]
    args += ["--from", effect["years"]["from"], "--to", effect["years"]["to"]]
    rows = {r["group"]: r for r in run_summary(capsys, sample_db, *args)}
    row = rows[effect["group"]]
    assert row["rl_lower"] <= effect["true_value"] <= row["rl_upper"], (effect["id"], row, effect["true_value"])


def test_text_output_and_errors(capsys, sample_db, tmp_path):
    assert summary_main(["--db", str(sample_db), "--by", "gender"]) == 0
    out = capsys.readouterr().out
    assert "relative likelihood against Male" in out and "rl_lower" in out
    assert summary_main(["--db", str(tmp_path / "none.duckdb"), "--by", "gender"]) == 2
    assert "python -m parity ingest" in capsys.readouterr().err
    assert summary_main(["--db", str(sample_db), "--by", "gender", "--reference", "Not stated"]) == 2
    assert "not a reference group" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        summary_main(["--db", str(sample_db), "--by", "gender", "--from", "2020-21"])


def test_sub_national_summary_is_disclosure_controlled(capsys, sample_db):
    # The CLI reads the file directly, so it is exact unless asked for the protected level (issue 9).
    rows = run_summary(capsys, sample_db, "--level", "protected", "--by", "ethnic_category", "--region", "Wales")
    counts = [r["cases"] for r in rows if r["cases"] is not None]
    assert all(c == 0 or (c > 7 and c % 5 == 0) for c in counts)
    assert any(r["cases"] is None and r["rate"] is None for r in rows)
    exact = run_summary(capsys, sample_db, "--by", "ethnic_category", "--region", "Wales")
    assert any(0 < r["cases"] <= 7 for r in exact) and all(r["cases"] is not None for r in exact)


def test_adjust_adds_exactly_the_adjusted_keys_and_narrows_the_black_white_gap(capsys, sample_db):
    rows = {r["group"]: r for r in run_summary(capsys, sample_db, "--by", "ethnic_group", "--adjust")}
    keys = KEYS[: KEYS.index("rl_upper") + 1] + ADJUSTED_KEYS + KEYS[KEYS.index("rl_upper") + 1 :]
    assert all(list(r) == keys for r in rows.values())
    white, black = rows[contract.WHITE], rows[contract.BLACK]
    assert white["adj_rl"] == 1 and white["adj_rl_lower"] is None
    # Place of qualification, profession, age and the rest explain part of the crude gap, not all of it.
    assert 1 < black["adj_rl_lower"] < black["adj_rl"] < black["adj_rl_upper"] < black["rl"]
    crude_only = {r["group"]: r for r in run_summary(capsys, sample_db, "--by", "ethnic_group")}
    assert all("adj_rl" not in r for r in crude_only.values())
    assert crude_only[contract.BLACK]["rl"] == black["rl"]


def test_adjust_for_narrows_the_set_and_equals_the_model_on_the_export(capsys, sample_db, export):
    """--adjust-for pmq_region: statsmodels' formula GLM on cells built from the export files independently."""
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    rows = {r["group"]: r for r in run_summary(capsys, sample_db, "--by", "ethnic_group", "--adjust-for", "pmq_region")}
    cases, workforce = export["cases"], export["workforce"]
    keys = ["ethnic_category", "pmq_region"]
    cells = pd.concat(
        [cases.groupby(keys).size().rename("cases"), workforce.groupby(keys)["headcount"].sum()], axis=1
    ).fillna(0)
    cells = cells.reset_index()
    cells["grp"] = ethnic_group(cells)
    cells = cells.groupby(["grp", "pmq_region"], as_index=False)[["cases", "headcount"]].sum()
    cells = cells[cells["headcount"] > 0]
    fit = smf.glm(
        "cases ~ C(grp, Treatment('White')) + C(pmq_region)",
        data=cells,
        offset=np.log(cells["headcount"]),
        family=sm.families.Poisson(),
    ).fit()
    phi = max(1.0, fit.pearson_chi2 / fit.df_resid)
    for group in (contract.BLACK, "Asian or Asian British"):
        name = f"C(grp, Treatment('White'))[T.{group}]"
        assert rows[group]["adj_rl"] == pytest.approx(math.exp(fit.params[name]), rel=1e-6)
        upper = math.exp(fit.params[name] + sps.norm.ppf(0.975) * fit.bse[name] * math.sqrt(phi))
        assert rows[group]["adj_rl_upper"] == pytest.approx(upper, rel=1e-6)


def test_adjust_for_refuses_an_unknown_characteristic(capsys, sample_db):
    with pytest.raises(SystemExit):
        summary_main(["--db", str(sample_db), "--by", "gender", "--adjust-for", "grade"])
    assert "invalid choice" in capsys.readouterr().err


def test_text_output_names_what_the_adjustment_holds_equal(capsys, sample_db):
    assert summary_main(["--db", str(sample_db), "--by", "pmq_region", "--adjust-for", "profession", "age_band"]) == 0
    out = capsys.readouterr().out
    assert "adjusted for profession and age band" in out and "adj_rl_upper" in out and "band" in out


def test_adjust_works_at_the_full_level(capsys, sample_db):
    rows = run_summary(capsys, sample_db, "--level", "full", "--by", "ethnic_group", "--adjust")
    rows = {r["group"]: r for r in rows}
    assert rows[contract.BLACK]["adj_rl"] is not None and rows[contract.BLACK]["adj_rl_lower"] is not None


@pytest.mark.parametrize("adjust", [["--adjust"], ["--adjust-for", "pmq_region"]])
def test_adjust_is_refused_at_the_protected_level_in_plain_words(capsys, sample_db, adjust):
    code = summary_main(["--db", str(sample_db), "--json", "--level", "protected", "--by", "ethnic_group", *adjust])
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--adjust works at --level full only" in captured.err and "protected" in captured.err


def test_protected_national_summary_rounds_every_count(capsys, sample_db):
    # At the protected level the rule holds for every cell, national ones too, and the rates come from the
    # protected counts: rate × headcount gives back the protected count, never an exact one.
    rows = run_summary(capsys, sample_db, "--level", "protected", "--by", "ethnic_group")
    for row in rows:
        assert row["cases"] % 5 == 0 and row["headcount"] % 5 == 0
        assert row["rate"] * row["headcount"] / 1000 == pytest.approx(row["cases"], rel=1e-9)


def test_an_unknown_viewer_level_stops_the_cli(capsys, monkeypatch, sample_db):
    from parity.__main__ import main as cli
    from parity.settings import get_settings

    monkeypatch.setenv("PARITY_VIEWER_LEVEL", "everything")
    get_settings.cache_clear()
    try:
        assert cli(["summary", "--db", str(sample_db), "--by", "gender"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert "PARITY_VIEWER_LEVEL" in err and "'everything' is not a viewer level" in err
