"""The search spaces of the torch networks, and their canonical form (ConfigSpace only).

A leaf: the catalogue builds its ``torch.*`` pipelines from these spaces, and the estimator
canonicalises its own ``config`` with them without looking itself up in the catalogue.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ConfigSpace import Categorical, ConfigurationSpace, Float, InCondition, Integer

from pipelines.base import BuildOptions, OpenMLNames, Pipeline

MAX_LAYERS = 6
IMPUTATION = ("mean", "median", "most_frequent")


def _optimiser_hps() -> list:
    return [
        Float("learning_rate", (1e-5, 1e-1), log=True, default=1e-3),
        Float("weight_decay", (1e-8, 1e-2), log=True, default=1e-5),
        Integer("batch_size", (32, 1024), log=True, default=128),
        Integer("max_epochs", (10, 500), log=True, default=100),
        Integer("patience", (3, 30), default=10),
        Categorical("imputation_strategy", IMPUTATION, default="median"),
    ]


def mlp_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    depth = Integer("n_layers", (1, MAX_LAYERS), default=2)
    widths = [
        Integer(f"units_{i}", (16, 1024), log=True, default=128) for i in range(1, MAX_LAYERS + 1)
    ]
    space.add(
        [
            depth,
            *widths,
            Categorical("activation", ("relu", "gelu", "tanh", "selu"), default="relu"),
            Float("dropout", (0.0, 0.5), default=0.1),
            Categorical("batch_norm", (True, False), default=False),
            Categorical("skip_connections", (True, False), default=False),
            *_optimiser_hps(),
        ]
    )
    # units_i exists only in chains of depth >= i.
    space.add(
        [
            InCondition(w, depth, list(range(i, MAX_LAYERS + 1)))
            for i, w in enumerate(widths, 1)
            if i > 1
        ]
    )
    return space


def resnet_space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add(
        [
            Integer("n_blocks", (1, 8), default=2),
            Integer("d_main", (32, 512), log=True, default=128),
            Float("d_hidden_factor", (1.0, 4.0), default=2.0),
            Float("hidden_dropout", (0.0, 0.5), default=0.2),
            Float("residual_dropout", (0.0, 0.5), default=0.0),
            Categorical("normalization", ("batch_norm", "layer_norm"), default="batch_norm"),
            Categorical("activation", ("relu", "gelu"), default="relu"),
            *_optimiser_hps(),
        ]
    )
    return space


SPACES = {"mlp": mlp_space, "resnet": resnet_space}


@lru_cache(maxsize=None)
def _canonicaliser(architecture: str):
    def no_estimator(config, schema, options: BuildOptions):
        raise NotImplementedError("a space-only pipeline builds nothing")

    return Pipeline(
        f"torch.{architecture}",
        task_types=("classification", "regression"),
        device="gpu-if-available",
        summary="",
        make_space=SPACES[architecture],
        make_estimator=no_estimator,
        openml=OpenMLNames(publish_class="", classes=(), step="network"),
    )


def canonical_config(architecture: str, config: dict[str, Any]) -> dict[str, Any]:
    """``config`` of the ``torch.<architecture>`` space in canonical form (ConfigError
    if invalid).
    """
    return _canonicaliser(architecture).canonicalize(config)
