"""The sync service: ``metabase sync`` from a workspace's OpenML server into its store."""

from __future__ import annotations

from metabase.sync import SyncRequest, SyncResult
from metabase.sync.context import Progress
from metabase.sync.engine import run_sync


def sync(ws, request: SyncRequest, progress: Progress | None = None, gateway=None) -> SyncResult:
    """Sync what ``request`` asks for; ``gateway`` defaults to the workspace's (tests pass one
    with their own retry policy).
    """
    settings = ws.settings
    return run_sync(
        settings.store_path,
        gateway or ws.gateway(),
        request,
        progress,
        process=settings.sync_process,
        crash_at=settings.sync_crash_at,
    )
