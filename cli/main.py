"""Entry point of the ``metabase`` command (click).

Global options resolve into :class:`metabase.settings.Settings`; the root context's ``obj`` is
the :class:`metabase.workspace.Workspace` over them, the one facade every command calls.
Commands live one module per area in ``cli/commands/``; each module has
``register(group)``. Errors: a :class:`MetabaseError` or a usage error becomes one line on stderr
and exit code 1; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys

import click

from metabase.errors import MetabaseError
from metabase.settings import Settings
from metabase.workspace import Workspace


@click.group(name="metabase", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    envvar="METABASE_STORE",
    show_envvar=True,
    default=None,
    help="Path of the DuckDB store (default: data/metabase.duckdb in a checkout, "
    "else the per-user data dir).",
)
@click.option(
    "--openml-server",
    envvar="METABASE_OPENML_SERVER",
    show_envvar=True,
    default=None,
    help="OpenML REST API base URL (default: the live OpenML).",
)
@click.option(
    "--apikey",
    envvar="METABASE_OPENML_APIKEY",
    default=None,
    help="OpenML API key (env METABASE_OPENML_APIKEY, else openml's config file). Never logged.",
)
@click.option("--offline", is_flag=True, help="Never contact OpenML.")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(package_name="metabase")
@click.pass_context
def cli(ctx: click.Context, store, openml_server, apikey, offline, debug) -> None:
    """metabase: an OpenML-integrated meta-learning knowledge base.

    Example: metabase recommend --task 14951
    """
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Workspace(
        Settings.resolve(
            store=store, openml_server=openml_server, apikey=apikey, offline=offline or None
        )
    )


def _register_commands() -> None:
    import cli.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"cli.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)


_register_commands()


def _fail(message: str, code: int = 1) -> int:
    # one line, and the whole message: its lines are joined, never dropped
    text = " ".join(line.strip() for line in str(message).strip().splitlines() if line.strip())
    print(f"error: {text or 'failed'}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI. As a script it exits; called with ``argv`` it returns the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        result = cli.main(args=args, prog_name="metabase", standalone_mode=False)
        code = result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = _fail("aborted", 130)
    except click.ClickException as exc:
        if debug:
            raise
        code = _fail(exc.format_message())
    except MetabaseError as exc:
        if debug:
            raise
        code = _fail(str(exc))
    except KeyboardInterrupt:
        code = _fail("interrupted", 130)
    except BrokenPipeError:
        code = 0
    except Exception as exc:  # a bug: still one line, with a hint
        if debug:
            raise
        code = _fail(
            f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        )
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
