"""
Lunches and queues per agent: which interval each agent eats in, and which queue each
working agent serves in each interval.

The group-level answer comes from the aggregate LP with the realised shifts fixed:
then lunch placement, the split of agents over pools and the shortage form a network
flow, whose LP optimum is whole. It is handed down to agents preferring continuity
(an agent keeps the pool and the queue of the previous interval when it can); inside a
pool (the channels of a language) agents go where a missing agent costs most.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfm.roster.aggregate import Aggregate, Demand, lunch_split
from wfm.roster.catalog import AgentInfo, Catalog, Group
from wfm.roster.linear import CompiledLP, LpResult


def fixed_shift_solution(agg: Aggregate, compiled: CompiledLP,
                         counts: dict[tuple[int, int], int]) -> LpResult:
    """The aggregate LP with the shift counts fixed: lunches, pool split, shortage."""
    lb = np.asarray(agg.lm.lb, float).copy()
    ub = np.asarray(agg.lm.ub, float).copy()
    for key, v in agg.x.items():
        lb[v] = ub[v] = counts.get(key, 0)
    result = compiled.solve(lb, ub, 120.0)
    if not result.ok:
        raise RuntimeError(f"no allocation for the realised shifts: {result.message}")
    return result


def lunch_offsets(agg: Aggregate, catalog: Catalog, values: np.ndarray,
                  shifts_by_group_option: dict[tuple[int, int], list[str]]) -> dict:
    """(agent id, option) -> lunch offset, following the LP's lunch counts."""
    out = {}
    for (g, k), agents in shifts_by_group_option.items():
        pos = 0
        for off, c in lunch_split(agg, catalog, g, k, len(agents), values):
            for agent in agents[pos:pos + c]:
                out[(agent, k)] = off
            pos += c
    return out


def allocate(agg: Aggregate, dem: Demand, catalog: Catalog, groups: list[Group],
             infos: list[AgentInfo], values: np.ndarray, shifts: dict[str, list[int]],
             lunches: dict, carry: list[tuple[str, int, int]] | None = None) -> pd.DataFrame:
    """
    The allocation frame: one row per agent and interval worked (not at lunch).

    ``carry`` lists (agent id, group, interval) of agents still on a previous week's
    shift; they are allocated first.
    """
    n_t = len(catalog.grid)
    need = agg.need
    group_of = {}
    for g, grp in enumerate(groups):
        for i in grp.members:
            group_of[infos[i].agent_id] = g
    # who works when: (g, t) -> agents
    working: dict[tuple[int, int], list[str]] = {}
    for agent, options in shifts.items():
        g = group_of[agent]
        for k in options:
            ts = set(catalog.cover[k].tolist())
            off = lunches.get((agent, k))
            if off is not None:
                ts -= set(catalog.lunch_cover[(k, off)].tolist())
            for t in ts:
                working.setdefault((g, t), []).append(agent)

    # pool targets per (g, t) from the LP
    pool_target: dict[tuple[int, int], dict[int, int]] = {}
    for (g, p, t), v in agg.y.items():
        n = int(round(values[v]))
        if n > 0:
            pool_target.setdefault((g, t), {})[p] = n

    queue_names = [q.name for q in dem.queues]
    rows = []
    previous_queue: dict[str, int] = {}
    previous_pool: dict[str, int] = {}
    covered = np.zeros_like(need)
    carry_by_t: dict[int, list[tuple[str, int]]] = {}
    for agent, g, t in carry or []:
        carry_by_t.setdefault(t, []).append((agent, g))
    for t in range(n_t):
        pool_agents: dict[int, list[str]] = {}
        # agents from last week's shifts first, then this week's, group by group
        for agent, g in carry_by_t.get(t, []):
            pools = agg.group_pools[g]
            if pools:
                p = max(pools, key=lambda p: _pool_gap(dem, need, covered, p, t, pool_agents))
                pool_agents.setdefault(p, []).append(agent)
        for g in range(len(groups)):
            agents = working.get((g, t))
            if not agents:
                continue
            pools = agg.group_pools[g]
            if not pools:
                continue
            agents = sorted(agents)
            if len(pools) == 1:
                pool_agents.setdefault(pools[0], []).extend(agents)
                continue
            targets = dict(pool_target.get((g, t), {}))
            rest = []
            # keep an agent in last interval's pool while that pool still wants agents
            for agent in agents:
                p = previous_pool.get(agent)
                if p is not None and targets.get(p, 0) > 0:
                    targets[p] -= 1
                    pool_agents.setdefault(p, []).append(agent)
                else:
                    rest.append(agent)
            for agent in rest:
                open_pools = [p for p in pools if targets.get(p, 0) > 0]
                if open_pools:
                    p = open_pools[0]
                    targets[p] -= 1
                else:  # more agents than the LP placed: where the gap is largest
                    p = max(pools, key=lambda p: _pool_gap(dem, need, covered, p, t,
                                                           pool_agents))
                pool_agents.setdefault(p, []).append(agent)
        # inside each pool: to the queue where a missing agent costs most
        for p, agents in pool_agents.items():
            queues = list(dem.pools[p].queues)
            assigned = _split_pool(dem, need, queues, t, len(agents))
            slots = {q: n for q, n in assigned.items()}
            order = sorted(agents, key=lambda a: previous_queue.get(a, -1) not in slots)
            leftover = []
            for agent in order:
                q = previous_queue.get(agent)
                if q in slots and slots[q] > 0:
                    slots[q] -= 1
                    _record(rows, catalog, t, agent, q, queue_names, previous_queue,
                            previous_pool, p, covered)
                else:
                    leftover.append(agent)
            for agent in leftover:
                q = next(q for q in queues if slots.get(q, 0) > 0)
                slots[q] -= 1
                _record(rows, catalog, t, agent, q, queue_names, previous_queue,
                        previous_pool, p, covered)
    frame = pd.DataFrame(rows, columns=["interval_start", "agent_id", "queue"])
    frame["interval_start"] = frame["interval_start"].astype("datetime64[ns, UTC]")
    return frame.sort_values(["interval_start", "agent_id"]).reset_index(drop=True)


def _record(rows, catalog, t, agent, q, queue_names, previous_queue, previous_pool, p,
            covered) -> None:
    rows.append((catalog.grid[t], agent, queue_names[q]))
    previous_queue[agent] = q
    previous_pool[agent] = p
    covered[q, t] += 1


def _pool_gap(dem, need, covered, p, t, pool_agents) -> float:
    want = sum(need[q, t] for q in dem.pools[p].queues)
    have = sum(covered[q, t] for q in dem.pools[p].queues) + len(pool_agents.get(p, []))
    return want - have


def _split_pool(dem: Demand, need: np.ndarray, queues: list[int], t: int,
                n_agents: int) -> dict[int, int]:
    """How many of a pool's agents each queue gets: the most expensive missing agent
    first (the queues' steps increase, so this is optimal); agents beyond every need
    go where the need is largest."""
    counts = dict.fromkeys(queues, 0)
    for _ in range(n_agents):
        best, best_w = None, -1.0
        for q in queues:
            missing = need[q, t] - counts[q]
            if missing <= 0 or (q, t) not in dem.weights:
                continue
            w = dem.weights[(q, t)][missing - 1]
            if w > best_w:
                best, best_w = q, w
        if best is None:
            best = max(queues, key=lambda q: (need[q, t], -counts[q]))
        counts[best] += 1
    return counts
