"""
Coverage vs SLA (:func:`wfm.coverage.coverage`): the gap between scheduled and required
agents as a day x hour heatmap per queue, the service level against the target per
market, SLA attainment per market over the week; and two rosters side by side (rosters
solved in this session, or run folders under runs/ written by ``wfm run``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from wfm import pipeline
from wfm.errors import InputError
from wfm.ui import common

ALL = "(all)"


@dataclass(frozen=True)
class CoverageView:
    """What the page shows of one roster: the frames of :class:`wfm.coverage.CoverageResult`
    (``intervals`` is contract ``coverage``, ``markets`` the market intervals,
    ``weekly`` the SLA attainment per market over the week)."""

    label: str
    intervals: pd.DataFrame
    markets: pd.DataFrame
    weekly: pd.DataFrame


@st.cache_data(show_spinner=False, max_entries=8)
def _run_frames(folder: str, stamp: int) -> dict[str, pd.DataFrame]:
    _, frames = pipeline.read_bundle(folder)
    return {k: frames[k] for k in ("coverage", "coverage_markets", "sla_weekly")
            if k in frames}


def run_folders() -> list[Path]:
    """Run folders (``runs/<name>/``) that hold a coverage frame, newest first."""
    root = common.app_paths().runs
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if (p / "coverage.parquet").is_file()
             and (p / "summary.json").is_file()]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def sources() -> dict[str, object]:
    """Label -> a session roster or a run folder."""
    out: dict[str, object] = {}
    for label, solved in reversed(common.session_rosters().items()):
        out[f"session: {label}"] = solved
    for folder in run_folders():
        out[f"run folder: {folder.name}"] = folder
    return out


def view_of(label: str, source) -> CoverageView:
    if isinstance(source, Path):
        frames = _run_frames(str(source), (source / "coverage.parquet").stat().st_mtime_ns)
        missing = [k for k in ("coverage_markets", "sla_weekly") if k not in frames]
        if missing:
            raise InputError(f"{source}: the run folder lacks {', '.join(missing)}; "
                                    "run the scenario again with this version")
        return CoverageView(label, frames["coverage"], frames["coverage_markets"],
                            frames["sla_weekly"])
    result = common.coverage_of(source)
    return CoverageView(label, result.intervals, result.markets, result.weekly)


# -- shaping for the charts -----------------------------------------------------------------


def queue_gap(intervals: pd.DataFrame, queue: str, zone: str) -> pd.DataFrame:
    """Mean gap (scheduled - required agents) per local date and hour of ``zone``; the sum
    over queues for ``queue == ALL``."""
    part = intervals if queue == ALL else intervals[intervals["queue"] == queue]
    per = part.groupby("interval_start", as_index=False)["gap"].sum()
    return _day_hour(per["interval_start"], per["gap"], zone)


def market_gap(markets: pd.DataFrame, market: str, zone: str) -> pd.DataFrame:
    """Service level minus the market's target (contact-weighted over its languages and
    channels) per local date and hour of ``zone``. [fraction]"""
    part = markets[(markets["market"] == market) & (markets["contacts"] > 0)]
    part = part[part["target_service_level"].notna()]
    w = part["contacts"].to_numpy(dtype=float)
    diff = part["service_level"].to_numpy(dtype=float) - part["target_service_level"].to_numpy(
        dtype=float)
    frame = pd.DataFrame({"interval_start": part["interval_start"], "w": w, "wd": w * diff})
    per = frame.groupby("interval_start", as_index=False)[["w", "wd"]].sum()
    return _day_hour(per["interval_start"], per["wd"] / per["w"], zone)


def _day_hour(times: pd.Series, values: pd.Series, zone: str) -> pd.DataFrame:
    local = common.to_display(times, zone)
    frame = pd.DataFrame({"date": local.dt.strftime("%Y-%m-%d %a").to_numpy(),
                          "hour": local.dt.hour.to_numpy(),
                          "value": np.asarray(values, dtype=float)})
    return frame.groupby(["date", "hour"], as_index=False)["value"].mean()


def _heatmap(frame: pd.DataFrame, title: str, fmt: str, zone: str) -> alt.Chart:
    top = float(np.nanmax(np.abs(frame["value"]))) if len(frame) else 1.0
    top = top if np.isfinite(top) and top > 0 else 1.0
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("hour:O", title=f"hour ({zone})"),
        y=alt.Y("date:O", title=None),
        color=alt.Color("value:Q", title=title,
                        scale=alt.Scale(scheme="redblue", domain=[-top, top], domainMid=0)),
        tooltip=["date", "hour", alt.Tooltip("value:Q", format=fmt)],
    ).properties(height=230)


def key_figures(view: CoverageView) -> dict[str, float]:
    iv = view.intervals
    contacts = float(iv["contacts"].sum())
    answered = float((iv["contacts"] * iv["service_level"]).sum())
    h = _interval_h(iv)
    week = view.weekly[view.weekly["channel"] == "all"]
    return {
        "service_level": answered / contacts if contacts > 0 else float("nan"),
        "markets_met": int(week["met"].sum()), "markets": int(len(week)),
        "queue_hours_below": float((~iv["meets_target"].astype(bool)).sum()) * h,
        "under_h": float((iv["required"] - iv["scheduled"]).clip(lower=0).sum()) * h,
    }


def _interval_h(iv: pd.DataFrame) -> float:
    times = iv["interval_start"].drop_duplicates().sort_values()
    if len(times) < 2:
        return 0.5
    return float(times.diff().min() / pd.Timedelta(hours=1))


def _metrics(view: CoverageView, where) -> None:
    k = key_figures(view)
    a, b = where.columns(2)
    a.metric("Projected service level", f"{k['service_level']:.1%}")
    b.metric("Markets meeting the SLA (week)", f"{k['markets_met']} of {k['markets']}")
    a.metric("Queue-hours below target", f"{k['queue_hours_below']:,.1f}")
    b.metric("Under-coverage [agent-h]", f"{k['under_h']:,.0f}")


def sla_table(weekly: pd.DataFrame) -> pd.DataFrame:
    out = weekly[weekly["channel"] == "all"][["market", "contacts", "service_level",
                                              "target_service_level", "met", "asa_s",
                                              "hours_below_target"]]
    return out.sort_values("market").reset_index(drop=True)


def _sla_chart(table: pd.DataFrame) -> alt.Chart:
    bars = alt.Chart(table).mark_bar().encode(
        x=alt.X("market:N", title=None), y=alt.Y("service_level:Q", title="service level",
                                                 axis=alt.Axis(format="%")),
        color=alt.Color("met:N", scale=alt.Scale(domain=[True, False],
                                                 range=["#3a8a4a", "#c0392b"]),
                        title="meets SLA"),
        tooltip=["market", alt.Tooltip("service_level:Q", format=".1%"),
                 alt.Tooltip("target_service_level:Q", format=".0%"), "hours_below_target"])
    ticks = alt.Chart(table).mark_tick(color="black", thickness=2, size=18).encode(
        x="market:N", y="target_service_level:Q")
    return (bars + ticks).properties(height=260)


# -- the page -------------------------------------------------------------------------------


def render() -> None:
    st.title("Coverage vs SLA")
    with common.guard("Coverage"):
        _render()


def _render() -> None:
    if common.library_part("wfm.coverage", ("coverage",)) is None:
        common.missing_part("Coverage against the SLA", "wfm.coverage")
        return
    found = sources()
    if not found:
        st.info("No roster to judge yet: solve one on the **Roster** page, or run a scenario "
                f"on the **Scenarios** page (its folder under {common.app_paths().runs}/ holds "
                "its coverage).", icon=":material/info:")
        return
    labels = list(found)
    zone = common.display_zone()
    compare = st.toggle("Compare two side by side", key="cv_compare",
                        disabled=len(labels) < 2,
                        help="Needs two rosters: solve another what-if, or run a scenario.")
    picks = [st.selectbox("Roster", labels, key="cv_a")]
    if compare and len(labels) > 1:
        picks.append(st.selectbox("Compare with", labels, index=1, key="cv_b"))
    views = [view_of(label, found[label]) for label in picks]
    queues = sorted(set().union(*(set(v.intervals["queue"]) for v in views)))
    markets = sorted(set().union(*(set(v.markets["market"]) for v in views)))
    c1, c2 = st.columns(2)
    queue = c1.selectbox("Queue", [ALL, *queues], key="cv_queue")
    market = c2.selectbox("Market", markets, key="cv_market")
    columns = st.columns(len(views))
    for view, col in zip(views, columns, strict=True):
        with col:
            if len(views) > 1:
                st.markdown(f"**{view.label}**")
            _metrics(view, col)
            st.caption(f"Gap = scheduled - required agents, {queue} (blue over, red short)")
            st.altair_chart(_heatmap(queue_gap(view.intervals, queue, zone), "gap [agents]",
                                     "+.1f", zone), width="stretch")
            st.caption(f"Service level minus target, market {market}")
            st.altair_chart(_heatmap(market_gap(view.markets, market, zone),
                                     "SL - target", "+.1%", zone), width="stretch")
    st.subheader("SLA attainment per market over the week")
    tables = [sla_table(v.weekly) for v in views]
    if len(views) == 1:
        st.altair_chart(_sla_chart(tables[0]), width="stretch")
        st.dataframe(tables[0], hide_index=True, column_config={
            "service_level": st.column_config.NumberColumn("service level", format="percent"),
            "target_service_level": st.column_config.NumberColumn("target", format="percent")})
    else:
        both = tables[0].merge(tables[1], on="market", how="outer", suffixes=("_a", "_b"))
        both["change"] = both["service_level_b"] - both["service_level_a"]
        cols = ["market", "target_service_level_a", "service_level_a", "met_a",
                "service_level_b", "met_b", "change"]
        st.caption(f"a = {views[0].label}; b = {views[1].label}")
        st.dataframe(both[cols], hide_index=True, column_config={
            c: st.column_config.NumberColumn(c.replace("_", " "), format="percent")
            for c in ("target_service_level_a", "service_level_a", "service_level_b",
                      "change")})


if __name__ == "__main__":
    render()
