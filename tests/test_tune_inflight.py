"""``metabase tune --batch``: the strategy is told the configurations still in flight (a constant
liar), so proposals made while others run do not cluster next to them, and what it is told does
not depend on the order in which results arrive. The loop runs in-process on a deterministic fake
executor (no store, no runner); the strategy is a 1-D space-filling one that records its inputs.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

N = 21  # candidates at positions 0..20


class Spread:
    """Proposes the pending candidate farthest from every known one (ties: the lowest)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list, list]] = []

    def start(self, query, seed=0):
        return self

    def suggest(self, observed, y, pending):
        self.calls.append((list(observed), list(y)))
        if not len(observed):
            return int(pending[0])
        gaps = np.abs(pending[:, None] - np.asarray(observed)[None, :]).min(axis=1)
        return int(pending[np.argmax(gaps)])


class FakeExecutor:
    """Runs nothing: each result (score = a fixed function of the position) is handed back when
    asked, oldest first (``fifo``) or newest first (``lifo``).
    """

    name = "fake"

    def __init__(self, order: str) -> None:
        self.order, self.queue, self.submitted = order, [], []

    @property
    def running(self) -> int:
        return len(self.queue)

    def submit(self, request, data) -> None:
        self.queue.append(request)
        self.submitted.append(request.position)

    def results(self):
        while self.queue:
            request = self.queue.pop(0 if self.order == "fifo" else -1)
            score = 0.5 + 0.4 * np.sin(request.position)
            yield types.SimpleNamespace(
                run_key=request.run_key,
                status="ok",
                measurements=[types.SimpleNamespace(measure="acc", fold=None, value=score)],
            )

    def close(self) -> None:
        pass


class NullSink:
    def __init__(self, *args) -> None:
        pass

    def write(self, result) -> None:
        pass

    def close(self) -> None:
        pass


def _request(task_id, pipeline, config, *args):
    return types.SimpleNamespace(run_key=f"k{config['x']}", position=config["x"])


def _tune(monkeypatch, order: str, batch: int = 2, budget: int = 8):
    """(positions in submission order, the strategy) of one fake tune."""
    from metabase import runner
    from metabase.services import run
    from metabase.services.tune import _Loop

    executor = FakeExecutor(order)
    monkeypatch.setattr(runner, "make_executor", lambda *a, **k: executor)
    monkeypatch.setattr(run, "Sink", NullSink)
    monkeypatch.setattr(run, "build_request", _request)
    cands = types.SimpleNamespace(
        pipelines=["p"] * N, configs=[{"x": i} for i in range(N)], query=None, index=lambda: {}
    )
    options = dict(
        seed=0,
        fidelity=None,
        time_limit=None,
        memory_limit=None,
        executor="fake",
        ray_address=None,
        workers=None,
        catalogue=None,
    )
    data = types.SimpleNamespace(task_id=1)
    strategy = Spread()
    _Loop(
        data=data,
        ws=None,
        strategy=strategy,
        cands=cands,
        stored=[],
        measure="acc",
        budget=budget,
        batch=batch,
        options=options,
        progress=None,
    ).run()
    return executor.submitted, strategy


def test_with_batch_2_the_runs_in_flight_are_told_as_the_worst_score_and_differ(monkeypatch):
    submitted, strategy = _tune(monkeypatch, "fifo")
    assert len(submitted) == 8 and len(set(submitted)) == 8
    for (observed, y), proposed in zip(strategy.calls, submitted):
        if not observed:  # nothing has succeeded yet: nothing to lie with
            continue
        # every proposal before this one is known, done or in flight, in candidate order
        assert observed == sorted(submitted[: submitted.index(proposed)])
    # once a result is in, each proposal is made knowing the other run in flight: never its
    # neighbour (a strategy that did not know it proposed 19 beside the 20 still running)
    for a, b in zip(submitted[2::2], submitted[3::2]):
        assert abs(a - b) > 1
    # the third proposal, after the first result: the second run in flight at the worst score
    observed, y = strategy.calls[2]
    first = 0.5 + 0.4 * np.sin(submitted[0])
    assert observed == sorted(submitted[:2]) and y == pytest.approx([first, first])


def test_the_proposals_do_not_depend_on_the_order_results_arrive_in(monkeypatch):
    fifo, _ = _tune(monkeypatch, "fifo", batch=3, budget=10)
    lifo, _ = _tune(monkeypatch, "lifo", batch=3, budget=10)
    assert fifo == lifo


def test_failures_and_runs_in_flight_are_observed_with_the_worst_ok_score_in_candidate_order():
    from metabase.services.tune import _Loop

    loop = _Loop.__new__(_Loop)
    loop.observed, loop.values, loop.in_flight = [4, 7], [None, None], {"k": 3}
    observed, y = loop._observations()
    assert len(observed) == 0 and len(y) == 0
    loop.observed, loop.values = [4, 7, 2, 9], [None, 0.8, None, 0.6]
    observed, y = loop._observations()
    assert observed.tolist() == [2, 3, 4, 7, 9] and y.tolist() == [0.6, 0.6, 0.6, 0.8, 0.6]
