"""LDAP fixtures: one real slapd per test session and xdist worker, settings for it."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Iterator

import pytest

with warnings.catch_warnings():
    # ldap3 2.9.1 imports names that pyasn1 >= 0.6 deprecates; harmless, only at import.
    warnings.simplefilter("ignore", DeprecationWarning)
    import ldap3  # noqa: F401

from lims.auth.ldap import LdapDirectory
from lims.settings import Settings
from tests.ldap_server import GROUPS, PEOPLE, SERVICE_DN, SERVICE_PASSWORD, SlapdServer

NEW_USER_PASSWORD = "pw-Ab3!"
ROLE_MAP = (
    "ct-microscopists=microscopist;qa-reviewers=reviewer;auditors=auditor;"
    "ctvault-admins=admin;ct-viewers=viewer"
)


@pytest.fixture(scope="session")
def slapd() -> Iterator[SlapdServer]:
    """A private slapd (LDAP + LDAPS + StartTLS, ppolicy) loaded with fixtures/ldap/base.ldif."""
    with SlapdServer() as server:
        yield server


@pytest.fixture
def ldap_settings(slapd: SlapdServer) -> Settings:
    """Search-then-bind over LDAPS with the service account, the test CA and the role map."""
    return Settings(
        ldap_url=slapd.ldaps_url,
        ldap_bind_dn=SERVICE_DN,
        ldap_bind_password=SERVICE_PASSWORD,
        ldap_user_base=PEOPLE,
        ldap_group_base=GROUPS,
        ldap_ca_file=slapd.ca_file,
        ldap_role_map=ROLE_MAP,
        ldap_timeout_s=3,
    )


@pytest.fixture
def directory(ldap_settings: Settings) -> LdapDirectory:
    return LdapDirectory(ldap_settings)


@pytest.fixture
def new_user(slapd: SlapdServer) -> Iterator[Callable[..., str]]:
    """Create throw-away users (``u-<hex>``) for tests that change or lock entries."""
    created: list[str] = []

    def make(
        *groups: str,
        password: str = NEW_USER_PASSWORD,
        uid: str | None = None,
        cn: str | None = None,
    ) -> str:
        name = uid or f"u-{uuid.uuid4().hex[:10]}"
        slapd.add_user(name, password, groups=groups, cn=cn)
        created.append(name)
        return name

    yield make
    for name in created:
        slapd.delete_user(name, missing_ok=True)
