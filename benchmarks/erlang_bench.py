"""
Benchmark of ``wfm.erlang.required_agents`` against the peer pyworkforce 0.5.1.

The same 10,000 intervals (contacts 5..2000 per 30 min, AHT 180..600 s, 80 % answered
in 20 s, seeded) go through both; the benchmark prints how many intervals get the same
agent count, both times and their ratio, all measured in this run. Then it times a
whole week of 30-minute intervals for 50 queues (16,800 intervals), once with daily
and weekly profiles (peaks drawn from the same range, so nights and weekends are
light) and once with every interval drawn like the 10,000.

Run ``make bench-erlang`` (installs pyworkforce into the venv without touching its
numpy, pandas or ortools); without pyworkforce the peer is skipped with a message.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from wfm import erlang  # noqa: E402

INTERVAL_S = 1800.0
ANSWER_S = 20.0
TARGET = 0.8
SEED = 2026

#: relative intraday shape of voice contacts by hour, peak = 1 (as the demo world's)
HOUR_SHAPE = np.array([
    0.10, 0.07, 0.05, 0.05, 0.06, 0.10, 0.20, 0.40, 0.65, 0.82, 0.92, 1.00,
    0.90, 0.84, 0.86, 0.82, 0.74, 0.62, 0.50, 0.42, 0.36, 0.30, 0.22, 0.15,
])
DAY_SHAPE = np.array([1.12, 1.04, 1.00, 0.98, 0.94, 0.55, 0.42])


def intervals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    contacts = rng.integers(5, 2001, n).astype(float)
    aht_s = np.round(rng.uniform(180.0, 600.0, n), 1)
    return contacts, aht_s


def profiled_week(queues: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Contacts per 30 min for a week of ``queues`` queues with daily/weekly profiles."""
    peak = rng.integers(5, 2001, queues).astype(float)
    offset_h = rng.integers(0, 24, queues)  # queues in different time zones
    aht = np.round(rng.uniform(180.0, 600.0, queues), 1)
    half_hours = np.arange(7 * 48)
    hour, day = (half_hours // 2) % 24, half_hours // 48
    shape = HOUR_SHAPE[(hour[None, :] + offset_h[:, None]) % 24] * DAY_SHAPE[day][None, :]
    noise = rng.uniform(0.9, 1.1, shape.shape)
    contacts = np.maximum(np.round(peak[:, None] * shape * noise), 0.0)
    return contacts.ravel(), np.repeat(aht, len(half_hours))


def ours(contacts: np.ndarray, aht_s: np.ndarray) -> np.ndarray:
    traffic = contacts * aht_s / INTERVAL_S
    return erlang.required_agents(traffic, aht_s, answer_target_s=ANSWER_S,
                                  target_service_level=TARGET)


def timed(func, *args, repeat: int = 7) -> tuple[float, object, float]:
    """Median wall time and median CPU time of ``repeat`` calls (after one warm-up
    call), and the result. CPU time is the process's own, so it is less sensitive to
    other jobs on a shared machine than wall time. [s]"""
    result = func(*args)
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        func(*args)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), result, statistics.median(cpu)


def peer(contacts: np.ndarray, aht_s: np.ndarray) -> np.ndarray:
    from pyworkforce.queuing import ErlangC

    out = np.empty(len(contacts))
    for i, (c, h) in enumerate(zip(contacts.tolist(), aht_s.tolist(), strict=True)):
        queue = ErlangC(transactions=c, aht=h, asa=ANSWER_S, interval=INTERVAL_S)
        out[i] = queue.required_positions(service_level=TARGET)["raw_positions"]
    return out


def main() -> int:
    rng = np.random.default_rng(SEED)
    contacts, aht_s = intervals(10_000, rng)
    print("wfm.erlang.required_agents vs pyworkforce ErlangC.required_positions")
    print("10,000 intervals: contacts 5..2000 per 30 min, AHT 180..600 s, 80 % in 20 s "
          f"(seed {SEED})")
    t0 = time.perf_counter()
    ours(contacts, aht_s)
    cold_s = time.perf_counter() - t0
    ours_s, agents, _ = timed(ours, contacts, aht_s)
    print(f"wfm:         {ours_s * 1e3:9.1f} ms  (median of 7; the first call of the process, "
          f"which also builds the table of exact anchors: {cold_s * 1e3:.1f} ms)")
    try:
        import pyworkforce  # noqa: F401
    except ImportError:
        print("pyworkforce is not installed: peer skipped (run `make bench-erlang`, which "
              "installs pyworkforce 0.5.1 for the benchmark)")
    else:
        t0 = time.perf_counter()
        theirs = peer(contacts, aht_s)
        peer_s = time.perf_counter() - t0
        # ours again, right after the peer, so both see the same machine load
        ours_again, _, _ = timed(ours, contacts, aht_s)
        ours_s = min(ours_s, ours_again)
        same = int(np.sum(theirs == agents))
        print(f"pyworkforce: {peer_s * 1e3:9.1f} ms  (one pass)")
        print(f"same agent count on {same:,} of {len(agents):,} intervals")
        if same < len(agents):
            diff = np.flatnonzero(theirs != agents)[:5]
            for i in diff:
                print(f"  differs: contacts {contacts[i]:g}, AHT {aht_s[i]:g} s: wfm "
                      f"{agents[i]:g}, pyworkforce {theirs[i]:g}; SL at wfm's count "
                      f"{erlang.service_level(contacts[i] * aht_s[i] / INTERVAL_S, agents[i], aht_s[i], ANSWER_S):.6f}")  # noqa: E501
        print(f"speed ratio: wfm is {peer_s / ours_s:,.0f} times faster (goal: >= 100)")

    print("\na week of 30-minute intervals for 50 queues (16,800 intervals):")
    week_c, week_h = profiled_week(50, rng)
    week_s, _, week_cpu = timed(ours, week_c, week_h, repeat=15)
    traffic = week_c * week_h / INTERVAL_S
    print(f"  daily/weekly profiles (mean {traffic.mean():.0f} Erl, max {traffic.max():.0f} Erl): "
          f"{week_s * 1e3:.1f} ms wall, {week_cpu * 1e3:.1f} ms CPU (medians of 15; goal "
          "< 10 ms)")
    flat_c, flat_h = intervals(50 * 336, rng)
    flat_s, _, flat_cpu = timed(ours, flat_c, flat_h, repeat=15)
    traffic = flat_c * flat_h / INTERVAL_S
    print(f"  every interval drawn like the 10,000 (mean {traffic.mean():.0f} Erl): "
          f"{flat_s * 1e3:.1f} ms wall, {flat_cpu * 1e3:.1f} ms CPU (medians of 15)")
    if hasattr(os, "getloadavg"):
        print(f"machine load average (1 min) during the run: {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
