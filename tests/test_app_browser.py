"""
End to end in a real browser: ``streamlit run app.py`` on a free localhost port, driven
by Playwright in Debian's headless Chromium (``/usr/bin/chromium``, installed by
``make test``; Playwright never downloads a browser here). The steps: open What-if,
change the volume and see the required agents change (timed over all queues of the
baseline week), then on a small scenario of the demo world (DE and FR) change the volume,
solve the roster, download the XLSX, open Coverage. Screenshots and the downloaded
workbook go to ``test-artifacts/``.

Every step must pass; the test skips only when Chromium is not installed (``make test``
installs it with apt-get, so that means it could not be installed).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("WFM_CHROMIUM", "/usr/bin/chromium"))
#: the flags the issue asks for (Playwright adds its own automation flags)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"
#: a small scenario of the demo world keeps the roster solve short: two markets (DE, FR),
#: three queues, every agent of the three sites
SMALL_SCENARIO = """\
# DE and FR only: a small week for the browser test.
base = "baseline.toml"
name = "browser_small"
description = "DE and FR only (browser test)"

[[markets]]
code = "DE"
timezone = "Europe/Berlin"
languages = ["de"]
channels = ["voice", "chat"]

[[markets]]
code = "FR"
timezone = "Europe/Paris"
languages = ["fr"]
channels = ["voice"]

[forecast]
events = []
"""
ROSTER_TIME_LIMIT_S = 30
#: the longest a step may take (first page load forecasts; the solve has its limit) [ms]
STEP_MS = 240_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not answer on {url} in {timeout_s:.0f} s:\n"
                       f"{log.read_text()}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, demo_store):
    """``streamlit run app.py`` on a free port, on the demo store, with private folders."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (`make test` installs Debian's chromium "
                    "with apt-get; it could not here)")
    ARTIFACTS.mkdir(exist_ok=True)
    root = tmp_path_factory.mktemp("browser")
    scenarios = root / "scenarios"
    shutil.copytree(REPO / "scenarios", scenarios)
    (scenarios / "browser_small.toml").write_text(SMALL_SCENARIO, encoding="utf-8")
    (root / "forecasts").mkdir()
    env = {**os.environ, "WFM_STORE": str(demo_store), "WFM_SCENARIOS": str(scenarios),
           "WFM_FORECASTS": str(root / "forecasts"), "WFM_RUNS": str(root / "runs")}
    port = _free_port()
    log = ARTIFACTS / "streamlit.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the server we started, and its children
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def page(app_url, tmp_path_factory):
    """A page of headless Chromium with a fresh user-data folder."""
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_FLAGS, accept_downloads=True, viewport={"width": 1500,
                                                                   "height": 1000})
        context.set_default_timeout(STEP_MS)
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        context.close()


# -- helpers --------------------------------------------------------------------------------


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_exception(page) -> None:
    """No Streamlit exception box and no error message on the page."""
    assert page.locator("[data-testid='stException']").count() == 0
    errors = page.locator("[data-testid='stAlertContentError']")
    assert errors.count() == 0, errors.all_inner_texts()


def wait_idle(page) -> None:
    """Until the script has finished its run (Streamlit shows its status widget while a
    run is going on); callers also wait for the content they expect."""
    page.wait_for_timeout(300)
    page.wait_for_selector("[data-testid='stStatusWidget']", state="detached")


def metric(page, label: str) -> str:
    box = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return box.locator("[data-testid='stMetricValue']").inner_text().strip()


def go(page, title: str, expect: str) -> None:
    """Open a page through the sidebar navigation (the session, and its what-if, stay)."""
    page.locator("[data-testid='stSidebarNav'] a").filter(has_text=title).first.click()
    page.get_by_text(expect).first.wait_for()
    wait_idle(page)


def pick(page, label: str, option: str) -> None:
    """Choose an option of a selectbox by its label."""
    page.locator("[data-testid='stSelectbox']").filter(has_text=label).first.click()
    page.get_by_role("option", name=option).click()
    wait_idle(page)


# -- the test -------------------------------------------------------------------------------


def test_whatif_roster_download_coverage_in_chromium(page, app_url):
    try:
        _steps(page, app_url)
    except BaseException:
        shot(page, "failed_step")  # what the page showed when a step failed
        raise


def change_volume(page, value: str) -> tuple[float, str]:
    """Type a volume multiplier and press Enter; returns the milliseconds until the
    figures changed (Enter to the new productive agent-hours on screen) and the page's
    own account of the update ('recomputed in .. ms, page .. ms')."""
    old = metric(page, "Productive agent-hours")
    box = page.get_by_role("spinbutton", name="Volume multiplier")
    box.fill(value)
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_function(
        "([label, old]) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".some(m => m.innerText.includes(label) && !m.innerText.includes(old))",
        arg=["Productive agent-hours", old])
    ms = (time.perf_counter() - t0) * 1000
    wait_idle(page)
    no_exception(page)
    caption = page.get_by_text(re.compile(r"recomputed in \d+ ms")).first.inner_text()
    return ms, caption.split(";")[-1].strip().rstrip(".")


def _steps(page, app_url) -> None:
    shots = []
    # 1. open What-if: the baseline week, all 14 queues
    page.goto(f"{app_url}/whatif")
    page.get_by_text(re.compile(r"Scenario baseline .*recomputed in")).first.wait_for()
    wait_idle(page)
    no_exception(page)
    shots.append(shot(page, "01_whatif"))

    # 2. change the volume three times and time each update over all queues
    before = int(metric(page, "Peak required agents").replace(",", ""))
    timed = [change_volume(page, value) for value in ("1.10", "1.30", "1.20")]
    assert int(metric(page, "Peak required agents").replace(",", "")) > before
    shots.append(shot(page, "02_whatif_volume_x1.2"))
    browser_ms = sorted(ms for ms, _ in timed)
    print(f"\nwhat-if volume changes over all queues in the browser, Enter to new figures: "
          f"{', '.join(f'{ms:.0f}' for ms, _ in timed)} ms (median {browser_ms[1]:.0f} ms); "
          f"the page says: {'; '.join(said for _, said in timed)}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    # the roster is solved on a small scenario: pick it, and change its volume too
    pick(page, "Scenario", "browser_small.toml")
    page.get_by_text(re.compile(r"Scenario browser_small .*recomputed in")).first.wait_for()
    wait_idle(page)
    no_exception(page)
    before = int(metric(page, "Peak required agents").replace(",", ""))
    change_volume(page, "1.20")
    assert int(metric(page, "Peak required agents").replace(",", "")) > before
    shots.append(shot(page, "03_whatif_small_x1.2"))

    # 3. solve the roster of the what-if (volume x1.2)
    go(page, "Roster", "Solve roster")
    limit = page.get_by_role("spinbutton", name="Time limit [s]")
    limit.fill(str(ROSTER_TIME_LIMIT_S))
    limit.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Solve roster").click()
    done = page.get_by_text(re.compile(r"Solved in [\d.]+ s")).or_(
        page.locator("[data-testid='stAlertContentError']"))
    done.first.wait_for(timeout=STEP_MS + ROSTER_TIME_LIMIT_S * 1000)
    wait_idle(page)
    no_exception(page)
    assert int(metric(page, "Shifts").replace(",", "")) > 0
    shots.append(shot(page, "04_roster"))

    # 4. download the XLSX
    page.get_by_role("tab", name="Downloads").click()
    button = page.locator("[data-testid='stDownloadButton'] button").filter(has_text="XLSX")
    with page.expect_download() as info:
        button.click()
    target = ARTIFACTS / info.value.suggested_filename
    info.value.save_as(str(target))
    assert target.suffix == ".xlsx" and target.read_bytes()[:2] == b"PK"
    from openpyxl import load_workbook

    sheets = load_workbook(target, read_only=True).sheetnames
    assert any("coverage" in s.lower() for s in sheets), sheets
    shots.append(shot(page, "05_roster_downloads"))

    # 5. open Coverage
    go(page, "Coverage vs SLA", "Projected service level")
    no_exception(page)
    assert page.locator("[data-testid='stVegaLiteChart']").count() >= 2
    shots.append(shot(page, "06_coverage"))
    print("screenshots: " + ", ".join(p.name for p in shots) + f"; workbook {target.name}")
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in shots)
