"""
A deterministic demo world: a cross-border operation with a known truth.

Thirteen markets in eleven time zones on both hemispheres (US, GB, DE, FR, ES, MX,
BR, JP, KR, SA, AE, TR, AU), nine languages, voice and chat; three sites far apart
(Shenzhen, Lisbon, Boston) with about 230 agents; 60 weeks of hourly history up to
the planning week (Monday 2026-11-23 UTC); 8 weeks of per-contact interaction
records with the KPI fields of the data contract.

How the history is made (all in each market's local time, so daylight saving moves
the UTC position of the peaks):

    contacts ~ Poisson(mu * Gamma(k, 1/k))          (negative binomial, k = 40)
    mu = peak * hour_shape[channel][local hour] * weekday[local weekday]
         * trend * holiday * promotion * ramadan * outage * day_noise

- ``hour_shape`` has one clear peak (11:00 voice, 20:00 chat) so a peak hour can be
  located in the data; ``weekday`` follows the market's weekend (Fri-Sat in SA).
- Public holidays come from the ``holidays`` package (volume x0.4 voice, x0.6
  chat; the next working day x1.1).
- Promotions: Black Friday weekend and Cyber Monday in the western markets, 11.11 in
  JP and KR, Prime Day (second Tuesday and Wednesday of July) in most markets. They
  are listed by :func:`promotions` so scenarios can declare them as known events.
- Ramadan (the 30 days before the first Eid al-Fitr holiday of SA): in SA and AE
  daytime volume drops (x0.7, 09-17 h) and the evening after iftar rises (x1.6).
- A few outage hours per year (x0.1, then a x1.5 rebound hour).
- AHT per language and channel, longer at night, with noise shrinking as 1/sqrt(n).

The interaction records: every agent has a true skill (standard normal, equal means
across day and night workers by construction) and works shifts in a band (day,
evening, night) in their site's local time. Night work has a known effect: a harder
contact mix (more ``complex`` contacts), longer handle time, lower FCR and CSAT,
longer waits, fewer contacts per hour. These effects follow the band of each contact's
start in the site's local time (day 06-14 h, evening 14-22 h, night 22-06 h), so an
evening shift's last hours are night work; a faster agent handles more contacts. The
truth (skills and effects) is returned separately in :attr:`DemoWorld.truth` and
:attr:`DemoWorld.effects`, never mixed into the records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import holidays as holidays_lib
import numpy as np
import pandas as pd

from wfm import schema

DEMO_SEED = 2026
HISTORY_START = dt.date(2025, 9, 29)  # a Monday
PLANNING_WEEK = dt.date(2026, 11, 23)  # a Monday; the history ends the hour before
INTERACTION_WEEKS = 8
#: multiplies every market's volume: calibrated so the agents can cover the demand
VOLUME_SCALE = 0.5


@dataclass(frozen=True)
class DemoMarket:
    code: str
    timezone: str
    language: str
    channels: tuple[str, ...]
    #: voice contacts in the peak hour of a normal Monday [contacts/h]
    peak_voice: float
    chat_share: float = 0.0
    #: weekend days, 0 = Monday
    weekend: tuple[int, ...] = (5, 6)
    growth_per_year: float = 0.06


MARKETS: tuple[DemoMarket, ...] = (
    DemoMarket("US", "America/New_York", "en", ("voice", "chat"), 120, 0.45, growth_per_year=0.08),
    DemoMarket("GB", "Europe/London", "en", ("voice", "chat"), 70, 0.40),
    DemoMarket("DE", "Europe/Berlin", "de", ("voice", "chat"), 60, 0.30),
    DemoMarket("FR", "Europe/Paris", "fr", ("voice",), 38),
    DemoMarket("ES", "Europe/Madrid", "es", ("voice",), 30),
    DemoMarket("MX", "America/Mexico_City", "es", ("voice", "chat"), 30, 0.50,
               growth_per_year=0.12),
    DemoMarket("BR", "America/Sao_Paulo", "pt", ("voice", "chat"), 45, 0.55,
               growth_per_year=0.10),
    DemoMarket("JP", "Asia/Tokyo", "ja", ("voice", "chat"), 55, 0.35),
    DemoMarket("KR", "Asia/Seoul", "ko", ("voice",), 22),
    DemoMarket("SA", "Asia/Riyadh", "ar", ("voice",), 26, weekend=(4, 5)),
    DemoMarket("AE", "Asia/Dubai", "ar", ("voice",), 16),
    DemoMarket("TR", "Europe/Istanbul", "tr", ("voice",), 20),
    DemoMarket("AU", "Australia/Sydney", "en", ("voice", "chat"), 28, 0.40),
)

SITES: tuple[tuple[str, str], ...] = (
    ("Shenzhen", "Asia/Shanghai"),
    ("Lisbon", "Europe/Lisbon"),
    ("Boston", "America/New_York"),
)
SITE_PREFIX = {"Shenzhen": "SZX", "Lisbon": "LIS", "Boston": "BOS"}

#: (languages, number of agents) per site; the first language is the agent's main one
SITE_SKILLS: dict[str, tuple[tuple[tuple[str, ...], int], ...]] = {
    "Boston": (
        (("en",), 40), (("en", "es"), 12), (("es",), 8), (("pt", "en"), 8),
        (("pt", "es"), 6), (("ar", "en"), 4), (("fr", "en"), 2),
    ),
    "Lisbon": (
        (("en",), 18), (("de",), 16), (("de", "en"), 14), (("fr",), 8), (("fr", "en"), 6),
        (("es", "en"), 8), (("es",), 4), (("pt",), 10), (("pt", "es"), 6), (("ar",), 6),
        (("ar", "en"), 6), (("tr",), 6), (("tr", "en"), 5), (("ja", "en"), 2),
    ),
    "Shenzhen": (
        (("en",), 22), (("ja",), 16), (("ja", "en"), 14), (("ko",), 8), (("ko", "en"), 5),
        (("ar", "en"), 2),
    ),
}
MINOR_LANGUAGES = ("ko", "tr", "ar")

#: mean handle time of a voice contact per language; chat x1.7 (per chat) [s]
AHT_VOICE_S = {"en": 280.0, "de": 320.0, "fr": 300.0, "es": 290.0, "pt": 310.0,
               "ja": 340.0, "ko": 300.0, "ar": 330.0, "tr": 300.0}
CHAT_AHT_FACTOR = 1.7

# intraday shapes by local hour, peak = 1 (voice at 11:00, chat at 20:00)
VOICE_HOUR = np.array([
    0.10, 0.07, 0.05, 0.05, 0.06, 0.10, 0.20, 0.40, 0.65, 0.82, 0.92, 1.00,
    0.90, 0.84, 0.86, 0.82, 0.74, 0.62, 0.50, 0.42, 0.36, 0.30, 0.22, 0.15,
])
CHAT_HOUR = np.array([
    0.22, 0.15, 0.10, 0.08, 0.07, 0.09, 0.15, 0.28, 0.45, 0.58, 0.66, 0.72,
    0.72, 0.70, 0.70, 0.70, 0.72, 0.76, 0.84, 0.92, 1.00, 0.90, 0.70, 0.42,
])
# by weekday position relative to the weekend: working days Mon..Fri, then weekend
WORKDAY_FACTORS = np.array([1.12, 1.04, 1.00, 0.98, 0.94])
WEEKEND_FACTORS = {"voice": (0.55, 0.42), "chat": (0.85, 0.80)}

HOLIDAY_FACTOR = {"voice": 0.40, "chat": 0.60}
DISPERSION_K = 40.0
DAY_NOISE_SD = 0.06

#: the true effects behind the interaction records (log or logit scale per KPI)
EFFECTS = {
    "contact_type_mix": {  # P(simple, standard, complex) by shift band
        "day": (0.35, 0.50, 0.15), "evening": (0.30, 0.50, 0.20), "night": (0.18, 0.45, 0.37),
    },
    "handle_log": {"simple": -0.35, "standard": 0.0, "complex": 0.45, "night": 0.10,
                   "skill": -0.12, "noise_sd": 0.50},
    "fcr_logit": {"intercept": 1.6, "simple": 0.6, "standard": 0.0, "complex": -1.0,
                  "night": -0.25, "skill": 0.45},
    "csat_logit": {"intercept": 1.5, "simple": 0.3, "standard": 0.0, "complex": -0.7,
                   "night": -0.30, "skill": 0.40, "wait_per_s": -0.004, "rated_share": 0.25},
    "qa": {"intercept": 89.0, "complex": -2.0, "night": -1.5, "skill": 3.5, "noise_sd": 6.0,
           "reviewed_share": 0.04},
    "complaint_logit": {"intercept": -5.8, "complex": 0.9, "night": 0.3, "skill": -0.35},
    "escalation_logit": {"intercept": -3.2, "complex": 1.2, "night": 0.2, "skill": -0.30},
    "wait_mean_s": {"day": 18.0, "evening": 22.0, "night": 35.0},
    "occupancy": {"day": 0.72, "evening": 0.66, "night": 0.48},
}

SHIFT_BANDS = {  # local start hours of a shift in each band
    "day": (7, 8, 9, 10), "evening": (13, 14, 15, 16), "night": (21, 22, 23),
}


@dataclass
class DemoWorld:
    """Everything the demo world holds; :attr:`truth` is never part of the records."""

    markets: pd.DataFrame
    sites: pd.DataFrame
    agents: pd.DataFrame
    history: pd.DataFrame
    interactions: pd.DataFrame
    shifts: pd.DataFrame
    truth: pd.DataFrame
    effects: dict = field(default_factory=dict)
    events: pd.DataFrame = field(default_factory=pd.DataFrame)
    seed: int = DEMO_SEED


# ---------------------------------------------------------------------------------------
# calendar


def black_friday(year: int) -> dt.date:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    first = dt.date(year, 11, 1)
    first_thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + dt.timedelta(days=22)


def prime_day(year: int) -> dt.date:
    """The second Tuesday of July (the first of two Prime Days)."""
    first = dt.date(year, 7, 1)
    first_tuesday = first + dt.timedelta(days=(1 - first.weekday()) % 7)
    return first_tuesday + dt.timedelta(days=7)


def ramadan(year: int) -> tuple[dt.date, dt.date]:
    """First and last day of Ramadan: the 30 days before SA's first Eid al-Fitr holiday."""
    sa = holidays_lib.country_holidays("SA", years=year)
    eid = min(d for d, name in sa.items() if "Eid al-Fitr" in name)
    return eid - dt.timedelta(days=30), eid - dt.timedelta(days=1)


WESTERN = ("US", "GB", "DE", "FR", "ES", "MX", "BR", "AU")
PRIME_DAY_MARKETS = ("US", "GB", "DE", "FR", "ES", "JP", "MX", "BR", "TR", "AU", "SA", "AE")


def promotions(years=(2025, 2026, 2027)) -> pd.DataFrame:
    """
    The promotion calendar of the demo world: one row per event and local date range.

    Columns: name, start, end (local dates, inclusive), markets (list), effect
    (volume multiplier).
    """
    rows = []
    for y in years:
        bf = black_friday(y)
        rows += [
            (f"Black Friday {y}", bf, bf, WESTERN, 1.8),
            (f"Black Friday weekend {y}", bf + dt.timedelta(1), bf + dt.timedelta(2), WESTERN,
             1.3),
            (f"Cyber Monday {y}", bf + dt.timedelta(3), bf + dt.timedelta(3), WESTERN, 1.6),
            (f"Black Friday returns {y}", bf + dt.timedelta(4), bf + dt.timedelta(7), WESTERN,
             1.15),
            (f"11.11 {y}", dt.date(y, 11, 11), dt.date(y, 11, 11), ("JP", "KR"), 1.5),
            (f"11.11 after {y}", dt.date(y, 11, 12), dt.date(y, 11, 12), ("JP", "KR"), 1.2),
            (f"Prime Day {y}", prime_day(y), prime_day(y) + dt.timedelta(1), PRIME_DAY_MARKETS,
             1.4),
            (f"Prime Day after {y}", prime_day(y) + dt.timedelta(2),
             prime_day(y) + dt.timedelta(4), PRIME_DAY_MARKETS, 1.1),
        ]
    return pd.DataFrame(rows, columns=["name", "start", "end", "markets", "effect"])


def _history_hours() -> pd.DatetimeIndex:
    start = pd.Timestamp(HISTORY_START, tz="UTC")
    end = pd.Timestamp(PLANNING_WEEK, tz="UTC")
    return pd.date_range(start, end, freq="h", inclusive="left")


def _weekday_factor(weekday: np.ndarray, weekend: tuple[int, ...], channel: str) -> np.ndarray:
    """Working days in order get WORKDAY_FACTORS, the weekend days their own."""
    workdays = [d for d in range(7) if d not in weekend]
    table = np.empty(7)
    for i, d in enumerate(workdays):
        table[d] = WORKDAY_FACTORS[min(i, len(WORKDAY_FACTORS) - 1)]
    for i, d in enumerate(weekend):
        table[d] = WEEKEND_FACTORS[channel][min(i, 1)]
    return table[weekday]


def _series_history(m: DemoMarket, channel: str, hours: pd.DatetimeIndex,
                    rng: np.random.Generator) -> pd.DataFrame:
    local = hours.tz_convert(m.timezone)
    hour = local.hour.to_numpy()
    weekday = local.day_of_week.to_numpy()
    local_date = np.asarray(local.date)
    years = sorted({d.year for d in local_date})

    peak = m.peak_voice * (m.chat_share if channel == "chat" else 1.0) * VOLUME_SCALE
    shape = (CHAT_HOUR if channel == "chat" else VOICE_HOUR)[hour]
    mu = peak * shape * _weekday_factor(weekday, m.weekend, channel)

    elapsed_years = (hours - hours[0]).total_seconds().to_numpy() / (365.25 * 86400)
    mu = mu * np.exp(m.growth_per_year * elapsed_years)

    # public holidays: fewer contacts, a catch-up on the next day
    country = holidays_lib.country_holidays(m.code, years=years)
    is_holiday = np.array([d in country for d in local_date])
    day_after = np.array([(d - dt.timedelta(days=1)) in country for d in local_date])
    mu = mu * np.where(is_holiday, HOLIDAY_FACTOR[channel], 1.0)
    mu = mu * np.where(day_after & ~is_holiday, 1.1, 1.0)

    # promotions
    for ev in promotions(years).itertuples():
        if m.code in ev.markets:
            inside = (local_date >= ev.start) & (local_date <= ev.end)
            mu = mu * np.where(inside, ev.effect, 1.0)

    # Ramadan: quieter days, busy evenings after iftar
    if m.code in ("SA", "AE"):
        for y in years:
            first, last = ramadan(y)
            inside = (local_date >= first) & (local_date <= last)
            day_part = inside & (hour >= 9) & (hour <= 16)
            evening = inside & ((hour >= 20) | (hour <= 1))
            mu = mu * np.where(day_part, 0.7, 1.0) * np.where(evening, 1.6, 1.0)

    # day-to-day noise shared by the hours of one local day
    codes, day_index = np.unique(local_date, return_inverse=True)
    mu = mu * np.exp(rng.normal(0, DAY_NOISE_SD, len(codes)))[day_index]

    # outages: the line is down for 1-3 hours, callers come back in the next hour
    n_outages = rng.integers(2, 5)
    for _ in range(n_outages):
        at = int(rng.integers(0, len(hours) - 4))
        length = int(rng.integers(1, 4))
        mu[at:at + length] *= 0.1
        mu[at + length] *= 1.5

    lam = mu * rng.gamma(DISPERSION_K, 1.0 / DISPERSION_K, len(mu))
    contacts = rng.poisson(lam).astype("int64")

    base_aht = AHT_VOICE_S[m.language] * (CHAT_AHT_FACTOR if channel == "chat" else 1.0)
    night = (hour >= 22) | (hour < 6)
    aht = base_aht * np.where(night, 1.08, 1.0)
    aht = aht * np.exp(rng.normal(0, 0.6, len(mu)) / np.sqrt(np.maximum(contacts, 1)))
    aht = np.where(contacts > 0, np.round(aht, 1), np.nan)

    return pd.DataFrame({
        "interval_start": hours,
        "market": m.code,
        "language": m.language,
        "channel": channel,
        "contacts": contacts,
        "aht_s": aht,
    })


def history(seed: int = DEMO_SEED, progress=None) -> pd.DataFrame:
    """Hourly history of every market, language and channel (contract ``history``)."""
    hours = _history_hours()
    frames = []
    series = [(m, c) for m in MARKETS for c in m.channels]
    for i, (m, channel) in enumerate(series):
        rng = np.random.default_rng([seed, i, 1])
        frames.append(_series_history(m, channel, hours, rng))
        if progress is not None:
            progress(i + 1, len(series), f"history {m.code} {channel}")
    df = pd.concat(frames, ignore_index=True)
    df["interval_start"] = df["interval_start"].astype("datetime64[ns, UTC]")
    return schema.sort_frame(df, "history")


# ---------------------------------------------------------------------------------------
# agents

_CONTRACTS = np.array([40.0, 32.0, 24.0, 20.0])
_CONTRACT_P = np.array([0.70, 0.10, 0.10, 0.10])
_MIN_HOURS = {40.0: 32.0, 32.0: 24.0, 24.0: 16.0, 20.0: 12.0}


def agents(seed: int = DEMO_SEED) -> pd.DataFrame:
    """The agents of the three sites (contract ``agents``)."""
    rng = np.random.default_rng([seed, 2])
    rows = []
    week = [PLANNING_WEEK + dt.timedelta(days=i) for i in range(7)]
    thanksgiving = black_friday(PLANNING_WEEK.year) - dt.timedelta(days=1)
    for site, _tz in SITES:
        n = 0
        for languages, count in SITE_SKILLS[site]:
            for _ in range(count):
                n += 1
                contract = float(rng.choice(_CONTRACTS, p=_CONTRACT_P))
                if languages[0] in MINOR_LANGUAGES:
                    role = "minor_language"
                else:
                    role = str(rng.choice(["front_line", "second_line", "after_sales"],
                                          p=[0.78, 0.12, 0.10]))
                off: list[str] = []
                if rng.random() < 0.06:
                    k = int(rng.integers(1, 4))
                    first = int(rng.integers(0, 7 - k + 1))
                    off = [d.isoformat() for d in week[first:first + k]]
                if site == "Boston" and rng.random() < 0.25 and thanksgiving.isoformat() not in off:
                    off.append(thanksgiving.isoformat())
                preferred = str(rng.choice(["", "early", "day", "late"], p=[0.7, 0.1, 0.1, 0.1]))
                wished = []
                if rng.random() < 0.2:
                    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
                    size = int(rng.integers(1, 3))
                    wished = sorted(rng.choice(days, size=size, replace=False).tolist())
                rows.append({
                    "agent_id": f"{SITE_PREFIX[site]}-{n:03d}",
                    "site": site,
                    "languages": list(languages),
                    "contract_hours_week": contract,
                    "min_hours_week": _MIN_HOURS[contract],
                    "role": role,
                    "night_ok": bool(rng.random() < 0.4),
                    "availability": sorted(off),
                    "preferred_shift": preferred,
                    "wished_days_off": wished,
                })
    return schema.sort_frame(pd.DataFrame(rows), "agents")


# ---------------------------------------------------------------------------------------
# interactions


def _truth(agents_df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """True skill and usual shift band per agent; equal mean skill by band group."""
    n = len(agents_df)
    night_regular = agents_df["night_ok"].to_numpy() & (rng.random(n) < 0.5)
    skill = rng.normal(0, 1, n)
    for group in (night_regular, ~night_regular):
        if group.sum() > 1:
            s = skill[group]
            skill[group] = (s - s.mean()) / s.std()
    new_hire = rng.random(n) < 0.09
    night_share = np.where(night_regular, 0.75, 0.0)
    evening_share = np.where(night_regular, 0.15, rng.uniform(0.2, 0.5, n))
    return pd.DataFrame({
        "agent_id": agents_df["agent_id"].to_numpy(),
        "skill": skill,
        "night_regular": night_regular,
        "night_share": night_share,
        "evening_share": evening_share,
        "new_hire": new_hire,
    })


def _worked_shifts(agents_df, truth, rng) -> pd.DataFrame:
    """The shifts each agent worked in the 8 weeks before the planning week."""
    site_tz = dict(SITES)
    first_day = PLANNING_WEEK - dt.timedelta(weeks=INTERACTION_WEEKS)
    rows = []
    for a, t in zip(agents_df.itertuples(), truth.itertuples(), strict=True):
        per_week = int(np.ceil(a.contract_hours_week / 8.0))
        paid_min = int(round(a.contract_hours_week * 60 / per_week / 30) * 30)
        weeks = range(INTERACTION_WEEKS)
        if t.new_hire:  # joined in the last week or two, nesting: few shifts
            weeks = range(INTERACTION_WEEKS - 1, INTERACTION_WEEKS)
            per_week = int(rng.integers(1, 3))
        for w in weeks:
            days = sorted(rng.choice(7, size=per_week, replace=False))
            for d in days:
                date = first_day + dt.timedelta(weeks=w, days=int(d))
                u = rng.random()
                band = ("night" if u < t.night_share
                        else "evening" if u < t.night_share + t.evening_share else "day")
                hour = int(rng.choice(SHIFT_BANDS[band]))
                start_local = pd.Timestamp(dt.datetime.combine(date, dt.time(hour)))
                start_local = start_local.tz_localize(site_tz[a.site], nonexistent="shift_forward",
                                                      ambiguous=False)
                lunch = 30 if paid_min >= 360 else 0
                end_local = start_local + pd.Timedelta(minutes=paid_min + lunch)
                rows.append({
                    "agent_id": a.agent_id, "date": date, "site": a.site, "shift": band,
                    "start_utc": start_local.tz_convert("UTC"),
                    "end_utc": end_local.tz_convert("UTC"),
                    "start_local": start_local.isoformat(), "end_local": end_local.isoformat(),
                    "paid_min": paid_min,
                    "breaks": "" if not lunch else (
                        f"{(start_local + pd.Timedelta(hours=4)).strftime('%H:%M')}-"
                        f"{(start_local + pd.Timedelta(hours=4, minutes=30)).strftime('%H:%M')}"),
                    "nesting": bool(t.new_hire),
                })
    df = pd.DataFrame(rows)
    for c in ("start_utc", "end_utc"):
        df[c] = df[c].astype("datetime64[ns, UTC]")
    # what is worked belongs to the past: nothing starts in the planning week
    return df[df["start_utc"] < pd.Timestamp(PLANNING_WEEK, tz="UTC")].reset_index(drop=True)


def _local_hours(ts: pd.Series, tz: str) -> np.ndarray:
    return ts.dt.tz_convert(tz).dt.hour.to_numpy()


#: local clock hours where each band starts (a contact's band is that of its start time)
BAND_START_HOUR = {"day": 6, "evening": 14, "night": 22}


def clock_band(local_hour) -> np.ndarray:
    """Band of local clock hours: day 06-14 h, evening 14-22 h, night 22-06 h."""
    h = np.asarray(local_hour) % 24
    return np.where((h >= BAND_START_HOUR["night"]) | (h < BAND_START_HOUR["day"]), "night",
                    np.where(h >= BAND_START_HOUR["evening"], "evening", "day"))


def _clock_occupancy(local_hour) -> np.ndarray:
    """Occupancy of the agents at a local clock hour (by its band)."""
    occ = EFFECTS["occupancy"]
    return np.vectorize(occ.get, otypes=[float])(clock_band(np.floor(local_hour)))


def interactions(agents_df: pd.DataFrame, seed: int = DEMO_SEED):
    """
    Per-contact records of 8 weeks, the shifts behind them, and the truth.

    Returns
    -------
    (interactions, shifts, truth)
        ``interactions`` follows the contract; ``shifts`` the roster contract plus a
        ``nesting`` flag (new hires handle few contacts); ``truth`` holds each agent's
        skill and band, and never enters the records.
    """
    rng = np.random.default_rng([seed, 3])
    truth = _truth(agents_df, rng)
    shifts = _worked_shifts(agents_df, truth, rng)
    eff = EFFECTS

    # how many contacts each shift handled: occupancy follows the local clock hour of
    # the work (its band), and a faster agent handles more contacts in the same time
    lang_of = dict(zip(agents_df["agent_id"], agents_df["languages"], strict=True))
    main_aht = np.array([AHT_VOICE_S[lang_of[a][0]] for a in shifts["agent_id"]])
    skill_of = truth.set_index("agent_id")["skill"]
    speed = np.exp(-eff["handle_log"]["skill"] * skill_of.reindex(shifts["agent_id"]).to_numpy())
    start_hour = pd.to_datetime(shifts["start_local"].str.slice(11, 16), format="%H:%M")
    start_hour = (start_hour.dt.hour + start_hour.dt.minute / 60).to_numpy()
    span_h = (shifts["end_utc"] - shifts["start_utc"]).dt.total_seconds().to_numpy() / 3600
    steps = start_hour[:, None] + span_h[:, None] * (np.arange(40) + 0.5) / 40
    occupancy = _clock_occupancy(steps).mean(axis=1)
    productive_s = shifts["paid_min"].to_numpy() * 60 * 0.85
    expected = productive_s * occupancy / main_aht * speed
    expected = np.where(shifts["nesting"].to_numpy(), expected * 0.3, expected)
    per_shift = rng.poisson(expected)
    idx = np.repeat(np.arange(len(shifts)), per_shift)
    n = len(idx)

    sh = shifts.iloc[idx].reset_index(drop=True)
    span = (sh["end_utc"] - sh["start_utc"]).dt.total_seconds().to_numpy()
    # contacts come when the clock's occupancy is high (accept-reject on the local hour)
    offset = np.full(n, np.nan)
    todo = np.arange(n)
    top = max(eff["occupancy"].values())
    while len(todo):
        u = rng.uniform(0, 1, len(todo)) * 0.97
        keep = rng.random(len(todo)) * top < _clock_occupancy(
            start_hour[idx[todo]] + u * span[todo] / 3600)
        offset[todo[keep]] = u[keep]
        todo = todo[~keep]
    started = sh["start_utc"] + pd.to_timedelta(offset * span, unit="s")
    started = started.dt.floor("s")
    # the band of a contact is that of its start in the site's local time
    site_tz = dict(SITES)
    local_hour = np.zeros(n, dtype=int)
    for site, tz in site_tz.items():
        at = (sh["site"] == site).to_numpy()
        local_hour[at] = _local_hours(started[at], tz)
    band = clock_band(local_hour)

    # which market: the agent's languages, weighted by each market's hourly volume then
    weights = np.zeros((n, len(MARKETS)))
    shift_langs = shifts["agent_id"].map(lang_of)
    for j, m in enumerate(MARKETS):
        speaks = np.array([m.language in langs for langs in shift_langs])[idx]
        if not speaks.any():
            continue
        hours = _local_hours(started, m.timezone)
        volume = m.peak_voice * (VOICE_HOUR[hours] + m.chat_share * CHAT_HOUR[hours])
        weights[:, j] = np.where(speaks, volume, 0.0)
    cum = np.cumsum(weights, axis=1)
    pick = (rng.random(n)[:, None] * cum[:, -1:] < cum).argmax(axis=1)
    market = np.array([m.code for m in MARKETS])[pick]
    language = np.array([m.language for m in MARKETS])[pick]
    chat_share = np.array([m.chat_share for m in MARKETS])[pick]
    chat_p = chat_share / (1 + chat_share)
    channel = np.where(rng.random(n) < chat_p, "chat", "voice")

    # contact type mix by band (harder at night)
    mix = np.array([eff["contact_type_mix"][b] for b in band])
    u = rng.random(n)
    ctype = np.where(u < mix[:, 0], "simple", np.where(u < mix[:, 0] + mix[:, 1], "standard",
                                                       "complex"))

    skill = truth.set_index("agent_id")["skill"].reindex(shifts["agent_id"]).to_numpy()[idx]
    night = (band == "night").astype(float)
    is_type = {t: (ctype == t).astype(float) for t in ("simple", "standard", "complex")}

    def logistic(x):
        return 1.0 / (1.0 + np.exp(-x))

    h = eff["handle_log"]
    base = pd.Series(language).map(AHT_VOICE_S).to_numpy() * np.where(
        channel == "chat", CHAT_AHT_FACTOR, 1.0)
    log_handle = (np.log(base) + sum(h[t] * is_type[t] for t in is_type) + h["night"] * night
                  + h["skill"] * skill + rng.normal(0, h["noise_sd"], n)
                  - h["noise_sd"] ** 2 / 2)
    handle_s = np.round(np.exp(log_handle), 0)

    wait_s = np.round(rng.exponential(1.0, n) * pd.Series(band).map(eff["wait_mean_s"])
                      .to_numpy(), 0)

    f = eff["fcr_logit"]
    fcr = rng.random(n) < logistic(f["intercept"] + sum(f[t] * is_type[t] for t in is_type)
                                   + f["night"] * night + f["skill"] * skill)
    c = eff["csat_logit"]
    rated = rng.random(n) < c["rated_share"]
    happy = rng.random(n) < logistic(c["intercept"] + sum(c[t] * is_type[t] for t in is_type)
                                     + c["night"] * night + c["skill"] * skill
                                     + c["wait_per_s"] * wait_s)
    rating = np.where(happy, rng.choice([4.0, 5.0], n, p=[0.45, 0.55]),
                      rng.choice([1.0, 2.0, 3.0], n, p=[0.3, 0.3, 0.4]))
    csat = np.where(rated, rating, np.nan)
    q = eff["qa"]
    reviewed = rng.random(n) < q["reviewed_share"]
    qa = np.clip(q["intercept"] + q["complex"] * is_type["complex"] + q["night"] * night
                 + q["skill"] * skill + rng.normal(0, q["noise_sd"], n), 0, 100)
    qa = np.where(reviewed, np.round(qa, 0), np.nan)
    k = eff["complaint_logit"]
    complaint = rng.random(n) < logistic(k["intercept"] + k["complex"] * is_type["complex"]
                                         + k["night"] * night + k["skill"] * skill)
    e = eff["escalation_logit"]
    escalated = rng.random(n) < logistic(e["intercept"] + e["complex"] * is_type["complex"]
                                         + e["night"] * night + e["skill"] * skill)

    past = (started < pd.Timestamp(PLANNING_WEEK, tz="UTC")).to_numpy()
    order = np.argsort(started.to_numpy(dtype="datetime64[ns]"), kind="stable")
    order = order[past[order]]
    records = pd.DataFrame({
        "contact_id": "",
        "agent_id": sh["agent_id"].to_numpy(),
        "started_at": started.array,
        "site": sh["site"].to_numpy(),
        "market": market,
        "language": language,
        "channel": channel,
        "handle_s": handle_s,
        "wait_s": wait_s,
        "resolved_first_contact": fcr,
        "csat": csat,
        "qa_score": qa,
        "complaint": complaint,
        "escalated": escalated,
        "contact_type": ctype,
    }).iloc[order].reset_index(drop=True)
    records["started_at"] = records["started_at"].astype("datetime64[ns, UTC]")
    records["contact_id"] = pd.Series(np.arange(1, len(records) + 1)).map("D{:07d}".format)
    shifts = shifts.sort_values(["agent_id", "date"]).reset_index(drop=True)
    return records, shifts, truth


# ---------------------------------------------------------------------------------------


def markets_frame() -> pd.DataFrame:
    return pd.DataFrame([
        {"market": m.code, "timezone": m.timezone, "language": m.language,
         "channels": list(m.channels)} for m in MARKETS
    ])


def build(seed: int = DEMO_SEED, progress=None) -> DemoWorld:
    """
    Build the whole demo world; the same seed gives the same world.

    Parameters
    ----------
    seed : int
        Seed of every random draw.
    progress : callable, optional
        ``progress(done, total, label)`` called as the series are generated.
    """
    hist = history(seed, progress=progress)
    agents_df = agents(seed)
    records, shifts, truth = interactions(agents_df, seed)
    return DemoWorld(
        markets=markets_frame(),
        sites=pd.DataFrame(SITES, columns=["site", "timezone"]),
        agents=agents_df,
        history=hist,
        interactions=records,
        shifts=shifts,
        truth=truth,
        effects=EFFECTS,
        events=promotions(),
        seed=seed,
    )
