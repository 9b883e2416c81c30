"""``metabase replay-server``: a local OpenML REST API served from the real exports."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    @group.command("replay-server")
    @click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
    @click.option("--port", type=int, default=0, show_default=True, help="Port (0: a free one).")
    @click.option(
        "--data",
        "data",
        type=click.Path(),
        default=None,
        help="OpenML data directory (default: ../shared/openml-data beside the checkout).",
    )
    @click.option(
        "--faults",
        default=None,
        help=(
            "Injected faults, e.g. "
            "5xx=0.1,429=0.05,latency=0.02,truncate=0.01,reset=0.01,cap=500,seed=1."
        ),
    )
    @click.option(
        "--scale",
        type=int,
        default=None,
        help="Add N synthetic runs/evaluations (scale mode, labelled synthetic).",
    )
    def replay_server(
        host: str, port: int, data: str | None, faults: str | None, scale: int | None
    ) -> None:
        """Serve OpenML's REST API v1 from local data; prints the base URL, runs until Ctrl-C.

        Example: metabase replay-server --port 8080 --faults 5xx=0.1,429=0.05,seed=1
        """
        from metabase.testing.replay import serve

        def ready(url: str) -> None:
            click.echo(url)

        serve(data, host=host, port=port, faults=faults, scale=scale, on_ready=ready)
