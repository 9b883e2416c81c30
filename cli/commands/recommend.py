"""``metabase recommend`` and ``metabase evaluate``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json


def _progress():
    """A Rich progress bar on stderr (stdout stays clean for JSON)."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(console=Console(stderr=True), transient=True)


def _compact(config: dict) -> str:
    """``key=value`` pairs, floats to 4 significant digits: a config that fits a table cell."""
    def fmt(value):
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return ", ".join(f"{key}={fmt(value)}" for key, value in config.items())


def register(group: click.Group) -> None:
    @group.command("recommend")
    @click.option("--task", "task_id", type=int, default=None, help="OpenML task id.")
    @click.option("--dataset", type=click.Path(dir_okay=False), default=None,
                  help="A local data file (CSV, ARFF, Parquet) instead of a task.")
    @click.option("--target", default=None, help="The target column of --dataset.")
    @click.option("--k", "k", type=int, default=10, show_default=True, help="How many recommendations.")
    @click.option("--pipeline", "pipelines", multiple=True, help="Only these pipelines (repeatable).")
    @click.option("--strategy", default="default", show_default=True,
                  help="default, surrogate, knn, portfolio, lowrank or random.")
    @click.option("--export", "export", nargs=2, type=(click.Choice(["optuna", "smac"]), click.Path()),
                  default=None, help="Also write the recommendations for Optuna (trials) or SMAC (initial design).")
    @format_option(choices=("table", "json"))
    def recommend(task_id, dataset, target, k, pipelines, strategy, export, fmt) -> None:
        """Recommend configurations for a task, with predicted score, uncertainty and evidence.

        Example: metabase recommend --task 9983 --k 5 --format json
        """
        result = workspace().recommend(task_id=task_id, dataset=dataset, target=target, k=k,
                                       pipelines=list(pipelines) or None, strategy=strategy)
        if export:
            from metabase.recommend.warmstart import write_export

            write_export(result, export[0], export[1])
        if fmt == "json":
            print_json(result.to_dict())
            return
        rows = [{"rank": r.rank, "pipeline": r.pipeline, "predicted_score": r.predicted_score,
                 "uncertainty": r.uncertainty, "expected_runtime": r.expected_runtime,
                 "similar_tasks": ", ".join(str(e["task_id"]) for e in r.evidence if "similarity" in e),
                 "config": _compact(r.config)} for r in result.recommendations]
        title = f"task {result.task_id}" if result.task_id is not None else str(dataset)
        emit(rows, fmt, title=f"{strategy} recommendations for {title}")

    @group.command("evaluate")
    @click.argument("directory", type=click.Path())
    @click.option("--strategies", default=None,
                  help="Comma-separated strategies (random and default are always included).")
    @click.option("--k", "ks", default="1,3,5,10,25,100", show_default=True, help="Comma-separated k values.")
    @click.option("--max-tasks", type=int, default=None,
                  help="Hold out only this many tasks (evenly spread): a quicker estimate.")
    @click.option("--plot", type=click.Path(dir_okay=False), default=None, help="Write regret against k as a PNG.")
    @format_option(choices=("table", "json"))
    def evaluate(directory, strategies, ks, max_tasks, plot, fmt) -> None:
        """Leave-one-task-out backtest of the strategies on a meta-dataset directory (mean normalised regret@k).

        Example: metabase evaluate out/rf --strategies knn,portfolio --k 1,5,10 --plot regret.png
        """
        from metabase.services.evaluate import parse_ks

        names = [s.strip() for s in strategies.split(",") if s.strip()] if strategies else None
        with _progress() as bar:
            job = bar.add_task("held-out tasks", total=None)
            summary = workspace().evaluate(
                directory, strategies=names, ks=parse_ks(ks), max_tasks=max_tasks, plot=plot,
                progress=lambda done, total: bar.update(job, completed=done, total=total))
        if fmt == "json":
            print_json(summary)
            return
        rows = [{"strategy": name, **values} for name, values in summary["strategies"].items()]
        emit(rows, fmt, title=f"mean normalised regret over {summary['tasks']} held-out tasks")
