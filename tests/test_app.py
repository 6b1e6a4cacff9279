"""
The Streamlit app through ``streamlit.testing.v1.AppTest``: every page renders without
an exception, and a widget change changes what the page shows; the figures shown are
checked against the library computed independently. The app runs on the session's
demo store, with scenarios, forecasts and runs in temporary folders.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
import threading
import types

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO
from wfm import forecast, pipeline, schema, staffing
from wfm import scenario as scenario_mod
from wfm.errors import InputError
from wfm.ui import common, upload

TIMEOUT_S = 300


@pytest.fixture(scope="module")
def app_env(tmp_path_factory, demo_store):
    """Environment of the app: the demo store and private folders."""
    root = tmp_path_factory.mktemp("app")
    folders = {name: root / name for name in ("scenarios", "forecasts", "runs")}
    shutil.copytree(REPO / "scenarios", folders["scenarios"])
    folders["forecasts"].mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WFM_STORE", str(demo_store))
        for name, path in folders.items():
            mp.setenv(f"WFM_{name.upper()}", str(path))
        yield folders


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S).run()
    if page is not None:
        at.switch_page(f"wfm/ui/{page}.py").run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def number(text: str) -> float:
    return float(str(text).replace(",", "").replace(" SD", ""))


def chart_data(at: AppTest, index: int = 0) -> list[pd.DataFrame]:
    """The data sets of the index-th Altair chart on the page."""
    proto = at.get("vega_lite_chart")[index].proto
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in proto.datasets]


def baseline_plan(app_env, demo_store):
    """The baseline's forecast (the file the app wrote) and requirement, computed here."""
    sc = scenario_mod.load(app_env["scenarios"] / "baseline.toml")
    inputs = pipeline.load_inputs(sc, store_path=demo_store)
    fc = forecast.for_scenario(sc, inputs.history, folder=app_env["forecasts"])
    return sc, fc


# -- shared pieces --------------------------------------------------------------------


def test_whatif_toml_writes_only_the_changes_and_loads_back():
    base = scenario_mod.load(REPO / "scenarios" / "black_friday.toml")
    assert common.whatif_toml(base, common.WhatIfKnobs()) == ""
    knobs = common.WhatIfKnobs(volume_factor=1.25, volume_markets=("DE",),
                               shrinkage=0.35, voice_asa_s=15.0,
                               voice_service_level=base.targets.voice.target_service_level)
    text = common.whatif_toml(base, knobs)
    assert 'base = "black_friday.toml"' in text
    assert "target_service_level" not in text  # unchanged value not written
    sc = scenario_mod.loads(text, name="bf_whatif", base_dir=REPO / "scenarios")
    # the base's own adjustment (US, GB x1.6) is kept, the new one appended
    assert [(a.factor, a.markets) for a in sc.whatif.volume] == [(1.6, ("US", "GB")),
                                                               (1.25, ("DE",))]
    assert sc.targets.shrinkage == 0.35
    assert sc.targets.voice.target_asa_s == 15.0
    assert sc.targets.voice.answer_target_s == base.targets.voice.answer_target_s
    assert sc.fingerprint != base.fingerprint
    assert "volume x1.25 (DE)" in sc.description


def test_whatif_toml_refuses_a_non_finite_value():
    base = scenario_mod.load(REPO / "scenarios" / "baseline.toml")
    with pytest.raises(InputError, match="finite"):
        common.whatif_toml(base, common.WhatIfKnobs(shrinkage=float("nan")))


def test_zone_options_list_utc_sites_and_markets(baseline):
    options = common.zone_options(baseline)
    assert options["UTC"] == "UTC"
    assert options["site Shenzhen (Asia/Shanghai)"] == "Asia/Shanghai"
    assert options["market AU (Australia/Sydney)"] == "Australia/Sydney"
    assert len(options) == 1 + len(baseline.sites) + len(baseline.markets)


def test_to_display_follows_daylight_saving():
    ts = pd.Series(pd.to_datetime(["2026-03-28T12:00Z", "2026-03-30T12:00Z"], utc=True))
    wall = common.to_display(ts, "Europe/Lisbon")  # clocks go forward on 2026-03-29
    assert list(wall.dt.hour) == [12, 13]
    assert wall.dt.tz is None


# -- uploads ------------------------------------------------------------------------------


def _history_csv(rows: int = 3) -> bytes:
    times = pd.date_range("2026-01-05", periods=rows, freq="h", tz="UTC")
    lines = ["interval_start,market,language,channel,contacts,aht_s"]
    lines += [f"{t.isoformat()},US,en,voice,{10 + i},300" for i, t in enumerate(times)]
    return ("\n".join(lines) + "\n").encode()


def test_upload_reads_a_history_csv_and_parquet():
    frame, info = upload.read_history_upload("../../etc/my history.csv", _history_csv())
    assert list(frame["contacts"]) == [10, 11, 12]
    assert info["name"] == "my history.csv" and info["rows"] == 3 and info["format"] == "interval"
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    again, info2 = upload.read_history_upload("h.parquet", buf.getvalue())
    pd.testing.assert_frame_equal(again.reset_index(drop=True), frame.reset_index(drop=True),
                                  check_dtype=False)
    assert info2["sha256"] != info["sha256"]


@pytest.mark.parametrize("name, data, match", [
    ("history.pkl", b"\x80\x04K\x01.", "not accepted"),
    ("history.csv", b"", "empty"),
    ("history.parquet", b"interval_start,market\n", "not a Parquet file"),
    ("history.csv", b"a,b\x00c\n", "NUL"),
    ("history.csv", b"x" * 2048, "larger than the limit"),
])
def test_upload_refuses_bad_files(name, data, match):
    with pytest.raises(InputError, match=match):
        upload.read_history_upload(name, data, max_bytes=1024)


def test_upload_errors_name_the_file_and_line_not_a_temporary_path():
    bad = _history_csv().replace(b",11,300", b",-4,300")
    with pytest.raises(InputError) as err:
        upload.read_history_upload("mine.csv", bad)
    text = str(err.value)
    assert "mine.csv" in text and "line 3" in text
    assert "wfm-upload-" not in text


def test_upload_refuses_records_that_are_not_history(tmp_path):
    data = b"agent_id,site,languages,contract_hours_week,min_hours_week,role,night_ok\n"
    with pytest.raises(InputError, match="not history"):
        upload.read_history_upload("agents.csv", data)


# -- pages ----------------------------------------------------------------------------------


def test_forecast_page_changes_with_the_series_and_the_time_zone(app_env, demo_store):
    at = open_page()
    assert [t.value for t in at.title] == ["Forecast"]
    first = metrics(at)["Contacts in the planning week"]
    market = at.selectbox(key="fc_market")
    assert market.value == "AE"
    market.select("US").run()
    assert_clean(at)
    assert metrics(at)["Contacts in the planning week"] != first
    # the figure is the library's forecast of US/en/<first channel> over the week
    sc, fc = baseline_plan(app_env, demo_store)
    channel = at.selectbox(key="fc_channel").value
    week = common.planning_window(fc.frame, sc)
    expect = week[(week["market"] == "US") & (week["channel"] == channel)]["contacts"].sum()
    assert number(metrics(at)["Contacts in the planning week"]) == pytest.approx(expect, abs=0.5)
    # the accuracy table: the pooled row and one per series, WAPE of the chosen model
    table = at.dataframe[0].value
    assert len(table) == fc.meta["series"] + 1
    assert table["wape_chosen"].iloc[0] == fc.meta["backtest"]["wape"]["chosen"]
    # the display time zone moves the chart's time axis
    utc_first = chart_data(at)[0]["time"].min()
    at.sidebar.selectbox(key="display_zone_label").select("site Shenzhen (Asia/Shanghai)").run()
    assert_clean(at)
    assert chart_data(at)[0]["time"].min() - utc_first == pd.Timedelta(hours=8)
    assert "Asia/Shanghai" in at.get("vega_lite_chart")[0].proto.spec


def test_forecast_page_uses_an_uploaded_history(app_env, demo_store, demo_world):
    # the last 8 weeks of the demo history with twice the contacts, as a CSV upload
    hist = demo_world.history
    start = pd.Timestamp("2026-11-23", tz="UTC") - pd.Timedelta(weeks=8)
    part = hist[hist["interval_start"] >= start].assign(contacts=lambda d: d["contacts"] * 2)
    part = part.assign(interval_start=part["interval_start"].map(lambda t: t.isoformat()))
    frame, info = upload.read_history_upload("double.csv", part.to_csv(index=False).encode())
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S)
    at.run()
    stored = number(metrics(at)["Contacts in the planning week"])
    at.session_state["uploaded_history"] = {**info, "frame": frame}
    at.run()
    assert_clean(at)
    assert any("history from upload double.csv" in c.value for c in at.caption)
    assert any("double.csv" in c.value for c in at.sidebar.caption)
    doubled = number(metrics(at)["Contacts in the planning week"])
    assert 1.5 * stored < doubled < 2.5 * stored


def test_whatif_page_recomputes_required_agents(app_env, demo_store):
    at = open_page("whatif_page")
    assert [t.value for t in at.title] == ["What-if staffing"]
    before = metrics(at)
    at.number_input(key="wi_volume").set_value(1.2).run()
    assert_clean(at)
    after = metrics(at)
    for label in ("Peak required agents", "Productive agent-hours", "Headcount-hours"):
        assert number(after[label]) > number(before[label]), label
    assert {m.label: m.delta for m in at.metric}["Productive agent-hours"].startswith("+")
    # independent check: the library on the same what-if gives the page's figures
    sc, fc = baseline_plan(app_env, demo_store)
    text = common.whatif_toml(sc, common.WhatIfKnobs(volume_factor=1.2))
    whatif = scenario_mod.loads(text, name="x", base_dir=app_env["scenarios"])
    req = staffing.requirements(common.planning_window(fc.frame, sc), whatif)
    summary = staffing.summarize(req, sc.planning.interval_min)
    assert number(after["Productive agent-hours"]) == pytest.approx(summary["agent_hours"],
                                                                     abs=0.5)
    peak = req.groupby("interval_start")["agents"].sum().max()
    assert number(after["Peak required agents"]) == peak
    # the chart stacks every queue over the week
    data = chart_data(at)[0]
    assert data["queue"].nunique() == req["queue"].nunique()
    assert len(data) == len(req)


def test_whatif_shrinkage_moves_headcount_not_agents(app_env):
    at = open_page("whatif_page")
    before = metrics(at)
    at.slider(key="wi_shrinkage").set_value(40).run()
    assert_clean(at)
    after = metrics(at)
    assert after["Productive agent-hours"] == before["Productive agent-hours"]
    assert number(after["Headcount-hours"]) > number(before["Headcount-hours"])


def test_whatif_for_one_market_moves_less_than_for_all(app_env):
    at = open_page("whatif_page")
    base = number(metrics(at)["Productive agent-hours"])
    at.multiselect(key="wi_volume_markets").select("KR").run()
    at.number_input(key="wi_volume").set_value(1.5).run()
    assert_clean(at)
    one = number(metrics(at)["Productive agent-hours"])
    at.multiselect(key="wi_volume_markets").unselect("KR").run()
    assert_clean(at)
    every = number(metrics(at)["Productive agent-hours"])
    assert base < one < every


def test_whatif_survives_a_page_switch_and_reaches_the_sidebar(app_env):
    at = open_page("whatif_page")
    at.number_input(key="wi_volume").set_value(1.3).run()
    # the sidebar tells the what-if of this run, not of the run before
    assert any("volume x1.30" in c.value for c in at.sidebar.caption)
    at.number_input(key="wi_volume").set_value(1.2).run()
    assert any("volume x1.20" in c.value for c in at.sidebar.caption)
    at.number_input(key="wi_volume").set_value(1.3).run()
    value = metrics(at)["Productive agent-hours"]
    at.switch_page("wfm/ui/forecast_page.py").run()
    assert any("volume x1.30" in c.value for c in at.sidebar.caption)
    at.switch_page("wfm/ui/whatif_page.py").run()
    assert_clean(at)
    assert at.number_input(key="wi_volume").value == pytest.approx(1.3)
    assert metrics(at)["Productive agent-hours"] == value
    at.sidebar.button(key="clear_whatif").click().run()
    assert at.number_input(key="wi_volume").value == pytest.approx(1.0)


def test_whatif_saves_a_scenario_with_a_safe_name_only(app_env):
    at = open_page("whatif_page")
    at.number_input(key="wi_aht").set_value(1.1).run()
    at.text_input(key="wv_save_name").input("../../escape").run()
    at.button(key="wv_save").click().run()
    assert not at.exception
    assert any("not allowed" in e.value for e in at.error)
    assert not (app_env["scenarios"].parent.parent / "escape.toml").exists()
    at.text_input(key="wv_save_name").input("aht_up").run()
    at.button(key="wv_save").click().run()
    assert_clean(at)
    saved = scenario_mod.load(app_env["scenarios"] / "aht_up.toml")
    assert saved.name == "aht_up"
    assert [a.factor for a in saved.whatif.aht] == [1.1]
    (app_env["scenarios"] / "aht_up.toml").unlink()


def test_kpi_page_filters_and_explains(app_env, demo_store):
    at = open_page("kpi_page")
    assert [t.value for t in at.title] == ["Agent KPIs"]
    total = number(metrics(at)["Agents shown"])
    at.multiselect(key="kpi_sites").select("Shenzhen").run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert set(table["site"]) == {"Shenzhen"}
    assert number(metrics(at)["Agents shown"]) == len(table) < total
    at.multiselect(key="kpi_bands").select("night").run()
    assert_clean(at)
    night = at.dataframe[0].value
    assert len(night) < len(table) and set(night["band"]) == {"night"}
    # raw and adjusted are both there, and they differ
    assert not np.allclose(night["raw_score"], night["score"])
    agent = at.selectbox(key="kpi_agent").value
    text = " ".join(m.value for m in at.markdown)
    row = night[night["agent_id"] == agent].iloc[0]
    assert row["explanation"] in text
    assert "expected" in text and "for your shifts and contact mix" in text


def test_scenarios_page_validates_saves_and_refuses_bad_names(app_env):
    at = open_page("scenarios_page")
    assert [t.value for t in at.title] == ["Scenarios"]
    area = at.text_area(key="sc_text_baseline.toml")
    good = area.value
    area.input(good.replace("shrinkage = 0.30", "shrinkage = 30")).run()
    assert not at.exception
    assert any("targets.shrinkage" in e.value for e in at.error)
    at.text_area(key="sc_text_baseline.toml").input(
        good.replace("shrinkage = 0.30", "shrinkage = 0.25")).run()
    assert_clean(at)
    at.text_input(key="sc_name_baseline.toml").input("../outside").run()
    at.button(key="sc_save").click().run()
    assert any("not allowed" in e.value for e in at.error)
    assert not (app_env["scenarios"].parent / "outside.toml").exists()
    at.text_input(key="sc_name_baseline.toml").input("lean").run()
    at.button(key="sc_save").click().run()
    assert_clean(at)
    assert scenario_mod.load(app_env["scenarios"] / "lean.toml").targets.shrinkage == 0.25
    # the saved scenario became the sidebar's pick, and the page edits it now
    assert at.sidebar.selectbox(key="scenario_pick").value == "lean.toml"
    assert any("Saved lean.toml" in s.value for s in at.success)
    assert at.text_area(key="sc_text_lean.toml").value.count("shrinkage = 0.25") == 1
    at.run()
    assert at.sidebar.selectbox(key="scenario_pick").value == "lean.toml"
    (app_env["scenarios"] / "lean.toml").unlink()


def test_a_broken_store_is_a_message_not_a_traceback(app_env, tmp_path, monkeypatch):
    bad = tmp_path / "not-a-store.duckdb"
    bad.write_bytes(b"this is not a DuckDB file" * 100)
    monkeypatch.setenv("WFM_STORE", str(bad))
    for page in (None, "whatif_page", "kpi_page"):
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S).run()
        if page:
            at.switch_page(f"wfm/ui/{page}.py").run()
        assert not at.exception
        assert any(str(bad) in e.value for e in at.error), page


def test_a_fresh_store_gets_the_demo_world(app_env, tmp_path, monkeypatch):
    fresh = tmp_path / "fresh.duckdb"
    monkeypatch.setenv("WFM_STORE", str(fresh))
    at = open_page("whatif_page")
    assert fresh.is_file()
    from wfm.store import Store

    with Store(fresh) as store:
        assert store.has_demo()
        assert store.counts()["agents"] == len(pipeline.demo_world().agents)
    assert number(metrics(at)["Peak required agents"]) > 0


def test_every_page_renders(app_env):
    at = open_page()
    for path, title, _, _ in __import__("wfm.ui", fromlist=["PAGES"]).PAGES:
        at.switch_page(path).run()
        assert not at.exception, (path, [e.value for e in at.exception])
        assert [t.value for t in at.title] == [title]


# -- rosters made by hand (contract frames), for the Roster and Coverage pages -----------------


def hand_roster(world, sc):
    """
    The demo world's worked shifts of the week before the planning week, moved one week
    on, and an allocation of every working interval (breaks excluded) to the agent's
    first language's voice queue: contract frames, with no solver involved.
    """
    week = [sc.planning.week_start - dt.timedelta(days=7 - i) for i in range(7)]
    part = world.shifts[world.shifts["date"].isin(week)].drop(columns="nesting")
    later = pd.Timedelta(days=7)
    zones = sc.site_zones
    part = part.assign(date=[d + dt.timedelta(days=7) for d in part["date"]],
                       start_utc=part["start_utc"] + later, end_utc=part["end_utc"] + later)
    part = part.assign(
        start_local=[t.tz_convert(zones[s]).isoformat() for t, s in
                     zip(part["start_utc"], part["site"], strict=True)],
        end_local=[t.tz_convert(zones[s]).isoformat() for t, s in
                   zip(part["end_utc"], part["site"], strict=True)])
    roster = schema.sort_frame(part.reset_index(drop=True), "roster")
    language = world.agents.set_index("agent_id")["languages"].map(lambda v: v[0])
    step = pd.Timedelta(minutes=sc.planning.interval_min)
    rows = []
    for r in roster.itertuples():
        local = r.start_utc.tz_convert(zones[r.site])
        breaks = []
        for text in filter(None, r.breaks.split(";")):
            a, b = (pd.Timedelta(hours=int(x[:2]), minutes=int(x[3:])) for x in text.split("-"))
            for day in (0, 1):
                begin = (local.normalize() + pd.Timedelta(days=day) + a).tz_convert("UTC")
                if r.start_utc <= begin < r.end_utc:
                    breaks.append((begin, begin + (b - a) % pd.Timedelta(days=1)))
                    break
        for t in pd.date_range(r.start_utc, r.end_utc - step, freq=step):
            if not any(b0 < t + step and t < b1 for b0, b1 in breaks):
                rows.append((t, r.agent_id, f"{language[r.agent_id]}_voice"))
    alloc = pd.DataFrame(rows, columns=["interval_start", "agent_id", "queue"])
    alloc = alloc[(alloc["interval_start"] >= sc.planning.start_utc)
                  & (alloc["interval_start"] < sc.planning.end_utc)]
    alloc["interval_start"] = alloc["interval_start"].astype("datetime64[ns, UTC]")
    return roster, schema.sort_frame(alloc.reset_index(drop=True), "allocation")


@pytest.fixture(scope="module")
def hand_solved(app_env, demo_store, demo_world):
    """Two hand rosters as the Roster page keeps them: the baseline's and the same shifts
    judged against 30 % more volume."""
    sc, fc = baseline_plan(app_env, demo_store)
    roster, alloc = hand_roster(demo_world, sc)
    out = []
    for label, scenario in (("hand baseline", sc), ("hand +30 %", scenario_mod.loads(
            common.whatif_toml(sc, common.WhatIfKnobs(volume_factor=1.3)), name="more",
            base_dir=app_env["scenarios"]))):
        week = common.planning_window(fc.frame, scenario)
        req = staffing.requirements(week, scenario)
        result = types.SimpleNamespace(roster=roster, allocation=alloc, report={
            "status": "FEASIBLE", "objective": 1.0, "best_bound": 1.0, "gap": 0.0,
            "wall_time_s": 0.0, "trace": [], "under_coverage_h": {}, "over_coverage_h": {}})
        out.append(common.SolvedRoster(label=label, key=f"test-{label}", scenario=scenario,
                                       result=result, requirement=req, forecast=week,
                                       agents=demo_world.agents))
    return out


def _roster_module():
    """``wfm.roster``; the lead commits it separately, and until then these tests skip."""
    return pytest.importorskip("wfm.roster", reason="wfm.roster is not in this tree yet")


def with_rosters(at: AppTest, solved) -> AppTest:
    at.session_state["rosters"] = {s.label: s for s in solved}
    return at


def test_coverage_page_without_a_roster_says_how_to_get_one(app_env):
    at = open_page("coverage_page")
    assert any("Roster" in i.value for i in at.info)


def test_coverage_page_heatmaps_and_sla(app_env, hand_solved):
    from wfm import coverage

    at = with_rosters(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S),
                      hand_solved[:1])
    at.run()
    at.switch_page("wfm/ui/coverage_page.py").run()
    assert_clean(at)
    solved = hand_solved[0]
    expect = coverage.coverage(solved.result.roster, solved.result.allocation,
                               solved.requirement, solved.scenario, forecast=solved.forecast)
    iv = expect.intervals
    sl = (iv["contacts"] * iv["service_level"]).sum() / iv["contacts"].sum()
    assert metrics(at)["Projected service level"] == f"{sl:.1%}"
    # the queue heatmap: mean gap per UTC date and hour, summed over queues
    gap, sla = chart_data(at, 0)[0], at.dataframe[0].value
    per = iv.groupby("interval_start")["gap"].sum()
    assert gap["value"].sum() == pytest.approx(per.groupby(
        [per.index.date, per.index.hour]).mean().sum())
    assert len(gap) == 7 * 24
    weekly = expect.weekly[expect.weekly["channel"] == "all"]
    assert list(sla["market"]) == sorted(weekly["market"])
    # one queue only: its own gap
    at.selectbox(key="cv_queue").select("de_voice").run()
    assert_clean(at)
    de = iv[iv["queue"] == "de_voice"]
    assert chart_data(at, 0)[0]["value"].sum() == pytest.approx(
        de.groupby([de["interval_start"].dt.date, de["interval_start"].dt.hour])["gap"]
        .mean().sum())
    # the display time zone moves the heatmap's hours
    at.sidebar.selectbox(key="display_zone_label").select("market JP (Asia/Tokyo)").run()
    assert_clean(at)
    first = chart_data(at, 0)[0].sort_values(["date", "hour"]).iloc[0]
    assert (first["date"], first["hour"]) == ("2026-11-23 Mon", 9)


def test_coverage_page_compares_two_rosters(app_env, hand_solved):
    at = with_rosters(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S),
                      hand_solved)
    at.run()
    at.switch_page("wfm/ui/coverage_page.py").run()
    at.toggle(key="cv_compare").set_value(True).run()
    assert_clean(at)
    levels = [number(m.value.rstrip("%")) for m in at.metric
              if m.label == "Projected service level"]
    assert len(levels) == 2
    # the same shifts against 30 % more volume serve fewer contacts in time
    assert at.selectbox(key="cv_a").value.endswith("hand +30 %")
    assert levels[0] < levels[1]
    table = at.dataframe[0].value
    assert (table["change"].dropna() >= -1e-9).all()


def test_roster_page_shows_a_roster_per_site_in_local_time(app_env, hand_solved):
    from wfm import export
    from wfm.ui import roster_page

    check_roster = _roster_module().check_roster

    solved = hand_solved[0]
    roster = solved.result.roster
    at = with_rosters(AppTest.from_file(str(REPO / "app.py"), default_timeout=TIMEOUT_S),
                      hand_solved[:1])
    at.run()
    at.switch_page("wfm/ui/roster_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert metrics(at)["Shifts"] == f"{len(roster):,}"
    # the timeline of the first site, in its local time
    site = at.selectbox(key="ro_site").value
    zone = solved.scenario.site_zones[site]
    bars = chart_data(at, 0)[0]
    mine = roster[roster["site"] == site]
    assert len(bars) == len(mine)
    local = mine["start_utc"].dt.tz_convert(zone).dt.tz_localize(None)
    assert bars["start"].min() == local.min()
    # another site: other bars, in that site's zone
    other = [s for s in sorted(roster["site"].unique()) if s != site][0]
    at.selectbox(key="ro_site").select(other).run()
    assert not at.exception
    bars = chart_data(at, 0)[0]
    theirs = roster[roster["site"] == other]
    assert len(bars) == len(theirs)
    assert bars["start"].min() == theirs["start_utc"].dt.tz_convert(
        solved.scenario.site_zones[other]).dt.tz_localize(None).min()
    # one day only
    day = at.selectbox(key="ro_day").options[1]
    at.selectbox(key="ro_day").select(day).run()
    assert 0 < len(chart_data(at, 0)[0]) < len(theirs)
    # the rule check: these hand-made shifts break rules, and the page lists them all
    expected = check_roster(roster, solved.result.allocation, solved.agents, solved.scenario)
    assert expected
    assert [e.value for e in at.error] == [f"Rule check: {len(expected)} violation(s)."]
    # the downloads are the exports of wfm.export
    csv = roster_page._downloads(solved.key, "csv", solved).decode()
    assert csv == export.roster_csv(roster, solved.scenario.site_zones,
                                    allocation=solved.result.allocation)
    xlsx = roster_page._downloads(solved.key, "xlsx", solved)
    assert xlsx[:2] == b"PK"
    assert len(at.get("download_button")) == 3


def test_roster_page_solves_with_progress(app_env, monkeypatch):
    """The Solve button calls the solver on the working scenario and keeps its result; a
    solver that fails shows a message, never a traceback."""
    roster_mod = _roster_module()
    calls = []

    def fake_solve(requirement, agents, scenario, *, progress=None, time_limit_s=None,
                   previous_roster=None):
        calls.append((scenario.name, time_limit_s, len(requirement)))
        progress(20, 100, "LP relaxation, bound 10.0")
        # CP-SAT calls back from its own threads
        worker = threading.Thread(target=progress, args=(60, 100, "assigning: incumbent 12.0"))
        worker.start()
        worker.join()
        raise RuntimeError("solver out of order")

    monkeypatch.setattr(roster_mod, "solve_roster", fake_solve)
    at = open_page("roster_page")
    assert any("No roster solved" in i.value for i in at.info)
    at.number_input(key="ro_time_limit").set_value(15).run()
    at.button(key="ro_solve").click().run()
    assert not at.exception
    assert calls == [("baseline", 15.0, 14 * 336)]
    assert any("solver out of order" in e.value for e in at.error)


def test_a_solved_roster_reaches_the_coverage_page(app_env, hand_solved, monkeypatch):
    roster_mod = _roster_module()

    def fake_solve(requirement, agents, scenario, *, progress=None, time_limit_s=None,
                   previous_roster=None):
        progress(100, 100, "done")
        return hand_solved[0].result

    monkeypatch.setattr(roster_mod, "solve_roster", fake_solve)
    at = open_page("whatif_page")
    at.number_input(key="wi_volume").set_value(1.1).run()
    at.switch_page("wfm/ui/roster_page.py").run()
    at.button(key="ro_solve").click().run()
    assert not at.exception
    assert metrics(at)["Shifts"] == f"{len(hand_solved[0].result.roster):,}"
    label = at.selectbox(key="ro_pick").value
    assert label.startswith("baseline_whatif solved at")
    at.switch_page("wfm/ui/coverage_page.py").run()
    assert_clean(at)
    assert at.selectbox(key="cv_a").value == f"session: {label}"
    assert "Projected service level" in metrics(at)


def test_coverage_page_reads_run_folders(app_env, hand_solved, demo_world):
    from wfm import coverage

    solved = hand_solved[0]
    r = solved.result
    result = coverage.coverage(r.roster, r.allocation, solved.requirement, solved.scenario,
                               forecast=solved.forecast)
    ctx = pipeline.RunContext(solved.scenario, pipeline.Inputs(demo_world.history,
                                                               demo_world.agents))
    ctx.frames.update(roster=r.roster, allocation=r.allocation, coverage=result.intervals,
                      coverage_markets=result.markets, sla_weekly=result.weekly)
    folder = app_env["runs"] / "hand_run"
    pipeline.write_bundle(folder, ctx)
    try:
        at = open_page("coverage_page")
        assert at.selectbox(key="cv_a").value == "run folder: hand_run"
        iv = result.intervals
        sl = (iv["contacts"] * iv["service_level"]).sum() / iv["contacts"].sum()
        assert metrics(at)["Projected service level"] == f"{sl:.1%}"
        week = result.weekly[result.weekly["channel"] == "all"]
        assert metrics(at)["Markets meeting the SLA (week)"] == (
            f"{int(week['met'].sum())} of {len(week)}")
    finally:
        shutil.rmtree(folder)


def test_the_solve_reaches_back_into_the_published_week_before(app_env, demo_store, demo_world,
                                                               tmp_path, monkeypatch):
    roster_mod = _roster_module()
    from wfm.store import Store

    store = tmp_path / "published.duckdb"
    shutil.copy(demo_store, store)
    week_before = dt.date(2026, 11, 16)
    last_week = demo_world.shifts[demo_world.shifts["date"].isin(
        [week_before + dt.timedelta(days=i) for i in range(7)])].drop(columns="nesting")
    with Store(store) as s:
        s.publish_roster(last_week.reset_index(drop=True), week_start=week_before)
    monkeypatch.setenv("WFM_STORE", str(store))
    seen = []

    def fake_solve(requirement, agents, scenario, *, progress=None, time_limit_s=None,
                   previous_roster=None):
        seen.append(previous_roster)
        raise RuntimeError("stop here")

    monkeypatch.setattr(roster_mod, "solve_roster", fake_solve)
    at = open_page("roster_page")
    at.button(key="ro_solve").click().run()
    assert not at.exception
    assert len(seen) == 1 and seen[0] is not None
    assert len(seen[0]) == len(last_week)
    assert set(seen[0]["agent_id"]) == set(last_week["agent_id"])


def test_scenarios_page_runs_a_scenario_into_a_run_folder(app_env, hand_solved, demo_store,
                                                         tmp_path, monkeypatch):
    """'Run it' runs every stage (the solver replaced by the hand roster, to stay fast) and
    the run folder then appears on the Coverage page."""
    roster_mod = _roster_module()
    store = tmp_path / "runs.duckdb"  # a run is recorded in the store: not the shared one
    shutil.copy(demo_store, store)
    monkeypatch.setenv("WFM_STORE", str(store))
    hand = hand_solved[0].result
    report = {**hand.report, "unservable": [], "required_h": 1.0, "under_coverage_total_h": 0.0,
              "shifts": len(hand.roster), "agents_rostered": hand.roster["agent_id"].nunique(),
              "paid_h": hand.roster["paid_min"].sum() / 60}
    monkeypatch.setattr(roster_mod, "solve_roster", lambda *a, **k: types.SimpleNamespace(
        roster=hand.roster, allocation=hand.allocation, report=report))
    at = open_page("scenarios_page")
    at.button(key="sc_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("outputs in" in s.value for s in at.success)
    folder = app_env["runs"] / "baseline"
    try:
        summary, frames = pipeline.read_bundle(folder)
        assert {"forecast", "requirement", "roster", "allocation", "coverage"} <= set(frames)
        assert len(frames["roster"]) == len(hand.roster)
        from wfm.store import Store

        with Store(store) as s:
            assert s.runs()["status"].tolist() == ["done"]
        at.switch_page("wfm/ui/coverage_page.py").run()
        assert_clean(at)
        assert "run folder: baseline" in at.selectbox(key="cv_a").options
    finally:
        shutil.rmtree(folder, ignore_errors=True)
