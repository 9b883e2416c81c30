"""LightGBM: one pipeline for classification and regression (the objective follows the task)."""

from __future__ import annotations

from ConfigSpace import Categorical, ConfigurationSpace, Float, Integer

from pipelines.base import BuildOptions, DataSchema, OpenMLNames, Pipeline, Preprocessing

IMPUTATION = ("mean", "median", "most_frequent")


def _space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add(
        [
            Integer("n_estimators", (16, 2048), log=True, default=100),
            Float("learning_rate", (0.005, 0.5), log=True, default=0.1),
            Integer("num_leaves", (4, 512), log=True, default=31),
            Integer("min_child_samples", (1, 200), log=True, default=20),
            Float("subsample", (0.3, 1.0), default=1.0),
            Float("colsample_bytree", (0.3, 1.0), default=1.0),
            Float("reg_alpha", (1e-8, 10.0), log=True, default=1e-8),
            Float("reg_lambda", (1e-8, 10.0), log=True, default=1e-8),
            Categorical("imputation_strategy", IMPUTATION, default="median"),
        ]
    )
    return space


def _factory(config: dict, schema: DataSchema, options: BuildOptions):
    try:
        import lightgbm
    except ImportError as exc:  # pragma: no cover - lightgbm is a core dependency
        raise ImportError(
            "lightgbm is needed for the 'lightgbm' pipeline: pip install lightgbm"
        ) from exc
    params = {k: v for k, v in config.items() if k != "imputation_strategy"}
    params["n_estimators"] = options.cap(params["n_estimators"], options.max_estimators)
    # subsample only acts with bagging switched on (subsample_freq > 0).
    params["subsample_freq"] = 1 if params["subsample"] < 1.0 else 0
    cls = lightgbm.LGBMRegressor if schema.task_type == "regression" else lightgbm.LGBMClassifier
    return cls(
        **params,
        random_state=options.random_state,
        n_jobs=options.n_jobs,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def lightgbm_pipelines() -> list[Pipeline]:
    return [
        Pipeline(
            "lightgbm",
            task_types=("classification", "regression"),
            device="cpu",
            summary="LightGBM gradient-boosted trees",
            make_space=_space,
            make_estimator=_factory,
            openml=OpenMLNames(
                publish_class="lightgbm.LGBMClassifier",
                classes=("LGBMClassifier", "LGBMRegressor"),
                step="lightgbm",
            ),
            preprocessing=Preprocessing(scale=False, dense=True),
        )
    ]
