"""scikit-learn estimators that train the catalogue's torch networks.

AdamW on mini-batches, early stopping on a held-out validation split (the best epoch's weights
are kept), CUDA when it exists. Deterministic under ``random_state``: the split, the weight
initialisation and the batch order all come from it. Weights are saved as a ``state_dict`` with a
JSON sidecar for the shapes, never as a pickle.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split

from pipelines.torch_models import make_module

VALIDATION_FRACTION = 0.1


def pick_device(requested: str | None) -> torch.device:
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def cpu_threads() -> int:
    """Threads for torch on the CPU: the cores this process may use, at most torch's setting,
    and one when the machine is already busy.

    On shared machines extra intra-op threads only contend: measured here on 2 cores with a load
    of 6, one epoch of the default MLP on eeg-eye-state took 0.4-0.6 s on one thread and 2-12 s
    on two. A caller that lowered ``torch.set_num_threads`` is respected.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0] >= available
    except OSError:  # pragma: no cover - no load average on this platform
        busy = False
    return 1 if busy else max(1, min(available, torch.get_num_threads()))


class _TabularNet(BaseEstimator):
    """A catalogue torch network with the scikit-learn estimator API.

    Parameters
    ----------
    architecture : str
        "mlp" or "resnet".
    config : dict
        The canonical network and optimiser configuration (the pipeline's space, less imputation).
    max_epochs : int or None
        A cap on the configuration's epochs (quick runs).
    random_state : int
        Seeds the validation split, the initial weights and the batch order.
    device : str or None
        "cpu" or "cuda"; None picks CUDA when it exists.

    """

    _task = "classification"

    def __init__(
        self,
        architecture: str = "mlp",
        config: dict | None = None,
        max_epochs: int | None = None,
        random_state: int = 0,
        device: str | None = None,
    ) -> None:
        self.architecture = architecture
        self.config = config
        self.max_epochs = max_epochs
        self.random_state = random_state
        self.device = device

    # -- training ---------------------------------------------------------------------------
    def fit(self, X, y):
        config = self._canonical_config()
        X = np.asarray(X, dtype=np.float32)
        targets = self._encode_targets(np.asarray(y))
        torch.manual_seed(self.random_state)
        generator = torch.Generator().manual_seed(self.random_state)
        device = pick_device(self.device)
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(cpu_threads())
        try:
            self._train(config, X, targets, device, generator)
        finally:
            torch.set_num_threads(previous_threads)
        return self

    def _canonical_config(self) -> dict[str, Any]:
        from pipelines.torch_spaces import canonical_config

        config = dict(self.config or {})
        config.setdefault("imputation_strategy", "median")  # preprocessing's, not the network's
        return canonical_config(self.architecture, config)

    def _train(self, config, X, targets, device, generator) -> None:
        stratify = targets if self._task == "classification" and _can_stratify(targets) else None
        if len(X) >= 20:
            X_tr, X_va, y_tr, y_va = train_test_split(
                X,
                targets,
                test_size=VALIDATION_FRACTION,
                random_state=self.random_state,
                stratify=stratify,
            )
        else:  # too small to hold data out: early stopping watches the training loss
            X_tr, X_va, y_tr, y_va = X, X, targets, targets
        self.n_features_in_ = X.shape[1]
        self.module_ = make_module(self.architecture, config, X.shape[1], self._d_out()).to(device)
        optimiser = _adamw(self.module_.parameters(), config)
        loss_fn = self._loss()
        X_tr, y_tr = torch.from_numpy(X_tr).to(device), torch.from_numpy(y_tr).to(device)
        X_va, y_va = torch.from_numpy(X_va).to(device), torch.from_numpy(y_va).to(device)
        epochs = (
            config["max_epochs"]
            if self.max_epochs is None
            else min(config["max_epochs"], self.max_epochs)
        )
        batch = min(int(config["batch_size"]), len(X_tr))
        best, best_state, since_best = float("inf"), None, 0
        self.history_: list[dict[str, float]] = []
        for epoch in range(epochs):
            train_loss = self._epoch(X_tr, y_tr, batch, optimiser, loss_fn, generator)
            val_loss = self._evaluate(X_va, y_va, loss_fn)
            self.history_.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss})
            if val_loss < best - 1e-7:
                best, since_best = val_loss, 0
                best_state = copy.deepcopy(self.module_.state_dict())
            else:
                since_best += 1
                if since_best >= config["patience"]:
                    break
        if best_state is not None:
            self.module_.load_state_dict(best_state)
        self.n_epochs_ = len(self.history_)
        self.best_val_loss_ = best
        self.module_.eval()

    def _epoch(self, X, y, batch, optimiser, loss_fn, generator) -> float:
        self.module_.train()
        order = torch.randperm(len(X), generator=generator).to(X.device)
        # Summed on the device and read once per epoch: reading each batch's loss would make the
        # host wait for a GPU after every step.
        total, seen = torch.zeros((), device=X.device), 0
        for start in range(0, len(X), batch):
            idx = order[start : start + batch]
            if len(idx) < 2 and seen:  # BatchNorm cannot train on a batch of one
                continue
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(self.module_(X[idx]), y[idx])
            loss.backward()
            optimiser.step()
            total += loss.detach() * len(idx)
            seen += len(idx)
        return float(total) / max(seen, 1)

    @torch.no_grad()
    def _evaluate(self, X, y, loss_fn) -> float:
        self.module_.eval()
        return float(loss_fn(self._forward_batched(X), y))

    @torch.no_grad()
    def _forward_batched(self, X: torch.Tensor, size: int = 8192) -> torch.Tensor:
        return torch.cat([self.module_(X[i : i + size]) for i in range(0, len(X), size)])

    def _raw_predict(self, X) -> torch.Tensor:
        self.module_.eval()
        device = next(self.module_.parameters()).device
        X = torch.from_numpy(np.asarray(X, dtype=np.float32)).to(device)
        return self._forward_batched(X).cpu()

    # -- persistence ------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``<path>.pt`` (the state_dict) and ``<path>.json`` (what rebuilds the module)."""
        path = Path(path)
        torch.save(self.module_.state_dict(), path.with_suffix(".pt"))
        meta = {"class": type(self).__name__, "params": self.get_params(), **self._meta()}
        path.with_suffix(".json").write_text(json.dumps(meta, default=_jsonable))
        return path.with_suffix(".pt")

    @classmethod
    def load(cls, path: str | Path):
        path = Path(path)
        meta = json.loads(path.with_suffix(".json").read_text())
        est = cls(**meta["params"])
        est._restore_meta(meta)
        config = est._canonical_config()
        est.module_ = make_module(est.architecture, config, meta["n_features_in"], est._d_out())
        state = torch.load(path.with_suffix(".pt"), map_location="cpu", weights_only=True)
        est.module_.load_state_dict(state)
        est.module_.to(pick_device(est.device)).eval()
        return est


class TabularNetClassifier(ClassifierMixin, _TabularNet):
    __doc__ = "Classifier: cross-entropy on the label-encoded classes.\n" + (
        _TabularNet.__doc__ or ""
    )

    _task = "classification"

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        self.classes_, codes = np.unique(y, return_inverse=True)
        return codes.astype(np.int64)

    def _d_out(self) -> int:
        return len(self.classes_)

    def _loss(self):
        return torch.nn.CrossEntropyLoss()

    def predict_proba(self, X) -> np.ndarray:
        return torch.softmax(self._raw_predict(X), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def _meta(self) -> dict:
        return {"n_features_in": self.n_features_in_, "classes": self.classes_.tolist()}

    def _restore_meta(self, meta: dict) -> None:
        self.n_features_in_ = meta["n_features_in"]
        self.classes_ = np.asarray(meta["classes"])


class TabularNetRegressor(RegressorMixin, _TabularNet):
    __doc__ = "Regressor: mean squared error on the standardised target.\n" + (
        _TabularNet.__doc__ or ""
    )

    _task = "regression"

    def _encode_targets(self, y: np.ndarray) -> np.ndarray:
        y = y.astype(np.float64)
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std() or 1.0)
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32).reshape(-1, 1)

    def _d_out(self) -> int:
        return 1

    def _loss(self):
        return torch.nn.MSELoss()

    def predict(self, X) -> np.ndarray:
        return self._raw_predict(X).numpy().ravel() * self.y_scale_ + self.y_mean_

    def _meta(self) -> dict:
        return {
            "n_features_in": self.n_features_in_,
            "y_mean": self.y_mean_,
            "y_scale": self.y_scale_,
        }

    def _restore_meta(self, meta: dict) -> None:
        self.n_features_in_ = meta["n_features_in"]
        self.y_mean_, self.y_scale_ = meta["y_mean"], meta["y_scale"]


def _adamw(parameters, config: dict) -> torch.optim.Optimizer:
    """AdamW with its fused kernel where this torch has one for the device: one call updates
    every parameter instead of a Python loop over them (about a tenth of a small network's
    epoch on one CPU thread). The same update up to float rounding, deterministic either way.
    """
    parameters = list(parameters)
    kwargs = {"lr": config["learning_rate"], "weight_decay": config["weight_decay"]}
    try:
        return torch.optim.AdamW(parameters, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):  # no fused kernel for this device or torch
        return torch.optim.AdamW(parameters, **kwargs)


def _can_stratify(y: np.ndarray) -> bool:
    _, counts = np.unique(y, return_counts=True)
    return len(counts) > 1 and counts.min() >= 2


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
