"""
Queueing math for staffing: Erlang B, Erlang C, Erlang A, chat and deferred work.

Pure functions of numbers, on numpy only: no frames, no files. Every public function
takes scalars, numpy arrays or pandas Series (broadcast together) and returns the same
kind: a Python number for scalars, an array of the broadcast shape for arrays, a Series
with the input's index for Series. NaN in gives NaN out; a negative or infinite input
raises ``ValueError``.

Numerics
--------
Everything rests on the inverse of the Erlang B formula, ``x(n, a) = 1 / B(n, a)``,
which keeps the recursion ``x(n) = 1 + (n / a) x(n - 1)`` (no factorials, no powers).
Started far below the load (at ``n0 = a - 6.5 sqrt(a)``) from an asymptotic value
good to about 2e-5 (Watson's lemma), the recursion damps the starting error by
``exp(-21)`` before it reaches ``n = a``, so each value is exact to double precision
for any load from 0 to well past 100,000 Erlangs, in about ``6.5 sqrt(a) + (n - a)``
vectorized steps. Fractional agents use the
continuous extension of Erlang B (Jagerman 1974), whose recursion is the same.

In the staffing range (whole agents at or above the load, loads of 16 to 8191 Erl) a
shortcut gives the same values in a few operations: x obeys a linear equation in the
load at fixed n, dx/da = (1 - n/a) x - 1, whose exact solution carries the anchor
x(k + 1, k) at the whole load k = floor(a) to x(k + 1, a) with one short integral
(5-point Gauss-Legendre, about 2e-15). The anchors form a table built once by the
recursion (lazily, up to the largest load seen), so the cost per interval no longer
grows with sqrt(a).

:func:`required_agents` starts each interval at its lower bound and walks the
recursion upwards (all intervals at once), stopping each one at the first agent count
that meets every target, so the answer is minimal by construction, with no Python
loop per interval.

References
----------
.. [1] A. K. Erlang (1917); Cooper, *Introduction to Queueing Theory*, 2nd ed. (1981),
   ch. 3 and 5 (Erlang B and C, waiting-time distribution).
.. [2] D. L. Jagerman, "Some properties of the Erlang loss function", Bell System
   Technical Journal 53 (1974): the continuous extension and the recursion.
.. [3] O. Garnett, A. Mandelbaum, M. Reiman, "Designing a call center with impatient
   customers", MSOM 4 (2002); A. Mandelbaum, S. Zeltyn, "The M/M/n+G queue: summary of
   performance measures" (2009): Erlang A.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "ErlangAResult",
    "average_speed_of_answer",
    "chat_required_agents",
    "chat_service_level",
    "deferred_required_agents",
    "deferred_within_deadline",
    "erlang_a",
    "erlang_b",
    "occupancy",
    "required_agents",
    "service_level",
    "wait_probability",
]

#: the recursion starts this many standard deviations (sqrt(a)) below the load
_START_SD = 6.5
#: relative size of the last term kept by the series far below the load
_TINY = 1e-17
_HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


# -- numeric kinds: scalar, array, Series ----------------------------------------------


def _is_series(value) -> bool:
    return (hasattr(value, "index") and hasattr(value, "to_numpy")
            and getattr(value, "ndim", 0) == 1)


class _Kind:
    """Remembers how the inputs came (scalar, array, Series) to return the same kind."""

    def __init__(self, values):
        self.series = None
        self.array = False
        for v in values:
            if _is_series(v):
                if self.series is None:
                    self.series = v
                elif not v.index.equals(self.series.index):
                    raise ValueError("Series arguments must share the same index; align "
                                     "them first (e.g. with .reindex)")
            elif np.ndim(v) > 0 or isinstance(v, np.ndarray):
                self.array = True
        raw = [v.to_numpy(dtype=float, na_value=np.nan) if _is_series(v)
               else np.asarray(v, dtype=float) for v in values]
        self.arrays = np.broadcast_arrays(*raw)
        self.shape = self.arrays[0].shape

    def flat(self) -> list[np.ndarray]:
        """1-D float arrays (views where possible: callers never write into them)."""
        return [np.ascontiguousarray(a, dtype=float).reshape(-1) for a in self.arrays]

    def wrap(self, flat: np.ndarray, *, integer: bool = False):
        out = np.asarray(flat).reshape(self.shape)
        if self.series is not None:
            return type(self.series)(out, index=self.series.index)
        if self.array or self.shape != ():
            return out
        value = float(out)
        if integer and np.isfinite(value):
            return int(value)
        return value


def _check(name: str, values: np.ndarray, *, positive: bool = False,
           allow_inf: bool = False) -> None:
    """Raise ValueError for values outside the domain (NaN passes)."""
    with np.errstate(invalid="ignore"):
        bad = (values <= 0) if positive else (values < 0)
        if not allow_inf:
            bad |= np.isinf(values)
    if bad.any():
        first = values[bad][0]
        rule = "> 0" if positive else ">= 0"
        raise ValueError(f"{name} must be finite and {rule}; got {first!r}")


# -- special functions on arrays ----------------------------------------------------------


def _lgamma(z: np.ndarray) -> np.ndarray:
    """log Gamma(z) for z > 0: Stirling's series after shifting z above 9."""
    z = np.asarray(z, dtype=float)
    shift = np.zeros_like(z)
    w = z.copy()
    for _ in range(9):
        small = w < 9.0
        if not small.any():
            break
        shift = np.where(small, shift + np.log(np.where(small, w, 1.0)), shift)
        w = np.where(small, w + 1.0, w)
    inv = 1.0 / w
    inv2 = inv * inv
    series = inv * (1 / 12 + inv2 * (-1 / 360 + inv2 * (1 / 1260 + inv2 * (
        -1 / 1680 + inv2 * (1 / 1188 + inv2 * (-691 / 360360 + inv2 / 156))))))
    return (w - 0.5) * np.log(w) - w + _HALF_LOG_2PI + series - shift


def _inv_erlang_b_base(nu: np.ndarray, a: np.ndarray) -> np.ndarray:
    """
    x(nu, a) = 1 / B(nu, a) for 0 <= nu < 1 and a > 0, the start of the recursion for
    fractional agents: x = exp(a) a^-nu Gamma(nu + 1, a).
    """
    out = np.ones_like(a)
    frac = nu > 0
    if not frac.any():
        return out
    nu_f, a_f = nu[frac], a[frac]
    s = nu_f + 1.0  # the incomplete gamma's parameter, in (1, 2)
    res = np.empty_like(a_f)
    small = a_f < 2.0
    if small.any():
        # Gamma(s, a) = Gamma(s) - gamma(s, a); gamma(s, a) = a^s e^-a sum a^k / (s)_(k+1)
        sv, av = s[small], a_f[small]
        term = 1.0 / sv
        total = term.copy()
        for k in range(1, 60):
            term = term * av / (sv + k)
            total += term
        log_g = _lgamma(sv)
        res[small] = np.exp(av + log_g - (sv - 1.0) * np.log(av)) - av * total
    big = ~small
    if big.any():
        # Legendre's continued fraction for Gamma(s, a) / (a^s e^-a), modified Lentz
        sv, av = s[big], a_f[big]
        tiny = 1e-300
        b = av + 1.0 - sv
        c = np.full_like(av, 1.0 / tiny)
        d = 1.0 / b
        h = d.copy()
        for i in range(1, 300):
            an = -i * (i - sv)
            b = b + 2.0
            d = an * d + b
            d = np.where(np.abs(d) < tiny, tiny, d)
            c = b + an / c
            c = np.where(np.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = h * delta
            if np.all(np.abs(delta - 1.0) < 1e-16):
                break
        res[big] = av * h
    out[frac] = res
    return out


def _inv_erlang_b_recursion(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """
    x(n, a) = 1 / B(n, a) on flat arrays with n >= 0, a >= 0 finite (no NaN), by the
    recursion from far below the load.

    ``inf`` where B underflows (n far above a). See the module docstring.
    """
    x = np.ones_like(a)
    zero_load = a == 0
    x[zero_load & (n > 0)] = np.inf
    live = ~zero_load & (n > 0)
    if not live.any():
        return x
    idx = np.flatnonzero(live)
    nl, al = n[idx], a[idx]
    start = al - _START_SD * np.sqrt(al)

    # far below the load: x = sum_k prod_{i<k} (n - i) / a, a series with ratio < 1
    below = nl <= start
    if below.any():
        nb, ab = nl[below], al[below]
        term = np.ones_like(ab)
        total = np.ones_like(ab)
        active = np.arange(len(ab))
        k = 0
        while active.size:
            k += 1
            term[active] *= (nb[active] - (k - 1)) / ab[active]
            total[active] += term[active]
            keep = np.abs(term[active]) > _TINY * total[active]
            active = active[keep]
        x[idx[below]] = total

    # the recursion from n0 = nu + skip up to n
    rec = ~below
    if rec.any():
        nr, ar = nl[rec], al[rec]
        whole = np.floor(nr)
        nu = nr - whole
        # start far enough below both the load and n that the recursion damps the
        # starting error by exp(-32) before reaching n
        short = np.maximum(ar - nr, 0.0)
        n_start = ar - np.sqrt(short * short + _START_SD ** 2 * ar)
        skip = np.maximum(0.0, np.floor(n_start - nu))
        skip = np.minimum(skip, whole)
        n0 = nu + skip
        x0 = _inv_erlang_b_base(nu, ar)
        far = skip > 0
        if far.any():
            x0[far] = _watson(n0[far], ar[far])
        steps = (whole - skip).astype(np.int64)
        x[idx[rec]] = _recurse(x0, n0, ar, steps)
    return x


#: whole loads [Erl] between which x(n, a) comes from the anchor table (see _inv_erlang_b)
_TABLE_LOADS = (16, 8192)
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(5)
#: x(k + 1, k) for whole loads k (inf at k = 0), built by the recursion on first use
_ANCHORS = np.full(1, np.inf)


def _anchors(k_max: int) -> np.ndarray:
    """The anchor table, grown (in powers of two) to hold index ``k_max``."""
    global _ANCHORS
    size = len(_ANCHORS)
    if size <= k_max:
        new_size = max(1024, 1 << int(k_max).bit_length())
        k = np.arange(size, new_size, dtype=float)
        _ANCHORS = np.concatenate([_ANCHORS, _inv_erlang_b_recursion(k + 1.0, k)])
    return _ANCHORS


def _transfer(x0: np.ndarray, a0: np.ndarray, a1: np.ndarray, n: np.ndarray) -> np.ndarray:
    """
    x(n, a1) from x(n, a0) at the same n, for 0 <= a1 - a0 < 1 and a0 >= 16.

    x = 1/B obeys dx/da = (1 - n/a) x - 1 at fixed n (from dB/da = B (n/a - 1 + B)),
    so x(a1) = e^(a1-a0) (a0/a1)^n x(a0) - int_a0^a1 e^(a1-s) (s/a1)^n ds; the integrand
    is nearly flat over less than one Erlang, and 5-point Gauss-Legendre integrates it
    to about 2e-15 relative to x.
    """
    d = a1 - a0
    factor = np.exp(d - n * np.log1p(d / a0))
    total = np.zeros_like(a1)
    for node, weight in zip(_GL_NODES, _GL_WEIGHTS, strict=True):
        gap = d * (0.5 - 0.5 * node)  # a1 - s
        total += weight * np.exp(gap - n * np.log1p(gap / (a1 - gap)))
    return factor * x0 - 0.5 * d * total


def _inv_erlang_b(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """
    x(n, a) = 1 / B(n, a) on flat arrays with n >= 0, a >= 0 finite (no NaN).

    For whole loads k = floor(a) in _TABLE_LOADS and whole n >= k + 1 (the staffing
    range), x starts from the exact anchor x(k + 1, k) of a cached table, moves along
    the load to x(k + 1, a) (:func:`_transfer`) and then up the recursion to n: a few
    vectorized operations instead of about 6.5 sqrt(a) steps. Everything else takes
    the recursion from far below the load. Both are exact to about 1e-14.
    """
    k = np.floor(a)
    fast = (k >= _TABLE_LOADS[0]) & (k < _TABLE_LOADS[1]) & (n >= k + 1) & (n == np.floor(n))
    if not fast.any():
        return _inv_erlang_b_recursion(n, a)
    x = np.empty_like(a)
    slow = ~fast
    if slow.any():
        x[slow] = _inv_erlang_b_recursion(n[slow], a[slow])
    kf, af, nf = k[fast], a[fast], n[fast]
    table = _anchors(int(kf.max()))
    x_k = _transfer(table[kf.astype(np.int64)], kf, af, kf + 1.0)
    steps = (nf - kf - 1.0).astype(np.int64)
    x[fast] = _recurse(x_k, kf + 1.0, af, steps) if steps.any() else x_k
    return x


def _watson(n: np.ndarray, a: np.ndarray) -> np.ndarray:
    """
    x(n, a) for n well below a: Watson's lemma on x = int_0^inf e^-t (1 + t/a)^n dt,
    through the t^6 term. With s = 1 - n/a the terms fall like (2k-1)!! / c^2k for
    n = a - c sqrt(a); at c = 6.5 the relative error is about 2e-5, which the recursion
    then damps by exp(-c^2 / 2) < 1e-9.
    """
    s = 1.0 - n / a
    u = 1.0 / (a * s)  # the expansion variable, about 1 / (c sqrt(a))
    n2 = n * n
    poly = (1.0 + u * (-(n * u) + u * (2.0 * n * u + u * ((-6.0 * n + 3.0 * n2) * u
            + u * ((24.0 * n - 20.0 * n2) * u + u * (-120.0 * n + 130.0 * n2
                                                      - 15.0 * n2 * n) * u)))))
    return poly / s


def _recurse(x0: np.ndarray, n0: np.ndarray, a: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Apply ``x <- 1 + (n / a) x`` ``steps`` times from ``x0`` at ``n0`` (per element)."""
    x = x0.copy()
    if not len(steps):
        return x
    order = np.argsort(-steps, kind="stable")
    with np.errstate(over="ignore"):
        inv_a = 1.0 / a[order]
    xs, ns, st = x[order], n0[order].copy(), steps[order]
    ratio = np.empty_like(xs)
    # st is sorted descending: the elements with more than j steps left form a prefix
    counts = np.searchsorted(-st, -np.arange(int(st[0])), side="left")
    with np.errstate(over="ignore"):
        for j, count in enumerate(counts):
            xa, na, ra = xs[:count], ns[:count], ratio[:count]
            na += 1.0
            np.multiply(na, inv_a[:count], out=ra)
            xa *= ra
            xa += 1.0
            if j % 64 == 63 and np.isinf(xa).all():
                break
    x[order] = xs
    return x


# -- Erlang B and C -------------------------------------------------------------------------


def _erlang_c_from_x(n, a, x):
    """P(wait) from x = 1/B; 1 where n <= a (unstable), 0 where a = 0."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        c = n / (a + (n - a) * x)
    c = np.where(n <= a, 1.0, c)
    c = np.where(a == 0, 0.0, c)
    c = np.where(np.isinf(x) & (n > a), 0.0, c)
    return np.clip(c, 0.0, 1.0)


def _prepared(traffic_erl, agents):
    kind = _Kind([traffic_erl, agents])
    a, n = kind.flat()
    _check("traffic_erl", a)
    _check("agents", n)
    return kind, a, n


def _with_nan(func, *arrays):
    """Evaluate func on the rows without NaN; NaN elsewhere."""
    ok = np.ones(arrays[0].shape, dtype=bool)
    for arr in arrays:
        ok &= ~np.isnan(arr)
    out = np.full(arrays[0].shape, np.nan)
    if ok.any():
        out[ok] = func(*(arr[ok] for arr in arrays))
    return out


def erlang_b(traffic_erl, agents):
    """
    Probability that a contact finds every agent busy and is lost (Erlang B, M/M/N/N).

    Parameters
    ----------
    traffic_erl : numeric
        Offered load, contacts * aht_s / interval_s. [Erl]
    agents : numeric
        Servers; a fractional value uses the continuous extension. [agents]

    Returns
    -------
    numeric
        Blocking probability in [0, 1]; 1 where ``agents = 0``, 0 where the load is 0
        and ``agents > 0``.

    Notes
    -----
    B(N, A) = (A^N / N!) / sum_{k=0..N} A^k / k!, evaluated as the inverse recursion
    1/B(n) = 1 + (n / A) / B(n - 1) (see the module docstring).
    """
    kind, a, n = _prepared(traffic_erl, agents)
    with np.errstate(divide="ignore"):
        out = _with_nan(lambda aa, nn: 1.0 / _inv_erlang_b(nn, aa), a, n)
    return kind.wrap(out)


def wait_probability(traffic_erl, agents):
    """
    Probability that a contact waits (Erlang C, M/M/N with patient callers).

    Parameters
    ----------
    traffic_erl : numeric
        Offered load. [Erl]
    agents : numeric
        Productive agents. [agents]

    Returns
    -------
    numeric
        C(N, A) in [0, 1]; 1 where ``agents <= traffic_erl`` (unstable queue), 0 where
        the load is 0.

    Notes
    -----
    C = N B / (N - A (1 - B)) = N / (A + (N - A) / B), with B the Erlang B value.
    """
    kind, a, n = _prepared(traffic_erl, agents)
    out = _with_nan(lambda aa, nn: _erlang_c_from_x(nn, aa, _inv_erlang_b(nn, aa)), a, n)
    return kind.wrap(out)


def _sl_asa(a, n, aht, target):
    """(service level, ASA) of Erlang C on flat arrays without NaN."""
    c = _erlang_c_from_x(n, a, _inv_erlang_b(n, a))
    stable = n > a
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sl = 1.0 - c * np.exp(-(n - a) * target / aht)
        asa = c * aht / (n - a)
    sl = np.where(stable, sl, 0.0)
    asa = np.where(stable, asa, np.inf)
    sl = np.where(a == 0, 1.0, sl)
    asa = np.where(a == 0, 0.0, asa)
    return np.clip(sl, 0.0, 1.0), asa


def service_level(traffic_erl, agents, aht_s, answer_target_s):
    """
    Fraction of contacts answered within ``answer_target_s`` (Erlang C).

    Parameters
    ----------
    traffic_erl : numeric
        Offered load, contacts * aht_s / interval_s. [Erl]
    agents : numeric
        Productive agents on the queue. [agents]
    aht_s : numeric
        Average handle time. [s]
    answer_target_s : numeric
        Threshold of the service-level target. [s]

    Returns
    -------
    numeric
        Fraction in [0, 1]; 0 where ``agents <= traffic_erl`` (the queue is unstable),
        1 where the load is 0.

    Notes
    -----
    SL = 1 - C(N, A) * exp(-(N - A) * t / AHT).
    """
    kind = _Kind([traffic_erl, agents, aht_s, answer_target_s])
    a, n, h, t = kind.flat()
    _check("traffic_erl", a)
    _check("agents", n)
    _check("aht_s", h, positive=True)
    _check("answer_target_s", t, allow_inf=True)
    out = _with_nan(lambda aa, nn, hh, tt: _sl_asa(aa, nn, hh, tt)[0], a, n, h, t)
    return kind.wrap(out)


def average_speed_of_answer(traffic_erl, agents, aht_s):
    """
    Mean wait before answer over all contacts (Erlang C ASA).

    Parameters
    ----------
    traffic_erl : numeric
        Offered load. [Erl]
    agents : numeric
        Productive agents. [agents]
    aht_s : numeric
        Average handle time. [s]

    Returns
    -------
    numeric
        ASA [s]; ``inf`` where ``agents <= traffic_erl``, 0 where the load is 0.

    Notes
    -----
    ASA = C(N, A) * AHT / (N - A).
    """
    kind = _Kind([traffic_erl, agents, aht_s])
    a, n, h = kind.flat()
    _check("traffic_erl", a)
    _check("agents", n)
    _check("aht_s", h, positive=True)
    out = _with_nan(lambda aa, nn, hh: _sl_asa(aa, nn, hh, np.zeros_like(aa))[1], a, n, h)
    return kind.wrap(out)


def occupancy(traffic_erl, agents):
    """
    Share of the agents' time spent handling contacts.

    Parameters
    ----------
    traffic_erl : numeric
        Offered load. [Erl]
    agents : numeric
        Productive agents. [agents]

    Returns
    -------
    numeric
        A / N in [0, 1]; 1 where ``agents <= traffic_erl`` (the agents never idle, the
        queue grows), 0 where the load is 0.
    """
    kind, a, n = _prepared(traffic_erl, agents)

    def occ(aa, nn):
        with np.errstate(divide="ignore", invalid="ignore"):
            o = np.where(nn > aa, aa / np.where(nn > 0, nn, 1.0), 1.0)
        return np.where(aa == 0, 0.0, o)

    return kind.wrap(_with_nan(occ, a, n))


# -- Erlang A --------------------------------------------------------------------------------


class ErlangAResult(NamedTuple):
    """Erlang A measures, each of the inputs' kind."""

    #: fraction of offered contacts answered within the target (abandons count as misses)
    service_level: object
    #: mean wait of the answered contacts [s]
    asa_s: object
    #: fraction of offered contacts that abandon
    abandon_rate: object
    #: fraction of offered contacts that wait (find every agent busy)
    wait_probability: object


def _erlang_a_flat(a, n, h, p, t):
    """Erlang A on flat arrays without NaN; returns (sl, asa, abandon, wait)."""
    m = len(a)
    sl = np.ones(m)
    asa = np.zeros(m)
    ab = np.zeros(m)
    pw = np.zeros(m)
    live = a > 0
    if not live.any():
        return sl, asa, ab, pw
    a, n, h, p, t = a[live], n[live], h[live], p[live], t[live]
    x_b = _inv_erlang_b(n, a)  # sum_{k<=N} pi_k / pi_N
    b = n * p / h  # N mu / theta
    xq = a * p / h  # lambda / theta
    q = -np.expm1(-t / p)  # P(a patience clock rings within t)
    beta = b + 1.0
    # waiting positions i = 0, 1, ...: r_i = pi_{N+i} / pi_N = prod_{j<=i} xq / (b + j),
    # kept as r * exp(log_scale) to avoid overflow when the queue is overloaded
    r = np.ones_like(a)
    log_scale = np.zeros_like(a)
    s_sum = np.zeros_like(a)  # sum r_i
    served = np.zeros_like(a)  # sum r_i * b / (b + i + 1)
    within = np.zeros_like(a)  # ... * P(wait <= t | served, i)
    waited = np.zeros_like(a)  # ... * E[wait | served, i]
    harmonic = np.zeros_like(a)  # sum_{j=1..i+1} 1 / (b + j)
    # incomplete beta I_q(i + 1, b + 1) by I(m + 1) = I(m) - u_m, u kept in logs
    with np.errstate(divide="ignore"):
        log_u = np.log(beta) + np.log(q) - beta * t / p
    ibeta = -np.expm1(-beta * t / p)
    with np.errstate(divide="ignore"):
        log_q = np.log(q)
    active = np.arange(len(a))
    i = 0
    while active.size:
        k = active
        harmonic[k] += 1.0 / (b[k] + i + 1)
        serve_i = r[k] * b[k] / (b[k] + i + 1)
        s_sum[k] += r[k]
        served[k] += serve_i
        within[k] += serve_i * np.clip(ibeta[k], 0.0, 1.0)
        waited[k] += serve_i * p[k] * harmonic[k]
        # next position
        ibeta[k] -= np.exp(log_u[k])
        with np.errstate(divide="ignore"):
            log_u[k] += log_q[k] + np.log((i + 1 + beta[k]) / (i + 2))
        r[k] *= xq[k] / (b[k] + i + 1)
        big = r[k] > 1e250
        if big.any():
            kb = k[big]
            for arr in (r, s_sum, served, within, waited):
                arr[kb] *= 1e-250
            log_scale[kb] += 250.0 * np.log(10.0)
        i += 1
        growing = xq[k] > b[k] + i
        keep = growing | (r[k] > _TINY * s_sum[k])
        active = k[keep]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        below = (x_b - 1.0) * np.exp(-log_scale)  # the states with a free agent
        total = below + s_sum
        pw_l = s_sum / total
        no_wait = below / total
        served_l = no_wait + served / total
        sl_l = no_wait + within / total
        asa_l = (waited / total) / served_l
    ab_l = 1.0 - served_l
    asa_l = np.where(served_l > 0, asa_l, np.inf)
    sl[live] = np.clip(sl_l, 0.0, 1.0)
    asa[live] = asa_l
    ab[live] = np.clip(ab_l, 0.0, 1.0)
    pw[live] = np.clip(pw_l, 0.0, 1.0)
    return sl, asa, ab, pw


def erlang_a(traffic_erl, agents, aht_s, patience_s, answer_target_s):
    """
    Service measures of a queue whose callers abandon (Erlang A, M/M/N+M).

    Parameters
    ----------
    traffic_erl : numeric
        Offered load. [Erl]
    agents : numeric
        Productive agents (whole numbers). [agents]
    aht_s : numeric
        Average handle time. [s]
    patience_s : numeric
        Mean patience; patience is exponential. [s]
    answer_target_s : numeric
        Threshold of the service-level target. [s]

    Returns
    -------
    ErlangAResult
        ``service_level``: fraction of *offered* contacts answered within the target
        (a contact that abandons counts as a miss, whenever it abandons);
        ``asa_s``: mean wait of the answered contacts [s] (``inf`` with no agents);
        ``abandon_rate``: fraction of offered contacts that abandon;
        ``wait_probability``: fraction of offered contacts that find every agent busy.

    Notes
    -----
    Birth-death chain on the number in system: arrivals at rate lambda, departures at
    min(k, N) mu + max(k - N, 0) theta with mu = 1/AHT, theta = 1/patience. An arrival
    that finds i contacts waiting ahead is served with probability b / (b + i + 1),
    b = N mu / theta, after a wait that is the sum of exponentials of rates
    N mu + j theta, j = 1..i+1, whose distribution is I_q(i + 1, b + 1) with
    q = 1 - exp(-theta t) (the (i+1)-th order statistic of b + i + 1 exponentials).
    The stationary probabilities are summed in scaled form. Stable for any N >= 0:
    abandonment keeps the queue finite even when ``agents <= traffic_erl``.
    """
    kind = _Kind([traffic_erl, agents, aht_s, patience_s, answer_target_s])
    a, n, h, p, t = kind.flat()
    _check("traffic_erl", a)
    _check("agents", n)
    _check("aht_s", h, positive=True)
    _check("patience_s", p, positive=True)
    _check("answer_target_s", t)
    with np.errstate(invalid="ignore"):
        frac = np.isfinite(n) & (n != np.floor(n))
    if frac.any():
        raise ValueError(f"erlang_a needs whole agents; got {n[frac][0]!r}")
    ok = ~(np.isnan(a) | np.isnan(n) | np.isnan(h) | np.isnan(p) | np.isnan(t))
    outs = [np.full(a.shape, np.nan) for _ in range(4)]
    if ok.any():
        for out, value in zip(outs, _erlang_a_flat(a[ok], n[ok], h[ok], p[ok], t[ok]),
                              strict=True):
            out[ok] = value
    return ErlangAResult(*(kind.wrap(o) for o in outs))


# -- required agents ---------------------------------------------------------------------


def required_agents(traffic_erl, aht_s, *, answer_target_s=20, target_service_level=None,
                    target_asa_s=None, max_occupancy=1.0, patience_s=None):
    """
    The smallest number of productive agents that meets every target given.

    Parameters
    ----------
    traffic_erl : numeric
        Offered load. [Erl]
    aht_s : numeric
        Average handle time. [s]
    answer_target_s : numeric, default 20
        Threshold of the service-level target. [s]
    target_service_level : numeric, optional
        Fraction answered within ``answer_target_s`` to reach (0.8 for 80 %).
    target_asa_s : numeric, optional
        Largest average speed of answer allowed. [s]
    max_occupancy : numeric, default 1.0
        Largest occupancy allowed (fraction).
    patience_s : numeric, optional
        Mean patience of callers: when given, the targets are evaluated with Erlang A
        (abandons count as misses of the service level) instead of Erlang C. [s]

    Returns
    -------
    numeric
        Whole numbers of agents [agents]: an ``int`` for scalar inputs, float arrays
        (or Series) of whole numbers otherwise, NaN where an input is NaN. Zero load
        needs zero agents. Under Erlang C the queue must also be stable (N > A).

    Notes
    -----
    Erlang C: one vectorized upward walk of the Erlang B recursion from a lower bound
    (the stability and occupancy bound) checks the targets at each agent count and
    stops each interval at the first count that meets them all; service level and ASA
    are monotone in N, so that count is the minimum. Erlang A: vectorized bisection on
    N, whose measures are monotone in N as well.
    """
    values = [traffic_erl, aht_s, answer_target_s,
              np.nan if target_service_level is None else target_service_level,
              np.nan if target_asa_s is None else target_asa_s, max_occupancy,
              np.nan if patience_s is None else patience_s]
    kind = _Kind(values)
    a, h, t, sl_t, asa_t, occ_t, p = kind.flat()
    _check("traffic_erl", a)
    _check("aht_s", h, positive=True)
    _check("answer_target_s", t)
    if target_service_level is not None:
        with np.errstate(invalid="ignore"):
            bad = (sl_t < 0) | (sl_t >= 1)
        if bad.any():
            raise ValueError("target_service_level must be a fraction in [0, 1) (0.8 for "
                             f"80 %; 100 % within a finite time is never met); got "
                             f"{sl_t[bad][0]!r}")
    if target_asa_s is not None:
        _check("target_asa_s", asa_t, positive=True)
    with np.errstate(invalid="ignore"):
        if ((occ_t <= 0) | (occ_t > 1)).any():
            raise ValueError("max_occupancy must be a fraction in (0, 1]; got "
                             f"{occ_t[(occ_t <= 0) | (occ_t > 1)][0]!r}")
    if patience_s is not None:
        _check("patience_s", p, positive=True)
    needed = [a, h, t, occ_t]
    if target_service_level is not None:
        needed.append(sl_t)
    if target_asa_s is not None:
        needed.append(asa_t)
    if patience_s is not None:
        needed.append(p)
    ok = np.ones(a.shape, dtype=bool)
    for arr in needed:
        ok &= ~np.isnan(arr)
    out = np.full(a.shape, np.nan)
    if ok.any():
        args = (a[ok], h[ok], t[ok], sl_t[ok], asa_t[ok], occ_t[ok])
        if patience_s is None:
            out[ok] = _required_erlang_c(*args)
        else:
            out[ok] = _required_erlang_a(*args, p[ok])
    return kind.wrap(out, integer=True)


def _occupancy_floor(a, occ):
    """Smallest N with a / N <= occ."""
    n = np.ceil(a / occ)
    lower = np.maximum(n - 1.0, 0.0)
    fits = (lower > 0) & (a <= occ * lower)
    return np.where(fits, lower, n)


def _required_erlang_c(a, h, t, sl_t, asa_t, occ_t):
    """
    Minimal N for Erlang C targets on flat arrays (NaN target = not applied).

    Starts every interval at its lower bound (stable, within the occupancy cap), where
    x = 1/B comes from the anchor table, and walks N upwards with the recursion,
    checking the targets at each count; an interval stops at the first count that
    meets them all (they are monotone in N), and finished intervals are dropped from
    the arrays once half of them are done.
    """
    out = np.zeros_like(a)
    live = np.flatnonzero(a > 0)
    if not live.size:
        return out
    a, h, t, sl_t, asa_t, occ_t = (v[live] for v in (a, h, t, sl_t, asa_t, occ_t))
    n = np.floor(a) + 1.0
    if (occ_t < 1).any():
        n = np.maximum(n, _occupancy_floor(a, occ_t))
    x = _inv_erlang_b(n, a)
    use_asa = not np.isnan(asa_t).all()
    miss = np.where(np.isnan(sl_t), np.inf, 1.0 - sl_t)  # C exp(-(N - A) t / AHT) <= miss
    asa_lim = np.where(np.isnan(asa_t), np.inf, asa_t)
    with np.errstate(over="ignore"):
        inv_a = 1.0 / a
    decay = np.exp(-t / h)
    wait_decay = np.exp(-(n - a) * t / h)
    result = np.full_like(a, np.nan)
    idx = np.arange(len(a))
    arrays = [n, x, wait_decay, a, inv_a, decay, miss, h, asa_lim]
    with np.errstate(invalid="ignore", over="ignore"):
        while True:
            nk, xk, wk, ak, ik, dk, mk, hk, lk = arrays
            surplus = nk - ak
            denom = ak + surplus * xk  # C = N / denom
            met = nk * wk <= mk * denom
            if use_asa:
                met &= nk * hk <= lk * surplus * denom
            done = np.flatnonzero(met)
            if done.size:
                # the first count that meets the targets is kept (they stay met above it)
                result[idx[done]] = np.fmin(result[idx[done]], nk[done])
                if done.size == len(met):
                    break
                if done.size * 2 >= len(met):  # drop the finished intervals
                    keep = ~met
                    idx = idx[keep]
                    arrays = [arr[keep] for arr in arrays]
                    nk, xk, wk, ak, ik, dk, mk, hk, lk = arrays
            nk += 1.0
            xk *= nk * ik
            xk += 1.0
            wk *= dk
    out[live] = result
    return out


def _meets_a(a, n, h, t, sl_t, asa_t, occ_t, p):
    sl, asa, ab, _ = _erlang_a_flat(a, n, h, p, t)
    with np.errstate(divide="ignore", invalid="ignore"):
        occ = np.where(n > 0, a * (1.0 - ab) / np.where(n > 0, n, 1.0), 1.0)
    occ = np.where(a == 0, 0.0, occ)
    ok = occ <= occ_t + 1e-12
    ok &= np.isnan(sl_t) | (sl >= sl_t)
    ok &= np.isnan(asa_t) | (asa <= asa_t)
    return ok


def _required_erlang_a(a, h, t, sl_t, asa_t, occ_t, p):
    """Minimal N for Erlang A targets: vectorized bisection (measures monotone in N)."""
    out = np.zeros_like(a)
    live = a > 0
    if not live.any():
        return out
    a, h, t, sl_t, asa_t, occ_t, p = (v[live] for v in (a, h, t, sl_t, asa_t, occ_t, p))
    # with abandonment even N < A may meet the targets: search from 0 agents, which
    # never serve a positive load
    lo = np.zeros_like(a)
    hi = np.ceil(a + 3.0 * np.sqrt(a) + 1.0)
    # grow hi until it meets the targets
    todo = ~_meets_a(a, hi, h, t, sl_t, asa_t, occ_t, p)
    while todo.any():
        hi[todo] = np.ceil(hi[todo] * 1.5 + 1.0)
        idx = np.flatnonzero(todo)
        todo[idx] = ~_meets_a(a[idx], hi[idx], h[idx], t[idx], sl_t[idx], asa_t[idx],
                              occ_t[idx], p[idx])
    while True:
        gap = hi - lo > 1
        if not gap.any():
            break
        idx = np.flatnonzero(gap)
        mid = np.floor((lo[idx] + hi[idx]) / 2.0)
        met = _meets_a(a[idx], mid, h[idx], t[idx], sl_t[idx], asa_t[idx], occ_t[idx], p[idx])
        hi[idx[met]] = mid[met]
        lo[idx[~met]] = mid[~met]
    out[live] = hi
    return out


# -- chat -------------------------------------------------------------------------------------


def chat_service_level(traffic_erl, agents, aht_s, first_response_s, concurrency=2):
    """
    Fraction of chats that get a first response within ``first_response_s``.

    Parameters
    ----------
    traffic_erl : numeric
        Offered chat load, chats * aht_s / interval_s. [Erl]
    agents : numeric
        Productive chat agents. [agents]
    aht_s : numeric
        Average handle time of one chat, from pick-up to close, as it runs while the
        agent serves other chats at the same time (the elapsed chat duration). [s]
    first_response_s : numeric
        First-response threshold of the target. [s]
    concurrency : numeric, default 2
        Chats one agent serves at once. [chats]

    Returns
    -------
    numeric
        Fraction in [0, 1].

    Notes
    -----
    Model: each agent is ``concurrency`` independent slots, and the queue is an
    Erlang C queue with ``agents * concurrency`` servers whose service time is the
    elapsed chat duration ``aht_s``; a waiting chat takes the first free slot and its
    first response is immediate at pick-up. Assumptions: Poisson arrivals, exponential
    chat durations, patient customers, and a chat duration that already includes the
    slowdown of serving several chats at once (measure ``aht_s`` at that concurrency).
    """
    kind = _Kind([traffic_erl, agents, aht_s, first_response_s, concurrency])
    a, n, h, t, k = kind.flat()
    _check("concurrency", k, positive=True)
    return kind.wrap(np.asarray(service_level(a, n * k, h, t), dtype=float))


def chat_required_agents(traffic_erl, aht_s, *, concurrency=2, first_response_s=30,
                         target_service_level=None, target_asa_s=None, max_occupancy=1.0):
    """
    The smallest number of chat agents meeting the first-response targets.

    Parameters
    ----------
    traffic_erl : numeric
        Offered chat load. [Erl]
    aht_s : numeric
        Elapsed duration of one chat at this concurrency. [s]
    concurrency : numeric, default 2
        Chats one agent serves at once. [chats]
    first_response_s : numeric, default 30
        First-response threshold. [s]
    target_service_level, target_asa_s, max_occupancy
        As in :func:`required_agents`, applied to the slots (ASA = mean time to first
        response; occupancy = busy share of the slots).

    Returns
    -------
    numeric
        Agents [agents]: ceil(slots / concurrency), where slots is the Erlang C
        requirement of the slot queue (see :func:`chat_service_level` for the model).
    """
    kind = _Kind([traffic_erl, aht_s, concurrency, first_response_s,
                  np.nan if target_service_level is None else target_service_level,
                  np.nan if target_asa_s is None else target_asa_s, max_occupancy])
    a, h, k, t, sl_t, asa_t, occ_t = kind.flat()
    _check("concurrency", k, positive=True)
    slots = np.asarray(required_agents(
        a, h, answer_target_s=t,
        target_service_level=None if target_service_level is None else sl_t,
        target_asa_s=None if target_asa_s is None else asa_t, max_occupancy=occ_t),
        dtype=float)
    return kind.wrap(np.ceil(slots / k), integer=True)


# -- deferred work (email) --------------------------------------------------------------------


def deferred_within_deadline(contacts, aht_s, agents, interval_s, deadline_s, *,
                             substeps=12):
    """
    Fraction of deferred contacts (email) finished within ``deadline_s`` of arrival.

    Parameters
    ----------
    contacts : array_like
        Contacts arriving in each interval, in time order. [contacts]
    aht_s : array_like or float
        Handle time per contact in each interval. [s]
    agents : array_like or float
        Productive agents working the backlog in each interval. [agents]
    interval_s : float
        Length of an interval. [s]
    deadline_s : float
        Deadline after arrival. [s]
    substeps : int, default 12
        Time steps per interval of the fluid model.

    Returns
    -------
    float
        Fraction of the contacts finished within the deadline, in [0, 1] (1 with no
        contacts).

    Notes
    -----
    A fluid backlog model: work (contacts * AHT) arrives evenly within each interval;
    the agents work it first-in first-out at ``agents`` agent-seconds per second; work
    left at the end of the horizon keeps being worked at the last staffed rate. With
    W(t) the work arrived and C(t) the capacity offered by t, the work done by t is
    D(t) = C(t) + min_{s <= t} (W(s) - C(s)), and work arriving at s is on time when
    D(s + deadline) >= W(s). Contacts are weighted as contacts (not as work).
    """
    c = np.asarray(contacts, dtype=float).ravel()
    m = len(c)
    h = np.broadcast_to(np.asarray(aht_s, dtype=float), (m,))
    n = np.broadcast_to(np.asarray(agents, dtype=float), (m,))
    if m == 0 or np.nansum(c) <= 0:
        return 1.0
    if np.isnan(np.where(c > 0, h, 0.0)).any():
        raise ValueError("deferred work needs an AHT where there are contacts")
    staffed = n[n > 0]
    if staffed.size == 0:
        return 0.0
    last_rate = staffed[-1]
    work = np.where(c > 0, c * h, 0.0)
    extra = int(np.ceil(work.sum() / (last_rate * interval_s) + deadline_s / interval_s)) + 2
    step_s = interval_s / substeps
    work_f = np.repeat(np.concatenate([work, np.zeros(extra)]) / substeps, substeps)
    cap_f = np.repeat(np.concatenate([n, np.full(extra, last_rate)]) * step_s, substeps)
    count_f = np.repeat(np.concatenate([np.where(c > 0, c, 0.0), np.zeros(extra)]) / substeps,
                        substeps)
    w_edges = np.concatenate([[0.0], np.cumsum(work_f)])
    c_edges = np.concatenate([[0.0], np.cumsum(cap_f)])
    done = c_edges + np.minimum.accumulate(w_edges - c_edges)
    t_edges = np.arange(len(w_edges)) * step_s
    # work arriving in a sub-step: its last unit arrives at the sub-step's end
    arrive_end = t_edges[1:]
    done_by = np.interp(arrive_end + deadline_s, t_edges, done)
    # the on-time share of each sub-step's work (work arrives evenly within it)
    need = w_edges[1:]
    have = np.clip(done_by - w_edges[:-1], 0.0, None)
    share = np.where(work_f > 0, np.clip(have / np.where(work_f > 0, work_f, 1.0), 0.0, 1.0),
                     1.0)
    share = np.where(done_by >= need - 1e-9 * max(need[-1], 1.0), 1.0, share)
    return float((share * count_f).sum() / count_f.sum())


def deferred_required_agents(contacts, aht_s, interval_s, deadline_s, target_fraction,
                             *, open_mask=None):
    """
    Level staffing of deferred work (email): the fewest agents, the same in every open
    interval, that finish ``target_fraction`` of the contacts within ``deadline_s``.

    Parameters
    ----------
    contacts : array_like
        Contacts arriving in each interval of the horizon, in time order. [contacts]
    aht_s : array_like or float
        Handle time per contact. [s]
    interval_s : float
        Length of an interval. [s]
    deadline_s : float
        Deadline after arrival (24 h = 86400 s). [s]
    target_fraction : float
        Fraction to finish within the deadline (0.9 for 90 %).
    open_mask : array_like of bool, optional
        Intervals in which the backlog is worked (default: all).

    Returns
    -------
    numpy.ndarray
        Agents per interval (whole numbers): the level N where open, 0 elsewhere. All
        zeros with no contacts.

    Notes
    -----
    Backlog model over the horizon (see :func:`deferred_within_deadline`): work is
    kept in a first-in first-out backlog and done at the staffed rate; a constant
    level is what a deadline much longer than an interval allows (the backlog smooths
    the arrival peaks). Bisection on N; the fraction on time is nondecreasing in N.
    The lower bound is the average load over the open time.
    """
    c = np.asarray(contacts, dtype=float).ravel()
    m = len(c)
    h = np.broadcast_to(np.asarray(aht_s, dtype=float), (m,))
    mask = np.ones(m, dtype=bool) if open_mask is None else np.asarray(open_mask, bool)
    if m == 0 or np.nansum(c) <= 0:
        return np.zeros(m)
    if not mask.any():
        raise ValueError("deferred work needs at least one open interval")
    work = np.where(c > 0, c * h, 0.0).sum()
    lo = max(0.0, np.floor(work / (mask.sum() * interval_s)) - 1.0)  # fails or is 0

    def ok(level: float) -> bool:
        return deferred_within_deadline(c, h, np.where(mask, level, 0.0), interval_s,
                                        deadline_s) >= target_fraction - 1e-12

    hi = max(lo + 1.0, 1.0)
    while not ok(hi):
        hi = np.ceil(hi * 1.5 + 1.0)
    if lo > 0 and ok(lo):
        lo = 0.0
    while hi - lo > 1:
        mid = np.floor((lo + hi) / 2.0)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return np.where(mask, hi, 0.0)
