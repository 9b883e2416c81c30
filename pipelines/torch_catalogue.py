"""torch networks for tabular data: spaces and factories (torch itself loads only when built).

``torch.mlp`` is searched in the NAS "chain" style: a depth, then one width per layer that is
active only when the chain is that deep, plus activation, dropout, batch norm and skip connections.
``torch.resnet`` is the tabular ResNet of Gorishniy et al. (2021). Both train with AdamW, early
stopping on a validation split, on CUDA when it exists.
"""

from __future__ import annotations

from ConfigSpace import Categorical, ConfigurationSpace, Float, InCondition, Integer

from pipelines.base import BuildOptions, DataSchema, OpenMLNames, Pipeline, Preprocessing

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
    widths = [Integer(f"units_{i}", (16, 1024), log=True, default=128) for i in range(1, MAX_LAYERS + 1)]
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
        [InCondition(w, depth, list(range(i, MAX_LAYERS + 1))) for i, w in enumerate(widths, 1) if i > 1]
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


def _factory(architecture: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        from pipelines.torch_estimator import TabularNetClassifier, TabularNetRegressor

        cls = TabularNetRegressor if schema.task_type == "regression" else TabularNetClassifier
        params = {k: v for k, v in config.items() if k != "imputation_strategy"}
        return cls(
            architecture=architecture,
            config=params,
            max_epochs=options.max_epochs,
            random_state=options.random_state,
            device=options.device,
        )

    return make


def torch_pipelines() -> list[Pipeline]:
    out = []
    for arch, space, summary in (
        ("mlp", mlp_space, "MLP, NAS chain-style (depth, widths, activation, dropout, batch norm, skips)"),
        ("resnet", resnet_space, "Tabular ResNet (Gorishniy et al. 2021)"),
    ):
        out.append(
            Pipeline(
                f"torch.{arch}",
                task_types=("classification", "regression"),
                device="gpu-if-available",
                summary=summary,
                make_space=space,
                make_estimator=_factory(arch),
                openml=OpenMLNames(
                    publish_class="pipelines.torch_estimator.TabularNetClassifier",
                    classes=("TabularNetClassifier", "TabularNetRegressor"),
                    step="network",
                    architecture=arch,
                ),
                preprocessing=Preprocessing(scale=True, dense=True),
            )
        )
    return out
