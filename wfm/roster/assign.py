"""
From shift counts per group to shifts per agent: CP-SAT models per group.

Agents of a group are interchangeable for coverage, so the aggregate's counts can be
handed out to them under the individual rules, and the choice among equivalent
assignments is free to serve fairness and preferences. A group's model holds:

hard rules (per agent)
    one shift per site-local date; no shift on a day off (availability); at most
    ``7 - min_days_off`` shifts (less the days of leave); paid minutes between the
    agent's minimum and maximum for the week; night shifts only with ``night_ok`` and at
    most ``max_nights_week``; at least ``min_rest_h`` between two shifts, in real (UTC)
    time, also after the previous week's last shift; at most ``max_consecutive_days``
    working dates in a row, counting the previous week's streak.
soft goals, in this order of weight
    keep the aggregate's counts (a missing shift costs its paid hours at a high weight,
    a shift beyond them its paid hours at a low weight: over-coverage); spread nights
    and weekend days evenly within each group; meet preferences (start band, wished
    days off); keep the days off together.

It is solved in two stages (:func:`assign_group`): the counts alone, then every soft
goal with the missing shifts capped at the first stage's. The counts are soft, so the
model is infeasible only when an agent alone cannot keep the hard rules;
:func:`diagnose_agents` then names the agents and the rules.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from wfm.errors import RosterInfeasible
from wfm.roster.catalog import AgentInfo, Catalog, Group, preference_ok
from wfm.roster.linear import ProgressCallback
from wfm.scenario import WEEKDAYS, Scenario

#: objective coefficients (contacts) are scaled to integers by this factor
SCALE = 100
#: counts mode: a shift of the aggregate left out, and one beyond it, per paid hour
MISS_PER_H = 10.0
EXTRA_PER_H = 0.2


@dataclass
class History:
    """What the previous week's roster says about each agent."""

    last_end_utc: dict[str, int] = field(default_factory=dict)  # minutes after W0 (negative)
    streak_dates: dict[str, set] = field(default_factory=dict)  # worked local dates


def previous_history(previous_roster, w0) -> History:
    h = History()
    if previous_roster is None or len(previous_roster) == 0:
        return h
    for row in previous_roster.itertuples(index=False):
        end = int((row.end_utc - w0).total_seconds() // 60)
        if end > h.last_end_utc.get(row.agent_id, -10**9):
            h.last_end_utc[row.agent_id] = end
        d = row.date if isinstance(row.date, dt.date) else row.date.date()
        h.streak_dates.setdefault(row.agent_id, set()).add(d)
    return h


def cpsat_parameters(solver: cp_model.CpSolver, *, time_limit_s: float, num_workers: int,
                     random_seed: int = 0) -> cp_model.CpSolver:
    """Every CP-SAT option of the roster goes through ``solver.parameters`` here."""
    solver.parameters.max_time_in_seconds = float(max(time_limit_s, 0.5))
    solver.parameters.num_workers = int(num_workers)
    solver.parameters.random_seed = int(random_seed)
    solver.parameters.log_search_progress = False
    return solver


@dataclass
class SiteAssignment:
    shifts: dict[str, list[int]]  # agent id -> option indices
    status: str
    objective: float
    best_bound: float
    seconds: float
    penalties: dict[str, float]
    trace: list[tuple[float, float, float]]


def _minutes(ts, w0) -> int:
    return int((ts - w0).total_seconds() // 60)


def _candidates(catalog: Catalog, a: AgentInfo, group_options: set[int], history: History,
                w0, rest_min: float, pattern_options: set[int]) -> list[int]:
    """Options an agent may take: the group's options and the same shifts on other dates."""
    last_end = history.last_end_utc.get(a.agent_id)
    worked = history.streak_dates.get(a.agent_id, set())
    out = []
    for k in sorted(group_options | pattern_options):
        o = catalog.options[k]
        if not a.available(o.date) or (o.night and not a.night_ok) or a.max_shifts <= 0:
            continue
        if o.date in worked:  # one shift per local date, last week's included
            continue
        if last_end is not None and _minutes(o.start_utc, w0) - last_end < rest_min:
            continue
        out.append(k)
    return out


def assign_group(g: int, catalog: Catalog, groups: list[Group], infos: list[AgentInfo],
                 counts: dict[tuple[int, int], int], scenario: Scenario, history: History,
                 *, time_limit_s: float, num_workers: int,
                 report: Callable[[float, float, float], None] | None = None,
                 all_options: bool = False,
                 hint_shifts: dict[str, list[int]] | None = None) -> SiteAssignment:
    """
    Shifts for the agents of one group under the exact individual rules, keeping the
    aggregate's counts as far as the agents' weeks allow (see the module docstring).
    ``hint_shifts`` replaces the greedy starting point; ``all_options`` opens every shift
    of the site to the agents (used when the counts' options leave an agent stuck).

    Two stages: the counts alone first (hard rules, missing and extra shifts), which
    CP-SAT closes fast; then, with the time left, fairness and preferences on top,
    hinted with the first stage's weeks and never missing more of the counts. Measured
    on the demo week: with every goal in one model, 36 s left 244-304 paid hours of the
    counts unassigned (146 h after 105 s); the counts alone reach 152 h in 21 s.
    """
    t0 = time.perf_counter()
    grp = groups[g]
    site = grp.site
    rules = scenario.roster.rules
    w0 = scenario.planning.start_utc
    rest_min = rules.min_rest_h * 60
    core = {k for (gg, k), n in counts.items() if gg == g and n > 0}
    patterns = {(catalog.options[k].template, catalog.options[k].start_minute_local)
                for k in core}
    pattern_options = {k for k in catalog.by_site[site]
                       if (catalog.options[k].template,
                           catalog.options[k].start_minute_local) in patterns}
    if all_options:
        pattern_options = set(catalog.by_site[site])
    by_agent: dict[int, list[int]] = {}
    for i in grp.members:
        hinted = set((hint_shifts or {}).get(infos[i].agent_id, []))
        by_agent[i] = _candidates(catalog, infos[i], core | hinted, history, w0, rest_min,
                                  pattern_options)
    if hint_shifts is not None:
        hint = {(i, k): 1 for i in grp.members for k in hint_shifts.get(infos[i].agent_id, [])}
    else:
        hint = _greedy_hint(catalog, groups, infos, [g], by_agent, counts, rules, history, w0)
    callback = ProgressCallback(report)

    first = _CountsModel(g, catalog, grp, infos, counts, scenario, history, by_agent,
                         soft=False)
    status, solver = first.solve(hint, time_limit_s * FIRST_STAGE_SHARE, num_workers,
                                 callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # no solution in time: the greedy start, when it keeps every contract minimum
        shifts = {infos[i].agent_id: [k for k in options if hint.get((i, k))]
                  for i, options in by_agent.items()}
        paid_ok = all(sum(catalog.options[k].paid_min for k in shifts[infos[i].agent_id])
                      >= infos[i].min_paid_min for i in by_agent)
        if status == cp_model.UNKNOWN and paid_ok and hint_shifts is None:
            return SiteAssignment(shifts, "GREEDY", float("nan"), float("nan"),
                                  time.perf_counter() - t0, {}, callback.trace)
        return SiteAssignment({}, solver.status_name(status), float("nan"), float("nan"),
                              time.perf_counter() - t0, {}, callback.trace)
    best = first.read(solver, status)
    missing = solver.value(first.missing)
    left = min(time_limit_s - (time.perf_counter() - t0), SECOND_STAGE_SHARE * time_limit_s)
    if left > 0.2:
        second = _CountsModel(g, catalog, grp, infos, counts, scenario, history, by_agent,
                              soft=True)
        second.model.add(second.missing <= missing)
        status2, solver2 = second.solve({key: int(solver.value(v))
                                         for key, v in first.z.items()},
                                        left, num_workers, callback)
        if status2 in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            best = second.read(solver2, status2)
            # proven only when both stages are: the counts first, then the rest
            if status != cp_model.OPTIMAL and status2 == cp_model.OPTIMAL:
                best.status = "FEASIBLE"
    best.seconds = time.perf_counter() - t0
    best.trace = callback.trace
    return best


#: shares of a group's time for the first stage (the counts alone; it usually proves
#: optimality well before) and at most for the second (fairness and preferences); time
#: not used goes to the groups after it
FIRST_STAGE_SHARE = 0.8
SECOND_STAGE_SHARE = 0.25


class _CountsModel:
    """
    One group's assignment model: hard rules per agent, a missing and an extra shift
    count per option (``missing`` is their weighted sum), and with ``soft`` the spread
    of nights and weekends and the agents' preferences.
    """

    def __init__(self, g, catalog, grp, infos, counts, scenario, history, by_agent, *,
                 soft: bool):
        self.infos, self.by_agent = infos, by_agent
        self.seed = scenario.roster.random_seed
        model = self.model = cp_model.CpModel()
        dates = catalog.dates(grp.site)
        self.z = z = {(i, k): model.new_bool_var(f"z[{infos[i].agent_id},{k}]")
                      for i, options in by_agent.items() for k in options}
        self.penalty_vars = penalty_vars = {
            "missing shifts": [], "extra shifts": [], "night spread": [],
            "weekend spread": [], "preferences": [], "split days off": [],
        }
        # keep the aggregate's counts: a missing shift costs much, an extra one little
        for k in sorted({k for options in by_agent.values() for k in options}):
            n_k = sum(z[(i, k)] for i in grp.members if (i, k) in z)
            target = counts.get((g, k), 0)
            hours = catalog.options[k].paid_min / 60.0
            miss = model.new_int_var(0, target, f"miss[{k}]")
            extra = model.new_int_var(0, grp.size, f"extra[{k}]")
            model.add(n_k + miss - extra == target)
            penalty_vars["missing shifts"].append((miss, int(round(MISS_PER_H * hours * SCALE))))
            penalty_vars["extra shifts"].append((extra, int(round(EXTRA_PER_H * hours * SCALE))))
        self.missing = sum(w * e for e, w in penalty_vars["missing shifts"])
        for i, options in by_agent.items():
            add_agent_rules(model, infos[i], [z[(i, k)] for k in options], options, catalog,
                            dates, scenario, history, penalty_vars if soft else None)
        if soft:
            add_spread_terms(model, grp.members, infos, by_agent, z, catalog,
                             scenario.roster.weights, penalty_vars)
        terms = [(e, w) for group_terms in penalty_vars.values() for e, w in group_terms if w]
        model.minimize(sum(w * e for e, w in terms))

    def solve(self, hint: dict, time_limit_s: float, num_workers: int, callback):
        for key, var in self.z.items():
            self.model.add_hint(var, hint.get(key, 0))
        solver = cpsat_parameters(cp_model.CpSolver(), time_limit_s=time_limit_s,
                                  num_workers=num_workers, random_seed=self.seed)
        return solver.solve(self.model, callback), solver

    def read(self, solver, status) -> SiteAssignment:
        shifts = {self.infos[i].agent_id: [k for k in options if solver.value(self.z[(i, k)])]
                  for i, options in self.by_agent.items()}
        penalties = {label: sum(solver.value(e) * w for e, w in group_terms) / SCALE
                     for label, group_terms in self.penalty_vars.items()}
        return SiteAssignment(shifts, solver.status_name(status), solver.objective_value / SCALE,
                              solver.best_objective_bound / SCALE, 0.0, penalties, [])


def add_agent_rules(model: cp_model.CpModel, a: AgentInfo, zs: list, options: list[int],
                    catalog: Catalog, dates: list[dt.date], scenario: Scenario,
                    history: History, penalty_vars: dict[str, list] | None) -> None:
    """
    One agent's hard rules on its shift booleans ``zs`` (one per option of ``options``)
    and its soft goals (preferences, days off together) appended to ``penalty_vars``
    (``None`` keeps the hard rules alone):
    one shift per local date, working days and paid minutes of the contract, nights,
    rest in real time between consecutive dates, consecutive days with last week's streak.
    """
    rules = scenario.roster.rules
    weights = scenario.roster.weights
    w0 = scenario.planning.start_utc
    rest_min = rules.min_rest_h * 60
    z = dict(zip(options, zs, strict=True))
    per_date: dict[dt.date, list[int]] = {d: [] for d in dates}
    for k in options:
        per_date[catalog.options[k].date].append(k)
    works = {}
    # one shift per site-local date
    for d in dates:
        w = model.new_bool_var(f"w[{a.agent_id},{d}]")
        model.add(sum(z[k] for k in per_date[d]) == w)
        works[d] = w
    # working days and paid minutes of the contract
    model.add(sum(works.values()) <= a.max_shifts)
    paid = sum(catalog.options[k].paid_min * z[k] for k in options)
    model.add(paid >= a.min_paid_min)
    model.add(paid <= a.max_paid_min)
    # night shifts: only for night_ok agents (filtered), at most N a week
    nights = [z[k] for k in options if catalog.options[k].night]
    if nights:
        model.add(sum(nights) <= rules.max_nights_week)
    # at least min_rest_h between shifts on consecutive local dates (real time):
    # a shift excludes every shift of the day before that ends too late for it
    for d in dates:
        nxt = d + dt.timedelta(days=1)
        if nxt not in per_date or not per_date[d] or not per_date[nxt]:
            continue
        ends = {k: _minutes(catalog.options[k].end_utc, w0) for k in per_date[d]}
        for k2 in per_date[nxt]:
            start = _minutes(catalog.options[k2].start_utc, w0)
            clash = [z[k] for k, end in ends.items() if start - end < rest_min]
            if clash:
                model.add_at_most_one(clash + [z[k2]])
    # at most max_consecutive_days in a row, the previous week's streak included
    worked_before = history.streak_dates.get(a.agent_id, set())
    span = rules.max_consecutive_days + 1
    first = dates[0]
    extended = [first - dt.timedelta(days=j) for j in range(span - 1, 0, -1)] + dates
    for s in range(len(extended) - span + 1):
        window = extended[s:s + span]
        fixed = sum(1 for d in window if d in worked_before)
        terms = [works[d] for d in window if d >= first and d not in worked_before]
        if terms and fixed + len(terms) > rules.max_consecutive_days:
            model.add(sum(terms) <= rules.max_consecutive_days - fixed)
    if penalty_vars is None:
        return  # the hard rules only
    # preferences: start band and wished days off
    misses = [z[k] for k in options
              if not preference_ok(catalog.options[k], a.preferred_shift)
              or WEEKDAYS[catalog.options[k].date.weekday()] in a.wished_days_off]
    if misses:
        penalty_vars["preferences"].append((sum(misses), int(weights.preference * SCALE)))
    # days off together where possible: one pair of consecutive dates off
    if len(dates) - a.max_shifts < 2:
        return
    pairs = []
    for d0, d1 in zip(dates[:-1], dates[1:], strict=True):
        both = model.new_bool_var(f"off2[{a.agent_id},{d0}]")
        model.add_implication(both, works[d0].Not())
        model.add_implication(both, works[d1].Not())
        pairs.append(both)
    if pairs:
        split = model.new_bool_var(f"split[{a.agent_id}]")
        model.add_bool_or(pairs + [split])
        penalty_vars["split days off"].append((split, int(weights.split_days_off * SCALE)))


def add_spread_terms(model: cp_model.CpModel, members: list[int], infos: list[AgentInfo],
                     by_agent: dict[int, list[int]], z: dict, catalog: Catalog, weights,
                     penalty_vars: dict[str, list],
                     others: dict[str, list[int]] | None = None) -> None:
    """
    Fairness among ``members``: the spread (max - min) of nights (night_ok agents)
    and of weekend days, weighted into ``penalty_vars``. ``others`` holds the fixed
    counts of the rest of the group per flag ("night" of its night_ok agents,
    "weekend"), so the spread is the whole group's.
    """
    for label, flag, weight, who in (
        ("night spread", "night", weights.night_spread,
         [i for i in members if infos[i].night_ok]),
        ("weekend spread", "weekend", weights.weekend_spread, members),
    ):
        who = [i for i in who if by_agent[i]]
        fixed = (others or {}).get(flag, [])
        if len(who) + len(fixed) < 2 or not who:
            continue
        per_agent = [sum(z[(i, k)] for k in by_agent[i] if getattr(catalog.options[k], flag))
                     for i in who] + list(fixed)
        hi = model.new_int_var(0, 8, f"{flag}_max")
        lo = model.new_int_var(0, 8, f"{flag}_min")
        model.add_max_equality(hi, per_agent)
        model.add_min_equality(lo, per_agent)
        penalty_vars[label].append((hi - lo, int(round(weight * SCALE))))


def _greedy_hint(catalog, groups, infos, site_groups, by_agent, counts, rules, history, w0):
    """Hand the counts out date by date to the agents who most need hours."""
    rest_min = rules.min_rest_h * 60
    hint = {}
    allowed = {i: set(options) for i, options in by_agent.items()}
    state = {i: {"paid": 0, "shifts": 0, "nights": 0, "dates": set(), "last_end": None,
                 "spans": []}
             for g in site_groups for i in groups[g].members}
    for i in state:
        last = history.last_end_utc.get(infos[i].agent_id)
        if last is not None:
            state[i]["spans"].append((last - 10**6, last))
        state[i]["before"] = history.streak_dates.get(infos[i].agent_id, set())
    for g in site_groups:
        members = groups[g].members
        todo = sorted(((catalog.options[k].start_utc, k, n) for (gg, k), n in counts.items()
                       if gg == g and n > 0))
        for _, k, n in todo:
            o = catalog.options[k]
            start, end = _minutes(o.start_utc, w0), _minutes(o.end_utc, w0)
            for _ in range(n):
                best, best_key = None, None
                for i in members:
                    a, s = infos[i], state[i]
                    if k not in allowed[i] or not _fits(a, s, o, start, end, rules, rest_min):
                        continue
                    # best fit: the agent whose remaining paid time per remaining shift
                    # is closest to this shift's length (long shifts to full-timers)
                    slots = max(a.max_shifts - s["shifts"], 1)
                    per_slot = (a.max_paid_min - s["paid"]) / slots
                    key = (-abs(per_slot - o.paid_min), a.max_paid_min - s["paid"])
                    if best_key is None or key > best_key:
                        best, best_key = i, key
                if best is None:
                    break
                _take(state[best], o, start, end)
                hint[(best, k)] = 1
    # agents still short of their contract minimum take more of their options
    for g in site_groups:
        for i in groups[g].members:
            a, s = infos[i], state[i]
            for k in sorted(by_agent[i], key=lambda k: -catalog.options[k].paid_min):
                if s["paid"] >= a.min_paid_min:
                    break
                o = catalog.options[k]
                start, end = _minutes(o.start_utc, w0), _minutes(o.end_utc, w0)
                if _fits(a, s, o, start, end, rules, rest_min):
                    _take(s, o, start, end)
                    hint[(i, k)] = 1
    return hint


def _take(s: dict, o, start: int, end: int) -> None:
    s["paid"] += o.paid_min
    s["shifts"] += 1
    s["nights"] += int(o.night)
    s["dates"].add(o.date)
    s["spans"].append((start, end))
    s["last_end"] = max(s["last_end"] or end, end)


def _fits(a: AgentInfo, s: dict, o, start: int, end: int, rules, rest_min: float) -> bool:
    """
    Can agent ``a`` (state ``s``: paid, shifts, nights, dates, spans, before) also take
    shift ``o`` (``start``..``end`` in minutes after the week start) under every rule?
    """
    if o.date in s["dates"] or o.date in s["before"] or s["shifts"] >= a.max_shifts:
        return False
    if not a.available(o.date) or (o.night and not a.night_ok):
        return False
    if s["paid"] + o.paid_min > a.max_paid_min:
        return False
    if o.night and s["nights"] >= rules.max_nights_week:
        return False
    for s0, e0 in s["spans"]:
        if start < e0 + rest_min and s0 < end + rest_min:
            return False
    dates = sorted(s["dates"] | {o.date} | s["before"])
    run = longest = 1
    for d0, d1 in zip(dates, dates[1:], strict=False):
        run = run + 1 if (d1 - d0).days == 1 else 1
        longest = max(longest, run)
    return longest <= rules.max_consecutive_days


def diagnose_agents(catalog: Catalog, infos: list[AgentInfo], scenario: Scenario,
                    history: History, agent_ids: list[str] | None = None, *,
                    quick: bool = False) -> list[str]:
    """
    Agents who cannot keep the hard rules even alone with every shift of their site,
    each with the rule in the way and what to relax. ``quick`` only checks that the
    contract minimum is within reach of the workable days (no solver).
    """
    rules = scenario.roster.rules
    w0 = scenario.planning.start_utc
    out = []
    for a in infos:
        if agent_ids is not None and a.agent_id not in agent_ids:
            continue
        options = _candidates(catalog, a, set(catalog.by_site[a.site]), history, w0,
                              rules.min_rest_h * 60, set())
        dates = sorted({catalog.options[k].date for k in options})
        longest = max((catalog.options[k].paid_min for k in options), default=0)
        reachable = min(len(dates), a.max_shifts) * longest
        if a.min_paid_min > reachable:
            out.append(
                f"agent {a.agent_id} ({a.site}): the contract minimum of "
                f"{a.min_paid_min / 60:.1f} h this week cannot be reached: "
                f"{min(len(dates), a.max_shifts)} workable day(s) of at most {longest / 60:.1f} h "
                f"(rules: availability, min_days_off={rules.min_days_off}, rest after the "
                "previous week); lower min_hours_week, add availability or a longer template"
            )
            continue
        if quick:
            continue
        model = cp_model.CpModel()
        z = {k: model.new_bool_var(str(k)) for k in options}
        for d in dates:
            model.add(sum(z[k] for k in options if catalog.options[k].date == d) <= 1)
        model.add(sum(z.values()) <= a.max_shifts)
        paid = sum(catalog.options[k].paid_min * z[k] for k in options)
        model.add(paid >= a.min_paid_min)
        model.add(paid <= a.max_paid_min)
        for k1 in options:
            o1 = catalog.options[k1]
            for k2 in options:
                o2 = catalog.options[k2]
                if o2.date == o1.date + dt.timedelta(days=1) and \
                        (o2.start_utc - o1.end_utc).total_seconds() / 60 < rules.min_rest_h * 60:
                    model.add_bool_or([z[k1].Not(), z[k2].Not()])
        solver = cpsat_parameters(cp_model.CpSolver(), time_limit_s=5, num_workers=1)
        if solver.solve(model) == cp_model.INFEASIBLE:
            out.append(
                f"agent {a.agent_id} ({a.site}): no week of shifts keeps rest "
                f"({rules.min_rest_h:g} h), days off ({rules.min_days_off}) and the contract "
                f"({a.min_paid_min / 60:.1f}-{a.max_paid_min / 60:.1f} h) together; relax "
                "min_hours_week or the rest rule, or add templates"
            )
    return out


def raise_infeasible(problems: list[str]) -> None:
    raise RosterInfeasible(
        "no roster can satisfy the hard rules for these agents:", problems
    )
