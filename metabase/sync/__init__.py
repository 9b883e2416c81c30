"""OpenML -> the store: ``Workspace.sync(SyncRequest(...))`` runs
:func:`metabase.sync.engine.run_sync`.
"""

from metabase.sync.context import NullProgress
from metabase.sync.engine import SyncResult, run_sync
from metabase.sync.plan import DEFAULT_MEASURES, Scope, SyncRequest, resolve_scope

__all__ = [
    "DEFAULT_MEASURES",
    "NullProgress",
    "Scope",
    "SyncRequest",
    "SyncResult",
    "resolve_scope",
    "run_sync",
]
