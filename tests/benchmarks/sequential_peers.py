"""The tuners users would otherwise pick, behind the sequential protocol's interface.

Both search the candidates' ``dist`` encoding (numbers scaled to [0, 1], categories one-hot), a
box whose bounds are the pool's, and are restricted to the pool:
- SMAC3 (random-forest facade): its acquisition maximiser scores only the pending candidates;
- Optuna TPE: each proposal is mapped to the nearest pending candidate (L1 in the scaled space),
  and what was actually tried is what Optuna is told.
Warm: the first ``WARM`` picks of metabase's zero-shot ``default`` are the initial design (SMAC)
or enqueued trials (Optuna). Cold: each tuner's own start.
"""

from __future__ import annotations

import logging
import tempfile

import numpy as np

from metabase.recommend.sequential import SequentialStrategy, ZeroShot

WARM = 5


def _nearest(x: np.ndarray, candidates: np.ndarray, pending: np.ndarray) -> int:
    return int(pending[np.abs(candidates[pending] - x[None, :]).sum(axis=1).argmin()])


class _Peer(SequentialStrategy):
    def __init__(self, warm: bool = True, budget: int = 100) -> None:
        self.warm = warm
        self.budget = budget  # SMAC sizes its own initial design from it (a quarter at most)

    def fit(self, training):
        self.zero_shot_ = ZeroShot().fit(training) if self.warm else None
        return super().fit(training)

    def start(self, query, seed: int = 0):
        super().start(query, seed)
        x = query.dist
        keep = x.max(axis=0) > x.min(axis=0)  # constant columns tell a tuner nothing
        self.low_, self.high_, self.keep_ = x[:, keep].min(axis=0), x[:, keep].max(axis=0), keep
        self.x_ = (x[:, keep] - self.low_) / (self.high_ - self.low_)
        self.seed_ = seed
        self.warm_ = []
        if self.zero_shot_ is not None:
            order = np.argsort(-self.zero_shot_.start(query, seed).value_, kind="stable")
            self.warm_ = [int(i) for i in order[:WARM]]
        self.told_ = 0
        self.setup()
        return self

    def names(self) -> list[str]:
        return [f"x{j}" for j in range(self.x_.shape[1])]

    def params(self, index: int) -> dict:
        return {n: float(v) for n, v in zip(self.names(), self.x_[index])}


class SMACPeer(_Peer):
    name = "smac"

    def setup(self) -> None:
        from ConfigSpace import Configuration, ConfigurationSpace, Float
        from smac import HyperparameterOptimizationFacade as HPO
        from smac import Scenario
        from smac.acquisition.maximizer import LocalAndSortedRandomSearch
        from smac.initial_design import DefaultInitialDesign
        from smac.random_design import ProbabilityRandomDesign

        logging.getLogger("smac").setLevel(logging.ERROR)
        space = ConfigurationSpace(seed=self.seed_)
        space.add([Float(n, (0.0, 1.0)) for n in self.names()])
        self.space_ = space
        self.pending_ = np.arange(len(self.x_))
        # built once: making ~500 Configurations (validated) on each ask cost ~0.1 s a proposal
        self.configs_ = [Configuration(space, values=self.params(i)) for i in range(len(self.x_))]
        peer = self

        class PoolMaximizer(LocalAndSortedRandomSearch):
            """Scores only the pending pool members (the whole discrete search space)."""

            def _maximize(self, previous_configs, n_points):
                configs = [peer.configs_[i] for i in peer.pending_]
                values = self._acquisition_function(configs).ravel()
                order = np.argsort(-values, kind="stable")[:n_points]
                return [(float(values[i]), configs[i]) for i in order]

        scenario = Scenario(
            space,
            deterministic=True,
            n_trials=self.budget,
            seed=self.seed_,
            output_directory=tempfile.mkdtemp(prefix="smac-"),
        )
        warm = [Configuration(space, values=self.params(i)) for i in self.warm_]
        initial = (
            DefaultInitialDesign(scenario, n_configs=0, additional_configs=warm)
            if warm
            else HPO.get_initial_design(scenario)
        )
        model = HPO.get_model(scenario)
        # the facade's forest, one thread: n_jobs=-1 only makes joblib threads poll for each
        # other on shared cores (the trees and their seeds are the same), and the benchmark runs
        # tasks in parallel processes instead
        model._rf_opts["n_jobs"] = 1
        # SMAC's cap of 2**20 leaves makes scikit-learn's best-first builder allocate ~2M nodes
        # (~150 MB) per tree, 0.3-0.5 s a tree; on <= budget points no tree nears the cap, so no
        # cap grows the same fully grown trees (depth-first: the same stopping rules, the random
        # thresholds drawn in another order) 50 times faster
        model._rf_opts["max_leaf_nodes"] = None
        self.smac_ = HPO(
            scenario,
            lambda config, seed=0: 0.0,
            model=model,
            initial_design=initial,
            acquisition_maximizer=PoolMaximizer(space, HPO.get_acquisition_function(scenario)),
            random_design=ProbabilityRandomDesign(0.0, seed=self.seed_),
            overwrite=True,
            logging_level=40,
        )
        self.asked_ = {}

    def suggest(self, observed, y, pending) -> int:
        from smac.runhistory import TrialInfo, TrialValue

        for j in range(self.told_, len(observed)):
            index = int(observed[j])
            # what SMAC asked for when it led to this candidate, else (the protocol's random
            # initial design) the candidate itself
            info = self.asked_.get(index) or TrialInfo(config=self.configs_[index], seed=0)
            self.smac_.tell(info, TrialValue(cost=-float(y[j])))
        self.told_ = len(observed)
        self.pending_ = pending
        info = self.smac_.ask()
        pick = _nearest(np.array([info.config[n] for n in self.names()]), self.x_, pending)
        self.asked_[pick] = info
        return pick


class OptunaPeer(_Peer):
    name = "optuna"

    def setup(self) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        self.dists_ = {n: optuna.distributions.FloatDistribution(0.0, 1.0) for n in self.names()}
        self.study_ = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=self.seed_)
        )
        for i in self.warm_:
            self.study_.enqueue_trial(self.params(i))
        self.told_ = 0

    def suggest(self, observed, y, pending) -> int:
        import optuna

        for index, value in zip(observed[self.told_ :], y[self.told_ :]):
            self.study_.add_trial(
                optuna.trial.create_trial(
                    params=self.params(int(index)), distributions=self.dists_, value=float(value)
                )
            )
        self.told_ = len(observed)
        trial = self.study_.ask(self.dists_)
        x = np.array([trial.params[n] for n in self.names()])
        # the asked point itself is not tried (its nearest pool member is): TPE ignores failures
        self.study_.tell(trial, state=optuna.trial.TrialState.FAIL)
        return _nearest(x, self.x_, pending)
