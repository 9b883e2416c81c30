"""``metabase run``: run configurations on a task's OpenML splits, locally or on Ray."""

from __future__ import annotations

import json

import click

from cli.context import workspace
from cli.output import emit, format_option
from cli.progress import run_progress, sigterm_interrupts
from cli.runner_options import runner_options


def _rows(report, fmt: str) -> list[dict]:
    rows = []
    for r in report.rows:
        row = {
            "run_key": r["run_key"],
            "pipeline": r["pipeline"],
            "status": r["status"],
            "measure": r["measure"],
        }
        if fmt == "table":
            row["mean ± std"] = (
                "" if r["mean"] is None else f"{r['mean']:.4f} ± {r['std'] or 0:.4f}"
            )
        else:
            row.update(mean=r["mean"], std=r["std"])
        row.update(
            runtime_s=None if r["runtime_s"] is None else round(r["runtime_s"], 2),
            device=r["device_name"] or r["device"],
            seed=r["seed"],
            reused=r["reused"],
        )
        if fmt != "table":
            row.update(
                error=r["error_message"], config=json.loads(r["config"]) if r["config"] else None
            )
        rows.append(row)
    return rows


def register(group: click.Group) -> None:
    @group.command("run")
    @click.option("--task", "task_id", type=int, required=True, help="OpenML task id.")
    @click.option(
        "--pipeline", default=None, help="Catalogue pipeline (`metabase pipelines list`)."
    )
    @click.option(
        "--config", default=None, help="A JSON object of hyperparameters; the rest take defaults."
    )
    @click.option(
        "--recommended", type=int, default=None, help="Run the top N of `metabase recommend`."
    )
    @click.option(
        "--strategy", default="default", show_default=True, help="The strategy of --recommended."
    )
    @click.option(
        "--sample", type=int, default=None, help="Run N random configurations of --pipeline."
    )
    @click.option(
        "--seed",
        type=int,
        default=0,
        show_default=True,
        help="Seed of the runs (and of --sample).",
    )
    @click.option(
        "--configs",
        "configs_file",
        type=click.Path(dir_okay=False),
        default=None,
        help='JSON lines of {"pipeline", "config"}, or a '
        "`recommend --export`/`--format json` file.",
    )
    @runner_options
    @click.option(
        "--force", is_flag=True, help="Run again, under a new seed, what the store already holds."
    )
    @click.option(
        "--publish",
        "publish_runs",
        is_flag=True,
        help="Publish the finished runs to OpenML afterwards (as `metabase publish` does).",
    )
    @format_option()
    def run(
        task_id,
        pipeline,
        config,
        recommended,
        strategy,
        sample,
        seed,
        configs_file,
        force,
        publish_runs,
        fmt,
        **runner,
    ) -> None:
        """Run configurations on a task's OpenML splits and store every outcome (crashes included).

        Example: metabase run --task 31 --pipeline sklearn.random_forest
        --config '{"max_features": 0.3}'
        """
        with sigterm_interrupts(), run_progress() as progress:
            report = workspace().run(
                task_id,
                pipeline=pipeline,
                config=config,
                recommended=recommended,
                strategy=strategy,
                sample=sample,
                seed=seed,
                configs_file=configs_file,
                force=force,
                progress=progress,
                **runner,
            )
        rows = _rows(report, fmt)
        if publish_runs:  # through the outbox the runs were staged in when they were stored
            keys = [r["run_key"] for r in report.rows if r["status"] == "ok"]
            published = workspace().publish(run_keys=keys).rows if keys else ()
            ids = {p["run_key"]: p["openml_run_id"] for p in published}
            for row in rows:
                row["openml_run_id"] = ids.get(row["run_key"])
        emit(rows, fmt, title=f"runs on task {report.task_id} ({report.measure} over folds)")
