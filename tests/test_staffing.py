"""Tests of wfm.staffing, the staffing stage of the pipeline and `wfm staff`."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from wfm import erlang, pipeline, schema, staffing
from wfm import scenario as scenario_mod
from wfm.cli import main
from wfm.errors import InputError

SCENARIOS = REPO / "scenarios"


ONE_WEEK = pd.Timedelta(weeks=1)


def as_forecast(history: pd.DataFrame, week_start: pd.Timestamp, *,
                shift: pd.Timedelta = ONE_WEEK) -> pd.DataFrame:
    """A synthetic forecast: the week before ``week_start`` shifted forward (contract)."""
    src = history[(history["interval_start"] >= week_start - shift)
                  & (history["interval_start"] < week_start - shift + pd.Timedelta(weeks=1))]
    out = src[["interval_start", "market", "language", "channel"]].copy()
    out["interval_start"] = out["interval_start"] + shift
    out["contacts"] = src["contacts"].astype(float).to_numpy()
    out["contacts_lo"] = out["contacts"] * 0.8
    out["contacts_hi"] = out["contacts"] * 1.25
    out["aht_s"] = src["aht_s"].to_numpy()
    out["model"] = "last_week"
    return schema.sort_frame(out, "forecast")


def with_overrides(text: str, name: str = "whatif") -> scenario_mod.Scenario:
    return scenario_mod.loads(f'base = "baseline.toml"\nname = "{name}"\n{text}',
                              name=name, base_dir=SCENARIOS)


@pytest.fixture(scope="module")
def forecast(demo_world, baseline):
    return as_forecast(demo_world.history, baseline.planning.start_utc)


@pytest.fixture(scope="module")
def req(forecast, baseline):
    return staffing.requirements(forecast, baseline)


# -- the requirement frame ----------


def test_requirement_follows_the_contract_and_the_planning_grid(req, baseline, forecast):
    schema.validate(req, "requirement", interval_min=30)
    assert list(req.columns) == staffing.COLUMNS
    assert req.index.equals(pd.RangeIndex(len(req)))
    assert req.equals(schema.sort_frame(req, "requirement"))
    start, end = baseline.planning.start_utc, baseline.planning.end_utc
    assert req["interval_start"].min() == start
    assert req["interval_start"].max() == end - pd.Timedelta(minutes=30)
    assert (req.groupby("queue").size() == 7 * 48).all()
    assert req["agents"].dtype == np.int64 and req["headcount"].dtype == np.int64
    # every forecast contact lands in a queue, spread evenly over the half hours
    assert req["contacts"].sum() == pytest.approx(forecast["contacts"].sum())
    en = req[req["queue"] == "en_voice"].set_index("interval_start")["contacts"]
    assert en.iloc[0] == pytest.approx(en.iloc[1])  # 00:00 and 00:30 halve the 00:00 hour


def test_queues_pool_markets_by_language_and_channel(req, baseline):
    assert set(req["queue"]) == {f"{lang}_{ch}" for m in baseline.markets
                                 for lang in m.languages for ch in m.channels}
    qmap = staffing.queue_map(baseline)
    assert list(qmap.columns) == ["market", "language", "channel", "queue"]
    assert set(qmap.loc[qmap["language"] == "en", "market"]) == {"US", "GB", "AU"}
    assert (qmap.loc[(qmap["market"] == "US") & (qmap["channel"] == "voice"), "queue"]
            == "en_voice").all()
    assert (req["language"] == req["queue"].str.split("_").str[0]).all()


def test_voice_intervals_meet_every_target_with_the_fewest_agents(req):
    voice = req[req["channel"] == "voice"]
    busy = voice[voice["contacts"] > 0]
    assert (busy["service_level"] >= busy["target_service_level"] - 1e-12).all()
    assert (busy["asa_s"] <= busy["target_asa_s"] + 1e-9).all()
    assert (busy["occupancy"] <= busy["target_max_occupancy"] + 1e-12).all()
    fewer = busy["agents"] - 1
    sl = erlang.service_level(busy["traffic_erl"], fewer, busy["aht_s"],
                              busy["target_answer_s"])
    asa = erlang.average_speed_of_answer(busy["traffic_erl"], fewer, busy["aht_s"])
    occ = erlang.occupancy(busy["traffic_erl"], fewer)
    misses = ((sl < busy["target_service_level"]) | (asa > busy["target_asa_s"])
              | (occ > busy["target_max_occupancy"]) | (fewer <= busy["traffic_erl"]))
    assert misses.all()
    # zero traffic needs zero agents
    idle = req[req["contacts"] == 0]
    assert (idle["agents"] == 0).all() and (idle["headcount"] == 0).all()


def test_chat_uses_concurrency_slots_and_the_first_response_target(req, baseline):
    chat = req[(req["channel"] == "chat") & (req["contacts"] > 0)]
    assert len(chat)
    k = baseline.targets.chat.concurrency
    assert (chat["target_answer_s"] == baseline.targets.chat.answer_target_s).all()
    expected = erlang.chat_required_agents(chat["traffic_erl"], chat["aht_s"], concurrency=k,
                                           first_response_s=30, target_service_level=0.8,
                                           max_occupancy=baseline.targets.max_occupancy)
    np.testing.assert_array_equal(chat["agents"], expected)
    assert (chat["service_level"] >= 0.8).all()
    np.testing.assert_allclose(chat["occupancy"], chat["traffic_erl"] / (chat["agents"] * k))


def test_headcount_is_agents_over_one_minus_shrinkage(req, baseline):
    expected = np.ceil(req["agents"] / (1 - baseline.targets.shrinkage) - 1e-9)
    np.testing.assert_array_equal(req["headcount"], expected)
    # the published example: 14 agents with 30 % shrinkage -> 20
    assert math.ceil(14 / (1 - 0.3) - 1e-9) == 20


def test_inputs_are_not_mutated(forecast, baseline):
    before = forecast.copy()
    staffing.requirements(forecast, baseline)
    pd.testing.assert_frame_equal(forecast, before)


# -- targets, splits and what-ifs ----------


def test_pooled_queue_takes_the_strictest_target_of_its_markets(forecast):
    strict = scenario_mod.load(SCENARIOS / "arabic_strict.toml")
    req = staffing.requirements(forecast, strict)
    assert (req.loc[req["queue"] == "ar_voice", "target_asa_s"] == 15).all()
    assert (req.loc[req["queue"] == "en_voice", "target_asa_s"] == 20).all()
    # an override for one market of a pooled queue applies to the whole pool
    one = with_overrides("[[targets.overrides]]\nmarkets = [\"AU\"]\nchannels = [\"voice\"]\n"
                         "target_service_level = 0.9\nanswer_target_s = 10\n")
    req_one = staffing.requirements(forecast, one)
    en = req_one[req_one["queue"] == "en_voice"]
    assert (en["target_service_level"] == 0.9).all() and (en["target_answer_s"] == 10).all()
    base = staffing.requirements(forecast, with_overrides("", "same"))
    assert (en["agents"].to_numpy() >= base.loc[base["queue"] == "en_voice",
                                                "agents"].to_numpy()).all()


def test_split_market_gets_its_own_queue_and_keeps_its_target(forecast):
    split = with_overrides(
        "[[queues.split]]\nmarket = \"AU\"\nchannels = [\"voice\"]\n"
        "[[targets.overrides]]\nmarkets = [\"AU\"]\nchannels = [\"voice\"]\n"
        "target_service_level = 0.9\n")
    req = staffing.requirements(forecast, split)
    assert "en_voice_AU" in set(req["queue"]) and "en_chat" in set(req["queue"])
    assert (req.loc[req["queue"] == "en_voice_AU", "target_service_level"] == 0.9).all()
    assert (req.loc[req["queue"] == "en_voice", "target_service_level"] == 0.8).all()
    au = forecast[(forecast["market"] == "AU") & (forecast["channel"] == "voice")]
    start = split.planning.start_utc
    in_week = au[(au["interval_start"] >= start)
                 & (au["interval_start"] < split.planning.end_utc)]
    assert req.loc[req["queue"] == "en_voice_AU", "contacts"].sum() == pytest.approx(
        in_week["contacts"].sum())
    qmap = staffing.queue_map(split)
    assert qmap.loc[(qmap["market"] == "AU") & (qmap["channel"] == "voice"),
                    "queue"].item() == "en_voice_AU"
    assert qmap.loc[(qmap["market"] == "AU") & (qmap["channel"] == "chat"),
                    "queue"].item() == "en_chat"


def test_whatif_volume_and_aht_multiply_the_selected_markets(forecast, req):
    friday = scenario_mod.load(SCENARIOS / "black_friday.toml")
    hot = staffing.requirements(forecast, friday)
    fc = forecast[(forecast["interval_start"] >= friday.planning.start_utc)
                  & (forecast["interval_start"] < friday.planning.end_utc)]
    en_voice = fc[(fc["language"] == "en") & (fc["channel"] == "voice")]
    us_gb = en_voice["market"].isin(["US", "GB"])
    expected = (en_voice.loc[us_gb, "contacts"].sum() * 1.6
                + en_voice.loc[~us_gb, "contacts"].sum())
    assert hot.loc[hot["queue"] == "en_voice", "contacts"].sum() == pytest.approx(expected)
    assert (hot.loc[hot["queue"] == "de_voice", "agents"].to_numpy()
            == req.loc[req["queue"] == "de_voice", "agents"].to_numpy()).all()
    slower = with_overrides("[[whatif.aht]]\nlanguages = [\"de\"]\nfactor = 1.5\n")
    s = staffing.requirements(forecast, slower)
    de_new = s[(s["queue"] == "de_voice") & (s["contacts"] > 0)]
    de_old = req[(req["queue"] == "de_voice") & (req["contacts"] > 0)]
    np.testing.assert_allclose(de_new["aht_s"].to_numpy(), de_old["aht_s"].to_numpy() * 1.5)
    assert de_new["agents"].sum() > de_old["agents"].sum()


def test_patience_switches_voice_to_erlang_a(forecast):
    patient = with_overrides("[targets.voice]\ntarget_service_level = 0.8\n"
                             "answer_target_s = 20\npatience_s = 90\n")
    req = staffing.requirements(forecast, patient)
    voice = req[(req["channel"] == "voice") & (req["contacts"] > 0)]
    res = erlang.erlang_a(voice["traffic_erl"], voice["agents"], voice["aht_s"], 90.0, 20.0)
    np.testing.assert_allclose(voice["service_level"], res.service_level)
    assert (voice["service_level"] >= 0.8).all()
    fewer = erlang.erlang_a(voice["traffic_erl"], voice["agents"] - 1, voice["aht_s"], 90.0,
                            20.0)
    assert ((fewer.service_level < 0.8) | (voice["agents"] - 1 < 1)).all()


def test_email_queue_is_level_staffed_to_its_deadline(forecast, baseline):
    markets = tuple(dataclasses.replace(m, channels=("voice", "email")) if m.code == "US"
                    else m for m in baseline.markets)
    email = dataclasses.replace(baseline, markets=markets)
    fc = forecast[forecast["market"] == "US"].copy()
    mail = fc[fc["channel"] == "voice"].copy()
    mail["channel"] = "email"
    mail["contacts"] = mail["contacts"] * 0.5
    mail["contacts_lo"] = mail["contacts"] * 0.8
    mail["contacts_hi"] = mail["contacts"] * 1.25
    mail["aht_s"] = 420.0
    req = staffing.requirements(pd.concat([fc[fc["channel"] == "voice"], mail]), email)
    em = req[req["queue"] == "en_email"]
    assert em["agents"].nunique() == 1 and em["agents"].iloc[0] > 0
    assert (em["target_answer_s"] == 24 * 3600).all()
    assert (em["service_level"] >= 0.9).all()
    level = em["agents"].iloc[0]
    contacts = em["contacts"].to_numpy()
    fewer = erlang.deferred_within_deadline(contacts, 420.0, level - 1, 1800.0, 24 * 3600.0)
    assert fewer < 0.9


# -- bad and awkward input ----------


def test_forecast_missing_part_of_the_week_is_rejected(forecast, baseline):
    cut = forecast[~((forecast["market"] == "JP") & (forecast["channel"] == "chat")
                     & (forecast["interval_start"] >= baseline.planning.start_utc
                        + pd.Timedelta(days=3)))]
    with pytest.raises(InputError, match=r"JP/ja/chat.*missing.*first: 2026-11-26T00:00"):
        staffing.requirements(cut, baseline)
    later = with_overrides("[planning]\nweek_start = 2027-01-04\n")
    with pytest.raises(InputError, match="no rows in the planning window"):
        staffing.requirements(forecast, later)


def test_missing_aht_with_contacts_uses_the_series_mean(forecast, baseline):
    holes = forecast.copy()
    busy = holes.index[(holes["market"] == "FR") & (holes["contacts"] > 0)][:20]
    holes.loc[busy, "aht_s"] = np.nan
    req = staffing.requirements(holes, baseline)
    fr = req[(req["queue"] == "fr_voice") & (req["contacts"] > 0)]
    assert fr["aht_s"].notna().all() and (fr["agents"] > 0).all()
    none = forecast.copy()
    none.loc[none["market"] == "TR", "aht_s"] = np.nan
    with pytest.raises(InputError, match="tr_voice.*no AHT"):
        staffing.requirements(none, baseline)


def test_a_queue_with_no_contacts_needs_no_agents(forecast, baseline):
    quiet = forecast.copy()
    ko = quiet["language"] == "ko"
    quiet.loc[ko, ["contacts", "contacts_lo", "contacts_hi"]] = 0.0
    quiet.loc[ko, "aht_s"] = np.nan
    req = staffing.requirements(quiet, baseline)
    ko_req = req[req["queue"] == "ko_voice"]
    assert len(ko_req) == 7 * 48
    assert (ko_req["agents"] == 0).all() and (ko_req["service_level"] == 1).all()


def test_bad_forecast_frame_is_an_input_error(forecast, baseline):
    bad = forecast.drop(columns=["contacts"])
    with pytest.raises(InputError, match="missing column"):
        staffing.requirements(bad, baseline)


def test_dst_week_has_every_half_hour_once(demo_world):
    # 2026-10-25: Europe leaves summer time; the plan is in UTC, so the week has 336
    # half hours per queue, whatever the sites' and markets' clocks do
    dst = with_overrides("[planning]\nweek_start = 2026-10-19\n", "dst")
    fc = as_forecast(demo_world.history, dst.planning.start_utc, shift=pd.Timedelta(0))
    req = staffing.requirements(fc, dst)
    assert (req.groupby("queue").size() == 336).all()
    assert not req.duplicated(["interval_start", "queue"]).any()


def test_quarter_hour_forecast_is_summed_to_the_half_hour(forecast, baseline):
    quarter = forecast.copy()
    parts = []
    for i in range(4):
        p = quarter.copy()
        p["interval_start"] = p["interval_start"] + pd.Timedelta(minutes=15 * i)
        p[["contacts", "contacts_lo", "contacts_hi"]] = p[["contacts", "contacts_lo",
                                                         "contacts_hi"]] / 4
        parts.append(p)
    fine = schema.sort_frame(pd.concat(parts, ignore_index=True), "forecast")
    req_fine = staffing.requirements(fine, baseline)
    req = staffing.requirements(forecast, baseline)
    np.testing.assert_allclose(req_fine["contacts"], req["contacts"])
    np.testing.assert_array_equal(req_fine["agents"], req["agents"])


# -- pipeline and CLI ----------


def _ctx(baseline, forecast=None):
    inputs = pipeline.Inputs(pd.DataFrame(), pd.DataFrame(), source="test")
    ctx = pipeline.RunContext(baseline, inputs)
    if forecast is not None:
        ctx.frames["forecast"] = forecast
    return ctx


def test_pipeline_stage_writes_requirement_and_summary(forecast, baseline, req):
    assert "staffing" in [name for name, _ in pipeline.STAGES]
    ctx = _ctx(baseline, forecast)
    pipeline.staff_requirements(ctx)
    pd.testing.assert_frame_equal(ctx.frames["requirement"], req)
    summary = ctx.summary["staffing"]
    en = next(q for q in summary["queues"] if q["queue"] == "en_voice")
    part = req[req["queue"] == "en_voice"]
    assert en["peak_agents"] == part["agents"].max()
    assert en["headcount_hours"] == pytest.approx(part["headcount"].sum() / 2)
    assert summary["headcount_hours"] == pytest.approx(req["headcount"].sum() / 2)
    assert any("headcount-hours" in line for line in ctx.summary["headline"])


def test_pipeline_stage_skips_without_forecast(baseline):
    ctx = _ctx(baseline)
    pipeline.staff_requirements(ctx)
    assert "requirement" not in ctx.frames
    assert any("staffing skipped" in w for w in ctx.warnings)


def test_cli_staff_with_a_forecast_file(tmp_path, forecast, req, capsys):
    file = tmp_path / "forecast.parquet"
    forecast.to_parquet(file, index=False)
    out = tmp_path / "run"
    code = main(["staff", str(SCENARIOS / "baseline.toml"), "--forecast", str(file),
                 "--out", str(out)])
    assert code == 0
    written = pd.read_parquet(out / "requirement.parquet")
    schema.validate(written, "requirement", interval_min=30)
    np.testing.assert_array_equal(written["agents"], req["agents"])
    text = capsys.readouterr().out
    assert "en_voice" in text and "headcount-hours" in text


def test_cli_staff_bad_forecast_file_exits_2(tmp_path, capsys):
    code = main(["staff", "baseline", "--forecast", str(tmp_path / "none.parquet"),
                 "--out", str(tmp_path / "run")])
    assert code == 2
    assert "forecast file not found" in capsys.readouterr().err
    broken = tmp_path / "broken.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(broken)
    assert main(["staff", "baseline", "--forecast", str(broken), "--out",
                 str(tmp_path / "run")]) == 2
    assert "missing column" in capsys.readouterr().err


def test_cli_staff_without_forecast_file(tmp_path, monkeypatch, capsys):
    """Without --forecast, `wfm staff` runs the stages before staffing (the forecast
    stage when there is one) and staffs what they give, or says to pass --forecast."""
    demo_scenario = tmp_path / "demo.toml"
    demo_scenario.write_text(f'base = "{SCENARIOS / "baseline.toml"}"\nname = "demo"\n'
                             '[data]\nsource = "demo"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the forecast stage may save its forecast under ./
    code = main(["staff", str(demo_scenario), "--out", str(tmp_path / "run")])
    if not any("forecast" in name for name, _ in pipeline.STAGES):
        assert code == 2
        assert "--forecast" in capsys.readouterr().err
        return
    assert code == 0, capsys.readouterr().err
    req = pd.read_parquet(tmp_path / "run" / "requirement.parquet")
    schema.validate(req, "requirement", interval_min=30)
    assert (req.groupby("queue").size() == 336).all() and req["agents"].sum() > 0
    assert "headcount-hours" in capsys.readouterr().out
