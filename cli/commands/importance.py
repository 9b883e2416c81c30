"""``metabase importance``: which hyperparameters of a pipeline matter, on which tasks, how
much.
"""

from __future__ import annotations

import sys

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json


def _progress():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from cli.progress import progress_bar

    return progress_bar(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    )


def _summary_rows(result) -> list[dict]:
    summary, tune = (
        result.summary(),
        result.tunability_summary() if result.tunability_computed else {},
    )
    rows = []
    for rank, name in enumerate(result.ranking(), start=1):
        row = {
            "rank": rank,
            "hyperparameter": name,
            **{k: summary[name][k] for k in ("median", "q1", "q3", "tasks")},
        }
        if tune:
            row.update(
                {"tunability_median": tune[name]["median"], "tunability_mean": tune[name]["mean"]}
            )
        rows.append(row)
    if tune.get("all"):
        rows.append(
            {
                "hyperparameter": "(all, tuned together)",
                "tunability_median": tune["all"]["median"],
                "tunability_mean": tune["all"]["mean"],
                "tasks": tune["all"]["tasks"],
            }
        )
    rows += [
        {"hyperparameter": name, "median": f"constant: {value!r}"}
        for name, value in result.constant.items()
    ]
    return rows


def _long_rows(result) -> list[dict]:
    """One row per task and hyperparameter (or pair): what a spreadsheet wants."""
    rows = []
    for task in result.tasks:
        for name, value in task.importance.items():
            rows.append(
                {
                    "task_id": task.task_id,
                    "kind": "importance",
                    "hyperparameter": name,
                    "value": value,
                }
            )
        for name, value in task.pairs.items():
            rows.append(
                {"task_id": task.task_id, "kind": "pair", "hyperparameter": name, "value": value}
            )
        for name, value in task.tunability.items():
            rows.append(
                {
                    "task_id": task.task_id,
                    "kind": "tunability",
                    "hyperparameter": name,
                    "value": value,
                }
            )
        if task.tunability_all is not None:
            rows.append(
                {
                    "task_id": task.task_id,
                    "kind": "tunability",
                    "hyperparameter": "all",
                    "value": task.tunability_all,
                }
            )
    return rows


def _print_table(result) -> None:
    analysed = sum(1 for t in result.tasks if t.importance)
    left_out = [f"{len(result.skipped)} with too few runs"] if result.skipped else []
    left_out += (
        [f"{len(result.tasks) - analysed} without varying scores"]
        if analysed < len(result.tasks)
        else []
    )
    emit(
        _summary_rows(result),
        "table",
        title=f"{result.pipeline}: fANOVA importance over {analysed} tasks "
        f"({result.measure})" + (f"; left out: {', '.join(left_out)}" if left_out else ""),
    )
    if result.pairs_computed:
        pairs = [{"pair": name, **q} for name, q in list(result.pair_summary().items())[:10]]
        emit(pairs, "table", title="most important pairs (interaction alone)")
    if result.tunability_computed and result.data_driven_default:
        ddd = result.data_driven_default
        rows = [{"hyperparameter": k, "value": v} for k, v in (ddd["config"] or {}).items()]
        emit(
            rows,
            "table",
            title=f"data-driven default ({ddd['from']}): mean normalised score "
            f"{ddd['mean_normalised_score']:.3f}, the pipeline's default "
            f"{ddd['default_mean_normalised_score']:.3f}",
        )
    for task, note in ((t.task_id, t.note) for t in result.tasks if t.note):
        click.echo(f"task {task}: {note}", err=True)


def register(group: click.Group) -> None:
    @group.command("importance")
    @click.option(
        "--pipeline", required=True, help="Catalogue pipeline (`metabase pipelines list`)."
    )
    @click.option("--task", "tasks", type=int, multiple=True, help="Only this task (repeatable).")
    @click.option(
        "--measure", default=None, help="Evaluation measure (default: the runs' main one)."
    )
    @click.option("--pairs", is_flag=True, help="Also the importance of each pair's interaction.")
    @click.option(
        "--tunability",
        is_flag=True,
        help="Also tunability per hyperparameter (Probst et al.) and the data-driven default.",
    )
    @click.option(
        "--min-runs",
        type=int,
        default=100,
        show_default=True,
        help="Skip tasks with fewer runs (a given --task must have them).",
    )
    @click.option(
        "--plot",
        type=click.Path(dir_okay=False),
        default=None,
        help="Write a PNG: importance across tasks, or with --task its bars and marginal curves.",
    )
    @click.option(
        "--jobs",
        type=click.IntRange(min=1),
        default=1,
        show_default=True,
        help="Tasks analysed at a time (worker processes).",
    )
    @click.option("--seed", type=int, default=0, show_default=True, help="Seed of the forests.")
    @format_option()
    def importance(
        pipeline, tasks, measure, pairs, tunability, min_runs, plot, jobs, seed, fmt
    ) -> None:
        """Hyperparameter importance (functional ANOVA on a random forest per task), across tasks.

        Per task, the fraction of the variance of the score that each hyperparameter explains alone
        (and with --pairs each pair's interaction); across tasks, the median and quartiles, ranked.
        Table: the ranking; csv: one row per task and hyperparameter; json: everything. Results are
        cached beside the store until its runs change.

        Example: metabase importance --pipeline sklearn.random_forest --tunability --plot rf.png
        """
        with _progress() as bar:
            job = bar.add_task("fANOVA per task", total=None)
            result = workspace().importance(
                pipeline,
                tasks=list(tasks) or None,
                measure=measure,
                pairs=pairs,
                tunability=tunability,
                min_runs=min_runs,
                plot=plot,
                jobs=jobs,
                seed=seed,
                progress=lambda done, total: bar.update(job, completed=done, total=total),
            )
        if fmt == "json":
            print_json(result.to_dict())
        elif fmt == "csv":
            emit(_long_rows(result), "csv")
        else:
            _print_table(result)
        if plot:
            click.echo(f"wrote {plot}", err=True)
        sys.stdout.flush()
