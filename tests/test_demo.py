"""The demo world looks like a real cross-border operation, and DST moves its peaks."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from wfm import demo, schema


def profile(hist: pd.DataFrame, market: str, start: str, end: str, zone: str | None) -> np.ndarray:
    """Mean voice contacts per hour of day on working days between two dates, by the
    hour in ``zone`` (UTC when None)."""
    part = hist[(hist["market"] == market) & (hist["channel"] == "voice")
                & (hist["interval_start"] >= pd.Timestamp(start, tz="UTC"))
                & (hist["interval_start"] < pd.Timestamp(end, tz="UTC"))]
    ts = part["interval_start"].dt.tz_convert(zone) if zone else part["interval_start"]
    workday = ts.dt.day_of_week < 5
    return part[workday].groupby(ts[workday].dt.hour)["contacts"].mean().reindex(
        range(24), fill_value=0).to_numpy()


def best_shift(before: np.ndarray, after: np.ndarray) -> int:
    """The shift s (hours) for which after[h] best matches before[h - s]."""
    scores = {s: np.corrcoef(np.roll(before, s), after)[0, 1] for s in range(-3, 4)}
    return max(scores, key=scores.get)


def test_dst_moves_utc_peaks_but_not_local_ones(demo_world):
    hist = demo_world.history
    # US springs forward on 2026-03-08: the local shape stays, UTC moves one hour earlier
    us = "America/New_York"
    assert best_shift(profile(hist, "US", "2026-02-09", "2026-03-07", us),
                      profile(hist, "US", "2026-03-09", "2026-04-04", us)) == 0
    assert best_shift(profile(hist, "US", "2026-02-09", "2026-03-07", None),
                      profile(hist, "US", "2026-03-09", "2026-04-04", None)) == -1
    # Sydney falls back on 2026-04-05 (southern autumn): UTC moves one hour later
    au = "Australia/Sydney"
    assert best_shift(profile(hist, "AU", "2026-03-06", "2026-04-04", au),
                      profile(hist, "AU", "2026-04-06", "2026-05-02", au)) == 0
    assert best_shift(profile(hist, "AU", "2026-03-06", "2026-04-04", None),
                      profile(hist, "AU", "2026-04-06", "2026-05-02", None)) == 1
    # the local peak hour itself is the same on both sides
    before = profile(hist, "US", "2026-02-09", "2026-03-07", us)
    after = profile(hist, "US", "2026-03-09", "2026-04-04", us)
    assert before.argmax() == after.argmax()


def test_markets_zones_languages_and_channels(demo_world):
    m = demo_world.markets
    assert len(m) >= 10
    zones = set(m["timezone"])
    offsets = {pd.Timestamp("2026-01-15", tz=z).utcoffset() for z in zones}
    assert len(offsets) >= 8
    south = [z for z in zones if pd.Timestamp("2026-01-15", tz=z).dst() != dt.timedelta(0)
             and pd.Timestamp("2026-07-15", tz=z).dst() == dt.timedelta(0)]
    assert south, "a southern-hemisphere market with daylight saving"
    assert len(set(m["language"])) >= 8
    assert set(demo_world.history["channel"]) == {"voice", "chat"}


def test_history_is_long_hourly_and_valid(demo_world):
    hist = demo_world.history
    schema.validate(hist, "history", interval_min=60)
    span = hist["interval_start"].max() - hist["interval_start"].min()
    assert span >= pd.Timedelta(weeks=52)
    n_series = hist.groupby(["market", "language", "channel"]).ngroups
    assert n_series >= 20
    assert len(hist) == n_series * hist["interval_start"].nunique()
    assert hist["interval_start"].max() == pd.Timestamp(demo.PLANNING_WEEK, tz="UTC") - \
        pd.Timedelta(hours=1)
    # over-dispersed counts: variance well above the mean within a local hour slot
    us = hist[(hist["market"] == "US") & (hist["channel"] == "voice")]
    local = us["interval_start"].dt.tz_convert("America/New_York")
    slot = us[(local.dt.hour == 11) & (local.dt.day_of_week == 2)]["contacts"].iloc[-20:]
    assert slot.var() > 2 * slot.mean()


def daily(hist, market, channel="voice") -> pd.Series:
    zone = dict(zip(demo.markets_frame()["market"], demo.markets_frame()["timezone"],
                    strict=True))[market]
    part = hist[(hist["market"] == market) & (hist["channel"] == channel)]
    day = part["interval_start"].dt.tz_convert(zone).dt.date
    return part.groupby(day)["contacts"].sum()


def test_holidays_and_promotions_show(demo_world):
    us = daily(demo_world.history, "US")
    thanksgiving, bf = dt.date(2025, 11, 27), dt.date(2025, 11, 28)
    week_before = us[dt.date(2025, 11, 20)]
    assert us[thanksgiving] < 0.6 * week_before
    assert us[bf] > 1.3 * us[dt.date(2025, 11, 21)]
    jp = daily(demo_world.history, "JP")
    assert jp[dt.date(2025, 11, 11)] > 1.25 * jp[dt.date(2025, 11, 4)]
    assert demo.black_friday(2026) == dt.date(2026, 11, 27)
    assert demo.prime_day(2026).weekday() == 1


def test_ramadan_moves_arabic_volume_to_the_evening(demo_world):
    hist = demo_world.history
    sa = hist[(hist["market"] == "SA")]
    local = sa["interval_start"].dt.tz_convert("Asia/Riyadh")
    first, last = demo.ramadan(2026)
    inside = (local.dt.date >= first) & (local.dt.date <= last)
    evening = local.dt.hour.isin([20, 21, 22, 23])
    share_in = sa[inside & evening]["contacts"].sum() / sa[inside]["contacts"].sum()
    outside = (local.dt.date >= first - dt.timedelta(days=60)) & (local.dt.date < first)
    share_out = sa[outside & evening]["contacts"].sum() / sa[outside]["contacts"].sum()
    assert share_in > 1.5 * share_out


def test_sites_and_agents(demo_world):
    agents = demo_world.agents
    schema.validate(agents, "agents")
    assert 150 <= len(agents) <= 300
    assert set(agents["site"]) == {"Shenzhen", "Lisbon", "Boston"}
    assert (agents["languages"].map(len) > 1).mean() > 0.2
    assert set(agents["role"]) == set(schema.ROLES)
    assert set(agents["contract_hours_week"]) >= {40.0, 20.0}
    assert 0.2 < agents["night_ok"].mean() < 0.6
    # every language of every market has agents
    spoken = set(agents["languages"].explode())
    assert set(demo_world.markets["language"]) <= spoken


def test_interactions_and_truth(demo_world):
    records, truth = demo_world.interactions, demo_world.truth
    schema.validate(records, "interactions")
    span = records["started_at"].max() - records["started_at"].min()
    assert pd.Timedelta(weeks=7) < span <= pd.Timedelta(weeks=8, days=1)
    assert records["started_at"].max() < pd.Timestamp(demo.PLANNING_WEEK, tz="UTC")
    assert not set(truth.columns) - {"agent_id"} & set(records.columns)
    assert set(records["agent_id"]) <= set(demo_world.agents["agent_id"])
    # every contact is in a language the agent speaks
    langs = demo_world.agents.set_index("agent_id")["languages"]
    speaks = [lang in langs[a] for a, lang in zip(records["agent_id"].iloc[::97],
                                                  records["language"].iloc[::97], strict=True)]
    assert all(speaks)
    # the truth: equal mean skill for night regulars and the rest
    nights = truth[truth["night_regular"]]["skill"].mean()
    days = truth[~truth["night_regular"]]["skill"].mean()
    assert abs(nights - days) < 1e-9
    # night work has its known effect: longer handle time, lower FCR, harder mix
    band = records["agent_id"].map(truth.set_index("agent_id")["night_regular"])
    night, day = records[band], records[~band]
    assert night["handle_s"].mean() > day["handle_s"].mean()
    assert night["resolved_first_contact"].mean() < day["resolved_first_contact"].mean()
    assert (night["contact_type"] == "complex").mean() > (day["contact_type"] == "complex").mean()
    # some agents have few contacts (new hires)
    per_agent = records.groupby("agent_id").size()
    assert (per_agent < 50).sum() >= 10


def test_same_seed_same_world_other_seed_other_world():
    a = demo.history(seed=11).iloc[:5000]
    b = demo.history(seed=11).iloc[:5000]
    c = demo.history(seed=12).iloc[:5000]
    pd.testing.assert_frame_equal(a, b)
    assert not a["contacts"].equals(c["contacts"])


@pytest.mark.parametrize("year", [2025, 2026])
def test_ramadan_precedes_eid(year):
    first, last = demo.ramadan(year)
    assert (last - first).days == 29
