"""Benchmark: torch.mlp training time per epoch on eeg-eye-state (CPU), catalogue vs a plain loop.

Both train the same architecture (torch.mlp's default: 14 -> 128 -> 128 -> 2, ReLU, dropout 0.1),
with AdamW at the same learning rate and weight decay, batch size 128, on the same standardised
90% of the 14,980 rows, with the same number of threads, in this one run:

- catalogue: ``TabularNetClassifier`` (what ``pipelines.get("torch.mlp").build`` trains): label
  encoding, seeded split, per-epoch validation loss, best-weights tracking (early stopping);
- peer: a hand-written loop: ``randperm``, mini-batches, ``zero_grad/backward/step``; nothing else.

Reported: median seconds per epoch over REPEATS alternating runs, and their ratio (the catalogue's
overhead). Also the full pipeline (imputation + scaling + network) for reference.

Run with:

    pytest -m benchmark tests/benchmarks/bench_pipelines.py -s
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EPOCHS = 5
REPEATS = 5
RESULTS = Path(__file__).parent / "results" / "pipelines.json"


def _hand_written(X, y, config, epochs, threads, seed=0):
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Linear(X.shape[1], config["units_1"]),
        nn.ReLU(),
        nn.Dropout(config["dropout"]),
        nn.Linear(config["units_1"], config["units_2"]),
        nn.ReLU(),
        nn.Dropout(config["dropout"]),
        nn.Linear(config["units_2"], 2),
    )
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config["learning_rate"], weight_decay=config["weight_decay"]
    )
    loss_fn = nn.CrossEntropyLoss()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    batch = config["batch_size"]
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        for i in range(0, len(X), batch):
            idx = order[i : i + batch]
            optimiser.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            optimiser.step()
    return (time.perf_counter() - start) / epochs


@pytest.mark.benchmark
@pytest.mark.realdata
def test_bench_torch_mlp_epoch_time(openml_data):
    import torch

    import pipelines
    from pipelines import BuildOptions, DataSchema
    from pipelines.torch_estimator import TabularNetClassifier, cpu_threads

    frame = pd.read_csv(openml_data / "datasets" / "eeg-eye-state" / "eeg-eye-state.csv")
    y_raw = frame.pop("Class").to_numpy()
    p = pipelines.get("torch.mlp")
    # Early stopping may not cut the run short: every epoch is timed.
    config = p.canonicalize({"patience": 30})
    network = {k: v for k, v in config.items() if k != "imputation_strategy"}
    X = frame.to_numpy(dtype=np.float32)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    threads = cpu_threads()
    # The catalogue holds out 10% for validation; the peer trains on the same 90%.
    n_train = len(X) - int(np.ceil(len(X) * 0.1))
    X_peer, y_peer = X[:n_train], (y_raw[:n_train] == 2).astype(np.int64)

    catalogue, peer, full = [], [], []
    for repeat in range(REPEATS):
        net = TabularNetClassifier("mlp", network, max_epochs=EPOCHS, random_state=repeat)
        start = time.perf_counter()
        net.fit(X, y_raw)
        catalogue.append((time.perf_counter() - start) / net.n_epochs_)
        assert net.n_epochs_ == EPOCHS
        peer.append(_hand_written(X_peer, y_peer, config, EPOCHS, threads, seed=repeat))
    schema = DataSchema(list(frame.columns), [], classes=[1, 2])
    model = p.build(config, schema, BuildOptions(max_epochs=EPOCHS))
    start = time.perf_counter()
    model.fit(frame, y_raw)
    full.append((time.perf_counter() - start) / model[-1].n_epochs_)

    result = {
        "dataset": "eeg-eye-state (d/1471), 14,980 rows x 14 features",
        "architecture": "torch.mlp default: 14-128-128-2 ReLU, dropout 0.1, AdamW, batch 128",
        "epochs": EPOCHS,
        "repeats": REPEATS,
        "threads": threads,
        "torch": torch.__version__,
        "catalogue_s_per_epoch": statistics.median(catalogue),
        "hand_written_s_per_epoch": statistics.median(peer),
        "full_pipeline_s_per_epoch": full[0],
    }
    result["ratio_catalogue_over_hand_written"] = (
        result["catalogue_s_per_epoch"] / result["hand_written_s_per_epoch"]
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print()
    print(f"{'path':<40}{'s/epoch':>10}")
    print(f"{'catalogue TabularNetClassifier':<40}{result['catalogue_s_per_epoch']:>10.3f}")
    print(f"{'hand-written torch loop':<40}{result['hand_written_s_per_epoch']:>10.3f}")
    print(f"{'full pipeline (impute+scale+net)':<40}{result['full_pipeline_s_per_epoch']:>10.3f}")
    print(
        f"ratio catalogue / hand-written: {result['ratio_catalogue_over_hand_written']:.2f} "
        f"({threads} threads, median of {REPEATS})"
    )
    assert result["ratio_catalogue_over_hand_written"] > 0
