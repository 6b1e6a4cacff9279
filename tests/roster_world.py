"""A small world for roster tests: two or three sites, a few languages, a week."""

from __future__ import annotations

import numpy as np
import pandas as pd

from wfm import scenario as scenario_mod

SCENARIO = """
name = "small"
[planning]
week_start = {week_start}
interval_min = {interval_min}
[data]
source = "demo"
[[markets]]
code = "US"
timezone = "America/New_York"
languages = ["en"]
channels = ["voice"]
[[markets]]
code = "DE"
timezone = "Europe/Berlin"
languages = ["de"]
channels = ["voice"]
[[markets]]
code = "AU"
timezone = "Australia/Sydney"
languages = ["en"]
channels = ["voice"]
[[sites]]
name = "Lisbon"
timezone = "Europe/Lisbon"
[[sites]]
name = "Boston"
timezone = "America/New_York"
[[sites]]
name = "Shenzhen"
timezone = "Asia/Shanghai"
[roster]
time_limit_s = {time_limit}
num_workers = 8
[roster.rules]
min_rest_h = 11
max_consecutive_days = 6
min_days_off = 2
max_nights_week = 3
[[roster.templates]]
name = "FT8"
paid_min = 480
lunch_min = 30
lunch_earliest_min = 180
lunch_latest_min = 300
start_step_min = 60
[[roster.templates]]
name = "PT4"
paid_min = 240
start_step_min = 60
"""


def small_scenario(week_start="2026-11-23", interval_min=60, time_limit=20, **_):
    return scenario_mod.loads(SCENARIO.format(week_start=week_start, interval_min=interval_min,
                                              time_limit=time_limit), name="small")


def small_agents(n_lisbon=6, n_boston=6, n_shenzhen=0, seed=1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for site, n, langs in (("Lisbon", n_lisbon, (["de"], ["de", "en"], ["en"])),
                           ("Boston", n_boston, (["en"],)),
                           ("Shenzhen", n_shenzhen, (["en"],))):
        for i in range(n):
            contract = 40.0 if i % 3 else 24.0
            rows.append({
                "agent_id": f"{site[:3].upper()}-{i:02d}", "site": site,
                "languages": list(langs[i % len(langs)]), "contract_hours_week": contract,
                "min_hours_week": contract - 8, "role": "front_line",
                "night_ok": bool(i % 2), "availability": [],
                "preferred_shift": "", "wished_days_off": [],
            })
    rng.shuffle(rows)
    return pd.DataFrame(rows).sort_values("agent_id").reset_index(drop=True)


def requirement(scenario, levels: dict[tuple[str, str], float], zone_of: dict[str, str]):
    """Headcount per queue and interval with a daytime shape in each queue's zone:
    ``levels[(language, channel)]`` is the peak headcount."""
    plan = scenario.planning
    grid = pd.date_range(plan.start_utc, plan.end_utc, freq=f"{plan.interval_min}min",
                         inclusive="left")
    rows = []
    for (language, channel), peak in levels.items():
        local = grid.tz_convert(zone_of[language])
        hour = local.hour + local.minute / 60
        shape = np.clip(np.sin((hour - 7) / 14 * np.pi), 0, None)  # 07:00-21:00 local
        headcount = np.round(peak * shape).astype(int)
        for t, h in zip(grid, headcount, strict=True):
            agents = int(np.floor(h * 0.7))
            contacts = max(agents * 5.0, 0.0)
            rows.append({"interval_start": t, "queue": f"{language}_{channel}",
                         "language": language, "channel": channel, "contacts": contacts,
                         "aht_s": 300.0,
                         "traffic_erl": contacts * 300.0 / (plan.interval_min * 60),
                         "agents": agents, "headcount": int(h), "service_level": 0.8,
                         "asa_s": 15.0, "occupancy": 0.8, "target_answer_s": 20.0})
    frame = pd.DataFrame(rows)
    frame["interval_start"] = frame["interval_start"].astype("datetime64[ns, UTC]")
    for c in ("agents", "headcount"):
        frame[c] = frame[c].astype("int64")
    return frame.sort_values(["interval_start", "queue"]).reset_index(drop=True)


def aggregate_of(scenario, agents: pd.DataFrame, req: pd.DataFrame):
    """The aggregate model of a week: (catalogue, agent infos, groups, demand, aggregate)."""
    from wfm.roster import aggregate as aggregate_mod
    from wfm.roster.catalog import agent_infos, build_catalog, make_groups

    catalog = build_catalog(scenario, sites=sorted(set(agents["site"])))
    infos = agent_infos(agents, scenario, catalog)
    groups = make_groups(infos)
    dem = aggregate_mod.demand(req, catalog, scenario, infos)
    return catalog, infos, groups, dem, aggregate_mod.build_aggregate(catalog, groups, infos,
                                                                      dem, scenario)


def ft8_by_date(catalog, hour: int, site: str | None = None) -> dict:
    """The first FT8 option per site-local date that starts at ``hour`` local
    (of ``site`` when given): date -> option index."""
    out = {}
    for o in catalog.options:
        if o.template == "FT8" and o.start_minute_local == hour * 60 and \
                (site is None or o.site == site):
            out.setdefault(o.date, o.index)
    return out


def two_boston_agents(**columns):
    """Two night_ok English agents of 40 h in Boston (one group), with ``columns``
    overriding the agents table; returns scenario, catalogue, agent infos and groups."""
    from wfm.roster.catalog import agent_infos, build_catalog, make_groups

    scenario = small_scenario()
    agents = small_agents(n_lisbon=0, n_boston=2).assign(
        night_ok=True, languages=[["en"]] * 2, contract_hours_week=40.0, min_hours_week=0.0,
        **columns)
    catalog = build_catalog(scenario, sites=["Boston"])
    infos = agent_infos(agents, scenario, catalog)
    return scenario, catalog, infos, make_groups(infos)
