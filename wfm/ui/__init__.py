"""
The Streamlit app's pages and shared helpers (``app.py`` is the entry point).

One module per page (``forecast_page``, ``whatif_page``, ``roster_page``,
``coverage_page``, ``kpi_page``, ``scenarios_page``); each has a ``render()`` and runs
it when Streamlit executes the file as a page. :mod:`wfm.ui.common` holds what they
share: the folders the app reads and writes, cached loaders (inputs, forecast,
requirement, scorecards), the scenario and what-if state of a session, the display
time-zone selector and the error display; :mod:`wfm.ui.upload` parses uploaded files
safely. No page computes anything itself: it reads widgets, calls the library, and
shows frames, charts and downloads.
"""

#: (file relative to the repository root, title, url path, icon) of every page, in order
PAGES: tuple[tuple[str, str, str, str], ...] = (
    ("wfm/ui/forecast_page.py", "Forecast", "forecast", ":material/timeline:"),
    ("wfm/ui/whatif_page.py", "What-if staffing", "whatif", ":material/tune:"),
    ("wfm/ui/roster_page.py", "Roster", "roster", ":material/calendar_month:"),
    ("wfm/ui/coverage_page.py", "Coverage vs SLA", "coverage", ":material/grid_on:"),
    ("wfm/ui/kpi_page.py", "Agent KPIs", "kpis", ":material/leaderboard:"),
    ("wfm/ui/scenarios_page.py", "Scenarios", "scenarios", ":material/description:"),
)
