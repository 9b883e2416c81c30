"""The only module that talks to OpenML (live, or the replay server).

* :class:`Gateway`: entities through the ``openml`` package (task, dataset and its data, flow,
  run, setup), raw entity XML and studies for the sync, and the fast paged lister.
* :mod:`metabase.openml.lister`: windows, keyset or offset paging, pages in flight, Arrow batches.
* :mod:`metabase.openml.http`: the session, the retry policy, error bodies, key masking.
"""

from metabase.openml.gateway import STUDY_ALIASES, Gateway, TaskInfo
from metabase.openml.http import HttpClient, NoResults, RetryPolicy, ServerError, mask_url
from metabase.openml.lister import Lister, Page, Window, id_chunks, id_windows

__all__ = [
    "Gateway",
    "HttpClient",
    "Lister",
    "NoResults",
    "Page",
    "RetryPolicy",
    "STUDY_ALIASES",
    "ServerError",
    "TaskInfo",
    "Window",
    "id_chunks",
    "id_windows",
    "mask_url",
]
