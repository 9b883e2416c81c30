"""Shared fixtures: where the real OpenML data is, and fresh stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["metabase.testing.pytest_plugin"]

REPO = Path(__file__).resolve().parent.parent
OPENML_DATA = Path(os.environ.get("METABASE_OPENML_DATA", REPO.parent / "shared" / "openml-data"))


def pytest_collection_modifyitems(config, items):
    skip_realdata = pytest.mark.skip(
        reason=f"real OpenML data not found at {OPENML_DATA} (set METABASE_OPENML_DATA)"
    )
    have_cuda = False
    if any("gpu" in item.keywords for item in items):
        try:
            import torch

            have_cuda = torch.cuda.is_available()
        except ImportError:
            pass
    for item in items:
        if "realdata" in item.keywords and not OPENML_DATA.is_dir():
            item.add_marker(skip_realdata)
        if "gpu" in item.keywords and not have_cuda:
            item.add_marker(pytest.mark.skip(reason="needs CUDA"))


@pytest.fixture(scope="session")
def openml_data() -> Path:
    if not OPENML_DATA.is_dir():
        pytest.skip(f"real OpenML data not found at {OPENML_DATA}")
    return OPENML_DATA


@pytest.fixture
def store_path(tmp_path) -> Path:
    """Path of a store that does not exist yet."""
    return tmp_path / "store.duckdb"


@pytest.fixture
def writer(store_path):
    from metabase.store import open_writer

    con = open_writer(store_path)
    yield con
    con.close()


@pytest.fixture(autouse=True)
def _metabase_loggers_enabled():
    """Some libraries configure logging with ``dictConfig``, which disables every logger that
    exists by then (SMAC does on import): a later test would miss metabase's warnings.
    """
    import logging

    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("metabase") and isinstance(logger, logging.Logger):
            logger.disabled = False
    yield


@pytest.fixture(autouse=True, scope="session")
def _user_cache_of_the_session(tmp_path_factory):
    """The starter's cached DuckDB file (``$XDG_CACHE_HOME/metabase``) goes to a folder of the
    test session, never to the user's own cache; built once, shared by the session's tests.
    """
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous
