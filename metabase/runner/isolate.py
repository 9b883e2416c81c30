"""One run in its own child process: a process group, death with its parent, limits on the tree.

The child is forked, so it shares the coordinator's task data (loaded once) without copying it.
It leads a process group of its own: killing the group stops everything the pipeline started
(its threads die with it, its child processes are in the group), and a terminal's Ctrl-C reaches
the coordinator only, which decides. On Linux the child asks the kernel (``PR_SET_PDEATHSIG``) to
be killed when the coordinator dies, even by SIGKILL, so no run outlives ``metabase run``.

The kernel's request covers the child only, not the processes the pipeline starts. So each
executor also forks a :class:`Guardian`: an idle process, in a group of its own and no child of
the coordinator's, that the coordinator tells which run groups are alive through a pipe. When
the coordinator dies however it dies (SIGKILL, its Ray worker force-cancelled), the pipe's write
end closes, and the guardian kills every run group it was told of. A finished run's group is
killed by the coordinator itself when it reaps the run.

The child writes its :class:`RunResult` as a pickle beside its log and exits; a child that exits
without one was lost (killed from outside, a segfault, the kernel's OOM killer). With the result
go the names of the modules the run imported, so that the coordinator can import them once for
every later child (see ``LocalExecutor``).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import pickle
import signal
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PR_SET_PDEATHSIG = 1
CHILD_FAILED = 70  # the child could not even write its result


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl
            pass
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(CHILD_FAILED)


class Guardian:
    """Kills the process groups of the runs still alive when its coordinator dies.

    The coordinator writes ``+PGID`` when it starts a run and ``-PGID`` when it reaped it; the
    guardian reads until end of file, which comes when the coordinator closes the pipe (a normal
    close, nothing left to kill) or dies (every fd closed by the kernel).
    """

    def __init__(self) -> None:
        read, self.fd = os.pipe()
        middle = os.fork()
        if middle == 0:  # pragma: no cover - forks the guardian and leaves it an orphan
            try:
                os.close(self.fd)
                if os.fork() == 0:
                    try:
                        _guard(read)
                    finally:
                        os._exit(0)
            finally:
                os._exit(0)
        # Not a child of the coordinator: whoever kills the coordinator and its children (Ray
        # kills a force-cancelled worker's children) does not kill the guardian with them.
        os.waitpid(middle, 0)
        os.close(read)

    def watch(self, group: int) -> None:
        os.write(self.fd, f"+{group}\n".encode())

    def forget(self, group: int) -> None:
        os.write(self.fd, f"-{group}\n".encode())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # the guardian reads the end, has nothing left to kill, and exits
            self.fd = None


def _guard(fd: int) -> None:  # pragma: no cover - runs in the guardian
    os.setpgid(0, 0)  # neither the terminal's Ctrl-C nor a run's group kill reaches it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    groups: set[int] = set()
    pending = b""
    while chunk := os.read(fd, 4096):
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            (groups.add if line[:1] == b"+" else groups.discard)(int(line[1:]))
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _redirect_output(log_path: Path) -> None:
    """Fresh stdout/stderr on the run's log: the coordinator's stream objects (and their locks,
    perhaps held by its progress thread at the fork) are never touched in the child.
    """
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115 - lives as long as the child
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


@dataclass
class Child:
    pid: int
    result_path: Path
    log_path: Path
    pidfd: int | None = None
    killed_for: str | None = None  # why the coordinator killed it (timeout, memout, cancelled)
    start: mmap.mmap | None = None  # the child writes its resident memory at its start here
    imported: tuple[str, ...] = ()  # modules the run imported (read with its result)

    def memory_mb(self) -> float:
        """Resident memory of the run's process tree beyond the child's own when it started (the
        task data and libraries it shares with the coordinator then); the memory limit applies to
        this. Library pages the run touches later count, so it errs on the side of more. 0 until
        the child has recorded its start.
        """
        baseline = struct.unpack("d", self.start[:8])[0] if self.start is not None else 0.0
        return tree_rss_mb(self.pid) - baseline if baseline > 0 else 0.0


def spawn(
    work: Callable[[], object], result_path: Path, log_path: Path, close_fds: tuple[int, ...] = ()
) -> Child:
    """Fork a child that runs ``work()`` and pickles its return value to ``result_path``."""
    parent = os.getpid()
    start = mmap.mmap(-1, 8)  # shared with the child: anonymous and MAP_SHARED
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through its result file
        code = CHILD_FAILED
        try:
            os.setpgid(0, 0)
            _die_with_parent(parent)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            for fd in close_fds:  # e.g. the guardian's pipe: only the coordinator may hold it
                os.close(fd)
            start[:8] = struct.pack("d", max(_rss_from_proc(os.getpid()), 1e-9))
            _redirect_output(log_path)
            before = set(sys.modules)
            result = work()
            imported = tuple(sorted(set(sys.modules) - before))
            partial = result_path.with_suffix(".partial")
            with open(partial, "wb") as handle:
                pickle.dump((result, imported), handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, result_path)
            code = 0
        except BaseException:  # noqa: BLE001 - the parent learns of it as a lost child
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    try:
        os.setpgid(pid, pid)  # also here: no race between the fork and the child's own call
    except OSError:
        pass
    pidfd = None
    if hasattr(os, "pidfd_open"):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError:  # pragma: no cover - kernels before 5.3
            pidfd = None
    return Child(pid, result_path, log_path, pidfd, start=start)


def tree_rss_mb(pid: int, descendants: bool = True) -> float:
    """Resident memory of a process (and all its descendants), in MiB (0 when it is gone)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency
        return _rss_from_proc(pid)
    try:
        root = psutil.Process(pid)
        procs = [root, *(root.children(recursive=True) if descendants else ())]
    except psutil.Error:
        return 0.0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def _rss_from_proc(pid: int) -> float:
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def kill_tree(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` and any descendant that left it."""
    descendants = []
    try:
        import psutil

        descendants = psutil.Process(pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - gone already, or no psutil
        pass
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for proc in descendants:
        try:
            proc.kill()
        except Exception:  # noqa: BLE001
            pass


def reap(child: Child, block: bool = True) -> int | None:
    """Wait for the child; its exit code (negative: killed by that signal), None if running.

    Whatever it left in its process group is killed first, while the exited child (a zombie
    until reaped) still holds the group's id, so that the id cannot have been reused.
    """
    flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
    try:
        if os.waitid(os.P_PID, child.pid, flags) is None:
            return None
    except ChildProcessError:
        pass
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        _, status = os.waitpid(child.pid, 0)
        code = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        code = -int(signal.SIGKILL)
    return code


def release(child: Child) -> None:
    """Close the child's pidfd (after it was reaped and its selector forgot it)."""
    if child.pidfd is not None:
        os.close(child.pidfd)
        child.pidfd = None
    if child.start is not None:
        child.start.close()
        child.start = None


def read_result(child: Child):
    """The child's pickled result, or None when it left none (``child.imported`` is set too)."""
    try:
        with open(child.result_path, "rb") as handle:
            result, child.imported = pickle.load(handle)
            return result
    except (OSError, EOFError, pickle.UnpicklingError):
        return None
    finally:
        for path in (child.result_path, child.result_path.with_suffix(".partial")):
            path.unlink(missing_ok=True)
