"""The interchange format: round trip and the validation errors every consumer relies on."""

from __future__ import annotations

import pandas as pd
import pytest

from metabase import metadataset
from metabase.errors import ImportFormatError, InputError


def _sample() -> metadataset.MetaDataset:
    runs = pd.DataFrame(
        {
            "task_id": [1, 1, 2],
            "pipeline": ["p", "p", "q"],
            "config": ['{"a": 1}', '{"a": 2.5}', '{"b": "x"}'],
            "score": [0.5, 0.7, -1.0],
        }
    )
    tasks = pd.DataFrame(
        {"task_id": [1, 2], "dataset_id": [10, None], "NumberOfInstances": [100, 200]}
    )
    return metadataset.MetaDataset(runs, tasks)


def test_round_trip_keeps_values_and_types(tmp_path):
    metadataset.write(_sample(), tmp_path)
    back = metadataset.read(tmp_path)
    assert back.runs["score"].tolist() == [0.5, 0.7, -1.0]
    assert back.tasks["dataset_id"].isna().tolist() == [False, True]
    assert back.tasks["NumberOfInstances"].dtype == "float64"
    assert back.meta_features == ["NumberOfInstances"]
    assert back.configs().tolist()[2] == {"b": "x"}


def test_missing_file_and_column_are_named(tmp_path):
    with pytest.raises(InputError):
        metadataset.read(tmp_path / "absent")
    sample = _sample()
    metadataset.write(sample, tmp_path)
    (tmp_path / "tasks.parquet").unlink()
    with pytest.raises(ImportFormatError, match="tasks.parquet"):
        metadataset.read(tmp_path)
    metadataset.write(sample, tmp_path)
    sample.runs.drop(columns=["score"]).to_parquet(tmp_path / "runs.parquet")
    with pytest.raises(ImportFormatError, match="score"):
        metadataset.read(tmp_path)


def test_config_must_be_a_json_object(tmp_path):
    sample = _sample()
    runs = sample.runs.copy()
    runs.loc[1, "config"] = "[1, 2]"
    metadataset.write(metadataset.MetaDataset(runs, sample.tasks), tmp_path)
    with pytest.raises(ImportFormatError, match="row 1"):
        metadataset.read(tmp_path)
