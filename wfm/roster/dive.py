"""
From the LP relaxation to whole shift counts: an LP-guided dive.

The aggregate LP is tight but its optimum spreads shifts thinly over many start times
(a quarter of an agent here, a third there), so rounding it in one go loses much of
its coverage. The dive rounds a little at a time and lets the LP re-balance the rest:

1. shift counts the LP already gives as whole numbers are fixed;
2. at each step the most decided 20 % of the fractional counts are rounded up (largest
   fraction first, from 0.35, never past a per-group limit: agents per date, nights,
   working days, paid minutes) and the least decided 20 % are fixed at their floor; a
   batch whose roundings break a row together (rest, contract classes) is halved, and
   when even one rounding up breaks a row, that count is fixed at its floor instead;
3. the LP is solved again with those bounds, and so on until every count is whole;
4. once few fractional counts are left (``END_GAME_AT``), HiGHS branch and bound decides
   them all at once, each at its floor or one above (the end game): on the demo week it
   proves the best such rounding in seconds, where the last steps of the dive lost most.

Rounding down the least decided counts matters: an earlier rule that rounded only
fractions above a threshold (0.8 falling to 0.5) and fixed down only those below 0.2
stalled on the demo week at about 300 counts with fractions in between, each LP re-solve
settling a handful, and the hurried finish then cost 5-7 % (whole counts 4,401-4,448
against the LP's 4,147). This dive reaches 4,345 in about the same time.

Once the counts are whole, the remaining problem (lunch slots, which pool each agent
serves, the shortage) is a network flow, so its LP optimum is whole too. The time
budget shortens the dive: when it runs out, what is left is rounded along the time
axis (cumulative rounding per group and template keeps the coverage profile) and fixed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wfm.roster.aggregate import Aggregate, lunch_split
from wfm.roster.catalog import Catalog
from wfm.roster.linear import CompiledLP, MipResult

PACKING = ("day[", "night_day[", "nights[", "days[", "paid[")
#: share of the fractional counts rounded (up, or down) at each step, and past the budget.
#: Measured on the demo week with the classes' date rows (2026-11-22, 120 s): 0.15 took the
#: dive 41-48 s and the roster ended 2,261.5-2,292 agent-h short (six runs, five above
#: 2,272); 0.2 took about 25 s, 2,255 and 2,271.5; 0.25 18 s, 2,264-2,270 (three); 0.35
#: 2,276 and 2,283. The time the dive does not take goes to the assignment.
ROUND_SHARE = 0.2
HURRY_SHARE = 0.5
#: this few fractional counts are rounded in one step (measured on the demo week: the
#: same whole counts as step by step, 7.6 s sooner; at 50 the counts cost 0.4 % more)
ROUND_ALL_AT = 20
#: a fraction from which a count is rounded up; below it, down
ROUND_UP_AT = 0.35
#: past its budget the dive rounds in big batches; past this much more, it rounds the
#: rest at once along the time axis (which may cost coverage)
HARD_EXTRA_S = 60.0
#: with this few fractional counts left, HiGHS branch and bound decides them all at once
#: (each up or down, the rest fixed), for at most END_GAME_S. Measured on the demo week
#: (2026-11-22, the dive's own states): from 103 fractional counts it proved the best
#: rounding (4,315.1, gap 0.05 %) in 8.7 s where the dive's steps reached 4,375.9 (the
#: last 14 alone cost 71); from 256 it needed 28 s for a good point (4,272) and at 20 s
#: had only 4,501; from 547 in 40 s, 5,102.
END_GAME_AT = 120
END_GAME_S = 20.0
END_GAME_GAP = 1e-3
REST_ROWS = ("rest[", "Edef[", "Sdef[")
EPS = 1e-6


@dataclass
class DiveResult:
    x: dict[tuple[int, int], int]  # (group, option) -> shifts
    lunch: dict[tuple[int, int, int], int]  # (group, option, offset) -> lunches
    values: np.ndarray  # the final LP solution (allocation, shortage) with x fixed
    objective: float
    iterations: int
    seconds: float
    trace: list[tuple[float, int, float]]  # (seconds, fractional counts, LP objective)


def _packing_rows(agg: Aggregate):
    """Rows that only limit shift counts from above (per-group caps)."""
    caps = []
    for (idx, coef, _, hi), name in zip(agg.lm.rows, agg.lm.row_names, strict=True):
        if name.startswith(PACKING) and hi < np.inf:
            caps.append((idx, coef, hi))
    return caps


def dive(agg: Aggregate, catalog: Catalog, lp_values: np.ndarray, *, time_budget_s: float,
         compiled: CompiledLP | None = None, support_eps: float = 1e-3,
         report: Callable[[float, int, float], None] | None = None) -> DiveResult:
    """
    Round the LP solution ``lp_values`` of ``agg`` to whole shift counts (see the module
    docstring). ``compiled`` is the LP without the rest rows (they did not bind in any
    instance measured; the assignment to agents enforces rest exactly).
    """
    t0 = time.perf_counter()
    lm = agg.lm
    compiled = compiled or lm.compile(skip_rows=REST_ROWS)
    lb = np.asarray(lm.lb, float).copy()
    ub = np.asarray(lm.ub, float).copy()
    keys = list(agg.x)
    xv = np.array([agg.x[k] for k in keys])
    # options the LP does not use stay unused (and so do their lunches)
    for (g, k), v in agg.x.items():
        if lp_values[v] < support_eps:
            ub[v] = 0
            for off in catalog.options[k].lunch_offsets_min:
                ub[agg.lunch[(g, k, off)]] = 0
    caps = _packing_rows(agg)
    rows_of = _cap_index(caps)

    # the relaxation may have been solved without the rest rows: re-solve with them on
    # the options it uses, so the dive starts from a point that keeps them
    first = compiled.solve(lb, ub, max(time_budget_s, 120.0))
    if not first.ok:
        lb = np.asarray(lm.lb, float).copy()
        ub = np.asarray(lm.ub, float).copy()
        first = compiled.solve(lb, ub, max(time_budget_s, 180.0))
        if not first.ok:
            raise RuntimeError(f"the aggregate LP with rest rows failed: {first.message}")
    x = first.x
    last_lp = x.copy()  # the last LP point: its whole parts always keep every row
    trace = []
    iterations = 0
    end_game = None  # branch and bound's result, once the counts left are few
    hurried = False  # the counts left were rounded along the time axis
    while True:
        vals = x[xv]
        floor = np.floor(vals + EPS)
        frac = vals - floor
        fractional = frac > EPS
        trace.append((time.perf_counter() - t0, int(fractional.sum()), lm.objective_value(x)))
        if report is not None:
            report(*trace[-1])
        if not fractional.any():
            break
        whole = ~fractional
        lb[xv[whole]] = floor[whole]
        ub[xv[whole]] = floor[whole]
        lb[xv[fractional]] = np.maximum(lb[xv[fractional]], floor[fractional])
        elapsed = time.perf_counter() - t0
        if end_game is None and fractional.sum() <= END_GAME_AT:
            end_game = _end_game(compiled, lb, ub, xv, floor, fractional,
                                 min(END_GAME_S, time_budget_s + 5.0 - elapsed))
            if end_game.optimal:
                x = end_game.x
                trace.append((time.perf_counter() - t0, 0, lm.objective_value(x)))
                break
        if elapsed > time_budget_s + HARD_EXTRA_S:
            _finish_cumulative(x, xv, keys, catalog, lb, ub, caps, rows_of)
            hurried = True
            break
        # past the budget: round in big batches
        share = HURRY_SHARE if elapsed > time_budget_s else ROUND_SHARE
        order = np.flatnonzero(fractional)
        order = order[np.argsort(-frac[order], kind="stable")]
        n = len(order) if len(order) <= ROUND_ALL_AT else max(
            1, int(np.ceil(share * len(order))))
        while True:
            lb_try, ub_try = _round_batch(order, n, frac, floor, xv, lb, ub, caps, rows_of)
            iterations += 1
            result = compiled.solve(lb_try, ub_try, max(5.0, time_budget_s - elapsed + 5.0))
            if result.ok:
                break
            if n == 1:  # even the surest rounding up breaks a row: that count goes down
                lb_try, ub_try = lb.copy(), ub.copy()
                ub_try[xv[order[0]]] = floor[order[0]]
                result = compiled.solve(lb_try, ub_try, max(5.0, time_budget_s - elapsed))
                break
            n //= 2  # roundings up that break a row together (rest, contract classes)
        if not result.ok:  # even the surest rounding fails: finish along the time axis
            _finish_cumulative(x, xv, keys, catalog, lb, ub, caps, rows_of)
            hurried = True
            break
        lb, ub = lb_try, ub_try
        x = result.x
        last_lp = x.copy()
    if end_game is not None and end_game.ok and not end_game.optimal and (
            hurried or end_game.objective < lm.objective_value(x) - EPS):
        x = end_game.x  # the dive's own steps did worse than branch and bound's point
    # whole counts fixed: lunches, allocation and shortage are a network flow
    final_lb, final_ub = lb.copy(), ub.copy()
    counts = np.round(x[xv])
    final_lb[xv] = counts
    final_ub[xv] = counts
    result = compiled.solve(final_lb, final_ub, 60.0)
    if not result.ok:
        # a rounding up broke a rest row: fall back to the whole parts (rounding down
        # never breaks a limit, and the contract floor is soft)
        counts = np.floor(last_lp[xv] + EPS)
        final_lb[xv] = counts
        final_ub[xv] = counts
        result = compiled.solve(final_lb, final_ub, 60.0)
        if not result.ok:
            raise RuntimeError(f"the rounded aggregate has no allocation: {result.message}")
    values = result.x
    shifts = {key: int(c) for key, c in zip(keys, counts, strict=True) if c > 0}
    lunch = _whole_lunches(agg, catalog, shifts, values)
    lunch_vars = np.array(list(agg.lunch.values()))
    if len(lunch_vars) and np.abs(values[lunch_vars] - np.round(values[lunch_vars])).max() > EPS:
        # fix the rounded lunches; the allocation left is a transportation problem
        for key, v in agg.lunch.items():
            final_lb[v] = final_ub[v] = lunch.get(key, 0)
        result = compiled.solve(final_lb, final_ub, 60.0)
        if not result.ok:
            raise RuntimeError(f"the rounded lunches leave no allocation: {result.message}")
        values = result.x
    return DiveResult(shifts, lunch, values, result.objective, iterations,
                      time.perf_counter() - t0, trace)


def _end_game(compiled: CompiledLP, lb, ub, xv, floor, fractional, time_limit_s: float):
    """Branch and bound on the fractional counts, each at its floor or one above."""
    if time_limit_s < 2.0:
        return MipResult(False, False, float("nan"), None, float("nan"), 0.0, "no time")
    lb, ub = lb.copy(), ub.copy()
    free = xv[fractional]
    lb[free] = floor[fractional]
    ub[free] = np.minimum(ub[free], floor[fractional] + 1)
    return compiled.solve_mip(lb, ub, free, time_limit_s, END_GAME_GAP)


def _cap_index(caps) -> dict[int, list[tuple[int, float]]]:
    """Per count variable, the caps it is in: (row in ``caps``, coefficient)."""
    index: dict[int, list[tuple[int, float]]] = {}
    for r, (idx, coef, _) in enumerate(caps):
        for i, c in zip(idx, coef, strict=True):
            index.setdefault(int(i), []).append((r, float(c)))
    return index


def _take_cap(v: int, cap_used: np.ndarray, caps, rows_of) -> bool:
    """One more of count ``v`` if every cap it is in has room (booked in ``cap_used``)."""
    rows = rows_of.get(v, [])
    if any(cap_used[r] + c > caps[r][2] + 1e-9 for r, c in rows):
        return False
    for r, c in rows:
        cap_used[r] += c
    return True


def _round_batch(order, n, frac, floor, xv, lb, ub, caps, rows_of):
    """New bounds: the ``n`` most decided fractional counts (``order``: largest fraction
    first) rounded up when their fraction reaches :data:`ROUND_UP_AT` and no per-group
    cap is passed, else fixed at their floor; the ``n`` least decided fixed at their
    floor."""
    lb, ub = lb.copy(), ub.copy()
    cap_used = np.array([float((c * lb[i]).sum()) for i, c, _ in caps])
    for j in order[:n]:
        v = int(xv[j])
        if frac[j] >= ROUND_UP_AT and _take_cap(v, cap_used, caps, rows_of):
            lb[v] = floor[j] + 1
        else:
            ub[v] = floor[j]
    for j in order[::-1][:n]:
        v = int(xv[j])
        if frac[j] < ROUND_UP_AT and lb[v] <= floor[j]:
            ub[v] = floor[j]
    return lb, ub


def _finish_cumulative(x, xv, keys, catalog, lb, ub, caps, rows_of) -> None:
    """Round what is left along the time axis, per group and template, keeping caps."""
    order = sorted(range(len(keys)), key=lambda j: (keys[j][0],
                                                    catalog.options[keys[j][1]].template,
                                                    catalog.options[keys[j][1]].start_utc))
    cap_used = np.array([float((c * lb[i]).sum()) for i, c, _ in caps])
    cum, prev, current = 0.0, 0, None
    for j in order:
        g, k = keys[j]
        group_key = (g, catalog.options[k].template)
        if group_key != current:
            current, cum, prev = group_key, 0.0, 0
        v = int(xv[j])
        value = float(np.clip(x[v], lb[v], ub[v]))
        base = lb[v]
        cum += value - base
        target = int(np.floor(cum + 0.5))
        extra = max(0, target - prev)
        add = 0
        for _ in range(extra):
            if base + add + 1 > ub[v] + 1e-9:
                break
            if _take_cap(v, cap_used, caps, rows_of):
                add += 1
        prev += add
        x[v] = base + add
        lb[v] = ub[v] = base + add


def _whole_lunches(agg: Aggregate, catalog: Catalog, shifts, values) -> dict:
    """Lunch counts per option from the final LP, made whole by cumulative rounding."""
    return {(g, k, off): c for (g, k), n in shifts.items()
            for off, c in lunch_split(agg, catalog, g, k, n, values)}
