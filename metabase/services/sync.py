"""The sync service: ``metabase sync`` from a workspace's OpenML server into its store."""

from __future__ import annotations

from metabase.sync import SyncRequest, SyncResult
from metabase.sync.engine import Progress, run_sync


def sync(ws, request: SyncRequest, progress: Progress | None = None, gateway=None) -> SyncResult:
    """Sync what ``request`` asks for; ``gateway`` defaults to the workspace's (tests pass one
    with their own retry policy)."""
    return run_sync(ws.store_path, gateway or ws.gateway(), request, progress)
