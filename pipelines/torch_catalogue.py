"""torch networks for tabular data: spaces and factories (torch itself loads only when built).

``torch.mlp`` is searched in the NAS "chain" style: a depth, then one width per layer that is
active only when the chain is that deep, plus activation, dropout, batch norm and skip connections.
``torch.resnet`` is the tabular ResNet of Gorishniy et al. (2021). Both train with AdamW, early
stopping on a validation split, on CUDA when it exists.
"""

from __future__ import annotations

from pipelines.base import BuildOptions, DataSchema, OpenMLNames, Pipeline, Preprocessing
from pipelines.torch_spaces import mlp_space, resnet_space


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
        (
            "mlp",
            mlp_space,
            "MLP, NAS chain-style (depth, widths, activation, dropout, batch norm, skips)",
        ),
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
