# Two commands on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test test-slow bench bench-erlang app lint clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/wfm demo

# The browser test (tests/test_app_browser.py) drives Debian's chromium with Playwright
# (never a downloaded browser): install it with apt-get when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "no chromium and no apt-get: the browser test will be skipped"; exit 0; }; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO="sudo -n"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium \
	    || echo "chromium could not be installed: the browser test will be skipped"; }

test: venv chromium
	$(BIN)/python -m pytest -q

test-slow: venv
	$(BIN)/python -m pytest -q -m slow

# The app on the demo world (it builds the demo world into wfm.duckdb on first start).
app: venv
	$(BIN)/streamlit run app.py

# The peer pyworkforce is installed for this benchmark only, without its dependencies
# (numpy, pandas and ortools of the venv stay as they are) plus joblib, which it imports.
bench-erlang: venv
	$(BIN)/python -m pip install --quiet --no-deps pyworkforce==0.5.1
	$(BIN)/python -m pip install --quiet "joblib>0.17"
	$(BIN)/python benchmarks/erlang_bench.py

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) runs wfm.duckdb wfm.duckdb.wal .pytest_cache test-artifacts

# Forecast acceptance figures: Anonymous Bank (../shared/data) and the demo world.
.PHONY: bench-forecast
bench-forecast: venv
	$(BIN)/python benchmarks/forecast_bench.py

# KPI scorecard acceptance figures: the demo world's truth and the Anonymous Bank (../shared/data).
.PHONY: bench-kpi
bench-kpi: venv
	$(BIN)/python benchmarks/kpi_bench.py

# Speed of a what-if change in the app (AppTest on the baseline week, all queues).
.PHONY: bench-app
bench-app: venv
	$(BIN)/python benchmarks/app_bench.py

# Roster acceptance figures: the demo week against LP bounds, 1,000 agents, and the peer
# pyworkforce (installed for the benchmark only, as for bench-erlang).
.PHONY: bench-roster
bench-roster: venv
	$(BIN)/python -m pip install --quiet --no-deps pyworkforce==0.5.1
	$(BIN)/python -m pip install --quiet "joblib>0.17"
	$(BIN)/python benchmarks/roster_bench.py

# Every benchmark, one after the other.
bench: bench-erlang bench-forecast bench-roster bench-kpi bench-app
