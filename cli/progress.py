"""The one way the CLI shows a progress bar: Rich, on stderr (stdout stays clean for JSON).

Shown on a terminal only, unless asked for. Off a terminal a bar is never transient: Rich would
clear it by printing a blank line, which then stands before the error or the result.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager


def progress_bar(*columns, show: bool | None = None, transient: bool = True):
    """A ``rich.progress.Progress`` with ``columns`` (Rich's default ones when none); ``show``:
    None for "when stderr is a terminal".
    """
    from rich.console import Console
    from rich.progress import Progress

    console = Console(stderr=True)
    shown = console.is_terminal if show is None else show
    return Progress(
        *columns, console=console, disable=not shown, transient=transient and console.is_terminal
    )


@contextmanager
def sigterm_interrupts():
    """SIGTERM stops a command as Ctrl-C does: finished runs are stored, running ones killed."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def run_progress():
    """A bar of runs (done of total, running, failed, stored before) fed with
    :class:`~metabase.services.run.RunProgress` s: ``metabase run`` and ``metabase tune``.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("runs"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "running {task.fields[running]}, failed {task.fields[failed]}, "
            "stored before {task.fields[reused]}"
        ),
        TimeElapsedColumn(),
    )
    with progress_bar(*columns) as bar:
        job = bar.add_task("runs", total=None, running=0, failed=0, reused=0)

        def update(p) -> None:
            bar.update(
                job,
                total=p.total,
                completed=p.done,
                running=p.running,
                failed=p.failed,
                reused=p.reused,
            )

        yield update
