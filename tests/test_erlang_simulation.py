"""
wfm.erlang against a discrete-event simulation (tests/sim_queue.py) of M/M/N and M/M/N+M.

For each setting the formula must lie inside the simulation's 95 % confidence interval
(batch means) for service level, ASA and (Erlang A) abandon rate, and the service level
within 1.5 points of the simulated one. A 95 % interval misses the truth one time in
20 by chance (over the 30-odd intervals of the table, one or two misses are expected),
so a setting that misses is simulated once more with a fresh seed and must agree
then: a correct formula fails that two-stage check about one time in 400 per measure.
A few small settings run in ``make test``; the whole table (2 to 500 Erlangs) is
marked slow. Seeds are fixed (the setting's position, then 1000 + position), so a run
is reproducible.

``python -m tests.test_erlang_simulation`` prints the agreement table.
"""

from __future__ import annotations

import math

import pytest

from tests.sim_queue import simulate
from wfm import erlang

#: (traffic_erl, agents, aht_s, answer_target_s, patience_s or None, simulated contacts)
SETTINGS = [
    (2.0, 4, 180.0, 20.0, None, 400_000),
    (5.0, 7, 240.0, 20.0, None, 400_000),
    (10.0, 14, 180.0, 20.0, None, 600_000),
    (25.0, 30, 300.0, 20.0, None, 1_000_000),
    (50.0, 57, 200.0, 20.0, None, 1_500_000),
    (100.0, 110, 180.0, 30.0, None, 2_000_000),
    (200.0, 214, 240.0, 20.0, None, 3_000_000),
    (500.0, 520, 180.0, 20.0, None, 4_000_000),
    (3.0, 4, 180.0, 20.0, 120.0, 400_000),
    (10.0, 11, 180.0, 20.0, 180.0, 600_000),
    (40.0, 40, 300.0, 20.0, 300.0, 1_000_000),
    (100.0, 98, 180.0, 20.0, 240.0, 2_000_000),
    (500.0, 495, 180.0, 20.0, 600.0, 4_000_000),
]
FAST = {0, 2, 8}


def _label(setting) -> str:
    a, n, h, t, p, _ = setting
    model = "C" if p is None else f"A patience {p:g} s"
    return f"{a:g} Erl, {n} agents, AHT {h:g} s, {t:g} s target, Erlang {model}"


def compare(index: int, *, scale: float = 1.0, seed: int | None = None) -> dict:
    """Formula and simulation of SETTINGS[index]: one row of the agreement table."""
    a, n, h, t, p, contacts = SETTINGS[index]
    sim = simulate(a, n, h, t, patience_s=p, contacts=int(contacts * scale),
                   seed=index if seed is None else seed)
    if p is None:
        sl = erlang.service_level(a, n, h, t)
        asa = erlang.average_speed_of_answer(a, n, h)
        abandon = 0.0
    else:
        res = erlang.erlang_a(a, n, h, p, t)
        sl, asa, abandon = res.service_level, res.asa_s, res.abandon_rate
    return {"setting": _label(SETTINGS[index]), "sim": sim, "service_level": sl,
            "asa_s": asa, "abandon_rate": abandon}


def _misses(row: dict) -> list[str]:
    """The measures whose formula value lies outside the simulation's 95 % interval."""
    sim = row["sim"]
    out = []
    if not sim.service_level.contains(row["service_level"]):
        out.append("service_level")
    if not sim.asa_s.contains(row["asa_s"]):
        out.append("asa_s")
    if not math.isclose(row["abandon_rate"], 0.0) and not sim.abandon_rate.contains(
            row["abandon_rate"]):
        out.append("abandon_rate")
    return out


def _check(index: int, scale: float = 1.0) -> None:
    row = compare(index, scale=scale)
    assert abs(row["sim"].service_level.mean - row["service_level"]) <= 0.015, row
    missed = _misses(row)
    if missed:  # the two-stage check of the module docstring: one fresh replication
        again = compare(index, scale=scale, seed=1000 + index)
        assert not set(missed) & set(_misses(again)), (row, again)
        assert abs(again["sim"].service_level.mean - again["service_level"]) <= 0.015


@pytest.mark.parametrize("index", sorted(FAST), ids=lambda i: _label(SETTINGS[i]))
def test_formulas_agree_with_simulation_fast(index):
    _check(index, scale=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("index", [i for i in range(len(SETTINGS)) if i not in FAST],
                         ids=lambda i: _label(SETTINGS[i]))
def test_formulas_agree_with_simulation(index):
    _check(index)


def test_at_least_ten_settings_from_2_to_500_erlangs():
    loads = [s[0] for s in SETTINGS]
    assert len(SETTINGS) >= 10 and min(loads) <= 2 and max(loads) >= 500
    assert any(s[4] is None for s in SETTINGS) and any(s[4] is not None for s in SETTINGS)


def main() -> None:  # pragma: no cover - prints the table for the report
    print("| setting | measure | formula | simulated | 95 % CI | inside |")
    print("|---|---|---|---|---|---|")
    for i in range(len(SETTINGS)):
        row = compare(i)
        sim = row["sim"]
        measures = [("SL", row["service_level"], sim.service_level, 4),
                    ("ASA s", row["asa_s"], sim.asa_s, 2)]
        if SETTINGS[i][4] is not None:
            measures.append(("abandon", row["abandon_rate"], sim.abandon_rate, 4))
        for name, formula, est, digits in measures:
            print(f"| {row['setting']} | {name} | {formula:.{digits}f} | {est.mean:.{digits}f} "
                  f"| [{est.low:.{digits}f}, {est.high:.{digits}f}] | "
                  f"{'yes' if est.contains(formula) else 'NO'} |")


if __name__ == "__main__":  # pragma: no cover
    main()
