"""
Large-neighbourhood search: a few agents of a group re-rostered at once, exactly.

The aggregate's counts are not always realisable agent by agent, and the greedy top-up
and one-shift swaps stop at a local optimum where no single move pays. This step frees
the weeks of a handful of agents of one group (the rest of the roster fixed) and solves
their weeks again with CP-SAT as one per-agent model: every individual rule (the same
constraints as the assignment, :func:`wfm.roster.assign.add_agent_rules`), and the
objective of the roster itself instead of the aggregate's counts: the service the
neighbourhood's agents buy in each interval (the convex shortage weights of their
pools at the coverage the others leave, so a second agent in an interval is worth less
than the first), their paid time, the spread of nights and weekend days over the whole
group and the preferences, as in the assignment. The current weeks are the hint, so the
model starts from them; new weeks are kept only when the neighbourhood scores better.

Coverage is kept in a ledger (:class:`_Ledger`): each shift's working intervals and the
pool it serves in each, so freeing a week and putting it back is exact (an earlier
version re-derived them and drifted: freeing and restoring every group once moved 259
pool-intervals and the shortage value by 3 %). Each pass fills the ledger with the LP's
lunches and its split of each group's agents over queues, so the ledger starts from the
LP's value exactly (filled greedily instead, it started 7 % above the LP on the demo week
and the models chased gains the LP did not confirm). New weeks are placed greedily, so a
neighbourhood that looks better to its model is kept only when the LP (lunches and queues
free) plus the soft goals agree;
otherwise it is undone, and the step never leaves the roster worse. The LP checks a
batch of :data:`CHECK_EVERY` neighbourhoods at once (measured on the demo week: checking
each one left time for only 6 neighbourhoods, checking once per pass let a bad one throw
away a whole pass of good ones).

Neighbourhoods go group by group, those with the most service at stake first, in
passes until a pass improves nothing or the time is up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.allocate import lunch_offsets
from wfm.roster.assign import (
    SCALE,
    History,
    _candidates,
    add_agent_rules,
    add_spread_terms,
    cpsat_parameters,
)
from wfm.roster.catalog import AgentInfo, Catalog, Group, preference_ok
from wfm.roster.topup import _site_matrices
from wfm.scenario import WEEKDAYS, Scenario

#: agents re-rostered together
NEIGHBOURHOOD_AGENTS = 10
#: shift options offered per agent and date beside its own: the best by estimated saving
OPTIONS_PER_DATE = 16
#: time limit of one neighbourhood's model [s]
STEP_LIMIT_S = 2.0
#: neighbourhoods whose new weeks the LP checks together (one LP re-solve, ~1.3 s on the
#: demo week, per batch; a batch the LP does not confirm is undone as a whole)
CHECK_EVERY = 4
#: CP-SAT workers and LP use for a neighbourhood's model. Measured on the demo week (12
#: neighbourhoods of 4-14 agents, 3 s each): one worker with linearization level 2 saved
#: 43.5 (7 of 12 solved to optimality) against 13.8 with 8 workers at the default level
#: and 4.8 with two workers at level 2: these small models are won by the LP, not by
#: portfolio diversity (unlike the assignment, where 8 workers close bounds better)
WORKERS = 1
LINEARIZATION_LEVEL = 2


def improve(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
            infos: list[AgentInfo], agg: Aggregate, dem: Demand, scenario: Scenario,
            history: History, evaluate: Callable[[dict], tuple[float, np.ndarray]], *,
            time_budget_s: float, report: Callable[[str], None] | None = None) -> dict:
    """
    Improve ``shifts`` in place (see the module docstring). ``evaluate(shifts)`` returns
    the roster's objective and the aggregate LP's solution with its shifts fixed. A
    batch of neighbourhoods' new weeks is kept only when the LP's objective plus the soft
    goals (:func:`soft_goals`, weighted as the models weigh them) falls; otherwise it is
    undone, so the step never makes the roster worse. Each pass starts its ledger from
    the LP's lunches. Returns counts of neighbourhoods solved, kept and undone, and both
    parts of the objective before and after.
    """
    t0 = time.perf_counter()
    for a in infos:
        shifts.setdefault(a.agent_id, [])
    matrices = _site_matrices(catalog, len(catalog.grid))
    rng = np.random.default_rng(scenario.roster.random_seed)
    objective, values = evaluate(shifts)
    evaluation_s = time.perf_counter() - t0
    soft = sum(soft_goals(shifts, catalog, groups, infos, scenario).values())
    best = (objective + soft, objective, soft, {a: list(ks) for a, ks in shifts.items()})
    best_values = values
    stats = {"neighbourhoods": 0, "improved": 0, "rejected": 0, "passes": 0,
             "objective_before": round(objective, 3), "soft_before": round(soft, 3)}

    def left() -> float:
        return time_budget_s - (time.perf_counter() - t0) - 1.5 * evaluation_s

    def check(batch) -> int:
        """Keep the batch's new weeks when the LP (lunches and queues free) plus the soft
        goals agree they are better, else undo them; returns the neighbourhoods kept."""
        nonlocal best, best_values
        if not batch:
            return 0
        objective, values = evaluate(shifts)
        soft = sum(soft_goals(shifts, catalog, groups, infos, scenario).values())
        if objective + soft >= best[0] - 1e-6:
            for _, undo in reversed(batch):
                undo()
            stats["rejected"] += len(batch)
            return 0
        best = (objective + soft, objective, soft, {a: list(ks) for a, ks in shifts.items()})
        best_values = values
        stats["improved"] += len(batch)
        if report is not None:
            names = ", ".join(f"{groups[g].site} {'+'.join(groups[g].languages)}"
                              for g, _ in batch)
            report(f"re-rostered {names}: objective {objective:,.1f}, soft goals {soft:,.1f}")
        return len(batch)

    while left() > 0.5:
        stats["passes"] += 1
        cov = _Ledger(agg, dem)
        cov.fill(shifts, catalog, groups, infos, best_values)
        improved = 0
        batch: list[tuple[int, Callable[[], None]]] = []  # kept, not yet checked by the LP
        for g, members in _neighbourhoods(groups, agg, cov, rng):
            if left() < 0.5:
                break
            saved, undo = _reoptimise(g, members, shifts, catalog, groups, infos, agg, cov,
                                      scenario, history, matrices,
                                      time_limit_s=min(STEP_LIMIT_S, left()))
            stats["neighbourhoods"] += 1
            if saved > 0:
                batch.append((g, undo))
            if len(batch) >= CHECK_EVERY:
                improved += check(batch)
                batch = []
        improved += check(batch)
        if not improved:
            break
    shifts.clear()
    shifts.update(best[3])
    stats["objective_after"] = round(best[1], 3)
    stats["soft_after"] = round(best[2], 3)
    stats["seconds"] = round(time.perf_counter() - t0, 2)
    return stats


def soft_goals(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
               infos: list[AgentInfo], scenario: Scenario) -> dict[str, float]:
    """
    The roster's soft goals in objective units, weighted as in the assignment: the
    spread (max - min) of nights among night_ok agents and of weekend days in each group,
    shifts against an agent's preferences, and weeks whose days off are never two in a
    row.
    """
    weights = scenario.roster.weights
    out = {"night spread": 0.0, "weekend spread": 0.0, "preferences": 0.0,
           "split days off": 0.0}
    for grp in groups:
        members = [i for i in grp.members if infos[i].max_shifts > 0]
        for label, flag, weight, who in (
                ("night spread", "night", weights.night_spread,
                 [i for i in members if infos[i].night_ok]),
                ("weekend spread", "weekend", weights.weekend_spread, members)):
            counts = [sum(getattr(catalog.options[k], flag) for k in shifts[infos[i].agent_id])
                      for i in who]
            if len(counts) >= 2:
                out[label] += weight * (max(counts) - min(counts))
        for i in members:
            a = infos[i]
            options = [catalog.options[k] for k in shifts[a.agent_id]]
            out["preferences"] += weights.preference * sum(
                1 for o in options if not preference_ok(o, a.preferred_shift)
                or WEEKDAYS[o.date.weekday()] in a.wished_days_off)
            dates = catalog.dates(a.site)
            worked = {o.date for o in options}
            if len(dates) - a.max_shifts >= 2 and not any(
                    d0 not in worked and d1 not in worked
                    for d0, d1 in zip(dates[:-1], dates[1:], strict=True)):
                out["split days off"] += weights.split_days_off
    return out


def _neighbourhoods(groups: list[Group], agg: Aggregate, cov: _Ledger, rng):
    """(group, agents) to re-roster, groups with most service at stake first; a big
    group is cut into random parts of about :data:`NEIGHBOURHOOD_AGENTS`."""
    stake = []
    for g, grp in enumerate(groups):
        pools = agg.group_pools[g]
        if not pools or not grp.members:
            continue
        value = float(cov.marginal(pools).sum())
        if value > 0:
            stake.append((value, g))
    out = []
    for _, g in sorted(stake, reverse=True):
        members = list(groups[g].members)
        rng.shuffle(members)
        parts = max(1, round(len(members) / NEIGHBOURHOOD_AGENTS))
        out.extend((g, sorted(members[c::parts])) for c in range(parts))
    return out


class _Ledger:
    """
    The coverage of the roster, kept exactly: every shift's working intervals (its lunch
    taken out) and the pool it serves in each, so taking a week out and putting it back
    leaves the counts as they were. Filled from the aggregate LP's solution, its value
    (weighted shortage) is the LP's; shifts placed later go where they save most, one
    feasible allocation, so the LP with the same shifts is at most as high.
    """

    def __init__(self, agg: Aggregate, dem: Demand):
        self.agg_ref = agg
        self.pools_of = agg.group_pools
        self.need = dem.pool_need(agg.need)
        self.count = np.zeros_like(self.need)
        self.weights = {(p, int(t)): dem.pool_weights(p, int(t), agg.need)
                        for p in range(self.need.shape[0])
                        for t in np.flatnonzero(self.need[p] > 0)}
        self.entries: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def fill(self, shifts, catalog, groups, infos, values) -> None:
        """Every shift of the roster, with the LP's lunches and its split of each group's
        agents over pools (``values``); where the split leaves an agent unplaced, it
        goes where it saves most, single-pool groups first."""
        group_of = {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members}
        by_option: dict[tuple[int, int], list[str]] = {}
        for agent, options in shifts.items():
            for k in options:
                by_option.setdefault((group_of[agent], k), []).append(agent)
        lunches = lunch_offsets(self.agg_ref, catalog, values, by_option)
        # the LP's split of each group's agents over its pools, per interval
        quota = {key: int(round(values[v])) for key, v in self.agg_ref.y.items()
                 if values[v] > 0.5}
        order = sorted(by_option, key=lambda key: (len(self.pools_of[key[0]]), key))
        for g, k in order:
            for agent in by_option[(g, k)]:
                ts = catalog.cover[k]
                off = lunches.get((agent, k))
                if off is not None:
                    ts = np.setdiff1d(ts, catalog.lunch_cover[(k, off)])
                self.place(agent, k, ts, self.pools_of[g], quota=quota, g=g)

    def add_cost(self, p: int, t: int) -> float:
        """What one more agent in pool p at t saves."""
        m = self.need[p, t] - self.count[p, t]
        return float(self.weights[(p, t)][m - 1]) if m > 0 else 0.0

    def marginal(self, pools) -> np.ndarray:
        """Per interval, what one more agent of these pools saves."""
        out = np.zeros(self.need.shape[1])
        for p in pools:
            for t in np.flatnonzero(self.need[p] > self.count[p]):
                out[t] = max(out[t], self.add_cost(p, int(t)))
        return out

    def gains(self, pools, t: int, limit: int) -> list[float]:
        """What the first, second, ... agent added at ``t`` saves (decreasing)."""
        out: list[float] = []
        for p in pools:
            m = int(self.need[p, t] - self.count[p, t])
            if m > 0:
                out.extend(self.weights[(p, t)][m - 1::-1][:limit].tolist())
        return sorted(out, reverse=True)[:limit]

    @staticmethod
    def working(catalog: Catalog, k: int, marginal: np.ndarray) -> np.ndarray:
        """The intervals option ``k`` works, its lunch where the ``marginal`` value of an
        agent is least."""
        o = catalog.options[k]
        ts = catalog.cover[k]
        if not o.lunch_offsets_min:
            return ts
        off = min(o.lunch_offsets_min,
                  key=lambda off: marginal[catalog.lunch_cover[(k, off)]].sum())
        return np.setdiff1d(ts, catalog.lunch_cover[(k, off)])

    def place(self, agent: str, k: int, ts: np.ndarray, pools, *, quota=None,
              g: int | None = None) -> None:
        """Agent ``agent`` works ``ts`` on option ``k``: each interval in the pool the
        ``quota`` of group ``g`` still has room in (the LP's split), else where it saves
        most."""
        chosen = np.empty(len(ts), dtype=int)
        for j, t in enumerate(ts):
            t = int(t)
            p = None
            if quota is not None and len(pools) > 1:
                p = next((p for p in pools if quota.get((g, p, t), 0) > 0), None)
                if p is not None:
                    quota[(g, p, t)] -= 1
            if p is None:
                p = max(pools, key=lambda p: self.add_cost(p, t)) if pools else -1
            chosen[j] = p
            if p >= 0:
                self.count[p, t] += 1
        self.entries[(agent, k)] = (np.asarray(ts), chosen)

    def take(self, agent: str, k: int) -> None:
        ts, chosen = self.entries.pop((agent, k))
        keep = chosen >= 0
        np.subtract.at(self.count, (chosen[keep], ts[keep]), 1)

    def snapshot(self, keys):
        return self.count.copy(), {key: self.entries[key] for key in keys}

    def restore(self, snap) -> None:
        self.count, entries = snap[0], snap[1]
        self.entries.update(entries)

    def value(self) -> float:
        """Weighted shortage of the roster as allocated here."""
        total = 0.0
        for (p, t), w in self.weights.items():
            m = self.need[p, t] - self.count[p, t]
            if m > 0:
                total += float(w[:m].sum())
        return total


def _reoptimise(g, members, shifts, catalog, groups, infos, agg, cov, scenario, history,
                matrices, *, time_limit_s: float):
    """Re-roster ``members`` of group ``g`` (see the module docstring); returns the saving
    the model sees (0 when the current weeks are kept) and a function that undoes it."""
    site = groups[g].site
    pools = agg.group_pools[g]
    w0 = scenario.planning.start_utc
    rest_min = scenario.roster.rules.min_rest_h * 60
    over_per_min = scenario.roster.weights.over_coverage / 60.0
    dates = catalog.dates(site)
    old = {i: list(shifts[infos[i].agent_id]) for i in members}
    snap = cov.snapshot([(infos[i].agent_id, k) for i in members for k in old[i]])
    for i in members:
        for k in old[i]:
            cov.take(infos[i].agent_id, k)

    # the options worth offering: the agents' own and the best few per date
    ks, matrix, paid = matrices[site]
    marginal = cov.marginal(pools)
    estimate = matrix @ marginal - over_per_min * paid
    best: set[int] = set()
    by_date: dict = {}
    for r in np.argsort(-estimate):
        d = catalog.options[int(ks[r])].date
        if by_date.get(d, 0) < OPTIONS_PER_DATE:
            by_date[d] = by_date.get(d, 0) + 1
            best.add(int(ks[r]))

    model = cp_model.CpModel()
    penalty_vars: dict[str, list] = {"night spread": [], "weekend spread": [],
                                     "preferences": [], "split days off": []}
    z: dict[tuple[int, int], cp_model.IntVar] = {}
    by_agent: dict[int, list[int]] = {}
    for i in members:
        a = infos[i]
        options = _candidates(catalog, a, best | set(old[i]), history, w0, rest_min, set())
        by_agent[i] = options
        for k in options:
            z[(i, k)] = model.new_bool_var(f"z[{a.agent_id},{k}]")
        add_agent_rules(model, a, [z[(i, k)] for k in options], options, catalog, dates,
                        scenario, history, penalty_vars)
    # fairness: the spread of nights and weekend days over the whole group, the rest of
    # it fixed (agents of a group are interchangeable, so the demand allows an even
    # spread there; across groups the languages decide who can work nights)
    inside = set(members)
    group_rest = [i for i in groups[g].members if i not in inside]
    others = {flag: [sum(getattr(catalog.options[k], flag) for k in shifts[infos[i].agent_id])
                     for i in group_rest if flag != "night" or infos[i].night_ok]
              for flag in ("night", "weekend")}
    add_spread_terms(model, members, infos, by_agent, z, catalog, scenario.roster.weights,
                     penalty_vars, others)

    working = {k: cov.working(catalog, k, marginal)
               for k in {k for options in by_agent.values() for k in options}}
    at: dict[int, list] = {}
    for (_, k), v in z.items():
        for t in working[k]:
            at.setdefault(int(t), []).append(v)
    gain_terms = []
    for t, vs in at.items():
        gains = cov.gains(pools, t, min(len(members), len(vs)))
        us = [model.new_bool_var(f"u[{t},{j}]") for j in range(len(gains))]
        if not us:
            continue
        model.add(sum(us) <= sum(vs))
        for j in range(1, len(us)):
            model.add_implication(us[j], us[j - 1])
        gain_terms.extend(zip(us, (int(round(x * SCALE)) for x in gains), strict=True))
    cost = [(v, int(round(over_per_min * catalog.options[k].paid_min * SCALE)))
            for (_, k), v in z.items()]
    penalties = [(e, w) for terms in penalty_vars.values() for e, w in terms if w]
    model.minimize(sum(w * e for e, w in cost + penalties) - sum(w * u for u, w in gain_terms))
    for (i, k), v in z.items():
        model.add_hint(v, int(k in old[i]))

    # the current weeks' score (the same model with the weeks fixed), then a better one
    fixed = cpsat_parameters(cp_model.CpSolver(), time_limit_s=time_limit_s, num_workers=1)
    fixed.parameters.fix_variables_to_their_hinted_value = True
    status = fixed.solve(model)
    if status != cp_model.OPTIMAL:  # not scored in time: keep the weeks as they are
        cov.restore(snap)
        return 0.0, None
    before = fixed.objective_value
    model.clear_hints()  # hint every variable with the current weeks' values
    for index in range(len(model.proto.variables)):
        var = model.get_int_var_from_proto_index(index)
        model.add_hint(var, fixed.value(var))
    solver = cpsat_parameters(cp_model.CpSolver(), time_limit_s=time_limit_s,
                              num_workers=WORKERS, random_seed=scenario.roster.random_seed)
    solver.parameters.linearization_level = LINEARIZATION_LEVEL
    status = solver.solve(model)
    after = solver.objective_value if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
    if after is None or after >= before - 0.5:
        cov.restore(snap)
        return 0.0, None
    placed = []
    for i in members:
        new = [k for k in by_agent[i] if solver.value(z[(i, k)])]
        shifts[infos[i].agent_id] = new
        for k in new:
            cov.place(infos[i].agent_id, k, working[k], pools)
            placed.append((infos[i].agent_id, k))

    def undo() -> None:
        for key in placed:
            cov.entries.pop(key, None)
        cov.restore(snap)
        for i in members:
            shifts[infos[i].agent_id] = list(old[i])

    return (before - after) / SCALE, undo
