"""Signing as a directory user: a fresh LDAP bind each time; names frozen at signing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from lims.auth.ldap import LdapDirectory
from lims.errors import AuthenticationError
from lims.models import Signature, User
from lims.services import login, signing
from lims.settings import Settings
from tests.integration.auth.conftest import (  # noqa: F401 - fixtures
    NEW_USER_PASSWORD,
    directory,
    ldap_settings,
    new_user,
    slapd,
)
from tests.integration.signatures.conftest import Lab
from tests.ldap_server import SlapdServer


def _count(lab: Lab) -> int:
    return lab.uow.session.scalar(select(func.count()).select_from(Signature)) or 0


@pytest.mark.req("P11-26", "P11-21", "P11-32")
def test_a_directory_reviewer_signs_by_a_fresh_bind_and_a_rename_leaves_the_signature(
    lab: Lab,
    ldap_settings: Settings,  # noqa: F811 - fixture
    directory: LdapDirectory,  # noqa: F811 - fixture
    slapd: SlapdServer,  # noqa: F811 - fixture
    new_user: Callable[..., str],  # noqa: F811 - fixture
) -> None:
    uid = new_user("qa-reviewers", cn="Dorothy Hodgkin")
    identity = login.authenticate(
        lab.uow,
        ldap_settings,
        username=uid,
        password=NEW_USER_PASSWORD,
        context={"via": "test"},
        directory=directory,
    ).identity
    ctx = lab.ctx(identity)
    version = str(lab.version.id)
    for bad in ("not the password", "", "*)(uid=*", "*)(objectClass=*"):
        with pytest.raises(AuthenticationError):
            signing.sign(ctx, "dataset_version", version, "verified", bad, directory=directory)
        lab.uow.session.expire_all()
    assert _count(lab) == 0
    user = lab.uow.session.get(User, identity.user_id)
    assert user is not None
    assert user.failed_logins >= 1

    row = signing.sign(
        ctx, "dataset_version", version, "verified", NEW_USER_PASSWORD, uid, directory=directory
    )
    assert row.printed_name == f"Dorothy Hodgkin ({uid})"

    slapd.rename_cn(uid, "Dorothy Crowfoot Hodgkin")
    renamed = login.authenticate(
        lab.uow,
        ldap_settings,
        username=uid,
        password=NEW_USER_PASSWORD,
        context={"via": "test"},
        directory=directory,
    ).identity
    assert renamed.display_name == "Dorothy Crowfoot Hodgkin"
    [verdict] = signing.record_signatures(ctx, "dataset_version", version)
    assert verdict.ok
    assert verdict.signature.printed_name == f"Dorothy Hodgkin ({uid})"
