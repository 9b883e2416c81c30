"""The one way the CLI shows a progress bar: Rich, on stderr (stdout stays clean for JSON).

Shown on a terminal only, unless asked for. Off a terminal a bar is never transient: Rich would
clear it by printing a blank line, which then stands before the error or the result.
"""

from __future__ import annotations


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
