"""A real OpenLDAP ``slapd`` for tests: temporary config, TLS, ppolicy, fixture data.

``SlapdServer`` starts Debian's ``/usr/sbin/slapd`` in the foreground as a subprocess on free
loopback ports (``ldap://``, ``ldaps://`` and a second ``ldaps://`` on 127.0.0.2 whose
address is not in the certificate), from a generated ``slapd.conf`` in a temporary folder:
``mdb`` backend, suffix ``dc=ctvault,dc=test``, the ``ppolicy`` overlay with a default policy,
and a self-signed CA plus server certificate made with ``cryptography``. The directory is
loaded from ``tests/fixtures/ldap/base.ldif`` with ``slapadd`` before the start. Methods
change the directory as the rootdn while tests run.

Needs the Debian packages ``slapd`` and ``ldap-utils`` (``slapadd``). Nothing here uses a
system slapd: the server owns its folder and ports and is stopped at ``stop()``/exit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server
from ldap3.core.exceptions import LDAPNoSuchObjectResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

SLAPD = Path("/usr/sbin/slapd")
SLAPADD = Path("/usr/sbin/slapadd")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMA_DIR = Path("/etc/ldap/schema")
FIXTURES = Path(__file__).parent / "fixtures" / "ldap"

SUFFIX = "dc=ctvault,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"
ROOT_PASSWORD = "root-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SERVICE_DN = f"cn=ctvault-svc,ou=services,{SUFFIX}"
SERVICE_PASSWORD = "svc-secret"
PERMANENTLY_LOCKED = "000001010000Z"

_CONFIG = """\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/nis.schema
include {schema}/inetorgperson.schema

pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath {modules}
moduleload back_mdb
moduleload ppolicy

# Like some production directories: a DN with an empty password is an *unauthenticated*
# bind that succeeds (RFC 4513 5.1.2). ctvault must refuse such passwords itself.
allow bind_anon_dn

TLSCACertificateFile {dir}/ca.pem
TLSCertificateFile {dir}/server.pem
TLSCertificateKeyFile {dir}/server.key
TLSProtocolMin 3.3

database mdb
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/data
maxsize 67108864
index objectClass eq
index uid,cn,member eq

overlay ppolicy
ppolicy_default "cn=default,ou=policies,{suffix}"
ppolicy_use_lockout

# Passwords: bind only. Everything else: readable by any bound identity, nothing anonymous,
# so ctvault must bind (service account or the user) before it can search.
access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by users read
    by * none
"""


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _write_tls(folder: Path) -> None:
    """CA, server certificate (SAN localhost, 127.0.0.1) and an unrelated 'other' CA."""
    ca_key, ca_cert = _ca("ctvault test CA")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _, other_ca = _ca("some other CA")
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "other-ca.pem").write_bytes(other_ca.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    key_file = folder / "server.key"
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)


class SlapdServer:
    """One private slapd; use as a context manager (or ``start()`` / ``stop()``).

    Attributes after start: ``ldap_url`` (plain, for StartTLS), ``ldaps_url``,
    ``ldaps_wrong_name_url`` (127.0.0.2: not in the certificate), ``ca_file``,
    ``other_ca_file`` (a CA that did not sign the server certificate).
    """

    host = "127.0.0.1"
    wrong_name_host = "127.0.0.2"

    def __init__(self, ldif: Path = FIXTURES / "base.ldif", start_timeout_s: float = 15.0) -> None:
        self.ldif = ldif
        self.start_timeout_s = start_timeout_s
        self.folder = Path(tempfile.mkdtemp(prefix="ctvault-slapd-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.ldap_port = self.ldaps_port = self.wrong_name_port = 0

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.host}:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.ldaps_port}"

    @property
    def ldaps_wrong_name_url(self) -> str:
        return f"ldaps://{self.wrong_name_host}:{self.wrong_name_port}"

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def other_ca_file(self) -> Path:
        return self.folder / "other-ca.pem"

    def start(self) -> Self:
        for tool in (SLAPD, SLAPADD):
            if not tool.exists():
                msg = f"{tool} is missing: apt-get install -y slapd ldap-utils"
                raise RuntimeError(msg)
        _write_tls(self.folder)
        config = self.folder / "slapd.conf"
        config.write_text(
            _CONFIG.format(
                schema=SCHEMA_DIR,
                dir=self.folder,
                modules=MODULE_DIR,
                suffix=SUFFIX,
                rootdn=ROOT_DN,
                rootpw=ROOT_PASSWORD,
            ),
            encoding="utf-8",
        )
        (self.folder / "data").mkdir()
        subprocess.run(
            [str(SLAPADD), "-q", "-f", str(config), "-l", str(self.ldif)],
            check=True,
            capture_output=True,
        )
        # A free port can be taken by someone else before slapd binds it: retry a few times.
        last_error = ""
        for _ in range(5):
            last_error = self._launch(config)
            if not last_error:
                return self
        self.stop()
        msg = f"slapd did not start: {last_error}"
        raise RuntimeError(msg)

    def _launch(self, config: Path) -> str:
        self.ldap_port = _free_port(self.host)
        self.ldaps_port = _free_port(self.host)
        self.wrong_name_port = _free_port(self.wrong_name_host)
        urls = f"{self.ldap_url}/ {self.ldaps_url}/ {self.ldaps_wrong_name_url}/"
        log = (self.folder / "slapd.log").open("wb")
        # -d keeps slapd in the foreground, so this subprocess *is* the server.
        self.process = subprocess.Popen(
            [str(SLAPD), "-f", str(config), "-h", urls, "-d", "0"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return (self.folder / "slapd.log").read_text(errors="replace")[-2000:]
            ports = [
                (self.host, self.ldap_port),
                (self.host, self.ldaps_port),
                (self.wrong_name_host, self.wrong_name_port),
            ]
            if all(_answers(h, p) for h, p in ports) and self._rootdn_answers():
                return ""
            time.sleep(0.05)
        self._terminate()
        return f"no answer within {self.start_timeout_s} s"

    def _rootdn_answers(self) -> bool:
        try:
            with self._admin() as conn:
                return bool(conn.search(SUFFIX, "(objectClass=*)", search_scope=BASE))
        except Exception:
            return False

    def _terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        """Stop the server and remove its folder (certificates, database, log)."""
        self._terminate()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- changing the directory (as rootdn, over the plain loopback listener) ----------------

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Connection]:
        conn = Connection(
            Server(self.host, port=self.ldap_port, connect_timeout=2),
            user=ROOT_DN,
            password=ROOT_PASSWORD,
            receive_timeout=5,
            raise_exceptions=True,
        )
        conn.bind()
        try:
            yield conn
        finally:
            conn.unbind()

    @staticmethod
    def user_dn(uid: str) -> str:
        return f"uid={escape_rdn(uid)},{PEOPLE}"

    @staticmethod
    def group_dn(cn: str) -> str:
        return f"cn={escape_rdn(cn)},{GROUPS}"

    def add_user(
        self,
        uid: str,
        password: str,
        *,
        cn: str | None = None,
        mail: str | None = None,
        groups: Iterable[str] = (),
        extra: dict[str, str | list[str]] | None = None,
    ) -> str:
        """Create ``uid=UID,ou=people`` (inetOrgPerson) and add it to ``groups``; return DN."""
        dn = self.user_dn(uid)
        name = cn or uid
        attributes: dict[str, str | list[str]] = {
            "uid": uid,
            "cn": name,
            "sn": name.split()[-1],
            "userPassword": password,
            "mail": mail or f"{uid}@ctvault.test",
        }
        attributes.update(extra or {})
        with self._admin() as conn:
            conn.add(dn, ["inetOrgPerson"], attributes)
        for group in groups:
            self.add_to_group(uid, group)
        return dn

    def delete_user(self, uid: str, *, missing_ok: bool = False) -> None:
        """Delete the entry and drop it from every group (no refint overlay here)."""
        dn = self.user_dn(uid)
        with self._admin() as conn:
            conn.search(GROUPS, f"(member={escape_filter_chars(dn)})", attributes=["cn"])
            for entry in list(conn.entries):
                conn.modify(entry.entry_dn, {"member": [(MODIFY_DELETE, [dn])]})
            try:
                conn.delete(dn)
            except LDAPNoSuchObjectResult:
                if not missing_ok:
                    raise

    def add_to_group(self, uid: str, group: str) -> None:
        with self._admin() as conn:
            conn.modify(self.group_dn(group), {"member": [(MODIFY_ADD, [self.user_dn(uid)])]})

    def remove_from_group(self, uid: str, group: str) -> None:
        with self._admin() as conn:
            conn.modify(self.group_dn(group), {"member": [(MODIFY_DELETE, [self.user_dn(uid)])]})

    def set_password(self, uid: str, password: str) -> None:
        with self._admin() as conn:
            conn.modify(self.user_dn(uid), {"userPassword": [(MODIFY_REPLACE, [password])]})

    def set_attribute(self, uid: str, name: str, values: list[str]) -> None:
        with self._admin() as conn:
            conn.modify(self.user_dn(uid), {name: [(MODIFY_REPLACE, values)]})

    def lock_user(self, uid: str) -> None:
        """Lock the account permanently, as an administrator does with ppolicy."""
        self.set_attribute(uid, "pwdAccountLockedTime", [PERMANENTLY_LOCKED])

    def unlock_user(self, uid: str) -> None:
        self.set_attribute(uid, "pwdAccountLockedTime", [])

    def rename_cn(self, uid: str, cn: str) -> None:
        """Change the printed name (cn) of a user; the DN and entryUUID stay."""
        self.set_attribute(uid, "cn", [cn])

    def rename_uid(self, uid: str, new_uid: str) -> str:
        """ModRDN ``uid=UID`` to ``uid=NEW_UID`` (the entryUUID stays); return the new DN."""
        with self._admin() as conn:
            conn.modify_dn(self.user_dn(uid), f"uid={escape_rdn(new_uid)}")
        return self.user_dn(new_uid)

    def read(self, uid: str, *attributes: str) -> dict[str, list[str]]:
        """Raw attribute values of a user (operational ones when named)."""
        with self._admin() as conn:
            conn.search(self.user_dn(uid), "(objectClass=*)", BASE, attributes=list(attributes))
            entry = conn.response[0]["raw_attributes"] if conn.response else {}
            return {key: [v.decode() for v in values] for key, values in entry.items()}
