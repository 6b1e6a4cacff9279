"""
Forecast benchmark: the acceptance figures of the forecaster (issue 4).

1. Anonymous Bank (../shared/data/anonymous_bank, January and February 1999, hourly):
   queues PS and NW and the total over every queue; rolling one-day-ahead (21 windows,
   a day apart) and one-week-ahead (3 windows, a week apart) backtests over the last
   three weeks of February. Auto vs seasonal naive vs historical average, with the
   standard error of auto's difference from the historical average (paired by window),
   and the WAPE every fixed equal-weight mean of auto's candidates would have had on the
   same windows (the most a choice fixed in advance could do there).
   ``--holdout`` adds figures that are not acceptance checks, for judging a change of
   the models or of the automatic choice on data it was not tuned on: the bank's other
   queues (PE, NE, IN, TT) on the same windows, one-week-ahead forecasts from every day
   (15 windows) and the same backtests ending at the first acceptance cutoff.
2. Demo world: one-week-ahead backtest over the last 8 weeks with the scenario's
   holidays and promotions known: WAPE vs seasonal naive, 80 % interval coverage.
3. Speed: fit, backtest and forecast of every demo series, timed per series, with the
   seasonal-naive-only forecaster timed in the same run as the baseline.

Run: ``make bench-forecast`` or ``.venv/bin/python benchmarks/forecast_bench.py``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from wfm import demo, io
from wfm import forecast as fc
from wfm import scenario as scenario_mod

ROOT = Path(__file__).resolve().parent.parent
BANK = ROOT.parent / "shared" / "data" / "anonymous_bank"
BASELINE = ROOT / "scenarios" / "baseline.toml"
QUEUES = {"PS": ("he", "voice"), "NW": ("he", "voice-nw"), "total": ("all", "total")}
#: the bank's other queues: not in the acceptance, so a hold-out for rule changes
OTHER_QUEUES = {"PE": ("en", "voice"), "NE": ("he", "voice-ne"), "IN": ("he", "voice-in"),
                "TT": ("he", "voice-tt")}
#: (label, horizon [h], windows, step [h]) of the acceptance backtests
PLANS = (("1 day", 24, 21, 24), ("1 week", 168, 3, 168))
NAMES = ("auto", "seasonal_naive", "historical_average")


def bank_history(folder: Path = BANK, *, others: bool = False) -> pd.DataFrame:
    """PS, NW and the total of every queue, hourly, January and February 1999 (with
    ``others``: the queues of :data:`OTHER_QUEUES` too)."""
    parts = []
    for name in ("january.txt", "february.txt"):
        history, _ = io.read_history(folder / name, format="anonymous-bank", interval_min=60)
        parts.append(history[["interval_start", "market", "language", "channel", "contacts",
                              "aht_s"]])
    history = pd.concat(parts, ignore_index=True)
    handle = (history["aht_s"].fillna(0) * history["contacts"]).groupby(
        history["interval_start"]).sum()
    handled = history["contacts"].where(history["aht_s"].notna(), 0).groupby(
        history["interval_start"]).sum()
    total = history.groupby("interval_start", as_index=False)["contacts"].sum()
    aht = handle / handled.where(handled > 0)
    total["aht_s"] = aht.reindex(total["interval_start"]).to_numpy()
    total = total.assign(market="IL", language="all", channel="total")
    wanted = [QUEUES["PS"], QUEUES["NW"], *(OTHER_QUEUES.values() if others else ())]
    keep = history[history[["language", "channel"]].apply(tuple, axis=1).isin(wanted)]
    out = pd.concat([keep, total[keep.columns]], ignore_index=True)
    out["contacts"] = out["contacts"].astype("int64")
    return out.sort_values(["interval_start", "market", "language", "channel"]).reset_index(
        drop=True)


def bank_forecaster(method: str = "auto") -> fc.Forecaster:
    return fc.Forecaster(method, zones={"IL": "Asia/Jerusalem"}, holiday_countries={"IL": "IL"})


def queue_of(language: str, channel: str) -> str:
    return {v: k for k, v in {**QUEUES, **OTHER_QUEUES}.items()}[(language, channel)]


def paired_difference(bt: pd.DataFrame, model: str = "auto",
                      baseline: str = "historical_average") -> pd.DataFrame:
    """
    Per series: ``model``'s WAPE relative to ``baseline``'s minus 1 (``difference``) and
    its standard error (``se``), from the difference of their absolute errors in each
    backtest window (the windows are the independent units).
    """
    bt = bt.assign(abs_error=(bt["contacts"] - bt["actual"]).abs())
    rows = []
    for (language, channel), part in bt.groupby(["language", "channel"]):
        errors = part.pivot_table(index="cutoff", columns="model", values="abs_error",
                                  aggfunc="sum")
        actual = part[part["model"] == model]["actual"].sum()
        base = errors[baseline].sum()
        diff = errors[model] - errors[baseline]
        se = diff.std(ddof=1) * len(diff) ** 0.5 / base if len(diff) > 1 else float("nan")
        rows.append({"language": language, "channel": channel, "windows": len(diff),
                     "difference": diff.sum() / base if actual > 0 else float("nan"),
                     "se": se})
    return pd.DataFrame(rows)


def fixed_means(bt: pd.DataFrame) -> pd.DataFrame:
    """
    WAPE per series of every fixed equal-weight mean of auto's candidate models (each
    one alone, each pair, all three), on the windows of backtest ``bt``: what auto could
    have scored had one combination been fixed in advance for every series and window.
    """
    key = ["language", "channel", "cutoff", "interval_start"]
    wide = bt.pivot_table(index=key, columns="model", values="contacts")
    actual = bt[bt["model"] == "auto"].set_index(key)["actual"].reindex(wide.index)
    short = {"historical_average": "ha", "count_glm": "glm", "mstl": "mstl"}
    by = ["language", "channel"]
    out = {}
    for r in range(1, len(fc.AUTO_CANDIDATES) + 1):
        for members in itertools.combinations(fc.AUTO_CANDIDATES, r):
            error = (wide[list(members)].mean(axis=1) - actual).abs()
            out["+".join(short[m] for m in members)] = (
                error.groupby(level=by).sum() / actual.groupby(level=by).sum())
    table = pd.DataFrame(out)
    table.index = [queue_of(language, channel) for language, channel in table.index]
    return table


def run_bank(folder: Path = BANK, *, history: pd.DataFrame | None = None,
             plans=PLANS, means: dict | None = None) -> tuple[pd.DataFrame, dict]:
    """WAPE per queue, horizon and model (with auto's difference from the historical
    average and its standard error); and auto's picks per queue and horizon. With
    ``means`` (a dict), ``means[horizon]`` gets the :func:`fixed_means` table."""
    history = bank_history(folder) if history is None else history
    rows, picks = [], {}
    for label, horizon_h, n_windows, step_h in plans:
        bt = bank_forecaster().backtest(history, horizon_h, n_windows, step_h)
        if means is not None:
            means[label] = fixed_means(bt)
        acc = fc.accuracy(bt, by=["language", "channel", "model"])
        noise = paired_difference(bt).set_index(["language", "channel"])
        for r in acc.itertuples():
            rows.append({"queue": queue_of(r.language, r.channel), "horizon": label,
                         "model": r.model, "wape": r.wape, "coverage": r.coverage,
                         "windows": n_windows, "first_cutoff": bt["cutoff"].min(),
                         "last_cutoff": bt["cutoff"].max(),
                         "vs_average_se": noise.loc[(r.language, r.channel), "se"]})
        auto = bt[bt["model"] == "auto"].drop_duplicates(["language", "channel", "cutoff"])
        for (language, channel), part in auto.groupby(["language", "channel"]):
            picks[(queue_of(language, channel), label)] = part["chosen"].value_counts().to_dict()
    return pd.DataFrame(rows), picks


def bank_table(bank: pd.DataFrame) -> pd.DataFrame:
    """One row per queue and horizon: WAPE per model, auto vs the baselines (relative
    difference) and the standard error of auto vs the historical average."""
    table = bank.pivot_table(index=["queue", "horizon"], columns="model", values="wape")
    table["vs_naive"] = table["auto"] / table["seasonal_naive"] - 1
    table["vs_average"] = table["auto"] / table["historical_average"] - 1
    se = bank.groupby(["queue", "horizon"])["vs_average_se"].first()
    table["vs_average_se"] = se.reindex(table.index)
    order = [(q, h) for q in (*QUEUES, *OTHER_QUEUES) for h in dict.fromkeys(bank["horizon"])]
    return table.reindex([k for k in order if k in table.index])


def run_holdout(folder: Path = BANK) -> list[tuple[str, pd.DataFrame]]:
    """Figures that are not acceptance checks (see the module docstring): (title, table)."""
    history = bank_history(folder, others=True)
    first = history["interval_start"].max() + pd.Timedelta(hours=1) - pd.Timedelta(weeks=3)
    out = []
    bank, _ = run_bank(history=history)
    out.append(("other queues, the acceptance windows",
                bank_table(bank[bank["queue"].isin(OTHER_QUEUES)])))
    accepted = history[["language", "channel"]].apply(tuple, axis=1).isin(QUEUES.values())
    bank, _ = run_bank(history=history[accepted], plans=(("1 week", 168, 15, 24),))
    out.append(("one week ahead from every day (15 windows; the acceptance has 3)",
                bank_table(bank)))
    bank, _ = run_bank(history=history[history["interval_start"] < first],
                       plans=(("1 day", 24, 14, 24), ("1 week", 168, 2, 168)))
    out.append(("every queue, windows ending at the first acceptance cutoff "
                f"({first:%Y-%m-%d %H:%M} UTC)", bank_table(bank)))
    return out


def print_table(table: pd.DataFrame, checks: bool) -> bool:
    """Print a bank table (with PASS/FAIL when ``checks``); True when every check passes."""
    ok = True
    print(f"{'queue':<6} {'horizon':<7} {'auto':>7} {'s.naive':>8} {'hist.avg':>9} "
          f"{'vs s.naive':>11} {'vs hist.avg':>12} {'(se)':>7}" + ("  checks" if checks else ""))
    for (queue, horizon), r in table.iterrows():
        line = (f"{queue:<6} {horizon:<7} {r['auto']:7.3f} {r['seasonal_naive']:8.3f} "
                f"{r['historical_average']:9.3f} {r['vs_naive']:+11.1%} "
                f"{r['vs_average']:+12.1%} {r['vs_average_se']:7.1%}")
        if checks:
            passed = [("auto >= 10 % below s.naive", r["vs_naive"] <= -0.10),
                      ("auto <= hist.avg", r["auto"] <= r["historical_average"] + 1e-12)]
            ok &= all(c for _, c in passed)
            line += "  " + ", ".join(f"{name}: {'PASS' if c else 'FAIL'}" for name, c in passed)
        print(line)
    return ok


def run_demo(weeks: int = 8, series_limit: int | None = None):
    """
    Per demo series: backtest (one week ahead, ``weeks`` windows), fit and forecast of
    the auto forecaster, then the same with the seasonal naive only; time both.
    """
    scenario = scenario_mod.load(BASELINE)
    history = demo.history()
    keys = list(history.groupby(["market", "language", "channel"]).groups)[:series_limit]
    frames, timing = [], []
    for key in keys:
        part = history[(history["market"] == key[0]) & (history["language"] == key[1])
                       & (history["channel"] == key[2])].reset_index(drop=True)
        times = {}
        for method in ("auto", "seasonal_naive"):
            t0 = time.perf_counter()
            f = fc.Forecaster.from_scenario(scenario, method=method, series=[key])
            bt = f.backtest(part, 168, weeks, 168)
            f.fit(part)
            forecast = f.predict(168)
            times[method] = time.perf_counter() - t0
            if method == "auto":
                frames.append(bt)
                model = str(forecast["model"].iloc[0])
        timing.append({"series": "/".join(key), "auto_s": times["auto"],
                       "seasonal_naive_s": times["seasonal_naive"], "model": model})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(timing)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bank", type=Path, default=BANK, help="Anonymous Bank folder")
    parser.add_argument("--series", type=int, help="only the first N demo series")
    parser.add_argument("--holdout", action="store_true",
                        help="also print the bank figures that are not acceptance checks")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", fc.ForecastWarning)
    pd.set_option("display.width", 160)
    ok = True

    print("== Anonymous Bank: rolling backtests over the last three weeks of February 1999")
    if (args.bank / "january.txt").is_file():
        t0 = time.perf_counter()
        means: dict = {}
        bank, picks = run_bank(args.bank, means=means)
        table = bank_table(bank)
        first, last = bank["first_cutoff"].min(), bank["last_cutoff"].max()
        print(f"cutoffs {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC "
              f"(local midnight, Asia/Jerusalem); {time.perf_counter() - t0:.1f} s")
        ok &= print_table(table, checks=True)
        print("(se): standard error of auto vs hist.avg, from the paired errors per window")
        print("other models (WAPE):")
        others = [c for c in table.columns if c not in NAMES and not c.startswith("vs_")]
        print(table[others].round(3).to_string())
        print("fixed equal-weight means of auto's candidates (WAPE; ha historical average, "
              "glm count regression):")
        for horizon, part in means.items():
            print(f"  {horizon}:")
            print("    " + part.round(3).to_string().replace("\n", "\n    "))
        print("auto's picks (windows per model; a+b is the mean of a and b):")
        for (queue, horizon), counts in sorted(picks.items()):
            print(f"  {queue:<6} {horizon:<7} " + ", ".join(f"{m} {n}" for m, n in counts.items()))
        if args.holdout:
            print("\n== Anonymous Bank hold-out (not acceptance checks)")
            for title, part in run_holdout(args.bank):
                print(title + ":")
                print_table(part, checks=False)
    else:
        print(f"skipped: {args.bank} not found")

    print("\n== Demo world: one-week-ahead backtest over the last 8 weeks, holidays and "
          "promotions known")
    bt, timing = run_demo(series_limit=args.series)
    pooled = fc.accuracy(bt, by=["model"]).set_index("model")
    auto, naive = pooled.loc["auto"], pooled.loc["seasonal_naive"]
    average = pooled.loc["historical_average"]
    gain = auto["wape"] / naive["wape"] - 1
    coverage_ok = 0.70 <= auto["coverage"] <= 0.90
    ok &= gain <= -0.15 and coverage_ok
    print(pooled[["n", "wape", "mase", "bias", "coverage"]].round(3).to_string())
    print(f"auto WAPE {auto['wape']:.3f} vs seasonal naive {naive['wape']:.3f}: {gain:+.1%} "
          f"(needs <= -15 %: {'PASS' if gain <= -0.15 else 'FAIL'}); vs historical average "
          f"{average['wape']:.3f}: {auto['wape'] / average['wape'] - 1:+.1%}")
    print(f"80 % interval coverage of auto: {auto['coverage']:.1%} (needs 70-90 %: "
          f"{'PASS' if coverage_ok else 'FAIL'})")
    per_series = fc.accuracy(bt).pivot_table(index=["market", "language", "channel"],
                                             columns="model", values="wape")
    better = (per_series["auto"] < per_series["seasonal_naive"] * 0.85).sum()
    print(f"series where auto is >= 15 % below seasonal naive: {better} of {len(per_series)}")
    picks = bt[bt["model"] == "auto"].drop_duplicates(["market", "language", "channel",
                                                       "cutoff"])["chosen"].value_counts()
    print("auto's picks over the backtest windows: "
          + ", ".join(f"{m} {n}" for m, n in picks.items()))

    print("\n== Speed: backtest (8 windows) + fit + 168 h forecast per demo series, 52 weeks "
          "of hourly history each")
    print(timing.assign(ratio=timing["auto_s"] / timing["seasonal_naive_s"]).round(2)
          .to_string(index=False))
    total, base = timing["auto_s"].sum(), timing["seasonal_naive_s"].sum()
    speed_ok = total < 60
    ok &= speed_ok
    print(f"total {total:.1f} s for {len(timing)} series ({total / len(timing):.2f} s per "
          f"series; needs < 60 s: {'PASS' if speed_ok else 'FAIL'}); seasonal naive alone "
          f"{base:.1f} s in the same run (ratio {total / base:.1f}x)")
    print("forecast models chosen at the cutoff: "
          + ", ".join(f"{m} {n}" for m, n in timing["model"].value_counts().items()))
    print("\nall acceptance checks pass" if ok else "\nsome acceptance checks FAIL (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
