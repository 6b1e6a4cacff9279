"""
The follow-the-sun roster solver.

``solve_roster(requirement, agents, scenario)`` turns the headcount required per queue
and interval (UTC) into shifts per agent, in each site's local time, and the queue each
working agent serves in each interval. It decomposes the week (a per-agent boolean
model does not scale to hundreds of agents on two cores):

1. **Aggregate covering model** (:mod:`wfm.roster.aggregate`): shift counts per group
   of interchangeable agents (site x skills), lunches and the split of agents over
   queues, with the rules in aggregate form. Its LP relaxation (HiGHS interior point)
   is solved first: its optimum is the **lower bound** the report compares against.
2. **Dive** (:mod:`wfm.roster.dive`): the LP is rounded a little at a time, re-solving
   it in between, and HiGHS branch and bound rounds the last hundred or so fractional
   counts at once (measured: CP-SAT could not improve the LP-rounded starting point of
   this large covering model; branch and bound on 250-550 fractional counts needed 28-40
   s for a good point, on about 100 it proves the best rounding in under 10 s).
3. **Assignment** (:mod:`wfm.roster.assign`): one CP-SAT model per group (or chunk of
   a large group) hands the counts to agents under the exact individual rules (rest in
   real time across DST and the previous week, consecutive days, days off, contract
   minutes, nights, availability), in two stages: the counts alone, then spreading
   nights and weekends and meeting preferences without missing more of the counts.
   CP-SAT runs with ``num_workers`` (8 by default: it closes bounds far better than 2
   on a 2-core machine) and a greedy hint; every option goes through
   ``solver.parameters``.
4. **Local search** (:mod:`wfm.roster.topup`): shifts added where contract time is left,
   single shifts swapped for better ones; then the **neighbourhood search**
   (:mod:`wfm.roster.neighbourhood`): a few agents of a group re-rostered at once by
   CP-SAT against the roster's own objective, never leaving the roster worse; then
   nights and weekend days evened out within each group, coverage unchanged.
5. **Allocation** (:mod:`wfm.roster.allocate`): lunches and queues per agent and interval.

The objective is the service lost to under-coverage first (each missing agent weighted
by the service level it would have bought, from :mod:`wfm.erlang`, convex so the
shortage goes where it hurts least), then paid time beyond need, then fairness and
preferences. Coverage is soft: a lack of agents is shortage, reported, never
"infeasible"; :class:`~wfm.errors.RosterInfeasible` is raised only when agents cannot
keep the hard rules, naming them and what to relax.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wfm import schema
from wfm.errors import InputError
from wfm.progress import ProgressFn
from wfm.roster import aggregate as aggregate_mod
from wfm.roster.allocate import allocate, fixed_shift_solution, lunch_offsets
from wfm.roster.assign import (
    assign_group,
    diagnose_agents,
    previous_history,
    raise_infeasible,
)
from wfm.roster.catalog import (
    agent_infos,
    build_catalog,
    can_serve,
    make_groups,
    night_bands,
)
from wfm.roster.dive import REST_ROWS, dive
from wfm.roster.fairshare import keep_bands, share_nights
from wfm.roster.neighbourhood import improve, soft_goals
from wfm.roster.rules import Violation, check_roster
from wfm.roster.topup import balance, top_up, upgrade
from wfm.scenario import Scenario

__all__ = ["RosterResult", "Violation", "check_roster", "headline", "solve_roster",
           "unservable_demand"]


@dataclass
class RosterResult:
    roster: pd.DataFrame
    allocation: pd.DataFrame
    report: dict = field(default_factory=dict)


class _Clock:
    def __init__(self, limit_s: float):
        self.t0 = time.perf_counter()
        self.limit = limit_s

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self, share: float = 1.0) -> float:
        return max(0.0, (self.limit - self.elapsed) * share)


def unservable_demand(requirement: pd.DataFrame, agents: pd.DataFrame,
                      scenario: Scenario) -> list[str]:
    """
    Demand no agent can serve: per queue, the required intervals in which no agent with
    its language (and channel) can be at work, given sites, templates, night rules and
    availability. Checked before solving; each line names the queue and the hours.
    """
    catalog = build_catalog(scenario, sites=sorted(set(agents["site"])))
    infos = agent_infos(agents, scenario, catalog)
    queues = aggregate_mod.queues_of(requirement)
    tpos = {t.value: i for i, t in enumerate(catalog.grid)}
    lines = []
    for q in queues:
        able = [a for a in infos if can_serve(a.languages, a.channels, q.language, q.channel)]
        reachable = np.zeros(len(catalog.grid), bool)
        for a in able:
            for k in catalog.by_site.get(a.site, []):
                o = catalog.options[k]
                if a.available(o.date) and (a.night_ok or not o.night) and a.max_shifts > 0:
                    reachable[catalog.cover[k]] = True
        part = requirement[(requirement["queue"] == q.name) & (requirement["headcount"] > 0)]
        idx = [tpos[t.value] for t in part["interval_start"] if t.value in tpos]
        missing = [t for t in idx if not reachable[t]]
        if not missing:
            continue
        hours = len(missing) * scenario.planning.interval_min / 60
        first = catalog.grid[missing[0]]
        who = "no agent speaks it" if not able else (
            f"none of its {len(able)} agent(s) can be at work then (sites, templates, "
            "night_ok, availability)")
        lines.append(f"queue {q.name}: {len(missing)} interval(s) ({hours:g} h) from "
                     f"{first:%a %Y-%m-%d %H:%M} UTC with demand that no agent can serve: {who}")
    return lines


def _carry_in(previous_roster, agents, catalog, groups, infos, dem, scenario):
    """Agents still on last week's shifts in this week's first intervals."""
    need_reduction = np.zeros_like(dem.headcount)
    carry = []
    if previous_roster is None or len(previous_roster) == 0:
        return need_reduction, carry
    from wfm.roster.rules import _breaks_utc

    group_of = {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members}
    zones = scenario.site_zones
    from zoneinfo import ZoneInfo

    step = pd.Timedelta(minutes=scenario.planning.interval_min)
    w0 = scenario.planning.start_utc
    for row in previous_roster[previous_roster["end_utc"] > w0].itertuples():
        g = group_of.get(row.agent_id)
        if g is None:
            continue
        breaks = _breaks_utc(row, ZoneInfo(zones[row.site]))
        for t, start in enumerate(catalog.grid):
            if start < row.start_utc or start + step > row.end_utc:
                continue
            if any(start < be and bs < start + step for bs, be in breaks):
                continue
            carry.append((row.agent_id, g, t))
            queues = [q for q, spec in enumerate(dem.queues)
                      if can_serve(groups[g].languages, groups[g].channels, spec.language,
                                   spec.channel)]
            if queues:
                q = max(queues, key=lambda q: dem.headcount[q, t] - need_reduction[q, t])
                need_reduction[q, t] += 1
    return need_reduction, carry


def solve_roster(requirement: pd.DataFrame, agents: pd.DataFrame, scenario: Scenario, *,
                 previous_roster: pd.DataFrame | None = None,
                 progress: ProgressFn | None = None,
                 time_limit_s: float | None = None) -> RosterResult:
    """
    The week's roster (see the module docstring).

    Parameters
    ----------
    requirement : DataFrame
        Contract ``requirement``: headcount per queue and interval (UTC), on the
        scenario's planning grid; ``language``/``channel`` columns or queue names
        ``<language>_<channel>``.
    agents : DataFrame
        Contract ``agents``.
    scenario : Scenario
        Sites, shift templates, rules, weights, planning week, solver settings.
    previous_roster : DataFrame, optional
        Last week's roster: rest and consecutive days reach back into it, and its
        shifts still running at the start of the week count as coverage.
    progress : callable, optional
        ``progress(done, total, label)``; the label carries the stage, the incumbent
        and the bound while solving.
    time_limit_s : float, optional
        Overall time budget [s]; ``scenario.roster.time_limit_s`` by default.

    Returns
    -------
    RosterResult
        ``roster`` and ``allocation`` (contract frames) and ``report`` (status,
        objective, best bound, gap, wall time, under- and over-coverage per queue,
        penalties, fairness, unservable demand, trace).

    Raises
    ------
    InputError
        Malformed frames or a requirement off the planning grid.
    RosterInfeasible
        Agents who cannot keep the hard rules (named, with what to relax).
    """
    settings = scenario.roster
    clock = _Clock(float(time_limit_s or settings.time_limit_s))
    schema.validate(requirement, "requirement", interval_min=scenario.planning.interval_min,
                    source="requirement")
    schema.validate(agents, "agents", source="agents")
    trace: list[dict] = []

    def note(stage: str, done: int, incumbent=None, bound=None):
        point = {"stage": stage, "seconds": round(clock.elapsed, 2)}
        if incumbent is not None:
            point["incumbent"] = float(incumbent)
        if bound is not None:
            point["bound"] = float(bound)
        trace.append(point)
        if progress is not None:
            label = stage + ("" if incumbent is None else f": incumbent {incumbent:,.1f}") + (
                "" if bound is None else f", bound {bound:,.1f}")
            progress(done, 100, label)

    unknown_sites = sorted(set(agents["site"]) - set(scenario.site_zones))
    if unknown_sites:
        raise InputError(f"agents: site(s) {', '.join(unknown_sites)} are not in the "
                         "scenario's [[sites]]; add them with their IANA time zone")
    note("catalogue", 1)
    catalog = build_catalog(scenario, sites=sorted(set(agents["site"])))
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    history = previous_history(previous_roster, scenario.planning.start_utc)
    problems = diagnose_agents(catalog, infos, scenario, history, quick=True)
    if problems:
        raise_infeasible(problems)
    unservable = unservable_demand(requirement, agents, scenario)
    dem = aggregate_mod.demand(requirement, catalog, scenario, infos)
    reduction, carry = _carry_in(previous_roster, agents, catalog, groups, infos, dem, scenario)
    agg = aggregate_mod.build_aggregate(catalog, groups, infos, dem, scenario,
                                        carry_in=reduction)
    compiled = agg.lm.compile(skip_rows=REST_ROWS)
    lb0, ub0 = np.asarray(agg.lm.lb, float), np.asarray(agg.lm.ub, float)

    # 1. LP relaxation: the lower bound
    note("LP relaxation", 5)
    # the bound and the starting point: it gets the time it needs, even past the budget
    # on a busy machine (the later steps shrink to what is left)
    lp = compiled.solve(lb0, ub0, max(clock.left(0.4), 180.0))
    if not lp.ok:
        raise RuntimeError(f"the aggregate LP relaxation failed: {lp.message}")
    bound = lp.objective
    note("LP relaxation", 20, bound=bound)

    # 2. dive to whole counts
    # the rounding keeps the rest rows: whole counts must be rest-feasible for agents
    with_rest = agg.lm.compile()
    rounded = dive(agg, catalog, lp.x, time_budget_s=clock.left(0.25), compiled=with_rest,
                   report=lambda s, n, o: note(f"rounding ({n} fractional)", 30, o, bound))
    counts = rounded.x
    timings = {"lp relaxation": round(lp.seconds, 2), "until whole counts": None}
    stages = {"lp_bound": bound}
    stages["whole_counts"] = rounded.objective  # its lunches rounded too
    note("whole shift counts", 50, stages["whole_counts"], bound)
    timings["until whole counts"] = round(clock.elapsed, 2)

    # 3. assignment to agents, group by group: the group's counts handed out under the
    #    exact individual rules; fairness and preferences decide among equal options
    shifts: dict[str, list[int]] = {}
    site_reports: dict[str, dict] = {}
    # big groups are handed out in chunks of similar agents (CP-SAT's model of a group
    # grows with agents x options; chunks keep each one small enough to solve)
    groups_all, counts_all = _chunked(groups, counts, infos, CHUNK_AGENTS)
    order = sorted(range(len(groups), len(groups_all)),
                   key=lambda g: (-groups_all[g].size, groups_all[g].site))
    members_left = sum(grp.size for grp in groups)
    for n, g in enumerate(order):
        grp = groups_all[g]
        share = grp.size / max(members_left, 1)
        members_left -= grp.size
        budget = max(clock.left(share * ASSIGN_SHARE), 1.0)
        label = f"assigning {grp.site} {'+'.join(grp.languages)}"
        args = (g, catalog, groups_all, infos, counts_all, scenario, history)
        assignment = assign_group(
            *args, time_limit_s=budget, num_workers=settings.num_workers,
            report=lambda s, inc, bd, label=label, n=n: note(
                label, 55 + 25 * n // len(order), inc / 100, bd / 100))
        if assignment.status not in ("OPTIMAL", "FEASIBLE", "GREEDY"):
            members = [infos[i].agent_id for i in grp.members]
            problems = diagnose_agents(catalog, infos, scenario, history, members)
            if problems:
                raise_infeasible(problems)
            # every agent can keep the rules alone (and agents of a group are only tied
            # by soft goals): solve them one by one, each with every shift of the site
            assignment = _one_by_one(g, grp, catalog, groups_all, infos, counts_all,
                                     scenario, history, settings)
        shifts.update(assignment.shifts)
        site = site_reports.setdefault(grp.site, {"groups": 0, "optimal": 0, "seconds": 0.0})
        site["groups"] += 1
        site["optimal"] += int(assignment.status == "OPTIMAL")
        site["greedy"] = site.get("greedy", 0) + int(assignment.status == "GREEDY")
        site["seconds"] = round(site["seconds"] + assignment.seconds, 2)
    for site in site_reports.values():
        site["status"] = "OPTIMAL" if site["optimal"] == site["groups"] else "FEASIBLE"
    note("assigned", 80)
    timings["until assigned"] = round(clock.elapsed, 2)

    # 4. local search: agents with contract time left take shifts that cover shortage,
    #    and any agent swaps a shift for a better one when that saves service
    def evaluate(roster: dict[str, list[int]]) -> tuple[float, np.ndarray]:
        """The roster's objective and the aggregate LP's solution with its shifts fixed."""
        x = fixed_shift_solution(agg, compiled, _realised(roster, groups, infos)).x
        return float(compiled.c @ x), x

    stages["assigned"], current = evaluate(shifts)
    added = top_up(shifts, catalog, groups, infos, agg, dem, scenario, history, current,
                   time_budget_s=max(clock.left(0.2), 3.0))
    _, current = evaluate(shifts)
    # nights across the groups of a site: each night_ok agent up to their fair share;
    # from here on every agent's nights stay inside their band
    bands, shared = None, None
    if settings.rules.night_share == "site":
        shared = share_nights(shifts, catalog, groups, infos, agg, dem, scenario, history,
                              current, time_budget_s=max(clock.left(0.05), 1.0))
        bands = keep_bands(shifts, catalog, infos, scenario)
        _, current = evaluate(shifts)
        note(f"shared nights ({shared['transfers']} transfers)", 84)
    reserve = max(6.0, 0.05 * clock.limit)  # balancing, allocation and the report
    swapped = upgrade(shifts, catalog, groups, infos, agg, dem, scenario, history, current,
                      time_budget_s=max(clock.left() - reserve, 3.0), bands=bands)
    note(f"topped up ({added} shifts added, {swapped} swapped)", 85)
    # large-neighbourhood search with the time the swaps leave (they stop when no single
    # swap pays: about 10 s on the demo week; on 1,000 agents, with only half the time
    # left to the swaps, the week ended at a 12.9 % gap instead of 10.3-10.5 %)
    search = improve(shifts, catalog, groups, infos, agg, dem, scenario, history, evaluate,
                     time_budget_s=max(clock.left() - reserve, 1.0),
                     report=lambda label: note(label, 88), bands=bands)
    stages["swapped"] = search["objective_before"]
    stages["re-rostered"] = search["objective_after"]
    note(f"re-rostered ({search['improved']} of {search['neighbourhoods']} "
         "neighbourhoods improved)", 88)
    # fairness: even out nights and weekend days within each group (coverage unchanged)
    balanced = balance(shifts, catalog, groups, infos, scenario, history,
                       time_budget_s=max(clock.left(0.5), 2.0), bands=bands)
    note(f"balanced nights and weekends ({balanced} moves)", 90)
    penalties = soft_goals(shifts, catalog, groups, infos, scenario)  # of the final roster

    # 5. lunches and queues per agent
    group_of = {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members}
    by_option: dict[tuple[int, int], list[str]] = {}
    for agent, options in shifts.items():
        for k in options:
            by_option.setdefault((group_of[agent], k), []).append(agent)
    objective, values = evaluate(shifts)
    stages["final"] = objective
    lunches = lunch_offsets(agg, catalog, values, by_option)
    allocation = allocate(agg, dem, catalog, groups, infos, values, shifts, lunches, carry)
    roster = _roster_frame(catalog, shifts, lunches, scenario)
    note("allocated", 95)

    report = _report(scenario, dem, catalog, allocation, roster, agents, bound, objective,
                     penalties, site_reports, unservable, trace, clock, lp, agg, values,
                     infos)
    report["objective_by_stage"] = {k: round(v, 3) for k, v in stages.items()}
    report["neighbourhood_search"] = search
    report["nights_shared"] = shared
    timings["total"] = round(clock.elapsed, 2)
    report["seconds_by_stage"] = timings
    note("done", 100)
    return RosterResult(roster, allocation, report)


#: the assignment model of a group of more agents than this is split into chunks
CHUNK_AGENTS = 24
#: share of the time left that the assignment's groups get (in proportion to their agents);
#: measured 2026-11-22: at 0.55 the demo week ended 5 agent-h less short on average (9 runs
#: against 10) but 1,000 agents at a 5.4 % gap instead of 1.5 % (the swaps need the time)
ASSIGN_SHARE = 0.35


def _one_by_one(g, grp, catalog, groups_all, infos, counts_all, scenario, history, settings):
    """A group's agents assigned one at a time (the fallback when the group's model found
    nothing in time); an agent who cannot be rostered even alone is infeasible."""
    from wfm.roster.assign import SiteAssignment
    from wfm.roster.catalog import Group

    shifts, seconds = {}, 0.0
    for i in grp.members:
        single = Group(grp.key + ("one", i), grp.site, grp.languages, grp.channels, [i])
        extended = [*groups_all, single]
        counts = {(len(groups_all), k): n for (gg, k), n in counts_all.items() if gg == g}
        result = assign_group(len(groups_all), catalog, extended, infos, counts, scenario,
                              history, time_limit_s=30.0, num_workers=settings.num_workers,
                              all_options=True)
        seconds += result.seconds
        if result.status not in ("OPTIMAL", "FEASIBLE"):
            raise_infeasible([f"agent {infos[i].agent_id} ({grp.site}): no week of shifts "
                              f"found that keeps the hard rules ({result.status} after "
                              f"{result.seconds:.0f} s); check the agent's contract, "
                              "availability and the rules"])
        shifts.update(result.shifts)
    return SiteAssignment(shifts, "FEASIBLE", float("nan"), float("nan"), seconds, {}, [])


def _chunked(groups, counts, infos, size):
    """
    Groups and counts for the assignment: each group, and after them its chunks of at
    most ``size`` agents (a group's own index is kept for groups that fit). Agents are
    dealt to chunks in turn, sorted by contract, so chunks hold similar agents; each
    shift option's count is dealt out in proportion to the chunks' paid capacity, in
    start order, so every chunk gets its share of every time of day.
    """
    from wfm.roster.catalog import Group

    out_groups = list(groups)
    out_counts: dict[tuple[int, int], int] = {}
    for g, grp in enumerate(groups):
        n_chunks = max(1, -(-grp.size // size))
        members = sorted(grp.members, key=lambda i: (-infos[i].max_paid_min,
                                                     infos[i].agent_id))
        chunks = [members[c::n_chunks] for c in range(n_chunks)]
        capacity = np.array([sum(infos[i].max_paid_min for i in m) for m in chunks], float)
        share = capacity / capacity.sum() if capacity.sum() > 0 else np.full(
            n_chunks, 1 / n_chunks)
        first = len(out_groups)
        for c, m in enumerate(chunks):
            out_groups.append(Group(grp.key + (c,), grp.site, grp.languages, grp.channels, m))
        owed = np.zeros(n_chunks)
        options = sorted(k for (gg, k) in counts if gg == g)
        for k in options:
            for _ in range(counts[(g, k)]):
                owed += share
                c = int(np.argmax(owed))
                owed[c] -= 1
                key = (first + c, k)
                out_counts[key] = out_counts.get(key, 0) + 1
    return out_groups, out_counts


def _realised(shifts, groups, infos) -> dict[tuple[int, int], int]:
    """Shift counts per (group, option) of a roster."""
    group_of = {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members}
    out: dict[tuple[int, int], int] = {}
    for agent, options in shifts.items():
        for k in options:
            key = (group_of[agent], k)
            out[key] = out.get(key, 0) + 1
    return out


def _roster_frame(catalog, shifts, lunches, scenario) -> pd.DataFrame:
    rows = []
    for agent, options in shifts.items():
        for k in options:
            o = catalog.options[k]
            breaks = ""
            off = lunches.get((agent, k))
            if off is not None:
                ls = o.start_utc + pd.Timedelta(minutes=off)
                le = ls + pd.Timedelta(minutes=o.lunch_min)
                zone = o.start_local.tzinfo
                breaks = (f"{ls.tz_convert(zone):%H:%M}-{le.tz_convert(zone):%H:%M}")
            rows.append({
                "agent_id": agent, "date": o.date, "site": o.site, "shift": o.template,
                "start_utc": o.start_utc, "end_utc": o.end_utc,
                "start_local": pd.Timestamp(o.start_local).isoformat(),
                "end_local": pd.Timestamp(o.end_local).isoformat(),
                "paid_min": int(o.paid_min), "breaks": breaks,
            })
    columns = [c.name for c in schema.ROSTER.columns]
    frame = pd.DataFrame(rows, columns=columns)
    for c in ("start_utc", "end_utc"):
        frame[c] = pd.to_datetime(frame[c], utc=True).astype("datetime64[ns, UTC]")
    frame["paid_min"] = frame["paid_min"].astype("int64")
    return schema.sort_frame(frame, "roster")


def _spread(values: list[int]) -> dict:
    if not values:
        return {"agents": 0, "min": 0, "max": 0, "spread": 0}
    return {"agents": len(values), "min": int(min(values)), "max": int(max(values)),
            "spread": int(max(values) - min(values))}


def _report(scenario, dem, catalog, allocation, roster, agents, bound, objective, penalties,
            site_reports, unservable, trace, clock, lp, agg, values, infos) -> dict:
    step_h = scenario.planning.interval_min / 60
    tpos = {t.value: i for i, t in enumerate(catalog.grid)}
    qpos = {q.name: i for i, q in enumerate(dem.queues)}
    scheduled = np.zeros_like(dem.headcount)
    if len(allocation):
        ti = allocation["interval_start"].map(lambda t: tpos[t.value]).to_numpy()
        qi = allocation["queue"].map(qpos).to_numpy()
        np.add.at(scheduled, (qi, ti), 1)
    under = np.maximum(dem.headcount - scheduled, 0) * step_h
    over = np.maximum(scheduled - dem.headcount, 0) * step_h
    night_flags = {}
    for o in catalog.options:
        night_flags[(o.site, o.start_utc.value, o.template)] = (o.night, o.weekend)
    fairness = {}
    info = agents.set_index("agent_id")
    for site, part in roster.groupby("site"):
        flags = [night_flags[(site, r.start_utc.value, r.shift)] for r in part.itertuples()]
        part = part.assign(night=[f[0] for f in flags], weekend=[f[1] for f in flags])
        per_agent = part.groupby("agent_id")[["night", "weekend"]].sum()
        site_agents = info[info["site"] == site]
        per_agent = per_agent.reindex(site_agents.index, fill_value=0)
        night_ok = site_agents.index[site_agents["night_ok"].astype(bool)]
        skills = site_agents["languages"].map(lambda v: "+".join(sorted(v)))
        by_group = {}
        for group, members in site_agents.groupby(skills).groups.items():
            ok = [a for a in members if a in set(night_ok)]
            by_group[group] = {"nights_night_ok_agents": _spread(
                per_agent.loc[ok, "night"].tolist()), "weekend_days": _spread(
                per_agent.loc[list(members), "weekend"].tolist())}
        fairness[site] = {
            "nights_night_ok_agents": _spread(per_agent.loc[night_ok, "night"].tolist()),
            "weekend_days": _spread(per_agent["weekend"].tolist()),
            "groups": by_group,
            "groups_nights_spread_le_1": sum(
                1 for f in by_group.values() if f["nights_night_ok_agents"]["spread"] <= 1),
            # each night_ok agent's fair share of the nights its site works
            **_band_figures(per_agent.loc[night_ok, "night"], night_bands(
                infos, catalog, {site: int(per_agent["night"].sum())},
                scenario.roster.rules.max_nights_week)),
        }
    shortage = sum(float(values[v]) * agg.lm.objective.get(v, 0.0)
                   for steps in agg.short.values() for v in steps)
    gap = (objective - bound) / objective if objective > 0 else 0.0
    return {
        "status": "FEASIBLE" if all(r["status"] in ("OPTIMAL", "FEASIBLE")
                                    for r in site_reports.values()) else "UNKNOWN",
        "objective": round(objective, 3),
        "best_bound": round(bound, 3),
        "gap": round(gap, 4),
        "wall_time_s": round(clock.elapsed, 2),
        "lp_seconds": round(lp.seconds, 2),
        "under_coverage_h": {q.name: float(under[i].sum()) for i, q in enumerate(dem.queues)},
        "over_coverage_h": {q.name: float(over[i].sum()) for i, q in enumerate(dem.queues)},
        "under_coverage_total_h": float(under.sum()),
        "over_coverage_total_h": float(over.sum()),
        "required_h": float(dem.headcount.sum() * step_h),
        "scheduled_h": float(scheduled.sum() * step_h),
        "paid_h": float(roster["paid_min"].sum() / 60),
        "shifts": int(len(roster)),
        "agents_rostered": int(roster["agent_id"].nunique()),
        "penalties": {"service lost (weighted shortage)": round(shortage, 3),
                      "paid time": round(objective - shortage, 3),
                      **{k: round(v, 2) for k, v in penalties.items()}},
        "sites": site_reports,
        "fairness": fairness,
        "unservable": unservable,
        "trace": trace,
        "week_start_utc": str(scenario.planning.start_utc),
        "generated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _band_figures(nights: pd.Series, bands: dict) -> dict:
    """The site's fair share of nights (the band most of its night_ok agents have) and
    the night_ok agents outside their own band."""
    banded = [bands[a] for a in nights.index if a in bands]
    common = max(set(banded), key=banded.count) if banded else None
    outside = [{"agent_id": a, "nights": int(n), "band": list(bands[a])}
               for a, n in nights.items()
               if a in bands and not bands[a][0] <= n <= bands[a][1]]
    return {"nights_band": list(common) if common else None,
            "nights_outside_band": outside}


def headline(report: dict) -> str:
    """One line for the terminal: shifts, under-coverage against the bound, time."""
    required = report["required_h"]
    under = report["under_coverage_total_h"]
    return (f"roster: {report['shifts']:,} shifts for {report['agents_rostered']} agents, "
            f"{report['paid_h']:,.0f} paid h; under-coverage {under:,.0f} of {required:,.0f} "
            f"required agent-h ({under / required:.1%}); objective {report['objective']:,.1f} "
            f"vs LP bound {report['best_bound']:,.1f} (gap {report['gap']:.1%}); "
            f"{report['wall_time_s']:.0f} s")
