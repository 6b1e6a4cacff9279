"""
Agent KPIs: raw against shift-adjusted scorecards (:func:`wfm.fairness.scorecards`),
filtered by site, role and shift band, with the explanation sentence per agent.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from wfm import fairness
from wfm.ui import common


def main_band(composite: pd.DataFrame) -> pd.Series:
    """The shift band (day, evening, night) in which an agent took most contacts."""
    shares = np.column_stack([
        1.0 - composite["night_share"] - composite["evening_share"],
        composite["evening_share"], composite["night_share"]])
    return pd.Series(np.asarray(fairness.BANDS, dtype=object)[shares.argmax(axis=1)],
                     index=composite.index, name="band")


def agent_table(composite: pd.DataFrame) -> pd.DataFrame:
    """The composite with the main band, best adjusted rank first."""
    out = composite.assign(band=main_band(composite),
                           rank_change=composite["raw_rank"] - composite["rank"])
    columns = ["agent_id", "site", "role", "band", "contacts", "night_share", "raw_rank",
               "rank", "rank_lo", "rank_hi", "rank_change", "raw_score", "score",
               "score_lo", "score_hi", "strongest", "weakest", "explanation"]
    return out[columns].sort_values(["rank", "agent_id"]).reset_index(drop=True)


def kpi_rows(kpis: pd.DataFrame, agent_id: str) -> pd.DataFrame:
    """One agent's KPI rows: raw, expected for their shifts, adjusted, target, sentence."""
    part = kpis[kpis["agent_id"] == agent_id]
    label = part["kpi"].map(lambda k: fairness.KPIS[k].label if k in fairness.KPIS else k)
    out = part.assign(label=label)[["label", "n", "raw", "expected", "adjusted", "adjusted_lo",
                                    "adjusted_hi", "target", "meets_target", "weight",
                                    "explanation"]]
    return out.reset_index(drop=True)


def _scatter(table: pd.DataFrame) -> alt.Chart:
    return alt.Chart(table).mark_circle(size=45, opacity=0.75).encode(
        x=alt.X("raw_score:Q", title="raw score (z of the raw KPIs)"),
        y=alt.Y("score:Q", title="adjusted score (shift and mix adjusted)"),
        color=alt.Color("band:N", scale=alt.Scale(domain=list(fairness.BANDS),
                                                  range=["#e0a030", "#a05ad0", "#1f3f8a"])),
        tooltip=["agent_id", "site", "role", "band", "raw_rank", "rank",
                 alt.Tooltip("score:Q", format="+.2f")],
    ).properties(height=340)


def render() -> None:
    st.title("Agent KPIs")
    with common.guard("Agent KPIs"):
        _render()


def _render() -> None:
    scenario = common.active_scenario()
    loaded = common.inputs_for(scenario)
    result = common.scorecards_for(scenario, loaded)
    table = agent_table(result.composite)
    st.caption(f"{len(table)} agents scored on {loaded.inputs.source}; each KPI is compared "
               "with what the agent's shifts and contact mix make possible (raw = as "
               "measured, adjusted = on the whole operation's mix). Higher scores are "
               "better.")
    c1, c2, c3 = st.columns(3)
    sites = c1.multiselect("Site", sorted(table["site"].unique()), key="kpi_sites")
    roles = c2.multiselect("Role", sorted(table["role"].unique()), key="kpi_roles")
    bands = c3.multiselect("Shift band (most contacts)", list(fairness.BANDS),
                           key="kpi_bands")
    shown = table
    if sites:
        shown = shown[shown["site"].isin(sites)]
    if roles:
        shown = shown[shown["role"].isin(roles)]
    if bands:
        shown = shown[shown["band"].isin(bands)]
    m1, m2, m3 = st.columns(3)
    m1.metric("Agents shown", f"{len(shown):,}")
    gap = fairness.night_gap(result.composite)
    raw_gap = fairness.night_gap(result.composite, column="raw_score")
    m2.metric("Night agents vs others, raw", "-" if np.isnan(raw_gap) else f"{raw_gap:+.2f} SD")
    m3.metric("Night agents vs others, adjusted", "-" if np.isnan(gap) else f"{gap:+.2f} SD",
              help="Mean score of agents with most contacts at night minus the others, in "
                   "standard deviations; near 0 when the adjustment makes them comparable.")
    if shown.empty:
        st.info("No agent matches the filters.")
        return
    st.altair_chart(_scatter(shown), width="stretch")
    st.dataframe(shown, hide_index=True, column_config={
        "night_share": st.column_config.NumberColumn("night share", format="percent"),
        "raw_score": st.column_config.NumberColumn("raw score", format="%+.2f"),
        "score": st.column_config.NumberColumn("adjusted score", format="%+.2f"),
        "score_lo": st.column_config.NumberColumn("score low", format="%+.2f"),
        "score_hi": st.column_config.NumberColumn("score high", format="%+.2f"),
        "explanation": st.column_config.TextColumn("explanation", width="large"),
    })
    st.subheader("One agent")
    agent = st.selectbox("Agent", shown["agent_id"].tolist(), key="kpi_agent")
    row = shown[shown["agent_id"] == agent].iloc[0]
    st.markdown(f"**{agent}** ({row['site']}, {row['role'].replace('_', ' ')}, mostly "
                f"{row['band']}): {row['explanation']}")
    rows = kpi_rows(result.kpis, agent)
    for sentence in rows["explanation"]:
        st.markdown(f"- {sentence}")
    st.dataframe(rows.drop(columns="explanation"), hide_index=True)
    if result.roster_sites is not None:
        st.subheader("Nights and weekends of the worked shifts, per site")
        st.dataframe(result.roster_sites, hide_index=True)


if __name__ == "__main__":
    render()
