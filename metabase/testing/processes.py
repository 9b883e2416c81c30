"""The process table, as the kill and signal tests read it: wait for a condition, check that
processes are gone, find what is left of a command, and SIGKILL a command with its children
noted first (a killed parent can no longer say which processes were its own).
"""

from __future__ import annotations

import signal
import subprocess
import time

import psutil


def wait_until(condition, timeout: float, what: str, interval: float = 0.2) -> None:
    """Poll ``condition`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)


def all_gone(processes: list, timeout: float = 10.0) -> bool:
    """Whether ``processes`` have ended (zombies waiting for a dead parent count as ended)."""
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    return not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


def forks_of(command: list[str]) -> list:
    """Live processes whose command line is exactly ``command`` (the command and its forks)."""
    return [
        p
        for p in psutil.process_iter(["cmdline", "status"])
        if p.info["cmdline"] == command and p.info["status"] != psutil.STATUS_ZOMBIE
    ]


def sigkill(proc: subprocess.Popen) -> list:
    """SIGKILL ``proc`` and reap it; returns the descendants it had just before."""
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return children
