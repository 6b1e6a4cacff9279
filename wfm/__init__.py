"""wfm: an open workforce-management planner for cross-border customer service."""

from wfm.errors import InputError, RosterInfeasible, ScenarioError, WfmError

__version__ = "0.1.0"

__all__ = ["InputError", "RosterInfeasible", "ScenarioError", "WfmError", "__version__"]
