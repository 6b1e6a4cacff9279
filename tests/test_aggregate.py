"""The aggregate covering model's contract rows: what a week of the templates can pay,
and no class of agents on more shifts of a date than it has agents there."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.roster_world import ft8_by_date, requirement, small_agents, small_scenario
from wfm.roster import aggregate as aggregate_mod
from wfm.roster.aggregate import reachable_paid_min
from wfm.roster.catalog import agent_infos, build_catalog, make_groups


def test_a_week_of_templates_cannot_always_fill_the_contract():
    # 25.6 h (a 32-h week less a day of leave) in at most 4 shifts of 4, 6 or 8 h: 24 h
    assert reachable_paid_min({240, 360, 480}, 4, 1536) == 1440
    assert reachable_paid_min({480}, 5, 2400) == 2400
    assert reachable_paid_min({480}, 4, 2400) == 1920
    assert reachable_paid_min({480}, 5, 470) == 0
    assert reachable_paid_min({240, 480}, 0, 2400) == 0


@settings(max_examples=60, deadline=None)
@given(st.sets(st.integers(2, 10).map(lambda h: h * 60), min_size=1, max_size=4),
       st.integers(0, 6), st.integers(0, 3000))
def test_reachable_paid_minutes_match_every_week_of_shifts(lengths, max_shifts, max_paid):
    best = max(sum(week) for n in range(max_shifts + 1)
               for week in itertools.combinations_with_replacement(sorted(lengths), n)
               if sum(week) <= max_paid)
    assert reachable_paid_min(lengths, max_shifts, max_paid) == best


def _fixed_counts_feasible(agg, counts: dict[int, int]) -> bool:
    """Is the aggregate LP feasible with every shift count fixed (``counts`` by option,
    the rest at 0)?"""
    lb, ub = np.asarray(agg.lm.lb, float).copy(), np.asarray(agg.lm.ub, float).copy()
    for (_, k), v in agg.x.items():
        lb[v] = ub[v] = counts.get(k, 0)
    return agg.lm.compile().solve(lb, ub, 60).ok


def test_no_class_works_more_shifts_of_a_date_than_it_has_agents():
    # a 40-h agent (no nights) and a 24-h night_ok agent: eight 8-hour shifts on four
    # dates, two a date, need one agent on four of them, and the 24-h agent can take
    # three; the group (two agents a date) and the classes' weeks (5 + 3 shifts) alone
    # would allow it
    scenario = small_scenario()
    agents = small_agents(n_lisbon=0, n_boston=2).assign(
        languages=[["en"]] * 2, contract_hours_week=[40.0, 24.0], min_hours_week=0.0,
        night_ok=[False, True])
    catalog = build_catalog(scenario, sites=["Boston"])
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    req = requirement(scenario, {("en", "voice"): 4}, {"en": "America/New_York"})
    dem = aggregate_mod.demand(req, catalog, scenario, infos)
    agg = aggregate_mod.build_aggregate(catalog, groups, infos, dem, scenario)
    at8, at9 = ft8_by_date(catalog, 8, "Boston"), ft8_by_date(catalog, 9, "Boston")
    dates = sorted(at8)[:4]
    eight = {k: 1 for d in dates for k in (at8[d], at9[d])}
    assert not _fixed_counts_feasible(agg, eight)
    seven = dict(eight)
    del seven[at9[dates[-1]]]
    assert _fixed_counts_feasible(agg, seven)
