"""Recommendation strategies (pure: meta-datasets in, ranked configurations out).

``names()`` lists them; ``create(name, **params)`` builds one. Every strategy has
``fit(training) -> self`` and ``predict(query) -> Scores``; :mod:`metabase.recommend.data`
prepares both from a meta-dataset.
"""

from __future__ import annotations

import importlib

_REGISTRY = {
    "default": "metabase.recommend.default:DefaultStrategy",
    "surrogate": "metabase.recommend.surrogate:SurrogateStrategy",
    "knn": "metabase.recommend.knn:KNNStrategy",
    "portfolio": "metabase.recommend.portfolio:PortfolioStrategy",
    "lowrank": "metabase.recommend.lowrank:LowRankStrategy",
    "blend": "metabase.recommend.default:BlendStrategy",
    "random": "metabase.recommend.baseline:RandomStrategy",
}


def names() -> list[str]:
    return list(_REGISTRY)


def create(name: str, **params):
    from metabase.errors import InputError

    if name not in _REGISTRY:
        raise InputError(f"unknown strategy {name!r}; choose from {', '.join(_REGISTRY)}")
    module, _, cls = _REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)(**params)
