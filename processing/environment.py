"""The execution environment a Run records: Python, key package versions, host and CPU."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata

# Distributions whose versions can change step outputs, by distribution name.
PACKAGES: tuple[str, ...] = ("numpy", "scipy", "scikit-image", "h5py", "hdf5plugin")


def package_version(distribution: str) -> str | None:
    """Installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, object]:
    """JSON-able description of this process's environment.

    Returns:
        ``python`` (version, implementation, executable), ``packages`` (name -> version or
        None), ``platform``, ``machine``, ``processor``, ``cpu_count``, ``hostname``.
    """
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "packages": {name: package_version(name) for name in PACKAGES},
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "hostname": socket.gethostname(),
    }
