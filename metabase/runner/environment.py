"""What makes a run reproducible and comparable: library versions, host, device.

Versions come from the installed distributions' metadata, so recording them imports nothing
heavy; the device is asked of torch only for the pipelines that train on a GPU when they can.
"""

from __future__ import annotations

import os
import platform
import socket
from functools import lru_cache
from importlib import metadata

LIBRARIES = (
    "metabase",
    "numpy",
    "pandas",
    "scikit-learn",
    "scipy",
    "ConfigSpace",
    "lightgbm",
    "torch",
    "openml",
)


@lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


@lru_cache(maxsize=1)
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


@lru_cache(maxsize=1)
def host() -> dict[str, object]:
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
    }


def resolve_device(wants_gpu: bool, requested: str | None) -> str:
    """``cuda`` or ``cpu``: what a run of a pipeline with these needs trains on."""
    if requested:
        return requested
    if not wants_gpu:
        return "cpu"
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def device_name(device: str) -> str:
    """The GPU's name for ``cuda``, else the CPU model."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    return cpu_model()


def record(device: str) -> dict[str, object]:
    """The environment record stored with a run."""
    return {
        "versions": versions(),
        **host(),
        "device": device,
        "device_name": device_name(device),
        "pid": os.getpid(),
    }
