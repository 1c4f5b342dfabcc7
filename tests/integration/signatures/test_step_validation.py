"""A step's validation state changes only with the administrator's signature."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lims.errors import AuthenticationError, PermissionDeniedError, UserError
from lims.models import Signature
from lims.services import signature_admin, signer_checks, signing, step_validation, workflows
from signatures.statement import STATEMENT_SHA256
from tests.integration.signatures.conftest import PASSWORD, Lab


def _state(lab: Lab) -> str:
    catalog = workflows.step_catalog(lab.ctx(lab.author))
    return next(s.state for s in catalog if (s.name, s.version) == ("segment.otsu", 1))


def _signatures(lab: Lab) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(Signature)) or 0


@pytest.mark.req("P11-20", "P11-22")
def test_a_signed_state_change_commits_with_its_signature_and_verifies(lab: Lab) -> None:
    admin = lab.ctx(lab.admin)
    row = step_validation.change_step_state(
        admin,
        "segment.otsu",
        1,
        state="draft",
        reason="OQ re-run",
        password=PASSWORD,
        acknowledge_statement=STATEMENT_SHA256,
    )
    assert _state(lab) == "draft"
    assert (row.record_type, row.meaning, row.reason) == (
        "step_validation",
        "approved",
        "OQ re-run",
    )
    [verdict] = signing.record_signatures(admin, "step_validation", row.record_id)
    assert verdict.ok
    assert all(v.ok for v in signature_admin.verify_every_signature(lab.uow))


@pytest.mark.req("P11-17", "A11-04")
def test_refused_state_changes_change_nothing(lab: Lab) -> None:
    admin = lab.ctx(lab.admin)
    with pytest.raises(PermissionDeniedError, match="acknowledge the signature-accountability"):
        step_validation.change_step_state(
            admin, "segment.otsu", 1, state="draft", reason="OQ", password=PASSWORD
        )
    signer_checks.record_acknowledgement(admin)  # read before an earlier signature
    lab.uow.commit()
    with pytest.raises(AuthenticationError):
        step_validation.change_step_state(
            admin, "segment.otsu", 1, state="draft", reason="OQ", password="wrong"
        )
    with pytest.raises(PermissionDeniedError, match="only an administrator"):
        step_validation.change_step_state(
            lab.ctx(lab.reviewer), "segment.otsu", 1, state="draft", reason="OQ", password=PASSWORD
        )
    with pytest.raises(UserError, match="needs a reason"):
        step_validation.change_step_state(
            admin, "segment.otsu", 1, state="draft", reason=" ", password=PASSWORD
        )
    with pytest.raises(UserError, match="no validation evidence"):
        step_validation.change_step_state(
            admin, "measure.particles", 1, state="validated", reason="x", password=PASSWORD
        )
    assert _state(lab) == "validated"
    assert _signatures(lab) == 0
