"""
The roster's coverage, agent by agent: which pool each shift serves in each interval.

The local-search steps (:mod:`wfm.roster.topup`, :mod:`wfm.roster.neighbourhood`) add,
swap and re-roster shifts and need to know, at every step, what one more agent of some
pools would save in each interval. The ledger keeps the count of agents per pool and
interval, and per shift the pools it serves, exactly, so taking a shift out and putting it
back leaves the counts as they were (an earlier version of the neighbourhood search
re-derived them and drifted: freeing and restoring every group once moved 259
pool-intervals and the shortage value by 3 %).
"""

from __future__ import annotations

import numpy as np

from wfm.roster.aggregate import Aggregate, Demand
from wfm.roster.allocate import lunch_offsets
from wfm.roster.catalog import Catalog


class Ledger:
    """
    The coverage of the roster, kept exactly: every shift's working intervals (its lunch
    taken out) and the pool it serves in each, so taking a week out and putting it back
    leaves the counts as they were. Filled from the aggregate LP's solution, its value
    (weighted shortage) is the LP's; shifts placed later go where they save most, one
    feasible allocation, so the LP with the same shifts is at most as high.

    An agent added to a pool that is already covered can still save service: an agent of
    a multi-language group serving that pool steps over to another of its pools that is
    short (an en-only agent takes the English calls so that an en+pt agent can take the
    Portuguese ones). The ledger counts and makes those one-step *hand-overs*; without
    them, en-only agents saw no value anywhere on the demo week while English was covered
    by multilingual agents whose other languages were short (55 agent-h over-coverage in
    English and 40 h of en-only contract time unused in one run).
    """

    def __init__(self, agg: Aggregate, dem: Demand):
        self.agg_ref = agg
        self.pools_of = agg.group_pools
        self.need = dem.pool_need(agg.need)
        self.count = np.zeros_like(self.need)
        self.weights = {(p, int(t)): dem.pool_weights(p, int(t), agg.need)
                        for p in range(self.need.shape[0])
                        for t in np.flatnonzero(self.need[p] > 0)}
        #: (agent, option) -> (intervals worked, pool served in each, group)
        self.entries: dict[tuple[str, int], tuple[np.ndarray, np.ndarray, int]] = {}
        n_groups = max(self.pools_of, default=-1) + 1
        #: agents of each multi-pool group serving each pool per interval
        self.multi = [g for g, pools in self.pools_of.items() if len(pools) > 1]
        self.serving = np.zeros((n_groups, *self.need.shape), dtype=np.int32)
        self.keys_of: dict[int, set] = {g: set() for g in range(n_groups)}
        #: hand-overs made since the last :meth:`commit`: (key, its chosen pools before)
        self.journal: list[tuple[tuple[str, int], np.ndarray]] = []
        #: what one more agent in pool p at t saves, kept up to date with ``count``
        self.next = np.zeros(self.need.shape)
        self._refresh_all()

    def _step(self, p: int, t: int, extra: int = 0) -> float:
        """What one more agent in pool p at t saves, ``extra`` agents already added."""
        w = self.weights.get((p, t))
        m = int(self.need[p, t] - self.count[p, t]) - extra
        return float(w[m - 1]) if w is not None and m > 0 else 0.0

    def _refresh_all(self) -> None:
        self.next[:] = 0.0
        for p, t in self.weights:
            self.next[p, t] = self._step(p, t)

    def _bump(self, p: int, t: int, delta: int) -> None:
        self.count[p, t] += delta
        self.next[p, t] = self._step(p, t)

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
                self.place(agent, k, ts, g, quota=quota)
        self.commit()

    def add_cost(self, p: int, t: int) -> float:
        """What one more agent in pool p at t saves (no hand-over)."""
        return float(self.next[p, t])

    def marginal(self, pools) -> np.ndarray:
        """Per interval, what one more agent of these pools saves, a hand-over included."""
        out = np.zeros(self.need.shape[1])
        for p in pools:
            np.maximum(out, self.next[p], out=out)
            for h in self.multi:
                can = self.serving[h, p] > 0
                if not can.any():
                    continue
                for q in self.pools_of[h]:
                    if q != p:
                        np.maximum(out, np.where(can, self.next[q], 0.0), out=out)
        return out

    def _best_move(self, pools, t: int, extra: dict, moved: dict):
        """The best way to add one agent of ``pools`` at ``t``: ``(saving, pool it
        serves, hand-over (group, from, to) or None)``; ``extra`` and ``moved`` are
        tentative changes to the counts and to who serves where."""
        best = (0.0, None, None)
        for p in pools:
            v = self._step(p, t, extra.get(p, 0))
            if v > best[0]:
                best = (v, p, None)
            for h in self.multi:
                if self.serving[h, p, t] + moved.get((h, p), 0) <= 0:
                    continue
                for q in self.pools_of[h]:
                    v = self._step(q, t, extra.get(q, 0)) if q != p else 0.0
                    if v > best[0]:
                        best = (v, p, (h, p, q))
        return best

    def gains(self, pools, t: int, limit: int) -> list[float]:
        """What the first, second, ... agent added at ``t`` saves (decreasing), each
        placed where it saves most, a hand-over included."""
        out: list[float] = []
        extra: dict[int, int] = {}
        moved: dict[tuple[int, int], int] = {}
        for _ in range(limit):
            v, p, hand = self._best_move(pools, t, extra, moved)
            if p is None:
                break
            out.append(v)
            if hand is None:
                extra[p] = extra.get(p, 0) + 1
            else:
                h, _, q = hand
                extra[q] = extra.get(q, 0) + 1
                moved[(h, p)] = moved.get((h, p), 0) - 1
                moved[(h, q)] = moved.get((h, q), 0) + 1
        return sorted(out, reverse=True)

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

    def place(self, agent: str, k: int, ts: np.ndarray, g: int, *, quota=None) -> None:
        """Agent ``agent`` of group ``g`` works ``ts`` on option ``k``: each interval in
        the pool the ``quota`` of the group still has room in (the LP's split), else
        where it saves most, handing over to a multi-language agent when that saves
        more."""
        pools = self.pools_of[g]
        ts = np.asarray(ts)
        chosen = np.full(len(ts), -1, dtype=int)
        for j, t in enumerate(ts):
            if not pools:
                break
            t = int(t)
            p, hand = None, None
            if quota is not None:  # filling: the LP's split, else the best pool
                if len(pools) > 1:
                    p = next((p for p in pools if quota.get((g, p, t), 0) > 0), None)
                    if p is not None:
                        quota[(g, p, t)] -= 1
            else:
                _, p, hand = self._best_move(pools, t, {}, {})
            if p is None:
                p = max(pools, key=lambda p: self.next[p, t])
            chosen[j] = p
            self.serving[g, p, t] += 1
            if hand is None or not self._hand_over(*hand, t):
                self._bump(p, t, 1)  # with a hand-over p's count stays: one in, one out
        self.entries[(agent, k)] = (ts, chosen, g)
        self.keys_of[g].add((agent, k))

    def _hand_over(self, h: int, p: int, q: int, t: int) -> bool:
        """One agent of group ``h`` serving ``p`` at ``t`` moves to ``q``."""
        for key in self.keys_of[h]:
            ts, chosen, _ = self.entries[key]
            j = int(np.searchsorted(ts, t))
            if j < len(ts) and ts[j] == t and chosen[j] == p:
                self.journal.append((key, chosen))
                chosen = chosen.copy()  # the journal keeps the old array
                chosen[j] = q
                self.entries[key] = (ts, chosen, h)
                self.serving[h, p, t] -= 1
                self.serving[h, q, t] += 1
                self._bump(q, t, 1)
                return True
        return False

    def take(self, agent: str, k: int) -> None:
        ts, chosen, g = self.entries.pop((agent, k))
        self.keys_of[g].discard((agent, k))
        for t, p in zip(ts, chosen, strict=True):
            if p >= 0:
                self._bump(int(p), int(t), -1)
                self.serving[g, p, t] -= 1

    def untake(self, key: tuple[str, int], entry) -> None:
        """Put back a shift :meth:`take` took out (``entry`` as it was): the exact
        reverse, the hand-overs made since untouched."""
        ts, chosen, g = entry
        for t, p in zip(ts, chosen, strict=True):
            if p >= 0:
                self._bump(int(p), int(t), 1)
                self.serving[g, p, t] += 1
        self.entries[key] = entry
        self.keys_of[g].add(key)

    def forget(self, keys) -> None:
        """Drop entries without touching the counts (a :meth:`restore` follows)."""
        for key in keys:
            entry = self.entries.pop(key, None)
            if entry is not None:
                self.keys_of[entry[2]].discard(key)

    def snapshot(self, keys):
        return (self.count.copy(), self.serving.copy(), len(self.journal),
                {key: self.entries[key] for key in keys})

    def restore(self, snap) -> None:
        """Back to ``snap``: its counts, its entries, and the hand-overs since undone."""
        count, serving, mark, entries = snap
        while len(self.journal) > mark:
            key, chosen = self.journal.pop()
            if key in self.entries:
                ts, _, h = self.entries[key]
                self.entries[key] = (ts, chosen, h)
        self.count, self.serving = count.copy(), serving.copy()
        for key, entry in entries.items():
            self.entries[key] = entry
            self.keys_of[entry[2]].add(key)
        self._refresh_all()

    def commit(self) -> None:
        """The hand-overs so far are kept (no snapshot before now is restored)."""
        self.journal.clear()

    def value(self) -> float:
        """Weighted shortage of the roster as allocated here."""
        total = 0.0
        for (p, t), w in self.weights.items():
            m = self.need[p, t] - self.count[p, t]
            if m > 0:
                total += float(w[:m].sum())
        return total
