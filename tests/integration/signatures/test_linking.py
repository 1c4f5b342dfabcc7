"""Linking (§11.70): signatures are immutable, sealed, and break when their record changes."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select, text

from lims.models import Signature, SigningKey
from lims.services import signature_admin, signing
from signatures.manifest import parse_manifest
from tests.conftest import as_owner
from tests.integration.signatures.conftest import PASSWORD, Lab, assert_refused_for_app_and_owner


def _signed(lab: Lab) -> tuple[str, Signature]:
    analysis = lab.draft()
    revision = lab.revision_id(analysis)
    row = signing.sign(lab.ctx(lab.author), "analysis", revision, "authored", PASSWORD)
    return revision, row


def _broken(lab: Lab) -> dict[str, tuple[str, ...]]:
    return {
        str(v.signature.id): v.problems
        for v in signature_admin.verify_every_signature(lab.uow)
        if not v.ok
    }


@pytest.mark.req("P11-21", "P11-22")
def test_signature_rows_refuse_update_and_delete_for_app_and_owner(lab: Lab) -> None:
    _, row = _signed(lab)
    assert_refused_for_app_and_owner(
        lab.uow.session,
        (
            "UPDATE signatures SET printed_name = 'Someone Else'",
            "DELETE FROM signatures",
            "UPDATE analysis_revisions SET results = 'better'",
            "UPDATE signing_keys SET reason = 'x'",
        ),
    )
    assert lab.uow.session.get(Signature, row.id) is not None


@pytest.mark.req("P11-22", "A11-17")
def test_altering_a_signed_record_behind_the_app_breaks_its_signatures(lab: Lab) -> None:
    revision, row = _signed(lab)
    assert _broken(lab) == {}
    session = lab.uow.session
    with as_owner(session):
        session.execute(
            text("ALTER TABLE analysis_revisions DISABLE TRIGGER analysis_revisions_immutable")
        )
        session.execute(
            text("UPDATE analysis_revisions SET results = 'Porosity 2 %' WHERE id = :id"),
            {"id": revision},
        )
        session.execute(
            text(
                "ALTER TABLE analysis_revisions ENABLE ALWAYS TRIGGER analysis_revisions_immutable"
            )
        )
    session.expire_all()
    broken = _broken(lab)
    assert list(broken) == [str(row.id)]
    assert "content changed since signing" in " ".join(broken[str(row.id)])


@pytest.mark.req("P11-22")
def test_altering_referenced_data_breaks_the_signature_too(lab: Lab) -> None:
    _, row = _signed(lab)
    session = lab.uow.session
    with as_owner(session):
        session.execute(text("ALTER TABLE version_files DISABLE TRIGGER version_files_immutable"))
        session.execute(
            text("UPDATE version_files SET size_bytes = size_bytes + 1 WHERE version_id = :v"),
            {"v": lab.version.id},
        )
        session.execute(
            text("ALTER TABLE version_files ENABLE ALWAYS TRIGGER version_files_immutable")
        )
    session.expire_all()
    assert list(_broken(lab)) == [str(row.id)]


@pytest.mark.req("P11-22")
def test_a_signature_copied_to_another_record_is_invalid(lab: Lab) -> None:
    _, row = _signed(lab)
    other = lab.revision_id(lab.draft("another analysis"))
    session = lab.uow.session
    session.execute(
        text(
            "INSERT INTO signatures (record_type, record_id, content_sha256, meaning, reason,"
            " signer_id, signer_username, printed_name, signed_at, key_id, manifest, signature)"
            " SELECT record_type, :other, content_sha256, meaning, reason, signer_id,"
            " signer_username, printed_name, signed_at, key_id, manifest, signature"
            " FROM signatures WHERE id = :id"
        ),
        {"other": other, "id": row.id},
    )
    broken = _broken(lab)
    assert len(broken) == 1
    problems = " ".join(next(iter(broken.values())))
    assert "differs from its signed manifest" in problems
    assert "content changed since signing" in problems


@pytest.mark.req("P11-22")
def test_a_forged_manifest_fails_the_seal(lab: Lab) -> None:
    _, row = _signed(lab)
    session = lab.uow.session
    fields = parse_manifest(row.manifest)
    fields["printed_name"] = "Someone Else (other)"
    forged = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    with as_owner(session):
        session.execute(text("ALTER TABLE signatures DISABLE TRIGGER signatures_immutable"))
        session.execute(
            text("UPDATE signatures SET manifest = :m, printed_name = :p WHERE id = :id"),
            {"m": forged, "p": fields["printed_name"], "id": row.id},
        )
        session.execute(text("ALTER TABLE signatures ENABLE ALWAYS TRIGGER signatures_immutable"))
    session.expire_all()
    assert "Ed25519 signature does not match" in " ".join(_broken(lab)[str(row.id)])


@pytest.mark.req("A11-17")
def test_keys_rotate_encrypted_at_rest_and_export_for_offline_checks(lab: Lab) -> None:
    _, first = _signed(lab)
    old_key = first.key_id
    with pytest.raises(Exception, match="administrator"):
        signature_admin.rotate_signing_key(lab.ctx(lab.author), reason="yearly")
    new = signature_admin.rotate_signing_key(lab.ctx(lab.admin), reason="yearly rotation")
    assert new.key_id != old_key
    _, second = _signed(lab)
    assert second.key_id == new.key_id
    assert _broken(lab) == {}

    stored = lab.uow.session.get(SigningKey, old_key)
    assert stored is not None
    assert "ENCRYPTED PRIVATE KEY" in stored.private_pem_encrypted
    with pytest.raises(TypeError):
        serialization.load_pem_private_key(stored.private_pem_encrypted.encode(), None)

    exported = json.loads(signature_admin.export_public_keys(lab.uow))
    keys = {
        k["key_id"]: serialization.load_pem_public_key(k["public_pem"].encode())
        for k in exported["keys"]
    }
    assert set(keys) == {old_key, new.key_id}
    for row in (first, second):
        keys[row.key_id].verify(base64.b64decode(row.signature), row.manifest.encode())  # type: ignore[union-attr, call-arg]
    assert "private" not in json.dumps(exported).lower()


def test_the_manifest_holds_every_bound_field(lab: Lab) -> None:
    revision, row = _signed(lab)
    fields = parse_manifest(row.manifest)
    assert fields["record_type"] == "analysis"
    assert fields["record_id"] == revision
    assert fields["content_sha256"] == row.content_sha256
    assert fields["printed_name"] == "Marie Curie (mcurie)"
    assert fields["meaning"] == "authored"
    assert fields["signed_at"].endswith("+00:00")
    assert fields["key_id"] == row.key_id
    rows = lab.uow.session.scalars(select(Signature)).all()
    assert rows == [row]
