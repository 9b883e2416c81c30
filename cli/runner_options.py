"""The runner's options, shared by the commands that run configurations (``run``, ``tune``).

They reach the command as keyword arguments named as the Workspace methods take them, so a
command passes them on whole (``**runner``).
"""

from __future__ import annotations

import click

_OPTIONS = (
    click.option(
        "--executor",
        type=click.Choice(["local", "ray"]),
        default="local",
        show_default=True,
        help="A local process pool, or Ray (pip install 'metabase[ray]').",
    ),
    click.option(
        "--ray-address", default=None, help="A Ray cluster to join (default: start a local Ray)."
    ),
    click.option(
        "--workers", type=int, default=None, help="Runs at once (default: the machine's cores)."
    ),
    click.option(
        "--time-limit", type=float, default=None, help="Seconds per run (its whole process tree)."
    ),
    click.option(
        "--memory-limit", default=None, help="Memory per run's process tree: MB, or 512M, 2G."
    ),
    click.option(
        "--fidelity", default=None, help="Lower the cost: n_estimators=N,epochs=N,data_fraction=F."
    ),
)


def runner_options(command):
    """Add ``--executor``, ``--ray-address``, ``--workers``, ``--time-limit``,
    ``--memory-limit`` and ``--fidelity`` to ``command``.
    """
    for option in reversed(_OPTIONS):
        command = option(command)
    return command
