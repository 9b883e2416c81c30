"""The runner against openml-python's ``run_model_on_task``, on the same server, task and model.

Both build the same scikit-learn pipeline (the catalogue's builder, the same configuration and
seed) and run it on the same task served by the replay server: per-fold predictions and the
measures openml-python computes must be equal, bit for bit.

One difference is deliberate: openml-python 0.15.1 pairs each row's probabilities (in the
model's sorted class order) with the task's class labels (in the task's order), so where the two
orders differ (credit-g: task labels good, bad) its ``confidence.good`` holds the probability of
``bad``. metabase writes each probability under its own class; the test checks exactly that.
"""

from __future__ import annotations

import logging

import pytest

pytestmark = [pytest.mark.realdata, pytest.mark.slow]
logging.getLogger("openml").setLevel(logging.ERROR)

CASES = [
    (
        9983,
        "sklearn.random_forest",
        {"n_estimators": 16, "max_features": 0.3},
    ),  # eeg-eye-state, labels 1, 2
    (31, "sklearn.random_forest", {"n_estimators": 16}),  # credit-g, labels good, bad
    (359934, "sklearn.random_forest_regressor", {"n_estimators": 16}),  # tecator, regression
]


@pytest.mark.parametrize("task_id,pipeline,config", CASES, ids=[str(c[0]) for c in CASES])
def test_same_predictions_and_measures_as_run_model_on_task(
    openml_client, tmp_path, task_id, pipeline, config
):
    import pipelines
    from metabase.openml import Gateway
    from metabase.records import OK, RunRequest
    from metabase.runner import execute
    from metabase.runner.execute import schema_for
    from pipelines import BuildOptions

    openml, handle = openml_client
    gateway = Gateway(
        handle.url, "replay-test-key", tmp_path / "openml-cache"
    )  # openml_client's cache
    data = gateway.get_task_data(task_id)
    canonical = pipelines.get(pipeline).canonicalize(config)
    mine = execute(
        RunRequest(
            task_id, pipeline, canonical, pipelines.config_hash(pipeline, canonical), seed=7
        ),
        data,
    )
    assert mine.status == OK

    model = pipelines.get(pipeline).build(
        canonical, schema_for(data), BuildOptions(random_state=7, n_jobs=1)
    )
    task = openml.tasks.get_task(task_id, download_splits=True)
    peer = openml.runs.run_model_on_task(
        model, task, avoid_duplicate_runs=False, upload_flow=False
    )

    regression = data.class_labels is None
    theirs = {}
    for line in peer.data_content:
        if regression:
            repeat, fold, row, prediction, truth = line
            theirs[(repeat, fold, int(row))] = (float(prediction), float(truth), None)
        else:
            repeat, fold, _, row, prediction, truth, *proba = line
            theirs[(repeat, fold, int(row))] = (prediction, truth, [float(p) for p in proba])
    ours = {}
    for row in mine.predictions.itertuples(index=False):
        value = (
            (float(row.prediction), float(row.correct))
            if regression
            else (row.prediction, row.correct)
        )
        ours[(row.repeat, row.fold, row.row_id)] = (
            *value,
            None if regression else list(row.confidence),
        )
    assert ours.keys() == theirs.keys()
    assert all(ours[k][:2] == theirs[k][:2] for k in ours)
    if not regression:
        labels = list(task.class_labels)
        peer_order = [
            labels.index(c) for c in sorted(labels)
        ]  # the model's classes_, which the peer zips
        assert all(theirs[k][2] == [ours[k][2][j] for j in peer_order] for k in ours)

    measure = "mean_absolute_error" if regression else "predictive_accuracy"
    for m in mine.measurements:
        if m.measure == measure and m.fold is not None:
            assert m.value == peer.fold_evaluations[measure][m.repeat][m.fold]
    assert len(peer.fold_evaluations[measure][0]) == data.splits.folds == 10
