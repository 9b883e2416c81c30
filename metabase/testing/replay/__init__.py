"""A local OpenML: REST API v1 (XML, and JSON converted from it) served from the real exports.

``start_server(data_dir)`` starts it in a background thread and returns a handle with ``url``
(``http://127.0.0.1:PORT/api/v1/xml``), ``stop()`` and context-manager support. The parsed data
is cached per data directory per process, so starting another server is cheap.

What it serves and where it comes from:

* recorded responses from ``openml-python/`` (as recorded, download URLs rewritten), entity
  answers and the few list answers that were recorded: see ``recorded.py``;
* tasks and datasets from TabRepo, ``extra/tasks_supplement.csv``, tabular-benchmark's suite
  table, the OpenML100 quality match and the seed SQL: see ``catalog.py``;
* runs, setups and evaluations of the openml-pimp export (flow 6969) and the study exports, with
  the deterministic ids documented in ``ids.py``;
* studies 14 (OpenML100) and 99 (OpenML-CC18, partial), also by alias: see ``entities.py``;
* data files and generated (not OpenML's) splits: see ``datafiles.py``;
* uploads (POST flow, POST run) validated against the official XSDs: see ``uploads.py``;
* faults (``faults.py``) and scale mode (``scale.py``, synthetic and labelled so).

List calls cap ``limit`` at 1,000 (or the ``cap`` fault), answer an empty result with HTTP 412 and
the entity's "no results" code, and accept ``low..high`` id ranges besides comma lists. Bodies are
gzip-compressed when the client accepts it, as on openml.org. ``/api/v1/json/...`` answers the
same calls as JSON converted from the XML. ``python -m metabase.testing.replay`` (or
``start_server_process``) runs a server in its own process.
"""

from __future__ import annotations

from pathlib import Path

from .server import ReplayHandle


def start_server(
    data_dir, host: str = "127.0.0.1", port: int = 0, faults=None, scale: int | None = None
) -> ReplayHandle:
    """Start a replay server on ``host:port`` (0 = a free port) and return its handle."""
    from .server import start

    return start(Path(data_dir), host=host, port=port, faults=faults, scale=scale)


def serve(
    data_dir=None,
    host: str = "127.0.0.1",
    port: int = 0,
    faults=None,
    scale: int | None = None,
    on_ready=None,
) -> None:
    """Run a replay server in the foreground until interrupted (the CLI's ``replay-server``).

    ``on_ready(url)`` is called once the server accepts connections. Bad arguments raise
    :class:`metabase.errors.InputError`.
    """
    import threading

    from metabase.errors import InputError
    from metabase.settings import default_openml_data

    path = Path(data_dir) if data_dir else default_openml_data()
    if path is None or not Path(path).is_dir():
        raise InputError(
            f"OpenML data directory not found: {path or '../shared/openml-data'} (pass --data DIR)"
        )
    if scale is not None and scale < 0:
        raise InputError("--scale must be a positive number of synthetic evaluations")
    try:
        handle = start_server(path, host=host, port=port, faults=faults, scale=scale or None)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:  # a SIGINT right after the URL is printed still stops the server cleanly
        if on_ready is not None:
            on_ready(handle.url)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        handle.stop()


class ProcessHandle:
    """A replay server in a child process (``start_server_process``); same ``url``/``stop()``."""

    def __init__(self, proc, url: str):
        self.proc, self.url = proc, url
        self.root = url.rsplit("/api/v1/xml", 1)[0]
        self.host, port = self.root.split("//", 1)[1].rsplit(":", 1)
        self.port = int(port)

    def stop(self) -> None:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except Exception:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_server_process(
    data_dir,
    host: str = "127.0.0.1",
    port: int = 0,
    faults=None,
    scale: int | None = None,
    timeout: float = 120.0,
) -> ProcessHandle:
    """Start a replay server in a separate Python process and wait until it serves."""
    import subprocess
    import sys

    from metabase.errors import InputError

    cmd = [
        sys.executable,
        "-m",
        "metabase.testing.replay",
        "--data",
        str(data_dir),
        "--host",
        host,
        "--port",
        str(port),
    ]
    if faults:
        cmd += [
            "--faults",
            faults
            if isinstance(faults, str)
            else ",".join(f"{k}={v}" for k, v in dict(faults).items()),
        ]
    if scale:
        cmd += ["--scale", str(int(scale))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        err = proc.stderr.read().strip().splitlines()
        proc.wait()
        raise InputError(
            err[-1].removeprefix("error: ") if err else "replay server process did not start"
        )
    return ProcessHandle(proc, url)


__all__ = ["ProcessHandle", "ReplayHandle", "serve", "start_server", "start_server_process"]
