"""
``run(scenario)``: every stage that exists, from inputs to a result bundle on disk.

Stages are pure functions of frames and the scenario (DESIGN.md); this module only
loads the inputs, calls the stages in order, and writes what they return into the
output folder atomically: the bundle is written to a temporary sibling folder and
moved into place when complete, so a crash never leaves a half-written result.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from wfm import demo
from wfm.errors import InputError
from wfm.io import read_bundle, remove_stale_partials, replace_dir
from wfm.progress import ProgressFn, notify
from wfm.scenario import Scenario
from wfm.store import Store


@dataclass
class Inputs:
    """What a run reads: history, agents and (when there are any) interactions."""

    history: pd.DataFrame
    agents: pd.DataFrame
    interactions: pd.DataFrame | None = None
    shifts: pd.DataFrame | None = None
    source: str = ""


@dataclass
class RunContext:
    scenario: Scenario
    inputs: Inputs
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    progress: ProgressFn | None = None
    #: the store the inputs came from (the scenario's data.store unless overridden)
    store_path: str | Path | None = None


@dataclass
class RunResult:
    run_id: str
    out_dir: Path
    frames: dict[str, pd.DataFrame]
    summary: dict
    outputs: dict[str, str]
    warnings: list[str]


@functools.lru_cache(maxsize=2)
def demo_world(seed: int = demo.DEMO_SEED) -> demo.DemoWorld:
    """The demo world, built once per process and seed."""
    return demo.build(seed)


def load_inputs(scenario: Scenario, *, store_path: str | Path | None = None) -> Inputs:
    """Read the scenario's inputs from the store (or build the demo world in memory)."""
    if scenario.data.source == "demo":
        world = demo_world(scenario.data.demo_seed)
        return Inputs(world.history, world.agents, world.interactions, world.shifts,
                      source=f"demo world (seed {world.seed})")
    path = Path(store_path or scenario.data.store)
    if not path.exists():
        raise InputError(
            f"{scenario.path}: key 'data.store': the store {path} does not exist; run "
            "`wfm demo` to build the demo world into it, or `wfm ingest FILE` first"
        )
    with Store(path) as store:
        history = store.history(60)
        agents = store.agents()
        interactions = store.interactions() if store.counts()["interactions"] else None
        shifts = store.shifts() if store.counts()["shifts"] else None
    if history.empty:
        raise InputError(f"{path}: the store holds no history; ingest some with "
                         "`wfm ingest FILE` or run `wfm demo`")
    return Inputs(history, agents, interactions, shifts, source=str(path))


# -- stages ---------------------------------------------------------------------------


def summarize_history(ctx: RunContext) -> None:
    """Contacts per market and language over the last four weeks, busiest local hours."""
    hist = ctx.inputs.history
    end = hist["interval_start"].max()
    recent = hist[hist["interval_start"] > end - pd.Timedelta(weeks=4)]
    per_market = (recent.groupby(["market", "language"], as_index=False)["contacts"].sum()
                  .sort_values("contacts", ascending=False))
    zones = ctx.scenario.market_zones
    busiest = []
    for market, part in recent.groupby("market"):
        if market not in zones:
            continue
        local = part["interval_start"].dt.tz_convert(zones[market])
        by_hour = part.groupby(local.dt.hour)["contacts"].sum()
        utc_by_hour = part.groupby(part["interval_start"].dt.hour)["contacts"].sum()
        busiest.append({"market": market, "timezone": zones[market],
                        "busiest_local_hour": int(by_hour.idxmax()),
                        "busiest_utc_hour": int(utc_by_hour.idxmax())})
    ctx.summary["history"] = {
        "source": ctx.inputs.source,
        "first_interval": str(hist["interval_start"].min()),
        "last_interval": str(end),
        "series": int(hist.groupby(["market", "language", "channel"]).ngroups),
        "contacts_last_4_weeks": int(recent["contacts"].sum()),
    }
    ctx.summary["contacts_per_market_language"] = per_market.to_dict("records")
    ctx.summary["busiest_hours"] = busiest
    ctx.summary["agents"] = {
        "total": int(len(ctx.inputs.agents)),
        "per_site": ctx.inputs.agents["site"].value_counts().sort_index().to_dict(),
    }


def forecast_contacts(ctx: RunContext) -> None:
    """Hourly contacts and AHT per series for the planning window (``wfm.forecast``):
    the scenario's forecast.path, else a matching file in forecasts/, else made now."""
    from wfm import forecast

    result = forecast.for_scenario(ctx.scenario, ctx.inputs.history)
    start, end = ctx.scenario.planning.start_utc, ctx.scenario.planning.end_utc
    frame = result.frame
    frame = frame[(frame["interval_start"] >= start) & (frame["interval_start"] < end)]
    ctx.frames["forecast"] = frame.reset_index(drop=True)
    meta = result.meta
    ctx.summary["forecast"] = {
        "source": result.source, "file": None if result.path is None else str(result.path),
        **{k: meta.get(k) for k in ("cutoff", "horizon_h", "method", "series", "models",
                                    "backtest")},
    }
    ctx.warnings.extend(meta.get("warnings", []))
    ctx.summary.setdefault("headline", []).append(forecast.headline(result))


def staff_requirements(ctx: RunContext) -> None:
    """Forecast -> requirement per queue and interval (``wfm.staffing``); skipped with a
    warning when no stage has put a forecast in ``ctx.frames``."""
    from wfm import staffing

    forecast = ctx.frames.get("forecast")
    if forecast is None:
        ctx.warnings.append("staffing skipped: no forecast (the forecast stage did not run "
                            "or gave none); `wfm staff SCENARIO --forecast FILE` staffs a "
                            "forecast file")
        return
    interval_min = ctx.scenario.planning.interval_min
    req = staffing.requirements(forecast, ctx.scenario)
    ctx.frames["requirement"] = req
    ctx.summary["staffing"] = staffing.summarize(req, interval_min)
    ctx.summary.setdefault("headline", []).extend(staffing.headline(ctx.summary["staffing"]))


def roster_week(ctx: RunContext) -> None:
    """Requirement + agents -> the week's roster and queue allocation (``wfm.roster``);
    rest rules reach back into the roster published for the previous week, if any. A
    roster no agent can keep raises RosterInfeasible (exit code 3 of the CLI)."""
    from wfm import roster

    requirement = ctx.frames.get("requirement")
    if requirement is None:
        ctx.warnings.append("roster skipped: no requirement (the staffing stage did not run)")
        return
    previous = previous_roster(ctx.scenario, ctx.store_path)
    position = [name for name, _ in STAGES].index("roster")

    def progress(done: int, total: int, label: str) -> None:
        notify(ctx.progress, position, len(STAGES), f"roster: {label}")

    result = roster.solve_roster(requirement, ctx.inputs.agents, ctx.scenario,
                                 previous_roster=previous, progress=progress)
    violations = roster.check_roster(result.roster, result.allocation, ctx.inputs.agents,
                                     ctx.scenario, previous_roster=previous)
    ctx.frames["roster"] = result.roster
    ctx.frames["allocation"] = result.allocation
    report = {k: v for k, v in result.report.items() if k != "trace"}
    report["violations"] = [str(v) for v in violations]
    report["previous_roster"] = None if previous is None else int(len(previous))
    ctx.summary["roster"] = report
    for line in report["unservable"]:
        ctx.warnings.append(line)
    if violations:
        ctx.warnings.append(f"roster: {len(violations)} rule violation(s), first: "
                            f"{violations[0]}")
    ctx.summary.setdefault("headline", []).append(roster.headline(result.report))


def previous_roster(scenario: Scenario, store_path) -> pd.DataFrame | None:
    """The roster published for the week before the planning week, from the store."""
    if scenario.data.source != "store":
        return None
    path = Path(store_path or scenario.data.store)
    if not path.exists():
        return None
    week_before = scenario.planning.week_start - dt.timedelta(days=7)
    with Store(path) as store:
        return store.published_roster(week_before)


def coverage_vs_sla(ctx: RunContext) -> None:
    """Roster -> coverage vs SLA (``wfm.coverage``): scheduled and productive agents per
    queue and interval, projected service, SLA attainment per market per day and week.
    Runs when the roster stage gave a roster and an allocation and staffing a requirement;
    a roster that does not match its allocation is a warning, not the end of the run."""
    from wfm import coverage

    needed = ("roster", "allocation", "requirement")
    missing = [k for k in needed if k not in ctx.frames]
    if missing:
        if "requirement" in ctx.frames:
            ctx.warnings.append(f"coverage skipped: no {' and no '.join(missing)} (the roster "
                                "stage did not run or gave none)")
        return
    try:
        result = coverage.coverage(ctx.frames["roster"], ctx.frames["allocation"],
                                   ctx.frames["requirement"], ctx.scenario,
                                   forecast=ctx.frames.get("forecast"))
    except InputError as exc:
        ctx.warnings.append(f"coverage skipped: {exc}")
        return
    ctx.frames["coverage"] = result.intervals
    ctx.frames["coverage_markets"] = result.markets
    ctx.frames["sla_daily"] = result.daily
    ctx.frames["sla_weekly"] = result.weekly
    ctx.summary["coverage"] = coverage.summarize(result, ctx.frames["roster"], ctx.scenario,
                                                 agents=ctx.inputs.agents)
    ctx.summary.setdefault("headline", []).extend(coverage.headline(ctx.summary["coverage"]))


def kpi_scorecards(ctx: RunContext) -> None:
    """Shift-adjusted KPI scorecards (``wfm.fairness``) when the inputs hold interactions;
    a problem with them is a warning, not the end of the run."""
    from wfm import fairness

    if ctx.inputs.interactions is None or ctx.inputs.interactions.empty:
        return
    try:
        result = fairness.scorecards(ctx.inputs.interactions, ctx.inputs.agents,
                                     settings=fairness.settings_for(ctx.scenario),
                                     shifts=ctx.inputs.shifts)
    except InputError as exc:
        ctx.warnings.append(f"KPI scorecards skipped: {exc}")
        return
    ctx.frames["scorecard"] = result.kpis
    ctx.frames["composite"] = result.composite
    ctx.summary["kpi"] = fairness.summarize(result)
    ctx.summary.setdefault("headline", []).append(fairness.headline(ctx.summary["kpi"]))


#: (name, stage) in order; later stages read what earlier ones put in ``ctx.frames``.
#: The order is: history summary, forecast, staffing, roster, coverage, KPI scorecards.
#: A stage adds frames (``ctx.frames["forecast"]``, ...), summary entries, and lines
#: for the terminal in ``ctx.summary["headline"]``.
STAGES: list[tuple[str, Callable[[RunContext], None]]] = [
    ("history summary", summarize_history),
    ("forecast", forecast_contacts),
    # keep "staffing" right after the forecast stage: it reads ctx.frames["forecast"]
    ("staffing", staff_requirements),
    # "roster" reads the requirement; "coverage" reads its roster and allocation
    ("roster", roster_week),
    ("coverage", coverage_vs_sla),
    # keep "KPI scorecards" last (it needs only the interactions)
    ("KPI scorecards", kpi_scorecards),
]


# -- the run ----------------------------------------------------------------------------


def run(scenario: Scenario, out_dir: str | Path, *, store_path: str | Path | None = None,
        progress: ProgressFn | None = None, inputs: Inputs | None = None,
        record: bool = True) -> RunResult:
    """
    Run every stage on ``scenario`` and write the bundle to ``out_dir``.

    The folder receives ``summary.json``, ``scenario.toml`` (the scenario's files as
    given) and one Parquet file per frame; it is replaced as a whole, atomically.
    """
    started = dt.datetime.now(dt.UTC)
    run_id = f"{scenario.name}-{started:%Y%m%dT%H%M%SZ}-{scenario.fingerprint[:6]}"
    inputs = inputs or load_inputs(scenario, store_path=store_path)
    ctx = RunContext(scenario, inputs, progress=progress, store_path=store_path)
    recording = record and scenario.data.source == "store"
    path = Path(store_path or scenario.data.store)
    try:
        for i, (name, stage) in enumerate(STAGES):
            notify(progress, i, len(STAGES), name)
            stage(ctx)
        notify(progress, len(STAGES), len(STAGES), "writing")
        ctx.summary["run"] = {"run_id": run_id, "scenario": scenario.name,
                              "started_at": started.isoformat(),
                              "finished_at": dt.datetime.now(dt.UTC).isoformat(),
                              "warnings": ctx.warnings}
        outputs = write_bundle(Path(out_dir), ctx)
    except Exception as exc:  # the run is recorded as failed, with why, then re-raised
        if recording:
            with Store(path) as store:
                store.record_run(run_id, scenario, started_at=started,
                                 finished_at=dt.datetime.now(dt.UTC),
                                 status=f"failed: {type(exc).__name__}: {exc}"[:2000],
                                 out_dir="", outputs={}, summary=ctx.summary)
        raise
    result = RunResult(run_id, Path(out_dir), ctx.frames, ctx.summary, outputs, ctx.warnings)
    if recording:
        with Store(path) as store:
            store.record_run(run_id, scenario, started_at=started,
                             finished_at=dt.datetime.now(dt.UTC), out_dir=str(out_dir),
                             outputs=outputs, summary=ctx.summary)
    return result


def write_bundle(out_dir: Path, ctx: RunContext) -> dict[str, str]:
    """Write the run's files into ``out_dir`` atomically; returns name -> file."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    os.chmod(tmp, 0o755)  # mkdtemp makes it private; a run folder is an ordinary folder
    try:
        outputs = {}
        for name, frame in ctx.frames.items():
            file = f"{name}.parquet"
            frame.to_parquet(tmp / file, index=False)
            outputs[name] = file
        (tmp / "scenario.toml").write_text(
            "\n".join(f"# --- {p}\n{t}" for p, t in ctx.scenario.texts), encoding="utf-8")
        outputs["scenario"] = "scenario.toml"
        (tmp / "summary.json").write_text(json.dumps(ctx.summary, indent=2, default=str),
                                          encoding="utf-8")
        outputs["summary"] = "summary.json"
        replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return outputs


__all__ = ["read_bundle", "replace_dir", "run", "write_bundle"]
