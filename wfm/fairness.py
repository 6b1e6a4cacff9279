"""
Shift-adjusted agent KPI scorecards, role-weighted composites, roster fairness.

Night agents answer a different mix of contacts, with fewer colleagues on the floor,
in their own bad hours: their raw AHT, FCR and CSAT look worse even when they are as
good. A scorecard here compares each agent with what their shifts and contact mix
make possible, and says how sure it is.

Method
------
Every contact gets a **shift band** (day, evening, night) from its start time in the
site's local time (``zoneinfo`` via ``tz_convert``, so daylight saving moves the UTC
edges of the bands); the band edges are configurable (:class:`ScorecardSettings`).

For each KPI the per-contact records are reduced to sufficient statistics per *cell*:
agent x band x market x language x channel (x contact type when the records carry
it); 400,000 contacts become about 10,000 cells. Then, per KPI:

1. **Expected value (risk adjustment).** A statsmodels GLM of the KPI on the exposure
   (band, market, language, channel, contact type; a factor implied by another one,
   such as language by market, is left out), fitted on all agents' cells:

   ======================  ==================================  ======================
   KPI                     model                               cell statistic
   ======================  ==================================  ======================
   AHT                     Gamma, log link (quasi-likelihood)  mean handle time
   FCR, CSAT (4-5 share),  binomial, logit link                successes / trials
   complaint, escalation
   QA score                Gaussian, identity link             mean score
   contacts per hour       Poisson, log link, offset log paid  contacts / paid hours
                           hours (cells agent x band x
                           nesting; covariate: the log of the
                           expected handle time of the
                           contacts handled, from the AHT
                           model)
   ======================  ==================================  ======================

2. **The agent's own effect.** Each agent has an effect ``theta`` on the link scale
   (log or logit or points), with ``theta ~ Normal(mu, tau^2)`` across agents. The
   likelihood of each agent's cells is evaluated on a grid of ``theta`` and ``mu`` and
   ``tau`` are found by maximising the marginal likelihood (empirical Bayes,
   numerical integration on an adaptive grid per agent). The posterior of each
   agent's effect gives a shrunken estimate (agents with few contacts are pulled
   towards the mean) and an interval (``settings.interval``, 90 % by default).
   The GLM is then refitted with the agents' posterior effects as an offset and the
   two steps repeated (``settings.iterations``), an alternating approximation of a
   mixed model with agent random effects: the exposure coefficients are estimated
   net of who worked which band.

3. **Values reported per agent and KPI** (frame ``kpis``, contract ``scorecard``):

   - ``raw``: the agent's own value (mean handle time, share resolved, ...);
   - ``expected``: what the operation as a whole achieves on this agent's cells (the
     model's prediction with the one agent effect that makes the expected total equal
     the observed total over all contacts: indirect standardisation);
   - ``adjusted``: the agent's effect applied to the whole operation's contact mix,
     a common scale on which agents of different shifts compare (posterior mean,
     with ``adjusted_lo`` .. ``adjusted_hi``);
   - ``difference``: the agent against peers like them on their own mix, in the
     KPI's unit, with its interval; and a sentence, for example
     "AHT 412 s on 2,013 contacts; expected 395 s for your shifts and contact mix;
     17 s above peers like you (90 % interval 5..29 s)."
   - ``target`` and ``meets_target`` judge the *adjusted* value: targets stay the
     same for everyone, the comparison is what is made fair.
   - ``z`` = ``sign * (posterior mean - mu) / tau`` with its sd ``z_sd``: the KPI's
     score in units of the true between-agent spread (higher is better; ``sign`` is
     -1 for AHT, complaints and escalations); it tends to 0 for a KPI that does not
     tell agents apart. ``unshrunk_z`` is the same from the maximum-likelihood effect
     (with a very weak N(0, 3^2) prior on the logit / log scale for rates and counts,
     so that "no complaint in 12 contacts" stays finite).

4. **Composite.** Group weights by role (DESIGN.md: efficiency / quality / cost, front
   line 35/50/15, ...; efficiency: AHT; quality: FCR 0.35, CSAT 0.25, QA 0.25,
   complaints 0.15; cost: contacts per productive hour); escalation rate is tracked
   with weight 0 (no fixed target), so six KPIs count. The KPIs are combined with a
   multivariate normal prior (:func:`_joint_posterior`): each KPI's exact posterior is
   turned back into the normal likelihood that gives it, and the agents' true KPI
   scores are N(0, R) with R the correlation between KPIs estimated from the agents.
   One agent's KPIs move together (a skilled agent is faster *and* resolves more), so
   the composite is known better, and shrunk less, than each KPI alone; a KPI with no
   information for an agent (no ratings, or no complaint in a few contacts) counts as
   unknown, not as average. The composite comes with an interval and a rank; the rank
   interval ``rank_lo``..``rank_hi`` comes from simulating the posteriors.
   ``raw_score`` is the same weighting of the raw values (z-scores across agents) and
   ``unshrunk_score`` of the unshrunk scores, for comparison.

Roster fairness (:func:`roster_fairness`) counts nights, weekend days and paid
minutes per agent and their spread and Gini coefficient per site.
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from wfm import schema
from wfm.errors import InputError

BANDS = ("day", "evening", "night")

#: composite weights (efficiency, quality, cost) per role (DESIGN.md)
ROLE_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "front_line": (0.35, 0.50, 0.15),
    "second_line": (0.25, 0.60, 0.15),
    "minor_language": (0.30, 0.55, 0.15),
    "after_sales": (0.20, 0.65, 0.15),
}
GROUPS = ("efficiency", "quality", "cost")


@dataclass(frozen=True)
class KpiSpec:
    """One KPI of the scorecard: how it is modelled, scored and judged."""

    name: str
    label: str
    unit: str
    family: str  # binomial, gamma, gaussian, poisson
    group: str  # efficiency, quality, cost
    higher_is_better: bool
    #: weight inside its group (renormalised over the KPIs that have data)
    share: float
    #: the target: (low, high); a NaN end is open
    target: tuple[float, float] = (math.nan, math.nan)
    #: what ``n`` counts
    counts: str = "contacts"


KPIS: dict[str, KpiSpec] = {k.name: k for k in (
    KpiSpec("aht_s", "AHT", "s", "gamma", "efficiency", False, 1.0, (180.0, 300.0)),
    KpiSpec("fcr", "FCR", "fraction", "binomial", "quality", True, 0.35, (0.80, math.nan)),
    KpiSpec("csat", "CSAT", "fraction", "binomial", "quality", True, 0.25, (0.85, math.nan),
            counts="rated contacts"),
    KpiSpec("qa_score", "QA score", "points", "gaussian", "quality", True, 0.25,
            (90.0, math.nan), counts="reviewed contacts"),
    KpiSpec("complaint_rate", "complaint rate", "fraction", "binomial", "quality", False, 0.15,
            (math.nan, 0.005)),
    KpiSpec("escalation_rate", "escalation rate", "fraction", "binomial", "quality", False,
            0.0),
    KpiSpec("contacts_per_hour", "contacts per productive hour", "contacts/h", "poisson",
            "cost", True, 1.0, counts="contacts in worked shifts"),
)}


@dataclass(frozen=True)
class ScorecardSettings:
    """
    Knobs of :func:`scorecards`.

    Bands are given by their local start times: day from ``day_start`` to
    ``evening_start``, evening to ``night_start``, night to the next ``day_start``.
    """

    day_start: str = "06:00"
    evening_start: str = "14:00"
    night_start: str = "22:00"
    #: site -> IANA zone; None: the demo world's sites (wfm.demo.SITES)
    site_zones: Mapping[str, str] | None = None
    role_weights: Mapping[str, tuple[float, float, float]] = field(
        default_factory=lambda: dict(ROLE_WEIGHTS))
    #: kpi -> weight inside its group; None keeps KpiSpec.share
    shares: Mapping[str, float] | None = None
    #: kpi -> (low, high) target; None keeps KpiSpec.target
    targets: Mapping[str, tuple[float, float]] | None = None
    #: coverage of the reported intervals
    interval: float = 0.90
    #: GLM refits with the agents' effects as offset (0: a pooled GLM only)
    iterations: int = 1
    #: below this many contacts an explanation says the estimate is pulled to the mean
    few_contacts: int = 50
    #: draws for the rank intervals
    rank_draws: int = 1000
    seed: int = 0

    def share(self, kpi: str) -> float:
        if self.shares is not None and kpi in self.shares:
            return float(self.shares[kpi])
        return KPIS[kpi].share

    def target(self, kpi: str) -> tuple[float, float]:
        if self.targets is not None and kpi in self.targets:
            low, high = self.targets[kpi]
            return (math.nan if low is None else float(low), math.nan if high is None
                    else float(high))
        return KPIS[kpi].target


@dataclass
class KpiModel:
    """The fitted model of one KPI: exposure coefficients and the agents' distribution."""

    kpi: str
    family: str
    coefficients: pd.DataFrame
    #: mean and standard deviation of the agents' effects (link scale)
    mu: float
    tau: float
    #: dispersion (Gamma), residual variance (Gaussian) or 1
    scale: float
    cells: int
    agents: int


@dataclass
class ScorecardResult:
    """What :func:`scorecards` returns."""

    kpis: pd.DataFrame
    composite: pd.DataFrame
    models: dict[str, KpiModel]
    settings: ScorecardSettings
    #: per-agent and per-site roster fairness of the worked shifts (None without shifts)
    roster: pd.DataFrame | None = None
    roster_sites: pd.DataFrame | None = None
    diagnostics: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# shift bands


def _hhmm_min(text: str, what: str) -> int:
    try:
        h, m = str(text).split(":")
        value = int(h) * 60 + int(m)
    except ValueError:
        value = -1
    if not (0 <= value < 1440) or len(str(text)) != 5:
        raise InputError(f"scorecard setting {what!r}: expected a local time 'HH:MM' "
                         f"(00:00 to 23:59), got {text!r}")
    return value


def _band_edges(settings: ScorecardSettings) -> tuple[int, int, int]:
    day = _hhmm_min(settings.day_start, "day_start")
    evening = _hhmm_min(settings.evening_start, "evening_start")
    night = _hhmm_min(settings.night_start, "night_start")
    e, n = (evening - day) % 1440, (night - day) % 1440
    if not 0 < e < n:
        raise InputError(
            "scorecard settings: the bands must follow each other around the clock "
            f"(day_start, evening_start, night_start), got {settings.day_start}, "
            f"{settings.evening_start}, {settings.night_start}; for example 06:00, 14:00, "
            "22:00")
    return day, evening, night


def band_of_minute(minute_of_day, settings: ScorecardSettings | None = None) -> np.ndarray:
    """
    Shift band of local clock times.

    Parameters
    ----------
    minute_of_day : array-like of int
        Local time as minutes after midnight. [min]
    settings : ScorecardSettings, optional
        Band edges (default 06:00, 14:00, 22:00).

    Returns
    -------
    ndarray of str
        ``"day"``, ``"evening"`` or ``"night"`` per value.
    """
    day, evening, night = _band_edges(settings or ScorecardSettings())
    m = (np.asarray(minute_of_day, dtype=int) - day) % 1440
    return np.where(m < (evening - day) % 1440, "day",
                    np.where(m < (night - day) % 1440, "evening", "night")).astype(object)


def _zones(settings: ScorecardSettings, sites, what: str) -> dict[str, str]:
    if settings.site_zones is not None:
        zones = dict(settings.site_zones)
    else:
        from wfm import demo

        zones = dict(demo.SITES)
    missing = sorted({str(s) for s in sites} - set(zones))
    if missing:
        raise InputError(
            f"{what}: site(s) {', '.join(map(repr, missing))} have no time zone; known "
            f"sites: {', '.join(sorted(zones)) or 'none'}; add them to the scenario's "
            "[[sites]] (name, timezone) or pass site_zones")
    return zones


def local_minutes(times: pd.Series, sites: pd.Series, zones: Mapping[str, str]) -> np.ndarray:
    """Minutes after local midnight of UTC ``times`` at each row's site (DST-aware). [min]"""
    out = np.zeros(len(times), dtype=int)
    site_values = np.asarray(sites, dtype=object)
    times = pd.Series(times).reset_index(drop=True)
    for site in pd.unique(site_values):
        mask = site_values == site
        local = times[mask].dt.tz_convert(zones[site])
        out[mask] = (local.dt.hour * 60 + local.dt.minute).to_numpy()
    return out


def contact_bands(interactions: pd.DataFrame, agents: pd.DataFrame | None = None, *,
                  settings: ScorecardSettings | None = None) -> np.ndarray:
    """
    Shift band of every contact from its start in the site's local time.

    The site is the record's ``site``, or the agent's site where it is missing.

    Returns
    -------
    ndarray of str
        ``"day"``, ``"evening"`` or ``"night"`` per row of ``interactions``.
    """
    settings = settings or ScorecardSettings()
    sites = _contact_sites(interactions, agents)
    zones = _zones(settings, pd.unique(sites), "interactions")
    return band_of_minute(local_minutes(interactions["started_at"], sites, zones), settings)


def _contact_sites(interactions: pd.DataFrame, agents: pd.DataFrame | None) -> np.ndarray:
    if "site" in interactions.columns:
        sites = interactions["site"].astype(object).to_numpy()
    else:
        sites = np.full(len(interactions), None, dtype=object)
    missing = pd.isna(sites)
    if missing.any() and agents is not None:
        site_of = dict(zip(agents["agent_id"], agents["site"], strict=True))
        sites = sites.copy()
        sites[missing] = interactions["agent_id"].to_numpy()[missing]
        sites[missing] = [site_of.get(a) for a in sites[missing]]
        missing = pd.isna(sites)
    if missing.any():
        rows = np.flatnonzero(missing)[:5]
        raise InputError(
            f"interactions: {int(missing.sum())} contact(s) without a site (rows "
            f"{', '.join(map(str, rows))}) whose agent is not in the agents table either; "
            "fill the site column or add the agents")
    return sites


# ---------------------------------------------------------------------------------------
# cells and design


@dataclass
class _Cells:
    """Sufficient statistics of one KPI per cell, sorted by agent."""

    agent: np.ndarray  # int index into the agents list, sorted
    factors: pd.DataFrame  # covariates per cell
    n: np.ndarray  # trials / contacts (poisson: contacts too)
    y: np.ndarray  # successes (binomial), mean (gamma, gaussian), counts (poisson)
    ss: np.ndarray | None = None  # within-cell sum of squared deviations
    exposure: np.ndarray | None = None  # poisson: paid hours
    numeric: tuple[str, ...] = ()  # factors that are numbers, not categories


def _design(cells: _Cells) -> tuple[np.ndarray, list[str]]:
    """Intercept + treatment dummies (most frequent level as reference) + numbers; a
    factor that is a function of an earlier factor, or has one level, is left out."""
    cols, names = [np.ones(len(cells.n))], ["intercept"]
    kept: list[str] = []
    weight = cells.n if cells.exposure is None else cells.exposure
    for f in cells.factors.columns:
        values = cells.factors[f]
        if f in cells.numeric:
            v = values.to_numpy(dtype=float)
            if np.nanstd(v) > 0:
                cols.append(v - np.average(v, weights=np.maximum(weight, 1e-12)))
                names.append(f)
            continue
        levels = pd.Series(weight).groupby(values.to_numpy()).sum().sort_values(
            ascending=False)
        if len(levels) < 2:
            continue
        if any(cells.factors.groupby(k)[f].nunique().max() <= 1 for k in kept):
            continue  # implied by a factor already in (language by market)
        kept.append(f)
        for level in levels.index[1:]:
            cols.append((values.to_numpy() == level).astype(float))
            names.append(f"{f}={level}")
    return np.column_stack(cols), names


# ---------------------------------------------------------------------------------------
# empirical Bayes on an adaptive grid per agent

_U = np.linspace(-7.0, 7.0, 113)  # grid in units of the local scale
_WEAK_SD = 3.0  # the unshrunk estimate keeps this weak prior so it stays finite


def _segment_sum(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Sums over consecutive row segments (cells sorted by agent)."""
    return np.add.reduceat(values, starts, axis=0)


class _Likelihood:
    """Log-likelihood of each agent's effect given its cells and the exposure model."""

    def __init__(self, family: str, cells: _Cells, eta: np.ndarray, scale: float,
                 n_agents: int):
        self.family, self.cells, self.eta, self.scale = family, cells, eta, scale
        agent = cells.agent
        self.present = np.unique(agent)
        self.starts = np.searchsorted(agent, self.present)
        self.index = np.searchsorted(self.present, agent)  # cell -> row of present
        n = cells.n
        self.n_agent = np.bincount(agent, weights=n, minlength=n_agents)[self.present]
        if family == "gaussian":
            self.mean_resid = (_segment_sum(n * (cells.y - eta), self.starts)
                               / self.n_agent)
        elif family == "gamma":
            self.s = _segment_sum(n * cells.y * np.exp(-eta), self.starts)
        elif family == "poisson":
            self.k = _segment_sum(cells.y, self.starts)
            self.m = _segment_sum(cells.exposure * np.exp(eta), self.starts)

    def loglik(self, theta: np.ndarray) -> np.ndarray:
        """log L per present agent (rows) and grid point (columns of ``theta``)."""
        f = self.family
        if f == "gaussian":
            return -self.n_agent[:, None] * (self.mean_resid[:, None] - theta) ** 2 / (
                2 * self.scale)
        if f == "gamma":
            return -(self.s[:, None] * np.exp(-theta) + self.n_agent[:, None] * theta) / (
                self.scale)
        if f == "poisson":
            return self.k[:, None] * theta - self.m[:, None] * np.exp(theta)
        c = self.cells
        x = self.eta[:, None] + theta[self.index]
        per_cell = c.y[:, None] * x - c.n[:, None] * np.logaddexp(0.0, x)
        return _segment_sum(per_cell, self.starts)

    def derivatives(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and second derivative of log L at one ``theta`` per present agent."""
        f = self.family
        if f == "gaussian":
            info = self.n_agent / self.scale
            return info * (self.mean_resid - theta), -info
        if f == "gamma":
            g = (self.s * np.exp(-theta) - self.n_agent) / self.scale
            return g, -self.s * np.exp(-theta) / self.scale
        if f == "poisson":
            mu = self.m * np.exp(theta)
            return self.k - mu, -mu
        c = self.cells
        p = special.expit(self.eta + theta[self.index])
        g = _segment_sum(c.y - c.n * p, self.starts)
        h = -_segment_sum(c.n * p * (1 - p), self.starts)
        return g, h

    def mode(self, prior_mean, prior_var, start=None) -> tuple[np.ndarray, np.ndarray]:
        """Mode of likelihood x Normal(prior_mean, prior_var) and the local sd (Newton)."""
        theta = np.zeros(len(self.present)) if start is None else np.array(start, float)
        for _ in range(60):
            g, h = self.derivatives(theta)
            g = g - (theta - prior_mean) / prior_var
            h = h - 1.0 / prior_var
            step = np.clip(-g / h, -2.0, 2.0)
            theta = theta + step
            if np.max(np.abs(step)) < 1e-9:
                break
        _, h = self.derivatives(theta)
        return theta, 1.0 / np.sqrt(-h + 1.0 / prior_var)


@dataclass
class _Posterior:
    theta: np.ndarray  # grid per present agent (agents x points)
    weight: np.ndarray  # normalised posterior weights on the grid
    mean: np.ndarray
    sd: np.ndarray
    unshrunk: np.ndarray
    unshrunk_sd: np.ndarray
    mu: float
    tau: float

    def quantile(self, q: float) -> np.ndarray:
        cdf = np.cumsum(self.weight, axis=1) - self.weight / 2
        out = np.empty(len(self.theta))
        for i in range(len(self.theta)):
            out[i] = np.interp(q, cdf[i], self.theta[i])
        return out

    def expect(self, values: np.ndarray) -> np.ndarray:
        return np.sum(self.weight * values, axis=1)


def _log_normal_pdf(x, mu, tau):
    return -0.5 * ((x - mu) / tau) ** 2 - np.log(tau)


def _empirical_bayes(lik: _Likelihood, start: tuple[float, float] | None = None,
                     grid: tuple[np.ndarray, np.ndarray] | None = None) -> _Posterior:
    """
    Marginal maximum likelihood of (mu, tau) and each agent's posterior on a grid.

    Each agent's grid is centred on the mode of its posterior and scaled by the
    posterior's curvature (found for the current (mu, tau), then refined until the
    grid stops moving), so both agents with 5 and with 5,000 contacts are resolved.
    ``start`` and ``grid`` warm-start from a previous fit of the same cells.
    """
    # binomial and Poisson effects can be infinite (no complaint at all): a very weak
    # prior keeps them finite; the others always have a finite maximum
    weak_var = _WEAK_SD ** 2 if lik.family in ("binomial", "poisson") else 1e12
    weak_mode, weak_sd = lik.mode(0.0, weak_var)
    if start is None:
        mu = float(np.average(weak_mode, weights=1 / weak_sd ** 2))
        tau = float(np.sqrt(max(np.var(weak_mode) - np.mean(weak_sd ** 2), 1e-4)))
    else:
        mu, tau = start
    center, scale = grid if grid is not None else (weak_mode, weak_sd)
    for _ in range(6):
        theta = center[:, None] + scale[:, None] * _U
        ll = lik.loglik(theta)
        ll = ll - ll.max(axis=1, keepdims=True)
        lik_w = np.exp(ll) * scale[:, None]  # uniform spacing: dtheta = scale * du

        def negative(params, theta=theta, lik_w=lik_w):
            m, log_t = params
            t = math.exp(log_t)
            joint = lik_w * np.exp(_log_normal_pdf(theta, m, t))
            marginal = joint.sum(axis=1) + 1e-300
            w = joint / marginal[:, None]
            u = (theta - m) / t
            gradient = [-np.sum(w * u) / t, -np.sum(w * (u * u - 1.0))]
            return -np.sum(np.log(marginal)), np.array(gradient)

        res = optimize.minimize(negative, x0=[mu, math.log(max(tau, 1e-4))], jac=True,
                                method="L-BFGS-B",
                                bounds=[(None, None), (math.log(1e-4), math.log(1e3))])
        mu, tau = float(res.x[0]), float(math.exp(res.x[1]))
        new_center, new_scale = lik.mode(mu, tau ** 2, start=center)
        moved = np.max(np.abs(new_center - center) / new_scale
                       + np.abs(np.log(new_scale / scale)))
        center, scale = new_center, new_scale
        if moved < 0.1:
            break
    theta = center[:, None] + scale[:, None] * _U
    ll = lik.loglik(theta) + _log_normal_pdf(theta, mu, tau)
    w = np.exp(ll - ll.max(axis=1, keepdims=True))
    w = w / w.sum(axis=1, keepdims=True)
    mean = np.sum(w * theta, axis=1)
    sd = np.sqrt(np.maximum(np.sum(w * (theta - mean[:, None]) ** 2, axis=1), 0.0))
    return _Posterior(theta, w, mean, sd, weak_mode, weak_sd, mu, tau)


# ---------------------------------------------------------------------------------------
# fitting one KPI


def _family(family: str):
    import statsmodels.api as sm

    return {
        "binomial": lambda: sm.families.Binomial(),
        "gamma": lambda: sm.families.Gamma(link=sm.families.links.Log()),
        "gaussian": lambda: sm.families.Gaussian(),
        "poisson": lambda: sm.families.Poisson(),
    }[family]()


def _glm(family: str, X: np.ndarray, n, y, exposure, offset, start=None):
    """statsmodels GLM on cell statistics; Newton steps from ``start`` when given (the
    p x p solves stay cheap on a busy machine, where IRLS's least squares do not)."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    fam = _family(family)
    if family == "binomial":
        model = sm.GLM(y / n, X, family=fam, var_weights=n, offset=offset)
    elif family == "poisson":
        model = sm.GLM(y, X, family=fam, offset=offset + np.log(exposure))
    else:
        endog = np.maximum(y, 0.5) if family == "gamma" else y
        model = sm.GLM(endog, X, family=fam, var_weights=n, offset=offset)
    if start is None:
        return model.fit()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        res = model.fit(method="newton", start_params=start, maxiter=50, disp=False)
    if not res.mle_retvals.get("converged", False):
        res = model.fit(start_params=start)  # IRLS, the robust way
    return res


def _glm_pooled(family: str, cells: _Cells, X: np.ndarray):
    """The GLM without agent effects, on cells merged over agents: the same estimates
    as on all cells (the statistics add up), in a fraction of the time."""
    key = X @ np.random.default_rng(12345).uniform(1.0, 2.0, X.shape[1])
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    rows = X[first]
    m = len(rows)
    n = np.bincount(inverse, weights=cells.n, minlength=m)
    if family in ("binomial", "poisson"):
        y = np.bincount(inverse, weights=cells.y, minlength=m)
    else:
        y = np.bincount(inverse, weights=cells.n * cells.y, minlength=m) / n
    exposure = (np.bincount(inverse, weights=cells.exposure, minlength=m)
                if family == "poisson" else None)
    return _glm(family, rows, n, y, exposure, np.zeros(m))


def _scale(family: str, cells: _Cells, mu_cell: np.ndarray, p: int) -> float:
    """Dispersion from the full data's sufficient statistics (not only cell means)."""
    df = max(float(cells.n.sum()) - p, 1.0)
    if family == "gamma":
        return float(np.sum((cells.ss + cells.n * (cells.y - mu_cell) ** 2) / mu_cell ** 2) / df)
    if family == "gaussian":
        return float(np.sum(cells.ss + cells.n * (cells.y - mu_cell) ** 2) / df)
    return 1.0


def _inverse_link(family: str, x):
    if family == "binomial":
        return special.expit(x)
    if family in ("gamma", "poisson"):
        return np.exp(x)
    return x


@dataclass
class _Fit:
    kpi: str
    family: str
    cells: _Cells
    eta: np.ndarray  # exposure linear predictor per cell (agent effect excluded)
    post: _Posterior
    lik: _Likelihood
    model: KpiModel


def _fit_kpi(kpi: str, cells: _Cells, n_agents: int, iterations: int) -> _Fit:
    family = KPIS[kpi].family
    X, names = _design(cells)
    res = _glm_pooled(family, cells, X)
    offset = np.zeros(len(cells.n))
    start = grid = None
    for it in range(iterations + 1):
        params = np.asarray(res.params)
        eta = X @ params
        scale = _scale(family, cells, _inverse_link(family, eta + offset), X.shape[1])
        lik = _Likelihood(family, cells, eta, scale, n_agents)
        post = _empirical_bayes(lik, start, grid)
        start = (post.mu, post.tau)
        grid = (post.theta[:, len(_U) // 2], (post.theta[:, -1] - post.theta[:, 0])
                / (_U[-1] - _U[0]))
        if it < iterations:  # refit the exposure with the agents' effects as offset
            offset = (post.mean - post.mu)[lik.index]
            res = _glm(family, X, cells.n, cells.y, cells.exposure, offset, start=params)
    bse = np.asarray(res.bse)
    if family in ("gamma", "gaussian"):  # statsmodels scaled them by the cell-mean dispersion
        bse = bse * math.sqrt(scale / max(float(res.scale), 1e-300))
    coefficients = pd.DataFrame({"term": names, "estimate": params, "std_error": bse})
    model = KpiModel(kpi, family, coefficients, post.mu, post.tau, scale, len(cells.n),
                     len(lik.present))
    return _Fit(kpi, family, cells, eta, post, lik, model)


# ---------------------------------------------------------------------------------------
# per-agent values of a fitted KPI


def _reference_effect(fit: _Fit) -> float:
    """The effect that makes the model's expected total equal the observed total over
    all cells (indirect standardisation: the operation's own average, contact-weighted,
    as the reference of "expected")."""
    c, family = fit.cells, fit.family
    if family == "gaussian":
        return float(np.sum(c.n * (c.y - fit.eta)) / np.sum(c.n))
    if family == "gamma":
        return float(math.log(np.sum(c.n * c.y) / np.sum(c.n * np.exp(fit.eta))))
    if family == "poisson":
        return float(math.log(max(np.sum(c.y), 1e-12) / np.sum(c.exposure * np.exp(fit.eta))))
    observed = float(np.sum(c.y))
    if observed <= 0 or observed >= np.sum(c.n):
        return fit.post.mu

    def gap(d):
        return float(np.sum(c.n * special.expit(fit.eta + d))) - observed

    return float(optimize.brentq(gap, -30.0, 30.0))


_GH_X, _GH_W = np.polynomial.hermite.hermgauss(40)


def _agent_values(fit: _Fit, interval: float, higher_is_better: bool) -> pd.DataFrame:
    """raw, expected, adjusted (+ interval), difference (+ interval), z, unshrunk."""
    c, post, lik, family = fit.cells, fit.post, fit.lik, fit.family
    mu, tau = post.mu, post.tau
    idx, starts = lik.index, lik.starts
    lo_q, hi_q = (1 - interval) / 2, 1 - (1 - interval) / 2
    theta_lo, theta_hi = post.quantile(lo_q), post.quantile(hi_q)
    weight = c.exposure if family == "poisson" else c.n
    total_weight = _segment_sum(weight, starts)

    # raw value of the agent
    if family == "binomial":
        raw = _segment_sum(c.y, starts) / lik.n_agent
    elif family == "poisson":
        raw = _segment_sum(c.y, starts) / total_weight
    else:
        raw = _segment_sum(c.n * c.y, starts) / lik.n_agent

    # expected: the whole operation's performance on this agent's cells
    delta = _reference_effect(fit)
    expected = _segment_sum(weight * _inverse_link(family, fit.eta + delta), starts) / (
        total_weight)

    # own-mix value as a function of theta (per agent and grid point)
    def own(theta_rows: np.ndarray) -> np.ndarray:
        if family == "binomial":
            x = special.expit(fit.eta[:, None] + theta_rows[idx])
            return _segment_sum(weight[:, None] * x, starts) / total_weight[:, None]
        if family in ("gamma", "poisson"):
            base = _segment_sum(weight * np.exp(fit.eta), starts) / total_weight
            return base[:, None] * np.exp(theta_rows)
        base = _segment_sum(weight * fit.eta, starts) / total_weight
        return base[:, None] + theta_rows

    difference = post.expect(own(post.theta)) - expected
    difference_lo = own(theta_lo[:, None])[:, 0] - expected
    difference_hi = own(theta_hi[:, None])[:, 0] - expected

    # adjusted: the agent's effect on the whole operation's mix (common scale)
    def reference(theta: np.ndarray) -> np.ndarray:
        if family in ("gamma", "poisson"):
            return np.average(np.exp(fit.eta), weights=weight) * np.exp(theta)
        if family == "gaussian":
            return np.average(fit.eta, weights=weight) + theta
        keys, inverse = np.unique(np.round(fit.eta, 9), return_inverse=True)
        w = np.bincount(inverse, weights=weight)
        grid = np.linspace(theta.min() - 1e-9, theta.max() + 1e-9, 1201)
        values = (special.expit(keys[:, None] + grid) * w[:, None]).sum(axis=0) / w.sum()
        return np.interp(theta, grid, values)

    adjusted = post.expect(reference(post.theta))
    sign = 1.0 if higher_is_better else -1.0
    safe_tau = max(tau, 1e-12)
    return pd.DataFrame({
        "agent": lik.present,
        "n": np.rint(lik.n_agent if family != "poisson" else _segment_sum(c.y, starts)
                     ).astype("int64"),
        "exposure_h": total_weight if family == "poisson" else np.nan,
        "raw": raw,
        "expected": expected,
        "adjusted": adjusted,
        "adjusted_lo": reference(theta_lo),
        "adjusted_hi": reference(theta_hi),
        "difference": difference,
        "difference_lo": difference_lo,
        "difference_hi": difference_hi,
        "effect": post.mean - mu,
        "effect_sd": post.sd,
        "z": sign * (post.mean - mu) / safe_tau,
        "z_sd": post.sd / safe_tau,
        "unshrunk_effect": post.unshrunk - mu,
        "unshrunk_z": sign * (post.unshrunk - mu) / safe_tau,
        "unshrunk_z_sd": post.unshrunk_sd / safe_tau,
    })


# ---------------------------------------------------------------------------------------
# from records to cells


def _as_float(series: pd.Series) -> np.ndarray:
    """Numbers or booleans (possibly missing) as float with NaN."""
    if pd.api.types.is_bool_dtype(series.dtype) and series.dtype != object:
        return series.to_numpy(dtype=float)
    if series.dtype == object:
        series = series.map(lambda v: np.nan if v is None else float(v))
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _contact_cells(interactions: pd.DataFrame, agent_index: np.ndarray,
                   band: np.ndarray) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One row per cell (agent x band x market x language x channel [x contact type])
    with the sums each KPI needs."""
    keys = pd.DataFrame({
        "agent": agent_index,
        "band": band,
        "market": interactions["market"].astype(object).fillna("?").to_numpy(),
        "language": interactions["language"].astype(object).fillna("?").to_numpy(),
        "channel": interactions["channel"].astype(object).fillna("?").to_numpy(),
    })
    if "contact_type" in interactions.columns and interactions["contact_type"].notna().any():
        keys["contact_type"] = interactions["contact_type"].astype(object).fillna(
            "unknown").to_numpy()
    grouped = keys.groupby(list(keys.columns), sort=True)
    code = grouped.ngroup().to_numpy()
    cells = grouped.size().reset_index().drop(columns=0)
    m = len(cells)

    def total(values, where=None):
        v = np.where(np.isnan(values), 0.0, values) if where is None else np.where(where,
                                                                                     values, 0)
        return np.bincount(code, weights=v, minlength=m)

    def count(valid):
        return np.bincount(code, weights=valid.astype(float), minlength=m)

    handle = _as_float(interactions["handle_s"])
    csat = _as_float(interactions["csat"])
    qa = _as_float(interactions["qa_score"])
    sums = {}
    ok = ~np.isnan(handle)
    sums["aht_s"] = (count(ok), total(handle), total(handle ** 2))
    for kpi, column in (("fcr", "resolved_first_contact"), ("complaint_rate", "complaint"),
                        ("escalation_rate", "escalated")):
        v = _as_float(interactions[column])
        sums[kpi] = (count(~np.isnan(v)), total(v))
    rated = ~np.isnan(csat)
    sums["csat"] = (count(rated), count(rated & (csat >= 4)))
    reviewed = ~np.isnan(qa)
    sums["qa_score"] = (count(reviewed), total(qa), total(qa ** 2))
    return cells, sums


def _kpi_cells(kpi: str, cells: pd.DataFrame, sums) -> _Cells:
    family = KPIS[kpi].family
    n = sums[kpi][0]
    keep = n > 0
    factors = cells.loc[keep, [c for c in cells.columns if c != "agent"]].reset_index(drop=True)
    agent = cells["agent"].to_numpy()[keep]
    n = n[keep]
    if family == "binomial":
        return _Cells(agent, factors, n, sums[kpi][1][keep])
    s, s2 = sums[kpi][1][keep], sums[kpi][2][keep]
    mean = s / n
    return _Cells(agent, factors, n, mean, ss=np.maximum(s2 - s * mean, 0.0))


def _wall_minutes(times: pd.Series, sites: np.ndarray, zones: Mapping[str, str]) -> np.ndarray:
    """Local wall-clock minutes since 1970-01-01 (local) of UTC ``times`` per site."""
    out = np.zeros(len(times), dtype=np.int64)
    times = pd.Series(times).reset_index(drop=True)
    for site in pd.unique(sites):
        mask = sites == site
        local = times[mask].dt.tz_convert(zones[site]).dt.tz_localize(None)
        out[mask] = local.to_numpy(dtype="datetime64[m]").astype(np.int64)
    return out


def _window_overlap(start: np.ndarray, end: np.ndarray, a: int, b: int) -> np.ndarray:
    """Minutes of [start, end) (wall-clock minutes) inside the daily window [a, b) local;
    a window with b <= a wraps past midnight. Shifts up to 48 h long."""
    length = (b - a) % 1440 or 1440
    day0 = start // 1440
    total = np.zeros(len(start), dtype=float)
    for d in (-1, 0, 1, 2):
        w0 = (day0 + d) * 1440 + a
        w1 = w0 + length
        total += np.clip(np.minimum(end, w1) - np.maximum(start, w0), 0, None)
    return total


def _shift_band_hours(shifts: pd.DataFrame, zones, settings) -> np.ndarray:
    """Paid hours of each shift in each band (shifts x 3), split by local wall clock."""
    day, evening, night = _band_edges(settings)
    sites = shifts["site"].astype(object).to_numpy()
    s = _wall_minutes(shifts["start_utc"], sites, zones)
    e = _wall_minutes(shifts["end_utc"], sites, zones)
    e = np.maximum(e, s + 1)
    parts = np.column_stack([_window_overlap(s, e, day, evening),
                             _window_overlap(s, e, evening, night),
                             _window_overlap(s, e, night, day)])
    frac = parts / np.maximum(parts.sum(axis=1, keepdims=True), 1e-12)
    return frac * shifts["paid_min"].to_numpy(dtype=float)[:, None] / 60.0


def _assign_shifts(interactions: pd.DataFrame, shifts: pd.DataFrame) -> np.ndarray:
    """Row of ``shifts`` in which each contact started (-1 when none)."""
    left = pd.DataFrame({"agent_id": interactions["agent_id"].astype(object).to_numpy(),
                         "t": interactions["started_at"].to_numpy(dtype="datetime64[ns]"),
                         "row": np.arange(len(interactions))}).sort_values("t")
    right = pd.DataFrame({"agent_id": shifts["agent_id"].astype(object).to_numpy(),
                          "t": shifts["start_utc"].to_numpy(dtype="datetime64[ns]"),
                          "end": shifts["end_utc"].to_numpy(dtype="datetime64[ns]"),
                          "shift": np.arange(len(shifts))}).sort_values("t")
    merged = pd.merge_asof(left, right, on="t", by="agent_id", direction="backward")
    inside = merged["shift"].notna().to_numpy() & (merged["t"] < merged["end"]).to_numpy()
    out = np.full(len(interactions), -1, dtype=np.int64)
    out[merged["row"].to_numpy()[inside]] = merged["shift"].to_numpy()[inside].astype(np.int64)
    return out


def _positions(values, universe) -> np.ndarray:
    """Index of each value in ``universe`` (-1 when absent), fast for Arrow strings."""
    return pd.Index(np.asarray(universe, dtype=object)).get_indexer(
        np.asarray(values, dtype=object))


def _productivity_cells(interactions, shifts, agent_ids, band, aht_fit: _Fit | None,
                        zones, settings) -> tuple[_Cells | None, dict]:
    """Cells agent x band (x nesting) of contacts handled and paid hours worked."""
    info: dict = {}
    pos = {a: i for i, a in enumerate(agent_ids)}
    shifts = shifts[shifts["agent_id"].isin(pos)].reset_index(drop=True)
    if shifts.empty:
        return None, {"shifts": 0}
    hours = _shift_band_hours(shifts, zones, settings)
    shift_of = _assign_shifts(interactions, shifts)
    inside = shift_of >= 0
    info["contacts_outside_shifts"] = int((~inside).sum())
    nesting = (shifts["nesting"].fillna(False).astype(bool).to_numpy()
               if "nesting" in shifts.columns else np.zeros(len(shifts), dtype=bool))
    shift_agent = _positions(shifts["agent_id"], agent_ids)
    # exposure per agent x band x nesting
    n_agents = len(agent_ids)
    shape = (n_agents, 3, 2)
    exposure = np.zeros(shape)
    for b in range(3):
        np.add.at(exposure, (shift_agent, b, nesting.astype(int)), hours[:, b])
    count = np.zeros(shape)
    c_agent = _positions(interactions["agent_id"], agent_ids)[inside]
    c_band = _positions(band[inside], BANDS)
    c_nest = nesting[shift_of[inside]].astype(int)
    np.add.at(count, (c_agent, c_band, c_nest), 1.0)
    a, b, k = np.nonzero(exposure > 0)
    dropped = count.sum() - count[a, b, k].sum()
    info["contacts_in_zero_exposure_cells"] = int(dropped)
    # contact mix: expected handle time of the contacts handled (average agent), log
    mix = np.full((n_agents, 3), np.nan)
    if aht_fit is not None:
        c = aht_fit.cells
        w = c.n * np.exp(aht_fit.eta)
        cb = (_positions(c.factors["band"], BANDS) if "band" in c.factors
              else np.zeros(len(w), dtype=int))
        num, den = np.zeros((n_agents, 3)), np.zeros((n_agents, 3))
        np.add.at(num, (c.agent, cb), w)
        np.add.at(den, (c.agent, cb), c.n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = num / den
            agent_mix = num.sum(axis=1) / den.sum(axis=1)
        overall = np.nansum(num) / np.nansum(den)
        mix = np.where(np.isnan(mix), agent_mix[:, None], mix)
        mix = np.where(np.isnan(mix), overall, mix)
    factors = pd.DataFrame({"band": np.array(BANDS, dtype=object)[b]})
    numeric: tuple[str, ...] = ()
    if nesting.any():
        factors["nesting"] = np.where(k == 1, "nesting", "regular").astype(object)
    if aht_fit is not None:
        factors["log_mix_aht"] = np.log(mix[a, b])
        numeric = ("log_mix_aht",)
    cells = _Cells(a, factors, count[a, b, k], count[a, b, k], exposure=exposure[a, b, k],
                   numeric=numeric)
    info["shifts"] = int(len(shifts))
    info["paid_hours"] = float(exposure.sum())
    return cells, info


# ---------------------------------------------------------------------------------------
# the scorecards


def _validate_inputs(interactions, agents, shifts):
    schema.validate(interactions, "interactions", source="interactions")
    schema.validate(agents, "agents", source="agents")
    if shifts is not None:
        schema.validate(shifts, "roster", source="shifts")
    if interactions.empty:
        raise InputError("interactions: no contacts to score; give per-contact records "
                         "(contract 'interactions') with at least one row")
    known = set(agents["agent_id"])
    unknown = sorted(set(interactions["agent_id"]) - known)
    if unknown:
        raise InputError(
            f"interactions: {len(unknown)} agent(s) not in the agents table "
            f"({', '.join(map(repr, unknown[:5]))}{' ...' if len(unknown) > 5 else ''}); "
            "every agent needs a row there (site, role, ...): add them or drop their contacts")


def _format(kpi: str, value: float, *, signed: bool = False) -> str:
    """A KPI value (or a difference, ``signed``) in the unit people read."""
    if not np.isfinite(value):
        return "n/a"
    unit = KPIS[kpi].unit
    sgn = "+" if signed and value > 0 else ""
    if unit == "s":
        return f"{sgn}{value:.0f} s"
    if unit == "fraction":
        digits = 2 if kpi in ("complaint_rate", "escalation_rate") else 1
        if signed:
            return f"{sgn}{value * 100:.{digits}f} points"
        return f"{value * 100:.{digits}f} %"
    if unit == "points":
        return f"{sgn}{value:.1f}" + (" points" if signed else "")
    return f"{sgn}{value:.2f}" + (" contacts/h" if not signed else "")


def _bare(kpi: str, value: float) -> str:
    unit = KPIS[kpi].unit
    if unit == "s":
        return f"{value:.0f}"
    if unit == "fraction":
        return f"{value * 100:.{2 if kpi in ('complaint_rate', 'escalation_rate') else 1}f}"
    return f"{value:.{1 if unit == 'points' else 2}f}"


def _unit_word(kpi: str) -> str:
    return {"s": "s", "fraction": "points", "points": "points", "contacts/h": "contacts/h"}[
        KPIS[kpi].unit]


def explain_kpi(kpi: str, row, *, interval: float = 0.9, few_contacts: int = 50) -> str:
    """The sentence of one agent and KPI (``row`` holds n, raw, expected, difference...)."""
    spec = KPIS[kpi]
    if row["n"] == 0 or not np.isfinite(row["raw"]):
        return f"{spec.label}: no {spec.counts}; scored as an average agent."
    d = row["difference"]
    size = abs(d)
    tiny = size < 0.005 * max(abs(row["expected"]), 1e-12)
    if tiny:
        where = "level with peers like you"
    else:
        amount = _format(kpi, size)
        if spec.unit == "fraction":
            amount = amount.replace(" %", " points")
        elif spec.unit == "points":
            amount += " points"
        where = f"{amount} {'above' if d > 0 else 'below'} peers like you"
    extra = ""
    if kpi == "contacts_per_hour" and np.isfinite(row.get("exposure_h", np.nan)):
        extra = f" over {row['exposure_h']:,.0f} paid hours"
    text = (f"{spec.label} {_format(kpi, row['raw'])} on {int(row['n']):,} {spec.counts}"
            f"{extra}; expected {_format(kpi, row['expected'])} for your shifts and contact mix; "
            f"{where} ({interval * 100:.0f} % interval {_bare(kpi, row['difference_lo'])}.."
            f"{_bare(kpi, row['difference_hi'])} {_unit_word(kpi)}).")
    if row["n"] < few_contacts:
        text += (f" Only {int(row['n'])} {spec.counts}: the estimate is pulled towards the "
                 "average agent.")
    return text


def _weights(role: str, available: list[str], settings: ScorecardSettings) -> dict[str, float]:
    if role not in settings.role_weights:
        raise InputError(f"scorecard settings: no composite weights for role {role!r}; "
                         f"known roles: {', '.join(settings.role_weights)}")
    group_w = dict(zip(GROUPS, settings.role_weights[role], strict=True))
    out = {}
    groups_present = {KPIS[k].group for k in available
                      if settings.share(k) > 0}
    total_group = sum(group_w[g] for g in groups_present) or 1.0
    for k in available:
        g = KPIS[k].group
        in_group = sum(settings.share(j) for j in available if KPIS[j].group == g)
        share = settings.share(k) / in_group if in_group > 0 else 0.0
        out[k] = group_w[g] / total_group * share if g in groups_present else 0.0
    return out


def _standardise(values: np.ndarray, has: np.ndarray, sign: float) -> np.ndarray:
    v = np.where(has, values, np.nan)
    sd = np.nanstd(v)
    if not np.isfinite(sd) or sd == 0:
        return np.zeros(len(v))
    return np.where(has, sign * (v - np.nanmean(v)) / sd, 0.0)


def _ranks(score: np.ndarray) -> np.ndarray:
    """1 = best (highest score); ties share the better rank."""
    return stats.rankdata(-score, method="min").astype("int64")


def scorecards(interactions: pd.DataFrame, agents: pd.DataFrame, *,
               settings: ScorecardSettings | None = None,
               shifts: pd.DataFrame | None = None) -> ScorecardResult:
    """
    Shift-adjusted KPI scorecards and role-weighted composites (see the module notes).

    Parameters
    ----------
    interactions : DataFrame
        Per-contact records, contract ``interactions`` (optional ``contact_type``).
    agents : DataFrame
        Contract ``agents``: site and role of every agent in ``interactions``.
    settings : ScorecardSettings, optional
        Bands, site zones, weights, targets, interval.
    shifts : DataFrame, optional
        Worked shifts (contract ``roster``, optional ``nesting`` flag) for contacts per
        productive hour (productive hours = paid hours) and the roster fairness; the
        KPI is left out without them.

    Returns
    -------
    ScorecardResult
        ``kpis`` (contract ``scorecard`` plus intervals, scores and a sentence per row,
        sorted by agent and KPI), ``composite`` (one row per agent with at least one
        contact: score, interval, rank, rank interval, raw and unshrunk scores,
        sentence), the fitted ``models`` and the roster fairness of ``shifts``.

    Raises
    ------
    InputError
        Invalid records, agents missing from ``agents``, sites without a time zone,
        bad settings.
    """
    t0 = time.perf_counter()
    settings = settings or ScorecardSettings()
    _band_edges(settings)
    _validate_inputs(interactions, agents, shifts)
    agents = schema.sort_frame(agents, "agents")
    agent_ids = agents["agent_id"].astype(object).to_numpy()
    sites = _contact_sites(interactions, agents)
    zones = _zones(settings, set(pd.unique(sites)) | set(agents["site"]), "scorecards")
    band = band_of_minute(local_minutes(interactions["started_at"], sites, zones), settings)
    agent_index = _positions(interactions["agent_id"], agent_ids)

    cells, sums = _contact_cells(interactions, agent_index, band)
    fits: dict[str, _Fit] = {}
    for kpi in ("aht_s", "fcr", "csat", "qa_score", "complaint_rate", "escalation_rate"):
        kc = _kpi_cells(kpi, cells, sums)
        if len(kc.n) and kc.n.sum() > 0:
            fits[kpi] = _fit_kpi(kpi, kc, len(agent_ids), settings.iterations)
    diagnostics: dict = {"contacts": int(len(interactions))}
    if shifts is not None and len(shifts):
        pc, info = _productivity_cells(interactions, shifts, agent_ids, band,
                                       fits.get("aht_s"), zones, settings)
        diagnostics.update(info)
        if pc is not None and pc.y.sum() > 0:
            fits["contacts_per_hour"] = _fit_kpi("contacts_per_hour", pc, len(agent_ids),
                                                 settings.iterations)

    # -- per agent and KPI
    scored = np.flatnonzero(np.bincount(agent_index, minlength=len(agent_ids)) > 0)
    n_contacts = np.bincount(agent_index, minlength=len(agent_ids))
    night = np.bincount(agent_index, weights=(band == "night").astype(float),
                        minlength=len(agent_ids))
    evening = np.bincount(agent_index, weights=(band == "evening").astype(float),
                          minlength=len(agent_ids))
    frames = []
    available = [k for k in KPIS if k in fits]
    role_of = agents["role"].astype(object).to_numpy()
    weights = {r: _weights(r, available, settings) for r in pd.unique(role_of[scored])}
    for kpi in available:
        fit = fits[kpi]
        spec = KPIS[kpi]
        values = _agent_values(fit, settings.interval, spec.higher_is_better)
        full = pd.DataFrame({"agent": scored}).merge(values, on="agent", how="left")
        missing = full["n"].isna().to_numpy()
        full["n"] = full["n"].fillna(0).astype("int64")
        # an agent without data for this KPI is shown at the average, with the prior's width
        prior = _prior_reference(fit, settings.interval)
        for col, value in (("adjusted", prior[0]), ("adjusted_lo", prior[1]),
                           ("adjusted_hi", prior[2]), ("z", 0.0), ("z_sd", 1.0),
                           ("effect", 0.0), ("effect_sd", fit.post.tau)):
            full.loc[missing, col] = value
        low, high = settings.target(kpi)
        adj = full["adjusted"].to_numpy()
        meets = np.ones(len(full), dtype=bool)
        if np.isfinite(low):
            meets &= adj >= low
        if np.isfinite(high):
            meets &= adj <= high
        has_target = np.isfinite(low) or np.isfinite(high)
        target = (high if not spec.higher_is_better and np.isfinite(high) else low) \
            if has_target else math.nan
        full["kpi"] = kpi
        full["agent_id"] = agent_ids[full["agent"].to_numpy()]
        full["role"] = role_of[full["agent"].to_numpy()]
        full["unit"] = spec.unit
        full["target"] = float(target)
        full["target_low"], full["target_high"] = low, high
        full["meets_target"] = pd.array(np.where(missing | ~has_target, None, meets),
                                        dtype="boolean")
        full["weight"] = [weights[r][kpi] for r in full["role"]]
        full["raw_z"] = _standardise(full["raw"].to_numpy(dtype=float), ~missing,
                                     1.0 if spec.higher_is_better else -1.0)
        # a KPI that does not tell agents apart (between-agent spread far below the
        # noise of a typical agent) adds nothing to the composite but noise
        typical_sd = float(np.median(fit.post.unshrunk_sd))
        discriminates = fit.post.tau ** 2 >= 0.05 * (fit.post.tau ** 2 + typical_sd ** 2)
        full.loc[missing, "unshrunk_z"] = 0.0
        full.loc[missing, "unshrunk_z_sd"] = 1.0
        if not discriminates:
            full["unshrunk_z"], full["unshrunk_z_sd"] = 0.0, 0.0
        full["explanation"] = [explain_kpi(kpi, r, interval=settings.interval,
                                           few_contacts=settings.few_contacts)
                               for r in full.to_dict("records")]
        frames.append(full)
    long = pd.concat(frames, ignore_index=True)
    columns = ["agent_id", "kpi", "role", "n", "raw", "expected", "adjusted", "target",
               "meets_target", "weight", "unit", "adjusted_lo", "adjusted_hi", "difference",
               "difference_lo", "difference_hi", "z", "z_sd", "raw_z", "unshrunk_z",
               "unshrunk_z_sd",
               "target_low", "target_high", "exposure_h", "explanation"]
    order = {k: i for i, k in enumerate(KPIS)}
    kpis = long.assign(_o=long["kpi"].map(order)).sort_values(["agent_id", "_o"])[columns]
    kpis = kpis.reset_index(drop=True)
    for c in ("agent_id", "kpi", "role", "unit", "explanation"):
        kpis[c] = kpis[c].astype(object)

    composite = _composite(long, agents, scored, n_contacts, night, evening, available,
                           settings)
    roster = roster_sites = None
    if shifts is not None and len(shifts):
        rf = roster_fairness(shifts, agents, site_zones=zones, night_start=settings.night_start,
                             night_end=settings.day_start)
        roster, roster_sites = rf.agents, rf.sites
    models = {k: f.model for k, f in fits.items()}
    diagnostics.update({
        "agents_scored": int(len(scored)),
        "agents_without_contacts": int(len(agent_ids) - len(scored)),
        "cells": {k: f.model.cells for k, f in fits.items()},
        "seconds": round(time.perf_counter() - t0, 2),
    })
    return ScorecardResult(kpis, composite, models, settings, roster, roster_sites,
                           diagnostics)


def _prior_reference(fit: _Fit, interval: float) -> tuple[float, float, float]:
    """The common-scale value of an average agent and its prior interval."""
    mu, tau = fit.post.mu, fit.post.tau
    z = stats.norm.ppf(1 - (1 - interval) / 2)
    w = fit.cells.exposure if fit.family == "poisson" else fit.cells.n
    out = []
    for theta in (mu, mu - z * tau, mu + z * tau):
        if fit.family in ("gamma", "poisson"):
            out.append(float(np.average(np.exp(fit.eta + theta), weights=w)))
        elif fit.family == "gaussian":
            out.append(float(np.average(fit.eta, weights=w) + theta))
        else:
            out.append(float(np.average(special.expit(fit.eta + theta), weights=w)))
    if fit.family == "binomial":  # the average agent: integrate over the agents
        draws = mu + math.sqrt(2) * tau * _GH_X
        out[0] = float(np.average(special.expit(fit.eta[:, None] + draws) @ _GH_W
                                  / math.sqrt(math.pi), weights=w))
    return out[0], out[1], out[2]


def _joint_posterior(z: np.ndarray, z_sd: np.ndarray, weights: np.ndarray):
    """
    The composite from all KPIs of an agent at once (multivariate empirical Bayes).

    Each KPI's exact posterior (mean ``z``, sd ``z_sd``, in units of the agents'
    spread, prior N(0, 1)) is turned back into the normal likelihood that gives it:
    precision ``p = 1 / z_sd^2 - 1`` and estimate ``z / (z_sd^2 p)``; a KPI with no
    information (no data, or a flat likelihood such as no complaints in a few contacts)
    gets ``p = 0``. The agents' true KPI scores are N(0, R) with R the correlation
    between KPIs, estimated by moments from the agents and kept positive definite.
    The posterior of each agent's scores given all its KPIs is then normal, and the
    composite ``w' z`` has mean ``w' m`` and variance ``w' S w``. Because the KPIs of
    one agent move together (a skilled agent is faster *and* resolves more), the
    composite is known better, and shrunk less, than each KPI alone.

    Returns
    -------
    (score, score_sd, R)
    """
    var = np.maximum(z_sd, 1e-6) ** 2
    precision = np.clip(1.0 / var - 1.0, 0.0, 1e8)
    precision = np.where(precision < 1e-6, 0.0, precision)
    estimate = np.where(precision > 0, z / np.maximum(var * precision, 1e-300), 0.0)
    reliability = precision / (1.0 + precision)
    k = z.shape[1]
    corr = np.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            w = reliability[:, i] * reliability[:, j]
            if w.sum() > 1e-9:
                # E[(z_i + e_i)(z_j + e_j)] = rho_ij when the errors are independent
                corr[i, j] = corr[j, i] = np.clip(np.sum(w * estimate[:, i] * estimate[:, j])
                                                  / w.sum(), -0.98, 0.98)
    values, vectors = np.linalg.eigh(corr)
    corr = (vectors * np.maximum(values, 0.02)) @ vectors.T
    d = np.sqrt(np.diag(corr))
    corr = corr / d[:, None] / d[None, :]
    prior_precision = np.linalg.inv(corr)
    post_precision = prior_precision[None, :, :] + precision[:, :, None] * np.eye(k)[None]
    cov = np.linalg.inv(post_precision)
    mean = np.einsum("aij,aj->ai", cov, precision * estimate)
    score = np.sum(weights * mean, axis=1)
    score_sd = np.sqrt(np.maximum(np.einsum("ai,aij,aj->a", weights, cov, weights), 0.0))
    return score, score_sd, corr


def _composite(long, agents, scored, n_contacts, night, evening, available, settings):
    agent_ids = agents["agent_id"].astype(object).to_numpy()
    n = len(scored)
    wide = {c: long.pivot(index="agent", columns="kpi", values=c).reindex(
        index=scored, columns=available).fillna(0.0).to_numpy(dtype=float)
        for c in ("z", "z_sd", "raw_z", "unshrunk_z", "unshrunk_z_sd", "weight")}
    w = wide["weight"]
    zq = stats.norm.ppf(1 - (1 - settings.interval) / 2)
    raw_score = np.sum(w * wide["raw_z"], axis=1)
    unshrunk = np.sum(w * wide["unshrunk_z"], axis=1)
    score, score_sd, _ = _joint_posterior(wide["z"], np.where(
        wide["z_sd"] > 0, wide["z_sd"], 1.0), w)
    rank = _ranks(score)
    rng = np.random.default_rng(settings.seed)
    draws = max(int(settings.rank_draws), 1)
    sim = score[None, :] + rng.standard_normal((draws, n)) * score_sd[None, :]
    sim_rank = np.argsort(np.argsort(-sim, axis=1), axis=1) + 1
    q = (1 - settings.interval) / 2
    rank_lo = np.floor(np.quantile(sim_rank, q, axis=0)).astype("int64")
    rank_hi = np.ceil(np.quantile(sim_rank, 1 - q, axis=0)).astype("int64")
    labels = [KPIS[k].label for k in available]
    counted = np.array([settings.share(k) > 0 for k in available])
    zc = np.where(counted[None, :], wide["z"], np.nan)
    best = np.nanargmax(zc, axis=1)
    worst = np.nanargmin(zc, axis=1)
    site = agents["site"].astype(object).to_numpy()[scored]
    role = agents["role"].astype(object).to_numpy()[scored]
    night_share = night[scored] / np.maximum(n_contacts[scored], 1)
    evening_share = evening[scored] / np.maximum(n_contacts[scored], 1)
    text = []
    raw_rank = _ranks(raw_score)
    pct = f"{settings.interval * 100:.0f} %"
    for i in range(n):
        text.append(
            f"score {score[i]:+.2f} ({pct} interval {score[i] - zq * score_sd[i]:+.2f}.."
            f"{score[i] + zq * score_sd[i]:+.2f}), rank {rank[i]} of {n} (interval "
            f"{rank_lo[i]}..{rank_hi[i]}; {raw_rank[i]} on raw KPIs); strongest "
            f"{labels[best[i]]} ({zc[i, best[i]]:+.1f} SD), weakest {labels[worst[i]]} "
            f"({zc[i, worst[i]]:+.1f} SD); {night_share[i]:.0%} of contacts at night, "
            f"{evening_share[i]:.0%} in the evening.")
    out = pd.DataFrame({
        "agent_id": agent_ids[scored],
        "site": site,
        "role": role,
        "contacts": n_contacts[scored].astype("int64"),
        "night_share": night_share,
        "evening_share": evening_share,
        "score": score,
        "score_lo": score - zq * score_sd,
        "score_hi": score + zq * score_sd,
        "score_sd": score_sd,
        "rank": rank,
        "rank_lo": rank_lo,
        "rank_hi": rank_hi,
        "raw_score": raw_score,
        "raw_rank": raw_rank,
        "unshrunk_score": unshrunk,
        "strongest": np.array(labels, dtype=object)[best],
        "weakest": np.array(labels, dtype=object)[worst],
        "explanation": np.array(text, dtype=object),
    })
    return out.sort_values("agent_id").reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# roster fairness


@dataclass
class RosterFairness:
    """Per-agent counts (``agents``) and per-site spread and Gini (``sites``)."""

    agents: pd.DataFrame
    sites: pd.DataFrame


def gini(values) -> float:
    """
    Gini coefficient of non-negative values: 0 when all are equal, towards 1 when one
    holds everything; 0 for an empty or all-zero input.

    Notes
    -----
    G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x)).
    """
    x = np.sort(np.asarray(values, dtype=float))
    if len(x) == 0 or x.sum() <= 0:
        return 0.0
    if (x < 0).any():
        raise ValueError("gini: values must be >= 0")
    n = len(x)
    g = (2 * np.sum(np.arange(1, n + 1) * x) / (n * x.sum())) - (n + 1) / n
    return float(max(g, 0.0))  # equal values can round to -1e-16


def roster_fairness(roster: pd.DataFrame, agents: pd.DataFrame, *,
                    site_zones: Mapping[str, str], night_start: str = "22:00",
                    night_end: str = "06:00") -> RosterFairness:
    """
    How evenly nights, weekend days and paid minutes are shared, per agent and site.

    Parameters
    ----------
    roster : DataFrame
        Shifts, contract ``roster`` (agent_id, date, site, start_utc, end_utc,
        paid_min, ...): a solved roster or the worked shifts.
    agents : DataFrame
        Contract ``agents``; every agent counts, those without a shift with zeros.
    site_zones : mapping
        Site -> IANA zone of every site in ``roster`` and ``agents``.
    night_start, night_end : str
        The night window in site-local time, 'HH:MM'; it wraps past midnight when
        ``night_end <= night_start``.

    Returns
    -------
    RosterFairness
        ``agents``: agent_id, site, night_ok, shifts, nights (shifts overlapping the
        night window by at least a minute of local wall-clock time), weekend_days
        (distinct site-local Saturdays and Sundays on which a shift starts), paid_min,
        contract_min (contract hours x the weeks the roster spans) and paid_share
        (paid_min / contract_min); sorted by agent_id.
        ``sites``: site, metric (nights, weekend_days, paid_min, paid_share), agents
        counted (nights: the night_ok agents of the site, the others cannot work
        nights; the rest: every agent), mean, min, max, spread (max - min) and gini;
        sorted by site and metric.

    Raises
    ------
    InputError
        A roster that breaks its contract, a site without a zone, a bad time.
    """
    schema.validate(roster, "roster", source="roster")
    a = _hhmm_min(night_start, "night_start")
    b = _hhmm_min(night_end, "night_end")
    zones = dict(site_zones)
    sites_needed = set(roster["site"].astype(object)) | set(agents["site"].astype(object))
    missing = sorted(str(s) for s in sites_needed - set(zones))
    if missing:
        raise InputError(f"roster fairness: site(s) {', '.join(map(repr, missing))} have no "
                         "time zone in site_zones; add them (site -> IANA zone)")
    sites = roster["site"].astype(object).to_numpy()
    s = _wall_minutes(roster["start_utc"], sites, zones)
    e = np.maximum(_wall_minutes(roster["end_utc"], sites, zones), s + 1)
    is_night = _window_overlap(s, e, a, b) >= 1
    local_day = s // 1440  # days since 1970-01-01 (a Thursday) in local wall time
    weekday = (local_day + 3) % 7  # 0 = Monday
    weekend = weekday >= 5
    per = pd.DataFrame({"agent_id": roster["agent_id"].astype(object).to_numpy(),
                        "night": is_night, "weekend_day": np.where(weekend, local_day, -1),
                        "paid_min": roster["paid_min"].to_numpy(dtype=float)})
    grouped = per.groupby("agent_id")
    counts = pd.DataFrame({
        "shifts": grouped.size(),
        "nights": grouped["night"].sum(),
        "weekend_days": grouped["weekend_day"].agg(lambda v: int(len(set(v) - {-1}))),
        "paid_min": grouped["paid_min"].sum(),
    })
    span_days = int(local_day.max() - local_day.min() + 1) if len(local_day) else 7
    weeks = max(math.ceil(span_days / 7), 1)
    base = agents[["agent_id", "site", "night_ok", "contract_hours_week"]].copy()
    extra = sorted(set(per["agent_id"]) - set(base["agent_id"]))
    if extra:
        first_site = roster.drop_duplicates("agent_id").set_index("agent_id")["site"]
        base = pd.concat([base, pd.DataFrame({
            "agent_id": extra, "site": [first_site[x] for x in extra], "night_ok": True,
            "contract_hours_week": np.nan})], ignore_index=True)
    out = base.merge(counts, left_on="agent_id", right_index=True, how="left")
    for c in ("shifts", "nights", "weekend_days"):
        out[c] = out[c].fillna(0).astype("int64")
    out["paid_min"] = out["paid_min"].fillna(0.0)
    out["contract_min"] = out["contract_hours_week"] * 60.0 * weeks
    out["paid_share"] = out["paid_min"] / out["contract_min"].where(out["contract_min"] > 0)
    out["night_ok"] = out["night_ok"].astype(bool)
    out = out.drop(columns="contract_hours_week").sort_values("agent_id").reset_index(drop=True)
    for c in ("agent_id", "site"):
        out[c] = out[c].astype(object)
    rows = []
    for site, part in out.groupby("site", sort=True):
        for metric in ("nights", "paid_min", "paid_share", "weekend_days"):
            group = part[part["night_ok"]] if metric == "nights" else part
            if metric == "nights" and group.empty:
                group = part
            v = group[metric].dropna().to_numpy(dtype=float)
            rows.append({
                "site": site, "metric": metric, "agents": int(len(v)),
                "mean": float(v.mean()) if len(v) else math.nan,
                "min": float(v.min()) if len(v) else math.nan,
                "max": float(v.max()) if len(v) else math.nan,
                "spread": float(v.max() - v.min()) if len(v) else math.nan,
                "gini": gini(v) if len(v) else math.nan,
            })
    sites_frame = pd.DataFrame(rows, columns=["site", "metric", "agents", "mean", "min", "max",
                                              "spread", "gini"])
    sites_frame = sites_frame.sort_values(["site", "metric"]).reset_index(drop=True)
    return RosterFairness(out, sites_frame)


# ---------------------------------------------------------------------------------------
# AHT of a per-contact log (Anonymous Bank and the like)

#: what the Anonymous Bank's queue types are (PROVENANCE.md of the data)
QUEUE_NAMES = {"PS": "regular service (Hebrew)", "PE": "regular service (English)",
               "IN": "internet support", "NE": "stock exchange", "NW": "prospects",
               "TT": "call-backs"}


def adjusted_aht(contact_log: pd.DataFrame, *, timezone: str | None = None,
                 factors: tuple[str, ...] = ("band", "queue_type"),
                 settings: ScorecardSettings | None = None,
                 min_contacts: int = 100) -> tuple[pd.DataFrame, KpiModel]:
    """
    Per agent, AHT adjusted for the hour-of-day band and the queue of the contacts.

    The same method as the scorecards (Gamma log-link GLM on cells, agent effects by
    empirical Bayes), on a per-contact log such as :func:`wfm.io.read_anonymous_bank`.

    Parameters
    ----------
    contact_log : DataFrame
        One row per contact: ``agent_id``, ``handle_s`` (NaN when not handled), the
        ``factors`` columns other than band, and ``answered_at`` (or ``arrived_at``),
        UTC. Rows without an agent or a handle time are left out.
    timezone : str, optional
        The log's local zone for the bands; the ``timezone`` column when not given.
    factors : tuple of str
        What the expected AHT accounts for; ``"band"`` is the local-time band.
    settings : ScorecardSettings, optional
        Band edges and the interval.
    min_contacts : int
        Agents with fewer handled contacts get no rank (they stay in the frame).

    Returns
    -------
    (DataFrame, KpiModel)
        Per agent (sorted): n, raw_aht_s, expected_aht_s (peers on this agent's mix),
        adjusted_aht_s (on the whole log's mix) with adjusted_lo/hi, raw_rank and
        adjusted_rank (1 = fastest, among agents with ``min_contacts``), rank_change
        (raw_rank - adjusted_rank: positive = better once the mix is accounted for),
        the shares of the agent's main queue and band, and ``reason``.
    """
    settings = settings or ScorecardSettings()
    needed = ["agent_id", "handle_s"] + [f for f in factors if f != "band"]
    time_col = "answered_at" if "answered_at" in contact_log.columns else "arrived_at"
    if "band" in factors:
        needed.append(time_col)
    missing = [c for c in needed if c not in contact_log.columns]
    if missing:
        raise InputError(f"contact log: missing column(s) {', '.join(missing)}; adjusted AHT "
                         f"needs {', '.join(needed)}")
    log = contact_log[contact_log["agent_id"].notna() & contact_log["handle_s"].notna()]
    log = log.reset_index(drop=True)
    if log.empty:
        raise InputError("contact log: no handled contacts with an agent; nothing to rank")
    factor_frame = pd.DataFrame(index=log.index)
    for f in factors:
        if f == "band":
            zone = timezone or (str(log["timezone"].iloc[0]) if "timezone" in log.columns
                                else "UTC")
            times = log[time_col].where(log[time_col].notna(), log.get("arrived_at"))
            local = pd.Series(times).dt.tz_convert(zone)
            factor_frame["band"] = band_of_minute(
                (local.dt.hour * 60 + local.dt.minute).to_numpy(), settings)
        else:
            factor_frame[f] = log[f].astype(str).to_numpy(dtype=object)
    ids = np.array(sorted(pd.unique(log["agent_id"].astype(str))), dtype=object)
    pos = {a: i for i, a in enumerate(ids)}
    keys = factor_frame.assign(agent=log["agent_id"].astype(str).map(pos).to_numpy())
    keys = keys[["agent", *factors]]
    grouped = keys.groupby(list(keys.columns), sort=True)
    code = grouped.ngroup().to_numpy()
    cells = grouped.size().reset_index().drop(columns=0)
    h = log["handle_s"].to_numpy(dtype=float)
    n = np.bincount(code, minlength=len(cells)).astype(float)
    s = np.bincount(code, weights=h, minlength=len(cells))
    s2 = np.bincount(code, weights=h ** 2, minlength=len(cells))
    mean = s / n
    kc = _Cells(cells["agent"].to_numpy(), cells[list(factors)].reset_index(drop=True), n,
                mean, ss=np.maximum(s2 - s * mean, 0.0))
    fit = _fit_kpi("aht_s", kc, len(ids), settings.iterations)
    values = _agent_values(fit, settings.interval, higher_is_better=False)
    out = pd.DataFrame({"agent_id": ids[values["agent"].to_numpy()]})
    out["n"] = values["n"].to_numpy()
    out["raw_aht_s"] = values["raw"].to_numpy()
    out["expected_aht_s"] = values["expected"].to_numpy()
    out["adjusted_aht_s"] = values["adjusted"].to_numpy()
    out["adjusted_lo"] = values["adjusted_lo"].to_numpy()
    out["adjusted_hi"] = values["adjusted_hi"].to_numpy()
    ranked = out["n"].to_numpy() >= min_contacts
    for col, src in (("raw_rank", "raw_aht_s"), ("adjusted_rank", "adjusted_aht_s")):
        r = np.full(len(out), np.nan)
        r[ranked] = stats.rankdata(out.loc[ranked, src], method="min")
        out[col] = pd.array(np.where(ranked, r, np.nan), dtype="Int64")
    out["rank_change"] = out["raw_rank"] - out["adjusted_rank"]
    center = float(np.sum(h) / len(h))
    reasons, main_levels = _mix_reasons(fit, factors, ids, values, center)
    for f in factors:
        out[f"main_{f}"] = [m[f][0] for m in main_levels]
        out[f"main_{f}_share"] = [m[f][1] for m in main_levels]
    out["reason"] = np.array(reasons, dtype=object)
    return out.sort_values("agent_id").reset_index(drop=True), fit.model


def _describe_level(factor: str, level: str) -> str:
    if factor == "queue_type":
        name = QUEUE_NAMES.get(level)
        return f"{level} ({name})" if name else level
    if factor == "band":
        return f"{level} band"
    return f"{factor.replace('_', ' ')} {level}"


def _mix_reasons(fit: _Fit, factors, ids, values, center: float):
    """
    Why an agent's expected AHT differs from the whole log's average: the factor
    whose mix moves it most (on the log scale), and the one or two levels of it where
    the agent's share differs most from the log's, weighted by how long those contacts
    take compared with the log's average contact.
    """
    coef = dict(zip(fit.model.coefficients["term"], fit.model.coefficients["estimate"],
                    strict=True))
    c, lik = fit.cells, fit.lik
    total = c.n.sum()
    effects, center_share = {}, {}
    for f in factors:
        level_of = c.factors[f].to_numpy()
        shares = pd.Series(c.n).groupby(level_of).sum() / total
        beta = pd.Series({lv: coef.get(f"{f}={lv}", 0.0) for lv in shares.index})
        mean_beta = float(np.sum(shares * beta))
        effects[f] = beta - mean_beta  # log ratio to the log's average contact
        center_share[f] = shares
    reasons, mains = [], []
    ends = list(lik.starts[1:]) + [len(c.n)]
    for row in range(len(values)):
        sl = slice(lik.starts[row], ends[row])
        w = c.n[sl] / c.n[sl].sum()
        parts, main, own_share = {}, {}, {}
        for f in factors:
            share = pd.Series(w).groupby(c.factors[f].to_numpy()[sl]).sum()
            share = share.reindex(center_share[f].index, fill_value=0.0)
            own_share[f] = share
            parts[f] = float(np.sum((share - center_share[f]) * effects[f]))
            main[f] = (str(share.idxmax()), float(share.max()))
        mains.append(main)
        f = max(parts, key=lambda k: abs(parts[k]))
        push = ((own_share[f] - center_share[f]) * effects[f]).abs().sort_values(
            ascending=False)
        shown = []
        for level in push.index[:2]:
            if push[level] < 0.005 and shown:
                break
            shown.append(
                f"{_describe_level(f, str(level))} {own_share[f][level]:.0%} of calls vs "
                f"{center_share[f][level]:.0%} overall, {math.exp(effects[f][level]):.2f}x "
                "the average handle time")
        e = float(values["expected"].iloc[row])
        r = float(values["raw"].iloc[row])
        n = int(values["n"].iloc[row])
        if abs(e / center - 1) < 0.02:
            verdict = f"a mix like the center's: expected {e:.0f} s vs {center:.0f} s overall"
        else:
            verdict = (f"a mix of {'longer' if e > center else 'shorter'} calls: expected "
                       f"{e:.0f} s vs {center:.0f} s overall")
        reasons.append(
            f"{verdict} ({'; '.join(shown)}); raw {r:.0f} s on {n:,} calls is "
            f"{abs(r / e - 1):.0%} {'slower' if r > e else 'faster'} than expected")
    return reasons, mains


# ---------------------------------------------------------------------------------------
# wiring: scenario -> settings, run summary


def settings_for(scenario, **overrides) -> ScorecardSettings:
    """
    Scorecard settings from a scenario: its sites' zones, and the night band of its
    roster rules (night from ``night_start``, day from ``night_end``; the evening
    starts at 14:00, or halfway between when 14:00 does not fall between them).
    """
    rules = scenario.roster.rules
    day = _hhmm_min(rules.night_end, "roster.rules.night_end")
    night = _hhmm_min(rules.night_start, "roster.rules.night_start")
    evening = "14:00"
    if not 0 < (14 * 60 - day) % 1440 < (night - day) % 1440:
        mid = (day + ((night - day) % 1440) // 2) % 1440
        evening = f"{mid // 60:02d}:{mid % 60:02d}"
    values = {"site_zones": dict(scenario.site_zones) or None, "day_start": rules.night_end,
              "evening_start": evening, "night_start": rules.night_start}
    values.update(overrides)
    return ScorecardSettings(**values)


def summarize(result: ScorecardResult, *, top: int = 3) -> dict:
    """A JSON-ready summary of the scorecards (run summaries, the CLI)."""
    comp = result.composite
    best = comp.sort_values("rank").head(top)
    out = {
        "agents": int(len(comp)),
        "contacts": int(result.diagnostics.get("contacts", 0)),
        "seconds": result.diagnostics.get("seconds"),
        "kpis": [k for k in KPIS if k in result.models],
        "night_agents": int((comp["night_share"] > 0.5).sum()),
        "night_gap_sd": night_gap(comp),
        "raw_night_gap_sd": night_gap(comp, column="raw_score"),
        "top": [{"agent_id": r.agent_id, "rank": int(r.rank), "score": round(r.score, 3),
                 "raw_rank": int(r.raw_rank)} for r in best.itertuples()],
        "largest_rank_changes": [
            {"agent_id": r.agent_id, "raw_rank": int(r.raw_rank), "rank": int(r.rank),
             "night_share": round(r.night_share, 3)}
            for r in comp.assign(change=(comp["raw_rank"] - comp["rank"]).abs())
            .sort_values(["change", "agent_id"], ascending=[False, True]).head(top)
            .itertuples()],
        "models": {k: {"family": m.family, "cells": m.cells, "agents_sd": round(m.tau, 4),
                       "night_effect": _night_effect(m)} for k, m in result.models.items()},
    }
    if result.roster_sites is not None:
        rs = result.roster_sites
        out["roster_fairness"] = rs[rs["metric"].isin(["nights", "weekend_days"])].round(
            3).to_dict("records")
    for k, v in list(out.items()):
        if isinstance(v, float) and not np.isfinite(v):
            out[k] = None
    return out


def _night_effect(model: KpiModel) -> float | None:
    coef = model.coefficients.set_index("term")["estimate"]
    if "band=night" not in coef:
        return None
    return round(float(coef["band=night"] - coef.get("band=day", 0.0)), 4)


def headline(summary: dict) -> str:
    """One line for the terminal."""
    gap, raw = summary.get("night_gap_sd"), summary.get("raw_night_gap_sd")
    text = (f"KPI scorecards: {summary['agents']} agents on {summary['contacts']:,} contacts, "
            f"{len(summary['kpis'])} KPIs adjusted for shift band and contact mix")
    if gap is not None and raw is not None:
        text += (f"; the {summary['night_agents']} mostly-night agents score {gap:+.2f} SD "
                 f"against the others ({raw:+.2f} SD on raw KPIs)")
    return text


# ---------------------------------------------------------------------------------------
# outputs


def write_scorecards(result: ScorecardResult, out_dir: str | Path) -> dict[str, Path]:
    """
    Write ``scorecard.csv`` (the KPI rows), ``composite.csv`` and a self-contained
    ``scorecards.html`` (no external resources) into ``out_dir``; returns name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"scorecard": out / "scorecard.csv", "composite": out / "composite.csv",
             "html": out / "scorecards.html"}
    result.kpis.to_csv(paths["scorecard"], index=False, float_format="%.6g")
    result.composite.to_csv(paths["composite"], index=False, float_format="%.6g")
    if result.roster_sites is not None:
        paths["roster_fairness"] = out / "roster_fairness.csv"
        result.roster_sites.to_csv(paths["roster_fairness"], index=False, float_format="%.6g")
    paths["html"].write_text(to_html(result), encoding="utf-8")
    return paths


def night_gap(composite: pd.DataFrame, *, night_share: float = 0.5,
              column: str = "score") -> float:
    """Mean ``column`` of agents with more than ``night_share`` of their contacts at
    night minus that of the others, in standard deviations of ``column``."""
    night = composite["night_share"].to_numpy() > night_share
    v = composite[column].to_numpy(dtype=float)
    if night.all() or not night.any() or np.std(v) == 0:
        return math.nan
    return float((v[night].mean() - v[~night].mean()) / np.std(v))


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;font-size:13px;margin-bottom:2em}
th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f4f4f4;position:sticky;top:0}
td.t{text-align:left;max-width:46em}
.bar{position:relative;width:160px;height:10px;background:#eee}
.bar span{position:absolute;height:10px;background:#7aa6d8}
.bar i{position:absolute;width:2px;height:14px;top:-2px;background:#123}
.no{color:#b00}.ok{color:#070}
details{margin:0 0 1em 0}
"""


def _esc(v) -> str:
    if isinstance(v, float):
        if not np.isfinite(v):
            return ""
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return html.escape(str(v))


def to_html(result: ScorecardResult) -> str:
    """A self-contained HTML page of the scorecards (inline CSS, no scripts)."""
    comp = result.composite.sort_values("rank")
    lo = float(min(comp["score_lo"].min(), -1.0))
    hi = float(max(comp["score_hi"].max(), 1.0))

    def pos(x):
        return 100.0 * (x - lo) / (hi - lo)

    s = result.settings
    gap = night_gap(result.composite)
    raw_gap = night_gap(result.composite, column="raw_score")
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>wfm: shift-adjusted KPI scorecards</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>Shift-adjusted KPI scorecards</h1>",
        f"<p>{len(comp)} agents, {result.diagnostics.get('contacts', 0):,} contacts. Bands in "
        f"site-local time: day from {s.day_start}, evening from {s.evening_start}, night from "
        f"{s.night_start}. Each agent is compared with what the operation achieves on the "
        "same shifts and contact mix; agents with few contacts are pulled towards the "
        f"average; intervals are {s.interval * 100:.0f} %.</p>",
        f"<p>Agents with most contacts at night score {gap:+.2f} SD against the others "
        f"after adjustment ({raw_gap:+.2f} SD on raw KPIs).</p>",
        "<h2>Composite (role-weighted)</h2><table><tr><th>rank</th><th>rank interval</th>"
        "<th>agent</th><th>site</th><th>role</th><th>contacts</th><th>night</th>"
        "<th>score</th><th>interval</th><th></th><th>raw rank</th>"
        "<th class='t'>explanation</th></tr>",
    ]
    for r in comp.itertuples():
        a, b, m = pos(r.score_lo), pos(r.score_hi), pos(r.score)
        parts.append(
            f"<tr><td>{r.rank}</td><td>{r.rank_lo}..{r.rank_hi}</td><td>{_esc(r.agent_id)}</td>"
            f"<td>{_esc(r.site)}</td><td>{_esc(r.role)}</td><td>{r.contacts:,}</td>"
            f"<td>{r.night_share:.0%}</td><td>{r.score:+.2f}</td>"
            f"<td>{r.score_lo:+.2f}..{r.score_hi:+.2f}</td>"
            f"<td><div class='bar'><span style='left:{a:.1f}%;width:{max(b - a, 0.5):.1f}%'>"
            f"</span><i style='left:{m:.1f}%'></i></div></td><td>{r.raw_rank}</td>"
            f"<td class='t'>{_esc(r.explanation)}</td></tr>")
    parts.append("</table><h2>KPIs per agent</h2>")
    kpis = result.kpis
    for agent_id, part in kpis.groupby("agent_id", sort=True):
        parts.append(f"<details><summary>{_esc(agent_id)}</summary><table><tr><th>KPI</th>"
                     "<th>n</th><th>raw</th><th>expected</th><th>adjusted</th><th>target</th>"
                     "<th>meets</th><th>weight</th><th class='t'>explanation</th></tr>")
        for r in part.itertuples():
            meets = "" if pd.isna(r.meets_target) else ("<span class='ok'>yes</span>"
                                                       if r.meets_target else
                                                       "<span class='no'>no</span>")
            parts.append(
                f"<tr><td class='t'>{_esc(KPIS[r.kpi].label)}</td><td>{r.n:,}</td>"
                f"<td>{_esc(_format(r.kpi, r.raw))}</td>"
                f"<td>{_esc(_format(r.kpi, r.expected))}</td>"
                f"<td>{_esc(_format(r.kpi, r.adjusted))}</td>"
                f"<td>{_esc(_format(r.kpi, r.target))}</td><td>{meets}</td>"
                f"<td>{r.weight:.2f}</td><td class='t'>{_esc(r.explanation)}</td></tr>")
        parts.append("</table></details>")
    if result.roster_sites is not None:
        parts.append("<h2>Roster fairness of the worked shifts</h2><table><tr><th>site</th>"
                     "<th>metric</th><th>agents</th><th>mean</th><th>min</th><th>max</th>"
                     "<th>spread</th><th>Gini</th></tr>")
        for r in result.roster_sites.itertuples():
            parts.append(f"<tr><td class='t'>{_esc(r.site)}</td><td class='t'>{_esc(r.metric)}"
                         f"</td><td>{r.agents}</td><td>{_esc(r.mean)}</td><td>{_esc(r.min)}</td>"
                         f"<td>{_esc(r.max)}</td><td>{_esc(r.spread)}</td>"
                         f"<td>{_esc(r.gini)}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>Models</h2>")
    for m in result.models.values():
        parts.append(f"<p><b>{_esc(KPIS[m.kpi].label)}</b>: {m.family} GLM on {m.cells:,} cells;"
                     f" agents' effects mean {m.mu:+.3f}, sd {m.tau:.3f} (link scale)</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
