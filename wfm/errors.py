"""
The typed errors of wfm.

Every error the user can fix is an :class:`InputError` (exit code 2 of ``wfm``); a
roster whose hard rules cannot all hold is :class:`RosterInfeasible` (exit code 3).
Messages name the file, the row or key, the rule, what was found and how to fix it.
"""

from __future__ import annotations


class WfmError(Exception):
    """Base of every error raised on purpose by wfm."""

    exit_code = 1


class InputError(WfmError):
    """
    Bad input: a file, a frame, a scenario key or a command-line value.

    ``problems`` holds every problem found (validation reports them all at once);
    ``str(error)`` is the full message.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message)


class ScenarioError(InputError):
    """A scenario file that cannot be loaded: unknown key, bad value, missing base."""


class RosterInfeasible(WfmError):
    """No roster can satisfy the hard rules; the message names rules, agents and hours."""

    exit_code = 3

    def __init__(self, message: str, conflicts: list[str] | None = None):
        self.conflicts = list(conflicts or [])
        if self.conflicts:
            message = message + "\n" + "\n".join(f"  - {c}" for c in self.conflicts)
        super().__init__(message)
