"""pytest fixtures shared by the test suite (loaded from tests/conftest.py).

* ``replay_server``: one replay server on the real data for the whole session (skips when the data
  folder is absent). Read-only use only: tests that upload start their own.
* ``replay_factory``: ``replay_factory(faults=..., scale=..., data_dir=...)`` starts servers that
  are stopped at the end of the test.
* ``openml_client``: the real ``openml`` package pointed at a fresh replay server, with its own
  cache root (a copy of openml-python's test files); openml's config is restored afterwards.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def replay_server(openml_data):
    from metabase.testing.replay import start_server

    handle = start_server(openml_data)
    yield handle
    handle.stop()


@pytest.fixture
def replay_factory(openml_data):
    from metabase.testing.replay import start_server

    started = []

    def start(faults=None, scale=None, data_dir=None):
        handle = start_server(data_dir or openml_data, faults=faults, scale=scale)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()


@pytest.fixture
def openml_client(replay_factory, tmp_path, openml_data):
    """(openml module, replay handle) with openml configured for a fresh server; restored after."""
    import shutil

    import openml

    data = openml_data
    handle = replay_factory()
    cache = tmp_path / "openml-cache"
    shutil.copytree(data / "openml-python" / "tests" / "files", cache)
    cfg = openml.config
    saved = (
        cfg.server,
        cfg.apikey,
        None,
        getattr(cfg, "_root_cache_directory", None),
        getattr(cfg, "avoid_duplicate_runs", None),
    )
    cfg.server = handle.url
    cfg.apikey = "replay-test-key"
    cfg.set_root_cache_directory(str(cache))
    if hasattr(cfg, "avoid_duplicate_runs"):
        cfg.avoid_duplicate_runs = False
    try:
        yield openml, handle
    finally:
        cfg.server, cfg.apikey = saved[0], saved[1]
        if saved[3] is not None:
            cfg.set_root_cache_directory(str(saved[3]))
        if saved[4] is not None:
            cfg.avoid_duplicate_runs = saved[4]
