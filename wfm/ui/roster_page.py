"""
Roster: solve the week's roster for the working scenario (:func:`wfm.roster.solve_roster`)
with a progress display (stage, incumbent and bound), show it per site on a timeline in
local time, check it against the rules (:func:`wfm.roster.check_roster`), show how nights
and weekends are shared (:func:`wfm.fairness.roster_fairness`), and offer the exports of
:mod:`wfm.export` (CSV, XLSX, iCalendar) as downloads.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import threading
import time
import uuid
import zipfile

import altair as alt
import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

from wfm import fairness, pipeline
from wfm.ui import common


def timeline_frame(roster: pd.DataFrame, zone: str) -> pd.DataFrame:
    """Shifts with start and end as wall-clock times of ``zone`` (naive), for charts."""
    return pd.DataFrame({
        "agent_id": roster["agent_id"].astype(str),
        "shift": roster["shift"].astype(str),
        "start": common.to_display(roster["start_utc"], zone),
        "end": common.to_display(roster["end_utc"], zone),
        "breaks": roster["breaks"].fillna("").astype(str),
        "paid_h": roster["paid_min"] / 60.0,
    })


def _timeline(frame: pd.DataFrame, zone: str) -> alt.Chart:
    order = (frame.sort_values(["start", "agent_id"])["agent_id"].drop_duplicates().tolist())
    height = max(160, 11 * len(order))
    return alt.Chart(frame).mark_bar(cornerRadius=2, height=8).encode(
        x=alt.X("start:T", title=f"local time ({zone})"),
        x2="end:T",
        y=alt.Y("agent_id:N", sort=order, title=None, axis=alt.Axis(labelFontSize=8)),
        color=alt.Color("shift:N", title="shift"),
        tooltip=["agent_id", "shift", alt.Tooltip("start:T", format="%a %H:%M"),
                 alt.Tooltip("end:T", format="%a %H:%M"), "breaks", "paid_h"],
    ).properties(height=height)


def _trace_chart(trace: list[dict]) -> alt.Chart | None:
    rows = [{"seconds": p["seconds"], "what": what, "value": p[what]}
            for p in trace for what in ("incumbent", "bound") if what in p]
    if not rows:
        return None
    return alt.Chart(pd.DataFrame(rows)).mark_line(point=True).encode(
        x=alt.X("seconds:Q", title="seconds"), y=alt.Y("value:Q", title="objective"),
        color="what:N").properties(height=220)


@st.cache_data(show_spinner=False, max_entries=8)
def _downloads(key: str, fmt: str, _solved: common.SolvedRoster) -> bytes:
    """The export of a session roster (cached: building an XLSX takes a moment)."""
    from wfm import export

    r, zones = _solved.result, dict(_solved.scenario.site_zones)
    if fmt == "csv":
        return export.roster_csv(r.roster, zones, allocation=r.allocation).encode("utf-8")
    if fmt == "xlsx":
        cov = None
        if common.library_part("wfm.coverage", ("coverage",)) is not None:
            cov = common.coverage_of(_solved)
        return export.roster_xlsx(r.roster, zones, allocation=r.allocation,
                                  coverage=None if cov is None else cov.intervals,
                                  sla_weekly=None if cov is None else cov.weekly)
    files = export.roster_ics(r.roster, zones, allocation=r.allocation)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in sorted(files.items()):
            zf.writestr(name, data)
    return buf.getvalue()


@st.cache_data(show_spinner=False, max_entries=8)
def _violations(key: str, _solved: common.SolvedRoster) -> list:
    from wfm.roster import check_roster

    r = _solved.result
    return check_roster(r.roster, r.allocation, _solved.agents, _solved.scenario,
                        previous_roster=_solved.previous)


def _solve(roster_mod, plan: common.Plan, time_limit_s: float) -> common.SolvedRoster:
    status = st.status("Solving the roster...", expanded=True)
    bar = status.progress(0.0, text="starting")
    line = status.empty()
    run_ctx = get_script_run_ctx()
    t0 = time.monotonic()
    last = [0.0]

    def progress(done: int, total: int, label: str = "") -> None:
        # CP-SAT reports from its own threads: give them this run's context so they may
        # update the page, and at most five updates a second
        if get_script_run_ctx(suppress_warning=True) is None and run_ctx is not None:
            add_script_run_ctx(threading.current_thread(), run_ctx)
        now = time.monotonic()
        if done < total and now - last[0] < 0.2:
            return
        last[0] = now
        try:
            bar.progress(min(done / max(total, 1), 1.0), text=label or "working")
            line.caption(f"{now - t0:.0f} s: {label}")
        except Exception:  # the display is best effort: the solve goes on
            pass

    previous = pipeline.previous_roster(plan.scenario, common.store_path(plan.scenario))
    if previous is not None:
        line.caption(f"the roster published for the week before ({len(previous)} shifts) "
                     "counts for rest and consecutive days")
    try:
        result = roster_mod.solve_roster(plan.requirement, plan.loaded.inputs.agents,
                                         plan.scenario, previous_roster=previous,
                                         progress=progress, time_limit_s=time_limit_s)
    except BaseException:
        status.update(label="The roster could not be solved", state="error")
        raise
    rep = result.report
    status.update(label=f"Solved in {rep.get('wall_time_s', 0):.1f} s: objective "
                        f"{rep.get('objective', float('nan')):,.1f}, bound "
                        f"{rep.get('best_bound', float('nan')):,.1f} (gap "
                        f"{rep.get('gap', float('nan')):.1%})", state="complete",
                  expanded=False)
    now = dt.datetime.now().strftime("%H:%M:%S")
    solved = common.SolvedRoster(
        label=f"{plan.scenario.name} solved at {now}", key=uuid.uuid4().hex,
        scenario=plan.scenario, result=result, requirement=plan.requirement,
        forecast=plan.forecast.frame, agents=plan.loaded.inputs.agents, previous=previous)
    common.add_session_roster(solved)
    st.session_state["ro_pick"] = solved.label  # the picker below shows the new roster
    return solved


def render() -> None:
    st.title("Roster")
    with common.guard("Roster"):
        _render()


def _render() -> None:
    roster_mod = common.library_part("wfm.roster", ("solve_roster", "check_roster"))
    if roster_mod is None:
        common.missing_part("Solving a roster", "wfm.roster")
        return
    scenario = common.working_scenario()
    plan = common.plan_for(scenario)
    agents = plan.loaded.inputs.agents
    whatif = common.describe_knobs(common.session_knobs(common.active_scenario()))
    hours = plan.requirement["headcount"].sum() * scenario.planning.interval_min / 60
    st.caption(f"Working scenario **{scenario.name}** ({whatif or 'no what-if'}); "
               f"{len(agents)} agents at {agents['site'].nunique()} sites; {hours:,.0f} "
               "headcount-hours required.")
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    time_limit = c1.number_input("Time limit [s]", 5, 3600, step=5,
                                 value=int(min(scenario.roster.time_limit_s, 60)),
                                 key="ro_time_limit")
    if c2.button("Solve roster", type="primary", key="ro_solve"):
        _solve(roster_mod, plan, float(time_limit))
    rosters = common.session_rosters()
    if not rosters:
        st.info("No roster solved in this session yet: press **Solve roster**.")
        return
    labels = list(rosters)[::-1]
    if st.session_state.get("ro_pick") not in labels:
        st.session_state["ro_pick"] = labels[0]
    label = st.selectbox("Roster", labels, key="ro_pick",
                         help="The rosters solved in this session, newest first.")
    _show(roster_mod, rosters[label])


def _show(roster_mod, solved: common.SolvedRoster) -> None:
    r = solved.result
    rep = r.report
    sc = solved.scenario
    m = st.columns(5)
    m[0].metric("Shifts", f"{len(r.roster):,}")
    m[1].metric("Agents rostered", f"{r.roster['agent_id'].nunique():,}")
    m[2].metric("Paid hours", f"{r.roster['paid_min'].sum() / 60:,.0f}")
    m[3].metric("Under-coverage [agent-h]", f"{rep.get('under_coverage_total_h', 0):,.0f}")
    m[4].metric("Gap to the bound", f"{rep.get('gap', float('nan')):.1%}",
                help="(objective - lower bound) / objective; the bound is the LP relaxation.")
    tabs = st.tabs(["Timeline", "Rules", "Fairness", "Solver", "Downloads"])
    with tabs[0]:
        sites = sorted(r.roster["site"].unique())
        c1, c2, c3 = st.columns(3)
        site = c1.selectbox("Site", sites, key="ro_site")
        zone_choice = c2.radio("Times in", ["site local time", "display time zone"],
                               horizontal=True, key="ro_zone")
        zone = sc.site_zones[site] if zone_choice == "site local time" else common.display_zone()
        part = r.roster[r.roster["site"] == site]
        frame = timeline_frame(part, zone)
        days = sorted(frame["start"].dt.date.unique())
        day = c3.selectbox("Day", ["whole week", *days], key="ro_day")
        if day != "whole week":
            frame = frame[frame["start"].dt.date == day]
        st.altair_chart(_timeline(frame, zone), width="stretch")
        st.dataframe(part.drop(columns=["site"]), hide_index=True)
    with tabs[1]:
        violations = _violations(solved.key, solved)
        if not violations:
            st.success(f"Rule check: all rules kept ({len(r.roster):,} shifts, rest, "
                       "consecutive days, days off, contract hours, skills, nights, "
                       "availability, breaks).", icon=":material/check:")
        else:
            st.error(f"Rule check: {len(violations)} violation(s).")
            st.dataframe(pd.DataFrame([{"rule": v.rule, "agent_id": v.agent_id,
                                        "detail": v.detail} for v in violations]),
                         hide_index=True)
    with tabs[2]:
        rules = sc.roster.rules
        fair = fairness.roster_fairness(r.roster, solved.agents, site_zones=sc.site_zones,
                                        night_start=rules.night_start,
                                        night_end=rules.night_end)
        st.caption(f"Nights: shifts overlapping {rules.night_start}-{rules.night_end} local "
                   "time (night_ok agents only); weekend days: local Saturdays and Sundays "
                   "worked. Spread = max - min over the site's agents.")
        sites_frame = fair.sites[fair.sites["metric"].isin(["nights", "weekend_days"])]
        st.dataframe(sites_frame, hide_index=True)
        counts = fair.agents.melt(id_vars=["agent_id", "site"],
                                  value_vars=["nights", "weekend_days"], var_name="what",
                                  value_name="days")
        st.altair_chart(alt.Chart(counts).mark_bar().encode(
            x=alt.X("days:O", title="per agent in the week"),
            y=alt.Y("count():Q", title="agents"), color="site:N",
            column=alt.Column("what:N", title=None)).properties(width=260, height=200))
    with tabs[3]:
        st.json({k: v for k, v in rep.items() if k not in ("trace", "under_coverage_h",
                                                           "over_coverage_h")},
                expanded=False)
        chart = _trace_chart(rep.get("trace", []))
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        under = pd.DataFrame({"queue": list(rep.get("under_coverage_h", {})),
                              "under_h": list(rep.get("under_coverage_h", {}).values())})
        if len(under):
            under["over_h"] = under["queue"].map(rep.get("over_coverage_h", {}))
            st.dataframe(under, hide_index=True)
    with tabs[4]:
        if common.library_part("wfm.export", ("roster_csv", "roster_xlsx",
                                              "roster_ics")) is None:
            common.missing_part("Downloads", "wfm.export")
            return
        stem = f"roster_{sc.name}_{sc.planning.week_start}"
        for fmt, mime, name, text in (
                ("csv", "text/csv", f"{stem}.csv", "CSV (one row per shift)"),
                ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 f"{stem}.xlsx", "XLSX (a sheet per site, coverage)"),
                ("ics", "application/zip", f"{stem}_ics.zip",
                 "iCalendar (per site and agent, zip)")):
            # made when clicked (an XLSX with its coverage sheets takes a few seconds)
            st.download_button(f"Download {text}",
                               data=functools.partial(_downloads, solved.key, fmt, solved),
                               file_name=name, mime=mime, key=f"ro_dl_{fmt}",
                               on_click="ignore")


if __name__ == "__main__":
    render()
