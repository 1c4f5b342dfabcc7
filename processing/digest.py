"""Code digests: SHA-256 of a step module's source, the identity a validation locks.

The digest covers the bytes of the module file that defines the step function, with line
endings normalised to LF so a checkout on Windows digests the same. Shared helper
modules the steps use (:data:`HELPER_MODULES`) have their own digests in the lock, since a
change there changes step behaviour without touching a step file.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
from pathlib import Path
from typing import Any

from processing.step import StepSpec

# Modules whose code every step relies on; their digests are locked next to the steps'.
HELPER_MODULES: tuple[str, ...] = ("processing.chunked", "processing.step")


def source_sha256(path: Path) -> str:
    """SHA-256 (hex) of a source file with CRLF and CR line endings normalised to LF."""
    data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return hashlib.sha256(data).hexdigest()


def step_source_file(spec: StepSpec[Any]) -> Path:
    """The module file that defines the step's function.

    Raises:
        ValueError: the function has no source file (built-in or defined interactively).
    """
    path = inspect.getsourcefile(spec.func)
    if path is None:
        raise ValueError(f"step {spec.name} v{spec.version}: function has no source file")
    return Path(path)


def code_digest(spec: StepSpec[Any]) -> str:
    """Code digest of a step version: :func:`source_sha256` of its module file."""
    return source_sha256(step_source_file(spec))


def module_digest(module_name: str) -> str:
    """Code digest of an importable module, by name (for :data:`HELPER_MODULES`)."""
    module = importlib.import_module(module_name)
    path = inspect.getsourcefile(module)
    if path is None:
        raise ValueError(f"module {module_name} has no source file")
    return source_sha256(Path(path))


def helper_digests() -> dict[str, str]:
    """Live digests of :data:`HELPER_MODULES`, by module name."""
    return {name: module_digest(name) for name in HELPER_MODULES}
