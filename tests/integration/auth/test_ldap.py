"""LdapDirectory against a real slapd (LDAPS, StartTLS, ppolicy): no mocks."""

from __future__ import annotations

import socket
import subprocess
import time
import unicodedata
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lims.auth.ldap import (
    ROLE_NAMES,
    DirectoryAuthenticationError,
    DirectoryConfigError,
    DirectoryUnavailableError,
    DirectoryUser,
    LdapDirectory,
    parse_role_map,
)
from lims.errors import AuthenticationError, ConfigurationError, UserError
from lims.settings import Settings
from tests.ldap_server import PEOPLE, SlapdServer

MCURIE_PASSWORD = "radium-1898"
DIRECT_BIND_DN = "uid={username},ou=people,dc=ctvault,dc=test"

NewUser = Callable[..., str]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (kernel backlog) and never answers a byte."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def _refused(directory: LdapDirectory, username: str, password: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        directory.authenticate(username, password)
    assert str(caught.value) == "wrong user name or password"
    assert isinstance(caught.value, DirectoryAuthenticationError)
    return caught.value.reason


# -- logging in -------------------------------------------------------------------------------


@pytest.mark.req("P11-19", "P11-23", "P11-26")
def test_login_over_ldaps_returns_the_directory_user(
    directory: LdapDirectory, slapd: SlapdServer
) -> None:
    user = directory.authenticate("mcurie", MCURIE_PASSWORD)

    assert user == DirectoryUser(
        username="mcurie",
        display_name="Marie Curie",
        email="marie.curie@ctvault.test",
        directory_uuid=slapd.read("mcurie", "entryUUID")["entryUUID"][0],
        dn=f"uid=mcurie,{PEOPLE}",
        groups=("coffee-club", "ct-microscopists"),
        roles=frozenset({"microscopist"}),
    )


@pytest.mark.parametrize(
    ("username", "password", "roles"),
    [
        ("rfranklin", "photo-51", {"reviewer"}),
        ("aauditor", "ledger-42", {"auditor"}),
        ("ladmin", "root-of-trust", {"admin"}),
    ],
)
def test_roles_come_from_mapped_groups(
    directory: LdapDirectory, username: str, password: str, roles: set[str]
) -> None:
    assert directory.authenticate(username, password).roles == roles


def test_user_name_is_returned_as_the_directory_spells_it(directory: LdapDirectory) -> None:
    assert directory.authenticate("  MCurie ", MCURIE_PASSWORD).username == "mcurie"


def test_user_in_no_mapped_group_authenticates_with_no_roles(directory: LdapDirectory) -> None:
    user = directory.authenticate("nogroup", "lonely-7")

    assert user.display_name == "Nora Group"
    assert user.groups == ()
    assert user.roles == frozenset()  # the caller refuses the login, not the directory


@pytest.mark.req("P11-19")
def test_login_with_start_tls(ldap_settings: Settings, slapd: SlapdServer) -> None:
    directory = LdapDirectory(ldap_settings.replace(ldap_url=slapd.ldap_url, ldap_start_tls=True))

    assert directory.authenticate("mcurie", MCURIE_PASSWORD).roles == {"microscopist"}
    assert directory.lookup("rfranklin") is not None


@pytest.mark.req("P11-19")
def test_plain_ldap_is_refused_unless_explicitly_allowed(
    ldap_settings: Settings, slapd: SlapdServer
) -> None:
    plain = ldap_settings.replace(ldap_url=slapd.ldap_url, ldap_ca_file=None)

    with pytest.raises(DirectoryConfigError, match="plain text"):
        LdapDirectory(plain)

    allowed = LdapDirectory(plain.replace(ldap_allow_plain=True))
    assert allowed.authenticate("mcurie", MCURIE_PASSWORD).username == "mcurie"


def test_ldaps_url_with_start_tls_is_a_configuration_error(ldap_settings: Settings) -> None:
    with pytest.raises(DirectoryConfigError, match="START_TLS"):
        LdapDirectory(ldap_settings.replace(ldap_start_tls=True))


@pytest.mark.req("P11-26")
def test_direct_bind_mode(ldap_settings: Settings) -> None:
    directory = LdapDirectory(
        ldap_settings.replace(
            ldap_direct_bind_dn=DIRECT_BIND_DN, ldap_bind_dn=None, ldap_bind_password=None
        )
    )

    user = directory.authenticate("mcurie", MCURIE_PASSWORD)

    assert (user.username, user.display_name, user.roles) == (
        "mcurie",
        "Marie Curie",
        frozenset({"microscopist"}),
    )
    assert _refused(directory, "mcurie", "radium-1899") == "bad-credentials"
    for name in ("*", "mcurie,ou=people", "mcurie+cn=Marie Curie", "*)(uid=*"):
        assert _refused(directory, name, MCURIE_PASSWORD) == "bad-credentials"
    with pytest.raises(DirectoryConfigError, match="service account"):
        directory.lookup("mcurie")  # per-request checks need the service account


def test_special_characters_in_user_names_are_escaped_not_refused(
    ldap_settings: Settings, new_user: NewUser
) -> None:
    odd = "o'brien (lab)*\\,+=#;<>"
    new_user("qa-reviewers", uid=odd, password="odd-pass-1")
    direct = ldap_settings.replace(
        ldap_direct_bind_dn=DIRECT_BIND_DN, ldap_bind_dn=None, ldap_bind_password=None
    )

    for settings in (ldap_settings, direct):
        user = LdapDirectory(settings).authenticate(odd, "odd-pass-1")
        assert (user.username, user.roles) == (odd, frozenset({"reviewer"}))


# -- refusing ---------------------------------------------------------------------------------


@pytest.mark.req("P11-26")
def test_wrong_password_is_refused(directory: LdapDirectory, new_user: NewUser) -> None:
    uid = new_user("ct-microscopists", password="right-1")

    assert _refused(directory, uid, "wrong-1") == "bad-credentials"
    assert _refused(directory, uid, "Right-1") == "bad-credentials"
    assert directory.authenticate(uid, "right-1").username == uid


def test_unknown_user_is_refused(directory: LdapDirectory) -> None:
    assert _refused(directory, "nobody-here", MCURIE_PASSWORD) == "bad-credentials"


@pytest.mark.req("P11-32")
@pytest.mark.parametrize("password", ["", " ", "   ", "\t", "\n", " \t\r\n "])
def test_empty_or_whitespace_password_never_authenticates(
    ldap_settings: Settings, slapd: SlapdServer, password: str
) -> None:
    # The server itself accepts a DN with an empty password: an RFC 4513 unauthenticated bind
    # (ldap3 refuses to send one, so ask OpenLDAP's own client).
    whoami = subprocess.run(
        ["ldapwhoami", "-x", "-H", slapd.ldap_url, "-D", slapd.user_dn("mcurie"), "-w", ""],
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    )
    assert (whoami.returncode, whoami.stdout.strip()) == (0, "anonymous")
    direct = ldap_settings.replace(
        ldap_direct_bind_dn=DIRECT_BIND_DN, ldap_bind_dn=None, ldap_bind_password=None
    )

    for settings in (ldap_settings, direct):
        assert _refused(LdapDirectory(settings), "mcurie", password) == "invalid-input"


@pytest.mark.req("P11-32")
@pytest.mark.parametrize(
    "username",
    [
        "*",
        "*)(uid=*",
        "mcurie)(|(uid=*",
        "*)(objectClass=*",
        "mcurie*",
        "m*",
        "*)(|(objectClass=*)",
        "mcurie)(uid=mcurie",
        "\\2a",
        "uid=mcurie,ou=people,dc=ctvault,dc=test",
        "mcurie\x00",
        "(uid=mcurie)",
    ],
)
def test_injection_never_authenticates(directory: LdapDirectory, username: str) -> None:
    _refused(directory, username, MCURIE_PASSWORD)
    assert directory.lookup(username) is None


@pytest.mark.req("P11-32")
@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    username=st.lists(
        st.sampled_from([*"mcurieMCURIE*()\\|&!=,+<>#;\"' \x00\t", "uid", "cn", "mcurie"]),
        max_size=10,
    ).map("".join)
)
def test_no_crafted_user_name_logs_in_as_someone_else(
    directory: LdapDirectory, username: str
) -> None:
    try:
        user = directory.authenticate(username, MCURIE_PASSWORD)
    except AuthenticationError:
        return
    # Only a spelling of "mcurie" itself may log in (LDAP matches uid case-insensitively).
    assert unicodedata.normalize("NFKC", username).strip().casefold() == "mcurie"
    assert user.username == "mcurie"


@pytest.mark.parametrize("username", ["mcurie\n", "mc\x07urie", "mc\u200burie", "a" * 257, ""])
def test_unusable_user_names_are_refused_before_binding(
    directory: LdapDirectory, username: str
) -> None:
    assert _refused(directory, username, MCURIE_PASSWORD) == "invalid-input"


def test_a_filter_that_finds_two_entries_is_refused(directory: LdapDirectory) -> None:
    # uid=twin exists in ou=people and in ou=contractors,ou=people, same password
    assert _refused(directory, "twin", "twin-pass") == "bad-credentials"
    assert directory.lookup("twin") is None


# -- password policy (slapd ppolicy overlay) --------------------------------------------------


@pytest.mark.req("P11-31")
def test_expired_password_cannot_log_in(directory: LdapDirectory) -> None:
    assert _refused(directory, "expired", "expired-9") == "password-expired"


@pytest.mark.req("P11-31")
def test_password_that_must_be_changed_after_reset_cannot_log_in(
    directory: LdapDirectory,
) -> None:
    # slapd answers this bind with *success* plus a ppolicy changeAfterReset error
    assert _refused(directory, "mustchange", "reset-me-1") == "password-must-change"


@pytest.mark.req("P11-31")
def test_locked_user_cannot_log_in_and_lookup_says_gone(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user("ct-microscopists", password="locked-1")
    assert directory.lookup(uid) is not None

    slapd.lock_user(uid)

    assert directory.lookup(uid) is None
    assert _refused(directory, uid, "locked-1") == "account-locked"
    slapd.unlock_user(uid)
    assert directory.authenticate(uid, "locked-1").username == uid


@pytest.mark.req("P11-31")
def test_repeated_wrong_passwords_lock_the_account(
    directory: LdapDirectory, new_user: NewUser
) -> None:
    uid = new_user("ct-microscopists", password="right-2")
    for _ in range(5):  # pwdMaxFailure of the default policy
        _refused(directory, uid, "guess")

    assert _refused(directory, uid, "right-2") == "account-locked"
    assert directory.lookup(uid) is None


# -- the directory changes --------------------------------------------------------------------


def test_group_change_is_reflected_at_the_next_login_and_lookup(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user("ct-microscopists", password="pw-1")
    assert directory.authenticate(uid, "pw-1").roles == {"microscopist"}

    slapd.remove_from_group(uid, "ct-microscopists")
    slapd.add_to_group(uid, "qa-reviewers")
    slapd.add_to_group(uid, "ct-viewers")

    assert directory.authenticate(uid, "pw-1").roles == {"reviewer", "viewer"}
    looked_up = directory.lookup(uid)
    assert looked_up is not None
    assert looked_up.groups == ("ct-viewers", "qa-reviewers")


def test_password_change_takes_effect(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user(password="old-pw-1")

    slapd.set_password(uid, "new-pw-2")

    assert _refused(directory, uid, "old-pw-1") == "bad-credentials"
    assert directory.authenticate(uid, "new-pw-2").username == uid


def test_deleted_user_is_gone(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user("ct-microscopists", password="pw-3")
    assert directory.lookup(uid) is not None

    slapd.delete_user(uid)

    assert directory.lookup(uid) is None
    assert _refused(directory, uid, "pw-3") == "bad-credentials"


def test_lookup_of_an_unknown_or_unusable_name_is_none(directory: LdapDirectory) -> None:
    assert directory.lookup("nobody-here") is None
    assert directory.lookup("") is None
    assert directory.lookup("x" * 300) is None


@pytest.mark.req("P11-23")
def test_renamed_printed_name_keeps_the_entry_uuid(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user(password="pw-4", cn="Lise Meitner")
    before = directory.authenticate(uid, "pw-4")

    slapd.rename_cn(uid, "Lise Meitner-Frisch")

    after = directory.lookup(uid)
    assert after is not None
    assert after.display_name == "Lise Meitner-Frisch"
    assert after.directory_uuid == before.directory_uuid


@pytest.mark.req("P11-23")
def test_a_recreated_user_name_has_a_new_entry_uuid(
    directory: LdapDirectory, slapd: SlapdServer, new_user: NewUser
) -> None:
    uid = new_user(password="pw-5")
    first = directory.authenticate(uid, "pw-5")

    slapd.delete_user(uid)
    new_user(uid=uid, password="pw-5")

    second = directory.authenticate(uid, "pw-5")
    assert second.username == first.username
    assert second.directory_uuid != first.directory_uuid


# -- the directory is down or not trusted -----------------------------------------------------


def _assert_unavailable(directory: LdapDirectory, limit_s: float) -> None:
    for call in (
        lambda: directory.authenticate("mcurie", MCURIE_PASSWORD),
        lambda: directory.lookup("mcurie"),
    ):
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailableError) as caught:
            call()
        assert time.monotonic() - started < limit_s
        assert str(caught.value) == (
            f"the directory server at {directory.url} cannot be reached;"
            " try again later or contact IT"
        )
        assert isinstance(caught.value, UserError)


@pytest.mark.parametrize("scheme", ["ldaps", "ldap"])
def test_closed_port_is_unavailable_at_once(ldap_settings: Settings, scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{_closed_port()}"
    directory = LdapDirectory(ldap_settings.replace(ldap_url=url, ldap_allow_plain=True))

    _assert_unavailable(directory, limit_s=1.0)


@pytest.mark.parametrize(
    ("scheme", "start_tls"), [("ldaps", False), ("ldap", True), ("ldap", False)]
)
def test_a_server_that_never_answers_times_out(
    ldap_settings: Settings, silent_port: int, scheme: str, start_tls: bool
) -> None:
    directory = LdapDirectory(
        ldap_settings.replace(
            ldap_url=f"{scheme}://127.0.0.1:{silent_port}",
            ldap_start_tls=start_tls,
            ldap_allow_plain=not start_tls,
            ldap_timeout_s=1,
        )
    )

    _assert_unavailable(directory, limit_s=2.5)


def test_a_stopped_server_is_unavailable(ldap_settings: Settings) -> None:
    with SlapdServer() as server:
        directory = LdapDirectory(
            ldap_settings.replace(ldap_url=server.ldaps_url, ldap_ca_file=server.ca_file)
        )
        assert directory.authenticate("mcurie", MCURIE_PASSWORD).username == "mcurie"

    _assert_unavailable(directory, limit_s=1.0)


@pytest.mark.req("P11-19")
@pytest.mark.parametrize("start_tls", [False, True])
def test_untrusted_certificate_is_an_error_never_a_downgrade(
    ldap_settings: Settings, slapd: SlapdServer, start_tls: bool
) -> None:
    url = slapd.ldap_url if start_tls else slapd.ldaps_url
    directory = LdapDirectory(
        ldap_settings.replace(
            ldap_url=url, ldap_start_tls=start_tls, ldap_ca_file=slapd.other_ca_file
        )
    )

    for call in (
        lambda: directory.authenticate("mcurie", MCURIE_PASSWORD),
        lambda: directory.lookup("mcurie"),
    ):
        with pytest.raises(DirectoryConfigError, match="cannot be trusted") as caught:
            call()
        assert "self-signed certificate in certificate chain" in str(caught.value)


@pytest.mark.req("P11-19")
def test_certificate_for_another_host_name_is_refused(
    ldap_settings: Settings, slapd: SlapdServer
) -> None:
    # Trusted CA, but the certificate names localhost and 127.0.0.1, not 127.0.0.2.
    directory = LdapDirectory(ldap_settings.replace(ldap_url=slapd.ldaps_wrong_name_url))

    with pytest.raises(DirectoryConfigError, match="mismatch"):
        directory.authenticate("mcurie", MCURIE_PASSWORD)


def test_localhost_name_in_certificate_is_accepted(
    ldap_settings: Settings, slapd: SlapdServer
) -> None:
    url = f"ldaps://localhost:{slapd.ldaps_port}"
    directory = LdapDirectory(ldap_settings.replace(ldap_url=url))

    assert directory.authenticate("mcurie", MCURIE_PASSWORD).username == "mcurie"


# -- configuration ----------------------------------------------------------------------------


def test_unreadable_ca_file_is_a_configuration_error(
    ldap_settings: Settings, slapd: SlapdServer
) -> None:
    with pytest.raises(DirectoryConfigError, match="CA_FILE"):
        LdapDirectory(ldap_settings.replace(ldap_ca_file=slapd.folder / "missing.pem"))


def test_wrong_service_password_is_a_configuration_error(ldap_settings: Settings) -> None:
    directory = LdapDirectory(ldap_settings.replace(ldap_bind_password="not-it"))

    with pytest.raises(DirectoryConfigError, match="service account"):
        directory.authenticate("mcurie", MCURIE_PASSWORD)


@pytest.mark.parametrize("password", [None, "", "  "])
def test_service_account_without_password_is_refused(
    ldap_settings: Settings, password: str | None
) -> None:
    with pytest.raises(DirectoryConfigError, match="BIND_PASSWORD"):
        LdapDirectory(ldap_settings.replace(ldap_bind_password=password))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"ldap_url": None}, "LDAP_URL is not set"),
        ({"ldap_url": "http://127.0.0.1"}, "must be ldaps://"),
        ({"ldap_url": "ldaps://127.0.0.1/dc=x"}, "takes no DN"),
        ({"ldap_user_base": None}, "USER_BASE"),
        ({"ldap_bind_dn": None}, "BIND_DN"),
        ({"ldap_user_filter": "(uid=*)"}, "USER_FILTER"),
        ({"ldap_direct_bind_dn": "uid=x,dc=ctvault,dc=test"}, "DIRECT_BIND_DN"),
        ({"ldap_timeout_s": 0}, "TIMEOUT"),
    ],
)
def test_incomplete_settings_are_refused(
    ldap_settings: Settings, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(DirectoryConfigError, match=message):
        LdapDirectory(ldap_settings.replace(**changes))


def test_role_map_parsing() -> None:
    assert parse_role_map(" CT-Microscopists = microscopist ;; ct-microscopists=viewer;") == {
        "ct-microscopists": frozenset({"microscopist", "viewer"})
    }
    assert parse_role_map("") == {}
    with pytest.raises(ConfigurationError, match="unknown role 'superuser'"):
        parse_role_map("admins=superuser")
    with pytest.raises(ConfigurationError, match="not GROUP_CN=role"):
        parse_role_map("admins")


def test_unknown_role_in_the_map_fails_at_construction(ldap_settings: Settings) -> None:
    with pytest.raises(ConfigurationError, match="unknown role"):
        LdapDirectory(ldap_settings.replace(ldap_role_map="ctvault-admins=root"))


def test_group_names_match_the_role_map_case_insensitively(ldap_settings: Settings) -> None:
    directory = LdapDirectory(ldap_settings.replace(ldap_role_map="CT-MICROSCOPISTS=microscopist"))

    assert directory.authenticate("mcurie", MCURIE_PASSWORD).roles == {"microscopist"}


def test_no_group_base_means_no_roles(ldap_settings: Settings) -> None:
    directory = LdapDirectory(ldap_settings.replace(ldap_group_base=None))

    user = directory.authenticate("mcurie", MCURIE_PASSWORD)
    assert (user.groups, user.roles) == ((), frozenset())


def test_role_names_match_the_role_table() -> None:
    from lims.auth.roles import Role

    assert {role.value for role in Role} == ROLE_NAMES
