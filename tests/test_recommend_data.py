"""The openml-pimp random forest runs as an interchange meta-dataset, built straight from the ARFF.

The recommend and evaluate tests use it (until they read the store's export instead), and the
test below checks it against the documented facts of the source: 47,000 runs of flow 6969, 500
per task, 119 qualities per task.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

ARFF = Path("openml-pimp/KDD2018/data/arff/random_forest.arff")
QUALITIES = Path("openml-pimp/KDD2018/data/task_qualities.json")
PIPELINE = "flow-6969"


def _typed(text):
    """ARFF nominal values arrive as strings: give them their JSON type back."""
    if text is None or text == "None":
        return None
    if text in ("True", "False"):
        return text == "True"
    if isinstance(text, (int, float)):
        return int(text) if float(text).is_integer() and not isinstance(text, float) else text
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def pimp_frames(openml_data: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    import arff

    path = openml_data / ARFF
    with open(path) as handle:
        header = json.loads(handle.readline().lstrip("%").strip())
        handle.seek(0)
        data = arff.load(handle)
    columns = [a[0] for a in data["attributes"]]
    frame = pd.DataFrame(data["data"], columns=columns)
    params = header["col_parameters"]
    configs = [
        json.dumps({p: _typed(v) for p, v in zip(params, row)}, sort_keys=True)
        for row in frame[params].itertuples(index=False, name=None)
    ]
    runs = pd.DataFrame(
        {
            "task_id": frame["task_id"].astype("int64"),
            "pipeline": f"flow-{header['flow_id']}",
            "config": configs,
            "score": frame[header["col_measures"][0]].astype("float64"),
            "run_key": [f"openml-pimp:{header['flow_id']}:{i}" for i in range(len(frame))],
        }
    )
    qualities = json.loads((openml_data / QUALITIES).read_text())
    tasks = pd.DataFrame.from_dict(qualities, orient="index")
    tasks.insert(0, "task_id", tasks.index.astype("int64"))
    tasks = tasks[tasks["task_id"].isin(runs["task_id"])].reset_index(drop=True)
    return runs, tasks


def build_pimp_metadataset(openml_data: Path, directory: Path) -> Path:
    from metabase.metadataset import MetaDataset, write

    runs, tasks = pimp_frames(openml_data)
    return write(MetaDataset(runs=runs, tasks=tasks), directory)


@pytest.mark.realdata
def test_pimp_metadataset_matches_the_documented_source(openml_data, tmp_path):
    from metabase.metadataset import read

    meta = read(build_pimp_metadataset(openml_data, tmp_path / "pimp"))
    assert len(meta.runs) == 47_000
    assert meta.runs.groupby("task_id").size().eq(500).all()
    assert len(meta.meta_features) == 119
    assert set(meta.tasks["task_id"]) == set(meta.runs["task_id"])
    config = json.loads(meta.runs["config"].iloc[0])
    assert isinstance(config["randomforestclassifier__bootstrap"], bool)
    assert isinstance(config["randomforestclassifier__min_samples_leaf"], int)
