"""Log in against the lab directory (LDAP) and read who a user is and which roles they hold.

``LdapDirectory(settings).authenticate(username, password)`` checks a password with a fresh
bind of that user and returns a ``DirectoryUser``; ``lookup(username)`` reads the user with the
service account (per request: refuse users that were deleted or locked meanwhile).

Security rules kept here, not left to the library or the server:

* Passwords travel only over TLS: ``ldaps://`` or ``ldap://`` + StartTLS, certificate and host
  name verified against ``ldap_ca_file`` (or the system CAs). Plain ``ldap://`` needs the
  explicit ``ldap_allow_plain``. A TLS failure is an error, never a fallback to plain text.
* An empty or whitespace-only password is refused before any bind: RFC 4513 lets a simple bind
  with a DN and no password succeed as an *unauthenticated* bind.
* Every value put into a filter is escaped (RFC 4515) and into a DN escaped as an RDN value
  (RFC 4514); user names with control characters or over 256 characters are refused.
* The user search must find exactly one entry.
* OpenLDAP ppolicy is asked for its response control, so a locked account, an expired password
  or one that must be changed after a reset never logs in (the last one binds successfully).

No Flask, no database: the web layer maps the errors to responses and audits them.
"""

from __future__ import annotations

import logging
import re
import ssl
import unicodedata
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from ldap3 import BASE, DEREF_NEVER, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import (
    LDAPCommunicationError,
    LDAPExceptionError,
    LDAPInvalidFilterError,
    LDAPPasswordIsMandatoryError,
    LDAPSASLPrepError,
    LDAPStartTLSError,
)
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from lims.errors import AuthenticationError, ConfigurationError, UserError
from lims.settings import Settings

log = logging.getLogger(__name__)

#: The global roles of ctvault (DESIGN.md "People"); mirrors lims.auth.roles.
ROLE_NAMES: Final = frozenset({"viewer", "microscopist", "reviewer", "auditor", "admin"})

MAX_USERNAME_LENGTH: Final = 256
MAX_PASSWORD_LENGTH: Final = 4096
WRONG_CREDENTIALS: Final = "wrong user name or password"

PPOLICY_CONTROL: Final = "1.3.6.1.4.1.42.2.27.8.5.1"
LOCKED_ATTRIBUTE: Final = "pwdAccountLockedTime"

_INVALID_CREDENTIALS = 49
_SIZE_LIMIT_EXCEEDED = 4
_NO_SUCH_OBJECT = 32
_STRONGER_AUTH_REQUIRED = 8
_UNAVAILABLE_CODES = frozenset({51, 52})  # busy, unavailable
_PPOLICY_ERRORS: Final = {0: "password-expired", 1: "account-locked", 2: "password-must-change"}
# Control characters, format characters (zero-width, bidi overrides), surrogates, separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_VERIFY_FAILED = re.compile(r"certificate verify failed: ([^(]*)")


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A person as the directory describes them at one moment."""

    username: str
    display_name: str
    email: str | None
    directory_uuid: str
    dn: str
    groups: tuple[str, ...]
    roles: frozenset[str]


class DirectoryUnavailableError(UserError):
    """The directory server cannot be reached (down, refused, timed out)."""

    def __init__(self, url: str, detail: str = "") -> None:
        super().__init__(
            f"the directory server at {url} cannot be reached; try again later or contact IT"
        )
        self.url = url
        self.detail = detail  # for the log, not for the user


class DirectoryConfigError(ConfigurationError):
    """The LDAP settings are incomplete or contradictory, or the server refuses them.

    Also raised when the server's TLS certificate is not trusted or does not match its name:
    retrying does not help, an administrator must fix the CA file or the URL.
    """


class DirectoryAuthenticationError(AuthenticationError):
    """Login refused; the message never says which part was wrong, ``reason`` does (for audit).

    Reasons: ``bad-credentials`` (unknown user, wrong password, not exactly one entry),
    ``invalid-input`` (empty password, unusable user name, refused before any bind),
    ``account-locked``, ``password-expired``, ``password-must-change`` (ppolicy).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(WRONG_CREDENTIALS)
        self.reason = reason


def parse_role_map(text: str) -> dict[str, frozenset[str]]:
    """Parse ``"GROUP_CN=role;GROUP_CN=role"`` into {casefolded group CN: roles}.

    A group may appear more than once to grant several roles; empty items are ignored.

    Raises:
        DirectoryConfigError: an item without ``=``, or a role ctvault does not know.
    """
    mapping: dict[str, set[str]] = {}
    for raw_item in text.split(";"):
        item = raw_item.strip()
        if not item:
            continue
        group, sep, role = (part.strip() for part in item.partition("="))
        if not sep or not group or not role:
            raise DirectoryConfigError(f"CTVAULT_LDAP_ROLE_MAP: {item!r} is not GROUP_CN=role")
        if role not in ROLE_NAMES:
            raise DirectoryConfigError(
                f"CTVAULT_LDAP_ROLE_MAP: unknown role {role!r} for group {group!r};"
                f" roles are {', '.join(sorted(ROLE_NAMES))}"
            )
        mapping.setdefault(group.casefold(), set()).add(role)
    return {group: frozenset(roles) for group, roles in mapping.items()}


def _valid_username(username: str) -> str | None:
    """The user name stripped of surrounding blanks, or None when it cannot be a user name."""
    if len(username) > MAX_USERNAME_LENGTH:
        return None
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in username):
        return None  # before stripping: "mcurie\n" is refused, not read as "mcurie"
    return username.strip() or None


def _ppolicy_error(value: object) -> int | None:
    """The ``error`` of a PasswordPolicyResponseValue (BER), or None when absent/unreadable.

    ``SEQUENCE { warning [0] ... OPTIONAL, error [1] ENUMERATED OPTIONAL }``.
    """
    if not isinstance(value, bytes | bytearray) or len(value) < 2 or value[0] != 0x30:  # noqa: PLR2004
        return None
    data = bytes(value)

    def read_length(pos: int) -> tuple[int, int]:
        first = data[pos]
        if first < 0x80:  # noqa: PLR2004
            return first, pos + 1
        count = first & 0x7F
        return int.from_bytes(data[pos + 1 : pos + 1 + count], "big"), pos + 1 + count

    try:
        length, pos = read_length(1)
        end = min(pos + length, len(data))
        while pos < end:
            tag = data[pos]
            length, start = read_length(pos + 1)
            if tag == 0x81:  # noqa: PLR2004 - [1] error, implicit ENUMERATED
                return int.from_bytes(data[start : start + length], "big")
            pos = start + length
    except IndexError:
        return None
    return None


class _VerifiedTls(Tls):
    """TLS with the standard library's certificate *and host name* verification.

    ldap3 switches ``check_hostname`` off and checks names itself with the deprecated
    ``ssl.match_hostname``; here the SSLContext does both during the handshake.
    """

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED)
        self._context = context

    def wrap_socket(self, connection: Any, do_handshake: bool = False) -> None:  # noqa: ANN401, FBT001, FBT002 - ldap3's signature
        connection.socket = self._context.wrap_socket(
            connection.socket,
            server_side=False,
            do_handshake_on_connect=do_handshake,
            server_hostname=connection.server.host,
        )


class LdapDirectory:
    """The lab directory, configured from the ``ldap_*`` settings.

    Raises at construction:
        DirectoryConfigError: missing URL or base DNs, plain ``ldap://`` without StartTLS or
            ``ldap_allow_plain``, a service account without password, an unreadable CA file,
            or an invalid role map.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._configure_transport(settings)
        self._configure_accounts(settings)
        if settings.ldap_timeout_s <= 0:
            raise DirectoryConfigError("CTVAULT_LDAP_TIMEOUT_S must be a positive number")
        self._timeout = int(settings.ldap_timeout_s)
        self._role_map = parse_role_map(settings.ldap_role_map)
        self._user_attributes = [
            settings.ldap_attr_username,
            settings.ldap_attr_display_name,
            settings.ldap_attr_email,
            settings.ldap_attr_uuid,  # operational: returned only when named
        ]

    def _configure_transport(self, settings: Settings) -> None:
        """URL, LDAPS / StartTLS / plain, and the TLS context with the CA file."""
        if not settings.ldap_url:
            raise DirectoryConfigError("CTVAULT_LDAP_URL is not set")
        parts = urlsplit(settings.ldap_url.strip())
        scheme = parts.scheme.lower()
        if scheme not in {"ldap", "ldaps"} or not parts.hostname:
            raise DirectoryConfigError(
                f"CTVAULT_LDAP_URL must be ldaps://HOST[:PORT] or ldap://HOST[:PORT],"
                f" not {settings.ldap_url!r}"
            )
        if parts.path not in {"", "/"} or parts.query or parts.username or parts.password:
            raise DirectoryConfigError(
                "CTVAULT_LDAP_URL takes no DN, query or credentials: set the base DNs and the"
                " service account in their own settings"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise DirectoryConfigError(f"CTVAULT_LDAP_URL: {exc}") from exc
        self._ldaps = scheme == "ldaps"
        self._host = parts.hostname
        self._port = port or (636 if self._ldaps else 389)
        self.url = f"{scheme}://{self._host}:{self._port}"
        if self._ldaps and settings.ldap_start_tls:
            raise DirectoryConfigError(
                "CTVAULT_LDAP_START_TLS is for ldap:// URLs; ldaps:// is already encrypted"
            )
        self._start_tls = settings.ldap_start_tls
        if not self._ldaps and not self._start_tls and not settings.ldap_allow_plain:
            raise DirectoryConfigError(
                f"refusing to send passwords to {self.url} in plain text: use ldaps://,"
                " or set CTVAULT_LDAP_START_TLS=1 (CTVAULT_LDAP_ALLOW_PLAIN=1 only for a"
                " trusted loopback)"
            )
        self._tls = self._make_tls() if (self._ldaps or self._start_tls) else None

    def _configure_accounts(self, settings: Settings) -> None:
        """Search-then-bind (service account, user base) or direct bind."""
        self._direct_bind_dn = settings.ldap_direct_bind_dn
        if self._direct_bind_dn is not None and "{username}" not in self._direct_bind_dn:
            raise DirectoryConfigError("CTVAULT_LDAP_DIRECT_BIND_DN must contain {username}")
        self._service: tuple[str, str] | None = None
        if settings.ldap_bind_dn:
            if not settings.ldap_bind_password or not settings.ldap_bind_password.strip():
                # An empty password would make the service bind *unauthenticated* (RFC 4513).
                raise DirectoryConfigError(
                    "CTVAULT_LDAP_BIND_DN is set but CTVAULT_LDAP_BIND_PASSWORD is empty"
                )
            self._service = (settings.ldap_bind_dn, settings.ldap_bind_password)
        if self._direct_bind_dn is None:
            if self._service is None:
                raise DirectoryConfigError(
                    "set CTVAULT_LDAP_BIND_DN and CTVAULT_LDAP_BIND_PASSWORD (search then bind)"
                    " or CTVAULT_LDAP_DIRECT_BIND_DN"
                )
            if not settings.ldap_user_base:
                raise DirectoryConfigError("CTVAULT_LDAP_USER_BASE is not set")
        if "{username}" not in settings.ldap_user_filter:
            raise DirectoryConfigError("CTVAULT_LDAP_USER_FILTER must contain {username}")

    # -- public -------------------------------------------------------------------------------

    def authenticate(self, username: str, password: str) -> DirectoryUser:
        """Check ``password`` with a fresh bind as the user; return who they are.

        Raises:
            DirectoryAuthenticationError: (an AuthenticationError) wrong user name or password,
                refused input, or a ppolicy refusal (locked, expired, must change).
            DirectoryUnavailableError: the server cannot be reached or timed out.
            DirectoryConfigError: the settings or the server's certificate are wrong.
        """
        name = _valid_username(username)
        if name is None:
            log.info("ldap login refused before bind: unusable user name")
            raise DirectoryAuthenticationError("invalid-input")
        if not password or not password.strip() or len(password) > MAX_PASSWORD_LENGTH:
            # RFC 4513 §5.1.2: a DN with an empty password is an *unauthenticated* bind that
            # many servers answer with success. Never let one reach the server.
            log.info("ldap login refused before bind: empty or oversized password")
            raise DirectoryAuthenticationError("invalid-input")
        if self._direct_bind_dn is not None:
            return self._authenticate_direct(name, password)
        with self._service_connection() as service:
            found = self._find_user(service, name)
            if found is None:
                raise DirectoryAuthenticationError("bad-credentials")
            dn, attributes = found
            self._check_password(dn, password)
            return self._directory_user(service, dn, attributes, name)

    def lookup(self, username: str) -> DirectoryUser | None:
        """Read a user with the service account, or None if gone, ambiguous or locked.

        Raises:
            DirectoryUnavailableError: the server cannot be reached or timed out.
            DirectoryConfigError: no service account is configured, or the settings are wrong.
        """
        name = _valid_username(username)
        if name is None:
            return None
        if self._service is None:
            raise DirectoryConfigError(
                "checking users needs the service account: set CTVAULT_LDAP_BIND_DN and"
                " CTVAULT_LDAP_BIND_PASSWORD"
            )
        with self._service_connection() as service:
            found = self._find_user(service, name, extra=[LOCKED_ATTRIBUTE])
            if found is None:
                return None
            dn, attributes = found
            if attributes.get(LOCKED_ATTRIBUTE.lower()):
                log.info("ldap user %r is locked (ppolicy)", name)
                return None
            return self._directory_user(service, dn, attributes, name)

    # -- connections --------------------------------------------------------------------------

    def _make_tls(self) -> _VerifiedTls:
        ca_file = self.settings.ldap_ca_file
        try:
            context = ssl.create_default_context(
                ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None
            )
        except (OSError, ssl.SSLError) as exc:
            raise DirectoryConfigError(
                f"CTVAULT_LDAP_CA_FILE {ca_file} cannot be read as PEM certificates: {exc}"
            ) from exc
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = True
        return _VerifiedTls(context)

    @contextmanager
    def _connection(self, dn: str, password: str) -> Iterator[Connection]:
        """An open connection for ``dn``, TLS established (ldaps or StartTLS), not yet bound."""
        server = Server(
            self._host,
            port=self._port,
            use_ssl=self._ldaps,
            tls=self._tls,
            get_info=NONE,
            connect_timeout=self._timeout,
        )
        conn = Connection(
            server,
            user=dn,
            password=password,
            authentication=SIMPLE,
            check_names=False,  # DNs and filters are escaped here; do not let ldap3 re-parse
            receive_timeout=self._timeout,
            auto_referrals=False,
            read_only=True,
            raise_exceptions=False,
            return_empty_attributes=False,
        )
        try:
            try:
                conn.open(read_server_info=False)
                if self._start_tls and not conn.start_tls(read_server_info=False):
                    raise DirectoryConfigError(f"StartTLS with {self.url} did not start")
            except (LDAPStartTLSError, LDAPCommunicationError) as exc:
                if conn.socket is not None:  # ldap3 leaves a failed socket open
                    with suppress(OSError):
                        conn.socket.close()
                raise self._connection_error(exc) from exc
            if (self._ldaps or self._start_tls) and not isinstance(conn.socket, ssl.SSLSocket):
                raise DirectoryConfigError(f"the connection to {self.url} is not encrypted")
            yield conn
        except (LDAPCommunicationError, TimeoutError) as exc:
            raise self._connection_error(exc) from exc
        finally:
            try:
                conn.unbind()
            except (LDAPExceptionError, OSError):
                log.debug("ldap unbind failed", exc_info=True)

    def _connection_error(self, exc: BaseException) -> UserError:
        if isinstance(exc, ssl.SSLCertVerificationError):
            match = _VERIFY_FAILED.search(str(exc))
            reason = match.group(1).strip(" .") if match else "certificate verify failed"
            log.error("ldap TLS certificate of %s not trusted: %s", self.url, exc)
            return DirectoryConfigError(
                f"the directory server at {self.url} presented a TLS certificate that cannot"
                f" be trusted ({reason}); no password was sent. Check CTVAULT_LDAP_CA_FILE and"
                " CTVAULT_LDAP_URL, or contact IT"
            )
        if isinstance(exc, LDAPStartTLSError) and not isinstance(exc, OSError):
            log.error("ldap StartTLS refused by %s: %s", self.url, exc)
            return DirectoryConfigError(
                f"the directory server at {self.url} refused StartTLS ({exc}); use ldaps:// or"
                " enable TLS on the server"
            )
        log.warning("ldap server %s unreachable: %s", self.url, exc)
        return DirectoryUnavailableError(self.url, str(exc))

    @contextmanager
    def _service_connection(self) -> Iterator[Connection]:
        if self._service is None:  # pragma: no cover - guarded by callers
            raise DirectoryConfigError("no LDAP service account is configured")
        dn, password = self._service
        with self._connection(dn, password) as conn:
            code, description, _ = self._bind(conn)
            if code != 0:
                self._raise_for_result(code, description)
                log.error("ldap service account bind refused: %s", description)
                raise DirectoryConfigError(
                    f"the directory server at {self.url} refused the service account"
                    f" (CTVAULT_LDAP_BIND_DN): {description}"
                )
            yield conn

    @staticmethod
    def _bind(conn: Connection) -> tuple[int, str, int | None]:
        """Simple bind with the ppolicy request control: (result code, description, error)."""
        try:
            conn.bind(read_server_info=False, controls=[(PPOLICY_CONTROL, False, None)])
        except (LDAPPasswordIsMandatoryError, LDAPSASLPrepError) as exc:
            # RFC 4013 SASLprep refuses some characters; the password cannot be right.
            return _INVALID_CREDENTIALS, type(exc).__name__, None
        result: Mapping[str, Any] = conn.result or {}
        controls = result.get("controls") or {}
        policy = controls.get(PPOLICY_CONTROL) or {}
        error = _ppolicy_error(policy.get("value"))
        return int(result.get("result", -1)), str(result.get("description", "")), error

    def _raise_for_result(self, code: int, description: str) -> None:
        """Map results that are the server's state, not the user's doing."""
        if code in _UNAVAILABLE_CODES or code < 0:
            raise DirectoryUnavailableError(self.url, description)
        if code == _STRONGER_AUTH_REQUIRED:
            raise DirectoryConfigError(
                f"the directory server at {self.url} requires stronger authentication"
                f" ({description}); use ldaps:// or StartTLS"
            )

    def _check_password(self, dn: str, password: str) -> None:
        """Fresh connection, bind as ``dn``; refuse on failure or on a ppolicy error."""
        with self._connection(dn, password) as conn:
            self._bind_user(conn, dn)

    def _bind_user(self, conn: Connection, dn: str) -> None:
        code, description, error = self._bind(conn)
        if error is not None:
            # Includes changeAfterReset, which comes with a *successful* bind.
            reason = _PPOLICY_ERRORS.get(error, "bad-credentials")
            log.info("ldap login of %r refused by password policy: %s", dn, reason)
            raise DirectoryAuthenticationError(reason)
        if code == 0:
            return
        self._raise_for_result(code, description)
        if code != _INVALID_CREDENTIALS:
            log.warning("ldap bind of %r failed: %s (%s)", dn, code, description)
        raise DirectoryAuthenticationError("bad-credentials")

    # -- searches -----------------------------------------------------------------------------

    def _search(
        self,
        conn: Connection,
        base: str,
        search_filter: str,
        scope: Literal["BASE", "LEVEL", "SUBTREE"],
        attributes: list[str],
    ) -> tuple[int, str, list[tuple[str, dict[str, list[bytes]]]]]:
        try:
            conn.search(
                search_base=base,
                search_filter=search_filter,
                search_scope=scope,
                dereference_aliases=DEREF_NEVER,
                attributes=attributes,
                time_limit=self._timeout,
            )
        except LDAPInvalidFilterError as exc:
            raise DirectoryConfigError(
                f"invalid LDAP filter (CTVAULT_LDAP_USER_FILTER / _GROUP_FILTER): {exc}"
            ) from exc
        result: Mapping[str, Any] = conn.result or {}
        entries = []
        for item in conn.response or []:
            if item.get("type") != "searchResEntry":
                continue  # references are not followed
            raw = item.get("raw_attributes") or {}
            entries.append((str(item["dn"]), {str(k).lower(): list(v) for k, v in raw.items()}))
        return int(result.get("result", -1)), str(result.get("description", "")), entries

    def _find_user(
        self, conn: Connection, name: str, extra: list[str] | None = None
    ) -> tuple[str, dict[str, list[bytes]]] | None:
        """The single entry the user filter finds, or None (none, or more than one)."""
        search_filter = self.settings.ldap_user_filter.replace(
            "{username}", escape_filter_chars(name)
        )
        base = self.settings.ldap_user_base or ""
        code, description, entries = self._search(
            conn, base, search_filter, SUBTREE, self._user_attributes + (extra or [])
        )
        if code == _NO_SUCH_OBJECT:
            raise DirectoryConfigError(f"CTVAULT_LDAP_USER_BASE {base!r} does not exist")
        if code not in {0, _SIZE_LIMIT_EXCEEDED}:
            self._raise_for_result(code, description)
            raise DirectoryConfigError(f"the user search failed: {description} ({code})")
        if len(entries) != 1 or code == _SIZE_LIMIT_EXCEEDED:
            if entries:
                log.warning("ldap user filter matches %d entries for %r", len(entries), name)
            return None
        return entries[0]

    def _authenticate_direct(self, name: str, password: str) -> DirectoryUser:
        template = self._direct_bind_dn or ""
        dn = template.replace("{username}", escape_rdn(name))
        with self._connection(dn, password) as conn:
            self._bind_user(conn, dn)
            code, description, entries = self._search(
                conn, dn, "(objectClass=*)", BASE, self._user_attributes
            )
            if code != 0 or len(entries) != 1:
                self._raise_for_result(code, description)
                raise DirectoryConfigError(
                    f"the entry {dn!r} cannot read itself after login: {description}"
                )
            return self._directory_user(conn, entries[0][0], entries[0][1], name)

    def _groups(self, conn: Connection, dn: str, username: str) -> tuple[str, ...]:
        base = self.settings.ldap_group_base
        if not base:
            return ()
        search_filter = self.settings.ldap_group_filter.replace(
            "{user_dn}", escape_filter_chars(dn)
        ).replace("{username}", escape_filter_chars(username))
        code, description, entries = self._search(conn, base, search_filter, SUBTREE, ["cn"])
        if code != 0:
            self._raise_for_result(code, description)
            raise DirectoryConfigError(
                f"the group search below CTVAULT_LDAP_GROUP_BASE failed: {description} ({code})"
            )
        names = {
            value.decode("utf-8", "replace")
            for _, attrs in entries
            for value in attrs.get("cn", [])
        }
        return tuple(sorted(names, key=str.casefold))

    def _directory_user(
        self, conn: Connection, dn: str, attributes: dict[str, list[bytes]], typed: str
    ) -> DirectoryUser:
        settings = self.settings

        def first(attribute: str) -> str | None:
            values = attributes.get(attribute.lower()) or []
            return values[0].decode("utf-8", "replace") if values else None

        username = first(settings.ldap_attr_username) or typed
        uuid_values = attributes.get(settings.ldap_attr_uuid.lower()) or []
        raw_uuid = uuid_values[0] if uuid_values else None
        directory_uuid = _uuid_text(raw_uuid)
        if directory_uuid is None:
            raise DirectoryConfigError(
                f"the directory entry of {username!r} has no readable"
                f" {settings.ldap_attr_uuid} (CTVAULT_LDAP_ATTR_UUID); an identity cannot be"
                " bound to it"
            )
        groups = self._groups(conn, dn, username)
        roles = frozenset(
            role for group in groups for role in self._role_map.get(group.casefold(), ())
        )
        return DirectoryUser(
            username=username,
            display_name=first(settings.ldap_attr_display_name) or username,
            email=first(settings.ldap_attr_email),
            directory_uuid=directory_uuid,
            dn=dn,
            groups=groups,
            roles=roles,
        )


def _uuid_text(raw: bytes | None) -> str | None:
    """Return entryUUID (text) or objectGUID (16 bytes, little-endian fields) as canonical text."""
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw.decode("ascii")))
    except (UnicodeDecodeError, ValueError):
        pass
    if len(raw) == 16:  # noqa: PLR2004 - binary GUID
        return str(uuid.UUID(bytes_le=raw))
    return None
