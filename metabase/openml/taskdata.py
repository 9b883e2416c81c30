"""A task's data and its own split file, as the runner needs them (:class:`TaskData`).

Fetched through the ``openml`` package, which keeps the task, the dataset and the split file in
its cache, so a task is downloaded once per cache. X and y are what openml-python's
``task.get_X_and_y(dataset_format="dataframe")`` gives ``run_model_on_task``, and the splits are
the task's split file, so a run here sees exactly the rows an openml-python run sees.
"""

from __future__ import annotations

from metabase.errors import InputError, NotFoundError, OpenMLError
from metabase.openml.http import mask_url
from metabase.records import Splits, TaskData

SUPPORTED = {1: "classification", 2: "regression", 3: "classification"}  # 3: learning curve


def fetch_task_data(gateway, task_id: int) -> TaskData:
    """The task's data and splits; ``NotFoundError`` for an unknown task, ``InputError`` for one
    the runner cannot run, ``OpenMLError`` when its data or splits cannot be fetched.
    """
    server = mask_url(gateway.server)
    try:
        with gateway._openml() as openml:
            task = openml.tasks.get_task(
                int(task_id), download_splits=False, download_data=False, download_qualities=False
            )
    except NotFoundError:
        raise NotFoundError(
            f"unknown task {task_id} on {server}: check the id "
            '(`metabase sql "SELECT task_id FROM tasks"` lists the stored ones)'
        ) from None
    kind = SUPPORTED.get(int(task.task_type_id.value))
    if kind is None:
        raise InputError(
            f"task {task_id} is a {task.task_type} task; `metabase run` runs classification "
            "and regression tasks"
        )
    try:
        with gateway._openml():
            X, y = task.get_X_and_y(dataset_format="dataframe")
            split = task.download_split()
            name = task.get_dataset().name
    except Exception as exc:  # noqa: BLE001 - whatever openml raises, the data is not at hand
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OpenMLError(
            f"cannot fetch the data or splits of task {task_id} from {server} "
            f"({type(exc).__name__}: {mask_url(detail)[:200]})"
        ) from None
    if y is None or X is None or not len(X):
        raise OpenMLError(f"task {task_id} on {server} has no data to run on")
    indices = {}
    for r in range(split.repeats):
        for f in range(split.folds):
            for s in range(split.samples):
                indices[(r, f, s)] = split.get(repeat=r, fold=f, sample=s)
    labels = getattr(task, "class_labels", None)
    if kind == "classification" and not labels:
        raise OpenMLError(f"task {task_id} on {server} has no class labels")
    procedure = getattr(task, "estimation_procedure", None) or {}
    return TaskData(
        task_id=int(task.task_id),
        dataset_id=int(task.dataset_id),
        task_type=kind,
        target=str(task.target_name),
        X=X,
        y=y,
        splits=Splits(split.repeats, split.folds, split.samples, indices),
        class_labels=tuple(str(c) for c in labels) if kind == "classification" else None,
        evaluation_measure=getattr(task, "evaluation_measure", None),
        estimation_procedure=procedure.get("type") if isinstance(procedure, dict) else None,
        dataset_name=name,
    )
