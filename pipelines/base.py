"""The Pipeline record: identity, search space, canonical form and builder.

A pipeline is data plus three functions supplied by its catalogue module: one that makes the
ConfigSpace space, one that makes the final estimator from a canonical config, and the OpenML
naming. Everything generic (validation, canonical form, sampling, preprocessing) lives here so
that every catalogue entry behaves the same way. The OpenML mapping sits a layer above the
catalogue, in :mod:`pipelines.openml_map`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ConfigSpace import ConfigurationSpace

from metabase.errors import ConfigError
from pipelines.spaces import coerce, parents, plain_default

TASK_TYPES = ("classification", "regression")
DEVICES = ("cpu", "gpu-if-available")


@dataclass(frozen=True)
class DataSchema:
    """What a builder needs to know about the data: column roles, classes and the task type.

    ``columns`` is the column order of the X the estimator will see. When it is given, the
    preprocessing selects columns by index (what openml-python can serialise); otherwise by name
    (X must then be a DataFrame).
    """

    numeric: Sequence[str]
    categorical: Sequence[str]
    classes: Sequence[Any] | None = None
    task_type: str = "classification"
    columns: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ConfigError(
                f"task_type must be one of {list(TASK_TYPES)}, not {self.task_type!r}"
            )


@dataclass(frozen=True)
class BuildOptions:
    """Caps for quick runs (tests, smoke checks). They bound the work; they never change the space.

    ``max_estimators`` caps tree counts and boosting rounds, ``max_epochs`` caps torch epochs,
    ``max_iter`` caps iterative solvers. ``random_state`` seeds everything stochastic.
    """

    max_estimators: int | None = None
    max_epochs: int | None = None
    max_iter: int | None = None
    random_state: int = 0
    n_jobs: int = 1
    device: str | None = None  # "cpu" or "cuda"; None picks CUDA when it exists for GPU pipelines

    def cap(self, value: int, limit: int | None) -> int:
        return value if limit is None else min(value, limit)


@dataclass(frozen=True)
class Preprocessing:
    """The preprocessing a pipeline's estimator needs in front of it."""

    scale: bool = False  # StandardScaler on numeric columns
    dense: bool = True  # one-hot output as a dense array


@dataclass(frozen=True)
class OpenMLNames:
    """How this pipeline appears on OpenML.

    ``classes`` are the estimator class names that identify it in a flow name (any sklearn
    version's module path); ``flow_ids`` are flows known to be this pipeline even when their name
    is not at hand (6969: the openml-pimp random forest); ``foreign`` maps other toolkits' flow
    name prefixes (``mlr.classif.ranger``) to a translator of their parameters.
    """

    publish_class: str
    classes: tuple[str, ...]
    step: str
    flow_ids: tuple[int, ...] = ()
    foreign: Mapping[str, Callable[..., dict[str, Any] | None]] = field(default_factory=dict)
    # Our hyperparameter -> its path below the estimator step in OpenML parameter names, where
    # it is not the plain name (AdaBoost's tree depth is "estimator__max_depth").
    paths: Mapping[str, str] = field(default_factory=dict)
    # The estimator takes the whole config as one ``config`` parameter (the torch networks),
    # with ``architecture`` telling the pipelines sharing that estimator apart.
    architecture: str | None = None


EstimatorFactory = Callable[[dict[str, Any], DataSchema, BuildOptions], Any]


class Pipeline:
    """One catalogue entry. Immutable after construction; the space is built on first use."""

    def __init__(
        self,
        name: str,
        *,
        task_types: tuple[str, ...],
        device: str,
        summary: str,
        make_space: Callable[[], ConfigurationSpace],
        make_estimator: EstimatorFactory,
        openml: OpenMLNames,
        preprocessing: Preprocessing = Preprocessing(),
    ) -> None:
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}")
        self.name = name
        self.task_types = task_types
        self.device = device
        self.summary = summary
        self.openml = openml
        self.preprocessing = preprocessing
        self._make_space = make_space
        self._make_estimator = make_estimator
        self._typed_cache: dict[tuple, Any] = {}

    def __repr__(self) -> str:
        return f"Pipeline({self.name!r})"

    @cached_property
    def space(self) -> ConfigurationSpace:
        space = self._make_space()
        space.name = self.name
        return space

    @cached_property
    def _hps(self) -> dict[str, Any]:
        return dict(self.space.items())  # topological order: parents before children

    @cached_property
    def _conditions(self) -> dict[str, list]:
        return {
            name: [
                (c, [p.name for p in parents(c)]) for c in self.space.parent_conditions_of[name]
            ]
            for name in self._hps
        }

    # -- canonical form --------------------------------------------------------------------
    def default_config(self) -> dict[str, Any]:
        return self.canonicalize(dict(self.space.get_default_configuration()))

    def sample(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` random configurations of the space, canonical, reproducible under ``seed``."""
        if n <= 0:
            return []
        space = self._make_space()  # a private copy, so seeding never disturbs self.space
        space.seed(seed)
        configs = space.sample_configuration(n) if n > 1 else [space.sample_configuration()]
        return [self.canonicalize(dict(c)) for c in configs[:n]]

    def canonicalize(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values in space order, inactive parameters dropped, missing active ones defaulted.

        Raises ConfigError naming the parameter and what it allows.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"{self.name}: a configuration is a mapping, not {type(config).__name__}"
            )
        hps = self._hps
        unknown = sorted(str(k) for k in config if k not in hps)
        if unknown:
            raise ConfigError(
                f"{self.name}: unknown hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(hps)}"
            )
        typed = {name: self._coerce(hps[name], value) for name, value in config.items()}
        out: dict[str, Any] = {}
        for name, hp in hps.items():  # ConfigSpace keeps them in topological order
            if not self._active(name, out):
                continue
            out[name] = typed[name] if name in typed else plain_default(hp)
        return out

    def _coerce(self, hp, value: Any) -> Any:
        # Imports map tens of thousands of setups whose values repeat: remember the typed ones.
        try:
            key = (hp.name, type(value), value)
            return self._typed_cache[key]
        except TypeError:  # unhashable (a list): no caching
            return coerce(self.name, hp, value)
        except KeyError:
            pass
        typed = coerce(self.name, hp, value)
        if len(self._typed_cache) > 200_000:
            self._typed_cache.clear()
        self._typed_cache[key] = typed
        return typed

    def _active(self, name: str, values: Mapping[str, Any]) -> bool:
        for condition, cond_parents in self._conditions[name]:
            if any(p not in values for p in cond_parents):
                return False
            if not condition.satisfied_by_value(values):
                return False
        return True

    # -- building --------------------------------------------------------------------------
    def build(
        self, config: Mapping[str, Any], schema: DataSchema, options: BuildOptions | None = None
    ):
        """A scikit-learn estimator: preprocessing (impute, encode, scale) then the model."""
        from sklearn.pipeline import Pipeline as SkPipeline

        from pipelines.preprocessing import make_preprocessor

        if schema.task_type not in self.task_types:
            raise ConfigError(
                f"{self.name} does not support {schema.task_type}; "
                f"it supports {', '.join(self.task_types)}"
            )
        options = options or BuildOptions()
        canonical = self.canonicalize(config)
        pre = make_preprocessor(
            schema, canonical.get("imputation_strategy", "median"), self.preprocessing
        )
        model = self._make_estimator(canonical, schema, options)
        return SkPipeline([("columntransformer", pre), (self.openml.step, model)])

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description of the pipeline and its space (for `metabase pipelines
        show`).
        """
        from pipelines.describe import describe

        return describe(self)
