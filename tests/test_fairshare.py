"""Nights shared site-wide: transfers across skill groups bring every night_ok agent to
their fair share, under every rule; the local search then keeps each agent's band."""

from __future__ import annotations

import numpy as np
import pytest

from tests.roster_world import aggregate_of, ft8_by_date, requirement, small_agents, small_scenario
from wfm.roster import _realised
from wfm.roster.allocate import fixed_shift_solution
from wfm.roster.assign import History
from wfm.roster.catalog import night_bands
from wfm.roster.dive import REST_ROWS
from wfm.roster.fairshare import keep_bands, share_nights
from wfm.roster.ledger import Ledger
from wfm.roster.topup import _week_ok, upgrade

ZONES = {"en": "America/New_York", "de": "Europe/Berlin"}


def _world(levels):
    """Four night_ok full-timers in Lisbon: LIS-00 and LIS-01 speak de+en and work three
    nights (22:00 local, Monday to Wednesday) and two days (Friday, Saturday); LIS-02
    and LIS-03 speak only English and work days, Monday to Friday."""
    scenario = small_scenario()
    agents = small_agents(n_lisbon=4, n_boston=0).assign(
        night_ok=True, contract_hours_week=40.0, min_hours_week=32.0,
        languages=[["de", "en"], ["de", "en"], ["en"], ["en"]])
    req = requirement(scenario, levels, ZONES)
    catalog, infos, groups, dem, agg = aggregate_of(scenario, agents, req)
    night, day = ft8_by_date(catalog, 22, "Lisbon"), ft8_by_date(catalog, 10, "Lisbon")
    dates = sorted(day)
    nights = [night[d] for d in dates[:3]] + [day[d] for d in dates[4:6]]
    days = [day[d] for d in dates[:5]]
    shifts = {"LIS-00": list(nights), "LIS-01": list(nights),
              "LIS-02": list(days), "LIS-03": list(days)}
    compiled = agg.lm.compile(skip_rows=REST_ROWS)

    def values(shifts):
        return fixed_shift_solution(agg, compiled, _realised(shifts, groups, infos)).x

    return scenario, catalog, infos, groups, dem, agg, shifts, values


def _count(shifts, catalog, flag):
    return {a: sum(getattr(catalog.options[k], flag) for k in ks) for a, ks in shifts.items()}


@pytest.fixture(scope="module")
def evening_world():
    """English demand in New York's day, which Lisbon's nights cover (22:00-02:00 UTC)."""
    return _world({("en", "voice"): 3, ("de", "voice"): 1})


def test_transfers_bring_every_night_ok_agent_to_the_sites_share_under_every_rule(
        evening_world):
    scenario, catalog, infos, groups, dem, agg, shifts, values = evening_world
    shifts = {a: list(ks) for a, ks in shifts.items()}
    weekend_before = _count(shifts, catalog, "weekend")
    # six nights over four agents: the share is one or two each; the en-only agents
    # (another skill group, so the group balance cannot reach them) have none
    bands = night_bands(infos, catalog, {"Lisbon": 6}, scenario.roster.rules.max_nights_week)
    assert set(bands.values()) == {(1, 2)}
    stats = share_nights(shifts, catalog, groups, infos, agg, dem, scenario, History(),
                         values(shifts), time_budget_s=30)
    nights = _count(shifts, catalog, "night")
    assert stats["transfers"] == 2 and stats["below_share"] == stats["above_share"] == []
    assert sum(nights.values()) == 6
    assert all(1 <= n <= 2 for n in nights.values()), nights
    assert _count(shifts, catalog, "weekend") == weekend_before
    rules = scenario.roster.rules
    for a in infos:
        assert _week_ok(a, shifts[a.agent_id], catalog, History(), scenario.planning.start_utc,
                        rules, rules.min_rest_h * 60), a.agent_id


def test_no_transfer_is_made_above_its_cost_limit(evening_world):
    scenario, catalog, infos, groups, dem, agg, shifts, values = evening_world
    before = {a: sorted(ks) for a, ks in shifts.items()}
    mine = {a: list(ks) for a, ks in shifts.items()}
    stats = share_nights(mine, catalog, groups, infos, agg, dem, scenario, History(),
                         values(mine), time_budget_s=30, max_cost=-1e6, exchange=False)
    assert stats["transfers"] == 0 and stats["refused"] == 2
    assert {a: sorted(ks) for a, ks in mine.items()} == before
    assert stats["below_share"] == ["LIS-02", "LIS-03"]


def test_keep_bands_widens_a_band_to_the_nights_worked_now(evening_world):
    scenario, catalog, infos, _, _, _, shifts, _ = evening_world
    assert keep_bands(shifts, catalog, infos, scenario) == {
        "LIS-00": (1, 3), "LIS-01": (1, 3), "LIS-02": (0, 2), "LIS-03": (0, 2)}


def test_upgrade_keeps_each_agents_nights_inside_their_band():
    # German demand only, in Berlin's day: the de+en agents' nights buy nothing, so the
    # swaps turn them into days unless the bands hold them
    scenario, catalog, infos, groups, dem, agg, shifts, values = _world({("de", "voice"): 2})
    free = {a: list(ks) for a, ks in shifts.items()}
    upgrade(free, catalog, groups, infos, agg, dem, scenario, History(), values(free),
            time_budget_s=30)
    assert min(_count(free, catalog, "night")[a] for a in ("LIS-00", "LIS-01")) < 3
    held = {a: list(ks) for a, ks in shifts.items()}
    bands = {"LIS-00": (3, 3), "LIS-01": (3, 3)}
    swaps = upgrade(held, catalog, groups, infos, agg, dem, scenario, History(), values(held),
                    time_budget_s=30, bands=bands)
    assert swaps > 0  # the days still move to better hours
    nights = _count(held, catalog, "night")
    assert nights["LIS-00"] == nights["LIS-01"] == 3


def test_untake_is_the_exact_reverse_of_take(evening_world):
    scenario, catalog, infos, groups, dem, agg, shifts, values = evening_world
    cov = Ledger(agg, dem)
    cov.fill(shifts, catalog, groups, infos, values(shifts))
    count, serving, nxt, value = cov.count.copy(), cov.serving.copy(), cov.next.copy(), \
        cov.value()
    for agent, ks in shifts.items():
        for k in ks:
            entry = cov.entries[(agent, k)]
            cov.take(agent, k)
            assert cov.value() >= value - 1e-9
            cov.untake((agent, k), entry)
    assert np.array_equal(cov.count, count) and np.array_equal(cov.serving, serving)
    assert np.allclose(cov.next, nxt) and cov.value() == pytest.approx(value)


def test_exchanges_inside_the_bands_move_nights_to_who_is_worth_least_by_day():
    # German demand only, in Berlin's day: once the nights are shared (one or two each),
    # every night a de+en agent hands an en-only agent frees them for a German day
    scenario, catalog, infos, groups, dem, agg, shifts, values = _world({("de", "voice"): 2})
    before = {a: list(ks) for a, ks in shifts.items()}
    shared_only = {a: list(ks) for a, ks in shifts.items()}
    share_nights(shared_only, catalog, groups, infos, agg, dem, scenario, History(),
                 values(shared_only), time_budget_s=30, exchange=False)
    mine = {a: list(ks) for a, ks in before.items()}
    stats = share_nights(mine, catalog, groups, infos, agg, dem, scenario, History(),
                         values(mine), time_budget_s=30)
    nights = _count(mine, catalog, "night")
    assert stats["exchanges"] >= 2 and stats["saved"] > 0
    assert nights == {"LIS-00": 1, "LIS-01": 1, "LIS-02": 2, "LIS-03": 2}
    objective = {name: float(agg.lm.compile(skip_rows=REST_ROWS).c @ values(s))
                 for name, s in (("shared", shared_only), ("exchanged", mine))}
    assert objective["exchanged"] < objective["shared"]
    rules = scenario.roster.rules
    for a in infos:
        assert _week_ok(a, mine[a.agent_id], catalog, History(), scenario.planning.start_utc,
                        rules, rules.min_rest_h * 60), a.agent_id
