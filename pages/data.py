"""Data and methods: what is loaded, what was rejected and why, how complete the data is, and how
every number is computed.

Queries: table_rows, load_meta, financial_years, load_summary, rejects, data_quality_by_year. The cases the
rates leave out come from parity.measures.uncovered_cases, as on the rate pages.
"""

import pandas as pd
import streamlit as st

from parity import charts, contract, formats, ui, wording
from parity.disclosure import round_count
from parity.measures import protect_counts, uncovered_cases
from parity.ui import trail
from parity.ui.opening import QUALITY_FILTERS

ctx = ui.page_context()
protected = ctx.viewer.protected

ui.page_header(
    "Data and methods",
    "What Parity has loaded, what it turned away at the last load, how complete the ethnicity and "
    "qualification data are, and how each figure is computed.",
    ctx.selection,
)

rows = ui.run_query("table_rows").set_index("table_name")["rows"]
meta = ui.run_query("load_meta").set_index("key")["value"]
# The years are the parts of the whole period: one hidden year's count forces a second.
years = ui.run_query("financial_years")
years = protect_counts(years, ["cases", "headcount"], viewer=ctx.viewer, rule=ctx.rule)

st.subheader("What is loaded")
cols = st.columns(4)


def _count(n: int) -> float:
    return round_count(n, ctx.rule) if protected else n


cols[0].metric("Cases", formats.int0(_count(rows.get("cases", 0))))
cols[1].metric("Pathway events", formats.int0(_count(rows.get("case_events", 0))))
cols[2].metric("Organisations", formats.int0(rows.get("organisations", 0)))
cols[3].metric("Extract date", str(meta.get("extract_date", "not recorded")))
if not years.empty:
    st.markdown(
        f"Financial years **{years['financial_year'].iloc[0]} to {years['financial_year'].iloc[-1]}**; "
        f"workforce: {formats.int0(rows.get('workforce', 0))} rows (one per non-empty cell). "
        "Open cases are censored at the extract date."
    )
    # A few rows read at a glance: a plain table, not the data grid (ui.plain_table says why).
    ui.plain_table(
        pd.DataFrame(
            {
                "Financial year": years["financial_year"],
                "Cases referred": years["cases"].map(formats.int0),
                "Practitioner headcount": years["headcount"].map(formats.int0),
            }
        )
    )

st.subheader("Rows rejected at the last load")
# Rows of the export are cases and workforce cells: their counts follow the rule too (rounding: rows carry no
# cell key here).
load = protect_counts(
    ui.run_query("load_summary"),
    ["rows_read", "rows_loaded", "rows_rejected"],
    viewer=ctx.viewer,
    rule=ctx.rule,
    wholes_within=(),
).drop(columns="suppressed")
rejects = ui.run_query("rejects")
shown_counts = {"rows_read": "Rows read", "rows_loaded": "Loaded", "rows_rejected": "Rejected"}
ui.plain_table(
    load.assign(**{c: load[c].map(formats.int0) for c in shown_counts}).rename(columns={"file": "File", **shown_counts})
)
if rejects.empty:
    st.success("Every row of the last export loaded: nothing was rejected.")
else:
    st.warning(
        f"{formats.int0(len(rejects))} values were rejected. Each row below was left out of every figure; "
        "correct it in the source system and load the export again."
    )
    if protected:
        st.caption(
            "The rejected rows themselves hold values from individual cases: they are listed for analysts with "
            "full access only."
        )
    else:
        st.dataframe(rejects, hide_index=True, key="data_rejects")
        st.download_button(
            "Download rejected rows (CSV)",
            rejects.to_csv(index=False).encode("utf-8"),
            file_name="rejected_rows.csv",
            mime="text/csv",
            on_click=trail.downloaded,
            args=("rejected_rows.csv",),
            key="data_rejects_csv",
        )

st.subheader("Cases without workforce figures")
# Every rate leaves these cases out (they have no practitioners to be counted against): said here, never silently.
coverage = ctx.view(uncovered_cases, ctx.filters, ctx.viewer, ctx.rule)  # as the rate pages count them
if coverage.total == 0:
    st.success(wording.coverage_complete(coverage.error))
else:
    st.warning(ui.words(wording.coverage_note(coverage.total, coverage.error, data_page=True)))
    ui.plain_table(
        pd.DataFrame(
            {
                "Financial year": coverage.by_year["financial_year"],
                "Cases left out of rates": coverage.by_year["cases"].map(formats.int0),
            }
        )
    )
    st.caption(
        "Cases are counted here and on the Outcomes, Durations and Pathways pages, which need no workforce; the "
        "referral rates, relative likelihoods, funnels and trends leave them out. Load the missing workforce rows "
        "to count them."
        + (
            f" Each number is the protected count of the year's cases less the protected count of those with "
            f"workforce figures, so it can be off by up to {coverage.error} either way (* where one of them is too "
            "small to show); years whose two counts agree are not listed."
            if coverage.derived
            else ""
        )
    )

st.subheader("Data quality: missing ethnicity and place of qualification")
st.markdown(
    "Missing ethnicity can bias a gap, in a direction these data cannot show: it depends on which groups the "
    "people with no recorded ethnicity belong to, and whether their ethnicity goes unrecorded as often in cases "
    "as in the workforce. 'Not stated' (the person chose not to say, code Z) and 'not known' (never asked or not "
    "recorded, code 99) are shown separately, as data quality; they are never a reference group."
)
quality = ui.run_query("data_quality_by_year", ctx.filters.params(QUALITY_FILTERS))
if quality.empty:
    ui.no_cases(ctx.filters)
else:
    counts = ["total", "ethnicity_not_stated", "ethnicity_not_known", "pmq_not_known"]
    # Protected first (at the protected level), so that every share below is computed from protected counts.
    quality = protect_counts(quality, counts, viewer=ctx.viewer, rule=ctx.rule, wholes_within=())
    quality["Financial year"] = quality["fy_start"].map(contract.financial_year_label)
    for col, label in (
        ("ethnicity_not_stated", "Ethnicity not stated"),
        ("ethnicity_not_known", "Ethnicity not known"),
        ("pmq_not_known", "Qualification not known"),
    ):
        quality[label] = quality[col] / quality["total"].where(quality["total"] > 0)
    measures = ["Ethnicity not stated", "Ethnicity not known", "Qualification not known"]
    share_cases = quality.loc[
        quality["source"] == "cases", ["ethnicity_not_stated", "ethnicity_not_known"]
    ].sum().sum() / max(quality.loc[quality["source"] == "cases", "total"].sum(), 1)
    fig = charts.missing_data_chart(
        quality,
        measures,
        f"Ethnicity is missing for {formats.pct1(share_cases)} of cases in these years",
        "Share of cases (solid) and of workforce headcount (dotted) with each item missing, by financial year",
    )
    table = quality[["source", "Financial year", "total", *measures]].rename(
        columns={"source": "Source", "total": "Cases or headcount"}
    )
    table["Cases or headcount"] = table["Cases or headcount"].map(formats.int0)
    for m in measures:
        table[m] = table[m].map(formats.pct1)
    ui.chart_block(
        fig,
        table,
        key="data_quality",
        alt="Line chart of the share of cases and workforce with ethnicity not stated, not known, and place of "
        "qualification not known, by financial year.",
        method="Shares of all cases referred in the year, and of the summed workforce headcount of the year.",
        file_name="data_quality_by_year.csv",
    )

st.subheader("Who sees which numbers")
st.markdown(
    ("**The numbers you see are protected.** " if protected else "**The numbers you see are exact** (full access). ")
    + "At the protected level, the level for everyone but the national body's analysts and for every download "
    + "and export, "
    + ctx.rule.statement()
)

st.subheader("Methods")
st.markdown(wording.methods_text(ctx.rule))
