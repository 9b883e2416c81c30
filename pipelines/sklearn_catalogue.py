"""scikit-learn pipelines: spaces and estimator factories, classification and regression.

Ranges follow the spaces that produced the OpenML meta-data we import (openml-pimp's random
forest: max_features in [0.1, 0.9], min_samples_* in [1|2, 20]; auto-sklearn's for the rest),
widened where OpenML runs commonly use the library default (n_estimators=100).
"""

from __future__ import annotations

from typing import Any

from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    Constant,
    EqualsCondition,
    Float,
    InCondition,
    Integer,
)

from pipelines.base import BuildOptions, DataSchema, OpenMLNames, Pipeline, Preprocessing

IMPUTATION = ("mean", "median", "most_frequent")
CLS = ("classification",)
REG = ("regression",)


def _space(*hps, conditions=()) -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([*hps, Categorical("imputation_strategy", IMPUTATION, default="median")])
    if conditions:
        space.add(list(conditions))
    return space


def _choice(name: str, choices: tuple):
    """A categorical, or a constant where there is only one choice (nothing to search)."""
    return (
        Categorical(name, choices, default=choices[0])
        if len(choices) > 1
        else Constant(name, choices[0])
    )


def _model_params(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "imputation_strategy"}


# -- forests ------------------------------------------------------------------------------------
def _forest_space(criteria: tuple[str, ...], bootstrap_default: bool, max_features_default: float):
    def make() -> ConfigurationSpace:
        return _space(
            Integer("n_estimators", (16, 1024), log=True, default=100),
            _choice("criterion", criteria),
            Float("max_features", (0.05, 1.0), default=max_features_default),
            Integer("min_samples_split", (2, 20), default=2),
            Integer("min_samples_leaf", (1, 20), default=1),
            Categorical("bootstrap", (True, False), default=bootstrap_default),
            # Fixed as in openml-pimp: depth is limited through the leaf sizes instead.
            Constant("max_depth", None),
            Constant("max_leaf_nodes", None),
            Constant("min_weight_fraction_leaf", 0.0),
        )

    return make


def _forest_factory(cls_path: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        cls = _import(cls_path)
        params = _model_params(config)
        params["n_estimators"] = options.cap(params["n_estimators"], options.max_estimators)
        return cls(**params, random_state=options.random_state, n_jobs=options.n_jobs)

    return make


# -- boosting -----------------------------------------------------------------------------------
def _adaboost_space(regression: bool):
    def make() -> ConfigurationSpace:
        extra = (
            [Categorical("loss", ("linear", "square", "exponential"), default="linear")]
            if regression
            else []
        )
        return _space(
            Integer("n_estimators", (16, 512), log=True, default=50),
            Float("learning_rate", (0.01, 2.0), log=True, default=1.0),
            Integer("max_depth", (1, 10), default=1 if not regression else 3),
            *extra,
        )

    return make


def _adaboost_factory(regression: bool):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        params = _model_params(config)
        depth = params.pop("max_depth")
        tree = (DecisionTreeRegressor if regression else DecisionTreeClassifier)(
            max_depth=depth, random_state=options.random_state
        )
        params["n_estimators"] = options.cap(params["n_estimators"], options.max_estimators)
        cls = AdaBoostRegressor if regression else AdaBoostClassifier
        return cls(estimator=tree, **params, random_state=options.random_state)

    return make


def _gb_space(regression: bool):
    def make() -> ConfigurationSpace:
        losses = ("squared_error", "absolute_error", "huber") if regression else ("log_loss",)
        return _space(
            _choice("loss", losses),
            Integer("n_estimators", (16, 1024), log=True, default=100),
            Float("learning_rate", (0.01, 1.0), log=True, default=0.1),
            Integer("max_depth", (1, 10), default=3),
            Float("subsample", (0.1, 1.0), default=1.0),
            Integer("min_samples_leaf", (1, 50), log=True, default=1),
            Float("max_features", (0.1, 1.0), default=1.0),
        )

    return make


def _gb_factory(cls_path: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        params = _model_params(config)
        params["n_estimators"] = options.cap(params["n_estimators"], options.max_estimators)
        return _import(cls_path)(**params, random_state=options.random_state)

    return make


def _hgb_space(regression: bool):
    def make() -> ConfigurationSpace:
        losses = ("squared_error", "absolute_error") if regression else ("log_loss",)
        return _space(
            _choice("loss", losses),
            Float("learning_rate", (0.01, 1.0), log=True, default=0.1),
            Integer("max_iter", (16, 1024), log=True, default=100),
            Integer("max_leaf_nodes", (3, 2047), log=True, default=31),
            Integer("min_samples_leaf", (1, 200), log=True, default=20),
            Float("l2_regularization", (1e-10, 1.0), log=True, default=1e-10),
            # Early stopping would hold out data the outer evaluation does not know about.
            Constant("early_stopping", False),
        )

    return make


def _hgb_factory(cls_path: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        params = _model_params(config)
        params["max_iter"] = options.cap(params["max_iter"], options.max_estimators)
        return _import(cls_path)(**params, random_state=options.random_state)

    return make


# -- kernels, linear, neighbours, trees ---------------------------------------------------------
def _svm_space(regression: bool):
    def make() -> ConfigurationSpace:
        kernel = Categorical("kernel", ("rbf", "poly", "sigmoid"), default="rbf")
        degree = Integer("degree", (2, 5), default=3)
        coef0 = Float("coef0", (-1.0, 1.0), default=0.0)
        extra = [Float("epsilon", (0.001, 1.0), log=True, default=0.1)] if regression else []
        return _space(
            Float("C", (0.03125, 32768.0), log=True, default=1.0),
            kernel,
            Float("gamma", (3.0517578125e-05, 8.0), log=True, default=0.1),
            degree,
            coef0,
            Categorical("shrinking", (True, False), default=True),
            Float("tol", (1e-5, 1e-1), log=True, default=1e-3),
            *extra,
            conditions=(
                EqualsCondition(degree, kernel, "poly"),
                InCondition(coef0, kernel, ["poly", "sigmoid"]),
            ),
        )

    return make


def _svm_factory(regression: bool):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        from sklearn.svm import SVC, SVR

        params = _model_params(config)
        max_iter = options.max_iter if options.max_iter is not None else -1
        if regression:
            return SVR(**params, max_iter=max_iter)
        # Probabilities make AUC and log-loss measurable; the Platt fit is seeded.
        return SVC(
            **params, probability=True, max_iter=max_iter, random_state=options.random_state
        )

    return make


def _logreg_space() -> ConfigurationSpace:
    return _space(
        Float("C", (1e-4, 1e4), log=True, default=1.0),
        Categorical("fit_intercept", (True, False), default=True),
        Categorical("class_weight", (None, "balanced"), default=None),
        Float("tol", (1e-6, 1e-2), log=True, default=1e-4),
    )


def _logreg_factory(config: dict, schema: DataSchema, options: BuildOptions):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(
        **_model_params(config),
        max_iter=options.cap(1000, options.max_iter),
        random_state=options.random_state,
    )


def _knn_space() -> ConfigurationSpace:
    return _space(
        Integer("n_neighbors", (1, 100), log=True, default=5),
        Categorical("weights", ("uniform", "distance"), default="uniform"),
        Categorical("p", (1, 2), default=2),
    )


def _knn_factory(cls_path: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        return _import(cls_path)(**_model_params(config), n_jobs=options.n_jobs)

    return make


def _tree_space(criteria: tuple[str, ...]):
    def make() -> ConfigurationSpace:
        return _space(
            Categorical("criterion", criteria, default=criteria[0]),
            Integer("max_depth", (1, 50), log=True, default=20),
            Integer("min_samples_split", (2, 20), default=2),
            Integer("min_samples_leaf", (1, 20), default=1),
            Float("max_features", (0.05, 1.0), default=1.0),
        )

    return make


def _tree_factory(cls_path: str):
    def make(config: dict, schema: DataSchema, options: BuildOptions):
        return _import(cls_path)(**_model_params(config), random_state=options.random_state)

    return make


def _import(path: str):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _names(publish: str, flow_ids=(), foreign=None, paths=None) -> OpenMLNames:
    cls = publish.rpartition(".")[2]
    return OpenMLNames(
        publish_class=publish,
        classes=(cls,),
        step=cls.lower(),
        flow_ids=tuple(flow_ids),
        foreign=foreign or {},
        paths=paths or {},
    )


def sklearn_pipelines() -> list[Pipeline]:
    from pipelines.flow_ids import KNOWN_FLOW_IDS
    from pipelines.foreign import FOREIGN

    def known(name: str) -> dict:
        return {
            "flow_ids": tuple(f for f, p in KNOWN_FLOW_IDS.items() if p == name),
            "foreign": FOREIGN.get(name),
        }

    trees = Preprocessing(scale=False, dense=True)
    scaled = Preprocessing(scale=True, dense=True)
    spec = [
        # name, task types, summary, space, factory, publish class, preprocessing, extra naming
        (
            "sklearn.random_forest",
            CLS,
            "Random forest classifier",
            _forest_space(("gini", "entropy"), True, 0.5),
            _forest_factory("sklearn.ensemble.RandomForestClassifier"),
            "sklearn.ensemble.RandomForestClassifier",
            trees,
            known("sklearn.random_forest"),
        ),
        (
            "sklearn.random_forest_regressor",
            REG,
            "Random forest regressor",
            _forest_space(("squared_error",), True, 1.0),
            _forest_factory("sklearn.ensemble.RandomForestRegressor"),
            "sklearn.ensemble.RandomForestRegressor",
            trees,
            {},
        ),
        (
            "sklearn.extra_trees",
            CLS,
            "Extremely randomised trees classifier",
            _forest_space(("gini", "entropy"), False, 0.5),
            _forest_factory("sklearn.ensemble.ExtraTreesClassifier"),
            "sklearn.ensemble.ExtraTreesClassifier",
            trees,
            {},
        ),
        (
            "sklearn.extra_trees_regressor",
            REG,
            "Extremely randomised trees regressor",
            _forest_space(("squared_error",), False, 1.0),
            _forest_factory("sklearn.ensemble.ExtraTreesRegressor"),
            "sklearn.ensemble.ExtraTreesRegressor",
            trees,
            {},
        ),
        (
            "sklearn.adaboost",
            CLS,
            "AdaBoost over decision trees",
            _adaboost_space(False),
            _adaboost_factory(False),
            "sklearn.ensemble.AdaBoostClassifier",
            trees,
            {"paths": {"max_depth": "estimator__max_depth"}},
        ),
        (
            "sklearn.adaboost_regressor",
            REG,
            "AdaBoost.R2 over regression trees",
            _adaboost_space(True),
            _adaboost_factory(True),
            "sklearn.ensemble.AdaBoostRegressor",
            trees,
            {"paths": {"max_depth": "estimator__max_depth"}},
        ),
        (
            "sklearn.gradient_boosting",
            CLS,
            "Gradient boosting classifier",
            _gb_space(False),
            _gb_factory("sklearn.ensemble.GradientBoostingClassifier"),
            "sklearn.ensemble.GradientBoostingClassifier",
            trees,
            {},
        ),
        (
            "sklearn.gradient_boosting_regressor",
            REG,
            "Gradient boosting regressor",
            _gb_space(True),
            _gb_factory("sklearn.ensemble.GradientBoostingRegressor"),
            "sklearn.ensemble.GradientBoostingRegressor",
            trees,
            {},
        ),
        (
            "sklearn.hist_gradient_boosting",
            CLS,
            "Histogram gradient boosting classifier",
            _hgb_space(False),
            _hgb_factory("sklearn.ensemble.HistGradientBoostingClassifier"),
            "sklearn.ensemble.HistGradientBoostingClassifier",
            trees,
            {},
        ),
        (
            "sklearn.hist_gradient_boosting_regressor",
            REG,
            "Histogram gradient boosting regressor",
            _hgb_space(True),
            _hgb_factory("sklearn.ensemble.HistGradientBoostingRegressor"),
            "sklearn.ensemble.HistGradientBoostingRegressor",
            trees,
            {},
        ),
        (
            "sklearn.svc",
            CLS,
            "Support vector classifier (libsvm)",
            _svm_space(False),
            _svm_factory(False),
            "sklearn.svm.SVC",
            scaled,
            {},
        ),
        (
            "sklearn.svr",
            REG,
            "Support vector regressor (libsvm)",
            _svm_space(True),
            _svm_factory(True),
            "sklearn.svm.SVR",
            scaled,
            {},
        ),
        (
            "sklearn.logistic_regression",
            CLS,
            "L2-regularised logistic regression",
            _logreg_space,
            _logreg_factory,
            "sklearn.linear_model.LogisticRegression",
            scaled,
            {},
        ),
        (
            "sklearn.knn",
            CLS,
            "k-nearest neighbours classifier",
            _knn_space,
            _knn_factory("sklearn.neighbors.KNeighborsClassifier"),
            "sklearn.neighbors.KNeighborsClassifier",
            scaled,
            {},
        ),
        (
            "sklearn.knn_regressor",
            REG,
            "k-nearest neighbours regressor",
            _knn_space,
            _knn_factory("sklearn.neighbors.KNeighborsRegressor"),
            "sklearn.neighbors.KNeighborsRegressor",
            scaled,
            {},
        ),
        (
            "sklearn.decision_tree",
            CLS,
            "CART decision tree classifier",
            _tree_space(("gini", "entropy")),
            _tree_factory("sklearn.tree.DecisionTreeClassifier"),
            "sklearn.tree.DecisionTreeClassifier",
            trees,
            {},
        ),
        (
            "sklearn.decision_tree_regressor",
            REG,
            "CART decision tree regressor",
            _tree_space(("squared_error", "absolute_error")),
            _tree_factory("sklearn.tree.DecisionTreeRegressor"),
            "sklearn.tree.DecisionTreeRegressor",
            trees,
            {},
        ),
    ]
    out = []
    for name, task_types, summary, space, factory, publish, pre, extra in spec:
        out.append(
            Pipeline(
                name,
                task_types=task_types,
                device="cpu",
                summary=summary,
                make_space=space,
                make_estimator=factory,
                openml=_names(publish, **extra),
                preprocessing=pre,
            )
        )
    return out
