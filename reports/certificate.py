"""The institution's seal certificate: the embedded default is created on first use.

Production configures its own certificate, key and trust root (``CTVAULT_REPORT_*``); the
embedded default is a self-signed root CA and a seal certificate it issued, under
DATA_DIR/keys/report-seal, with the private key encrypted at rest (PKCS#8, passphrase in a
0600 file beside it unless ``CTVAULT_REPORT_KEY_PASSPHRASE`` is set).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import secrets
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from lims.settings import Settings
from reports.errors import CertificateError

CA_YEARS = 20
SEAL_YEARS = 5
KEY_BITS = 3072
DEFAULT_FOLDER = ("keys", "report-seal")


@dataclasses.dataclass(frozen=True, slots=True)
class SealFiles:
    """Where the seal's certificate, encrypted key, passphrase and trust root live."""

    certificate: Path
    key: Path
    passphrase: bytes | None
    passphrase_file: Path | None
    trust_root: Path
    is_default: bool

    def read_passphrase(self) -> bytes:
        """The key's passphrase (from settings or the passphrase file).

        Raises:
            CertificateError: the passphrase file is missing.
        """
        if self.passphrase is not None:
            return self.passphrase
        assert self.passphrase_file is not None  # noqa: S101 - set whenever passphrase is None
        try:
            return self.passphrase_file.read_bytes().strip()
        except FileNotFoundError:
            raise CertificateError(
                f"the seal key's passphrase file {self.passphrase_file} is missing"
            ) from None


def seal_files(settings: Settings) -> SealFiles:
    """The configured seal files, or the embedded default's under DATA_DIR."""
    folder = settings.data_dir.joinpath(*DEFAULT_FOLDER)
    is_default = settings.report_cert is None and settings.report_key is None
    phrase = settings.report_key_passphrase
    return SealFiles(
        certificate=settings.report_cert or folder / "seal.crt",
        key=settings.report_key or folder / "seal.key",
        passphrase=phrase.encode("utf-8") if phrase else None,
        passphrase_file=None if phrase else folder / "passphrase",
        trust_root=settings.report_trust_root or folder / "root-ca.crt",
        is_default=is_default,
    )


def _name(common_name: str, lab_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, lab_name),
        ]
    )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def create_default(files: SealFiles, lab_name: str, now: dt.datetime) -> None:
    """Create the self-signed root CA and the seal certificate it issues (once)."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    ca_name = _name(f"{lab_name} report seal root CA", lab_name)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),  # noqa: FBT003
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)  # noqa: FBT003
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{lab_name} report seal", lab_name))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365 * SEAL_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),  # noqa: FBT003
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    if files.passphrase is None:
        assert files.passphrase_file is not None  # noqa: S101
        _write_private(files.passphrase_file, secrets.token_urlsafe(32).encode("ascii"))
    encryption = serialization.BestAvailableEncryption(files.read_passphrase())
    _write_private(
        files.key,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        ),
    )
    files.trust_root.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificate(settings: Settings, now: dt.datetime) -> SealFiles:
    """The seal files, created for the embedded default if this is the first use.

    Raises:
        CertificateError: a configured certificate or key is missing.
    """
    files = seal_files(settings)
    if files.is_default and not files.certificate.exists() and not files.key.exists():
        create_default(files, settings.lab_name, now)
    for what, path in (("certificate", files.certificate), ("private key", files.key)):
        if not path.is_file():
            raise CertificateError(f"the institution's seal {what} {path} is missing")
    return files


def check_validity(certificate: x509.Certificate, now: dt.datetime) -> None:
    """Refuse a certificate outside its validity period.

    Raises:
        CertificateError: expired or not yet valid, saying when.
    """
    subject = certificate.subject.rfc4514_string()
    if now >= certificate.not_valid_after_utc:
        raise CertificateError(
            f"the institution's seal certificate ({subject}) expired on "
            f"{certificate.not_valid_after_utc.isoformat()}; install a new one"
        )
    if now < certificate.not_valid_before_utc:
        raise CertificateError(
            f"the institution's seal certificate ({subject}) is valid only from "
            f"{certificate.not_valid_before_utc.isoformat()}"
        )


def load_certificate(path: Path) -> x509.Certificate:
    """Read one PEM certificate.

    Raises:
        CertificateError: missing or not a PEM certificate.
    """
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise CertificateError(f"certificate {path} is missing") from None
    except ValueError as exc:
        raise CertificateError(f"{path} is not a PEM certificate: {exc}") from None
