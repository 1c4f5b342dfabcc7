"""PAdES seal: sign a finished PDF with the institution's certificate, and check a seal.

The seal is a PAdES B-B signature (``/ETSI.CAdES.detached``, SHA-256) in an invisible
field. Any PDF reader shows whether the file changed after sealing; :func:`check_seal`
is what ``ctvault reports verify`` runs: the signature must be intact, chain to the
trusted root, and cover the entire file (no bytes appended or altered after it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from reports.certificate import SealFiles, check_validity, load_certificate
from reports.errors import CertificateError

FIELD_NAME = "ctvault-seal"
T = TypeVar("T")
_log = logging.getLogger(__name__)


def _outside_event_loop(call: Callable[[], T]) -> T:
    """Run a pyHanko call that uses ``asyncio.run`` even where an event loop is running.

    pyHanko's synchronous API starts its own event loop, which fails inside a thread that
    already runs one (an async server, a browser driver); such calls go to a fresh thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return call()
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def load_signer(files: SealFiles, now: dt.datetime) -> signers.SimpleSigner:
    """The signer for the configured seal, refusing an expired or unreadable one.

    Raises:
        CertificateError: missing, expired, not yet valid, or the key cannot be decrypted.
    """
    check_validity(load_certificate(files.certificate), now)
    # pyHanko logs the decryption failure at error level; the message below says it plainly.
    logging.getLogger("pyhanko.sign.signers.pdf_cms").disabled = True
    try:
        signer: signers.SimpleSigner | None = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
            str(files.key),
            str(files.certificate),
            ca_chain_files=(str(files.trust_root),) if files.trust_root.is_file() else None,
            key_passphrase=files.read_passphrase(),
        )
    finally:
        logging.getLogger("pyhanko.sign.signers.pdf_cms").disabled = False
    if signer is None:
        raise CertificateError(
            f"cannot read the seal key {files.key} (wrong passphrase or not a key for "
            f"{files.certificate})"
        )
    return signer


def seal_pdf(pdf: bytes, signer: signers.SimpleSigner, *, reason: str, location: str) -> bytes:
    """Append a PAdES signature over the whole of ``pdf`` and return the sealed bytes."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    output = _outside_event_loop(lambda: signers.PdfSigner(meta, signer=signer).sign_pdf(writer))
    return bytes(output.getbuffer())


def page_count(pdf: bytes) -> int:
    """How many pages a PDF has."""
    return int(PdfFileReader(io.BytesIO(pdf), strict=False).root["/Pages"]["/Count"])


@dataclasses.dataclass(frozen=True, slots=True)
class SealCheck:
    """What checking a seal found: ``problems`` is empty when the seal is good."""

    problems: tuple[str, ...]
    signer: str = ""
    signed_at: str = ""

    @property
    def is_ok(self) -> bool:
        """True when the seal is intact, trusted and covers the whole file."""
        return not self.problems


def check_seal(data: bytes, files: SealFiles | None) -> SealCheck:
    """Check the seal of a PDF against the trusted root (never raises on bad input)."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - any parse failure means "not a sound PDF"
        return SealCheck((f"the file is not a readable PDF ({exc})",))
    if not signatures:
        return SealCheck(("the file carries no seal (no PDF signature)",))
    if len(signatures) != 1:
        return SealCheck((f"the file carries {len(signatures)} signatures; a report has one",))
    roots = []
    if files is not None:
        roots.append(_asn1_root(files))
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = _outside_event_loop(lambda: validate_pdf_signature(signatures[0], context))
    except Exception as exc:  # noqa: BLE001 - a damaged signature can fail anywhere in parsing
        return SealCheck((f"the seal cannot be read: {exc}",))
    problems = _problems(status, data, signatures[0])
    signed_at = status.signer_reported_dt.isoformat() if status.signer_reported_dt else ""
    return SealCheck(
        tuple(problems), signer=status.signing_cert.subject.human_friendly, signed_at=signed_at
    )


def _problems(status: Any, data: bytes, signature: Any) -> list[str]:  # noqa: ANN401 - pyHanko
    problems = []
    padding = _padding_problem(data, signature.byte_range)
    if padding:
        problems.append(padding)
    if not status.intact:
        # pyHanko then marks the signature invalid and untrusted too; one reason is enough.
        problems.append("the seal's digest does not match the file: the content was altered")
    elif not status.valid:
        problems.append("the seal's signature is not valid")
    elif not status.trusted:
        problems.append("the seal's certificate does not chain to the trusted root")
    elif _foreign_certificates(status, signature):
        # Certificates in the signature are not covered by it; the trusted path is.
        problems.append("a certificate embedded in the seal was altered")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append(
            "the seal does not cover the whole file (bytes were added or changed after it)"
        )
    return problems


def _foreign_certificates(status: Any, signature: Any) -> bool:  # noqa: ANN401 - pyHanko
    path = status.validation_path
    trusted = {c.dump() for c in path.iter_certs(include_root=True)} if path else set()
    embedded = [c.chosen.dump() for c in signature.signed_data["certificates"]]
    return any(cert not in trusted for cert in embedded)


def _der_length(raw: bytes) -> int:
    """Length of the DER element at the start of ``raw`` (header included)."""
    if len(raw) < 2:  # noqa: PLR2004 - tag and length octets
        return len(raw) + 1
    first = raw[1]
    if first < 0x80:  # noqa: PLR2004 - short form
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(raw[2 : 2 + count], "big")


def _padding_problem(data: bytes, byte_range: list[int]) -> str:
    """The bytes the signature does not cover are its own /Contents: DER, then zeros only.

    Any other change there leaves the CMS signature valid, so it is checked here.
    """
    gap = data[byte_range[1] : byte_range[2]].strip()
    try:
        raw = bytes.fromhex(gap.removeprefix(b"<").removesuffix(b">").decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return "the seal's signature field was altered (not hexadecimal)"
    if any(raw[_der_length(raw) :]):
        return "the seal's signature field was altered (bytes after the signature changed)"
    return ""


def _asn1_root(files: SealFiles):  # type: ignore[no-untyped-def]  # noqa: ANN202 - asn1crypto
    from pyhanko.keys import load_cert_from_pemder  # noqa: PLC0415

    if not files.trust_root.is_file():
        raise CertificateError(f"the trusted root certificate {files.trust_root} is missing")
    return load_cert_from_pemder(str(files.trust_root))  # type: ignore[no-untyped-call]
