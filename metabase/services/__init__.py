"""One module per area (imports, sync, sql, export, recommend, evaluate, features, and the caches
of recommend): each connects the pure parts to the store and the gateway for a
:class:`~metabase.workspace.Workspace` method.
"""
