"""
A fast constructive solution of the aggregate model: lazy greedy on coverage gain.

Shifts are added one at a time, always the one whose marginal saving (the weights of
the missing agents it would cover, minus its paid time) is largest, among those that
keep every aggregate rule (per-date availability, nights, working days, paid
minutes, rest). Savings only fall as coverage grows, so stale gains are upper bounds
and a lazy priority queue recomputes few of them. Lunches go where the group loses
least; each working agent serves the pool where a missing agent costs most.

It gives CP-SAT a complete, feasible starting point (``solution hint``) that CP-SAT's
large-neighbourhood search then improves; it also makes the solver usable without
any time left for CP-SAT.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.catalog import AgentInfo, Catalog, Group
from wfm.scenario import Scenario


@dataclass
class GreedyState:
    x: dict[tuple[int, int], int]
    lunch: dict[tuple[int, int, int], int]
    cover: np.ndarray  # [pool, t] agents allocated
    alloc: dict[tuple[int, int, int], int]  # (g, p, t) -> agents
    objective: float


class _Rules:
    """Incremental feasibility of the aggregate rules for one group."""

    def __init__(self, g: int, grp: Group, members: list[AgentInfo], catalog: Catalog,
                 agg: Aggregate, scenario: Scenario):
        rules = scenario.roster.rules
        self.dates = catalog.dates(grp.site)
        self.size = grp.size
        self.avail = {d: sum(1 for a in members if a.available(d) and a.max_shifts > 0)
                      for d in self.dates}
        self.avail_night = {d: sum(1 for a in members if a.available(d) and a.night_ok
                                   and a.max_shifts > 0) for d in self.dates}
        self.max_days = sum(a.max_shifts for a in members)
        self.max_nights = rules.max_nights_week * sum(1 for a in members if a.night_ok)
        self.max_paid = sum(a.max_paid_min for a in members)
        self.min_paid = sum(a.min_paid_min for a in members)
        self.rest_ns = int(rules.min_rest_h * 3600 * 10**9)
        self.day = dict.fromkeys(self.dates, 0)
        self.night_day = dict.fromkeys(self.dates, 0)
        self.days = self.nights = self.paid = 0
        # per date: option end and start times with counts, for the rest rows
        self.ends = {d: {} for d in self.dates}
        self.starts = {d: {} for d in self.dates}
        self.catalog = catalog

    def _rest_ok(self, d0, d1) -> bool:
        if d0 not in self.ends or d1 not in self.starts:
            return True
        ends, starts = self.ends[d0], self.starts[d1]
        if not ends or not starts:
            return True
        s_times = np.array(sorted(starts))
        s_cum = np.cumsum([starts[s] for s in sorted(starts)])
        e_total = 0
        for e in sorted(ends, reverse=True):
            e_total += ends[e]
            j = np.searchsorted(s_times, e + self.rest_ns, side="left") - 1
            if j >= 0 and e_total + s_cum[j] > self.size:
                return False
        return True

    def can_add(self, k: int) -> bool:
        o = self.catalog.options[k]
        d = o.date
        if self.day[d] + 1 > self.avail[d] or self.days + 1 > self.max_days:
            return False
        if self.paid + o.paid_min > self.max_paid:
            return False
        if o.night and (self.night_day[d] + 1 > self.avail_night[d]
                        or self.nights + 1 > self.max_nights):
            return False
        self._apply(k, +1)
        import datetime as _dt
        ok = self._rest_ok(d - _dt.timedelta(days=1), d) and self._rest_ok(
            d, d + _dt.timedelta(days=1))
        self._apply(k, -1)
        return ok

    def _apply(self, k: int, sign: int) -> None:
        o = self.catalog.options[k]
        e, s = o.end_utc.value, o.start_utc.value
        self.ends[o.date][e] = self.ends[o.date].get(e, 0) + sign
        self.starts[o.date][s] = self.starts[o.date].get(s, 0) + sign
        if self.ends[o.date][e] == 0:
            del self.ends[o.date][e]
        if self.starts[o.date][s] == 0:
            del self.starts[o.date][s]

    def add(self, k: int) -> None:
        o = self.catalog.options[k]
        self.day[o.date] += 1
        self.days += 1
        self.paid += o.paid_min
        if o.night:
            self.night_day[o.date] += 1
            self.nights += 1
        self._apply(k, +1)


def greedy(catalog: Catalog, groups: list[Group], infos: list[AgentInfo], dem: Demand,
           agg: Aggregate, scenario: Scenario, *, prefer: dict | None = None,
           allowed: set | None = None, fill: bool = True) -> GreedyState:
    """
    Build a feasible solution of the aggregate model by lazy greedy.

    ``prefer`` optionally maps (g, option) to a count that is placed first (for
    example the integer part of an LP solution), when the rules allow it.
    """
    need = agg.need
    pool_need = dem.pool_need(need)
    n_p, n_t = pool_need.shape
    weights = {(p, t): dem.pool_weights(p, t, need) for p in range(n_p)
               for t in np.flatnonzero(pool_need[p] > 0)}
    cover = np.zeros((n_p, n_t), dtype=int)
    marg = np.zeros((n_p, n_t))
    for (p, t), w in weights.items():
        marg[p, t] = w[-1] if len(w) else 0.0
    over_per_min = scenario.roster.weights.over_coverage / 60.0

    rules = {g: _Rules(g, grp, [infos[i] for i in grp.members], catalog, agg, scenario)
             for g, grp in enumerate(groups)}
    pools_of = {g: np.array(agg.group_pools[g], dtype=int) for g in range(len(groups))}
    x: dict[tuple[int, int], int] = {}
    lunch: dict[tuple[int, int, int], int] = {}
    alloc: dict[tuple[int, int, int], int] = {}

    def group_marg(g: int, ts: np.ndarray) -> np.ndarray:
        ps = pools_of[g]
        if len(ps) == 0 or len(ts) == 0:
            return np.zeros(len(ts))
        return marg[np.ix_(ps, ts)].max(axis=0)

    def lunch_choice(g: int, k: int):
        o = catalog.options[k]
        if not o.lunch_offsets_min:
            return None, 0.0
        best, loss = None, np.inf
        for off in o.lunch_offsets_min:
            ts = catalog.lunch_cover[(k, off)]
            value = group_marg(g, ts).sum()
            if value < loss:
                best, loss = off, value
        return best, loss

    def gain(g: int, k: int) -> float:
        o = catalog.options[k]
        _, loss = lunch_choice(g, k)
        return group_marg(g, catalog.cover[k]).sum() - loss - over_per_min * o.paid_min

    def place(g: int, k: int) -> None:
        off, _ = lunch_choice(g, k)
        ts = catalog.cover[k]
        if off is not None:
            lunch[(g, k, off)] = lunch.get((g, k, off), 0) + 1
            ts = np.setdiff1d(ts, catalog.lunch_cover[(k, off)])
        x[(g, k)] = x.get((g, k), 0) + 1
        rules[g].add(k)
        ps = pools_of[g]
        if len(ps) == 0:
            return
        for t in ts:
            p = int(ps[np.argmax(marg[ps, t])])
            cover[p, t] += 1
            alloc[(g, p, t)] = alloc.get((g, p, t), 0) + 1
            if (p, t) in weights:
                missing = pool_need[p, t] - cover[p, t]
                marg[p, t] = weights[(p, t)][missing - 1] if missing > 0 else 0.0

    candidates = [(g, k) for (g, k) in agg.x if allowed is None or (g, k) in allowed]
    if prefer:
        for (g, k), count in sorted(prefer.items(), key=lambda kv: -kv[1]):
            for _ in range(int(count)):
                if rules[g].can_add(k):
                    place(g, k)
    heap = [(-gain(g, k), g, k) for g, k in candidates] if fill else []
    heapq.heapify(heap)
    while heap:
        neg, g, k = heapq.heappop(heap)
        current = gain(g, k)
        if current <= 1e-9:
            continue  # gains only fall: this option will not pay again
        if heap and current < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-current, g, k))
            continue
        if not rules[g].can_add(k):
            continue
        place(g, k)
        heapq.heappush(heap, (-gain(g, k), g, k))

    # contracts: reach every group's minimum paid time with the least harmful shifts
    for g, r in rules.items():
        while r.paid < r.min_paid:
            options = [k for (gg, k) in candidates if gg == g and r.can_add(k)]
            if not options:
                break
            k = max(options, key=lambda k: gain(g, k) / max(catalog.options[k].paid_min, 1))
            place(g, k)

    objective = over_per_min * sum(catalog.options[k].paid_min * n for (g, k), n in x.items())
    for (p, t), w in weights.items():
        missing = pool_need[p, t] - cover[p, t]
        if missing > 0:
            objective += float(w[:missing].sum())
    return GreedyState(x, lunch, cover, alloc, objective)
