"""``metabase tune``: warm-started sequential optimisation of a task, run by the runner."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json
from cli.progress import run_progress, sigterm_interrupts
from cli.runner_options import runner_options


def _compact(config: dict) -> str:
    return ", ".join(
        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in config.items()
    )


def _print(report, fmt: str, published: dict) -> None:
    if fmt == "json":
        payload = report.to_dict()
        if published:
            for trial in payload["trials"]:
                trial["openml_run_id"] = published.get(trial["run_key"])
        print_json(payload)
        return
    improved = {t.trial for t in report.path}
    rows = [
        {
            "trial": t.trial,
            "run_key": t.run_key,
            "pipeline": t.pipeline,
            "status": t.status,
            "score": t.score,
            "improved": "*" if t.trial in improved else "",
            **({"stored before": t.reused} if report.executed < len(report.trials) else {}),
            **({"openml_run_id": published.get(t.run_key)} if published else {}),
        }
        for t in report.trials
    ]
    best = report.incumbent
    caption = (
        f"incumbent: trial {best.trial} ({best.run_key}), {best.pipeline}, "
        f"{report.measure} {best.score:.4f}; {_compact(best.config)}. Path of improvement: "
        + ", ".join(f"trial {t.trial} {t.score:.4f}" for t in report.path)
        if best
        else "no run succeeded: no incumbent"
    )
    emit(
        rows,
        fmt,
        title=f"tune of task {report.task_id}: {report.measure} ({report.strategy}, budget "
        f"{report.budget}, {report.executed} run now)",
        caption=caption,
    )


def register(group: click.Group) -> None:
    @group.command("tune")
    @click.option("--task", "task_id", type=int, required=True, help="OpenML task id.")
    @click.option(
        "--pipeline",
        "pipelines",
        multiple=True,
        help="Only these pipelines (repeatable; default: every one for the task's type).",
    )
    @click.option(
        "--budget",
        type=int,
        default=30,
        show_default=True,
        help="Runs of the task in scope the store holds at the end (stored ones count).",
    )
    @click.option(
        "--batch", type=int, default=2, show_default=True, help="Proposals in flight at once."
    )
    @click.option(
        "--strategy",
        default=None,
        help="Sequential strategy (default: the chosen sequential default, twins).",
    )
    @click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of the candidates, the strategy and the runs.",
    )
    @runner_options
    @click.option(
        "--export",
        "export",
        nargs=2,
        type=(click.Choice(["optuna", "smac"]), click.Path(dir_okay=False)),
        default=None,
        help="Also write the observed configurations, best first, for Optuna or SMAC.",
    )
    @click.option(
        "--publish",
        "publish_runs",
        is_flag=True,
        help="Publish the tune's finished runs to OpenML afterwards (as `metabase publish`).",
    )
    @format_option(choices=("table", "json"))
    def tune(
        task_id,
        pipelines,
        budget,
        batch,
        strategy,
        seed,
        export,
        publish_runs,
        fmt,
        **runner,
    ) -> None:
        """Tune a task: propose configurations, run them, learn from each result, propose again.

        A killed tune continues from the task's stored runs when started again.

        Example: metabase tune --task 14951 --budget 30 --batch 2 --format json
        """
        with sigterm_interrupts(), run_progress() as progress:
            report = workspace().tune(
                task_id,
                pipelines=list(pipelines) or None,
                budget=budget,
                batch=batch,
                strategy=strategy,
                seed=seed,
                export=export,
                progress=progress,
                **runner,
            )
        published = {}
        if publish_runs:
            keys = [t.run_key for t in report.trials if t.status == "ok"]
            rows = workspace().publish(run_keys=keys).rows if keys else ()
            published = {p["run_key"]: p["openml_run_id"] for p in rows}
        _print(report, fmt, published)
