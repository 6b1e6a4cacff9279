"""
Top-up: give agents with contract time left the shifts that cover the most shortage.

The aggregate's counts cannot always be handed out in full (a group's total fits its
agents' contracts, but not every agent's week can take its share), so some agents end
with paid time unused while intervals go short. This greedy step adds, one at a time,
the shift with the largest saving in weighted shortage (the same convex weights as the
aggregate, at the coverage the roster has now) minus its paid time, to an agent who can
take it under every individual rule; it stops when no shift saves more than it costs.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.assign import History, _fits, _minutes
from wfm.roster.catalog import AgentInfo, Catalog, Group
from wfm.roster.ledger import Ledger
from wfm.scenario import Scenario


def _state(agent: AgentInfo, options: list[int], catalog: Catalog, history: History, w0):
    spans = [(_minutes(catalog.options[k].start_utc, w0), _minutes(catalog.options[k].end_utc,
                                                                   w0)) for k in options]
    last = history.last_end_utc.get(agent.agent_id)
    if last is not None:
        spans.append((last - 10**6, last))
    return {
        "paid": sum(catalog.options[k].paid_min for k in options),
        "shifts": len(options),
        "nights": sum(catalog.options[k].night for k in options),
        "dates": {catalog.options[k].date for k in options},
        "spans": spans,
        "before": history.streak_dates.get(agent.agent_id, set()),
    }


def _site_matrices(catalog: Catalog, n_t: int) -> dict:
    """
    Per site: its option indices, the options x intervals coverage matrix (sparse, 1
    where an option works the interval) and each option's paid minutes.
    """
    out = {}
    for site, ks in catalog.by_site.items():
        rows, cols = [], []
        for r, k in enumerate(ks):
            rows.extend([r] * len(catalog.cover[k]))
            cols.extend(catalog.cover[k].tolist())
        paid = np.array([catalog.options[k].paid_min for k in ks], dtype=float)
        out[site] = (np.array(ks), sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(ks), n_t)), paid)
    return out


def top_up(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
           infos: list[AgentInfo], agg: Aggregate, dem: Demand, scenario: Scenario,
           history: History, values: np.ndarray, *, time_budget_s: float) -> int:
    """
    Add shifts in place (see the module docstring). ``values`` is the aggregate LP's
    solution with the current shifts fixed (its lunches and split over queues start the
    coverage :class:`~wfm.roster.ledger.Ledger`, so a shift on a covered queue counts
    what the multilingual agent it frees buys elsewhere). Returns the shifts added.
    """
    t0 = time.perf_counter()
    rules = scenario.roster.rules
    rest_min = rules.min_rest_h * 60
    w0 = scenario.planning.start_utc
    over_per_min = scenario.roster.weights.over_coverage / 60.0
    by_agent = {infos[i].agent_id: i for i in range(len(infos))}
    for a in infos:
        shifts.setdefault(a.agent_id, [])
    cov = Ledger(agg, dem)
    cov.fill(shifts, catalog, groups, infos, values)
    states = {agent: _state(infos[by_agent[agent]], options, catalog, history, w0)
              for agent, options in shifts.items()}
    matrices = _site_matrices(catalog, cov.need.shape[1])
    added = 0
    while time.perf_counter() - t0 < time_budget_s:
        best = None
        for g, grp in enumerate(groups):
            pools = agg.group_pools[g]
            open_agents = [infos[i] for i in grp.members
                           if states[infos[i].agent_id]["shifts"] < infos[i].max_shifts
                           and states[infos[i].agent_id]["paid"] < infos[i].max_paid_min]
            if not pools or not open_agents:
                continue
            mg = cov.marginal(pools)
            if mg.max() <= 0:
                continue
            ks, matrix, _ = matrices[grp.site]
            gains = matrix @ mg
            order = np.argsort(-gains)
            for r in order[:40]:
                k = int(ks[r])
                o = catalog.options[k]
                gain = gains[r]
                if o.lunch_offsets_min:
                    gain -= min(mg[catalog.lunch_cover[(k, off)]].sum()
                                for off in o.lunch_offsets_min)
                gain -= over_per_min * o.paid_min
                if gain <= 1e-9 or (best is not None and gain <= best[0]):
                    continue
                start, end = _minutes(o.start_utc, w0), _minutes(o.end_utc, w0)
                takers = [a for a in open_agents
                          if _fits(a, states[a.agent_id], o, start, end, rules, rest_min)]
                if takers:
                    a = min(takers, key=lambda a: states[a.agent_id]["paid"] - a.min_paid_min)
                    best = (gain, g, k, a, mg)
                    break
        if best is None:
            break
        _, g, k, a, mg = best
        o = catalog.options[k]
        s = states[a.agent_id]
        start, end = _minutes(o.start_utc, w0), _minutes(o.end_utc, w0)
        s["paid"] += o.paid_min
        s["shifts"] += 1
        s["nights"] += int(o.night)
        s["dates"].add(o.date)
        s["spans"].append((start, end))
        shifts[a.agent_id].append(k)
        cov.place(a.agent_id, k, Ledger.working(catalog, k, mg), g)
        added += 1
    return added


def upgrade(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
            infos: list[AgentInfo], agg: Aggregate, dem: Demand, scenario: Scenario,
            history: History, values: np.ndarray, *, time_budget_s: float,
            bands: dict[str, tuple[int, int]] | None = None) -> int:
    """
    Swap an agent's shift for a better one (any shift of the site on the same date or on
    a date the agent is free) when the service it buys exceeds what the old one bought
    and the paid time it adds, under every individual rule, and keeping each agent's
    nights inside their band in ``bands`` (agent id -> (min, max), from
    :func:`wfm.roster.fairshare.keep_bands`) when given. Coverage is kept in a
    :class:`~wfm.roster.ledger.Ledger` started from ``values`` (the aggregate LP's
    solution with the shifts fixed), hand-overs included. Candidates are ranked by a
    vectorised estimate (coverage matrix times the marginal values), the best few are
    checked exactly. Returns the swaps made.
    """
    t0 = time.perf_counter()
    rules = scenario.roster.rules
    rest_min = rules.min_rest_h * 60
    w0 = scenario.planning.start_utc
    over_per_min = scenario.roster.weights.over_coverage / 60.0
    cov = Ledger(agg, dem)
    cov.fill(shifts, catalog, groups, infos, values)
    group_of = {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members}
    info = {a.agent_id: a for a in infos}
    matrices = _site_matrices(catalog, cov.need.shape[1])

    swaps = 0
    improved = True
    while improved and time.perf_counter() - t0 < time_budget_s:
        improved = False
        for agent in sorted(shifts):
            if time.perf_counter() - t0 >= time_budget_s:
                break
            a = info[agent]
            g = group_of[agent]
            if not agg.group_pools[g]:
                continue
            ks, matrix, paid = matrices[a.site]
            for k in list(shifts[agent]):
                o = catalog.options[k]
                rest = [x for x in shifts[agent] if x != k]
                state = _state(a, rest, catalog, history, w0)
                ts_old = cov.entries[(agent, k)][0]
                cov.take(agent, k)
                mg = cov.marginal(agg.group_pools[g])
                loss = float(mg[ts_old].sum())  # what putting it back would buy
                estimate = matrix @ mg - over_per_min * (paid - o.paid_min) - loss
                best, best_value = None, 0.0
                checked = 0
                for r in np.argsort(-estimate):
                    if estimate[r] <= best_value or checked >= 25:
                        break
                    k2 = int(ks[r])
                    if k2 == k:
                        continue
                    o2 = catalog.options[k2]
                    start, end = _minutes(o2.start_utc, w0), _minutes(o2.end_utc, w0)
                    if o2.paid_min + state["paid"] < a.min_paid_min:
                        continue
                    if not _fits(a, state, o2, start, end, rules, rest_min):
                        continue
                    if not _in_band(bands, agent, state["nights"] + o2.night):
                        continue
                    checked += 1
                    value = (float(mg[Ledger.working(catalog, k2, mg)].sum()) - loss
                             - over_per_min * (o2.paid_min - o.paid_min))
                    if value > best_value + 1e-9:
                        best, best_value = k2, value
                if best is None:
                    cov.place(agent, k, ts_old, g)  # keep the shift
                    continue
                cov.place(agent, best, Ledger.working(catalog, best, mg), g)
                shifts[agent] = rest + [best]
                swaps += 1
                improved = True
    return swaps


def balance(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
            infos: list[AgentInfo], scenario: Scenario, history: History, *,
            time_budget_s: float, bands: dict[str, tuple[int, int]] | None = None) -> int:
    """
    Even out nights (among night_ok agents) and weekend days within each group by
    handing a shift from the agent who has most to the agent who has fewest, on a date
    the receiver is free, or by trading it for the receiver's shift of that date, or else
    by trading the shifts of a run of consecutive dates (a block of nights for a block of
    days, where a single date would break the rest rule). Agents
    of a group are interchangeable for coverage, so coverage does not change; every
    individual rule is checked for both agents, and their nights stay inside their
    ``bands`` when given (a weekend shift handed over may be a night). Returns the moves
    made.
    """
    t0 = time.perf_counter()
    rules = scenario.roster.rules
    rest_min = rules.min_rest_h * 60
    w0 = scenario.planning.start_utc
    moves = 0
    for grp in groups:
        for flag in ("night", "weekend"):
            members = [infos[i] for i in grp.members
                       if flag != "night" or infos[i].night_ok]
            if len(members) < 2:
                continue
            while time.perf_counter() - t0 < time_budget_s:
                count = {a.agent_id: sum(getattr(catalog.options[k], flag)
                                         for k in shifts.get(a.agent_id, [])) for a in members}
                rich = max(members, key=lambda a: count[a.agent_id])
                poor_list = sorted(members, key=lambda a: count[a.agent_id])
                if count[rich.agent_id] - count[poor_list[0].agent_id] <= 1:
                    break
                if not (_hand_over(rich, poor_list, count, flag, shifts, catalog, history,
                                   w0, rules, rest_min, bands)
                        or _trade_run(rich, poor_list, count, flag, shifts, catalog, history,
                                      w0, rules, rest_min, bands)):
                    break
                moves += 1
    return moves


def _hand_over(rich, poor_list, count, flag, shifts, catalog, history, w0, rules,
               rest_min, bands=None) -> bool:
    """One move of a flagged shift from ``rich`` to an agent with at least two fewer."""
    for poor in poor_list:
        if count[rich.agent_id] - count[poor.agent_id] <= 1:
            return False
        for k in list(shifts.get(rich.agent_id, [])):
            o = catalog.options[k]
            if not getattr(o, flag):
                continue
            theirs = [x for x in shifts.get(poor.agent_id, []) if catalog.options[x].date == o.date]
            give = [x for x in shifts[rich.agent_id] if x != k] + theirs
            take = [x for x in shifts.get(poor.agent_id, []) if x not in theirs] + [k]
            if theirs and getattr(catalog.options[theirs[0]], flag):
                continue
            if _apply_if_ok(rich, give, poor, take, shifts, catalog, history, w0, rules,
                            rest_min, bands):
                return True
    return False


def _trade_run(rich, poor_list, count, flag, shifts, catalog, history, w0, rules,
               rest_min, bands=None) -> bool:
    """
    One trade of the shifts of a run of 2 to 7 consecutive dates between ``rich`` and an
    agent of the same group with at least two fewer flagged shifts: where a single date
    cannot move (a night between two days breaks the rest rule), a block of nights can
    change places with a block of days. The trade moves between 1 and gap - 1 flagged
    shifts, so neither agent passes the other and the spread of the pair shrinks.
    """
    dates = catalog.dates(rich.site)
    mine = shifts.get(rich.agent_id, [])
    for poor in poor_list:
        gap = count[rich.agent_id] - count[poor.agent_id]
        if gap <= 1:
            return False
        theirs = shifts.get(poor.agent_id, [])
        for length in range(2, 8):
            for first in range(len(dates) - length + 1):
                run = set(dates[first:first + length])
                r_in = [k for k in mine if catalog.options[k].date in run]
                p_in = [k for k in theirs if catalog.options[k].date in run]
                moved = (sum(getattr(catalog.options[k], flag) for k in r_in)
                         - sum(getattr(catalog.options[k], flag) for k in p_in))
                if not 1 <= moved <= gap - 1:
                    continue
                give = [k for k in mine if k not in r_in] + p_in
                take = [k for k in theirs if k not in p_in] + r_in
                if _apply_if_ok(rich, give, poor, take, shifts, catalog, history, w0,
                                rules, rest_min, bands):
                    return True
    return False


def _in_band(bands: dict[str, tuple[int, int]] | None, agent: str, nights: int) -> bool:
    """Are ``nights`` inside the agent's band (always, without bands or a band)?"""
    if not bands or agent not in bands:
        return True
    lo, hi = bands[agent]
    return lo <= nights <= hi


def _apply_if_ok(rich, give, poor, take, shifts, catalog, history, w0, rules,
                 rest_min, bands=None) -> bool:
    """Give ``rich`` the shifts ``give`` and ``poor`` the shifts ``take`` when both weeks
    keep every individual rule and their nights stay inside their ``bands``; say
    whether it was done."""
    for a, options in ((rich, give), (poor, take)):
        if not _in_band(bands, a.agent_id, sum(catalog.options[k].night for k in options)):
            return False
    if _week_ok(rich, give, catalog, history, w0, rules, rest_min) and \
            _week_ok(poor, take, catalog, history, w0, rules, rest_min):
        shifts[rich.agent_id] = give
        shifts[poor.agent_id] = take
        return True
    return False


def _week_ok(a: AgentInfo, options: list[int], catalog: Catalog, history: History, w0,
             rules, rest_min: float) -> bool:
    """Does this set of shifts keep every individual rule for agent ``a``?"""
    paid = sum(catalog.options[k].paid_min for k in options)
    if not a.min_paid_min <= paid <= a.max_paid_min or len(options) > a.max_shifts:
        return False
    state = _state(a, [], catalog, history, w0)
    for k in sorted(options, key=lambda k: catalog.options[k].start_utc):
        o = catalog.options[k]
        start, end = _minutes(o.start_utc, w0), _minutes(o.end_utc, w0)
        if o.night and not a.night_ok:
            return False
        state_paid = state["paid"]
        state["paid"] = 0  # the contract total is checked above
        if not _fits(a, state, o, start, end, rules, rest_min):
            return False
        state["paid"] = state_paid + o.paid_min
        state["shifts"] += 1
        state["nights"] += int(o.night)
        state["dates"].add(o.date)
        state["spans"].append((start, end))
    return True
