"""The dive from the aggregate LP to whole shift counts: whole, within every row of the
aggregate (rest included), and not below the LP it starts from."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from tests.roster_world import aggregate_of, requirement, small_agents, small_scenario
from wfm.roster.dive import _cap_index, _packing_rows, _round_batch, dive

# the module (wfm.roster exports a function of the same name)
dive_module = importlib.import_module("wfm.roster.dive")


@pytest.fixture(scope="module")
def model():
    scenario = small_scenario()
    agents = small_agents(n_lisbon=6, n_boston=5).assign(night_ok=True)
    req = requirement(scenario, {("en", "voice"): 5, ("de", "voice"): 3},
                      {"en": "America/New_York", "de": "Europe/Berlin"})
    catalog, _, _, _, agg = aggregate_of(scenario, agents, req)
    return agg, catalog


def test_the_dive_ends_with_whole_counts_that_keep_every_row(model):
    agg, catalog = model
    compiled = agg.lm.compile()  # rest rows included
    lp = compiled.solve(np.asarray(agg.lm.lb, float), np.asarray(agg.lm.ub, float), 60)
    assert lp.ok
    result = dive(agg, catalog, lp.x, time_budget_s=30, compiled=compiled)
    assert result.x and all(isinstance(n, int) and n > 0 for n in result.x.values())
    # the counts, lunches and allocation it returns satisfy every row of the aggregate
    x = result.values
    for v, key in ((agg.x[key], key) for key in agg.x):
        assert x[v] == pytest.approx(result.x.get(key, 0), abs=1e-6)
    for idx, coef, lo, hi in agg.lm.rows:
        value = float(np.dot(coef, x[idx]))
        assert lo - 1e-6 <= value <= hi + 1e-6
    assert result.objective >= lp.objective - 1e-6
    assert result.trace[-1][1] == 0  # no fractional count left


def test_a_rounding_batch_never_rounds_past_a_cap(model):
    agg, _ = model
    caps = _packing_rows(agg)
    rows_of = _cap_index(caps)
    xv = np.array(list(agg.x.values()))
    rng = np.random.default_rng(0)
    lb, ub = np.asarray(agg.lm.lb, float), np.asarray(agg.lm.ub, float)
    for _ in range(20):
        frac = rng.uniform(0.01, 0.99, len(xv))
        floor = np.zeros(len(xv))
        order = np.argsort(-frac)
        new_lb, new_ub = _round_batch(order, len(xv), frac, floor, xv, lb, ub, caps, rows_of)
        for idx, coef, hi in caps:
            assert float(np.dot(coef, new_lb[idx])) <= hi + 1e-9
        up = new_lb[xv] > 0
        assert (frac[up] >= 0.35).all()  # only decided counts go up ...
        assert (new_ub[xv][~up] == 0).all()  # ... every other one is fixed at its floor


def test_branch_and_bound_keeps_the_variables_it_is_not_asked_to_make_whole():
    # min x + y with 2x + 2y >= 3: the LP reaches 1.5; with x whole it still does
    # (y takes the half), with both whole it needs 2
    from wfm.roster.linear import LinearModel

    lm = LinearModel()
    x, y = lm.var(0, 5, "x", cost=1.0), lm.var(0, 5, "y", cost=1.0)
    lm.add([x, y], [2, 2], lo=3, name="cover")
    compiled = lm.compile()
    bounds = np.asarray(lm.lb, float), np.asarray(lm.ub, float)
    one = compiled.solve_mip(*bounds, np.array([x]), 10)
    both = compiled.solve_mip(*bounds, np.array([x, y]), 10)
    assert one.optimal and one.objective == pytest.approx(1.5)
    assert one.x[x] == pytest.approx(round(one.x[x]))
    assert both.optimal and both.objective == pytest.approx(2.0)
    assert both.bound == pytest.approx(2.0)


def test_the_end_game_rounds_no_worse_than_the_dive_steps(model, monkeypatch):
    # the small week has fewer fractional counts than END_GAME_AT from the start: branch
    # and bound decides them all; with it off, the dive's steps round them
    agg, catalog = model
    compiled = agg.lm.compile()
    lp = compiled.solve(np.asarray(agg.lm.lb, float), np.asarray(agg.lm.ub, float), 60)
    with_end_game = dive(agg, catalog, lp.x, time_budget_s=30, compiled=compiled)
    monkeypatch.setattr(dive_module, "END_GAME_AT", 0)
    steps_only = dive(agg, catalog, lp.x, time_budget_s=30, compiled=compiled)
    assert with_end_game.iterations == 0 < steps_only.iterations
    assert lp.objective - 1e-6 <= with_end_game.objective <= steps_only.objective + 1e-6
