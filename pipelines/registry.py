"""The catalogue: every pipeline by name, built once on first use."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from metabase.errors import NotFoundError

if TYPE_CHECKING:
    from pipelines.base import Pipeline


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Pipeline]:
    from pipelines.lightgbm_catalogue import lightgbm_pipelines
    from pipelines.sklearn_catalogue import sklearn_pipelines
    from pipelines.torch_catalogue import torch_pipelines

    entries = [*sklearn_pipelines(), *lightgbm_pipelines(), *torch_pipelines()]
    return {p.name: p for p in entries}


def names() -> list[str]:
    return sorted(catalogue())


def get(name: str) -> Pipeline:
    try:
        return catalogue()[name]
    except KeyError:
        raise NotFoundError(
            f"no pipeline {name!r} in the catalogue; known: {', '.join(names())} "
            "(see `metabase pipelines list`)"
        ) from None
