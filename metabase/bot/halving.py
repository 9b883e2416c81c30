"""Multi-fidelity for the bot: successive halving over low-fidelity results, with a hurdle.

An expensive configuration is first run at a low fidelity (epochs for torch, ``n_estimators`` or a
data fraction for others); ``fidelities`` is the ladder of rungs, lowest first. The promotion rule
is asynchronous successive halving's (ASHA, Li et al. 2020), which suits a bot whose results
arrive one by one: at each rung the best ``1/eta`` of the configurations with a result there move
up to the next rung. One more condition is the hurdle: the best portfolio configuration on
similar tasks (:func:`best_on_similar`) is run at the same rungs, and a newcomer is promoted only
if it scores at least as well as that reference at the same fidelity, so that the bot spends full
runs only on configurations that can beat what is known to work. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np

ETA = 3


@dataclass(frozen=True)
class Promotion:
    """Run ``candidate`` at ``fidelity`` next, and why."""

    candidate: Hashable
    fidelity: float
    reason: str


def promotions(
    results: Iterable[tuple[Hashable, float, float]],
    fidelities: Sequence[float],
    eta: int = ETA,
    hurdle: Hashable | None = None,
) -> list[Promotion]:
    """What to run next: ``results`` are (candidate, fidelity, score) with higher scores better;
    ``hurdle`` is the reference candidate (see the module docstring). Higher rungs first.
    """
    if eta < 2:
        raise ValueError("eta must be at least 2")
    ladder = sorted(set(float(f) for f in fidelities))
    at: list[dict] = [{} for _ in ladder]
    for candidate, fidelity, score in results:
        rung = ladder.index(float(fidelity))  # a result at an unknown fidelity is a caller's bug
        at[rung][candidate] = max(float(score), at[rung].get(candidate, -np.inf))
    out = []
    for rung in range(len(ladder) - 2, -1, -1):
        here, above = at[rung], at[rung + 1]
        newcomers = {c: s for c, s in here.items() if c != hurdle}
        if not newcomers:
            continue
        if hurdle is not None and hurdle not in here:
            out.append(Promotion(hurdle, ladder[rung], "hurdle: the reference at this fidelity"))
            continue
        bar = here.get(hurdle, -np.inf)
        ranked = sorted(here.items(), key=lambda kv: (-kv[1], str(kv[0])))
        top = ranked[: len(here) // eta]
        for candidate, score in top:
            # the reference climbs only when a newcomer needs it higher up (next rung's check)
            if candidate in above or candidate == hurdle or score < bar:
                continue
            out.append(
                Promotion(
                    candidate,
                    ladder[rung + 1],
                    f"halving: top 1/{eta} at fidelity {ladder[rung]:g} "
                    f"({score:.4f}, hurdle {bar:.4f})",
                )
            )
    return out


def best_on_similar(runs, tasks, task_id: int, pipeline: str, k: int = 5):
    """The hurdle configuration (config text): of the ``pipeline``'s configurations run on the
    ``k`` tasks most similar to ``task_id`` (L1 over scaled meta-features, as recommend's), the
    one with the best mean normalised score over those of them it was run on, counting only
    configurations run on at least half of them. None when no similar task ran the pipeline.
    """
    from metabase.recommend.encoding import MetaFeatureScaler, normalise_scores

    runs = runs[(runs["pipeline"] == pipeline) & (runs["task_id"] != task_id)]
    if runs.empty:
        return None
    runs = runs.assign(norm=normalise_scores(runs["score"], runs["task_id"]))
    features = tasks.drop(columns=[c for c in ("dataset_id",) if c in tasks]).set_index("task_id")
    scaled = MetaFeatureScaler().fit(features).transform(features)
    row = {t: i for i, t in enumerate(features.index)}
    if task_id not in row:
        return None
    others = [int(t) for t in runs["task_id"].unique() if int(t) in row]
    d = [np.nanmean(np.abs(scaled[row[t]] - scaled[row[task_id]])) for t in others]
    near = [others[i] for i in np.argsort(d, kind="stable")[:k]]
    chosen = runs[runs["task_id"].isin(near)]
    per = (
        chosen.groupby(["config", "task_id"])["norm"].max().groupby("config").agg(["mean", "size"])
    )
    per = per[per["size"] >= max(1, len(near) / 2)]
    if per.empty:
        return None
    return str(per.sort_values(["mean", "size"], ascending=False).index[0])
