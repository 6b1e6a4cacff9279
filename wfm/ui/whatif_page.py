"""
What-if staffing: volume and AHT multipliers (all contacts or some markets and
languages), service targets, shrinkage and the occupancy cap; the required agents and
headcount per queue over the week are recomputed (:func:`wfm.staffing.requirements`)
on every change and compared with the scenario without the what-if.

The knobs become a what-if scenario file (``base = "<the scenario>"`` plus the
changed keys, :func:`wfm.ui.common.whatif_toml`), validated by the scenario loader;
the Roster and Coverage pages plan with it too, and it can be saved under scenarios/.
"""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from wfm import scenario as scenario_mod
from wfm import staffing
from wfm.errors import InputError
from wfm.ui import common

MEASURES = {"headcount": "headcount (scheduled, after shrinkage)",
            "agents": "agents (productive)"}


def _state(key: str, default):
    """A widget's value survives page switches: seed its key from the session's knobs."""
    if key not in st.session_state:
        st.session_state[key] = default
    return key


def _pct(value) -> int:
    return int(round(float(value) * 100))


def _or_none(value, base_value):
    """None when the widget shows the scenario's own value (nothing changed)."""
    if base_value is not None and abs(float(value) - float(base_value)) < 1e-9:
        return None
    return value


def knob_widgets(base: scenario_mod.Scenario, knobs: common.WhatIfKnobs) -> common.WhatIfKnobs:
    """The knobs' widgets; returns the knobs they show."""
    markets = [m.code for m in base.markets]
    languages = list(base.languages)
    t = base.targets
    with st.expander("Volume and AHT", expanded=True):
        volume = st.number_input("Volume multiplier", 0.1, 5.0, step=0.05, format="%.2f",
                                 key=_state("wi_volume", knobs.volume_factor),
                                 help="Multiplies the forecast contacts of the selection.")
        volume_markets = st.multiselect("Volume: markets (none = all)", markets,
                                        key=_state("wi_volume_markets",
                                                   list(knobs.volume_markets)))
        volume_languages = st.multiselect("Volume: languages (none = all)", languages,
                                          key=_state("wi_volume_languages",
                                                     list(knobs.volume_languages)))
        aht = st.number_input("AHT multiplier", 0.1, 5.0, step=0.05, format="%.2f",
                              key=_state("wi_aht", knobs.aht_factor),
                              help="Multiplies the forecast handle time of the selection.")
        aht_markets = st.multiselect("AHT: markets (none = all)", markets,
                                     key=_state("wi_aht_markets", list(knobs.aht_markets)))
        aht_languages = st.multiselect("AHT: languages (none = all)", languages,
                                       key=_state("wi_aht_languages",
                                                  list(knobs.aht_languages)))
    with st.expander("Service targets", expanded=True):
        voice_sl = st.slider(
            "Voice service level [%]", 50, 99,
            key=_state("wi_voice_sl", _pct(_first(knobs.voice_service_level,
                                                  t.voice.target_service_level, 0.8))))
        voice_answer = st.number_input(
            "Voice answer time [s]", 1, 600, step=5,
            key=_state("wi_voice_answer", int(_first(knobs.voice_answer_s,
                                                     t.voice.answer_target_s, 20))))
        voice_asa = st.number_input(
            "Voice ASA target [s]", 1, 600, step=5,
            key=_state("wi_voice_asa", int(_first(knobs.voice_asa_s, t.voice.target_asa_s,
                                                  20))))
        chat_sl = st.slider(
            "Chat service level [%]", 50, 99,
            key=_state("wi_chat_sl", _pct(_first(knobs.chat_service_level,
                                                 t.chat.target_service_level, 0.8))))
        chat_answer = st.number_input(
            "Chat first response [s]", 1, 600, step=5,
            key=_state("wi_chat_answer", int(_first(knobs.chat_answer_s,
                                                    t.chat.answer_target_s, 30))))
    with st.expander("Shrinkage and occupancy", expanded=True):
        shrinkage = st.slider("Shrinkage [%]", 0, 60,
                              key=_state("wi_shrinkage", _pct(_first(knobs.shrinkage,
                                                                     t.shrinkage))))
        occupancy = st.slider("Occupancy cap [%]", 50, 100,
                              key=_state("wi_occupancy", _pct(_first(knobs.max_occupancy,
                                                                     t.max_occupancy))))
    return common.WhatIfKnobs(
        volume_factor=float(volume), volume_markets=tuple(volume_markets),
        volume_languages=tuple(volume_languages),
        aht_factor=float(aht), aht_markets=tuple(aht_markets),
        aht_languages=tuple(aht_languages),
        voice_service_level=_or_none(voice_sl / 100, t.voice.target_service_level),
        voice_answer_s=_or_none(float(voice_answer), t.voice.answer_target_s),
        voice_asa_s=_or_none(float(voice_asa), t.voice.target_asa_s),
        chat_service_level=_or_none(chat_sl / 100, t.chat.target_service_level),
        chat_answer_s=_or_none(float(chat_answer), t.chat.answer_target_s),
        shrinkage=_or_none(shrinkage / 100, t.shrinkage),
        max_occupancy=_or_none(occupancy / 100, t.max_occupancy),
    )


def _first(*values):
    return next(v for v in values if v is not None)


def totals(req: pd.DataFrame, interval_min: int) -> dict[str, float]:
    """Peak agents and headcount over all queues at once, and the week's hours."""
    per_interval = req.groupby("interval_start")[["agents", "headcount"]].sum()
    summary = staffing.summarize(req, interval_min)
    return {"peak_agents": int(per_interval["agents"].max()),
            "peak_headcount": int(per_interval["headcount"].max()),
            "agent_hours": summary["agent_hours"],
            "headcount_hours": summary["headcount_hours"]}


def queue_table(req: pd.DataFrame, base_req: pd.DataFrame, interval_min: int) -> pd.DataFrame:
    """Per queue: the what-if's staffing summary next to the scenario's own."""
    now = pd.DataFrame(staffing.summarize(req, interval_min)["queues"])
    before = pd.DataFrame(staffing.summarize(base_req, interval_min)["queues"])
    out = now.merge(before[["queue", "headcount_hours", "peak_headcount"]], on="queue",
                    how="outer", suffixes=("", "_before"))
    out["headcount_hours_change"] = out["headcount_hours"] - out["headcount_hours_before"]
    return out.sort_values("queue").reset_index(drop=True)


def _chart(req: pd.DataFrame, measure: str, zone: str) -> alt.Chart:
    data = pd.DataFrame({"time": common.to_display(req["interval_start"], zone),
                         "queue": req["queue"], measure: req[measure]})
    return alt.Chart(data).mark_area(interpolate="step-after").encode(
        x=alt.X("time:T", title=common.time_title(zone)),
        y=alt.Y(f"{measure}:Q", stack="zero", title=MEASURES[measure]),
        color=alt.Color("queue:N", title="queue"),
        tooltip=["time:T", "queue:N", f"{measure}:Q"],
    ).properties(height=380)


def _save_box(base: scenario_mod.Scenario, knobs: common.WhatIfKnobs) -> None:
    with st.expander("Save this what-if as a scenario"):
        text = common.whatif_toml(base, knobs)
        if not text:
            st.caption("The knobs change nothing yet.")
            return
        st.code(text, language="toml")
        name = st.text_input("Scenario name (lower-case letters, digits, _ and -)",
                             key="wv_save_name", placeholder=f"{base.name}_whatif")
        overwrite = st.checkbox("Replace a scenario of that name", key="wv_overwrite")
        if st.button("Save", key="wv_save"):
            with common.guard("Save"):
                path = scenario_mod.safe_scenario_path(name or f"{base.name}_whatif",
                                                       common.app_paths().scenarios)
                if path.exists() and not overwrite:
                    raise InputError(f"{path.name} exists already; tick 'Replace' or pick "
                                     "another name")
                final = common.whatif_toml(base, knobs, name=path.stem)
                common.scenario_from_text(final, path.stem, path.parent)  # validates
                path.write_text(final, encoding="utf-8")
                st.success(f"Saved {path.name}; pick it in the sidebar or run it on the "
                           "Scenarios page.")


def render() -> None:
    st.title("What-if staffing")
    with common.guard("What-if staffing"):
        _render()


def _render() -> None:
    base = common.active_scenario()
    knobs = common.session_knobs(base)
    left, right = st.columns([1, 3], gap="large")
    with left:
        knobs = knob_widgets(base, knobs)
    common.set_session_knobs(base, knobs)
    t0 = time.perf_counter()
    scenario = common.whatif_scenario(base, knobs)
    plan = common.plan_for(scenario)
    base_plan = plan if scenario is base else common.plan_for(base)
    interval_min = scenario.planning.interval_min
    now = totals(plan.requirement, interval_min)
    before = totals(base_plan.requirement, interval_min)
    table = queue_table(plan.requirement, base_plan.requirement, interval_min)
    seconds = time.perf_counter() - t0
    with right:
        head = st.empty()  # filled at the end, with the time the whole page took
        m = st.columns(4)
        for col, key, label in ((m[0], "peak_agents", "Peak required agents"),
                                (m[1], "peak_headcount", "Peak headcount"),
                                (m[2], "agent_hours", "Productive agent-hours"),
                                (m[3], "headcount_hours", "Headcount-hours")):
            delta = now[key] - before[key]
            col.metric(label, f"{now[key]:,.0f}",
                       delta=None if abs(delta) < 1e-9 else f"{delta:+,.0f}",
                       delta_color="inverse",
                       help="All queues together over the planning week; the change is "
                            "against the scenario without the what-if.")
        zone = common.display_zone()
        c1, c2 = st.columns([1, 2])
        measure = c1.radio("Show", list(MEASURES), horizontal=True, key="wv_measure",
                           format_func=lambda m: m)
        queues = sorted(plan.requirement["queue"].unique())
        picked = c2.multiselect("Queues (none = all)", queues, key="wv_queues")
        req = plan.requirement
        if picked:
            req = req[req["queue"].isin(picked)]
        st.altair_chart(_chart(req, measure, zone), width="stretch")
        st.subheader("Per queue over the week")
        st.dataframe(table, hide_index=True, column_config={
            "contacts": st.column_config.NumberColumn("contacts", format="localized"),
            "agent_hours": st.column_config.NumberColumn("agent-hours", format="localized"),
            "headcount_hours": st.column_config.NumberColumn("headcount-hours",
                                                             format="localized"),
            "headcount_hours_before": st.column_config.NumberColumn(
                "headcount-hours without what-if", format="localized"),
            "headcount_hours_change": st.column_config.NumberColumn("change",
                                                                    format="%+.0f"),
        })
        page_s = time.perf_counter() - st.session_state.get("run_started_s", t0)
        words = common.describe_knobs(knobs)
        head.caption(f"Scenario **{base.name}**" + (f" with {words}" if words else
                                                    " (no what-if)")
                     + f"; {plan.requirement['queue'].nunique()} queues x "
                     f"{plan.requirement['interval_start'].nunique()} intervals of "
                     f"{interval_min} min; recomputed in {seconds * 1000:.0f} ms, page "
                     f"{page_s * 1000:.0f} ms.")
        _save_box(base, knobs)


if __name__ == "__main__":
    render()
