"""The closed step registry and each step version's validation state from ``steps.lock``.

``validation/steps.lock`` (TOML) is the reviewed evidence of what was validated::

    [helpers]                      # digests of modules every step relies on
    "processing.chunked" = "<sha256>"

    [[step]]
    name = "filter.gaussian"
    version = 1
    code_digest = "<sha256 of the step module>"
    state = "validated"            # or "draft", "retired"
    evidence = "OQ-STEP-filter.gaussian-v1"
    date = 2026-11-27

A validated or retired step whose live code digest, or any locked helper digest, differs
from the lock is reported as ``digest_mismatch``; the worker refuses to run it. A step not
in the lock is ``draft``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from lims.errors import CtvaultError, NotFoundError
from processing.digest import code_digest, helper_digests
from processing.step import StepSpec


class DuplicateStepError(CtvaultError):
    """Two registered step specs share a (name, version)."""


class UnknownStepError(NotFoundError):
    """No step with that name (and version) is registered."""


class StepLockError(CtvaultError):
    """``steps.lock`` is malformed."""


class LockState(StrEnum):
    """Validation state recorded in the lock."""

    VALIDATED = "validated"
    DRAFT = "draft"
    RETIRED = "retired"


class ValidationState(StrEnum):
    """Validation state of a live step version."""

    VALIDATED = "validated"
    DRAFT = "draft"
    RETIRED = "retired"
    DIGEST_MISMATCH = "digest_mismatch"


@dataclasses.dataclass(frozen=True, slots=True)
class LockEntry:
    """One ``[[step]]`` of the lock."""

    name: str
    version: int
    code_digest: str
    state: LockState
    evidence: str
    date: dt.date | None


@dataclasses.dataclass(frozen=True, slots=True)
class StepLock:
    """Parsed ``steps.lock``: step entries by (name, version) and helper digests."""

    entries: Mapping[tuple[str, int], LockEntry]
    helpers: Mapping[str, str]

    @classmethod
    def from_toml(cls, text: str) -> StepLock:
        """Parse the lock text.

        Raises:
            StepLockError: invalid TOML, missing keys, unknown state or duplicate entries.
        """
        try:
            data = tomllib.loads(text)
            entries: dict[tuple[str, int], LockEntry] = {}
            for raw in data.get("step", []):
                entry = LockEntry(
                    name=str(raw["name"]),
                    version=int(raw["version"]),
                    code_digest=str(raw["code_digest"]),
                    state=LockState(raw["state"]),
                    evidence=str(raw.get("evidence", "")),
                    date=raw.get("date"),
                )
                key = (entry.name, entry.version)
                if key in entries:
                    raise StepLockError(f"steps.lock lists {entry.name} v{entry.version} twice")
                entries[key] = entry
            helpers = {str(k): str(v) for k, v in data.get("helpers", {}).items()}
        except (tomllib.TOMLDecodeError, KeyError, ValueError, TypeError) as exc:
            raise StepLockError(f"steps.lock is malformed: {exc}") from exc
        return cls(entries=entries, helpers=helpers)

    @classmethod
    def load(cls, path: Path) -> StepLock:
        """Read and parse a lock file."""
        return cls.from_toml(path.read_text(encoding="utf-8"))


def default_lock_path() -> Path:
    """``validation/steps.lock`` next to the ``processing`` package (source or installed)."""
    return Path(__file__).resolve().parents[1] / "validation" / "steps.lock"


@dataclasses.dataclass(frozen=True, slots=True)
class ValidationStatus:
    """Validation state of one step version, with the digests compared."""

    state: ValidationState
    live_digest: str
    entry: LockEntry | None
    reason: str


class StepRegistry:
    """Closed set of step versions keyed by (name, version); built in a composition root."""

    def __init__(self, steps: Iterable[StepSpec[Any]], lock: StepLock | None = None) -> None:
        """Register ``steps``.

        Args:
            steps: The step specs (normally ``processing.steps.ALL_STEPS``).
            lock: The validation lock; without it every step is ``draft``.

        Raises:
            DuplicateStepError: two specs share a (name, version).
        """
        self._steps: dict[tuple[str, int], StepSpec[Any]] = {}
        for spec in steps:
            if spec.key in self._steps:
                raise DuplicateStepError(f"step {spec.name} v{spec.version} is registered twice")
            self._steps[spec.key] = spec
        self._lock = lock or StepLock(entries={}, helpers={})

    def get(self, name: str, version: int) -> StepSpec[Any]:
        """The spec of one step version.

        Raises:
            UnknownStepError: not registered.
        """
        try:
            return self._steps[(name, version)]
        except KeyError:
            raise UnknownStepError(f"no step {name} v{version} is registered") from None

    def versions(self, name: str) -> tuple[int, ...]:
        """Registered versions of a step, ascending (empty if unknown)."""
        return tuple(sorted(v for n, v in self._steps if n == name))

    def latest(self, name: str) -> StepSpec[Any]:
        """The highest registered version of a step.

        Raises:
            UnknownStepError: no version is registered.
        """
        versions = self.versions(name)
        if not versions:
            raise UnknownStepError(f"no step {name} is registered")
        return self._steps[(name, versions[-1])]

    def all(self) -> tuple[StepSpec[Any], ...]:
        """Every registered spec, sorted by (name, version)."""
        return tuple(self._steps[key] for key in sorted(self._steps))

    def validation_state(self, spec: StepSpec[Any]) -> ValidationStatus:
        """Compare a step's live digests with the lock."""
        live = code_digest(spec)
        entry = self._lock.entries.get(spec.key)
        if entry is None:
            return ValidationStatus(ValidationState.DRAFT, live, None, "not in steps.lock")
        if entry.state is LockState.DRAFT:
            return ValidationStatus(ValidationState.DRAFT, live, entry, "draft in steps.lock")
        if entry.code_digest != live:
            reason = f"code digest {live} differs from the locked {entry.code_digest}"
            return ValidationStatus(ValidationState.DIGEST_MISMATCH, live, entry, reason)
        changed = self.changed_helpers()
        if changed:
            reason = f"helper module(s) {', '.join(changed)} differ from steps.lock"
            return ValidationStatus(ValidationState.DIGEST_MISMATCH, live, entry, reason)
        return ValidationStatus(ValidationState(entry.state.value), live, entry, "matches lock")

    def changed_helpers(self) -> list[str]:
        """Locked helper modules whose live digest differs (or that are missing)."""
        live = helper_digests()
        return sorted(name for name, sha in self._lock.helpers.items() if live.get(name) != sha)

    def lock_problems(self) -> list[str]:
        """Everything a worker must refuse to start with, as messages (empty = fine)."""
        problems = [f"helper {name} differs from steps.lock" for name in self.changed_helpers()]
        for spec in self.all():
            status = self.validation_state(spec)
            if status.state is ValidationState.DIGEST_MISMATCH:
                problems.append(f"{spec.name} v{spec.version}: {status.reason}")
        for name, version in sorted(set(self._lock.entries) - set(self._steps)):
            problems.append(f"steps.lock lists {name} v{version}, which is not registered")
        return problems
