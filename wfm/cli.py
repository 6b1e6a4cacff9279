"""
The ``wfm`` command.

Exit codes: 0 done; 2 bad input (the message names the file, the row or key, what
was expected and what was found); 3 no roster can satisfy the hard rules.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from wfm import __version__, demo, pipeline
from wfm import scenario as scenario_mod
from wfm.errors import InputError, RosterInfeasible, WfmError
from wfm.progress import Bar
from wfm.store import DEFAULT_PATH, Store

PACKAGE_SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def _scenario_path(name: str) -> Path:
    """A scenario argument: a path, or a name looked up in ./scenarios then the repo's."""
    path = Path(name)
    if path.is_file():
        return path
    for folder in (Path("scenarios"), PACKAGE_SCENARIOS):
        for candidate in (folder / name, folder / f"{name}.toml"):
            if candidate.is_file():
                return candidate
    raise InputError(
        f"scenario {name!r} not found: give a .toml path or a name in scenarios/ "
        f"(known: {', '.join(p.stem for p in scenario_mod.list_scenarios(PACKAGE_SCENARIOS))})"
    )


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(none)"
    frame = pd.DataFrame(rows)
    if columns:
        frame = frame[columns]
    return frame.to_string(index=False)


def print_summary(summary: dict, out=None) -> None:
    """The short run summary printed at the end of ``wfm demo`` and ``wfm run``."""
    out = out or sys.stdout
    h = summary.get("history", {})
    if h:
        print(f"history: {h['series']} series from {h['source']}, {h['first_interval']} to "
              f"{h['last_interval']} (UTC)", file=out)
        print(f"\ncontacts per market and language, last 4 weeks "
              f"(total {h['contacts_last_4_weeks']:,}):", file=out)
        print(_table(summary["contacts_per_market_language"]), file=out)
        print("\nbusiest hour of the day per market (last 4 weeks):", file=out)
        print(_table(summary["busiest_hours"]), file=out)
    a = summary.get("agents")
    if a:
        sites = ", ".join(f"{k} {v}" for k, v in a["per_site"].items())
        print(f"\nagents: {a['total']} ({sites})", file=out)
    for line in summary.get("headline", []):
        print(line, file=out)
    run = summary.get("run", {})
    for w in run.get("warnings", []):
        print(f"warning: {w}", file=out)


# -- commands ---------------------------------------------------------------------------


def cmd_demo(args) -> int:
    t0 = time.perf_counter()
    store_path = Path(args.store)
    with Store(store_path) as store:
        if args.rebuild or not store.has_demo():
            with Bar("building the demo world") as bar:
                world = demo.build(args.seed, progress=bar)
            report = store.ingest_demo(world)
            print(f"demo world built into {store_path}: {report.message}")
        else:
            print(f"demo world already in {store_path} (use --rebuild to build it again)")
    scenario = scenario_mod.load(_scenario_path(args.scenario))
    out = Path(args.out or f"runs/{scenario.name}")
    with Bar(f"running {scenario.name}") as bar:
        result = pipeline.run(scenario, out, store_path=store_path, progress=bar)
    print_summary(result.summary)
    print(f"\noutputs in {out}/ ({', '.join(sorted(result.outputs.values()))}); "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


def cmd_ingest(args) -> int:
    with Store(args.store) as store:
        before = store.counts()
        report = store.ingest(args.file, format=args.format)
        after = store.counts()
    print(f"{args.file}: {report.message}")
    changed = {t: after[t] - before[t] for t in after if after[t] != before[t]}
    if changed:
        print("rows per table: " + ", ".join(f"{t} {after[t]:,} ({d:+,})"
                                             for t, d in changed.items()))
    return 0


def cmd_run(args) -> int:
    scenario = scenario_mod.load(_scenario_path(args.scenario))
    out = Path(args.out or f"runs/{scenario.name}")
    with Bar(f"running {scenario.name}") as bar:
        result = pipeline.run(scenario, out, store_path=args.store, progress=bar)
    print_summary(result.summary)
    print(f"\nrun {result.run_id}: outputs in {out}/")
    return 0


def _read_forecast(path: str) -> pd.DataFrame:
    """A forecast frame from a Parquet (or CSV) file, checked against the contract."""
    from wfm import schema

    file = Path(path)
    if not file.is_file():
        raise InputError(f"{file}: forecast file not found; give a Parquet file of the "
                         "forecast frame (e.g. forecast.parquet of a `wfm run` folder)")
    try:
        if file.suffix.lower() == ".csv":
            frame = pd.read_csv(file)
            frame["interval_start"] = pd.to_datetime(frame["interval_start"], utc=True)
        else:
            frame = pd.read_parquet(file)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{file}: cannot read a forecast frame: {exc}") from None
    return schema.validate(frame, "forecast", source=str(file))


def cmd_staff(args) -> int:
    scenario = scenario_mod.load(_scenario_path(args.scenario))
    out = Path(args.out or f"runs/{scenario.name}")
    if args.forecast:
        inputs = pipeline.Inputs(pd.DataFrame(), pd.DataFrame(), source=args.forecast)
        ctx = pipeline.RunContext(scenario, inputs)
        ctx.frames["forecast"] = _read_forecast(args.forecast)
    else:
        ctx = pipeline.RunContext(scenario, pipeline.load_inputs(scenario,
                                                                 store_path=args.store))
        for name, stage in pipeline.STAGES:
            if name == "staffing":
                break
            stage(ctx)
        if "forecast" not in ctx.frames:
            raise InputError(f"{scenario.name}: no forecast to staff (no forecast stage "
                             "gave one); pass --forecast FILE with a forecast frame")
    pipeline.staff_requirements(ctx)
    pipeline.write_bundle(out, ctx)
    for line in ctx.summary.get("headline", []):
        print(line)
    print(_table(ctx.summary["staffing"]["queues"]))
    print(f"\nrequirement of {len(ctx.frames['requirement']):,} rows in {out}/requirement.parquet")
    return 0


def cmd_roster(args) -> int:
    import dataclasses

    scenario = scenario_mod.load(_scenario_path(args.scenario))
    if args.time_limit is not None:
        if args.time_limit <= 0:
            raise InputError(f"--time-limit: expected seconds > 0, got {args.time_limit}")
        scenario = dataclasses.replace(
            scenario, roster=dataclasses.replace(scenario.roster, time_limit_s=args.time_limit))
    out = Path(args.out or f"runs/{scenario.name}")
    inputs = pipeline.load_inputs(scenario, store_path=args.store)
    with Bar(f"rostering {scenario.name}") as bar:
        ctx = pipeline.RunContext(scenario, inputs, progress=bar, store_path=args.store)
        for name, stage in pipeline.STAGES:
            if name in ("history summary", "KPI scorecards"):
                continue
            stage(ctx)
            if name == "roster":
                break
    if "roster" not in ctx.frames:
        raise InputError(f"{scenario.name}: no roster was made: "
                         f"{'; '.join(ctx.warnings) or 'no requirement'}")
    pipeline.write_bundle(out, ctx)
    report = ctx.summary["roster"]
    for line in ctx.summary.get("headline", []):
        print(line)
    rows = [{"queue": q, "under_h": report["under_coverage_h"][q],
             "over_h": report["over_coverage_h"][q]} for q in report["under_coverage_h"]]
    print("\nunder- and over-coverage per queue (agent-hours):")
    print(_table(rows))
    fair = [{"site": site, "nights min-max": f"{f['nights_night_ok_agents']['min']}-"
             f"{f['nights_night_ok_agents']['max']}",
             "weekend days min-max": f"{f['weekend_days']['min']}-{f['weekend_days']['max']}"}
            for site, f in report["fairness"].items()]
    print("\nfairness (nights among night_ok agents, weekend days):")
    print(_table(fair))
    print(f"\nrule violations: {len(report['violations'])}")
    for w in ctx.warnings:
        print(f"warning: {w}")
    print(f"\nroster, allocation and report in {out}/")
    return 0


def cmd_forecast(args) -> int:
    from wfm import forecast

    scenario = scenario_mod.load(_scenario_path(args.scenario))
    history = pipeline.load_inputs(scenario, store_path=args.store).history
    t0 = time.perf_counter()
    with Bar(f"forecasting {scenario.name}") as bar:
        result = forecast.forecast_scenario(scenario, history, progress=bar)
    path = forecast.write_forecast(result, args.out_dir)
    elapsed = time.perf_counter() - t0
    print(forecast.headline(result))
    rows = []
    for row in result.meta["per_series"]:
        wape = row["wape"]
        rows.append({"series": f"{row['market']}/{row['language']}/{row['channel']}",
                     "model": row["model"], "wape": wape.get(row["model"]),
                     "seasonal_naive": wape.get("seasonal_naive"),
                     "historical_average": wape.get("historical_average")})
    print("\nbacktest WAPE per series (one-week-ahead windows before the cutoff):")
    print(_table(rows))
    for w in result.meta["warnings"]:
        print(f"warning: {w}")
    n = max(result.meta["series"], 1)
    print(f"\n{path} and {path.with_suffix('.json').name}: {len(result.frame):,} rows; "
          f"{elapsed:.1f} s ({elapsed / n:.2f} s per series)")
    return 0


def cmd_kpi(args) -> int:
    from wfm import fairness, io

    if (args.file is None) == (not args.from_store):
        raise InputError("wfm kpi: give an interactions FILE or --from-store (one of them)")
    scenario = scenario_mod.load(_scenario_path(args.scenario))
    store_path = Path(args.store or scenario.data.store)
    shifts = None
    if args.from_store or not args.agents:
        if not store_path.is_file():
            raise InputError(f"{store_path}: the store does not exist; run `wfm demo` or "
                             "`wfm ingest FILE`, or give FILE with --agents AGENTS.csv")
        with Store(store_path, read_only=True) as store:
            counts = store.counts()
            agents = store.agents()
            if args.from_store:
                if not counts["interactions"]:
                    raise InputError(f"{store_path}: the store holds no interactions; ingest "
                                     "some with `wfm ingest FILE --format interactions`")
                interactions = store.interactions()
                shifts = store.shifts() if counts["shifts"] else None
    if args.file is not None:
        interactions, _ = io.read_interactions(args.file)
    if args.agents:
        agents, _ = io.read_agents(args.agents)
    result = fairness.scorecards(interactions, agents, settings=fairness.settings_for(scenario),
                                 shifts=shifts)
    paths = fairness.write_scorecards(result, args.out)
    print(fairness.headline(fairness.summarize(result)))
    top = result.composite.sort_values("rank").head(args.top)
    print(f"\nthe {len(top)} best composite scores (rank 1 = best; raw_rank on unadjusted "
          "KPIs):")
    print(_table(top.round({"night_share": 2, "score": 2, "score_lo": 2, "score_hi": 2})
                 .to_dict("records"), ["rank", "rank_lo", "rank_hi", "agent_id", "site", "role",
                                       "contacts", "night_share", "score", "score_lo",
                                       "score_hi", "raw_rank"]))
    print(f"\n{', '.join(str(p) for p in paths.values())}; "
          f"{result.diagnostics['seconds']:.1f} s")
    return 0


def cmd_export(args) -> int:
    from wfm import export

    scenario = scenario_mod.load(_scenario_path(args.scenario)) if args.scenario else None
    paths = export.export_run(args.run_dir, args.format, args.out, scenario=scenario)
    for path in paths:
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.ics"))
            print(f"{path}/: {len(files)} calendars ({len(list(path.glob('sites/*.ics')))} "
                  f"sites, {len(list(path.glob('agents/*.ics')))} agents)")
        else:
            print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


def cmd_report(args) -> int:
    from wfm import coverage, report

    path, summary = report.write_report(args.run_dir, args.out)
    for line in coverage.headline(summary["coverage"]):
        print(line.strip())
    print("\nSLA attainment per market and channel, week (contact-weighted):")
    print(report.key_table(summary["coverage"]["sla_week"]))
    print(f"\n{path}")
    return 0


def cmd_compare(args) -> int:
    from wfm import compare

    _, text, path = compare.write_compare(args.run_a, args.run_b, args.out)
    print(text)
    print(f"\n{path}")
    return 0


def cmd_publish(args) -> int:
    from wfm import export

    record = export.publish_run(args.run_dir, args.store)
    print(f"published the roster of {args.run_dir} ({record['shifts']} shifts) as version "
          f"{record['version']} of the week of {record['week_start']} in {record['store']}")
    return 0


# -- parser -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfm",
        description="Workforce-management planner: forecast, Erlang staffing, "
                    "follow-the-sun rosters, coverage vs SLA, fair KPI scorecards.",
        epilog="Exit codes: 0 done, 2 bad input, 3 no roster satisfies the hard rules.",
    )
    parser.add_argument("--version", action="version", version=f"wfm {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def store_option(p, default=DEFAULT_PATH):
        where = default or "the scenario's data.store"
        p.add_argument("--store", default=default,
                       help=f"the DuckDB store file (default: {where})")

    p = sub.add_parser("demo", help="build the demo world into the store and run the "
                       "baseline scenario through every stage",
                       description="Build the demo world into the store (once) and run "
                       "scenarios/baseline.toml through every stage; print a summary.")
    store_option(p)
    p.add_argument("--scenario", default="baseline", help="scenario to run (default baseline)")
    p.add_argument("--out", help="output folder (default runs/<scenario>)")
    p.add_argument("--seed", type=int, default=demo.DEMO_SEED, help="demo world seed")
    p.add_argument("--rebuild", action="store_true", help="build the demo world again")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="load a file into the store (idempotent, "
                       "transactional)",
                       description="Load history, a per-contact log, interactions or agents "
                       "into the store. The same file twice is skipped; a bad file changes "
                       "nothing.")
    store_option(p)
    p.add_argument("file", help="the file to ingest")
    p.add_argument("--format", choices=["interval", "contacts", "anonymous-bank",
                                        "interactions", "agents"],
                   help="file format (guessed from the header when left out)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("run", help="run a scenario through every stage",
                       description="Run a scenario through every stage that exists and "
                       "write the result bundle to --out.")
    p.add_argument("scenario", help="scenario file or name in scenarios/")
    p.add_argument("--out", help="output folder (default runs/<scenario>)")
    store_option(p, default=None)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("staff", help="agents and headcount per queue and interval from a "
                       "forecast (Erlang C / A, chat, email)",
                       description="Turn a forecast into the requirement frame (productive "
                       "agents and headcount per queue and planning interval) and write it "
                       "to --out/requirement.parquet.")
    p.add_argument("scenario", help="scenario file or name in scenarios/")
    p.add_argument("--forecast", help="a forecast frame (Parquet) to staff; without it the "
                   "scenario's forecast stage runs")
    p.add_argument("--out", help="output folder (default runs/<scenario>)")
    store_option(p, default=None)
    p.set_defaults(func=cmd_staff)

    p = sub.add_parser("roster", help="the week's roster: shifts per agent in site-local "
                       "time and the queue each agent serves (CP-SAT)",
                       description="Forecast, staff and roster a scenario's week; writes "
                       "roster, allocation and the solver report to --out. Exit code 3 when "
                       "no roster can keep the hard rules (the message names agents and "
                       "rules).")
    p.add_argument("scenario", help="scenario file or name in scenarios/")
    p.add_argument("--time-limit", type=float, help="solver time budget in seconds "
                   "(default: the scenario's roster.time_limit_s)")
    p.add_argument("--out", help="output folder (default runs/<scenario>)")
    store_option(p, default=None)
    p.set_defaults(func=cmd_roster)

    p = sub.add_parser("forecast", help="hourly contacts and AHT per market, language and "
                       "channel, with the model chosen by backtest",
                       description="Forecast every series of the scenario from the end of "
                       "the history to the end of the planning week; write "
                       "<out-dir>/<scenario>_<cutoff>.parquet and a JSON beside it (model per "
                       "series, backtest accuracy vs the baselines, settings).")
    p.add_argument("scenario", help="scenario file or name in scenarios/")
    p.add_argument("--out-dir", default="forecasts",
                   help="folder for the forecast files (default forecasts)")
    store_option(p, default=None)
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("kpi", help="shift-adjusted KPI scorecards of the agents (CSV and HTML)",
                       description="Score every agent's AHT, FCR, CSAT, QA, complaints, "
                       "escalations and contacts per productive hour against what their shifts "
                       "and contact mix make possible; write scorecard.csv, composite.csv and "
                       "scorecards.html to --out.")
    p.add_argument("file", nargs="?", help="interactions file (CSV or Parquet, contract "
                   "'interactions'); or use --from-store")
    p.add_argument("--from-store", action="store_true",
                   help="read interactions, agents and worked shifts from the store")
    p.add_argument("--agents", help="agents file (CSV); default: the store's agents")
    p.add_argument("--scenario", default="baseline",
                   help="scenario for the sites' time zones and the night band (default "
                   "baseline)")
    p.add_argument("--out", default="runs/kpi", help="output folder (default runs/kpi)")
    p.add_argument("--top", type=int, default=10, help="agents to print (default 10)")
    store_option(p, default=None)
    p.set_defaults(func=cmd_kpi)

    p = sub.add_parser("export", help="the roster of a run as CSV, XLSX or iCalendar, in "
                       "each site's local time",
                       description="Export the roster of a `wfm run` folder: csv (one row "
                       "per shift, UTC and site-local times), xlsx (a sheet per site in local "
                       "time, a coverage sheet coloured by net staffing) or ics (a calendar "
                       "per site and per agent with the site's TZID). Files are written "
                       "atomically.")
    p.add_argument("run_dir", help="a `wfm run` output folder")
    p.add_argument("--format", required=True, choices=["csv", "xlsx", "ics"])
    p.add_argument("--out", help="output folder (default RUN_DIR/export)")
    p.add_argument("--scenario", help="the run's scenario, for the sites' zones when the run "
                   "summary lacks them")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("report", help="coverage vs SLA report of a run (HTML and a table)",
                       description="Write RUN_DIR/report.html (self-contained: required vs "
                       "scheduled per queue, day x hour gap heatmaps per queue and market, "
                       "SLA attainment per market) and print SLA attainment per market.")
    p.add_argument("run_dir", help="a `wfm run` output folder")
    p.add_argument("--out", help="HTML file (default RUN_DIR/report.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="two runs side by side (headcount, paid hours, SLA, "
                       "hours below target, nights spread)",
                       description="Compare two `wfm run` folders: headcount, paid hours, "
                       "SLA attainment per market, hours below target, nights per agent "
                       "spread; print the table and write it as HTML.")
    p.add_argument("run_a", help="the first run folder (A)")
    p.add_argument("run_b", help="the second run folder (B)")
    p.add_argument("--out", help="HTML file (default compare_<A>_vs_<B>.html beside B)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("publish", help="publish the roster of a run (immutable, versioned)",
                       description="Store the roster of a `wfm run` folder as the next "
                       "version of its planning week; a published version never changes, "
                       "and the latest one feeds the next week's rest rules.")
    p.add_argument("run_dir", help="a `wfm run` output folder")
    store_option(p)
    p.set_defaults(func=cmd_publish)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``wfm`` with ``argv``; returns the exit code instead of exiting."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error
        return int(exc.code or 0)
    try:
        return args.func(args)
    except RosterInfeasible as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except WfmError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main_entry() -> None:
    sys.exit(main())
