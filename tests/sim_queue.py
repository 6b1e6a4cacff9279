"""
Discrete-event simulation of M/M/N and M/M/N+M queues, written for the tests.

An independent check of :mod:`wfm.erlang`: it shares no code with it. Contacts arrive
as a Poisson process, handle times are exponential, patience (M/M/N+M) is
exponential; service is first come, first served. The event list is a heap of the
times at which each agent becomes free: an arrival takes the earliest free agent at
``max(arrival, free)``; under abandonment a contact whose wait would exceed its
patience leaves and holds no agent (this is exact for FCFS: every earlier contact has
already either taken an agent or left).

Estimates come with 95 % confidence intervals from batch means: after a warm-up, the
run is cut into ``batches`` consecutive batches of equal numbers of contacts; the
interval is mean +- t(0.975, batches - 1) * sd / sqrt(batches).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

# t(0.975, df) for df = batches - 1
_T975 = {4: 2.776, 9: 2.262, 14: 2.145, 19: 2.093, 24: 2.064, 29: 2.045, 39: 2.023,
         49: 2.010}


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


@dataclass(frozen=True)
class SimResult:
    service_level: Estimate
    asa_s: Estimate
    abandon_rate: Estimate
    contacts: int


def _estimate(values: np.ndarray) -> Estimate:
    mean = float(values.mean())
    sd = float(values.std(ddof=1))
    t = _T975[len(values) - 1]
    half = t * sd / math.sqrt(len(values))
    return Estimate(mean, mean - half, mean + half)


def simulate(traffic_erl: float, agents: int, aht_s: float, answer_target_s: float, *,
             patience_s: float | None = None, contacts: int = 200_000, batches: int = 20,
             warmup: float = 0.05, seed: int = 0) -> SimResult:
    """
    Simulate ``contacts`` arrivals (after a warm-up) and estimate service level (answered
    within the target, over offered), ASA (mean wait of answered contacts) and the
    abandon rate, each with a 95 % batch-means interval.
    """
    rng = np.random.default_rng(seed)
    total = int(contacts * (1 + warmup))
    rate = traffic_erl / aht_s  # arrivals per second
    arrivals = np.cumsum(rng.exponential(1.0 / rate, total))
    services = rng.exponential(aht_s, total)
    patience = (rng.exponential(patience_s, total) if patience_s is not None
                else np.full(total, np.inf))
    free = [0.0] * agents
    heapq.heapify(free)
    waits = np.empty(total)
    served = np.empty(total, dtype=bool)
    arr_l, svc_l, pat_l = arrivals.tolist(), services.tolist(), patience.tolist()
    heappushpop = heapq.heapreplace
    for i in range(total):
        t = arr_l[i]
        earliest = free[0]
        wait = earliest - t if earliest > t else 0.0
        if wait > pat_l[i]:
            waits[i] = pat_l[i]
            served[i] = False
            continue
        waits[i] = wait
        served[i] = True
        heappushpop(free, t + wait + svc_l[i])
    skip = total - contacts
    waits, served = waits[skip:], served[skip:]
    size = contacts // batches
    sl, asa, ab = [], [], []
    for b in range(batches):
        w = waits[b * size:(b + 1) * size]
        s = served[b * size:(b + 1) * size]
        sl.append(np.mean(s & (w <= answer_target_s)))
        asa.append(w[s].mean() if s.any() else np.nan)
        ab.append(1.0 - s.mean())
    return SimResult(_estimate(np.array(sl)), _estimate(np.array(asa)),
                     _estimate(np.array(ab)), contacts)
