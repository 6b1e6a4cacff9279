"""Top-up with hand-overs: an agent whose only language is covered still gets a shift
when it frees a multilingual agent for a short queue."""

from __future__ import annotations

import numpy as np

from tests.roster_world import ft8_by_date, requirement, small_agents, small_scenario
from wfm.roster import aggregate as aggregate_mod
from wfm.roster.assign import History
from wfm.roster.catalog import agent_infos, build_catalog, make_groups
from wfm.roster.topup import top_up


def test_an_en_only_agent_is_topped_up_where_it_frees_a_de_en_agent_for_german():
    scenario = small_scenario()
    agents = small_agents(n_lisbon=3, n_boston=0)
    agents = agents[agents["agent_id"] != "LIS-00"].assign(  # LIS-01 de+en, LIS-02 en
        contract_hours_week=40.0, min_hours_week=0.0).reset_index(drop=True)
    req = requirement(scenario, {("en", "voice"): 1, ("de", "voice"): 1},
                      {"en": "Europe/Lisbon", "de": "Europe/Lisbon"})
    catalog = build_catalog(scenario, sites=["Lisbon"])
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    monday = min(ft8_by_date(catalog, 10, "Lisbon"))
    k = ft8_by_date(catalog, 10, "Lisbon")[monday]
    # demand only in the hours that shift works whatever its lunch
    lunch = np.concatenate([catalog.lunch_cover[(k, off)]
                            for off in catalog.options[k].lunch_offsets_min])
    hours = {catalog.grid[t].value for t in np.setdiff1d(catalog.cover[k], lunch)}
    req["headcount"] = np.where(req["interval_start"].map(lambda t: t.value in hours), 1, 0)
    dem = aggregate_mod.demand(req, catalog, scenario, infos)
    agg = aggregate_mod.build_aggregate(catalog, groups, infos, dem, scenario)
    g_mix = next(g for g, grp in enumerate(groups) if set(grp.languages) == {"de", "en"})
    p_en = next(p for p, pool in enumerate(dem.pools) if pool.language == "en")
    # the de+en agent works Monday 10:00 and the LP's split has them on English, which
    # they cover alone; German, needed in the same hours, has nobody
    shifts = {"LIS-01": [k], "LIS-02": []}
    values = np.zeros(agg.lm.n_vars)
    for t in catalog.cover[k]:
        if (g_mix, p_en, int(t)) in agg.y:
            values[agg.y[(g_mix, p_en, int(t))]] = 1.0
    added = top_up(shifts, catalog, groups, infos, agg, dem, scenario, History(), values,
                   time_budget_s=20)
    assert added >= 1
    # the en-only agent's new shift is on Monday over the de+en agent's hours: it takes
    # English and the de+en agent moves to German (English alone would be worth nothing)
    new = shifts["LIS-02"]
    assert new and {catalog.options[j].date for j in new} == {monday}
    assert any(np.intersect1d(catalog.cover[j], catalog.cover[k]).size for j in new)
