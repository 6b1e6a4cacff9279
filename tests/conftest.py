"""Shared fixtures: the demo world (built once per test session) and paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """The shared data folder: $WFM_SHARED, ../shared beside the repo, or /work/shared."""
    for candidate in (os.environ.get("WFM_SHARED"), REPO.parent / "shared", "/work/shared"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return REPO.parent / "shared"


SHARED = _shared()
ANONYMOUS_BANK = SHARED / "data" / "anonymous_bank"
REFERENCE = SHARED / "reference"


def load_benchmark(name: str):
    """The module ``benchmarks/<name>.py`` (the benchmarks are scripts, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_world():
    """The demo world with the default seed (built once, about 8 s)."""
    from wfm import pipeline

    return pipeline.demo_world()


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, demo_world):
    """A DuckDB store file holding the demo world; tests must not write to it."""
    from wfm.store import Store

    path = tmp_path_factory.mktemp("store") / "demo.duckdb"
    with Store(path) as store:
        store.ingest_demo(demo_world)
    return path


@pytest.fixture(scope="session")
def baseline():
    from wfm import scenario

    return scenario.load(REPO / "scenarios" / "baseline.toml")


def pytest_collection_modifyitems(config, items):
    """Tests that need the shared data folder skip with a reason when it is absent."""
    if ANONYMOUS_BANK.is_dir():
        return
    skip = pytest.mark.skip(reason=f"{ANONYMOUS_BANK} not present")
    for item in items:
        if "anonymous_bank" in item.keywords:
            item.add_marker(skip)
