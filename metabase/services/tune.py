"""``metabase tune``: propose, run, observe, propose again, until the budget is spent.

A sequential strategy (``SEQUENTIAL_DEFAULT`` unless asked otherwise) is fitted on the other
tasks' runs (or read from its cache beside the store, :func:`tune_inputs.fitted`) and started on
the candidates of :mod:`metabase.services.tune_inputs`: every pipeline in scope at once (the
given ones, else every catalogue pipeline for the task's type).
``batch`` proposals are kept in flight on the executor; each result is stored as it arrives
(:class:`metabase.services.run.Sink`), observed, and answered by the next proposal.

- **Budget and resume.** ``budget`` is the number of runs of the task in scope (same fidelity,
  any seed) the store should hold in the end. Runs stored before, by an earlier, perhaps
  killed ``tune`` or by ``metabase run``, count against it and are the first observations;
  their configurations are never proposed again.
- **Failures.** A crashed, timed-out, memory-killed or lost run is observed with the worst score
  observed so far (until an ok run exists it is only kept from being proposed again): a
  configuration that fails is as bad as the worst for the user, and the model should steer away
  from its neighbourhood (huge forests that time out) rather than forget it ran.
- **In flight (``--batch`` > 1).** The strategy is told the configurations still running as
  observed with the worst score observed so far (the "constant liar", CL-min, of batch Bayesian
  optimisation): a model that did not know them would propose next to them again, since what
  made it choose one still holds; with the lie it looks elsewhere until the result arrives.
  Kriging believer (the strategy's own predicted mean as the lie) would need a prediction the
  strategy interface does not expose. Before any run has succeeded there is nothing to lie with:
  runs in flight, like failures, are then only kept from being proposed again.
- **Determinism.** Candidates and the strategy's start depend on the seed only, and each proposal
  on what is known then (observations and runs in flight, handed over in candidate order, not
  arrival order), so ``--batch 1`` repeats itself exactly, and a resumed tune proposes the same
  whichever order its stored runs arrived in; with more in flight, which results have arrived
  when a proposal is made may still change it.
- Every bad input is refused before the store is opened for writing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from metabase.errors import InputError
from metabase.services.run import RunProgress

log = logging.getLogger(__name__)

DEFAULT_BUDGET = 30
DEFAULT_SAMPLES = 100  # fresh configurations of each pipeline's space
FAILURES = "observed with the worst score observed so far"


@dataclass(frozen=True)
class Trial:
    trial: int
    run_key: str
    pipeline: str
    config: dict
    status: str
    score: float | None  # the measure's value over the folds (None: the run failed)
    reused: bool  # stored before this tune started

    def to_dict(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class TuneReport:
    task_id: int
    measure: str
    strategy: str
    seed: int
    budget: int
    candidates: int
    training: str  # where the strategy learned from: store or starter
    trials: tuple = field(default_factory=tuple)
    path: tuple = field(default_factory=tuple)  # the trials that improved the incumbent

    @property
    def incumbent(self) -> Trial | None:
        return self.path[-1] if self.path else None

    @property
    def executed(self) -> int:
        return sum(1 for t in self.trials if not t.reused)

    def to_dict(self) -> dict:
        return {
            "task_id": self.task_id,
            "measure": self.measure,
            "strategy": self.strategy,
            "seed": self.seed,
            "budget": self.budget,
            "candidates": self.candidates,
            "training": self.training,
            "failures": FAILURES,
            "incumbent": self.incumbent.to_dict() if self.incumbent else None,
            "path": [
                {"trial": t.trial, "run_key": t.run_key, "score": t.score} for t in self.path
            ],
            "trials": [t.to_dict() for t in self.trials],
        }

    def recommendations(self):
        """The ok trials, best first, as observed recommendations (for ``--export``)."""
        from metabase.recommend.records import Recommendation, RecommendationSet
        from metabase.services.tune_inputs import signed

        ok = sorted(
            (t for t in self.trials if t.score is not None),
            key=lambda t: (-signed(self.measure, t.score), t.trial),
        )
        recs = tuple(
            Recommendation(
                rank=i + 1,
                pipeline=t.pipeline,
                config=t.config,
                predicted_score=t.score,
                uncertainty=None,
                evidence=({"run_key": t.run_key, "task_id": self.task_id, "score": t.score},),
                basis="observed",
            )
            for i, t in enumerate(ok)
        )
        return RecommendationSet(self.task_id, self.strategy, recs)


def tune(
    ws,
    *,
    task_id: int,
    pipelines: list[str] | None = None,
    budget: int = DEFAULT_BUDGET,
    batch: int = 2,
    executor: str = "local",
    ray_address: str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    memory_limit: float | str | None = None,
    seed: int = 0,
    strategy: str | None = None,
    fidelity=None,
    samples: int = DEFAULT_SAMPLES,
    export: tuple[str, str] | None = None,
    catalogue: Callable | None = None,
    progress: Callable[[RunProgress], None] | None = None,
) -> TuneReport:
    """Tune ``task_id`` (see the module doc); returns what the store holds in scope after."""
    from metabase.recommend.sequential import SEQUENTIAL_DEFAULT
    from metabase.services import run as runs
    from metabase.services import tune_inputs

    strategy = strategy or SEQUENTIAL_DEFAULT
    resolve = catalogue or runs.default_resolve
    _check(budget, batch, strategy, samples, pipelines, resolve, export)
    memory_limit, fidelity = runs.check_options(
        executor, ray_address, workers, time_limit, memory_limit, fidelity
    )
    data = ws.gateway().get_task_data(int(task_id))
    scope = _scope(resolve, pipelines, data)
    measure = runs.main_measure(data.task_type, data.evaluation_measure)
    stored = tune_inputs.history(ws, data.task_id, scope, fidelity, measure)
    left = budget - len(stored)
    size, source = 0, "none"
    if left > 0:
        model = tune_inputs.fitted(
            ws, data.task_id, pipelines, scope, resolve, samples, seed, strategy
        )
        if model.source == "starter":
            log.warning(
                "the store holds runs of fewer than 2 other tasks: learning from the starter "
                "knowledge base"
            )
        features = tune_inputs.target_features(ws, data.task_id, data, model.source)
        cands = tune_inputs.candidates(model, features, stored)
        size, source = len(cands.pipelines), cands.source
        options = dict(
            seed=seed,
            fidelity=fidelity,
            time_limit=time_limit,
            memory_limit=memory_limit,
            executor=executor,
            ray_address=ray_address,
            workers=workers,
            catalogue=catalogue,
        )
        _Loop(
            ws, data, model.strategy, cands, stored, measure, budget, batch, options, progress
        ).run()
    report = _report(ws, data.task_id, scope, fidelity, measure, stored, strategy, seed, budget)
    report = TuneReport(**{**vars(report), "candidates": size, "training": source})
    if export:
        from metabase.recommend.warmstart import write_export

        write_export(report.recommendations(), export[0], export[1])
    return report


def _check(budget, batch, strategy, samples, pipelines, resolve, export) -> None:
    from metabase.recommend.sequential import sequential_names

    for name, value in (("--budget", budget), ("--batch", batch), ("samples", samples)):
        if not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a whole number of at least 1, not {value!r}")
    if strategy not in sequential_names():
        known = ", ".join(sequential_names())
        raise InputError(f"unknown sequential strategy {strategy!r}; choose from {known}")
    for name in pipelines or ():
        resolve(name)  # NotFoundError names the catalogue
    if export:
        from metabase.recommend.warmstart import check_export_path

        if export[0] not in ("optuna", "smac"):
            raise InputError(f"--export optuna or smac, not {export[0]!r}")
        check_export_path(export[1])


def _scope(resolve, pipelines, data) -> list[str]:
    """The given pipelines (each must fit the task's type), else every catalogue pipeline that
    does.
    """
    from metabase.services import run_inputs

    if pipelines:
        names = list(dict.fromkeys(pipelines))
        run_inputs.check_task_type(resolve, [(p, {}) for p in names], data.task_type, data.task_id)
        return names
    import pipelines as catalogue

    return [n for n in catalogue.names() if data.task_type in resolve(n).task_types]


class _Loop:
    """Keeps ``batch`` proposals in flight, stores and observes each result as it arrives."""

    def __init__(
        self, ws, data, strategy, cands, stored, measure, budget, batch, options, progress
    ):
        self.ws, self.data, self.cands, self.measure = ws, data, cands, measure
        self.options, self.progress, self.batch = options, progress, batch
        self.todo = budget - len(stored)
        self.reused = len(stored)
        self.observed, self.values = _first_observations(cands.index(), stored, measure)
        self.pending = np.ones(len(cands.pipelines), bool)
        self.pending[self.observed] = False
        self.in_flight: dict[str, int] = {}
        self.submitted = self.failed = 0
        self.strategy = strategy  # fitted
        self.strategy.start(cands.query, seed=int(options["seed"]))

    def run(self) -> None:
        from metabase.runner import make_executor
        from metabase.services.run import Sink

        o = self.options
        self.pool = make_executor(
            o["executor"],
            workers=o["workers"],
            ray_address=o["ray_address"],
            catalogue=o["catalogue"],
        )
        sink = Sink(self.ws, self.data, self.pool.name)
        try:
            while len(self.in_flight) < self.batch and self._propose():
                pass
            self._report()
            for result in self.pool.results():
                sink.write(result)
                self._observe(result)
                self._propose()
                self._report()
        finally:
            self.pool.close()
            sink.close()

    def _propose(self) -> bool:
        from metabase.services.run import build_request

        left = np.flatnonzero(self.pending)
        if self.submitted >= self.todo or not len(left):
            return False
        observed, y = self._observations()
        i = int(self.strategy.suggest(observed, y, left))
        self.pending[i] = False
        o = self.options
        request = build_request(
            self.data.task_id,
            self.cands.pipelines[i],
            self.cands.configs[i],
            o["seed"],
            o["fidelity"],
            o["time_limit"],
            o["memory_limit"],
        )
        self.pool.submit(request, self.data)
        self.in_flight[request.run_key] = i
        self.submitted += 1
        return True

    def _observations(self) -> tuple[np.ndarray, np.ndarray]:
        """Observed indices and scores, in candidate order; failures and the runs still in
        flight get the worst ok score (see the module doc).
        """
        ok = [v for v in self.values if v is not None]
        if not ok:  # nothing to compare with: failures and runs in flight are only not pending
            return np.array([], int), np.array([], float)
        worst = min(ok)
        pairs = [(i, worst if v is None else v) for i, v in zip(self.observed, self.values)]
        pairs += [(i, worst) for i in self.in_flight.values()]
        pairs.sort()  # what is known, never the order it arrived in, decides the next proposal
        return np.array([i for i, _ in pairs], int), np.array([v for _, v in pairs], float)

    def _observe(self, result) -> None:
        from metabase.services.tune_inputs import signed

        i = self.in_flight.pop(result.run_key)
        value = None
        if result.status == "ok":
            value = next(
                (
                    m.value
                    for m in result.measurements
                    if m.measure == self.measure and m.fold is None
                ),
                None,
            )
        self.observed.append(i)
        self.values.append(signed(self.measure, value))
        self.failed += self.values[-1] is None

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(
                RunProgress(
                    self.reused + self.todo,
                    len(self.observed),
                    self.pool.running,
                    self.failed,
                    self.reused,
                )
            )


def _first_observations(index: dict, stored: list, measure: str) -> tuple[list, list]:
    """One observation per stored configuration (run under several seeds, its best score; a
    model that saw the same point twice would count it twice).
    """
    from metabase.services.tune_inputs import signed

    best: dict[int, float | None] = {}
    for s in stored:
        i, value = index[s.identity], signed(measure, s.value)
        if i not in best or (value is not None and (best[i] is None or value > best[i])):
            best[i] = value
    return list(best), list(best.values())


def _report(ws, task_id, scope, fidelity, measure, stored, strategy, seed, budget) -> TuneReport:
    """What the store holds in scope now, in the order it was stored, and the path of
    improvement.
    """
    from metabase.services.tune_inputs import history, signed

    before = {s.run_key for s in stored}
    trials, path, best = [], [], None
    for number, s in enumerate(history(ws, task_id, scope, fidelity, measure), 1):
        trial = Trial(
            number, s.run_key, s.pipeline, s.config, s.status, s.value, s.run_key in before
        )
        trials.append(trial)
        value = signed(measure, s.value)
        if value is not None and (best is None or value > best):
            best = value
            path.append(trial)
    return TuneReport(
        task_id, measure, strategy, seed, budget, 0, "none", tuple(trials), tuple(path)
    )
