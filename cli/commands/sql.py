"""``metabase sql`` (read-only SQL and named queries) and ``metabase info``."""

from __future__ import annotations

import sys

import click

from cli.context import workspace
from cli.output import emit, format_option, print_json, print_table

WAIT_HELP = "Seconds to wait for a running import or sync to finish before giving up."


def _wait_option():
    return click.option(
        "--wait",
        "wait_s",
        type=click.FloatRange(min=0),
        default=30.0,
        show_default=True,
        envvar="METABASE_READER_WAIT",
        help=WAIT_HELP,
    )


def _parse_params(pairs: tuple[str, ...]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--param")
        params[name.strip()] = value
    return params


def _emit_rows(df, fmt: str, max_rows: int) -> None:
    # A terminal table of a million rows helps nobody; files get every row.
    if fmt == "table" and max_rows and len(df) > max_rows:
        click.echo(
            f"showing the first {max_rows} of {len(df)} rows "
            "(use --format csv/json, --max-rows 0 or LIMIT)",
            err=True,
        )
        df = df.head(max_rows)
    if fmt == "csv":  # streamed by pandas: an export of millions of rows stays fast
        df.to_csv(sys.stdout, index=False, lineterminator="\n")
        return
    # pandas' missing markers (NA, NaT) print as "<NA>"/"NaT"; table and json want empty/null
    emit(df.astype(object).where(df.notna(), None), fmt)


def _list_queries(fmt: str) -> None:
    queries = workspace().named_queries()
    if fmt == "json":  # structured parameters for programs
        print_json(
            [
                {
                    "name": q.name,
                    "description": q.description,
                    "parameters": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "required": p.required,
                            "default": None if p.required else p.default,
                            "description": p.description,
                        }
                        for p in q.params
                    ],
                }
                for q in queries
            ]
        )
        return
    rows = [
        {
            "name": q.name,
            "parameters": ", ".join(
                p.name + ("" if p.required else f"={'NULL' if p.default is None else p.default}")
                for p in q.params
            ),
            "description": q.description,
        }
        for q in queries
    ]
    emit(rows, fmt)


def register(group: click.Group) -> None:
    @group.command("sql")
    @click.argument("query", required=False)
    @click.option("--named", "-n", metavar="NAME", help="Run a named query (see --list).")
    @click.option(
        "--list", "list_", is_flag=True, help="List the named queries and their parameters."
    )
    @click.option(
        "--show", is_flag=True, help="With --named: print the query's SQL instead of running it."
    )
    @click.option(
        "--param",
        "-p",
        "params",
        multiple=True,
        metavar="NAME=VALUE",
        help="Bind $NAME in the query (repeatable). NULL means no value.",
    )
    @click.option(
        "--max-rows",
        type=click.IntRange(min=0),
        default=1000,
        show_default=True,
        help="Rows shown in table format (0: all); csv and json get every row.",
    )
    @click.option(
        "--allow-files",
        "allow_files",
        multiple=True,
        metavar="DIR",
        type=click.Path(exists=True, file_okay=False, resolve_path=True),
        help="Let QUERY read files inside DIR (read_csv, read_parquet, glob, ...; "
        "repeatable). Without it only the store is read.",
    )
    @_wait_option()
    @format_option()
    def sql(query, named, list_, show, params, max_rows, allow_files, wait_s, fmt) -> None:
        """Run one read-only SQL statement, or a named query, on the store.

        The store is opened read-only. Statements that write (INSERT, CREATE, COPY ... TO,
        EXPORT, ATTACH, INSTALL, SET, PRAGMA, ...) and table functions with side effects
        (checkpoint(), enable_logging(), ...) are refused. Nothing outside the store is read (no
        file, URL or extension) unless --allow-files opens a folder. QUERY '-' reads stdin.
        Parameters are bound, never pasted into the SQL.

        Example: metabase sql "SELECT flow_id, count(*) FROM runs GROUP BY ALL" --format csv

        Example: metabase sql --named best-configs --param task_id=3 --param k=5

        Example: metabase sql "SELECT * FROM read_csv('/data/mine/ids.csv')"
        --allow-files /data/mine
        """
        chosen = sum(bool(x) for x in (query, named, list_))
        if chosen != 1:
            raise click.UsageError("give exactly one of QUERY, --named NAME or --list")
        if list_:
            _list_queries(fmt)
            return
        if show:
            if not named:
                raise click.UsageError("--show goes with --named NAME")
            sys.stdout.write(workspace().named_query(named).sql)
            return
        if allow_files and not query:
            raise click.UsageError(
                "--allow-files goes with QUERY (named queries read only the store)"
            )
        text = None if named else (sys.stdin.read() if query == "-" else query)
        df = workspace().sql(
            text,
            named=named or None,
            params=_parse_params(params),
            wait_s=wait_s,
            allow_files=allow_files,
        )
        _emit_rows(df, fmt, max_rows)

    @group.command("info")
    @_wait_option()
    @format_option()
    def info(wait_s, fmt) -> None:
        """Show the store: path, schema version, row count per table and the imports made.

        csv prints the row counts per table; json prints everything.

        Example: metabase info --format json
        """
        details = workspace().info(wait_s=wait_s)
        if fmt == "json":
            print_json(details.to_dict())
            return
        counts = [{"table": t.name, "rows": t.rows} for t in details.tables]
        if fmt == "csv":
            emit(counts, fmt)
            return
        click.echo(f"store           {details.path} ({details.size_bytes / 1e6:.1f} MB)")
        click.echo(f"schema version  {details.schema_version} ({', '.join(details.migrations)})")
        click.echo(f"views           {', '.join(details.views)}")
        print_table(["table", "rows"], counts, title="tables")
        imports = [
            {
                "source": i.source,
                "finished_at": i.finished_at.isoformat(" ", "seconds"),
                "seconds": round((i.finished_at - i.started_at).total_seconds(), 1),
                "rows": sum(i.row_counts.values()),
                "path": i.path or "",
            }
            for i in details.imports
        ]
        if imports:
            print_table(
                ["source", "finished_at", "seconds", "rows", "path"], imports, title="imports"
            )
        else:
            click.echo("no imports yet: run `metabase import SOURCE PATH`")
