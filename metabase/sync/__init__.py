"""OpenML -> the store: ``run_sync(workspace, SyncRequest(...))`` (see :mod:`metabase.sync.engine`)."""

from metabase.sync.engine import NullProgress, SyncResult, run_sync
from metabase.sync.plan import DEFAULT_MEASURES, Scope, SyncRequest, resolve_scope

__all__ = ["DEFAULT_MEASURES", "NullProgress", "Scope", "SyncRequest", "SyncResult", "resolve_scope", "run_sync"]
