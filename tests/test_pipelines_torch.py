"""The torch networks are real architectures: module structure, parameter counts worked out by
hand, training that lowers the validation loss, early stopping, determinism, state_dict files.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import pipelines  # noqa: E402
from pipelines import BuildOptions, DataSchema  # noqa: E402
from pipelines.torch_estimator import TabularNetClassifier, pick_device  # noqa: E402
from pipelines.torch_models import MLP, TabularResNet, make_module  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # shared 2-core machines: do not contend
    yield
    torch.set_num_threads(previous)


def _mlp(**values):
    return pipelines.get("torch.mlp").canonicalize(values)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_two_layer_mlp_structure_and_parameter_count():
    net = make_module(
        "mlp", _mlp(n_layers=2, units_1=64, units_2=32, dropout=0.0), d_in=10, d_out=2
    )
    assert isinstance(net, MLP)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(10, 64), (64, 32), (32, 2)]
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.Dropout)) for m in net.modules())
    # (10*64 + 64) + (64*32 + 32) + (32*2 + 2)
    assert _count(net) == 704 + 2080 + 66 == 2850


def test_three_layer_mlp_with_batch_norm_skips_and_dropout():
    config = _mlp(
        n_layers=3,
        units_1=32,
        units_2=32,
        units_3=16,
        batch_norm=True,
        skip_connections=True,
        dropout=0.25,
        activation="gelu",
    )
    net = make_module("mlp", config, d_in=10, d_out=2)
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net.modules()) == 3
    assert [m.p for m in net.modules() if isinstance(m, nn.Dropout)] == [0.25] * 3
    assert sum(isinstance(m, nn.GELU) for m in net.modules()) == 3
    # Skips: a bias-free projection where the width changes (10->32, 32->16), identity where not.
    assert [type(p).__name__ for p in net.projections] == ["Linear", "Identity", "Linear"]
    # layers: 10*32+32 + 2*32 | 32*32+32 + 2*32 | 32*16+16 + 2*16 ; projections 10*32 + 32*16 ;
    # head 16*2+2
    assert _count(net) == (352 + 64) + (1056 + 64) + (528 + 32) + (320 + 512) + 34 == 2962
    out = net.eval()(torch.zeros(5, 10))
    assert out.shape == (5, 2)


def test_depth_and_width_follow_the_chain_config():
    for depth in range(1, 7):
        widths = [16 * (i + 1) for i in range(depth)]
        config = _mlp(n_layers=depth, **{f"units_{i + 1}": w for i, w in enumerate(widths)})
        net = make_module("mlp", config, d_in=7, d_out=3)
        assert [layer[0].out_features for layer in net.layers] == widths
        dims = [7, *widths, 3]
        assert _count(net) == sum(a * b + b for a, b in zip(dims, dims[1:]))


def test_resnet_structure_and_parameter_count():
    config = pipelines.get("torch.resnet").canonicalize(
        {"n_blocks": 2, "d_main": 32, "d_hidden_factor": 2.0, "normalization": "batch_norm"}
    )
    net = make_module("resnet", config, d_in=10, d_out=3)
    assert isinstance(net, TabularResNet) and len(net.blocks) == 2
    # stem 10*32+32; per block BN(32) 64 + 32*64+64 + 64*32+32; head BN 64 + 32*3+3
    assert _count(net) == 352 + 2 * (64 + 2112 + 2080) + (64 + 99) == 9027
    layer_norm = make_module("resnet", {**config, "normalization": "layer_norm"}, d_in=10, d_out=3)
    assert any(isinstance(m, nn.LayerNorm) for m in layer_norm.modules())
    assert _count(layer_norm) == 9027  # LayerNorm has the same 2*d affine parameters


@pytest.fixture(scope="module")
def eeg(openml_data):
    frame = pd.read_csv(openml_data / "datasets" / "eeg-eye-state" / "eeg-eye-state.csv")
    frame = frame.sample(n=3000, random_state=1).reset_index(drop=True)
    y = frame.pop("Class").to_numpy()
    return frame, y, DataSchema(list(frame.columns), [], classes=[1, 2])


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["torch.mlp", "torch.resnet"])
def test_training_lowers_validation_loss_on_eeg_eye_state(name, eeg):
    frame, y, schema = eeg
    p = pipelines.get(name)
    config = p.canonicalize(
        {"max_epochs": 12, "patience": 12, "learning_rate": 3e-3, "batch_size": 128}
    )
    model = p.build(config, schema, BuildOptions(random_state=0)).fit(frame, y)
    history = model[-1].history_
    first, best = history[0]["val_loss"], min(h["val_loss"] for h in history)
    assert best < 0.9 * first, history
    # Better than predicting the majority class on the training rows.
    majority = max(np.mean(y == 1), np.mean(y == 2))
    assert model.score(frame, y) > majority + 0.05


@pytest.mark.realdata
def test_same_seed_same_model_other_seed_other_model(eeg):
    frame, y, schema = eeg
    p = pipelines.get("torch.mlp")
    config = p.canonicalize({"dropout": 0.2})

    def fit(seed):
        options = BuildOptions(random_state=seed, max_epochs=3)
        return p.build(config, schema, options).fit(frame, y).predict_proba(frame[:50])

    assert np.array_equal(fit(5), fit(5))
    assert not np.allclose(fit(5), fit(6))


def test_early_stopping_stops_on_noise():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(400, 5)).astype(np.float32), rng.integers(0, 2, 400)
    config = {
        k: v
        for k, v in _mlp(max_epochs=200, patience=3, learning_rate=0.05).items()
        if k != "imputation_strategy"
    }
    net = TabularNetClassifier("mlp", config).fit(X, y)
    assert net.n_epochs_ < 200
    best_epoch = int(np.argmin([h["val_loss"] for h in net.history_]))
    assert net.n_epochs_ == best_epoch + 1 + 3  # stopped `patience` epochs after the best one


def test_state_dict_save_and_load_reproduce_predictions(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    config = {k: v for k, v in _mlp(batch_norm=True).items() if k != "imputation_strategy"}
    net = TabularNetClassifier("mlp", config, max_epochs=5, random_state=3).fit(X, y)
    weights = net.save(tmp_path / "model")
    state = torch.load(weights, weights_only=True)  # a plain state_dict, no pickled objects
    assert isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())
    assert "head.weight" in state
    loaded = TabularNetClassifier.load(tmp_path / "model")
    assert np.array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert list(loaded.classes_) == ["no", "yes"]


def test_cpu_without_cuda_and_cuda_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device(None).type == expected
    assert pick_device("cpu").type == "cpu"


@pytest.mark.gpu
def test_trains_on_cuda():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(300, 4)).astype(np.float32), rng.integers(0, 2, 300)
    config = {k: v for k, v in _mlp().items() if k != "imputation_strategy"}
    net = TabularNetClassifier("mlp", config, max_epochs=3).fit(X, y)
    assert next(net.module_.parameters()).device.type == "cuda"
    assert net.predict(X).shape == (300,)


def test_built_network_pipeline_clones_and_refits():
    from sklearn.base import clone

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(120, 3)), columns=["a", "b", "c"])
    frame["d"] = rng.choice(["x", "y", None], size=120)
    y = rng.integers(0, 3, 120)
    p = pipelines.get("torch.resnet")
    model = p.build(
        p.default_config(),
        DataSchema(["a", "b", "c"], ["d"], classes=[0, 1, 2]),
        BuildOptions(max_epochs=2),
    )
    twin = clone(model)
    assert twin.get_params()["network__config"] == model.get_params()["network__config"]
    proba = twin.fit(frame, y).predict_proba(frame)
    assert proba.shape == (120, 3)


def test_adamw_is_fused_where_torch_has_it_and_makes_the_same_update():
    """The catalogue's optimiser: torch's fused AdamW kernel on the CPU (torch >= 2.4), the
    same steps as torch's plain AdamW up to float rounding.
    """
    import copy

    from pipelines.torch_estimator import _adamw

    torch.manual_seed(0)
    fused_net = nn.Linear(6, 3)
    plain_net = copy.deepcopy(fused_net)
    start = fused_net.weight.detach().clone()
    fused = _adamw(fused_net.parameters(), {"learning_rate": 1e-2, "weight_decay": 1e-3})
    plain = torch.optim.AdamW(plain_net.parameters(), lr=1e-2, weight_decay=1e-3)
    assert fused.defaults["fused"] is True
    X = torch.randn(32, 6)
    for optimiser, net in ((fused, fused_net), (plain, plain_net)):
        for _ in range(10):
            optimiser.zero_grad()
            net(X).pow(2).mean().backward()
            optimiser.step()
    moved = [
        (p - q).abs().max().item() for p, q in zip(fused_net.parameters(), plain_net.parameters())
    ]
    assert max(moved) < 1e-5
    assert (plain_net.weight.detach() - start).abs().max().item() > 1e-3  # the steps did move
