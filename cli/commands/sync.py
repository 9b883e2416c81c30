"""``metabase sync``: pull tasks, datasets, qualities, flows, setups, runs and evaluations."""

from __future__ import annotations

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json
from cli.seeding import seed_new_store, seed_option
from metabase.errors import InputError


def _ids(text: str | None, what: str) -> tuple[int, ...]:
    if not text:
        return ()
    out = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if ".." in part:
            lo, _, hi = part.partition("..")
            if (
                not (lo.isdigit() and hi.isdigit())
                or int(hi) < int(lo)
                or int(hi) - int(lo) > 100_000
            ):
                raise InputError(f"--{what}: bad id range {part!r} (use e.g. 3..31)")
            out.extend(range(int(lo), int(hi) + 1))
        elif part.isdigit():
            out.append(int(part))
        else:
            raise InputError(f"--{what}: {part!r} is not an id (comma-separated integers)")
    return tuple(out)


def _since(text: str | None):
    if not text:
        return None
    from datetime import datetime

    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"--since: {text!r} is not a date (use YYYY-MM-DD)") from None


def register(group: click.Group) -> None:
    @group.command("sync")
    @click.option(
        "--suite", help="Study/suite id or alias (OpenML100 = 14, OpenML-CC18 = 99): its tasks."
    )
    @click.option("--tasks", help="Task ids, comma-separated (also LOW..HIGH).")
    @click.option("--flows", help="Flow ids, comma-separated: only runs of these flows.")
    @click.option(
        "--measures",
        default="predictive_accuracy",
        show_default=True,
        help="OpenML evaluation measures to fetch, comma-separated.",
    )
    @click.option("--since", help="Only runs uploaded on or after this date (YYYY-MM-DD).")
    @click.option(
        "--max-runs", type=int, help="At most N runs per task and measure (a quick sample)."
    )
    @click.option(
        "--jobs", type=int, default=4, show_default=True, help="Pages in flight at once."
    )
    @click.option(
        "--commit-rows",
        type=int,
        default=50_000,
        show_default=True,
        help="Rows per transaction (pages are committed in groups; 1 = every page alone).",
    )
    @click.option(
        "--dry-run",
        is_flag=True,
        help="Print the plan and the estimated number of calls; write nothing.",
    )
    @click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars on stderr (default: when a terminal).",
    )
    @seed_option
    @format_option()
    def sync(
        suite,
        tasks,
        flows,
        measures,
        since,
        max_runs,
        jobs,
        commit_rows,
        dry_run,
        progress,
        seed,
        fmt,
    ) -> None:
        """Sync OpenML tasks, datasets, qualities, flows, setups, runs and evaluations into the
        store.

        Incremental (a second sync fetches only what is new) and resumable (kill it, run it again).

        Example: metabase sync --suite OpenML100 --flows 6969
        """
        from cli.progress import progress_bar
        from metabase.sync import SyncRequest
        from metabase.sync.progress import RichProgress

        request = SyncRequest(
            suite=suite,
            tasks=_ids(tasks, "tasks"),
            flows=_ids(flows, "flows"),
            measures=tuple(m.strip() for m in measures.split(",") if m.strip()),
            since=_since(since),
            max_runs=max_runs,
            dry_run=dry_run,
            jobs=jobs,
            commit_rows=commit_rows,
        )
        if not dry_run:
            seed_new_store(seed)
        bar = progress_bar(
            *RichProgress.columns(), show=False if dry_run else progress, transient=False
        )
        result = workspace().sync(request, progress=RichProgress(progress=bar))
        if fmt == "json":
            print_json(result.as_dict())
        elif dry_run:
            emit(
                result.plan["phases"],
                fmt,
                title=(
                    f"sync plan: {result.plan['tasks']} tasks, "
                    f"flows {result.plan['flows'] or 'all'}, "
                    f"measures {', '.join(result.plan['measures'])}; "
                    f"at least {result.plan['estimated_calls']} calls"
                ),
            )
        else:
            rows = [
                {"table": t, "added": n, "fetched": result.fetched.get(t)}
                for t, n in result.added.items()
            ]
            resumed = result.fetched.get("spooled_pages", 0)
            emit(
                rows,
                fmt,
                title=(
                    f"synced from {result.server}: {result.calls} calls "
                    f"({result.retries} retried) in {result.seconds:.1f}s"
                    + (f"; {resumed} pages an interrupted sync had received" if resumed else "")
                ),
            )
