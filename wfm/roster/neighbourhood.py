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

Coverage is kept in a ledger (:class:`~wfm.roster.ledger.Ledger`): each shift's working
intervals and the pool it serves in each, so freeing a week and putting it back is exact.
Each pass fills the ledger with the LP's lunches and its split of each group's agents
over queues, so the ledger starts from the LP's value exactly (filled greedily instead,
it started 7 % above the LP on the demo week and the models chased gains the LP did not
confirm). An agent is worth something on a queue that is already covered when a
multilingual agent there can hand over to a short queue of theirs; the ledger counts
those hand-overs (without them the en-only agents of the demo week had no value
anywhere). New weeks are placed greedily, so a neighbourhood that looks better to its
model is kept only when the LP (lunches and queues free) plus the soft goals agree;
otherwise it is undone, and the step never leaves the roster worse. The LP checks a
batch of :data:`CHECK_EVERY` neighbourhoods at once (measured on the demo week: checking
each one left time for only 6 neighbourhoods, checking once per pass let a bad one throw
away a whole pass of good ones).

Neighbourhoods go group by group, in passes until a pass improves nothing or the time is
up: first the groups with time to give (hours on demand already covered, contract time
unused), then those with the most service at stake.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from ortools.sat.python import cp_model

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.assign import (
    SCALE,
    History,
    _candidates,
    add_agent_rules,
    add_spread_terms,
    cpsat_parameters,
)
from wfm.roster.catalog import AgentInfo, Catalog, Group, preference_ok
from wfm.roster.ledger import Ledger
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
            time_budget_s: float, report: Callable[[str], None] | None = None,
            bands: dict[str, tuple[int, int]] | None = None) -> dict:
    """
    Improve ``shifts`` in place (see the module docstring); with ``bands`` (agent id ->
    (min, max) nights) every agent's nights stay inside their band. ``evaluate(shifts)`` returns
    the roster's objective and the aggregate LP's solution with its shifts fixed. A
    batch of neighbourhoods' new weeks is kept only when the LP's objective plus the soft
    goals (:func:`soft_goals`, weighted as the models weigh them) falls; otherwise it is
    undone, so the step never makes the roster worse. Each pass starts its ledger from
    the LP's lunches. Returns counts of neighbourhoods solved, kept and undone, and both
    parts of the objective before and after.
    """
    t0 = time.perf_counter()
    step_h = scenario.planning.interval_min / 60
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
        cov = Ledger(agg, dem)
        cov.fill(shifts, catalog, groups, infos, best_values)
        improved = 0
        batch: list[tuple[int, Callable[[], None]]] = []  # kept, not yet checked by the LP
        for g, members in _neighbourhoods(groups, agg, cov, rng, shifts, catalog, infos,
                                           step_h):
            if left() < 0.5:
                break
            saved, undo = _reoptimise(g, members, shifts, catalog, groups, infos, agg, cov,
                                      scenario, history, matrices, bands,
                                      # two solves (the current weeks' score, then better)
                                      time_limit_s=min(STEP_LIMIT_S, left() / 2))
            stats["neighbourhoods"] += 1
            if saved > 0:
                batch.append((g, undo))
            if len(batch) >= CHECK_EVERY:
                improved += check(batch)
                cov.commit()
                batch = []
        improved += check(batch)
        cov.commit()
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


def _neighbourhoods(groups: list[Group], agg: Aggregate, cov: Ledger, rng, shifts,
                    catalog: Catalog, infos: list[AgentInfo], step_h: float):
    """
    (group, agents) to re-roster; a big group is cut into random parts of about
    :data:`NEIGHBOURHOOD_AGENTS`. Groups with time to give come first, most first: hours
    their agents spend on demand already covered, and contract time unused. Those
    hours are the surest gains (on the demo week the en-only groups, which the service
    at stake put last, saved 17-54 per neighbourhood against 0-8 for the others). Then
    the other groups, those with most service at stake first.
    """
    over = np.maximum(cov.count - cov.need, 0)
    spare = np.minimum(cov.serving, over[None]).sum(axis=(1, 2)) * step_h
    ranked = []
    for g, grp in enumerate(groups):
        pools = agg.group_pools[g]
        if not pools or not grp.members:
            continue
        unused_min = sum(max(infos[i].max_paid_min - sum(
            catalog.options[k].paid_min for k in shifts[infos[i].agent_id]), 0)
            for i in grp.members)
        idle_h = float(spare[g]) + unused_min / 60
        stake = float(cov.marginal(pools).sum())
        if stake > 0:
            ranked.append(((idle_h >= 1.0, idle_h if idle_h >= 1.0 else stake), g))
    out = []
    for _, g in sorted(ranked, reverse=True):
        members = list(groups[g].members)
        rng.shuffle(members)
        parts = max(1, round(len(members) / NEIGHBOURHOOD_AGENTS))
        out.extend((g, sorted(members[c::parts])) for c in range(parts))
    return out


def _reoptimise(g, members, shifts, catalog, groups, infos, agg, cov, scenario, history,
                matrices, bands=None, *, time_limit_s: float):
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
        if bands and a.agent_id in bands:  # nights kept inside the agent's band
            nights = [z[(i, k)] for k in options if catalog.options[k].night]
            if nights:
                model.add_linear_constraint(sum(nights), *bands[a.agent_id])
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
            cov.place(infos[i].agent_id, k, working[k], g)
            placed.append((infos[i].agent_id, k))

    def undo() -> None:
        cov.forget(placed)
        cov.restore(snap)
        for i in members:
            shifts[infos[i].agent_id] = list(old[i])

    return (before - after) / SCALE, undo
