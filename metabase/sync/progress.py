"""A Rich progress bar per sync phase, on stderr: windows done / total, rows, rows/s and ETA."""

from __future__ import annotations

import sys
import time


class RichProgress:
    """Implements the sync's ``Progress`` protocol; the CLI creates it (the library never
    prints).
    """

    def __init__(self, disable: bool = False, progress=None) -> None:
        """``progress``: the Rich ``Progress`` to draw on, made with :meth:`columns` (the CLI makes
        it, so that every bar shows and ends alike); by default one on stderr.
        """
        if progress is None:
            from rich.console import Console
            from rich.progress import Progress

            progress = Progress(
                *self.columns(), console=Console(file=sys.stderr), disable=disable, transient=False
            )
        self._progress = progress
        self._task = None
        self._rows = 0
        self._t0 = time.perf_counter()
        self._started = False

    @staticmethod
    def columns() -> tuple:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        return (
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rows]:>10,} rows  {task.fields[rate]:>9,.0f} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )

    def phase(self, name: str, total: int | None) -> None:
        if not self._started:
            self._progress.start()
            self._started = True
        if self._task is not None:
            self._progress.update(self._task, completed=self._progress.tasks[-1].total or 0)
        self._rows, self._t0 = 0, time.perf_counter()
        self._task = self._progress.add_task(name, total=total, rows=0, rate=0.0)

    def advance(self, units: int = 0, rows: int = 0) -> None:
        if self._task is None:
            return
        self._rows += rows
        elapsed = max(1e-6, time.perf_counter() - self._t0)
        self._progress.update(
            self._task, advance=units, rows=self._rows, rate=self._rows / elapsed
        )

    def done(self) -> None:
        if self._started:
            if self._task is not None:
                total = self._progress.tasks[-1].total
                if total is not None:
                    self._progress.update(self._task, completed=total)
            self._progress.stop()
            self._started = False
