"""
Forecast page: history and forecast with the 80 % band per market, language and
channel, and the backtest accuracy of the chosen models against the baselines.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from wfm.forecast import BASELINES
from wfm.ui import common, upload

KEY = ["market", "language", "channel"]


def accuracy_table(meta: dict) -> pd.DataFrame:
    """Per series: the chosen model and the backtest WAPE of it and of the baselines
    (from the forecast's metadata), with the pooled figures first."""
    rows = []
    pooled = meta.get("backtest", {}).get("wape", {})
    if pooled:
        rows.append({"market": "all", "language": "", "channel": "", "model": "chosen",
                     "wape_chosen": pooled.get("chosen"),
                     **{f"wape_{b}": pooled.get(b) for b in BASELINES}})
    for s in meta.get("per_series", []):
        wape = s.get("wape", {})
        rows.append({"market": s["market"], "language": s["language"],
                     "channel": s["channel"], "model": s["model"],
                     "wape_chosen": wape.get(s["model"]),
                     **{f"wape_{b}": wape.get(b) for b in BASELINES}})
    out = pd.DataFrame(rows, columns=["market", "language", "channel", "model", "wape_chosen",
                                      *(f"wape_{b}" for b in BASELINES)])
    for col in out.columns[4:]:
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def _upload_box() -> None:
    with st.expander("Use another history (upload CSV or Parquet)"):
        st.caption(f"An interval file (interval_start, market, language, channel, contacts, "
                   f"aht_s) or a per-contact log (arrived_at, ...), at most "
                   f"{upload.MAX_UPLOAD_BYTES // 2**20} MB. It replaces the stored history "
                   "for this session.")
        file = st.file_uploader("History file", type=["csv", "parquet"], key="fc_upload")
        if file is not None and st.button("Use this history", key="fc_use_upload"):
            with common.guard("Upload"):
                frame, info = upload.read_history_upload(file.name, file.getvalue())
                st.session_state["uploaded_history"] = {**info, "frame": frame}
                st.rerun()
        if st.session_state.get("uploaded_history") is not None:
            if st.button("Back to the stored history", key="fc_drop_upload"):
                del st.session_state["uploaded_history"]
                st.rerun()


def _chart(history: pd.DataFrame, fc: pd.DataFrame, zone: str) -> alt.Chart:
    hist = pd.DataFrame({"time": common.to_display(history["interval_start"], zone),
                         "contacts": history["contacts"].astype(float), "what": "history"})
    pred = pd.DataFrame({"time": common.to_display(fc["interval_start"], zone),
                         "contacts": fc["contacts"], "lo": fc["contacts_lo"],
                         "hi": fc["contacts_hi"], "what": "forecast"})
    x = alt.X("time:T", title=common.time_title(zone))
    band = alt.Chart(pred).mark_area(opacity=0.3, color="#7aa6d8").encode(
        x=x, y=alt.Y("lo:Q", title="contacts per hour"), y2="hi:Q",
        tooltip=["time:T", alt.Tooltip("lo:Q", format=".1f"),
                 alt.Tooltip("hi:Q", format=".1f")])
    lines = alt.Chart(pd.concat([hist, pred[["time", "contacts", "what"]]])).mark_line(
        strokeWidth=1.3).encode(
        x=x, y="contacts:Q",
        color=alt.Color("what:N", scale=alt.Scale(domain=["history", "forecast"],
                                                  range=["#555555", "#1f5fa8"]), title=None),
        tooltip=["time:T", "what:N", alt.Tooltip("contacts:Q", format=".1f")])
    return (band + lines).properties(height=360)


def render() -> None:
    st.title("Forecast")
    with common.guard("Forecast"):
        _render()


def _render() -> None:
    scenario = common.active_scenario()
    _upload_box()
    loaded = common.inputs_for(scenario)
    zone = common.display_zone()
    st.caption(f"Scenario **{scenario.name}**; history from {loaded.inputs.source}; "
               f"times in {zone}.")
    fc, _ = common.forecast_for(scenario, loaded)
    frame = fc.frame
    st.caption(f"Forecast {fc.source}" + (f" ({fc.path.name})" if fc.path else "")
               + f"; cutoff {fc.meta.get('cutoff', '?')}.")
    series = frame[KEY].drop_duplicates().sort_values(KEY)
    c1, c2, c3, c4 = st.columns(4)
    market = c1.selectbox("Market", sorted(series["market"].unique()), key="fc_market")
    part = series[series["market"] == market]
    language = c2.selectbox("Language", sorted(part["language"].unique()), key="fc_language")
    part = part[part["language"] == language]
    channel = c3.selectbox("Channel", sorted(part["channel"].unique()), key="fc_channel")
    weeks = c4.slider("History shown [weeks]", 1, 8, 2, key="fc_weeks")

    pick = (frame["market"] == market) & (frame["language"] == language) & (
        frame["channel"] == channel)
    fc_part = frame[pick].sort_values("interval_start")
    hist = loaded.inputs.history
    hist_part = hist[(hist["market"] == market) & (hist["language"] == language)
                     & (hist["channel"] == channel)]
    start = fc_part["interval_start"].min()
    hist_part = hist_part[(hist_part["interval_start"] >= start - pd.Timedelta(weeks=weeks))
                          & (hist_part["interval_start"] < start)].sort_values("interval_start")
    week = common.planning_window(fc_part, scenario)
    table = accuracy_table(fc.meta)
    row = table[(table["market"] == market) & (table["language"] == language)
                & (table["channel"] == channel)]
    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Contacts in the planning week", f"{week['contacts'].sum():,.0f}")
    m2.metric("Model", str(fc_part["model"].iloc[0]) if len(fc_part) else "-")
    if len(row):
        r = row.iloc[0]
        m3.metric("Backtest WAPE (chosen)", _pct(r["wape_chosen"]))
        m4.metric("Seasonal naive WAPE", _pct(r["wape_seasonal_naive"]),
                  help="The baseline: the same local hour one week earlier.")
    st.altair_chart(_chart(hist_part, fc_part, zone), width="stretch")

    st.subheader("Accuracy against the baselines")
    st.caption(fc.meta.get("backtest", {}).get("what", "backtest windows before the cutoff")
               + ". WAPE = sum |forecast - actual| / sum actual; lower is better.")
    st.dataframe(table, hide_index=True, column_config={
        c: st.column_config.NumberColumn(c.replace("wape_", "WAPE ").replace("_", " "),
                                         format="percent")
        for c in table.columns[4:]})
    for warning in fc.meta.get("warnings", []):
        st.caption(f"Note: {warning}")


def _pct(value) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1%}"


if __name__ == "__main__":
    render()
