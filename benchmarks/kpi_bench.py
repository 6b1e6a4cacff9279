"""
Acceptance figures of the shift-adjusted KPI scorecards (issue 7).

On the demo world's interactions with its known truth:

- Spearman correlation of the adjusted composite with the true agent skill (>= 0.9)
  and of the raw composite (the adjusted must be at least 0.1 higher);
- the mean adjusted score of night-band agents against day agents, in standard
  deviations of the score (within 0.1), and the raw gap;
- for agents with fewer than 50 contacts, the mean absolute rank error against the
  truth with and without shrinkage (shrinkage must lower it);
- run time of the scorecards, with the raw per-agent means and the building of the
  demo's interactions measured in the same run as baselines.

Then on the real Anonymous Bank logs: per server, AHT adjusted for the hour-of-day
band and the queue type; the servers whose rank changes most, and why.

Run: ``make bench-kpi`` or ``python benchmarks/kpi_bench.py [--seeds 2026,1,2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from wfm import demo, fairness, io

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    for candidate in (os.environ.get("WFM_SHARED"), REPO.parent / "shared", "/work/shared"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return REPO.parent / "shared"


def gap_sd(frame: pd.DataFrame, column: str) -> float:
    """Mean of ``column`` over night regulars minus the others, in SDs of the column."""
    night = frame["night_regular"].to_numpy(dtype=bool)
    v = frame[column].to_numpy(dtype=float)
    return float((v[night].mean() - v[~night].mean()) / v.std())


def rank_error(frame: pd.DataFrame, column: str, subset: np.ndarray) -> float:
    """Mean |rank by column - rank by true skill| over ``subset`` (ranks among all)."""
    truth = stats.rankdata(-frame["skill"].to_numpy())
    mine = stats.rankdata(-frame[column].to_numpy())
    return float(np.abs(mine - truth)[subset].mean())


def demo_figures(seed: int, *, verbose: bool) -> dict:
    t0 = time.perf_counter()
    agents = demo.agents(seed)
    records, shifts, truth = demo.interactions(agents, seed)
    build_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    records.groupby("agent_id").agg(  # the baseline: raw per-agent means
        handle_s=("handle_s", "mean"), fcr=("resolved_first_contact", "mean"),
        complaint=("complaint", "mean"), escalated=("escalated", "mean"),
        csat=("csat", lambda v: (v.dropna() >= 4).mean()), qa=("qa_score", "mean"))
    raw_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = fairness.scorecards(records, agents, shifts=shifts)
    score_s = time.perf_counter() - t0

    truth = truth.rename(columns={"night_share": "true_night_share",
                                  "evening_share": "true_evening_share"})
    c = result.composite.merge(truth, on="agent_id", validate="one_to_one")
    few = c["contacts"].to_numpy() < 50
    out = {
        "seed": seed,
        "contacts": len(records),
        "agents": len(c),
        "night_agents": int(c["night_regular"].sum()),
        "few_contact_agents": int(few.sum()),
        "spearman_adjusted": float(stats.spearmanr(c["score"], c["skill"])[0]),
        "spearman_raw": float(stats.spearmanr(c["raw_score"], c["skill"])[0]),
        "spearman_unshrunk": float(stats.spearmanr(c["unshrunk_score"], c["skill"])[0]),
        "night_gap_adjusted_sd": gap_sd(c, "score"),
        "night_gap_raw_sd": gap_sd(c, "raw_score"),
        "night_gap_unshrunk_sd": gap_sd(c, "unshrunk_score"),
        "rank_error_few_shrunk": rank_error(c, "score", few),
        "rank_error_few_unshrunk": rank_error(c, "unshrunk_score", few),
        "rank_error_all_shrunk": rank_error(c, "score", np.ones(len(c), bool)),
        "rank_error_all_unshrunk": rank_error(c, "unshrunk_score", np.ones(len(c), bool)),
        "build_s": build_s,
        "raw_means_s": raw_s,
        "scorecards_s": score_s,
    }
    if verbose:
        print(f"demo world (seed {seed}): {len(records):,} contacts, {len(c)} agents "
              f"({out['night_agents']} night regulars, {out['few_contact_agents']} with < 50 "
              "contacts)")
        kpis = result.kpis.merge(truth, on="agent_id")
        rows = []
        for kpi, part in kpis.groupby("kpi", sort=False):
            night = part["night_regular"].to_numpy(bool)
            rows.append({
                "kpi": kpi,
                "corr(z, skill)": np.corrcoef(part["z"], part["skill"])[0, 1],
                "corr(raw, skill)": np.corrcoef(part["raw_z"], part["skill"])[0, 1],
                "night gap z (adjusted)": part["z"][night].mean() - part["z"][~night].mean(),
                "night gap z (raw)": part["raw_z"][night].mean() - part["raw_z"][~night].mean(),
            })
        print("\nper KPI (z = adjusted score in SDs of the agents' spread; sign: higher is "
              "better):")
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
        truth_effects = {
            "aht_s": demo.EFFECTS["handle_log"]["night"],
            "fcr": demo.EFFECTS["fcr_logit"]["night"],
            "csat": demo.EFFECTS["csat_logit"]["night"],
            "qa_score": demo.EFFECTS["qa"]["night"],
            "complaint_rate": demo.EFFECTS["complaint_logit"]["night"],
            "escalation_rate": demo.EFFECTS["escalation_logit"]["night"],
        }
        rows = []
        for kpi, model in result.models.items():
            coef = model.coefficients.set_index("term")
            night = coef["estimate"].get("band=night", np.nan)
            day = coef["estimate"].get("band=day", 0.0)
            rows.append({"kpi": kpi, "model": model.family, "cells": model.cells,
                         "night vs day (estimate)": night - day,
                         "true night effect": truth_effects.get(kpi, np.nan),
                         "agents' sd (tau)": model.tau})
        print("\nnight band effect, link scale (CSAT's truth excludes the longer night waits, "
              "which the band absorbs):")
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
        print("\nexample sentences:")
        example = result.kpis[result.kpis["agent_id"] == c.sort_values(
            "night_share").iloc[-1]["agent_id"]]
        for text in example["explanation"]:
            print(f"  {text}")
        print(f"  composite: {c.sort_values('night_share').iloc[-1]['explanation']}")
    return out


def bank_figures(folder: Path, top: int) -> None:
    files = [folder / f"{m}.txt" for m in ("january", "february")
             if (folder / f"{m}.txt").is_file()]
    if not files:
        print(f"\nAnonymous Bank: {folder} not present, skipped")
        return
    t0 = time.perf_counter()
    log = pd.concat([io.read_anonymous_bank(f)[0] for f in files], ignore_index=True)
    read_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    table, model = fairness.adjusted_aht(log, min_contacts=100)
    fit_s = time.perf_counter() - t0
    ranked = table[table["raw_rank"].notna()].copy()
    print(f"\nAnonymous Bank ({', '.join(f.name for f in files)}): {len(log):,} calls, "
          f"{int(log['handle_s'].notna().sum()):,} served by {len(table)} servers; "
          f"{len(ranked)} servers with >= 100 calls are ranked (1 = fastest). "
          f"Read {read_s:.1f} s, fitted {fit_s:.1f} s.")
    coef = model.coefficients.assign(ratio=np.exp(model.coefficients["estimate"]))
    print("Gamma log-link GLM (reference: the most frequent level, PS and day):")
    print(coef.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"servers' effects: sd {model.tau:.3f} on the log scale "
          f"(x{np.exp(model.tau):.2f} per SD)")
    ranked["abs_change"] = ranked["rank_change"].abs()
    show = ranked.sort_values(["abs_change", "n"], ascending=[False, False]).head(top)
    cols = ["agent_id", "n", "raw_aht_s", "expected_aht_s", "adjusted_aht_s", "raw_rank",
            "adjusted_rank", "rank_change"]
    print(f"\nthe {top} servers whose rank changes most (rank_change > 0: better once the "
          "mix is accounted for):")
    print(show[cols].to_string(index=False, float_format=lambda v: f"{v:.0f}"))
    print("\nwhy:")
    for r in show.itertuples():
        print(f"  {r.agent_id}: rank {r.raw_rank} -> {r.adjusted_rank}: {r.reason}")
    rho = stats.spearmanr(ranked["raw_aht_s"], ranked["adjusted_aht_s"])[0]
    print(f"\nSpearman(raw AHT, adjusted AHT) over the ranked servers: {rho:.3f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="2026,1,2",
                        help="demo seeds; the first is reported in detail (default 2026,1,2)")
    parser.add_argument("--top", type=int, default=8, help="Anonymous Bank servers to show")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    runs = [demo_figures(s, verbose=(i == 0)) for i, s in enumerate(seeds)]
    main_run = runs[0]
    print("\nacceptance (seed {seed}):".format(**main_run))
    checks = [
        ("Spearman(adjusted composite, true skill) >= 0.9",
         f"{main_run['spearman_adjusted']:.3f}", main_run["spearman_adjusted"] >= 0.9),
        ("... and >= 0.1 above the raw composite's",
         f"raw {main_run['spearman_raw']:.3f}, difference "
         f"{main_run['spearman_adjusted'] - main_run['spearman_raw']:+.3f}",
         main_run["spearman_adjusted"] - main_run["spearman_raw"] >= 0.1),
        ("night-band agents' mean adjusted score within 0.1 SD of day agents'",
         f"{main_run['night_gap_adjusted_sd']:+.3f} SD (raw {main_run['night_gap_raw_sd']:+.3f}"
         " SD)", abs(main_run["night_gap_adjusted_sd"]) <= 0.1),
        ("agents with < 50 contacts: shrinkage lowers the mean absolute rank error",
         f"{main_run['rank_error_few_shrunk']:.1f} with vs "
         f"{main_run['rank_error_few_unshrunk']:.1f} without "
         f"({main_run['few_contact_agents']} agents)",
         main_run["rank_error_few_shrunk"] < main_run["rank_error_few_unshrunk"]),
    ]
    ok = True
    for what, value, passed in checks:
        ok &= bool(passed)
        print(f"  [{'PASS' if passed else 'FAIL'}] {what}: {value}")
    print(f"\nrun time (seed {main_run['seed']}, same process): scorecards "
          f"{main_run['scorecards_s']:.1f} s for {main_run['contacts']:,} contacts; "
          f"{main_run['scorecards_s'] / main_run['raw_means_s']:.0f}x the raw per-agent means "
          f"({main_run['raw_means_s']:.2f} s), "
          f"{main_run['scorecards_s'] / main_run['build_s']:.2f}x building the interactions "
          f"({main_run['build_s']:.1f} s)")
    if len(runs) > 1:
        print("\nother seeds of the demo world (robustness):")
        table = pd.DataFrame(runs)[[
            "seed", "spearman_adjusted", "spearman_raw", "night_gap_adjusted_sd",
            "night_gap_raw_sd", "rank_error_few_shrunk", "rank_error_few_unshrunk",
            "few_contact_agents", "scorecards_s"]]
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    bank_figures(_shared() / "data" / "anonymous_bank", args.top)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
