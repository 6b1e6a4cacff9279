"""
Nights shared site-wide: every night_ok agent brought up to their fair share of the
nights their site works.

The assignment and :func:`wfm.roster.topup.balance` even out nights within a group
(agents with the same skills, interchangeable for coverage), but the aggregate decides
how many nights each group works, for coverage alone: on the demo week whole groups
worked three nights each while others (the part-timers of a language, a lone Arabic
speaker) worked none. The fair share of an agent is the band of
:func:`wfm.roster.catalog.night_bands`: [m, m + 1] where the site's nights, spread
evenly over its night_ok agents, give m each (lower when leave or the contract cannot
reach it).

A *transfer* moves one night from an agent above their band's floor (the giver) to one
below it (the taker), across groups: the taker works a night shift instead of one of
their shifts (or on a free date), the giver a shift that is not a night instead of one
of their nights (or nothing, when the contract allows). Both new shifts are the best for
coverage among the shifts each agent can take under every individual rule, found on the
coverage :class:`~wfm.roster.ledger.Ledger` as the upgrade step finds them, and no
agent's count of weekend days changes. The agent furthest below their share takes
first, from the giver whose transfer costs least (service lost plus paid time, in
objective units) among the :data:`GIVERS` with most nights; transfers are made whatever
they cost unless ``max_cost`` says otherwise.

Then nights are *exchanged*: a transfer between two agents inside their bands (the taker
below the top of theirs, the giver above the floor of theirs) is made wherever the
ledger says it saves service. Those moves cross skill groups, which the later swaps and
the neighbourhood search (one group at a time, each agent's nights kept in their band)
cannot; on the demo week they won back more than the forced transfers had cost (measured
on one week's roster after the top-up: transfers +65.4 on the LP's objective, with the
exchanges -19.1 and 32.5 agent-h less under-coverage).
"""

from __future__ import annotations

import time

import numpy as np

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.assign import History, _fits, _minutes
from wfm.roster.catalog import AgentInfo, Catalog, Group, night_bands
from wfm.roster.ledger import Ledger
from wfm.roster.topup import _site_matrices, _state
from wfm.scenario import Scenario

#: candidate shifts checked exactly per replaced shift (ranked by the vectorised estimate)
CHECKED = 25
#: givers priced per transfer: those with the most nights (a site of hundreds of agents
#: would price every one of them for every night moved)
GIVERS = 12
#: an exchange of nights between agents inside their bands is made when the ledger says
#: it saves at least this much (objective units)
MIN_SAVING = 0.5


def share_nights(shifts: dict[str, list[int]], catalog: Catalog, groups: list[Group],
                 infos: list[AgentInfo], agg: Aggregate, dem: Demand, scenario: Scenario,
                 history: History, values: np.ndarray, *, time_budget_s: float,
                 max_cost: float = float("inf"), exchange: bool = True) -> dict:
    """
    Transfer nights in place (see the module docstring), then exchange them inside the
    bands (unless ``exchange`` is False). ``values`` is the aggregate LP's solution with
    the current shifts fixed (it starts the ledger). Returns the transfers made and their
    estimated cost (objective units), the exchanges and what they saved, and the night_ok
    agents still below (or above) their share.
    """
    t0 = time.perf_counter()
    rules = scenario.roster.rules
    for a in infos:
        shifts.setdefault(a.agent_id, [])
    cov = Ledger(agg, dem)
    cov.fill(shifts, catalog, groups, infos, values)
    ctx = _Context(catalog, agg, cov, history, scenario,
                   _site_matrices(catalog, cov.need.shape[1]),
                   {infos[i].agent_id: g for g, grp in enumerate(groups) for i in grp.members})
    stats = {"transfers": 0, "cost": 0.0, "refused": 0}
    for site in sorted({a.site for a in infos}):
        night_ok = [a for a in infos if a.site == site and a.night_ok]
        tried: set[str] = set()
        while time.perf_counter() - t0 < time_budget_s:
            now = _shares(shifts, catalog, night_ok, rules.max_nights_week)
            # takers below their band, else (while some agent is above theirs) at its
            # floor; givers above their band, else above its floor
            over = [a for a in night_ok if now[a.agent_id][0] > now[a.agent_id][1][1]]
            short = [a for a in night_ok if now[a.agent_id][0] < now[a.agent_id][1][0]]
            if not short and over:
                short = [a for a in night_ok if now[a.agent_id][0] < now[a.agent_id][1][1]]
            short = [a for a in short if a.agent_id not in tried]
            givers = over or [a for a in night_ok if now[a.agent_id][0] > now[a.agent_id][1][0]]
            if not short or not givers:
                break
            taker = max(short, key=lambda a: (now[a.agent_id][1][0] - now[a.agent_id][0],
                                              a.agent_id))
            givers.sort(key=lambda a: (-now[a.agent_id][0], a.agent_id))
            done = _transfer(taker, givers, shifts, ctx, max_cost)
            if done is None:
                tried.add(taker.agent_id)
                stats["refused"] += 1
                continue
            stats["transfers"] += 1
            stats["cost"] += done
    # then nights move between agents inside their bands wherever that saves service:
    # the transfers above were made whatever they cost
    bands = keep_bands(shifts, catalog, infos, scenario)
    rng = np.random.default_rng(scenario.roster.random_seed)
    stats["exchanges"], stats["saved"] = 0, 0.0
    improved = exchange
    while improved and time.perf_counter() - t0 < time_budget_s:
        improved = False
        for site in sorted({a.site for a in infos}):
            night_ok = [a for a in infos if a.site == site and a.night_ok]
            for taker in night_ok:
                if time.perf_counter() - t0 >= time_budget_s:
                    break
                nights = {a.agent_id: _nights(shifts[a.agent_id], catalog) for a in night_ok}
                if nights[taker.agent_id] >= bands[taker.agent_id][1]:
                    continue
                givers = [a for a in night_ok if a is not taker
                          and nights[a.agent_id] > bands[a.agent_id][0]]
                rng.shuffle(givers)
                done = _transfer(taker, givers, shifts, ctx, -MIN_SAVING)
                if done is not None:
                    stats["exchanges"] += 1
                    stats["saved"] -= done
                    improved = True
    stats["saved"] = round(stats["saved"], 3)
    final = _shares(shifts, catalog, [a for a in infos if a.night_ok], rules.max_nights_week)
    stats["below_share"] = sorted(a for a, (n, band) in final.items() if n < band[0])
    stats["above_share"] = sorted(a for a, (n, band) in final.items() if n > band[1])
    stats["cost"] = round(stats["cost"], 3)
    stats["seconds"] = round(time.perf_counter() - t0, 2)
    return stats


def keep_bands(shifts: dict[str, list[int]], catalog: Catalog, infos: list[AgentInfo],
               scenario: Scenario) -> dict[str, tuple[int, int]]:
    """
    The nights each night_ok agent may work from now on: their fair share of their
    site's nights (:func:`wfm.roster.catalog.night_bands` at the nights worked now),
    widened to what they work now when outside it, so the roster as it is keeps it.
    The local search keeps every agent inside (agents already sharing fairly stay so).
    """
    shares = _shares(shifts, catalog, [a for a in infos if a.night_ok],
                     scenario.roster.rules.max_nights_week)
    return {agent: (min(lo, n), max(hi, n)) for agent, (n, (lo, hi)) in shares.items()}


def _shares(shifts, catalog: Catalog, night_ok: list[AgentInfo], max_nights: int) -> dict:
    """Agent id -> (nights worked, fair band) for these night_ok agents, each band from
    the nights their site's agents among them work now."""
    nights = {a.agent_id: _nights(shifts.get(a.agent_id, []), catalog) for a in night_ok}
    out = {}
    for site in sorted({a.site for a in night_ok}):
        here = [a for a in night_ok if a.site == site]
        total = sum(nights[a.agent_id] for a in here)
        out.update({agent: (nights[agent], band) for agent, band in night_bands(
            here, catalog, {site: total}, max_nights).items()})
    return out


def _nights(options: list[int], catalog: Catalog) -> int:
    return sum(catalog.options[k].night for k in options)


class _Context:
    """What a transfer needs: the catalogue, the ledger, the rules."""

    def __init__(self, catalog, agg, cov, history, scenario, matrices, group_of):
        self.catalog, self.agg, self.cov, self.history = catalog, agg, cov, history
        self.rules = scenario.roster.rules
        self.rest_min = self.rules.min_rest_h * 60
        self.w0 = scenario.planning.start_utc
        self.over_per_min = scenario.roster.weights.over_coverage / 60.0
        self.matrices, self.group_of = matrices, group_of
        #: per site, which of its options (in the order of ``matrices``) are nights and
        #: on weekend dates
        self.flags = {site: (np.array([catalog.options[int(k)].night for k in ks], dtype=bool),
                             np.array([catalog.options[int(k)].weekend for k in ks],
                                      dtype=bool))
                      for site, (ks, _, _) in matrices.items()}


def _transfer(taker: AgentInfo, givers: list[AgentInfo], shifts, ctx: _Context,
              max_cost: float) -> float | None:
    """The cheapest transfer of one night to ``taker`` from one of ``givers`` costing at
    most ``max_cost``; made on ``shifts`` and the ledger, returns its cost, or None
    (nothing changed)."""
    cov = ctx.cov
    # only the taker's shifts change before the choice (pricing a giver leaves the
    # ledger as it was; hand-overs are undone by the ledger's journal)
    mine = list(shifts[taker.agent_id])
    snap = cov.snapshot([(taker.agent_id, k) for k in mine])
    take = _best_change(taker, mine, ctx, night=True)
    if take is None:
        return None
    cost_take, old, new = take  # a taker always gets a new (night) shift
    _apply(taker, shifts, old, new, ctx)
    best = None
    for giver in givers[:GIVERS]:
        give = _best_change(giver, shifts[giver.agent_id], ctx, night=False)
        if give is not None and (best is None or give[0] < best[0][0]):
            best = (give, giver)
    if best is None or cost_take + best[0][0] > max_cost:
        cov.forget([(taker.agent_id, new)])
        cov.restore(snap)
        # the old shift back, last (the order the later steps have always seen)
        shifts[taker.agent_id] = [k for k in mine if k != old] + ([] if old is None else [old])
        return None
    (cost_give, old_g, new_g), giver = best
    _apply(giver, shifts, old_g, new_g, ctx)
    cov.commit()
    return cost_take + cost_give


def _apply(a: AgentInfo, shifts, old: int | None, new: int | None, ctx: _Context) -> None:
    g = ctx.group_of[a.agent_id]
    if old is not None:
        ctx.cov.take(a.agent_id, old)
        shifts[a.agent_id].remove(old)
    if new is not None:
        mg = ctx.cov.marginal(ctx.agg.group_pools[g])
        ctx.cov.place(a.agent_id, new, Ledger.working(ctx.catalog, new, mg), g)
        shifts[a.agent_id].append(new)


def _best_change(a: AgentInfo, options: list[int], ctx: _Context, *, night: bool):
    """
    The cheapest change of one shift of agent ``a`` that adds a night (``night``) or
    removes one: ``(cost, old option or None, new option or None)``, or None when no
    change keeps every rule. A night is added by replacing a shift that is not a night
    or on a free date; removed by replacing a night with a shift that is not, or by
    dropping it. The agent's weekend days do not change. The ledger is left as it was.
    """
    catalog, cov = ctx.catalog, ctx.cov
    g = ctx.group_of[a.agent_id]
    pools = ctx.agg.group_pools[g]
    ks, matrix, paid = ctx.matrices[a.site]
    flags, weekend = ctx.flags[a.site]
    best = None
    olds = [k for k in options if catalog.options[k].night != night]
    for old in ([None] if night else []) + olds:
        rest = [k for k in options if k != old]
        state = _state(a, rest, catalog, ctx.history, ctx.w0)
        if old is not None:
            entry = cov.entries[(a.agent_id, old)]
            ts_old = entry[0]
            cov.take(a.agent_id, old)
        mg = cov.marginal(pools) if pools else np.zeros(cov.need.shape[1])
        loss = float(mg[ts_old].sum()) if old is not None else 0.0
        old_paid = catalog.options[old].paid_min if old is not None else 0
        old_weekend = catalog.options[old].weekend if old is not None else False
        if not night and old is not None and state["paid"] >= a.min_paid_min:
            # the night dropped: its service lost, its paid time saved
            cost = loss - ctx.over_per_min * old_paid
            if best is None or cost < best[0]:
                best = (cost, old, None)
        gain = matrix @ mg - ctx.over_per_min * (paid - old_paid)
        allowed = (flags == night) & (weekend == old_weekend)
        order = np.argsort(-np.where(allowed, gain, -np.inf))
        checked = 0
        for r in order:
            if not allowed[r] or checked >= CHECKED:
                break
            if best is not None and loss - gain[r] >= best[0]:
                break  # the estimate is an upper bound of what the shift buys
            o = catalog.options[int(ks[r])]
            if state["paid"] + o.paid_min < a.min_paid_min:
                continue
            start, end = _minutes(o.start_utc, ctx.w0), _minutes(o.end_utc, ctx.w0)
            if not _fits(a, state, o, start, end, ctx.rules, ctx.rest_min):
                continue
            checked += 1
            k = int(ks[r])
            value = float(mg[Ledger.working(catalog, k, mg)].sum())
            cost = loss - value + ctx.over_per_min * (o.paid_min - old_paid)
            if best is None or cost < best[0]:
                best = (cost, old, k)
        if old is not None:
            cov.untake((a.agent_id, old), entry)
    return best
