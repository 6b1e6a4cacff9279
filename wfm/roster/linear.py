"""
A small linear-model description that feeds two solvers: CP-SAT for the integer
model and HiGHS (through scipy) for its LP relaxation, the lower bound the roster
report compares against. Building the model once guarantees the bound and the
solution come from the very same constraints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp


@dataclass
class LinearModel:
    lb: list[float] = field(default_factory=list)
    ub: list[float] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    objective: dict[int, float] = field(default_factory=dict)
    rows: list[tuple[np.ndarray, np.ndarray, float, float]] = field(default_factory=list)
    row_names: list[str] = field(default_factory=list)

    def var(self, lb: float, ub: float, name: str, cost: float = 0.0) -> int:
        self.lb.append(lb)
        self.ub.append(ub)
        self.names.append(name)
        index = len(self.lb) - 1
        if cost:
            self.objective[index] = cost
        return index

    def add(self, indices, coefs, lo: float = -np.inf, hi: float = np.inf,
            name: str = "") -> None:
        indices = np.asarray(indices, dtype=np.int64)
        coefs = np.asarray(coefs, dtype=float)
        if len(indices) == 0:
            if lo > 0 or hi < 0:
                raise ValueError(f"empty row {name!r} cannot hold {lo} <= 0 <= {hi}")
            return
        self.rows.append((indices, coefs, lo, hi))
        self.row_names.append(name)

    @property
    def n_vars(self) -> int:
        return len(self.lb)

    # -- the LP relaxation ----------------------------------------------------------------
    def compile(self, skip_rows: tuple[str, ...] = ()) -> CompiledLP:
        """Matrices for HiGHS, built once; rows whose name starts with one of
        ``skip_rows`` are left out (a relaxation: its optimum is still a lower bound)."""
        return CompiledLP(self, skip_rows)

    def solve_lp(self, time_limit_s: float = 60.0) -> LpResult:
        """The LP relaxation with HiGHS: its optimum is a lower bound of the integer model."""
        return self.compile().solve(np.asarray(self.lb, float), np.asarray(self.ub, float),
                                    time_limit_s)

    # -- the integer model ----------------------------------------------------------------
    def to_cpsat(self, scale: float) -> tuple[cp_model.CpModel, list]:
        """The integer model in CP-SAT; objective coefficients are multiplied by ``scale``
        and rounded (CP-SAT needs integers); constraint coefficients must be integers."""
        model = cp_model.CpModel()
        variables = [model.new_int_var(int(np.ceil(lo)), int(np.floor(hi)), name)
                     for lo, hi, name in zip(self.lb, self.ub, self.names, strict=True)]
        for (idx, coef, lo, hi), name in zip(self.rows, self.row_names, strict=True):
            if np.any(coef != np.round(coef)):
                raise ValueError(f"row {name!r} has non-integer coefficients")
            expr = cp_model.LinearExpr.weighted_sum([variables[i] for i in idx],
                                                    [int(c) for c in coef])
            if lo == hi:
                model.add(expr == int(lo))
            else:
                if lo > -np.inf:
                    model.add(expr >= int(np.ceil(lo)))
                if hi < np.inf:
                    model.add(expr <= int(np.floor(hi)))
        terms = [(variables[i], int(round(v * scale))) for i, v in self.objective.items()]
        terms = [(var, c) for var, c in terms if c]
        model.minimize(cp_model.LinearExpr.weighted_sum([t[0] for t in terms],
                                                        [t[1] for t in terms]))
        return model, variables

    def objective_value(self, x: np.ndarray) -> float:
        return float(sum(v * x[i] for i, v in self.objective.items()))


class CompiledLP:
    """A linear model as sparse matrices for scipy's HiGHS interior-point solver."""

    def __init__(self, lm: LinearModel, skip_rows: tuple[str, ...] = ()):
        n = lm.n_vars
        self.c = np.zeros(n)
        for i, v in lm.objective.items():
            self.c[i] = v
        ub_rows, ub_rhs, eq_rows, eq_rhs = [], [], [], []
        #: row name -> position in the inequality block and its sign there
        self.ub_index: dict[str, tuple[int, int]] = {}
        for (idx, coef, lo, hi), name in zip(lm.rows, lm.row_names, strict=True):
            if skip_rows and name.startswith(skip_rows):
                continue
            if lo == hi:
                eq_rows.append((idx, coef))
                eq_rhs.append(hi)
                continue
            if hi < np.inf:
                self.ub_index[name] = (len(ub_rows), 1)
                ub_rows.append((idx, coef))
                ub_rhs.append(hi)
            if lo > -np.inf:
                self.ub_index[name] = (len(ub_rows), -1)
                ub_rows.append((idx, -coef))
                ub_rhs.append(-lo)

        def matrix(rows):
            if not rows:
                return None
            data = np.concatenate([r[1] for r in rows])
            cols = np.concatenate([r[0] for r in rows])
            ptr = np.cumsum([0] + [len(r[0]) for r in rows])
            return sparse.csr_matrix((data, cols, ptr), shape=(len(rows), n))

        self.a_ub, self.b_ub = matrix(ub_rows), np.array(ub_rhs) if ub_rows else None
        self.a_eq, self.b_eq = matrix(eq_rows), np.array(eq_rhs) if eq_rows else None

    def solve(self, lb: np.ndarray, ub: np.ndarray, time_limit_s: float = 60.0) -> LpResult:
        t0 = time.perf_counter()
        result = linprog(
            self.c, A_ub=self.a_ub, b_ub=self.b_ub, A_eq=self.a_eq, b_eq=self.b_eq,
            bounds=np.column_stack([lb, ub]), method="highs-ipm",
            options={"time_limit": max(float(time_limit_s), 1.0), "presolve": True},
        )
        ok = result.status == 0
        duals = None
        if ok and self.a_ub is not None and getattr(result, "ineqlin", None) is not None:
            duals = np.asarray(result.ineqlin.marginals)
        return LpResult(ok, float(result.fun) if ok else float("nan"),
                        result.x if ok else None, time.perf_counter() - t0, result.message,
                        duals)

    def solve_mip(self, lb: np.ndarray, ub: np.ndarray, integer: np.ndarray,
                  time_limit_s: float = 60.0, rel_gap: float = 1e-4) -> MipResult:
        """
        The model with the variables ``integer`` (indices) whole: HiGHS branch and bound
        (scipy's ``milp``, dual simplex) until optimal within ``rel_gap`` or the time
        limit. The result has the best solution found (``x`` is None if none was) and the
        proven lower bound.
        """
        t0 = time.perf_counter()
        constraints = []
        if self.a_ub is not None:
            constraints.append(LinearConstraint(self.a_ub, -np.inf, self.b_ub))
        if self.a_eq is not None:
            constraints.append(LinearConstraint(self.a_eq, self.b_eq, self.b_eq))
        integrality = np.zeros(len(self.c))
        integrality[np.asarray(integer, dtype=np.int64)] = 1
        result = milp(self.c, constraints=constraints, integrality=integrality,
                      bounds=Bounds(lb, ub),
                      options={"time_limit": max(float(time_limit_s), 1.0),
                               "mip_rel_gap": rel_gap})
        x = result.get("x")
        bound = result.get("mip_dual_bound")
        return MipResult(x is not None, result.status == 0,
                         float(result.fun) if x is not None else float("nan"), x,
                         float("nan") if bound is None else float(bound),
                         time.perf_counter() - t0, result.message)

    def dual(self, result: LpResult, name: str) -> float:
        """How much the objective falls per unit the named row is relaxed (>= 0)."""
        if result.duals is None or name not in self.ub_index:
            return 0.0
        pos, _ = self.ub_index[name]
        return float(-result.duals[pos])


@dataclass
class LpResult:
    ok: bool
    objective: float
    x: np.ndarray | None
    seconds: float
    message: str
    duals: np.ndarray | None = None


@dataclass
class MipResult:
    ok: bool  # a solution was found
    optimal: bool  # ... and proven optimal within the gap asked for
    objective: float
    x: np.ndarray | None
    bound: float
    seconds: float
    message: str


class ProgressCallback(cp_model.CpSolverSolutionCallback):
    """Reports every improving solution: (seconds, incumbent, best bound)."""

    def __init__(self, report: Callable[[float, float, float], None] | None):
        super().__init__()
        self.report = report
        self.t0 = time.perf_counter()
        self.trace: list[tuple[float, float, float]] = []

    def on_solution_callback(self) -> None:
        point = (time.perf_counter() - self.t0, self.objective_value, self.best_objective_bound)
        self.trace.append(point)
        if self.report is not None:
            self.report(*point)
