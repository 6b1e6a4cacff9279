"""Tests of wfm.coverage and the coverage stage of the pipeline.

The roster solver is another stage; these tests build rosters and allocations by hand
(:func:`make_shifts`, :func:`synthetic_roster`) following the data contract.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.test_staffing import as_forecast, with_overrides
from wfm import coverage, erlang, pipeline, schema, staffing
from wfm.errors import InputError

SCENARIOS = REPO / "scenarios"


# -- building rosters by hand -------------------------------------------------------------


def make_shifts(specs, site_zones: dict[str, str], interval_min: int = 30):
    """
    Roster and allocation frames (contract) from shift specs.

    ``specs``: (agent_id, site, local start 'YYYY-MM-DD HH:MM', length_min, lunch, queue)
    with ``lunch`` None or (minutes after the start, minutes). A shift is defined in
    site-local wall time: its end is the start's wall time plus its length, so a shift
    across a DST change is an hour shorter or longer in real time. The allocation holds
    every interval of the shift outside the lunch, on ``queue``.
    """
    roster, alloc = [], []
    step = pd.Timedelta(minutes=interval_min)
    for agent, site, start_text, length_min, lunch, queue in specs:
        zone = ZoneInfo(site_zones[site])
        wall0 = dt.datetime.fromisoformat(start_text)
        wall1 = wall0 + dt.timedelta(minutes=length_min)
        start = pd.Timestamp(wall0).tz_localize(zone).tz_convert("UTC")
        end = pd.Timestamp(wall1).tz_localize(zone).tz_convert("UTC")
        breaks, lunch_utc = "", None
        paid = length_min
        if lunch is not None:
            offset, minutes = lunch
            l0 = wall0 + dt.timedelta(minutes=offset)
            l1 = l0 + dt.timedelta(minutes=minutes)
            breaks = f"{l0:%H:%M}-{l1:%H:%M}"
            u0 = pd.Timestamp(l0).tz_localize(zone).tz_convert("UTC")
            lunch_utc = (u0, u0 + pd.Timedelta(minutes=minutes))
            paid -= minutes
        roster.append({
            "agent_id": agent, "date": wall0.date(), "site": site, "shift": "FT8",
            "start_utc": start, "end_utc": end,
            "start_local": start.tz_convert(zone).isoformat(),
            "end_local": end.tz_convert(zone).isoformat(), "paid_min": paid, "breaks": breaks,
        })
        t = start
        while t < end:
            if lunch_utc is None or not (lunch_utc[0] <= t < lunch_utc[1]):
                alloc.append({"interval_start": t, "agent_id": agent, "queue": queue})
            t += step
    roster = pd.DataFrame(roster)
    alloc = pd.DataFrame(alloc, columns=["interval_start", "agent_id", "queue"])
    for frame, cols in ((roster, ("start_utc", "end_utc")), (alloc, ("interval_start",))):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c], utc=True).astype("datetime64[ns, UTC]")
    roster["paid_min"] = roster["paid_min"].astype("int64")
    return schema.sort_frame(roster, "roster"), schema.sort_frame(alloc, "allocation")


#: where the synthetic agents of each language sit
LANGUAGE_SITE = {"en": "Boston", "ja": "Shenzhen", "ko": "Shenzhen"}


def synthetic_roster(requirement: pd.DataFrame, scenario, *, scale: float = 1.0):
    """
    A roster that roughly covers ``requirement``: per queue and site-local day, three
    8.5-hour shifts (00:00, 08:00, 16:00 local, lunch 4 h after the start); each shift
    has as many agents as the largest headcount of its hours x ``scale``; agent k of a
    queue and start hour works that shift every day (no days off: a fixture, not a
    roster that keeps the rules). Returns (roster, allocation, agents).
    """
    zones = scenario.site_zones
    interval_min = scenario.planning.interval_min
    req = requirement.copy()
    specs, agents = [], {}
    first = scenario.planning.week_start - dt.timedelta(days=1)
    for queue, part in req.groupby("queue", sort=True):
        language = str(part["language"].iloc[0])
        site = LANGUAGE_SITE.get(language, "Lisbon")
        zone = ZoneInfo(zones[site])
        ts = part["interval_start"]
        for d in range(scenario.planning.days + 2):
            day = first + dt.timedelta(days=d)
            for slot, hour in enumerate((0, 8, 16)):
                wall = dt.datetime.combine(day, dt.time(hour))
                s = pd.Timestamp(wall).tz_localize(zone).tz_convert("UTC")
                window = part[(ts >= s) & (ts < s + pd.Timedelta(minutes=510))]
                if window.empty:
                    continue
                n = int(math.ceil(window["headcount"].max() * scale))
                for k in range(n):
                    agent = f"{queue}-{slot}-{k:02d}"
                    specs.append((agent, site, f"{wall:%Y-%m-%d %H:%M}", 510, (240, 30), queue))
                    agents[agent] = {"agent_id": agent, "site": site, "languages": [language],
                                     "contract_hours_week": 40.0, "min_hours_week": 0.0,
                                     "role": "front_line", "night_ok": hour == 0,
                                     "availability": []}
    roster, alloc = make_shifts(specs, zones, interval_min)
    return roster, alloc, schema.sort_frame(pd.DataFrame(list(agents.values())), "agents")


def run_context(scenario, forecast, requirement, roster, allocation, agents):
    """A pipeline context holding what the stages before coverage would have made."""
    inputs = pipeline.Inputs(pd.DataFrame(), agents, source="test")
    ctx = pipeline.RunContext(scenario, inputs)
    frames = dict(forecast=forecast, requirement=requirement, roster=roster,
                  allocation=allocation)
    ctx.frames.update({k: v for k, v in frames.items() if v is not None})
    return ctx


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def forecast(demo_world, baseline):
    return as_forecast(demo_world.history, baseline.planning.start_utc)


@pytest.fixture(scope="module")
def req(forecast, baseline):
    return staffing.requirements(forecast, baseline)


@pytest.fixture(scope="module")
def synthetic(req, baseline):
    return synthetic_roster(req, baseline)


@pytest.fixture(scope="module")
def result(synthetic, req, baseline, forecast):
    roster, alloc, _ = synthetic
    return coverage.coverage(roster, alloc, req, baseline, forecast=forecast)


def random_scheduled(req: pd.DataFrame, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    head = req["headcount"].to_numpy()
    counts = np.maximum(head + rng.integers(-3, 3, size=len(req)), 0)
    return req[["interval_start", "queue"]].assign(scheduled=counts)


# -- acceptance: the projected service level is Erlang at the scheduled counts --------------


def test_projected_service_level_equals_erlang_at_the_scheduled_counts(req, baseline):
    sched = random_scheduled(req)
    cov = coverage.project(req, sched, baseline)
    merged = cov.merge(sched, on=["interval_start", "queue"], suffixes=("", "_given"))
    assert (merged["scheduled"] == merged["scheduled_given"]).all()
    net = np.floor(merged["scheduled_given"] * (1 - baseline.targets.shrinkage) + 1e-9)
    assert (merged["net"] == net).all()
    aht = np.where(merged["contacts"] > 0, merged["aht_s"], 1.0)
    voice = (merged["channel"] == "voice").to_numpy()
    expected = erlang.service_level(merged["traffic_erl"].to_numpy()[voice], net[voice],
                                    aht[voice], merged["target_answer_s"].to_numpy()[voice])
    np.testing.assert_array_equal(merged["service_level"].to_numpy()[voice], expected)
    chat = (merged["channel"] == "chat").to_numpy()
    expected_chat = erlang.chat_service_level(merged["traffic_erl"].to_numpy()[chat], net[chat],
                                              aht[chat], merged["target_answer_s"].to_numpy()[chat],
                                              baseline.targets.chat.concurrency)
    np.testing.assert_array_equal(merged["service_level"].to_numpy()[chat], expected_chat)
    asa = erlang.average_speed_of_answer(merged["traffic_erl"].to_numpy()[voice], net[voice],
                                         aht[voice])
    np.testing.assert_array_equal(merged["asa_s"].to_numpy()[voice], asa)
    occ = erlang.occupancy(merged["traffic_erl"].to_numpy()[voice], net[voice])
    np.testing.assert_array_equal(merged["occupancy"].to_numpy()[voice], occ)
    print(f"\nprojected SL == erlang.service_level on {voice.sum()} voice and {chat.sum()} "
          f"chat queue-intervals; max |diff| = "
          f"{np.abs(merged['service_level'].to_numpy()[voice] - expected).max():.1e}")


def test_without_shrinkage_the_service_level_is_erlang_at_the_roster_counts(baseline):
    """End to end from a hand-built roster: 3 agents, one on lunch, no shrinkage."""
    scenario = dataclasses.replace(baseline, targets=dataclasses.replace(
        baseline.targets, shrinkage=0.0))
    zones = scenario.site_zones
    specs = [(f"A{i}", "Lisbon", "2026-11-23 08:00", 510, (240 + 30 * i, 30), "en_voice")
             for i in range(3)]
    roster, alloc = make_shifts(specs, zones)
    grid = pd.date_range("2026-11-23 08:00", periods=17, freq="30min", tz="UTC")
    req = pd.DataFrame({"interval_start": grid, "queue": "en_voice", "language": "en",
                        "channel": "voice", "contacts": 30.0, "aht_s": 240.0})
    req["traffic_erl"] = req["contacts"] * req["aht_s"] / 1800.0
    req["agents"] = np.int64(3)
    req["headcount"] = np.int64(3)
    for c in ("service_level", "occupancy"):
        req[c] = 0.5
    req["asa_s"] = 10.0
    req["target_service_level"], req["target_answer_s"], req["target_asa_s"] = 0.8, 20.0, 20.0
    res = coverage.coverage(roster, alloc, req, scenario, check=True)
    cov = res.intervals
    counts = alloc.groupby("interval_start").size().reindex(grid, fill_value=0).to_numpy()
    assert (cov["scheduled"].to_numpy() == counts).all()
    assert sorted(set(counts)) == [2, 3]  # each lunch takes one agent out for an interval
    expected = erlang.service_level(cov["traffic_erl"], counts.astype(float), 240.0, 20.0)
    np.testing.assert_array_equal(cov["service_level"].to_numpy(), np.asarray(expected))


def test_scheduling_the_required_headcount_meets_every_target(req, baseline):
    sched = req[["interval_start", "queue"]].assign(scheduled=req["headcount"])
    cov = coverage.project(req, sched, baseline)
    assert (cov["net"] >= cov["required_agents"]).all()
    assert cov["meets_target"].all()
    assert (cov["gap"] == 0).all()
    one_short = sched.assign(scheduled=(sched["scheduled"] - 1).clip(lower=0))
    short = coverage.project(req, one_short, baseline)
    busy = (req["agents"] > 0).to_numpy()
    assert (short["service_level"].to_numpy()[busy]
            <= cov["service_level"].to_numpy()[busy] + 1e-12).all()


@settings(max_examples=200, deadline=None)
@given(agents=st.integers(0, 400), shrinkage=st.floats(0.0, 0.6))
def test_floor_rounding_inverts_the_staffing_headcount_rule(agents, shrinkage):
    headcount = math.ceil(agents / (1.0 - shrinkage) - 1e-9)
    net = coverage.productive_agents([headcount], shrinkage)[0]
    assert net >= agents
    fewer = coverage.productive_agents([max(headcount - 1, 0)], shrinkage)[0]
    assert fewer <= net


@settings(max_examples=60, deadline=None)
@given(scheduled=st.lists(st.integers(0, 30), min_size=1, max_size=12),
       shrinkage=st.floats(0.0, 0.5))
def test_productive_agents_are_whole_bounded_and_monotone(scheduled, shrinkage):
    net = coverage.productive_agents(scheduled, shrinkage)
    s = np.asarray(scheduled, float)
    assert (net == np.floor(net)).all()
    assert (net <= s).all() and (net >= s * (1 - shrinkage) - 1).all()
    order = np.argsort(s, kind="stable")
    assert (np.diff(net[order]) >= 0).all()


def test_erlang_a_queues_project_abandonment(forecast, req):
    patient = with_overrides("[targets.voice]\npatience_s = 90\n", name="patience")
    req_a = staffing.requirements(forecast, patient)
    sched = random_scheduled(req_a, seed=3)
    cov = coverage.project(req_a, sched, patient)
    voice = cov[cov["channel"] == "voice"]
    aht = np.where(voice["contacts"] > 0, voice["aht_s"], 1.0)
    res = erlang.erlang_a(voice["traffic_erl"].to_numpy(), voice["net"].to_numpy(), aht, 90.0,
                          voice["target_answer_s"].to_numpy())
    np.testing.assert_array_equal(voice["service_level"].to_numpy(), res.service_level)
    np.testing.assert_array_equal(voice["abandon_rate"].to_numpy(), res.abandon_rate)
    assert voice["abandon_rate"].notna().all()
    assert cov.loc[cov["channel"] == "chat", "abandon_rate"].isna().all()
    # without patience there is no abandonment to report
    plain = coverage.project(req, random_scheduled(req), with_overrides("", name="plain"))
    assert plain["abandon_rate"].isna().all()


# -- the coverage frame -------------------------------------------------------------------


def test_coverage_frame_follows_the_contract(result, req, baseline):
    cov = result.intervals
    schema.validate(cov, "coverage", interval_min=30)
    assert list(cov.columns) == coverage.COLUMNS
    assert len(cov) == len(req)
    assert cov.equals(schema.sort_frame(cov, "coverage"))
    np.testing.assert_array_equal(cov["gap"], cov["scheduled"] - cov["required"])
    np.testing.assert_array_equal(cov["net_gap"], cov["net"] - cov["required_agents"])
    merged = cov.merge(req, on=["interval_start", "queue"], suffixes=("", "_req"))
    assert (merged["required"] == merged["headcount"]).all()
    assert (merged["required_agents"] == merged["agents"]).all()
    assert cov["service_level"].between(0, 1).all()
    assert cov["occupancy"].between(0, 1).all()


def test_scheduled_counts_the_allocation_and_leaves_lunches_out(synthetic, result):
    roster, alloc, _ = synthetic
    counts = alloc.groupby(["interval_start", "queue"]).size()
    cov = result.intervals.set_index(["interval_start", "queue"])
    common = counts.index.intersection(cov.index)
    assert len(common) > 0
    np.testing.assert_array_equal(cov.loc[common, "scheduled"].to_numpy(),
                                  counts.loc[common].to_numpy())
    # on-shift agents minus those at lunch
    on_shift = 0
    t = pd.Timestamp("2026-11-25 14:00", tz="UTC")
    for r in roster.itertuples():
        if r.start_utc <= t < r.end_utc and r.agent_id.startswith("de_voice"):
            on_shift += 1
    assert cov.loc[(t, "de_voice"), "scheduled"] <= on_shift
    assert cov["scheduled"].sum() == len(alloc[alloc["interval_start"].isin(
        result.intervals["interval_start"])])


def test_inputs_are_not_mutated(synthetic, req, baseline, forecast):
    roster, alloc, _ = synthetic
    copies = [f.copy() for f in (roster, alloc, req, forecast)]
    coverage.coverage(roster, alloc, req, baseline, forecast=forecast)
    for before, after in zip(copies, (roster, alloc, req, forecast), strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_a_queue_with_contacts_and_no_agents_is_below_target_all_along(req, baseline):
    sched = req[["interval_start", "queue"]].assign(scheduled=req["headcount"])
    sched.loc[sched["queue"] == "ko_voice", "scheduled"] = 0
    cov = coverage.project(req, sched, baseline)
    ko = cov[cov["queue"] == "ko_voice"]
    busy = ko["contacts"] > 0
    assert (ko.loc[busy, "service_level"] == 0).all()
    assert np.isinf(ko.loc[busy, "asa_s"]).all()
    assert (~ko.loc[busy, "meets_target"]).all()
    assert ko.loc[~busy, "meets_target"].all()
    summary = coverage.queue_summary(cov, 30).set_index("queue")
    assert summary.loc["ko_voice", "hours_below_target"] == busy.sum() * 0.5
    assert summary.loc["ko_voice", "service_level"] == 0
    # no stable interval with contacts: no ASA to average, every contact meets an
    # unstable queue; a week's ASA is not made infinite by one short interval
    assert np.isnan(summary.loc["ko_voice", "asa_s"])
    assert summary.loc["ko_voice", "unstable_share"] == 1.0
    assert summary.loc["en_voice", "unstable_share"] == 0.0
    assert np.isfinite(summary.loc["en_voice", "asa_s"])
    assert summary.loc["en_voice", "hours_below_target"] == 0
    worst = coverage.worst_intervals(cov, 5)
    assert set(worst["queue"]) == {"ko_voice"}
    assert worst["missed"].is_monotonic_decreasing
    top = ko.loc[(ko["contacts"] * ko["target_service_level"]).idxmax()]
    assert worst["missed"].iloc[0] == pytest.approx(top["contacts"] * top["target_service_level"])


def test_an_empty_allocation_gives_zero_scheduled(req, baseline, synthetic):
    roster, alloc, _ = synthetic
    res = coverage.coverage(roster, alloc.iloc[0:0], req, baseline)
    assert (res.intervals["scheduled"] == 0).all()
    busy = res.intervals["contacts"] > 0
    assert (res.intervals.loc[busy, "service_level"] == 0).all()


# -- markets ------------------------------------------------------------------------------


def test_a_pooled_market_gets_its_queue_figures(result):
    m = result.markets
    cov = result.intervals.set_index(["interval_start", "queue"])
    for market in ("US", "GB", "AU"):
        part = m[(m["market"] == market) & (m["channel"] == "voice")]
        assert set(part["queue"]) == {"en_voice"}
        queue_sl = cov.loc[list(zip(part["interval_start"], part["queue"], strict=True)),
                           "service_level"].to_numpy()
        np.testing.assert_array_equal(part["service_level"].to_numpy(), queue_sl)


def test_weekly_attainment_is_contact_weighted_per_market(result, forecast, baseline):
    m = result.markets
    w = result.weekly.set_index(["market", "channel"])
    us = m[(m["market"] == "US") & (m["channel"] == "voice")]
    expected = (us["contacts"] * us["service_level"]).sum() / us["contacts"].sum()
    assert w.loc[("US", "voice"), "service_level"] == pytest.approx(expected, rel=1e-12)
    # the market's own contacts (the forecast's, on the planning grid)
    f = forecast[(forecast["market"] == "US") & (forecast["channel"] == "voice")
                 & (forecast["interval_start"] >= baseline.planning.start_utc)
                 & (forecast["interval_start"] < baseline.planning.end_utc)]
    assert w.loc[("US", "voice"), "contacts"] == pytest.approx(f["contacts"].sum())
    both = m[m["market"] == "US"]
    all_sl = (both["contacts"] * both["service_level"]).sum() / both["contacts"].sum()
    assert w.loc[("US", "all"), "service_level"] == pytest.approx(all_sl, rel=1e-12)
    assert w.loc[("US", "all"), "contacts"] == pytest.approx(
        w.loc[("US", "voice"), "contacts"] + w.loc[("US", "chat"), "contacts"])
    sl, t = w["service_level"].to_numpy(), w["target_service_level"].to_numpy()
    assert (w["met"].to_numpy() == (sl >= t - 1e-9)).all()


def test_daily_attainment_uses_the_market_local_date(result):
    d = result.daily
    w = result.weekly.set_index(["market", "channel"])
    for (market, channel), part in d.groupby(["market", "channel"]):
        assert part["contacts"].sum() == pytest.approx(w.loc[(market, channel), "contacts"])
        assert part["hours_below_target"].sum() == pytest.approx(
            w.loc[(market, channel), "hours_below_target"])
    m = result.markets
    au = m[(m["market"] == "AU") & (m["channel"] == "voice")]
    # 14:00 UTC on Monday is Tuesday 01:00 in Sydney (UTC+11 in November)
    row = au[au["interval_start"] == pd.Timestamp("2026-11-23 14:00", tz="UTC")].iloc[0]
    assert row["local_date"] == dt.date(2026, 11, 24)
    # the planning week spans 8 local dates in Sydney and in New York
    assert d[(d["market"] == "AU") & (d["channel"] == "all")]["date"].nunique() == 8
    first_us = d[(d["market"] == "US") & (d["channel"] == "all")]["date"].min()
    assert first_us == dt.date(2026, 11, 22)


def test_a_market_is_judged_against_its_own_target(forecast, synthetic):
    strict = with_overrides("[[targets.overrides]]\nmarkets = [\"GB\"]\nchannels = [\"voice\"]\n"
                            "target_service_level = 0.95\n", name="strict_gb")
    req = staffing.requirements(forecast, strict)
    roster, alloc, _ = synthetic
    res = coverage.coverage(roster, alloc, req, strict, forecast=forecast, check=False)
    w = res.weekly.set_index(["market", "channel"])
    assert w.loc[("GB", "voice"), "target_service_level"] == 0.95
    assert w.loc[("US", "voice"), "target_service_level"] == 0.80
    # the pooled queue is staffed to the strictest target of its markets
    assert res.intervals.loc[res.intervals["queue"] == "en_voice",
                             "target_service_level"].eq(0.95).all()


def test_without_a_forecast_markets_carry_their_queue_contacts(result, synthetic, req, baseline):
    roster, alloc, _ = synthetic
    res = coverage.coverage(roster, alloc, req, baseline)
    w = res.weekly.set_index(["market", "channel"])
    q = res.queues.set_index("queue")
    assert w.loc[("US", "voice"), "contacts"] == pytest.approx(q.loc["en_voice", "contacts"])
    assert w.loc[("US", "voice"), "service_level"] == pytest.approx(
        q.loc["en_voice", "service_level"])


# -- bad input ----------------------------------------------------------------------------


def test_allocation_to_an_unknown_queue_is_an_input_error(synthetic, req, baseline):
    roster, alloc, _ = synthetic
    bad = alloc.copy()
    bad.loc[bad.index[0], "queue"] = "nl_voice"
    with pytest.raises(InputError, match="'nl_voice' are not in the requirement"):
        coverage.coverage(roster, bad, req, baseline)


def test_allocation_off_shift_or_on_a_lunch_break_is_an_input_error(baseline):
    zones = baseline.site_zones
    roster, alloc = make_shifts([("A1", "Lisbon", "2026-11-23 08:00", 510, (240, 30),
                                  "en_voice")], zones)
    req = pd.DataFrame({"interval_start": pd.date_range("2026-11-23", periods=48,
                                                        freq="30min", tz="UTC"),
                        "queue": "en_voice", "contacts": 1.0, "aht_s": 200.0,
                        "traffic_erl": 0.1, "agents": np.int64(1), "headcount": np.int64(2),
                        "service_level": 0.9, "asa_s": 1.0, "occupancy": 0.1})
    lunch = pd.DataFrame({"interval_start": [pd.Timestamp("2026-11-23 12:00", tz="UTC")],
                          "agent_id": ["A1"], "queue": ["en_voice"]})
    with pytest.raises(InputError, match="during an unpaid break") as err:
        coverage.coverage(roster, pd.concat([alloc, lunch], ignore_index=True), req, baseline)
    assert "A1 at 2026-11-23T12:00:00+00:00" in str(err.value)
    late = lunch.assign(interval_start=pd.Timestamp("2026-11-23 16:30", tz="UTC"))
    with pytest.raises(InputError, match="outside every shift"):
        coverage.coverage(roster, pd.concat([alloc, late], ignore_index=True), req, baseline)
    ok = coverage.coverage(roster, alloc, req, baseline)
    assert ok.intervals["scheduled"].sum() == 16
    early = lunch.assign(interval_start=pd.Timestamp("2026-11-23 07:30", tz="UTC"))
    with pytest.raises(InputError, match="A1 at 2026-11-23T07:30:00"):
        coverage.check_allocation(pd.concat([alloc, early]), roster, baseline.site_zones, 30)


def test_on_a_coarser_grid_an_interval_partly_on_shift_or_on_break_is_accepted(baseline):
    """Hourly planning: a shift 08:00-16:30 with lunch 12:00-12:30 works part of 16:00
    and of 12:00; neither is an error, the 17:00 interval is."""
    roster, _ = make_shifts([("A1", "Lisbon", "2026-11-23 08:00", 510, (240, 30),
                              "en_voice")], baseline.site_zones)
    hours = pd.date_range("2026-11-23 08:00", "2026-11-23 16:00", freq="h", tz="UTC")
    alloc = pd.DataFrame({"interval_start": hours, "agent_id": "A1", "queue": "en_voice"})
    coverage.check_allocation(alloc, roster, baseline.site_zones, 60)
    late = alloc.iloc[[0]].assign(interval_start=pd.Timestamp("2026-11-23 17:00", tz="UTC"))
    with pytest.raises(InputError, match="outside every shift"):
        coverage.check_allocation(pd.concat([alloc, late]), roster, baseline.site_zones, 60)


def test_a_night_shift_break_after_midnight_is_on_the_next_day(baseline):
    zones = baseline.site_zones
    roster, alloc = make_shifts([("N1", "Boston", "2026-11-23 22:00", 510, (240, 30),
                                  "en_voice")], zones)
    assert roster["breaks"].iloc[0] == "02:00-02:30"
    windows = coverage._break_windows(roster, zones)
    assert windows["start"].iloc[0] == pd.Timestamp("2026-11-24 07:00", tz="UTC")
    coverage.check_allocation(alloc, roster, zones, 30)


def test_malformed_break_is_an_input_error(baseline):
    roster, alloc = make_shifts([("A1", "Lisbon", "2026-11-23 08:00", 480, None, "en_voice")],
                                baseline.site_zones)
    roster.loc[0, "breaks"] = "noon"
    with pytest.raises(InputError, match="break 'noon' is not 'HH:MM-HH:MM'"):
        coverage.check_allocation(alloc, roster, baseline.site_zones, 30)


# -- the pipeline stage ------------------------------------------------------------------------


def test_pipeline_stage_writes_frames_summary_and_headline(synthetic, req, baseline, forecast):
    roster, alloc, agents = synthetic
    ctx = run_context(baseline, forecast, req, roster, alloc, agents)
    pipeline.coverage_vs_sla(ctx)
    assert {"coverage", "coverage_markets", "sla_daily", "sla_weekly"} <= set(ctx.frames)
    s = ctx.summary["coverage"]
    assert s["headcount"] == roster["agent_id"].nunique()
    assert s["paid_hours"] == pytest.approx(roster["paid_min"].sum() / 60)
    assert s["planning"]["week_start"] == "2026-11-23"
    assert s["site_zones"]["Lisbon"] == "Europe/Lisbon"
    assert 0 < s["service_level"] <= 1
    assert {r["site"] for r in s["nights"]} == {"Boston", "Lisbon", "Shenzhen"}
    assert any(line.strip().startswith("coverage:") for line in ctx.summary["headline"])
    names = [n for n, _ in pipeline.STAGES]
    assert names.index("coverage") == names.index("roster") + 1 > names.index("staffing") + 1


def test_pipeline_stage_skips_without_roster_and_warns_on_a_bad_allocation(
        synthetic, req, baseline, forecast):
    roster, alloc, agents = synthetic
    ctx = run_context(baseline, forecast, req, roster, alloc, agents)
    del ctx.frames["roster"], ctx.frames["allocation"]
    pipeline.coverage_vs_sla(ctx)
    assert "coverage" not in ctx.frames
    assert any("coverage skipped: no roster" in w for w in ctx.warnings)
    bad = alloc.assign(queue="xx_voice")
    ctx = run_context(baseline, forecast, req, roster, bad, agents)
    pipeline.coverage_vs_sla(ctx)
    assert "coverage" not in ctx.frames
    assert any("'xx_voice'" in w for w in ctx.warnings)


def write_run(out_dir, scenario, forecast, requirement, roster, allocation, agents):
    """A run folder as `wfm run` writes it, from frames the earlier stages would make."""
    ctx = run_context(scenario, forecast, requirement, roster, allocation, agents)
    pipeline.coverage_vs_sla(ctx)
    ctx.summary["run"] = {"run_id": f"{scenario.name}-test", "scenario": scenario.name,
                          "started_at": "2026-11-20T10:00:00+00:00",
                          "finished_at": "2026-11-20T10:01:00+00:00",
                          "warnings": ctx.warnings}
    pipeline.write_bundle(out_dir, ctx)
    return ctx
