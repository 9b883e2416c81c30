"""Helpers commands share to reach the settings and the workspace."""

from __future__ import annotations

import click

from metabase.settings import Settings


def settings(ctx: click.Context | None = None) -> Settings:
    root = (ctx or click.get_current_context()).find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings.resolve()
    return root.obj


def workspace(ctx: click.Context | None = None):
    from metabase.workspace import Workspace

    return Workspace(settings(ctx))
