"""``metabase bot`` (the never-ending AutoML bot, or its simulation) and ``metabase status``."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json


def _default_policy() -> str:
    from metabase.bot.policy import POLICIES

    return "active" if "active" in POLICIES else "random"


def _tasks(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(t) for t in text.replace(",", " ").split())
    except ValueError:
        raise click.BadParameter(f"task ids are integers, not {text!r}", param_hint="--tasks")


def register(group: click.Group) -> None:
    @group.command("bot")
    @click.option("--suite", help="Run on this suite's tasks (OpenML-CC18, OpenML100, ...).")
    @click.option("--tasks", "tasks_text", help="Run on these task ids (comma-separated).")
    @click.option(
        "--pipeline",
        "pipelines",
        multiple=True,
        help="A catalogue pipeline to run (repeatable; default sklearn.random_forest).",
    )
    @click.option(
        "--policy", default=None, help="What to run next: active (default), tune or random."
    )
    @click.option("--executor", type=click.Choice(["local", "ray"]), default="local")
    @click.option("--ray-address", default=None, help="A Ray cluster's address (--executor ray).")
    @click.option("--workers", type=int, default=None, help="Runs at once (default: the cores).")
    @click.option(
        "--publish/--no-publish", default=False, help="Publish each finished run to OpenML."
    )
    @click.option("--hours", type=float, default=None, help="Stop after this many hours.")
    @click.option("--max-runs", type=int, default=None, help="Stop after this many runs.")
    @click.option(
        "--grace",
        type=float,
        default=60.0,
        show_default=True,
        help="Seconds running jobs get to finish after SIGTERM or Ctrl-C.",
    )
    @click.option("--fidelity", default=None, help="e.g. n_estimators=16,epochs=2.")
    @click.option(
        "--multi-fidelity/--no-multi-fidelity",
        default=True,
        show_default=True,
        help="Run new configurations with few trees or epochs first; promote the best "
        "(successive halving, hurdle: the best configuration on similar tasks).",
    )
    @click.option("--time-limit", type=float, default=None, help="Seconds per run.")
    @click.option("--memory-limit", default=None, help="Memory per run (2048, 512M, 2G).")
    @click.option(
        "--cap",
        type=int,
        default=100,
        show_default=True,
        help="Runs per task and pipeline at most.",
    )
    @click.option(
        "--keep-predictions",
        "keep_predictions",
        type=float,
        default=30.0,
        show_default=True,
        help="Days a published run's predictions are kept (unpublished runs keep theirs).",
    )
    @click.option("--seed", type=int, default=0, show_default=True)
    @click.option(
        "--simulate",
        "simulate_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Simulate the policy on a meta-dataset directory instead of running.",
    )
    @click.option("--budget", type=int, default=200, show_default=True, help="--simulate's runs.")
    @click.option("--seeds", type=int, default=5, show_default=True, help="--simulate's seeds.")
    @format_option(choices=("table", "json"))
    def bot(
        suite,
        tasks_text,
        pipelines,
        policy,
        executor,
        ray_address,
        workers,
        publish,
        hours,
        max_runs,
        grace,
        fidelity,
        multi_fidelity,
        time_limit,
        memory_limit,
        cap,
        keep_predictions,
        seed,
        simulate_dir,
        budget,
        seeds,
        fmt,
    ) -> None:
        """Run the never-ending AutoML bot: choose, run, store, publish, retrain, repeat.

        It runs until --hours or --max-runs (never-ending without either), one bot per store.
        SIGTERM or Ctrl-C stops it within --grace seconds; a killed bot is recovered by the next
        start. `metabase status` shows what it does; it logs to <store>.bot.log.

        Example: metabase bot --tasks 31,14951 --pipeline sklearn.random_forest --max-runs 20
        """
        ws = workspace()
        policy = policy or _default_policy()
        if simulate_dir is not None:
            result = ws.simulate_bot(simulate_dir, policy=policy, budget=budget, seeds=seeds)
            if fmt == "json":
                print_json(result)
            else:
                emit(result["curve"], "table", title=f"policy {result['policy']}")
            return
        if hours is not None and max_runs is not None:
            raise click.UsageError("give --hours or --max-runs, not both")
        from metabase.bot.logs import setup_logging, stop_logging
        from metabase.bot.loop import Bot, BotOptions

        setup_logging(ws.store_path)
        options = BotOptions(
            tasks=_tasks(tasks_text),
            suite=suite,
            pipelines=tuple(pipelines) or BotOptions.pipelines,
            policy=policy,
            executor=executor,
            workers=workers,
            ray_address=ray_address,
            publish=publish,
            hours=hours,
            max_runs=max_runs,
            grace_s=grace,
            fidelity=fidelity,
            multi_fidelity=multi_fidelity,
            time_limit_s=time_limit,
            memory_limit_mb=memory_limit,
            cap=cap,
            seed=seed,
            keep_predictions_days=keep_predictions,
        )
        try:
            summary = Bot(ws, options).run()
        finally:
            stop_logging()
        row = {
            "runs": summary.runs,
            "failed": summary.failed,
            "published": summary.published,
            "paused": len(summary.paused),
            "retrains": summary.retrains,
            "promoted": summary.promoted,
            "stopped": summary.stopped,
        }
        if fmt == "json":
            print_json({**row, "paused": summary.paused, "recovered": summary.recovered})
        else:
            emit([row], "table", title="bot")

    @group.command("status")
    @click.option(
        "--plot",
        type=click.Path(dir_okay=False),
        default=None,
        help="Also write a PNG of the runs, the meta-models' held-out quality and the best "
        "score per task over time.",
    )
    @format_option(choices=("table", "json"))
    def status(plot, fmt) -> None:
        """Show the bot's state: running or not, runs per hour, jobs, outbox, errors, gains, and
        the meta-models' quality over time (regret@10 on a held-out slice after each retrain).

        Example: metabase status --format json --plot bot.png
        """
        if plot is not None:
            from metabase.evaluate.plot import check_plot_path

            check_plot_path(plot)
        report = workspace().bot_status(plot=plot)
        if "plot" in report:
            report["plot"] = report["plot"]["path"]
            click.echo(f"wrote {plot}", err=True)
        if fmt == "json":
            print_json(report)
            return
        _status_tables(report)


def _when(value) -> str | None:
    return None if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _status_tables(report: dict) -> None:
    bot = report["bot"]
    if bot is None:
        click.echo(f"no bot has run on {report['store']}: start one with `metabase bot`")
        return
    state = "running" if report["running"] else bot["state"]
    emit(
        [
            {
                "state": state,
                "pid": bot["pid"],
                "host": bot["host"],
                "since (UTC)": _when(bot["since"]),
                "executor": bot["executor"],
                "policy": bot["policy"],
                "heartbeat": f"{bot['heartbeat_age_s']:g} s ago",
                "stopped": bot["stop_reason"],
            }
        ],
        "table",
        title="bot",
    )
    emit(
        [{"state": k, "jobs": v} for k, v in sorted(report["jobs"].items())], "table", title="jobs"
    )
    sections = (
        ("runs_per_hour", "runs per hour (last 24 h)"),
        ("in_flight", "jobs in flight"),
        ("paused", "paused task and pipeline pairs"),
        ("last_errors", "last errors"),
        ("improvements", "best improvements per task"),
    )
    for key, title in sections:
        if report.get(key):
            emit(report[key], "table", title=title)
    _quality_tables(report)
    outbox = report.get("outbox") or {}
    if outbox.get("states"):
        emit(
            [
                {
                    **outbox["states"],
                    "oldest waiting": outbox["oldest_waiting"],
                    "last error": outbox["last_error"],
                }
            ],
            "table",
            title="publish outbox",
        )


QUALITY_SHOWN = 5  # the table's latest measurements


def _quality_tables(report: dict) -> None:
    """The latest measurements, and the trend from the first to the latest."""
    rows = report.get("quality") or []
    if not rows:
        skipped = [
            e["message"]
            for e in report.get("last_retrains") or []
            if e["message"].startswith("held-out quality not measured")
        ]
        click.echo(
            "meta-models' quality: no measurement yet (the bot measures it after each retrain, "
            "on a store with at least 5 learnable tasks)"
            + (f"; the last retrain: {skipped[0]}" if skipped else "")
        )
        return
    names = [n for n in rows[-1] if "_regret@" in n]
    shown = [
        {
            "at (UTC)": _when(r["at"]),
            "runs": r["runs"],
            **{n: r.get(n) for n in names},
            "held-out tasks": r["tasks"],
        }
        for r in rows[-QUALITY_SHOWN:]
    ]
    total = report.get("quality_measurements", len(rows))
    emit(shown, "table", title=f"meta-models' quality on held-out tasks (latest of {total})")
    first, last = rows[0], rows[-1]
    if len(rows) > 1:
        changes = ", ".join(f"{n} {_change(first.get(n), last.get(n))}" for n in names)
        click.echo(
            f"trend over the last {len(rows)} measurements (runs {first['runs']} -> "
            f"{last['runs']}): {changes} (lower regret is better)"
        )
        slices = {tuple(r.get("held_out") or ()) for r in rows}
        if len(slices) > 1:
            click.echo(
                f"the held-out slice changed ({len(slices)} different slices: tasks with 20 "
                "runs came or went): measurements on different slices compare loosely"
            )


def _change(before, after) -> str:
    if before is None or after is None:
        return "n/a"
    return f"{before:.4g} -> {after:.4g} ({after - before:+.4g})"
