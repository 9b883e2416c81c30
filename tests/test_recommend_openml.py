"""``recommend`` for a task the store does not know: its data comes from OpenML (the replay server
here) and its meta-features are computed, the way ``features --task`` gets them.
"""

from __future__ import annotations

import pytest

from metabase import metadataset
from metabase.errors import NotFoundError
from metabase.settings import Settings
from metabase.testing.strategy_contract import shifted_optimum
from metabase.workspace import Workspace

TASK = 14951  # eeg-eye-state, served by the replay server from openml-data


def _workspace(tmp_path, server_url: str, offline: bool = False) -> Workspace:
    store = tmp_path / "s.duckdb"
    ws = Workspace(
        Settings(
            store_path=store,
            openml_server=server_url,
            cache_dir=tmp_path / "cache",
            offline=offline,
        )
    )
    if not store.exists():
        runs, tasks, _ = shifted_optimum(n_tasks=6, n_runs=12)
        ws.import_(
            "meta-dataset",
            metadataset.write(metadataset.MetaDataset(runs=runs, tasks=tasks), tmp_path / "md"),
        )
    return ws


@pytest.mark.realdata
@pytest.mark.slow  # computes every quality of eeg-eye-state, landmarkers included (~25 s)
def test_a_task_unknown_to_the_store_is_fetched_and_its_features_computed(replay_server, tmp_path):
    ws = _workspace(tmp_path, replay_server.url)
    result = ws.recommend(task_id=TASK, k=3, strategy="knn")
    assert result.source == "openml" and result.task_id == TASK
    assert len(result.recommendations) == 3
    # the store's tasks all lack the target task: the evidence is other tasks' runs
    assert all(e["task_id"] != TASK for r in result.recommendations for e in r.evidence)


@pytest.mark.realdata
def test_offline_says_what_to_sync_instead_of_fetching(replay_server, tmp_path):
    _workspace(tmp_path, replay_server.url)
    offline = _workspace(tmp_path, replay_server.url, offline=True)
    with pytest.raises(NotFoundError, match=f"metabase sync --tasks {TASK}"):
        offline.recommend(task_id=TASK, k=3, strategy="knn")
