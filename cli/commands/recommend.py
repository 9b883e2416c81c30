"""``metabase recommend`` and ``metabase evaluate``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json


def _progress():
    from cli.progress import progress_bar

    return progress_bar()


def _compact(config: dict) -> str:
    """``key=value`` pairs, floats to 4 significant digits: a config that fits a table cell."""

    def fmt(value):
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{key}={fmt(value)}" for key, value in config.items())


def _table(recommendations, notes=()) -> tuple[list[dict], str | None]:
    """Rows narrow enough for a terminal: the similar tasks are a caption when every
    recommendation shares them, and the runtime column appears only when some runtime is known.
    The notes (observed scores, ties) follow in the caption.
    """
    similar = [
        ", ".join(
            f"{e['task_id']} ({e['similarity']:.2f})" for e in r.evidence if "similarity" in e
        )
        for r in recommendations
    ]
    shared = len(set(similar)) == 1 and similar[0]
    timed = any(r.expected_runtime is not None for r in recommendations)
    rows = []
    for r, tasks in zip(recommendations, similar):
        row = {
            "rank": r.rank,
            "pipeline": r.pipeline,
            "basis": r.basis,
            "score": r.predicted_score,
            "±": r.uncertainty,
        }
        if timed:
            row["runtime_s"] = r.expected_runtime
        if not shared:
            row["similar tasks"] = tasks
        rows.append({**row, "config": _compact(r.config)})
    lines = [f"similar tasks (similarity): {similar[0]}"] if shared else []
    lines += ["score: observed on the task or predicted (basis), ± its uncertainty", *notes]
    return rows, "; ".join(lines)


def register(group: click.Group) -> None:
    @group.command("recommend")
    @click.option(
        "--task", "task_id", type=click.IntRange(min=1), default=None, help="OpenML task id."
    )
    @click.option(
        "--dataset",
        type=click.Path(dir_okay=False),
        default=None,
        help="A local data file (CSV, ARFF, Parquet) instead of a task.",
    )
    @click.option("--target", default=None, help="The target column of --dataset.")
    @click.option(
        "--k", "k", type=int, default=10, show_default=True, help="How many recommendations."
    )
    @click.option(
        "--pipeline", "pipelines", multiple=True, help="Only these pipelines (repeatable)."
    )
    @click.option(
        "--strategy",
        default="default",
        show_default=True,
        help="default, surrogate, knn, portfolio, lowrank or random.",
    )
    @click.option(
        "--export",
        "export",
        nargs=2,
        type=(click.Choice(["optuna", "smac"]), click.Path(dir_okay=False)),
        default=None,
        help="Also write the recommendations for Optuna (trials) or SMAC (initial design) "
        "to a JSON file.",
    )
    @format_option(choices=("table", "json"))
    def recommend(task_id, dataset, target, k, pipelines, strategy, export, fmt) -> None:
        """Recommend configurations for a task, with predicted score, uncertainty and evidence.

        Example: metabase recommend --task 9983 --k 5 --format json
        """
        result = workspace().recommend(
            task_id=task_id,
            dataset=dataset,
            target=target,
            k=k,
            pipelines=list(pipelines) or None,
            strategy=strategy,
        )
        if export:
            from metabase.recommend.warmstart import write_export

            write_export(result, export[0], export[1])
        if fmt == "json":
            print_json(result.to_dict())
            return
        rows, caption = _table(result.recommendations, result.notes)
        title = f"task {result.task_id}" if result.task_id is not None else str(dataset)
        emit(rows, fmt, title=f"{strategy} recommendations for {title}", caption=caption)

    @group.command("evaluate")
    @click.argument("directory", type=click.Path())
    @click.option(
        "--strategies",
        default=None,
        help="Comma-separated strategies (random and default are always included).",
    )
    @click.option(
        "--k", "ks", default="1,3,5,10,25,100", show_default=True, help="Comma-separated k values."
    )
    @click.option(
        "--max-tasks",
        type=click.IntRange(min=1),
        default=None,
        help="Hold out only this many tasks (evenly spread): a quicker estimate.",
    )
    @click.option(
        "--plot",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write regret against k as an image (.png, .pdf, .svg, ...), checked before the run.",
    )
    @click.option(
        "--sequential",
        is_flag=True,
        help="Sequential protocol: strategies see each trial's score before the next.",
    )
    @click.option(
        "--seeds", type=int, default=5, show_default=True, help="Seeds per task (--sequential)."
    )
    @click.option(
        "--start",
        type=click.Choice(["zero-shot", "random5"]),
        default="zero-shot",
        show_default=True,
        help="First trials (--sequential): the strategy's, or 5 random.",
    )
    @format_option(choices=("table", "json"))
    def evaluate(
        directory, strategies, ks, max_tasks, plot, sequential, seeds, start, fmt
    ) -> None:
        """Leave-one-task-out backtest of the strategies on a meta-dataset directory.

        Reports the mean normalised regret@k of each strategy.

        Example: metabase evaluate out/rf --strategies knn,portfolio --k 1,5,10 --plot regret.png

        Example: metabase evaluate out/rf --sequential --seeds 5 --start random5 --format json
        """
        from metabase.services.evaluate import parse_ks

        names = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
        if sequential:
            _sequential(directory, names, seeds, start, max_tasks, plot, fmt)
            return
        with _progress() as bar:
            job = bar.add_task("held-out tasks", total=None)
            summary = workspace().evaluate(
                directory,
                strategies=names,
                ks=parse_ks(ks),
                max_tasks=max_tasks,
                plot=plot,
                progress=lambda done, total: bar.update(job, completed=done, total=total),
            )
        if fmt == "json":
            print_json(summary)
            return
        rows = [{"strategy": name, **values} for name, values in summary["strategies"].items()]
        emit(rows, fmt, title=f"mean normalised regret over {summary['tasks']} held-out tasks")


# the summary's keys, and their headers in the table (regret at k trials, the standard error of
# @10 over tasks, the average rank at 10, trials to random search's @100): what fits 80 columns;
# json has everything
TABLE_COLUMNS = {
    "regret@1": "@1",
    "regret@5": "@5",
    "regret@10": "@10",
    "sem@10": "± @10",
    "regret@25": "@25",
    "regret@100": "@100",
    "rank@10": "rank@10",
    "trials_to_random@100": "to random@100",
}


def _three(value):
    """Three decimals (standard errors are about 0.005 on 90 tasks); counts, and a strategy that
    never reached random search's @100 (None), as they are.
    """
    return round(value, 3) if isinstance(value, float) else value


def _sequential(directory, names, seeds, start, max_tasks, plot, fmt) -> None:
    with _progress() as bar:
        job = bar.add_task("held-out tasks", total=None)
        summary = workspace().evaluate_sequential(
            directory,
            strategies=names,
            seeds=seeds,
            start=start,
            max_tasks=max_tasks,
            plot=plot,
            progress=lambda done, total: bar.update(job, completed=done, total=total),
        )
    if fmt == "json":
        print_json(summary)
        return
    rows = [
        {"strategy": name, **{short: _three(v[k]) for k, short in TABLE_COLUMNS.items() if k in v}}
        for name, v in summary["strategies"].items()
    ]
    emit(
        rows,
        fmt,
        title=f"sequential ({summary['start']} start), mean normalised regret over "
        f"{summary['tasks']} held-out tasks x {summary['seeds']} seeds",
        caption="found best, ms per proposal and every k: --format json",
    )
