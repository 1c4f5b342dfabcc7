"""The closed registry and the validation lock; fails when a step file changes unlocked."""

from __future__ import annotations

import dataclasses

import pytest

from lims.errors import NotFoundError
from processing.digest import HELPER_MODULES, code_digest, helper_digests, source_sha256
from processing.registry import (
    DuplicateStepError,
    LockState,
    StepLock,
    StepLockError,
    StepRegistry,
    UnknownStepError,
    ValidationState,
    default_lock_path,
)
from processing.steps import ALL_STEPS
from processing.steps.filters.gaussian_v1 import GAUSSIAN_V1


@pytest.fixture(scope="module")
def lock() -> StepLock:
    return StepLock.load(default_lock_path())


def _lock_text(digest: str, state: str = "validated", helpers: str = "") -> str:
    return (
        f"[helpers]\n{helpers}\n[[step]]\nname = 'filter.gaussian'\nversion = 1\n"
        f"code_digest = '{digest}'\nstate = '{state}'\nevidence = 'OQ-1'\ndate = 2026-11-27\n"
    )


def test_duplicate_name_and_version_is_rejected():
    with pytest.raises(DuplicateStepError, match=r"filter\.gaussian v1"):
        StepRegistry([*ALL_STEPS, dataclasses.replace(GAUSSIAN_V1)])


def test_lookup_latest_and_versions():
    v2 = dataclasses.replace(GAUSSIAN_V1, version=2)
    registry = StepRegistry([GAUSSIAN_V1, v2])
    assert registry.get("filter.gaussian", 1) is GAUSSIAN_V1
    assert registry.latest("filter.gaussian") is v2
    assert registry.versions("filter.gaussian") == (1, 2)
    assert registry.versions("filter.unknown") == ()
    assert registry.all() == (GAUSSIAN_V1, v2)
    with pytest.raises(UnknownStepError, match=r"filter\.gaussian v3") as info:
        registry.get("filter.gaussian", 3)
    assert isinstance(info.value, NotFoundError)
    with pytest.raises(UnknownStepError):
        registry.latest("nope.nothing")


def test_all_steps_are_unique_and_one_module_per_step_version():
    StepRegistry(ALL_STEPS)
    modules = [spec.func.__module__ for spec in ALL_STEPS]
    assert len(set(modules)) == len(modules)
    for spec in ALL_STEPS:
        assert spec.func.__module__.endswith(f"_v{spec.version}")


def test_every_registered_step_is_locked_with_its_digest_or_draft(lock):
    """Fails when someone edits a step file without updating validation/steps.lock."""
    problems = []
    for spec in ALL_STEPS:
        entry = lock.entries.get(spec.key)
        if entry is None:
            problems.append(f"{spec.name} v{spec.version} is not in steps.lock")
        elif entry.state is not LockState.DRAFT and entry.code_digest != code_digest(spec):
            problems.append(f"{spec.name} v{spec.version}: digest differs from steps.lock")
    assert problems == []


def test_locked_helper_digests_match(lock):
    assert set(lock.helpers) == set(HELPER_MODULES)
    assert dict(lock.helpers) == helper_digests()


def test_shipped_registry_has_no_lock_problems(lock):
    registry = StepRegistry(ALL_STEPS, lock)
    assert registry.lock_problems() == []
    states = {spec.name: registry.validation_state(spec).state for spec in ALL_STEPS}
    assert states["filter.gaussian"] is ValidationState.VALIDATED
    assert ValidationState.DRAFT in states.values()


def test_changed_code_is_reported_as_digest_mismatch():
    registry = StepRegistry([GAUSSIAN_V1], StepLock.from_toml(_lock_text("0" * 64)))
    status = registry.validation_state(GAUSSIAN_V1)
    assert status.state is ValidationState.DIGEST_MISMATCH
    assert status.live_digest == code_digest(GAUSSIAN_V1)
    assert registry.lock_problems() == [f"filter.gaussian v1: {status.reason}"]


def test_changed_helper_turns_validated_steps_into_mismatch():
    text = _lock_text(code_digest(GAUSSIAN_V1), helpers=f"'processing.chunked' = '{'1' * 64}'")
    registry = StepRegistry([GAUSSIAN_V1], StepLock.from_toml(text))
    assert registry.validation_state(GAUSSIAN_V1).state is ValidationState.DIGEST_MISMATCH
    assert registry.changed_helpers() == ["processing.chunked"]


def test_draft_retired_and_unlisted_states():
    live = code_digest(GAUSSIAN_V1)
    draft = StepRegistry([GAUSSIAN_V1], StepLock.from_toml(_lock_text("0" * 64, "draft")))
    assert draft.validation_state(GAUSSIAN_V1).state is ValidationState.DRAFT
    retired = StepRegistry([GAUSSIAN_V1], StepLock.from_toml(_lock_text(live, "retired")))
    assert retired.validation_state(GAUSSIAN_V1).state is ValidationState.RETIRED
    unlisted = StepRegistry([GAUSSIAN_V1])
    assert unlisted.validation_state(GAUSSIAN_V1).state is ValidationState.DRAFT
    stale = StepRegistry([], StepLock.from_toml(_lock_text(live)))
    assert stale.lock_problems() == ["steps.lock lists filter.gaussian v1, which is not registered"]


@pytest.mark.parametrize(
    "text",
    [
        "[[step]]\nname = 'a.b'\n",
        _lock_text("0" * 64, "approved"),
        _lock_text("0" * 64) + _lock_text("1" * 64).replace("[helpers]\n", ""),
        "not toml = = =",
    ],
)
def test_malformed_lock_is_refused(text):
    with pytest.raises(StepLockError):
        StepLock.from_toml(text)


def test_digest_normalises_line_endings(tmp_path):
    unix, windows = tmp_path / "u.py", tmp_path / "w.py"
    unix.write_bytes(b"a = 1\nb = 2\n")
    windows.write_bytes(b"a = 1\r\nb = 2\r\n")
    assert source_sha256(unix) == source_sha256(windows)
