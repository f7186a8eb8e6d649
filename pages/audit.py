"""Audit: who saw what, when (analysts only). Reads the audit log, not the database.

Queries: none (the entries come from parity.audit, the append-only log at PARITY_AUDIT_PATH).
"""

import json

import pandas as pd
import streamlit as st

from parity.audit import AuditLog
from parity.settings import get_settings
from parity.ui import signin, trail

st.title("Audit log")
if not signin.reads_audit(signin.current()):
    st.markdown("Only analysts can read the audit log.")
    st.stop()

log = AuditLog(get_settings().audit_path)
st.markdown(
    "Every sign-in, refusal, page view (with its filters and drill), download and export, with who, their role "
    "and scope. The app can only add entries; each is chained to the one before, so a changed or removed entry "
    "shows below."
)
check = log.verify()
if check.ok:
    st.success(check.sentence(), icon=":material/verified:")
else:
    st.error(check.sentence(), icon=":material/gpp_bad:")

entries = pd.DataFrame(log.read())
if entries.empty:
    st.info("Nothing has been recorded yet.")
    st.stop()

entries["when"] = pd.to_datetime(entries["time"], utc=True, errors="coerce")
people = sorted(entries["user"].dropna().astype(str).unique())
pages = sorted(p for p in entries["page"].dropna().astype(str).unique() if p)
first, last = entries["when"].min().date(), entries["when"].max().date()

left, middle, right = st.columns(3)
chosen_people = left.multiselect("Person", people, placeholder="Everyone", key="audit_person")
chosen_pages = middle.multiselect("Page", pages, placeholder="Every page", key="audit_page")
period = right.date_input("Dates", (first, last), min_value=first, max_value=last, key="audit_dates")

shown = entries
if chosen_people:
    shown = shown[shown["user"].isin(chosen_people)]
if chosen_pages:
    shown = shown[shown["page"].isin(chosen_pages)]
if isinstance(period, tuple | list) and len(period) == 2:
    days = shown["when"].dt.date
    shown = shown[(days >= period[0]) & (days <= period[1])]

table = pd.DataFrame(
    {
        "Time (UTC)": shown["when"].dt.strftime("%Y-%m-%d %H:%M:%S"),
        "Person": shown["user"],
        "Role": shown["role"],
        "Scope": shown["scope"],
        "Event": shown["event"],
        "Page": shown["page"],
        "Filters": shown["filters"].map(lambda f: json.dumps(f, ensure_ascii=False) if f else ""),
        "Drill": shown["drill"].fillna(""),
        "Detail": shown["detail"].fillna(""),
    }
).iloc[::-1]
st.caption(f"{len(table):,} of {len(entries):,} entries, newest first.")
st.dataframe(table, hide_index=True, key="audit_table")
st.download_button(
    "Download CSV",
    table.to_csv(index=False).encode("utf-8"),
    file_name="parity-audit.csv",
    mime="text/csv",
    key="audit_download",
    on_click=trail.downloaded,
    args=("parity-audit.csv",),
)
