"""The stdlib-only verifier printed in docs/audit.md works on a real export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from audit.query import AuditFilter
from lims.services import audit_trail, catalogue, changes
from lims.services.context import ServiceContext
from tests.factories import as_project_admin

DOC = Path(__file__).resolve().parents[3] / "docs" / "audit.md"


def _documented_verify() -> object:
    code = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert code is not None
    namespace: dict[str, object] = {"__name__": "docs"}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    return namespace["verify"]


@pytest.mark.req("P11-03")
def test_documented_verifier_accepts_a_full_export_and_catches_an_edit(
    ctx: ServiceContext, admin_ctx: ServiceContext, tmp_path: Path
) -> None:
    project = catalogue.create_project(as_project_admin(ctx), name="Battery")
    changes.update_project(
        as_project_admin(ctx), project.id, name="Zoë's cells \u2028", reason="naming"
    )
    ctx.uow.commit()
    export = tmp_path / "trail.jsonl"
    export.write_text(
        "".join(audit_trail.export_audit_jsonl(admin_ctx, AuditFilter())), encoding="utf-8"
    )
    verify = _documented_verify()
    result = verify(str(export))  # type: ignore[operator]
    assert result.startswith("OK: ")
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = next(i for i, line in enumerate(lines) if '"reason": "naming"' in line)
    lines[edited] = lines[edited].replace('"reason": "naming"', '"reason": "nothing"')
    export.write_text("".join(lines), encoding="utf-8")
    assert verify(str(export)).endswith("was altered")  # type: ignore[operator]
