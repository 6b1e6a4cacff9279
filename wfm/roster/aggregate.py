"""
The aggregate covering model: how many agents of each group start each shift option,
where their lunches go, and which queues they serve in each interval.

Agents of one site with the same skills are interchangeable for coverage, so the
model counts them per *group* instead of deciding per agent: a few tens of thousands
of integer variables for a 3-site week instead of several hundred thousand booleans.
The rules that concern individuals are kept in aggregate form:

- per site-local date, no more agents working than are available that day (one shift
  per agent and date; night options only for agents with ``night_ok``);
- per group and week: no more shifts than the agents' working days allow, night shifts
  at most ``max_nights_week`` per night_ok agent, paid minutes between the agents'
  total minimum and maximum;
- per contract class (agents of a group with the same contract, working days and
  night_ok): its share of each date's shifts no more than its agents there, its paid
  minutes no more than a week of the templates can reach within the contract, its
  working days and nights within its agents';
- rest between consecutive dates, as counting inequalities: for any time e, the
  agents on a date-d shift ending at or after e plus those on a date-d+1 shift
  starting before e + rest cannot exceed the group (no agent can do both).

The assignment to agents (:mod:`wfm.roster.assign`) turns the counts into shifts per
agent under the exact individual rules.

Objective (DESIGN.md, issue "roster"): the service lost to under-coverage first,
each missing agent in a queue-interval weighted by the service level it would have
bought there (from :mod:`wfm.erlang`), as a convex piecewise-linear function so the
shortage goes where it hurts least; then paid time beyond need.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from wfm import erlang
from wfm.roster.catalog import AgentInfo, Catalog, Group, can_serve
from wfm.roster.linear import LinearModel
from wfm.scenario import Scenario

#: the value of a scheduled agent-hour beyond the service-level gain (contacts), so that
#: covering a quiet queue (or one too short to reach any service level) still counts,
#: well above the paid-time weight; it also keeps the penalty strictly increasing
BASE_WEIGHT_PER_H = 0.5
#: cost of a paid minute below a group's contract minimum (contacts per minute)
PAID_SHORT_COST = 1.0


@dataclass(frozen=True)
class Queue:
    name: str
    language: str
    channel: str


@dataclass(frozen=True)
class Pool:
    """Queues whose agents are interchangeable: every agent who serves one of them
    serves all (the channels of one language, unless some agents serve only some
    channels; then each queue is its own pool)."""

    name: str
    language: str
    queues: tuple[int, ...]


@dataclass
class Demand:
    """Required headcount per queue and interval on the catalogue's grid, with the
    marginal weight of each missing agent."""

    queues: list[Queue]
    headcount: np.ndarray  # [queue, interval] int
    weights: dict[tuple[int, int], np.ndarray]  # (q, t) -> weight of the i-th missing agent
    frame: pd.DataFrame
    pools: list[Pool] = field(default_factory=list)

    def pool_need(self, need: np.ndarray) -> np.ndarray:
        """Headcount per pool and interval from a queue-level need."""
        return np.array([need[list(p.queues)].sum(axis=0) for p in self.pools]).reshape(
            len(self.pools), need.shape[1])

    def pool_weights(self, p: int, t: int, need: np.ndarray) -> np.ndarray:
        """The weights of a pool's missing agents at ``t``: the merged steps of its
        queues in increasing order (missing agents go to the cheapest steps first,
        which is optimal because each queue's steps increase)."""
        parts = [self.weights[(q, t)][:need[q, t]] for q in self.pools[p].queues
                 if (q, t) in self.weights and need[q, t] > 0]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0)


def make_pools(queues: list[Queue], infos: list[AgentInfo]) -> list[Pool]:
    """Pool the channels of a language when every agent who speaks it serves them all."""
    pools = []
    by_language: dict[str, list[int]] = {}
    for i, q in enumerate(queues):
        by_language.setdefault(q.language, []).append(i)
    for language, members in sorted(by_language.items()):
        speakers = [a for a in infos if language in a.languages]
        all_serve = all(
            can_serve(a.languages, a.channels, language, queues[q].channel)
            for a in speakers for q in members
        )
        if all_serve or len(members) == 1:
            pools.append(Pool(language, language, tuple(members)))
        else:
            pools.extend(Pool(queues[q].name, language, (q,)) for q in members)
    return pools


def queues_of(requirement: pd.DataFrame) -> list[Queue]:
    """Queues with their language and channel (columns, or parsed from the name)."""
    out = []
    for name, part in requirement.groupby("queue", sort=True):
        if "language" in part.columns and "channel" in part.columns:
            language, channel = part["language"].iloc[0], part["channel"].iloc[0]
        else:
            language, _, rest = name.partition("_")
            channel = rest.split("_")[0]
        out.append(Queue(name, str(language), str(channel)))
    return out


def service_curve(row, productive: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Service level of a queue-interval at each productive agent count (Erlang C, the
    chat model for chat, a proportional curve for deferred work)."""
    traffic = float(row.traffic_erl)
    if traffic <= 0 or not np.isfinite(traffic):
        return np.where(productive > 0, 1.0, 0.0)
    kind = str(row.channel).split("-")[0]
    target = scenario.targets.channel(kind)
    answer = getattr(row, "target_answer_s", None)
    if answer is None or not np.isfinite(answer):
        answer = target.answer_target_s or 20.0
    aht = float(row.aht_s) if np.isfinite(row.aht_s) and row.aht_s > 0 else 300.0
    n = productive.astype(float)
    if kind == "chat":
        sl = erlang.chat_service_level(traffic, n, aht, answer, target.concurrency)
    elif kind == "email":
        need = max(float(row.agents), 1.0)
        sl = np.minimum(n / need, 1.0)
    else:
        sl = erlang.service_level(traffic, n, aht, answer)
    return np.nan_to_num(np.asarray(sl, dtype=float), nan=0.0)


def demand(requirement: pd.DataFrame, catalog: Catalog, scenario: Scenario,
           infos: list[AgentInfo]) -> Demand:
    """Headcount per queue and interval, and the convex weights of missing agents."""
    queues = queues_of(requirement)
    qpos = {q.name: i for i, q in enumerate(queues)}
    tpos = {t.value: i for i, t in enumerate(catalog.grid)}
    frame = requirement[requirement["interval_start"].map(lambda t: t.value in tpos)].copy()
    if "language" not in frame.columns or "channel" not in frame.columns:
        lookup = {q.name: q for q in queues}
        frame["language"] = frame["queue"].map(lambda n: lookup[n].language)
        frame["channel"] = frame["queue"].map(lambda n: lookup[n].channel)
    headcount = np.zeros((len(queues), len(catalog.grid)), dtype=int)
    weights = {}
    shrinkage = scenario.targets.shrinkage
    base = BASE_WEIGHT_PER_H * scenario.planning.interval_min / 60
    for row in frame.itertuples(index=False):
        q, t = qpos[row.queue], tpos[row.interval_start.value]
        h = int(row.headcount)
        headcount[q, t] = h
        if h <= 0:
            continue
        scheduled = np.arange(h, -1, -1)  # h, h-1, ..., 0
        productive = np.floor(scheduled * (1 - shrinkage) + 1e-9)
        sl = service_curve(row, productive, scenario)
        contacts = float(row.contacts) if np.isfinite(row.contacts) else 0.0
        loss = contacts * np.maximum(sl[:-1] - sl[1:], 0.0) + base
        weights[(q, t)] = np.maximum.accumulate(loss)  # convex: non-decreasing marginals
    return Demand(queues, headcount, weights, frame, make_pools(queues, infos))


@dataclass
class Aggregate:
    lm: LinearModel
    x: dict[tuple[int, int], int] = field(default_factory=dict)  # (group, option)
    lunch: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (g, option, offset)
    y: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (g, pool, interval)
    short: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (pool, t) -> steps
    group_pools: dict[int, list[int]] = field(default_factory=dict)
    #: (group, contract class) -> the variables of the class's night shifts; a class is
    #: (max paid minutes, max shifts, night_ok) of its agents
    class_nights: dict[tuple[int, tuple], list[int]] = field(default_factory=dict)
    need: np.ndarray | None = None  # [queue, interval] still needed after the carry-in


def build_aggregate(catalog: Catalog, groups: list[Group], infos: list[AgentInfo],
                    dem: Demand, scenario: Scenario, *, carry_in: np.ndarray | None = None,
                    weights_scale: float = 1.0) -> Aggregate:
    """
    The aggregate model (see the module docstring). ``carry_in[q, t]`` are agents
    already on shift from the previous week's roster (they reduce the headcount still
    needed at the start of the week).
    """
    rules = scenario.roster.rules
    lm = LinearModel()
    agg = Aggregate(lm)
    over_weight_per_min = scenario.roster.weights.over_coverage / 60.0
    need = dem.headcount.copy()
    if carry_in is not None:
        need = np.maximum(need - carry_in, 0)

    agg.need = need
    pool_need = dem.pool_need(need)
    # which pools each group serves
    for g, grp in enumerate(groups):
        agg.group_pools[g] = [
            p for p, pool in enumerate(dem.pools)
            if all(can_serve(grp.languages, grp.channels, dem.queues[q].language,
                             dem.queues[q].channel) for q in pool.queues)
        ]

    # shift counts and lunches
    rest_min = rules.min_rest_h * 60
    for g, grp in enumerate(groups):
        members = [infos[i] for i in grp.members]
        dates = catalog.dates(grp.site)
        avail = {d: sum(1 for a in members if a.available(d) and a.max_shifts > 0) for d in dates}
        avail_night = {d: sum(1 for a in members if a.available(d) and a.night_ok
                              and a.max_shifts > 0) for d in dates}
        per_date: dict[dt.date, list[int]] = {d: [] for d in dates}
        night_vars: dict[dt.date, list[int]] = {d: [] for d in dates}
        paid_terms: tuple[list[int], list[float]] = ([], [])
        for k in catalog.by_site[grp.site]:
            o = catalog.options[k]
            cap = avail_night[o.date] if o.night else avail[o.date]
            if cap <= 0:
                continue
            v = lm.var(0, cap, f"x[{g},{k}]", cost=over_weight_per_min * o.paid_min)
            agg.x[(g, k)] = v
            per_date[o.date].append(v)
            if o.night:
                night_vars[o.date].append(v)
            paid_terms[0].append(v)
            paid_terms[1].append(o.paid_min)
            if o.lunch_offsets_min:
                lunch_vars = []
                for off in o.lunch_offsets_min:
                    lv = lm.var(0, cap, f"lunch[{g},{k},{off}]")
                    agg.lunch[(g, k, off)] = lv
                    lunch_vars.append(lv)
                lm.add(lunch_vars + [v], [1] * len(lunch_vars) + [-1], 0, 0, f"lunch[{g},{k}]")
        # one shift per agent and date; nights only for night_ok agents
        for d in dates:
            lm.add(per_date[d], np.ones(len(per_date[d])), hi=avail[d], name=f"day[{g},{d}]")
            lm.add(night_vars[d], np.ones(len(night_vars[d])), hi=avail_night[d],
                   name=f"night_day[{g},{d}]")
        all_x = [v for d in dates for v in per_date[d]]
        all_nights = [v for d in dates for v in night_vars[d]]
        n_night_ok = sum(1 for a in members if a.night_ok)
        lm.add(all_nights, np.ones(len(all_nights)), hi=rules.max_nights_week * n_night_ok,
               name=f"nights[{g}]")
        lm.add(all_x, np.ones(len(all_x)), hi=sum(a.max_shifts for a in members),
               name=f"days[{g}]")
        # paid minutes within the contracts; the floor is soft (a group whose agents
        # cannot all reach their minimum is diagnosed per agent later, not here)
        short = lm.var(0, sum(a.min_paid_min for a in members), f"paid_short[{g}]",
                       cost=PAID_SHORT_COST)
        lm.add(paid_terms[0] + [short], paid_terms[1] + [1],
               lo=sum(a.min_paid_min for a in members), name=f"paid_floor[{g}]")
        lm.add(paid_terms[0], paid_terms[1], hi=sum(a.max_paid_min for a in members),
               name=f"paid[{g}]")
        _contract_rows(lm, agg, catalog, g, members, rules.max_nights_week)
        _rest_rows(lm, agg, catalog, g, grp, dates, rest_min)

    # allocation of working agents to pools, per interval: a group serving one pool
    # counts there directly, a group serving several splits its agents (y)
    covering: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (g, k), v in agg.x.items():
        for t in catalog.cover[k]:
            covering.setdefault((g, t), []).append((v, 1))
    for (g, k, off), v in agg.lunch.items():
        for t in catalog.lunch_cover[(k, off)]:
            covering.setdefault((g, t), []).append((v, -1))
    serving: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (g, t), terms in covering.items():
        pools = [p for p in agg.group_pools[g] if pool_need[p, t] > 0]
        if not pools:
            continue
        if len(agg.group_pools[g]) == 1:
            serving.setdefault((pools[0], t), []).extend(terms)
            continue
        ys = []
        for p in pools:
            yv = lm.var(0, int(pool_need[p, t]), f"y[{g},{p},{t}]")
            agg.y[(g, p, t)] = yv
            ys.append(yv)
            serving.setdefault((p, t), []).append((yv, 1))
        lm.add(ys + [v for v, _ in terms], [1] * len(ys) + [-c for _, c in terms],
               hi=0, name=f"alloc[{g},{t}]")

    # coverage with convex shortage steps
    for p in range(len(dem.pools)):
        for t in np.flatnonzero(pool_need[p] > 0):
            w = dem.pool_weights(p, t, need)
            steps = [lm.var(0, 1, f"short[{p},{t},{i}]", cost=float(wi) * weights_scale)
                     for i, wi in enumerate(w)]
            agg.short[(p, int(t))] = steps
            terms = serving.get((p, t), [])
            lm.add([v for v, _ in terms] + steps, [c for _, c in terms] + [1] * len(steps),
                   lo=int(pool_need[p, t]), name=f"cover[{p},{t}]")
    return agg


def _contract_rows(lm: LinearModel, agg: Aggregate, catalog: Catalog, g: int,
                   members: list[AgentInfo], max_nights: int) -> None:
    """
    The group's shifts shared out over its contract classes (agents with the same
    weekly maximum, number of working days and night_ok), per date and kind of shift:
    each class's shifts, paid minutes and nights must fit its agents, and on each date
    it has no more shifts than agents there. A full-timer can only reach 40 h in five
    shifts with 8-hour ones, a night_ok agent's nights take days it cannot also work by
    day, and one full-timer cannot take two 8-hour shifts of one date, so this keeps the
    plan from counting on weeks no agent can hold (measured on the demo week, the dive's
    counts handed out with 20 s per group, most groups proved optimal: without the
    per-date rows the groups of up to 24 agents left 102 agent-h unassigned, with them
    42; e.g. two 8-hour shifts a date for a pair of agents of which only one could reach
    its contract with 8-hour shifts).
    """
    classes: dict[tuple[int, int, bool], list[AgentInfo]] = {}
    for a in members:
        classes.setdefault((a.max_paid_min, a.max_shifts, a.night_ok), []).append(a)
    kinds: dict[tuple[int, bool, dt.date], list[int]] = {}
    for (gg, k), v in agg.x.items():
        if gg == g:
            o = catalog.options[k]
            kinds.setdefault((o.paid_min, o.night, o.date), []).append(v)
    dates = {kind[2] for kind in kinds}
    here = {c: {d: sum(1 for a in agents if a.available(d)) for d in dates}
            for c, agents in classes.items()}  # the class's agents available per date
    share: dict[tuple, int] = {}
    for c in classes:
        for kind in kinds:
            if kind[1] and not c[2]:
                continue  # no night shifts for a class without night_ok
            if here[c][kind[2]]:
                share[(c, kind)] = lm.var(0, here[c][kind[2]], f"class[{g},{c},{kind}]")
    for kind, xs in kinds.items():
        parts = [share[(c, kind)] for c in classes if (c, kind) in share]
        lm.add(parts + xs, [1] * len(parts) + [-1] * len(xs), 0, 0,
               name=f"class_split[{g},{kind}]")
    for c, agents in classes.items():
        n = len(agents)
        parts = [(share[(c, kind)], kind) for kind in kinds if (c, kind) in share]
        if not parts:
            continue
        lengths = {kind[0] for _, kind in parts}
        lm.add([v for v, _ in parts], [kind[0] for _, kind in parts],
               hi=n * reachable_paid_min(lengths, c[1], c[0]), name=f"class_paid[{g},{c}]")
        lm.add([v for v, _ in parts], [1] * len(parts), hi=n * c[1],
               name=f"class_days[{g},{c}]")
        for d in sorted({kind[2] for _, kind in parts}):
            on = [v for v, kind in parts if kind[2] == d]
            lm.add(on, [1] * len(on), hi=here[c][d], name=f"class_date[{g},{c},{d}]")
        nights = [v for v, kind in parts if kind[1]]
        if nights:
            agg.class_nights[(g, c)] = nights
            lm.add(nights, [1] * len(nights), hi=n * min(max_nights, c[1]),
                   name=f"class_nights[{g},{c}]")


def reachable_paid_min(lengths: set[int], max_shifts: int, max_paid_min: int) -> int:
    """
    The most paid minutes a week of at most ``max_shifts`` shifts of the given paid
    lengths can hold without passing ``max_paid_min``: e.g. 1,440 (three 8-hour shifts)
    for a 25.6-hour week of 4, 6 and 8-hour shifts, where the contract alone says 1,536.
    """
    sums = {0}
    for _ in range(max(max_shifts, 0)):
        sums |= {s + n for s in sums for n in lengths if s + n <= max_paid_min}
    return max(sums)


def _rest_rows(lm: LinearModel, agg: Aggregate, catalog: Catalog, g: int, grp: Group,
               dates: list[dt.date], rest_min: float) -> None:
    """Counting inequalities for rest between consecutive site-local dates."""
    by_date: dict[dt.date, list[tuple[int, int]]] = {d: [] for d in dates}
    for k in catalog.by_site[grp.site]:
        if (g, k) in agg.x:
            by_date[catalog.options[k].date].append((k, agg.x[(g, k)]))
    for d in dates:
        nxt = d + dt.timedelta(days=1)
        if nxt not in by_date or not by_date[d] or not by_date[nxt]:
            continue
        ends = sorted({catalog.options[k].end_utc.value for k, _ in by_date[d]}, reverse=True)
        starts = sorted({catalog.options[k].start_utc.value for k, _ in by_date[nxt]})
        # cumulative counts: E(e) = agents on date d ending at or after e, S(s) = agents on
        # date d+1 starting at or before s
        e_var, prev = {}, None
        for e in ends:
            terms = [v for k, v in by_date[d] if catalog.options[k].end_utc.value == e]
            ev = lm.var(0, grp.size, f"E[{g},{d},{e}]")
            lm.add([ev] + terms + ([prev] if prev is not None else []),
                   [1] + [-1] * len(terms) + ([-1] if prev is not None else []), 0, 0,
                   name=f"Edef[{g},{d},{e}]")
            e_var[e], prev = ev, ev
        s_var, prev = {}, None
        for s in starts:
            terms = [v for k, v in by_date[nxt] if catalog.options[k].start_utc.value == s]
            sv = lm.var(0, grp.size, f"S[{g},{nxt},{s}]")
            lm.add([sv] + terms + ([prev] if prev is not None else []),
                   [1] + [-1] * len(terms) + ([-1] if prev is not None else []), 0, 0,
                   name=f"Sdef[{g},{nxt},{s}]")
            s_var[s], prev = sv, sv
        rest_ns = int(rest_min * 60 * 10**9)
        starts_arr = np.array(starts)
        for e in ends:
            j = np.searchsorted(starts_arr, e + rest_ns, side="left") - 1
            if j < 0:
                continue
            lm.add([e_var[e], s_var[starts[j]]], [1, 1], hi=grp.size,
                   name=f"rest[{g},{d},{e}]")


def lunch_split(agg: Aggregate, catalog: Catalog, g: int, k: int, n: int,
                values: np.ndarray) -> list[tuple[int, int]]:
    """(offset, count) of the lunches of ``n`` shifts of option ``k`` in group ``g``:
    the LP's lunch counts scaled to ``n`` and made whole by cumulative rounding (evenly
    spread when the LP has none)."""
    offsets = catalog.options[k].lunch_offsets_min
    if not offsets or n <= 0:
        return []
    raw = np.array([max(values[agg.lunch[(g, k, off)]], 0.0) for off in offsets])
    raw = raw / raw.sum() * n if raw.sum() > 0 else np.full(len(offsets), n / len(offsets))
    cum = np.floor(np.cumsum(raw) + 0.5 + 1e-9).astype(int)
    cum[-1] = n
    counts = np.diff(np.concatenate([[0], cum]))
    return [(off, int(c)) for off, c in zip(offsets, counts, strict=True) if c > 0]
