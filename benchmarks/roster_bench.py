"""
Roster benchmark: the demo week against LP lower bounds, 1,000 agents, and the peer.

    python benchmarks/roster_bench.py [--time-limit 120] [--big-time-limit 300] [--skip-big]
                                      [--mip-s SECONDS]

1. Demo week (the baseline scenario: 262 agents, 3 sites, 14 queues, 30-minute
   intervals): solve time, rule violations (independent checker), under-coverage in
   agent-hours against two lower bounds computed in the same run from the LP relaxation
   of the aggregate covering model with the same agents, templates and rules:
   (a) the LP minimising under-coverage agent-hours alone, (b) the LP of the weighted
   objective the solver minimises (service lost, then paid time); nights and weekend days
   spread per site, and the same week with nights shared only within skill groups
   (``night_share = "group"``): what sharing them site-wide costs. With ``--mip-s``,
   HiGHS branch and bound on (a) for that long: a stronger lower bound (slow, off by
   default).
2. 1,000 agents: the demo agents copied to 1,000 and the requirement scaled with them;
   zero violations within the time limit, gap reported.
3. The peer: pyworkforce's ``MinAbsDifference`` on a single-queue week (demand 5..120
   agents per hour, 8-hour shifts) beside ours on the same demand with enough agents;
   under- and over-coverage of both, and the agent rules ours keeps.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wfm import pipeline  # noqa: E402
from wfm import scenario as scenario_mod  # noqa: E402
from wfm.roster import aggregate as aggregate_mod  # noqa: E402
from wfm.roster import check_roster, solve_roster  # noqa: E402
from wfm.roster.catalog import agent_infos, build_catalog, make_groups  # noqa: E402


def demo_inputs(time_limit_s: float):
    scenario = scenario_mod.load(ROOT / "scenarios" / "baseline.toml")
    scenario = dataclasses.replace(scenario, data=dataclasses.replace(scenario.data,
                                                                      source="demo"),
                                   roster=dataclasses.replace(scenario.roster,
                                                              time_limit_s=time_limit_s))
    inputs = pipeline.load_inputs(scenario)
    ctx = pipeline.RunContext(scenario, inputs)
    pipeline.forecast_contacts(ctx)
    pipeline.staff_requirements(ctx)
    return scenario, inputs.agents, ctx.frames["requirement"]


def lower_bounds(requirement, agents, scenario, night_floors: dict[str, int]) -> dict:
    """
    LP bounds of the aggregate covering model with every rule (rest rows included): of the
    weighted objective, of under-coverage hours, and of under-coverage hours when every
    night_ok agent works at least its site's fair share of nights (``night_floors[site]``,
    as far as the agent can reach it): a bound for any roster with nights shared that way,
    so where it equals the plain bound the demand allows the fair share.
    """
    catalog = build_catalog(scenario, sites=sorted(set(agents["site"])))
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    dem = aggregate_mod.demand(requirement, catalog, scenario, infos)
    agg = aggregate_mod.build_aggregate(catalog, groups, infos, dem, scenario)
    t0 = time.perf_counter()
    weighted = agg.lm.solve_lp(900)
    t_weighted = time.perf_counter() - t0
    hours_model = copy.copy(agg.lm)
    step_h = scenario.planning.interval_min / 60
    hours_model.objective = {v: step_h for steps in agg.short.values() for v in steps}
    t0 = time.perf_counter()
    hours = hours_model.solve_lp(900)
    t_hours = time.perf_counter() - t0
    fair_hours = with_night_floors(hours_model, agg, groups, infos, catalog, scenario,
                                   night_floors).solve_lp(900)
    fair_weighted = with_night_floors(agg.lm, agg, groups, infos, catalog, scenario,
                                      night_floors).solve_lp(900)
    return {"weighted": weighted.objective, "weighted_s": t_weighted,
            "under_h": hours.objective, "under_h_s": t_hours, "hours_model": hours_model,
            "under_h_fair_nights": fair_hours.objective if fair_hours.ok else float("nan"),
            "weighted_fair_nights": (fair_weighted.objective if fair_weighted.ok
                                     else float("nan"))}


def with_night_floors(model, agg, groups, infos, catalog, scenario, night_floors):
    """A copy of ``model`` where every night_ok agent works at least its site's floor of
    nights, as far as it can reach it: per contract class, the class's night shifts at
    least the sum of its agents' floors."""
    fair_model = copy.deepcopy(model)
    max_nights = scenario.roster.rules.max_nights_week
    for (g, c), night_vars in agg.class_nights.items():
        floor = night_floors.get(groups[g].site, 0)
        dates = catalog.dates(groups[g].site)
        members = [infos[i] for i in groups[g].members
                   if (infos[i].max_paid_min, infos[i].max_shifts, infos[i].night_ok) == c]
        need = sum(min(floor, a.night_reach(dates, max_nights)) for a in members)
        if need > 0:
            fair_model.add(night_vars, np.ones(len(night_vars)), lo=need,
                           name=f"fair_nights[{g},{c}]")
    return fair_model


def mip_bound(hours_model, time_limit_s: float) -> dict:
    """
    HiGHS branch and bound (scipy's ``milp``) on the aggregate model minimising
    under-coverage hours, every variable whole: its dual bound is a lower bound on any
    roster's under-coverage at least as strong as the LP's (the root's cuts raise it),
    its best solution an aggregate plan (not a roster). Slow: on the demo week the root
    LP alone (dual simplex) takes about 25 minutes on 2 cores.
    """
    compiled = hours_model.compile()
    n = hours_model.n_vars
    result = compiled.solve_mip(np.asarray(hours_model.lb, float),
                                np.asarray(hours_model.ub, float), np.arange(n),
                                time_limit_s, rel_gap=1e-4)
    return {"bound": result.bound, "best": result.objective if result.ok else None,
            "status": result.message, "seconds": result.seconds}


def spread_table(report) -> str:
    lines = []
    for site, f in report["fairness"].items():
        n, w = f["nights_night_ok_agents"], f["weekend_days"]
        lines.append(f"  {site:<9} nights per night_ok agent {n['min']}-{n['max']} (spread "
                     f"{n['spread']}, {n['agents']} agents); weekend days {w['min']}-{w['max']}; "
                     f"skill groups with nights spread <= 1: {f['groups_nights_spread_le_1']} of "
                     f"{len(f['groups'])}")
        outside = ", ".join(f"{o['agent_id']} {o['nights']} (band {o['band'][0]}-"
                            f"{o['band'][1]})" for o in f["nights_outside_band"])
        lines.append(f"      fair share {f['nights_band']}; outside it: {outside or 'none'}")
        for group, gf in f["groups"].items():
            gn = gf["nights_night_ok_agents"]
            if gn["agents"]:
                lines.append(f"      {group:<6} nights {gn['min']}-{gn['max']} over "
                             f"{gn['agents']} night_ok agents")
    return "\n".join(lines)


def bench_demo(time_limit_s: float, mip_s: float = 0.0) -> None:
    print(f"== demo week (time limit {time_limit_s:.0f} s) ==")
    scenario, agents, req = demo_inputs(time_limit_s)
    t0 = time.perf_counter()
    result = solve_roster(req, agents, scenario)
    wall = time.perf_counter() - t0
    violations = check_roster(result.roster, result.allocation, agents, scenario)
    report = result.report
    night_floors = {site: f["nights_band"][0] for site, f in report["fairness"].items()
                    if f["nights_band"]}
    bounds = lower_bounds(req, agents, scenario, night_floors)
    under = report["under_coverage_total_h"]
    n_queues = len(report["under_coverage_h"])
    print(f"agents {len(agents)}, sites {agents['site'].nunique()}, queues {n_queues}, "
          f"intervals of {scenario.planning.interval_min} min")
    print(f"solve wall time {wall:.1f} s (limit {time_limit_s:.0f} s); shifts "
          f"{report['shifts']}; rule violations {len(violations)}")
    print(f"objective by stage: {report['objective_by_stage']}")
    search = report["neighbourhood_search"]
    print(f"neighbourhood search: {search['improved']} of {search['neighbourhoods']} "
          f"neighbourhoods improved in {search['seconds']:.0f} s; objective "
          f"{search['objective_before']:.1f} -> {search['objective_after']:.1f}, soft goals "
          f"(spread, preferences, days off) {search['soft_before']:.1f} -> "
          f"{search['soft_after']:.1f}")
    print(f"weighted objective {report['objective']:.1f} vs its LP bound "
          f"{bounds['weighted']:.1f} (with rest rows, {bounds['weighted_s']:.0f} s): "
          f"ratio {report['objective'] / bounds['weighted']:.3f}")
    print(f"under-coverage {under:.1f} agent-h vs LP bound {bounds['under_h']:.1f} agent-h "
          f"({bounds['under_h_s']:.0f} s): ratio {under / bounds['under_h']:.3f}, excess "
          f"{under - bounds['under_h']:.1f} h = {(under - bounds['under_h']) / n_queues:.1f} h "
          f"per queue (target: 2 % or 1 h per queue)")
    print(f"over-coverage {report['over_coverage_total_h']:.1f} agent-h; required "
          f"{report['required_h']:.0f} h; paid {report['paid_h']:.0f} h")
    print(spread_table(report))
    fair_cost = bounds["weighted_fair_nights"] - bounds["weighted"]
    print(f"with every night_ok agent at its site's floor of nights {night_floors} or more "
          f"(as far as leave allows): under-coverage LP bound "
          f"{bounds['under_h_fair_nights']:.1f} agent-h (plain {bounds['under_h']:.1f}), "
          f"weighted LP bound {bounds['weighted_fair_nights']:.1f} (plain "
          f"{bounds['weighted']:.1f}, +{fair_cost:.1f} of service)")
    shared = report["nights_shared"]
    print(f"nights shared site-wide: {shared['transfers']} transfers across skill groups "
          f"(estimated cost {shared['cost']:.1f}), then {shared['exchanges']} exchanges "
          f"inside the bands (saving {shared['saved']:.1f}); still below their share "
          f"{shared['below_share'] or 'none'}")
    # the price of sharing nights site-wide: the same week with nights evened out only
    # within skill groups (night_share = "group"), solved in the same run
    group_only = dataclasses.replace(scenario, roster=dataclasses.replace(
        scenario.roster, rules=dataclasses.replace(scenario.roster.rules,
                                                   night_share="group")))
    other = solve_roster(req, agents, group_only).report
    spreads = ", ".join(f"{site} {f['nights_night_ok_agents']['spread']}"
                        for site, f in other["fairness"].items())
    print(f"nights shared within skill groups only (night_share = \"group\"): under-coverage "
          f"{other['under_coverage_total_h']:.1f} agent-h (ratio "
          f"{other['under_coverage_total_h'] / bounds['under_h']:.3f} to the bound), "
          f"objective {other['objective']:.1f}; nights spread per site: {spreads}; "
          f"site-wide sharing costs {under - other['under_coverage_total_h']:+.1f} agent-h "
          f"and {report['objective'] - other['objective']:+.1f} of objective")
    if mip_s > 0:
        mip = mip_bound(bounds["hours_model"], mip_s)
        shown = {k: "none" if mip[k] is None or not np.isfinite(mip[k]) else f"{mip[k]:.1f}"
                 for k in ("bound", "best")}
        line = (f"HiGHS MIP of the under-coverage model, {mip['seconds']:.0f} s: lower bound "
                f"{shown['bound']} agent-h, best whole aggregate plan {shown['best']} agent-h "
                f"({mip['status']})")
        if shown["bound"] != "none" and mip["bound"] > 0:
            line += f"; roster vs that bound: ratio {under / mip['bound']:.3f}"
        print(line)


def scaled_agents(agents: pd.DataFrame, n: int) -> pd.DataFrame:
    copies = []
    k = 0
    while sum(len(c) for c in copies) < n:
        c = agents.copy()
        c["agent_id"] = c["agent_id"] + f"-{k}"
        copies.append(c)
        k += 1
    return pd.concat(copies, ignore_index=True).iloc[:n].reset_index(drop=True)


def bench_big(time_limit_s: float) -> None:
    print(f"\n== 1,000 agents (time limit {time_limit_s:.0f} s) ==")
    scenario, agents, req = demo_inputs(time_limit_s)
    big = scaled_agents(agents, 1000)
    factor = len(big) / len(agents)
    req = req.copy()
    req["headcount"] = np.round(req["headcount"] * factor).astype("int64")
    req["agents"] = np.round(req["agents"] * factor).astype("int64")
    req["contacts"] = req["contacts"] * factor
    req["traffic_erl"] = req["traffic_erl"] * factor
    t0 = time.perf_counter()
    result = solve_roster(req, big, scenario)
    wall = time.perf_counter() - t0
    violations = check_roster(result.roster, result.allocation, big, scenario)
    r = result.report
    print(f"agents {len(big)}; solve wall time {wall:.1f} s; shifts {r['shifts']}; rule "
          f"violations {len(violations)}; objective {r['objective']:.1f} vs LP bound "
          f"{r['best_bound']:.1f} (gap {r['gap']:.1%}); under-coverage "
          f"{r['under_coverage_total_h']:.0f} of {r['required_h']:.0f} h")
    spreads = ", ".join(f"{site} {f['nights_night_ok_agents']['min']}-"
                        f"{f['nights_night_ok_agents']['max']} ({len(f['nights_outside_band'])} "
                        "outside their share)" for site, f in r["fairness"].items())
    print(f"nights per night_ok agent: {spreads}; {r['nights_shared']['transfers']} "
          f"transfers in {r['nights_shared']['seconds']:.1f} s")


PEER_SCENARIO = """
name = "single_queue"
[planning]
week_start = 2026-11-23
interval_min = 60
[data]
source = "demo"
[[markets]]
code = "GB"
timezone = "UTC"
languages = ["en"]
[[sites]]
name = "One"
timezone = "UTC"
[roster]
time_limit_s = {limit}
[[roster.templates]]
name = "S8"
paid_min = 480
earliest_start = "00:00"
latest_start = "16:00"
start_step_min = 60
"""


def peer_demand() -> np.ndarray:
    """Demand per day and hour: 5..120 agents, a daytime shape, seeded noise."""
    rng = np.random.default_rng(3)
    hours = np.arange(24)
    shape = np.clip(np.sin((hours - 5) / 17 * np.pi), 0, None)
    days = []
    for d in range(7):
        level = 120 if d < 5 else 80
        days.append(np.clip(np.round(5 + (level - 5) * shape * rng.uniform(0.9, 1.1, 24)),
                            5, 120).astype(int))
    return np.array(days)


def bench_peer(time_limit_s: float) -> None:
    print(f"\n== single-queue week against pyworkforce MinAbsDifference ({time_limit_s:.0f} s "
          "each) ==")
    demand = peer_demand()
    print(f"demand per hour {demand.min()}..{demand.max()} agents, "
          f"{demand.sum()} agent-hours")
    scenario = scenario_mod.loads(PEER_SCENARIO.format(limit=time_limit_s), name="peer")
    grid = pd.date_range(scenario.planning.start_utc, periods=7 * 24, freq="h")
    # the demand is the headcount; the load is what that headcount serves at 80 % in 20 s
    # after 30 % shrinkage (about 0.6 Erlang per scheduled agent)
    traffic = demand.ravel() * 0.6
    req = pd.DataFrame({
        "interval_start": grid.astype("datetime64[ns, UTC]"), "queue": "en_voice",
        "language": "en", "channel": "voice", "contacts": traffic * 3600 / 300,
        "aht_s": 300.0, "traffic_erl": traffic,
        "agents": np.floor(demand.ravel() * 0.7).astype("int64"),
        "headcount": demand.ravel().astype("int64"),
        "service_level": 0.8, "asa_s": 15.0, "occupancy": 0.8, "target_answer_s": 20.0,
    })
    n_agents = int(np.ceil(demand.sum() / 40 * 1.25))
    agents = pd.DataFrame({
        "agent_id": [f"A{i:03d}" for i in range(n_agents)], "site": "One",
        "languages": [["en"]] * n_agents, "contract_hours_week": 40.0,
        "min_hours_week": 0.0, "role": "front_line", "night_ok": True,
        "availability": [[] for _ in range(n_agents)],
    })
    t0 = time.perf_counter()
    ours = solve_roster(req, agents, scenario)
    ours_s = time.perf_counter() - t0
    violations = check_roster(ours.roster, ours.allocation, agents, scenario)
    scheduled = ours.allocation.groupby("interval_start").size().reindex(grid, fill_value=0)
    gap = scheduled.to_numpy().reshape(7, 24) - demand
    print(f"wfm: under {np.clip(-gap, 0, None).sum()} agent-h, over {np.clip(gap, 0, None).sum()} "
          f"agent-h, {len(ours.roster)} shifts for {ours.roster['agent_id'].nunique()} agents "
          f"(max 5 shifts, 11 h rest, 2 days off, 40 h each), rule violations "
          f"{len(violations)}, {ours_s:.1f} s")
    try:
        from pyworkforce.scheduling import MinAbsDifference
    except ImportError:
        print("pyworkforce: not installed; `make bench-roster` installs it for this benchmark")
        return
    shifts = {f"S{s:02d}": [1 if s <= h < s + 8 else 0 for h in range(24)] for s in range(17)}
    t0 = time.perf_counter()
    peer = MinAbsDifference(num_days=7, periods=24, shifts_coverage=shifts,
                            required_resources=demand.tolist(), max_period_concurrency=500,
                            max_shift_concurrency=200, max_search_time=time_limit_s,
                            num_search_workers=8)
    solution = peer.solve()
    peer_s = time.perf_counter() - t0
    covered = np.zeros((7, 24), dtype=int)
    for row in solution["resources_shifts"]:
        covered[row["day"]] += row["resources"] * np.array(shifts[row["shift"]])
    peer_gap = covered - demand
    print(f"pyworkforce: under {np.clip(-peer_gap, 0, None).sum()} agent-h, over "
          f"{np.clip(peer_gap, 0, None).sum()} agent-h, {solution['status']}, {peer_s:.1f} s "
          "(no agents: shift counts per day, no rest, days off or contracts)")
    ours_under = np.clip(-gap, 0, None).sum()
    peer_under = np.clip(-peer_gap, 0, None).sum()
    print(f"under-coverage ratio wfm / pyworkforce: "
          f"{ours_under / max(peer_under, 1):.3f} ({ours_under} vs {peer_under} agent-h)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--time-limit", type=float, default=120.0)
    parser.add_argument("--big-time-limit", type=float, default=300.0)
    parser.add_argument("--peer-time-limit", type=float, default=60.0)
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--only", choices=["demo", "big", "peer"])
    parser.add_argument("--mip-s", type=float, default=0.0,
                        help="also run HiGHS branch and bound on the demo week's "
                             "under-coverage model this long for a stronger lower bound "
                             "(slow: its root LP takes ~25 min here)")
    args = parser.parse_args(argv)
    if args.only in (None, "demo"):
        bench_demo(args.time_limit, args.mip_s)
    if args.only in (None, "big") and not args.skip_big:
        bench_big(args.big_time_limit)
    if args.only in (None, "peer"):
        bench_peer(args.peer_time_limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
