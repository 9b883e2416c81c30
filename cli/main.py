"""Entry point of the ``metabase`` command.

Global options resolve into :class:`metabase.settings.Settings`, kept on the Typer context.
Commands live one module per area in ``cli/commands/``; each module has ``register(app)``.
Errors: a :class:`MetabaseError` (or a usage error) becomes one line on stderr and exit code 1;
``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import sys
from typing import Optional

import click
import typer

from metabase.errors import MetabaseError
from metabase.settings import Settings

app = typer.Typer(
    name="metabase",
    help="metabase: an OpenML-integrated meta-learning knowledge base.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    store: Optional[str] = typer.Option(
        None, "--store", envvar="METABASE_STORE", help="Path of the DuckDB store.", show_envvar=True
    ),
    openml_server: Optional[str] = typer.Option(
        None, "--openml-server", envvar="METABASE_OPENML_SERVER",
        help="OpenML REST API base URL (default: the live OpenML).", show_envvar=True,
    ),
    apikey: Optional[str] = typer.Option(
        None, "--apikey", envvar="METABASE_OPENML_APIKEY",
        help="OpenML API key (else openml's config file). Never logged.", show_envvar=False,
    ),
    offline: bool = typer.Option(False, "--offline", help="Never contact OpenML."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
) -> None:
    """metabase: an OpenML-integrated meta-learning knowledge base."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    ctx.obj = Settings.resolve(store=store, openml_server=openml_server, apikey=apikey, offline=offline)


def _register_commands() -> None:
    import cli.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"cli.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def _fail(message: str, code: int = 1) -> int:
    first_line = str(message).strip().splitlines()[0] if str(message).strip() else "failed"
    print(f"error: {first_line}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns (and, as a script, exits with) the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="metabase", standalone_mode=False)
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
        code = _fail(f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)")
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
