"""The large-neighbourhood search of the roster: exact coverage ledger, real improvement
under every rule, and never a worse roster than it was given."""

from __future__ import annotations

import numpy as np
import pytest

from tests.roster_world import (
    aggregate_of,
    ft8_by_date,
    requirement,
    small_agents,
    small_scenario,
    two_boston_agents,
)
from wfm.roster import _realised
from wfm.roster.allocate import fixed_shift_solution
from wfm.roster.assign import History
from wfm.roster.dive import REST_ROWS
from wfm.roster.ledger import Ledger
from wfm.roster.neighbourhood import improve
from wfm.roster.topup import _week_ok

ZONES = {"en": "America/New_York", "de": "Europe/Berlin"}


@pytest.fixture
def world():
    """Boston agents on early shifts (06:00 local) while en demand peaks in the
    afternoon; Lisbon agents on their own dates."""
    scenario = small_scenario()
    agents = small_agents(n_lisbon=3, n_boston=4).assign(night_ok=True, min_hours_week=16.0)
    req = requirement(scenario, {("en", "voice"): 4, ("de", "voice"): 2}, ZONES)
    catalog, infos, groups, dem, agg = aggregate_of(scenario, agents, req)
    compiled = agg.lm.compile(skip_rows=REST_ROWS)
    shifts = {}
    for a in infos:
        early = ft8_by_date(catalog, 6, a.site)
        dates = sorted(early)[1:]
        shifts[a.agent_id] = [early[d] for d in dates[: a.max_paid_min // 480]]

    def evaluate(roster):
        x = fixed_shift_solution(agg, compiled, _realised(roster, groups, infos)).x
        return float(compiled.c @ x), x

    return scenario, catalog, infos, groups, dem, agg, shifts, evaluate


def _rules_kept(scenario, catalog, infos, shifts) -> bool:
    rules = scenario.roster.rules
    return all(_week_ok(a, shifts[a.agent_id], catalog, History(), scenario.planning.start_utc,
                        rules, rules.min_rest_h * 60) for a in infos)


def test_the_ledger_puts_back_exactly_what_it_took(world):
    scenario, catalog, infos, groups, dem, agg, shifts, evaluate = world
    _, values = evaluate(shifts)
    ledger = Ledger(agg, dem)
    ledger.fill(shifts, catalog, groups, infos, values)
    count, value = ledger.count.copy(), ledger.value()
    rng = np.random.default_rng(3)
    for g, grp in enumerate(groups):
        agent = infos[int(rng.choice(grp.members))].agent_id
        for k in shifts[agent]:
            ts, _, _ = ledger.entries[(agent, k)]
            ledger.take(agent, k)
            ledger.place(agent, k, ts, g)
    assert np.array_equal(ledger.count, count)
    assert ledger.value() == pytest.approx(value)
    # filled with the LP's lunches and split over queues, the ledger values the roster
    # exactly as the LP does
    objective, x = evaluate(shifts)
    lp_shortage = sum(x[v] * agg.lm.objective[v] for steps in agg.short.values()
                      for v in steps)
    assert value == pytest.approx(lp_shortage, abs=1e-6)


def test_the_search_moves_shifts_to_the_demand_and_keeps_every_rule(world):
    scenario, catalog, infos, groups, dem, agg, shifts, evaluate = world
    assert _rules_kept(scenario, catalog, infos, shifts)
    stats = improve(shifts, catalog, groups, infos, agg, dem, scenario, History(), evaluate,
                    time_budget_s=20)
    assert stats["improved"] >= 1
    assert stats["objective_after"] < stats["objective_before"] - 1.0
    assert evaluate(shifts)[0] == pytest.approx(stats["objective_after"], abs=1e-3)
    assert _rules_kept(scenario, catalog, infos, shifts)
    starts = {catalog.options[k].start_minute_local for ks in shifts.values() for k in ks}
    assert starts != {6 * 60}  # some shifts left the early start


def test_the_search_never_hands_back_a_worse_roster(world):
    scenario, catalog, infos, groups, dem, agg, shifts, evaluate = world
    start = {a: list(ks) for a, ks in shifts.items()}

    def pessimist(roster):  # any change looks worse to the true objective
        objective, x = evaluate(roster)
        same = all(sorted(roster.get(a, [])) == sorted(ks) for a, ks in start.items())
        return (objective if same else objective + 1e6), x

    stats = improve(shifts, catalog, groups, infos, agg, dem, scenario, History(), pessimist,
                    time_budget_s=20)
    assert stats["rejected"] >= 1 and stats["improved"] == 0  # the models saw gains ...
    assert {a: sorted(ks) for a, ks in shifts.items()} == {
        a: sorted(ks) for a, ks in start.items()}  # ... the true objective did not


def test_soft_goals_count_spread_preferences_and_split_days_off():
    from wfm.roster.neighbourhood import soft_goals

    scenario, catalog, infos, groups = two_boston_agents(preferred_shift=["", "early"])
    night, day = ft8_by_date(catalog, 22), ft8_by_date(catalog, 9)
    d = sorted(day)  # Boston dates with a 09:00 start in the week: Mon 23 .. Sun 29
    a, b = (i.agent_id for i in infos)
    weights = scenario.roster.weights
    # a: three nights (Mon, Wed, Fri), days off Sat and Sun together;
    # b (prefers early starts): four 09:00 days, Mon, Wed, Fri, Sun: no two days off in a
    # row (Sun 22, Tue, Thu, Sat), one weekend day more than a
    shifts = {a: [night[d[0]], night[d[2]], night[d[4]]], b: [day[x] for x in d[0:7:2]]}
    assert len(d) == 7 and len(shifts[b]) == 4
    assert soft_goals(shifts, catalog, groups, infos, scenario) == pytest.approx({
        "night spread": weights.night_spread * 3, "weekend spread": weights.weekend_spread * 1,
        "preferences": weights.preference * 4, "split days off": weights.split_days_off * 1})


def _exact(ledger: Ledger) -> bool:
    """The ledger's counts are those its entries add up to."""
    count, serving = np.zeros_like(ledger.count), np.zeros_like(ledger.serving)
    for ts, chosen, g in ledger.entries.values():
        keep = chosen >= 0
        np.add.at(count, (chosen[keep], ts[keep]), 1)
        np.add.at(serving, (g, chosen[keep], ts[keep]), 1)
    return np.array_equal(count, ledger.count) and np.array_equal(serving, ledger.serving)


def test_an_agent_on_a_covered_queue_frees_a_multilingual_one_for_a_short_queue(world):
    """English covered by a de+en agent while German is short: one more en-only agent is
    worth a German agent (the de+en agent hands over), and the ledger stays exact
    through the hand-over, its undoing and taking the newcomer out again."""
    scenario, catalog, infos, groups, dem, agg, shifts, evaluate = world
    ledger = Ledger(agg, dem)
    lisbon = {tuple(grp.languages): g for g, grp in enumerate(groups) if grp.site == "Lisbon"}
    g_mix, g_en = lisbon[("de", "en")], lisbon[("en",)]
    p_en, p_de = (next(p for p, pool in enumerate(dem.pools) if pool.language == lang)
                  for lang in ("en", "de"))
    k = next(k for d, k in sorted(ft8_by_date(catalog, 12, "Lisbon").items())
             if (ledger.need[p_en, catalog.cover[k]] > 0).any()
             and (ledger.need[p_de, catalog.cover[k]] > 0).any())
    ts = catalog.cover[k]
    t = int(next(t for t in ts if ledger.need[p_en, t] > 0 and ledger.need[p_de, t] > 0))
    # the de+en agent serves English (the LP's split), en-only agents fill English up
    ledger.place("mix", k, ts, g_mix, quota={(g_mix, p_en, int(u)): 1 for u in ts})
    for n in range(int(ledger.need[p_en, t]) - 1):
        ledger.place(f"en{n}", k, ts, g_en, quota={})
    assert ledger.count[p_en, t] == ledger.need[p_en, t] and ledger.count[p_de, t] == 0
    assert ledger.add_cost(p_en, t) == 0.0  # English is covered ...
    worth = ledger.add_cost(p_de, t)
    assert worth > 0
    assert ledger.marginal(agg.group_pools[g_en])[t] == pytest.approx(worth)  # ... yet
    assert ledger.gains(agg.group_pools[g_en], t, 3) == [pytest.approx(worth)]

    snap = ledger.snapshot([])
    before = ledger.entries[("mix", k)][1].copy()
    ledger.place("new", k, ts, g_en)
    assert ledger.count[p_de, t] == 1 and ledger.count[p_en, t] == ledger.need[p_en, t]
    j = int(np.searchsorted(ts, t))
    assert ledger.entries[("mix", k)][1][j] == p_de  # the de+en agent moved over
    assert _exact(ledger)
    ledger.forget([("new", k)])
    ledger.restore(snap)  # undone: the de+en agent is back on English
    assert np.array_equal(ledger.entries[("mix", k)][1], before)
    assert ledger.count[p_de, t] == 0
    assert _exact(ledger)
    ledger.place("new", k, ts, g_en)
    ledger.take("new", k)  # taken out, English is one short and German keeps its agent
    assert ledger.count[p_en, t] == ledger.need[p_en, t] - 1 and ledger.count[p_de, t] == 1
    assert _exact(ledger)
