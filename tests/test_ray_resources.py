"""What each run asks Ray for, from a cluster's resources as ``ray.cluster_resources()`` gives
them (no Ray needed): torch pipelines go to GPU workers when the cluster has GPUs, everything
else (and torch on a cluster without GPUs) asks for one CPU.
"""

from __future__ import annotations

import pytest

import pipelines
from metabase.runner.ray_executor import resource_request

CPU_ONLY = {"CPU": 16.0, "memory": 6.4e10, "node:10.0.0.1": 1.0}
WITH_GPUS = {**CPU_ONLY, "CPU": 48.0, "GPU": 4.0, "accelerator_type:H100": 1.0}


@pytest.mark.parametrize("name", ["torch.mlp", "torch.resnet"])
def test_a_torch_run_asks_for_a_gpu_when_the_cluster_has_them(name):
    device = pipelines.get(name).device
    assert resource_request(device, None, WITH_GPUS, 1.0) == {"num_gpus": 1.0, "num_cpus": 1}
    assert resource_request(device, "cuda", WITH_GPUS, 0.5) == {"num_gpus": 0.5, "num_cpus": 1}
    assert resource_request(device, None, CPU_ONLY, 1.0) == {"num_cpus": 1}
    assert resource_request(device, None, {**CPU_ONLY, "GPU": 0.0}, 1.0) == {"num_cpus": 1}


@pytest.mark.parametrize("name", ["sklearn.random_forest", "sklearn.decision_tree"])
def test_a_cpu_pipeline_never_asks_for_a_gpu(name):
    device = pipelines.get(name).device
    assert device == "cpu"
    assert resource_request(device, None, WITH_GPUS, 1.0) == {"num_cpus": 1}
    assert resource_request(device, None, CPU_ONLY, 1.0) == {"num_cpus": 1}


def test_a_torch_run_asked_to_stay_on_the_cpu_asks_for_no_gpu():
    assert resource_request("gpu-if-available", "cpu", WITH_GPUS, 1.0) == {"num_cpus": 1}
