"""Who may sign what: every role against every signing action (refusals are audited)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from audit import AuditEvent
from lims.auth.roles import ROLE_PERMISSIONS, Permission, Role
from lims.errors import PermissionDeniedError
from lims.models import Signature
from lims.services import signing
from tests.factories import make_user
from tests.integration.signatures.conftest import PASSWORD, Lab

# action -> (permission it needs, record type, meaning, state the analysis is brought to)
ACTIONS = {
    "verify a version": (Permission.DATA_VERIFY, "dataset_version", "verified", None),
    "review an analysis": (Permission.ANALYSIS_REVIEW, "analysis", "reviewed", "submitted"),
    "approve an analysis": (Permission.ANALYSIS_APPROVE, "analysis", "approved", "reviewed"),
    "reject an analysis": (Permission.ANALYSIS_REVIEW, "analysis", "rejected", "submitted"),
}


def _count(lab: Lab, model: type, *where: object) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.mark.req("P11-13", "P11-14", "A11-18")
@pytest.mark.parametrize("action", list(ACTIONS))
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_signing_matrix(lab: Lab, role: Role, action: str) -> None:
    permission, record_type, meaning, state = ACTIONS[action]
    if record_type == "dataset_version":
        record_id = str(lab.version.id)
    else:
        analysis = lab.draft()
        record_id = lab.revision_id(analysis)
        signing.sign(lab.ctx(lab.author), "analysis", record_id, "authored", PASSWORD)
        if state == "reviewed":
            signing.sign(lab.ctx(lab.reviewer), "analysis", record_id, "reviewed", PASSWORD)
    signer = make_user(lab.uow, f"as-{role.value}", roles={role})
    before = _count(lab, Signature)
    refused = _count(lab, AuditEvent, AuditEvent.action == "signature.refused")

    def attempt() -> None:
        signing.sign(lab.ctx(signer), record_type, record_id, meaning, PASSWORD, reason="why")

    if permission in ROLE_PERMISSIONS[role]:
        attempt()
        assert _count(lab, Signature) == before + 1
    else:
        with pytest.raises(PermissionDeniedError):
            attempt()
        assert _count(lab, Signature) == before
        assert _count(lab, AuditEvent, AuditEvent.action == "signature.refused") == refused + 1
