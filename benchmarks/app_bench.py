"""
Speed of a what-if change in the Streamlit app (issue 8: under one second).

The What-if page on the baseline scenario (a week of 30-minute intervals over all 14
queues of the demo world), driven by ``streamlit.testing.v1.AppTest``: the volume
multiplier is set to new values one after the other, and each script run is timed from
the widget change to the finished page (forecast cached, requirement recomputed by
:func:`wfm.staffing.requirements`, totals, chart and table rebuilt). Measured in the same
run as baselines:

- the page's own figure of the recompute (``recomputed in ... ms``);
- :func:`wfm.staffing.requirements` alone on the same forecast and what-if, outside
  Streamlit (what any front end has to pay);
- the same widget change with every Streamlit cache cleared first (inputs read from the
  store again, the forecast taken from its file again): what the caching saves.

Run: ``make bench-app`` or ``python benchmarks/app_bench.py [--store wfm.duckdb]``
(the store is built with the demo world when it has none, as the app does).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VALUES = (1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default=str(REPO / "wfm.duckdb"))
    args = parser.parse_args(argv)
    os.environ["WFM_STORE"] = str(Path(args.store).resolve())
    os.environ.setdefault("WFM_SCENARIOS", str(REPO / "scenarios"))
    forecasts = tempfile.mkdtemp(prefix="wfm-bench-forecasts-")
    os.environ["WFM_FORECASTS"] = forecasts

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from wfm import forecast, pipeline, scenario, staffing
    from wfm.ui import common

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    at.switch_page("wfm/ui/whatif_page.py").run()
    first_s = time.perf_counter() - t0
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]

    page_s, said_ms, script_ms = [], [], []
    for value in VALUES:
        t = time.perf_counter()
        at.number_input(key="wi_volume").set_value(value).run()
        page_s.append(time.perf_counter() - t)
        caption = next(c.value for c in at.caption if "recomputed in" in c.value)
        said = re.search(r"recomputed in (\d+) ms, page (\d+) ms", caption)
        said_ms.append(float(said.group(1)))
        script_ms.append(float(said.group(2)))
    queues = re.search(r"(\d+) queues x (\d+) intervals of (\d+) min", caption)

    sc = scenario.load(REPO / "scenarios" / "baseline.toml")
    inputs = pipeline.load_inputs(sc, store_path=os.environ["WFM_STORE"])
    fc = forecast.for_scenario(sc, inputs.history, folder=forecasts)
    week = common.planning_window(fc.frame, sc)
    library_s = []
    for value in VALUES:
        whatif = scenario.loads(common.whatif_toml(sc, common.WhatIfKnobs(volume_factor=value)),
                                name="bench", base_dir=REPO / "scenarios")
        t = time.perf_counter()
        staffing.requirements(week, whatif)
        library_s.append(time.perf_counter() - t)

    cold_s = []
    for value in VALUES[:3]:
        st.cache_data.clear()
        st.cache_resource.clear()
        t = time.perf_counter()
        at.number_input(key="wi_volume").set_value(value + 0.01).run()
        cold_s.append(time.perf_counter() - t)

    med = statistics.median
    print(f"What-if page, baseline: {queues.group(1)} queues x {queues.group(2)} intervals of "
          f"{queues.group(3)} min; first open {first_s:.1f} s (store read, forecast made)")
    print(f"  volume change, whole page run (AppTest): median {med(page_s) * 1000:.0f} ms, "
          f"max {max(page_s) * 1000:.0f} ms over {len(page_s)} changes")
    print(f"  the page's own figures: recompute        median {med(said_ms):.0f} ms, whole "
          f"script run {med(script_ms):.0f} ms")
    print(f"  wfm.staffing.requirements alone:         median {med(library_s) * 1000:.0f} ms")
    print(f"  the same change with caches cleared:     median {med(cold_s) * 1000:.0f} ms")
    print(f"  ratios: page / staffing alone {med(page_s) / med(library_s):.2f}; "
          f"cold / cached page {med(cold_s) / med(page_s):.1f}")
    print("  under one second: " + ("yes" if max(page_s) < 1.0 else "NO")
          + f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
