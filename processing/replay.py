"""Replay a recorded run and compare it with the original, output by output (REP-01).

A replay is a run of kind ``replay``: the same inputs (verified by array digest), the same
step versions with the recorded code digests (the worker refuses a step whose installed
code differs), the same canonical parameters and seed. Nothing new is stored: the outputs
are digested and compared with the original's array and table digests. A differing array
gets a numeric summary (max absolute difference, fraction of differing voxels), a differing
table the rows and columns that changed; differences of the environment (Python and package
versions) are reported, never hidden.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
from sqlalchemy import select

from lims.models import RunResult, VersionDerivative
from lims.storage.arrays import CanonicalArray, array_digest
from processing.chunked import ArraySource
from processing.context import JobResources
from processing.execution import (
    Computed,
    Plan,
    execute_run,
    finish_run,
    lock_running,
    table_json,
    worker_actor,
)
from processing.step import Table

MAX_LISTED_ROWS = 50
SLAB_PLANES = 16


def execute_replay(res: JobResources, run_id: uuid.UUID) -> str:
    """Claim and execute one replay run; returns its final status."""
    return execute_run(res, run_id, finish=finish_replay)


def finish_replay(res: JobResources, plan: Plan, computed: Computed, created: list[str]) -> str:
    """Compare with the original and record the verdict in the replay's result."""
    del created  # a replay stores nothing
    for port, array in computed.arrays.items():
        computed.digests[port] = array_digest(array)  # type: ignore[arg-type]
        computed.log.logger.info("output %s: array digest %s", port, computed.digests[port])
    with res.unit_of_work() as uow:
        session = uow.session
        original = session.get(RunResult, plan.replay_of_id)
        if original is None or original.status != "succeeded":
            raise RuntimeError("the original run has no successful result to compare with")
        arrays = [_compare_array(res, entry, computed) for entry in original.outputs]
        tables = [
            _compare_table(port, entry, computed.tables.get(port))
            for port, entry in sorted(original.tables.items())
        ]
        extra = sorted(set(computed.tables) - set(original.tables))
        tables += [{"port": p, "identical": False, "note": "not in the original"} for p in extra]
        scalars = {
            "original": original.scalars,
            "replay": computed.scalars,
            "identical": original.scalars == computed.scalars,
        }
        identical = all(item["identical"] for item in [*arrays, *tables, scalars])
        report = {
            "replay_of": str(plan.replay_of_id),
            "verdict": "identical" if identical else "different",
            "arrays": arrays,
            "tables": tables,
            "scalars": scalars,
            "environment_differences": environment_differences(
                original.environment, computed.environment
            ),
        }
        computed.log.logger.info("replay verdict: %s", report["verdict"])
        state = lock_running(session, plan.run_id)
        if state is None:
            return "cancelled"
        outputs = [
            {"port": port, "kind": computed.kinds.get(port, "intensity"), "array_digest": digest}
            for port, digest in computed.digests.items()
        ]
        result = {
            "outputs": outputs,
            "tables": {port: table_json(t) for port, t in computed.tables.items()},
            "scalars": computed.scalars,
        }
        finish_run(
            uow,
            res,
            plan,
            state,
            status="succeeded",
            result=result,
            computed=computed,
            actor=worker_actor(res, plan),
            replay=report,
        )
        uow.commit()
    return "succeeded"


def _compare_array(res: JobResources, entry: dict[str, Any], computed: Computed) -> dict[str, Any]:
    port = entry["port"]
    replayed = computed.digests.get(port)
    item: dict[str, Any] = {
        "port": port,
        "original": entry["array_digest"],
        "replay": replayed,
        "identical": replayed == entry["array_digest"],
    }
    if item["identical"] or replayed is None:
        return item
    with res.unit_of_work() as uow:
        blob = uow.session.scalar(
            select(VersionDerivative.blob_sha256).where(
                VersionDerivative.version_id == uuid.UUID(entry["version_id"]),
                VersionDerivative.kind == "canonical",
            )
        )
    if blob is None:
        return {**item, "note": "the original output has no canonical array to compare"}
    with CanonicalArray(res.blobstore.path(blob)) as original:
        item.update(array_difference(original.dataset(0), computed.arrays[port]))
    return item


def array_difference(first: ArraySource, second: ArraySource) -> dict[str, Any]:
    """Max absolute difference and fraction of differing voxels, computed slab by slab."""
    if tuple(first.shape) != tuple(second.shape):
        return {"note": f"shape {tuple(first.shape)} became {tuple(second.shape)}"}
    differing, largest = 0, 0.0
    for start in range(0, first.shape[0], SLAB_PLANES):
        a = np.asarray(first[start : start + SLAB_PLANES], dtype=np.float64)
        b = np.asarray(second[start : start + SLAB_PLANES], dtype=np.float64)
        delta = np.abs(a - b)
        differing += int(np.count_nonzero(delta))
        largest = max(largest, float(delta.max(initial=0.0)))
    total = int(np.prod(first.shape))
    return {
        "max_abs_difference": largest,
        "fraction_differing": differing / total if total else 0.0,
        "dtype": [str(first.dtype), str(second.dtype)],
    }


def _compare_table(port: str, entry: dict[str, Any], table: Table | None) -> dict[str, Any]:
    if table is None:
        return {"port": port, "identical": False, "original": entry["sha256"], "replay": None}
    replayed = table.sha256()
    item: dict[str, Any] = {
        "port": port,
        "original": entry["sha256"],
        "replay": replayed,
        "identical": replayed == entry["sha256"],
    }
    if not item["identical"]:
        item.update(table_difference(entry, table_json(table)))
    return item


def table_difference(original: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    """Row counts, indices of changed rows (first 50) and the columns that changed."""
    old_rows, new_rows = original["rows"], replayed["rows"]
    changed_rows, changed_columns = [], set()
    for index, (old, new) in enumerate(zip(old_rows, new_rows, strict=False)):
        columns = {c for c in set(old) | set(new) if old.get(c) != new.get(c)}
        if columns:
            changed_rows.append(index)
            changed_columns |= columns
    return {
        "rows": [len(old_rows), len(new_rows)],
        "changed_rows": changed_rows[:MAX_LISTED_ROWS],
        "changed_row_count": len(changed_rows),
        "changed_columns": sorted(changed_columns),
        "columns": [original["columns"], replayed["columns"]],
    }


def environment_differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What differs between two environment records (Python, packages, platform, host)."""
    differences: dict[str, Any] = {}
    old_python = (before.get("python") or {}).get("version")
    new_python = (after.get("python") or {}).get("version")
    if old_python != new_python:
        differences["python"] = [old_python, new_python]
    old_packages, new_packages = before.get("packages") or {}, after.get("packages") or {}
    for name in sorted(set(old_packages) | set(new_packages)):
        if old_packages.get(name) != new_packages.get(name):
            differences[f"package {name}"] = [old_packages.get(name), new_packages.get(name)]
    for key in ("platform", "machine", "hostname"):
        if before.get(key) != after.get(key):
            differences[key] = [before.get(key), after.get(key)]
    return differences
