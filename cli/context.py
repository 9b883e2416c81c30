"""Helpers commands share to reach the workspace (the root context's ``obj``) and its settings."""

from __future__ import annotations

import click

from metabase.settings import Settings
from metabase.workspace import Workspace


def workspace(ctx: click.Context | None = None) -> Workspace:
    root = (ctx or click.get_current_context()).find_root()
    if not isinstance(root.obj, Workspace):
        root.obj = Workspace(Settings.resolve())
    return root.obj


def settings(ctx: click.Context | None = None) -> Settings:
    return workspace(ctx).settings
