"""Helpers commands share to reach the settings and the store."""

from __future__ import annotations

import typer

from metabase.settings import Settings


def settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    if not isinstance(root.obj, Settings):
        root.obj = Settings.resolve()
    return root.obj
