"""
Progress reporting shared by the CLI (a bar on stderr) and the app (a callback).

Long steps take ``progress``: a callable ``progress(done, total, label)``, or None.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from tqdm import tqdm

ProgressFn = Callable[[int, int, str], None]


class Bar:
    """A tqdm bar on stderr behind the ``progress(done, total, label)`` protocol."""

    def __init__(self, description: str, *, enabled: bool | None = None):
        self.description = description
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.description, unit="step", leave=False,
                             file=sys.stderr, dynamic_ncols=True)
        self._bar.total = total
        self._bar.n = done
        self._bar.set_postfix_str(label, refresh=False)
        self._bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def notify(progress: ProgressFn | None, done: int, total: int, label: str = "") -> None:
    if progress is not None:
        progress(done, total, label)
