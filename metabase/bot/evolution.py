"""Aging (regularised) evolution for the torch networks' architectures (Real et al. 2019).

The population is the ``population`` most recent results of one pipeline on one task: a new
result joins it and the oldest is retired, whatever its score (aging keeps the search from
clinging to a lucky early network). A proposal is a mutation of a tournament winner: ``sample``
members drawn at random, the best of them copied with one architectural or training
hyperparameter changed, within the pipeline's ConfigSpace space (ConfigSpace's one-exchange
neighbourhood, which also switches conditional hyperparameters on and off, e.g. ``units_3`` with
``n_layers``). Until the population is full, the ``initial`` configurations (the recommended
architectures) are tried first, then random ones from the space. Pure: the history comes in,
one configuration goes out; the bot keeps the history in the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

POPULATION = 20
SAMPLE = 5


@dataclass(frozen=True)
class Proposal:
    config: dict[str, Any]
    reason: str


def propose(
    space,
    history: Sequence[tuple[dict, float]],
    *,
    initial: Sequence[dict] = (),
    population: int = POPULATION,
    sample: int = SAMPLE,
    seed: int = 0,
) -> Proposal:
    """The next configuration to run. ``history``: (config, score) of the results so far, oldest
    first, higher scores better; ``space``: the pipeline's ``ConfigurationSpace``.
    """
    if population < 1 or not 1 <= sample <= population:
        raise ValueError("need population >= 1 and 1 <= sample <= population")
    rng = np.random.default_rng([seed, len(history)])
    tried = {_key(c) for c, _ in history}
    if len(history) < population:
        for config in initial:
            if _key(config) not in tried:
                return Proposal(_valid(space, config), "evolution: a recommended architecture")
        return Proposal(_sample(space, rng, tried), "evolution: a random member")
    alive = list(history)[-population:]  # the oldest are retired
    drawn = rng.choice(len(alive), sample, replace=False)
    winner = max(drawn, key=lambda i: (alive[i][1], -i))
    parent, score = alive[winner]
    child, changed = mutate(space, parent, rng, tried)
    return Proposal(child, f"evolution: {changed} of a tournament winner (score {score:.4f})")


def mutate(space, config: dict, rng, avoid=frozenset()) -> tuple[dict, str]:
    """``config`` with one hyperparameter changed (preferably to something not in ``avoid``),
    and the name of the one changed.
    """
    from ConfigSpace.util import get_one_exchange_neighbourhood

    parent = _configuration(space, config)
    fallback = None
    for neighbour in get_one_exchange_neighbourhood(parent, seed=int(rng.integers(2**31))):
        child = dict(neighbour)
        changed = _changed(dict(parent), child)
        if _key(child) not in avoid:
            return child, changed
        fallback = fallback or (child, changed)
    if fallback is None:  # a space with a single point: nothing to change
        return dict(parent), "nothing"
    return fallback


def _changed(old: dict, new: dict) -> str:
    names = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    # a depth change also switches conditional widths: name the one that was chosen
    primary = [k for k in names if k in old and k in new]
    return (primary or names or ["nothing"])[0]


def _sample(space, rng, avoid) -> dict:
    space.seed(int(rng.integers(2**31)))
    for _ in range(20):
        config = dict(space.sample_configuration())
        if _key(config) not in avoid:
            break
    return config


def _configuration(space, config: dict):
    from ConfigSpace import Configuration

    names = set(space.keys())
    return Configuration(space, values={k: v for k, v in config.items() if k in names})


def _valid(space, config: dict) -> dict:
    return dict(_configuration(space, config))


def _key(config: dict) -> tuple:
    # numpy scalars (ConfigSpace's) and plain values (a stored configuration's) compare equal
    return tuple(sorted((k, repr(getattr(v, "item", lambda: v)())) for k, v in config.items()))
